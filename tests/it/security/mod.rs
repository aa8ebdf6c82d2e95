//! panelflow as an attacker meets it, on the real parts: the corpus of
//! `security_corpus.txt` (one case per line: input, expected answer, reason)
//! against `panelflow ingest` on a Tansu broker with the Lever emulator, the
//! media fetcher's SSRF guard (with a redirecting server and a recording
//! proxy), the review server's roles and sessions, and a whole run of
//! `panelflow ingest` + `panelflow run` whose logs and Parquet files are
//! searched for the dataset's candidates' names, e-mails and phones and for
//! signed-URL query strings.
//!
//! Every server listens on 127.0.0.1 and is stopped by its test.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow_connectors::media::fetch::{fetch, FetchPolicy};
use panelflow_connectors::store::replay::ReplayStore;
use panelflow_core::webhook::lever::signed_body;
use panelflow_core::webhook::provider::sign_base64_body;
use panelflow_core::webhook::signature::sign_body;
use serde_json::{json, Value};

/// A corpus line.
#[derive(Debug, Clone)]
struct Case {
    kind: String,
    input: String,
    expected: String,
    reason: String,
    line: usize,
}

fn corpus(kind: &str) -> Vec<Case> {
    let text = include_str!("../security_corpus.txt");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            let parts: Vec<&str> = l.splitn(4, '|').map(str::trim).collect();
            assert_eq!(parts.len(), 4, "corpus line {}: {l}", i + 1);
            Case {
                kind: parts[0].into(),
                input: parts[1].into(),
                expected: parts[2].into(),
                reason: parts[3].into(),
                line: i + 1,
            }
        })
        .filter(|c| c.kind == kind)
        .collect()
}

// ---------------------------------------------------------------------------
// webhooks

const SECRETS: [(&str, &str); 6] = [
    ("lever", "sec-lever-signature-token-0b7e"),
    ("generic", "sec-generic-secret-5d1c"),
    ("willo", "sec-willo-secret-9a2f"),
    ("sparkhire", "sec-sparkhire-secret-3e8b"),
    ("hirevue", "sec-hirevue-secret-7c4d"),
    ("hireflix", "sec-hireflix-secret-1f6a"),
];

fn secret(source: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(s, _)| *s == source)
        .map(|(_, k)| *k)
        .expect("a source of the corpus")
}

/// Now, in Unix milliseconds (webhook times).
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

mod pii;
mod review;
mod ssrf;
mod webhooks;

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dataset's candidates as Lever holds them: names, e-mails, phones.
fn dataset_pii() -> Vec<String> {
    let opps: Vec<Value> = serde_json::from_slice(
        &std::fs::read(support::datasets().join("lever_opportunities.json")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for o in &opps {
        if let Some(n) = o["name"].as_str() {
            out.push(n.to_string());
        }
        for e in o["emails"].as_array().into_iter().flatten() {
            if let Some(e) = e.as_str() {
                out.push(e.to_string());
            }
        }
        for p in o["phones"].as_array().into_iter().flatten() {
            if let Some(p) = p["value"].as_str() {
                out.push(p.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    assert!(out.len() >= 10, "{out:?}");
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Child {
    child: std::process::Child,
    log: PathBuf,
}

impl Child {
    fn start(args: &[&str], config: &Path, log: PathBuf) -> Self {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args(args)
            .arg("--config")
            .arg(config)
            .env("PANELFLOW_LEVER_API_KEY", support::LEVER_KEY)
            .env(
                "PANELFLOW_LOG",
                "info,panelflow=debug,panelflow_connectors=debug,panelflow_models=debug,panelflow_core=debug",
            )
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn stop(&mut self) {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
