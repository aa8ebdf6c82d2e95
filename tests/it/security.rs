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
    let text = include_str!("security_corpus.txt");
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

/// One request of the corpus.
struct Delivery {
    path: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

fn sample(source: &str) -> Value {
    let path = support::datasets().join(format!("../schemas/webhooks/{source}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(offset_s: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_s)).to_rfc3339()
}

/// What the cases of one run share: the last valid delivery per source.
#[derive(Default)]
struct Deliveries {
    last_valid: BTreeMap<String, Delivery>,
    lever_token: String,
    lever_at: i64,
}

impl Clone for Delivery {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
        }
    }
}

fn signed(source: &str, body: &Value, key: &str) -> Delivery {
    let raw = serde_json::to_vec(body).unwrap();
    let headers = if source == "hireflix" {
        vec![(
            "x-hireflix-signature",
            sign_base64_body(&raw, key.as_bytes()),
        )]
    } else {
        vec![("x-panelflow-signature", sign_body(&raw, key.as_bytes()))]
    };
    Delivery {
        path: format!("/webhooks/{source}"),
        body: raw,
        headers,
    }
}

/// A platform body for `source` whose time is `offset_s` from now (`None`:
/// without a time), naming opportunity `opp` and contact `cand`.
fn platform_body(source: &str, tag: &str, offset_s: Option<i64>, opp: &str, cand: &str) -> Value {
    let mut v = sample(source);
    let time_field = match source {
        "generic" => "timestamp",
        "willo" => "timestamp",
        "sparkhire" => "created_at",
        "hirevue" => "eventTime",
        _ => "",
    };
    match source {
        "generic" => {
            v["data"]["interviewId"] = json!(format!("sec-{tag}"));
            v["data"]["opportunityId"] = json!(opp);
            v["data"]["candidateId"] = json!(cand);
        }
        "willo" => {
            v["data"]["key"] = json!(format!("sec-{tag}"));
            v["data"]["metadata"] = json!({"lever_opportunity_id": opp, "lever_contact_id": cand});
        }
        "sparkhire" => {
            v["data"]["uuid"] = json!(format!("sec-{tag}"));
            v["data"]["metadata"] = json!({"lever_opportunity_id": opp, "lever_contact_id": cand});
        }
        "hirevue" => {
            v["details"]["interviewId"] = json!(format!("sec-{tag}"));
            v["details"]["externalIds"] =
                json!({"leverOpportunityId": opp, "leverContactId": cand});
        }
        "hireflix" => {
            v["data"]["id"] = json!(format!("sec-{tag}"));
            v["data"]["externalId"] = json!(opp);
        }
        _ => unreachable!(),
    }
    if !time_field.is_empty() {
        let o = v.as_object_mut().unwrap();
        match offset_s {
            None => {
                o.remove(time_field);
            }
            Some(s) if source == "generic" => {
                o.insert(time_field.into(), json!(now_ms() + s * 1000));
            }
            Some(s) => {
                o.insert(time_field.into(), json!(rfc3339(s)));
            }
        }
    }
    v
}

fn lever_delivery(token: &str, at_ms: i64, key: &str, data: Value) -> Delivery {
    Delivery {
        path: "/webhooks/lever".into(),
        body: signed_body("interviewCreated", at_ms, token, key.as_bytes(), data).into_bytes(),
        headers: vec![],
    }
}

fn fresh_token() -> String {
    format!("tok-{}", uuid::Uuid::new_v4().simple())
}

/// The request of one corpus case (`None` for the cases run by hand).
fn delivery(case: &str, d: &mut Deliveries) -> Option<Delivery> {
    let (source, what) = case.split_once('/').expect("source/case");
    let (swe, sales) = (support::interview("swe-01"), support::interview("sales-01"));
    let key = secret(source);
    let out = match (source, what) {
        (_, "redelivered") => d
            .last_valid
            .get(source)
            .cloned()
            .expect("a valid delivery first"),
        ("lever", "valid") => {
            d.lever_token = fresh_token();
            d.lever_at = now_ms();
            lever_delivery(
                &d.lever_token,
                d.lever_at,
                key,
                json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id,
                       "interviewId": "sec-lever-1"}),
            )
        }
        ("lever", "replayed-token-other-body") => lever_delivery(
            &d.lever_token,
            d.lever_at,
            key,
            // A real opportunity and its real contact: only the replay store refuses it.
            json!({"opportunityId": sales.opportunity_id, "candidateId": sales.candidate_id,
                   "interviewId": "sec-lever-replayed",
                   "mediaUrl": "http://169.254.169.254/latest/meta-data/"}),
        ),
        ("lever", "forged") => lever_delivery(
            &fresh_token(),
            now_ms(),
            "not-the-key",
            json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id}),
        ),
        ("lever", "stale") | ("lever", "future") => lever_delivery(
            &fresh_token(),
            now_ms() + if what == "stale" { -301_000 } else { 120_000 },
            key,
            json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id}),
        ),
        ("lever", "other-candidate") => lever_delivery(
            &fresh_token(),
            now_ms(),
            key,
            json!({"opportunityId": swe.opportunity_id, "candidateId": sales.candidate_id,
                   "interviewId": "sec-lever-other"}),
        ),
        ("lever", "unknown-opportunity") => lever_delivery(
            &fresh_token(),
            now_ms(),
            key,
            json!({"opportunityId": "no-such-opportunity", "candidateId": swe.candidate_id}),
        ),
        (_, "valid") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-1"),
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "forged") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-forged"),
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            "not-the-key",
        ),
        (_, "stale") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-stale"),
                Some(-301),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "future") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-future"),
                Some(120),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "no-time") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-untimed"),
                None,
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        ("generic", "other-namespace") => {
            let mut v = platform_body(
                "generic",
                "x",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            );
            v["data"]["interviewId"] = json!("willo:sec-willo-1");
            signed("generic", &v, key)
        }
        ("generic", "erased") => signed(
            "generic",
            &platform_body(
                "generic",
                "erased",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        ("generic", "oversized") => {
            let mut v = platform_body(
                "generic",
                "big",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            );
            v["data"]["padding"] = json!("x".repeat(300 << 10));
            signed("generic", &v, key)
        }
        ("generic", "deeply-nested") => {
            let depth = 100_000;
            let raw = format!(
                "{{\"timestamp\":{},\"data\":{}{}}}",
                now_ms(),
                "[".repeat(depth),
                "]".repeat(depth)
            )
            .into_bytes();
            Delivery {
                path: "/webhooks/generic".into(),
                headers: vec![("x-panelflow-signature", sign_body(&raw, key.as_bytes()))],
                body: raw,
            }
        }
        ("willo", "path-token") => {
            let mut dl = signed(
                "willo",
                &platform_body(
                    "willo",
                    "path",
                    Some(0),
                    &swe.opportunity_id,
                    &swe.candidate_id,
                ),
                key,
            );
            dl.headers.clear();
            dl.path = format!("/webhooks/willo/{key}");
            dl
        }
        ("generic", "slow-upload") | ("generic", "over-concurrency") => return None,
        other => panic!("no corpus case {other:?}"),
    };
    if what == "valid" {
        d.last_valid.insert(source.to_string(), out.clone());
    }
    Some(out)
}

fn post(base: &str, d: &Delivery) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut req = client
        .post(format!("{base}{}", d.path))
        .header("content-type", "application/json")
        .body(d.body.clone());
    for (k, v) in &d.headers {
        req = req.header(*k, v);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Opens a request whose body never finishes: the headers, then one byte
/// of the promised length every 300 ms. Returns the status line the server
/// answers with, and when.
fn slow_upload(addr: SocketAddr, hold: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(
        s,
        "POST /webhooks/generic HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
    )
    .unwrap();
    let mut answer = Vec::new();
    while started.elapsed() < hold {
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
            Err(_) => {
                // Nothing yet: trickle one more byte (the server may have closed).
                if s.write_all(b" ").is_err() {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (line, started.elapsed())
}

/// A receiver of our own on `stack`'s broker and Lever: short time-out and
/// few concurrent requests (the corpus shows both).
fn start_receiver(
    rt: &tokio::runtime::Runtime,
    cfg: &PipelineConfig,
) -> (String, SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = cfg.clone();
    rt.spawn(async move {
        let _ = panelflow::ingest::serve_with_shutdown(listener, cfg, async {
            let _ = rx.await;
        })
        .await;
    });
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = reqwest::blocking::get(format!("{base}/healthz"))
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|h| h["ready"] == true);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "receiver not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    (base, addr, tx)
}

/// Every webhook line of the corpus gets its answer, and the topic holds
/// exactly the deliveries answered 202: nothing refused reaches the
/// pipeline (so nothing refused can reach Lever or Parquet).
#[test]
fn webhook_corpus_on_a_real_receiver() {
    let stack = support::Stack::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = stack.cfg.clone();
    cfg.kafka.topic = "security.completed".into();
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))
        .unwrap();
    for (s, k) in SECRETS {
        cfg.ingest.secrets.insert(s.into(), k.into());
    }
    cfg.ingest.state_dir = stack.dir.path().join("security-ingest");
    cfg.ingest.request_timeout_s = 3;
    cfg.ingest.max_concurrent_requests = 3;
    let (base, addr, stop) = start_receiver(&rt, &cfg);
    // An interview erased earlier.
    ReplayStore::open(&cfg.ingest.state_dir)
        .unwrap()
        .tombstone("sec-erased")
        .unwrap();

    let mut d = Deliveries::default();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    let mut failures = Vec::new();
    for case in corpus("webhook") {
        let (status, reply, took) = match case.input.as_str() {
            "generic/slow-upload" => {
                let (line, took) = slow_upload(addr, Duration::from_secs(20));
                let status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                (status, Value::String(line), took)
            }
            "generic/over-concurrency" => {
                // Hold every permit with slow uploads, then ask once more.
                let holders: Vec<_> = (0..cfg.ingest.max_concurrent_requests)
                    .map(|_| std::thread::spawn(move || slow_upload(addr, Duration::from_secs(20))))
                    .collect();
                std::thread::sleep(Duration::from_millis(500));
                let started = Instant::now();
                let dl = delivery("generic/valid", &mut Deliveries::default()).unwrap();
                let (status, reply) = post(&base, &dl);
                let took = started.elapsed();
                for h in holders {
                    let (line, _) = h.join().unwrap();
                    assert!(line.contains("408"), "a held upload ended with {line:?}");
                }
                (status, reply, took)
            }
            other => {
                let dl = delivery(other, &mut d).unwrap();
                let started = Instant::now();
                let (status, reply) = post(&base, &dl);
                (status, reply, started.elapsed())
            }
        };
        eprintln!(
            "line {:>3} {:<36} {status} (expected {}) {:>6} ms  {}",
            case.line,
            case.input,
            case.expected,
            took.as_millis(),
            case.reason
        );
        if status.to_string() != case.expected {
            failures.push(format!(
                "line {} {}: {status} {reply}, expected {} ({})",
                case.line, case.input, case.expected, case.reason
            ));
        }
        if status == 202 {
            if let Some(id) = reply["interviewId"].as_str() {
                accepted.insert(id.to_string());
            }
        }
        if case.input == "generic/other-namespace" {
            assert_eq!(reply["interviewId"], "generic:willo:sec-willo-1", "{reply}");
        }
        if case.input == "generic/slow-upload" {
            assert!(took < Duration::from_secs(10), "408 after {took:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The topic holds the accepted deliveries, once each, and nothing else.
    let on_topic: Vec<String> = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic)
        .iter()
        .filter_map(|e| e["interview_id"].as_str().map(str::to_string))
        .collect();
    let distinct: BTreeSet<String> = on_topic.iter().cloned().collect();
    assert_eq!(on_topic.len(), distinct.len(), "{on_topic:?}");
    assert_eq!(distinct, accepted, "only what was answered 202");
    for refused in [
        "lever:sec-lever-replayed",
        "lever:sec-lever-other",
        "sec-erased",
    ] {
        assert!(!distinct.contains(refused), "{refused} on the topic");
    }
    // The Lever delivery's candidate is Lever's, its media none of the body's.
    let events = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic);
    let lever = events
        .iter()
        .find(|e| e["interview_id"] == "lever:sec-lever-1")
        .expect("the Lever delivery");
    assert_eq!(
        lever["candidate_id"],
        support::interview("swe-01").candidate_id.as_str()
    );
    // No name or e-mail of the platforms' bodies travels on the topic.
    let text = serde_json::to_string(&events).unwrap();
    let hf = sample("hireflix");
    for pii in [
        &hf["data"]["candidate"]["name"],
        &hf["data"]["candidate"]["email"],
    ] {
        let pii = pii.as_str().unwrap();
        assert!(!text.contains(pii), "{pii} on the event topic");
    }
    // Nothing was written to Lever by the receiver.
    let writes = stack
        .lever
        .requests()
        .unwrap()
        .into_iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0);

    // /healthz without its token: no addresses, no error text.
    let bare = reqwest::blocking::get(format!("{base}/healthz"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !bare.contains("127.0.0.1") && !bare.contains("broker"),
        "{bare}"
    );
    let _ = stop.send(());
}

// ---------------------------------------------------------------------------
// SSRF

/// A tiny HTTP server on 127.0.0.1: `/hop/<n>?to=URL` redirects to `to` (or
/// to the next hop), `/file` answers a few bytes; every request line is
/// recorded.
struct Redirector {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Redirector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(target.clone());
                let reply = if let Some(to) = target.split_once("to=").map(|(_, t)| t) {
                    let to = url::form_urlencoded::parse(format!("to={to}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else if target.starts_with("/file") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nRIFF"
                        .to_string()
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Self { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/hop?to=<to>` (URL-encoded).
    fn hop(&self, to: &str) -> String {
        let enc: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        self.url(&format!("/hop?to={enc}"))
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The production policy that lets the test reach this server only.
fn only(server: &Redirector) -> FetchPolicy {
    FetchPolicy {
        allowed_addresses: vec![server.addr.ip()],
        allowed_ports: vec![80, 443, server.addr.port()],
        ..FetchPolicy::default()
    }
}

/// Every SSRF spelling of the corpus is refused before any connection, with
/// the code the corpus names.
#[test]
fn ssrf_corpus_is_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let cases = corpus("ssrf");
    assert!(cases.len() >= 40);
    for case in &cases {
        let started = Instant::now();
        let got = match fetch(&case.input, &FetchPolicy::default(), dir.path()) {
            Ok(_) => "fetched".to_string(),
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains("6379/_FLUSHALL?"), "{text}");
                e.code().to_string()
            }
        };
        eprintln!(
            "line {:>3} {:<52} {got} ({} ms)  {}",
            case.line,
            case.input,
            started.elapsed().as_millis(),
            case.reason
        );
        if got != case.expected {
            failures.push(format!(
                "line {} {}: {got}, expected {} ({})",
                case.line, case.input, case.expected, case.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Redirects are followed by hand and each hop is checked: a chain ending
/// at the metadata service, at another loopback, or at a numeric spelling is
/// refused after the allowed hops only; a chain staying on allowed ground
/// is fetched.
#[test]
fn every_redirect_hop_is_checked() {
    let server = Redirector::start();
    let dir = tempfile::tempdir().unwrap();
    let policy = only(&server);
    let metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
    for (start, code) in [
        (server.hop(&server.hop(metadata)), "media_forbidden_address"),
        (
            // The IPv6 loopback: not the one address excepted.
            server.hop(&format!("http://[::1]:{}/file", server.addr.port())),
            "media_forbidden_address",
        ),
        (
            server.hop(&format!("http://2130706433:{}/file", server.addr.port())),
            "media_bad_url",
        ),
        (
            server.hop("http://[::ffff:a9fe:a9fe]/"),
            "media_forbidden_address",
        ),
        (
            server.hop("http://93.184.216.34:8080/x"),
            "media_forbidden_port",
        ),
    ] {
        let before = server.seen().len();
        let err = fetch(&start, &policy, dir.path()).unwrap_err();
        assert_eq!(err.code(), code, "{start}: {err}");
        let hops = server.seen().len() - before;
        assert!(hops >= 1, "the allowed first hop was asked");
        assert!(
            server
                .seen()
                .iter()
                .all(|p| p.starts_with("/hop") || p.starts_with("/file")),
            "{:?}",
            server.seen()
        );
    }
    // Staying on allowed ground works (the guard is not a wall).
    let ok = fetch(&server.hop(&server.url("/file")), &policy, dir.path()).unwrap();
    assert_eq!(ok.bytes, 4);
}

/// `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` set: the fetcher still checks
/// and connects by itself; a recording proxy sees nothing. (Run in a child
/// process: the environment is shared by every test of this binary.)
#[test]
fn a_proxy_in_the_environment_is_not_used() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    proxy.set_nonblocking(true).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let proxy_thread = std::thread::spawn(move || {
        while !stopping.load(Ordering::Relaxed) {
            match proxy.accept() {
                Ok((mut c, _)) => {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nPRXY");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let server = Redirector::start();
    let proxy_url = format!("http://{proxy_addr}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "security::proxy_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("HTTP_PROXY", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("PANELFLOW_SECURITY_CHILD_MEDIA", server.url("/file"))
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    proxy_thread.join().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{log}");
    assert!(log.contains("1 passed"), "the child test ran:\n{log}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the proxy was used:\n{log}"
    );
    assert!(
        server.seen().iter().any(|p| p == "/file"),
        "fetched directly"
    );
}

/// The child of [`a_proxy_in_the_environment_is_not_used`].
#[test]
#[ignore = "run by a_proxy_in_the_environment_is_not_used with a proxy set"]
fn proxy_child() {
    let media = std::env::var("PANELFLOW_SECURITY_CHILD_MEDIA").expect("run by the parent test");
    assert!(std::env::var("HTTP_PROXY").is_ok());
    let dir = tempfile::tempdir().unwrap();
    for refused in [
        "http://[64:ff9b::7f00:1]/x",
        "http://[::7f00:1]/x",
        "http://127.0.0.1/x",
    ] {
        let err = fetch(refused, &FetchPolicy::default(), dir.path()).unwrap_err();
        assert_eq!(err.code(), "media_forbidden_address", "{refused}: {err}");
    }
    let u = url::Url::parse(&media).unwrap();
    let policy = FetchPolicy {
        allowed_addresses: vec![u.host_str().unwrap().parse().unwrap()],
        allowed_ports: vec![u.port().unwrap()],
        ..FetchPolicy::default()
    };
    let got = fetch(&media, &policy, dir.path()).unwrap();
    let bytes = std::fs::read(&got.file).unwrap();
    assert_eq!(bytes, b"RIFF", "the server's bytes, not the proxy's");
}

// ---------------------------------------------------------------------------
// the review page

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a role may not see never leaves the server (HTML or JSON); sessions
/// are Secure, end on sign-out, and sign-in locks out after repeated
/// failures; a short session secret is refused at start.
#[test]
fn review_page_roles_sessions_and_secrets() {
    use crate::review_page::{enqueue, users, HANK, REVIEW_SECRET, RITA};
    use panelflow::review::auth::{AuthError, Authenticator};
    use panelflow::review::server::{spawn, ReviewApp};
    use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
    use panelflow_connectors::store::queue::ReviewQueue;

    let dir = tempfile::tempdir().unwrap();
    let lever = support::dataset_lever(&dir.path().join("lever"));
    let mut cfg = PipelineConfig::default();
    cfg.pipeline.phase = panelflow_core::writeback::Phase::Review;
    cfg.pipeline.version = "7".into();
    cfg.review.queue_dir = dir.path().join("review");
    cfg.review.aggregates_dir = dir.path().join("aggregates");
    cfg.governance.audit_dir = dir.path().join("audit");
    cfg.review.users = users();
    cfg.writeback.tags = vec![panelflow_core::writeback::TagRule {
        tag: "ai:strong-technical".into(),
        min_overall: Some(1.0),
        ..Default::default()
    }];
    assert!(cfg.review.secure_cookie, "Secure by default");
    let queue = ReviewQueue::open(&cfg.review.queue_dir).unwrap();
    let a = support::interview("swe-01");
    let edited = enqueue(
        &cfg,
        &queue,
        "generic:sec-edited",
        &a.candidate_id,
        &a.opportunity_id,
    );

    // A short secret is refused (with it, anyone holding a cookie could
    // forge an admin's session offline) — by the library and by `serve`.
    let short = Authenticator::new(&cfg.review, b"tooshort".to_vec());
    assert!(matches!(short, Err(AuthError::WeakSecret(8))));
    let config_file = dir.path().join("review.toml");
    let mut file_cfg = cfg.clone();
    for u in &mut file_cfg.review.users {
        u.token_hash = None;
        u.token_env = Some(format!("PANELFLOW_SEC_TOKEN_{}", u.name.to_uppercase()));
    }
    std::fs::write(&config_file, toml::to_string(&file_cfg).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_file)
        .env("PANELFLOW_REVIEW_SECRET", "hunter2")
        .env("PANELFLOW_SEC_TOKEN_RITA", RITA)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve started with a short secret: {err}"
    );
    assert!(err.contains("at least 32"), "{err}");

    let auth = Authenticator::new(&cfg.review, REVIEW_SECRET.to_vec()).unwrap();
    let client = LeverClient::new(
        &lever.base_url(),
        LeverAuth::ApiKey(support::LEVER_KEY.into()),
        ClientOptions::default(),
    )
    .unwrap();
    let app = ReviewApp::new(cfg.clone(), auth, Some(client)).unwrap();
    let server = spawn(app, "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = server.url();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |id: &str| {
        format!(
            "{base}/api/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };
    let page = |id: &str| {
        format!(
            "{base}/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };

    // Rita edits the note (and so approves it); it is written to Lever.
    const EDITED: &str = "Edited by Rita: strong hire, confidential remark 7731.";
    let r = http
        .post(format!("{}/edit", page(&edited.interview_id)))
        .bearer_auth(RITA)
        .header("accept", "application/json")
        .form(&[("note", EDITED)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());

    // Rita sees the note she wrote; Hank (hiring manager: no scores) sees
    // neither it, nor scores, tags, scorecard, write report or calibration.
    let rita_view = http
        .get(api(&edited.interview_id))
        .bearer_auth(RITA)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        rita_view.contains("confidential remark 7731"),
        "{rita_view}"
    );
    for (url, what) in [
        (api(&edited.interview_id), "JSON"),
        (page(&edited.interview_id), "HTML"),
        (format!("{base}/api/queue"), "queue JSON"),
        (format!("{base}/queue"), "queue HTML"),
    ] {
        let r = http.get(&url).bearer_auth(HANK).send().unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let body = r.text().unwrap();
        for leak in [
            "confidential remark 7731",
            "\"edited_note\"",
            "\"scores\"",
            "overall_score",
            "ai:strong-technical",
            "\"scorecard\"",
            "\"calibration\"",
            "tags_added",
        ] {
            assert!(
                !body.contains(leak),
                "{what} to a hiring manager holds {leak}: {body}"
            );
        }
    }

    // The CSP plays only this interview's own media origin.
    let r = http
        .get(page(&edited.interview_id))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    let csp = header(&r, "content-security-policy");
    assert!(csp.contains("media-src http://127.0.0.1:9;"), "{csp}");
    assert!(!csp.contains("media-src http: https:"), "{csp}");
    let r = http
        .get(format!("{base}/queue"))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    assert!(header(&r, "content-security-policy").contains("media-src 'none'"));

    // Sign-in: a Secure, HttpOnly, SameSite=Strict cookie.
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", RITA)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = header(&r, "set-cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    let with_cookie = |url: &str| http.get(url).header("cookie", &cookie).send().unwrap();
    assert_eq!(with_cookie(&format!("{base}/api/queue")).status(), 200);
    // Signing out ends it on the server: the same cookie, replayed, is refused.
    let html = with_cookie(&format!("{base}/queue")).text().unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(with_cookie(&format!("{base}/api/queue")).status(), 401);

    // Repeated failures lock the address out, even for a good token then.
    for _ in 0..panelflow::review::auth::MAX_FAILURES {
        let r = http
            .post(format!("{base}/login"))
            .form(&[("token", "guess")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", RITA)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(!header(&r, "retry-after").is_empty());
    let r = http
        .get(format!("{base}/api/queue"))
        .bearer_auth("guess")
        .send()
        .unwrap();
    assert_eq!(r.status(), 429, "bearer guesses are locked out too");
    server.stop();
    drop(lever);
}

// ---------------------------------------------------------------------------
// PII in logs and Parquet

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

/// `panelflow ingest` and `panelflow run` as users start them, with debug
/// logs: webhooks carrying the dataset's candidates' names and e-mails and
/// signed media URLs (one good, one missing, one behind the metadata
/// address). Afterwards no log line, Parquet value, audit line or
/// dead-letter reason holds a name, an e-mail, a phone number or a query
/// string; the forbidden media failed without a request and without a note.
#[test]
fn logs_and_parquet_hold_no_pii_or_signed_query_strings() {
    let stack = support::Stack::start();
    let media_port = url::Url::parse(&stack.media.url("x"))
        .unwrap()
        .port()
        .unwrap();
    let mut cfg = stack.cfg.clone();
    cfg.kafka.topic = "pii.completed".into();
    cfg.kafka.dead_letter_topic = "pii.deadletter".into();
    cfg.kafka.group_id = "panelflow-pii".into();
    cfg.ingest.state_dir = stack.dir.path().join("pii-ingest");
    cfg.sinks.parquet_dir = stack.dir.path().join("pii-parquet");
    cfg.governance.audit_dir = stack.dir.path().join("pii-audit");
    // The SSRF guard on, the media server reachable by exception only.
    cfg.media.allow_private_networks = false;
    cfg.media.allowed_addresses = vec!["127.0.0.1".parse().unwrap()];
    cfg.media.allowed_ports = vec![80, 443, media_port];
    let port = free_port();
    let config = stack.dir.path().join("pii.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let mut ingest = Child::start(
        &["ingest", "--listen", &format!("127.0.0.1:{port}")],
        &config,
        stack.dir.path().join("ingest.log"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{base}/healthz"))
        .ok()
        .and_then(|r| r.json::<Value>().ok())
        .is_some_and(|h| h["ready"] == true)
    {
        assert!(Instant::now() < deadline, "ingest:\n{}", ingest.text());
        std::thread::sleep(Duration::from_millis(200));
    }

    let opps: Vec<Value> = serde_json::from_slice(
        &std::fs::read(support::datasets().join("lever_opportunities.json")).unwrap(),
    )
    .unwrap();
    let person = |opp: &str| opps.iter().find(|o| o["id"] == opp).cloned().unwrap();
    let query = |n: u32, email: &str| {
        format!(
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQSIG{n}&X-Amz-Signature=qsig{n}deadbeef&response-content-disposition=attachment%3Bfilename%3D{}",
            email.replace('@', "%40")
        )
    };
    let good = support::interview("swe-01");
    let missing = support::interview("sales-01");
    let forbidden = support::interview("data-01");
    let mut sent = Vec::new();
    for (n, it, url) in [
        (
            1,
            &good,
            format!("{}{}", stack.media.url(&good.media[0].0), ""),
        ),
        (
            2,
            &missing,
            stack.media.url("interviews/no-such-recording.mp4"),
        ),
        (
            3,
            &forbidden,
            "http://169.254.169.254/latest/meta-data/recording.mp4".to_string(),
        ),
    ] {
        let p = person(&it.opportunity_id);
        let email = p["emails"][0].as_str().unwrap();
        let body = json!({"timestamp": now_ms(), "event": "interviewCompleted", "data": {
            "candidateId": it.candidate_id, "opportunityId": it.opportunity_id,
            "interviewId": format!("pii-{}", it.interview_id),
            "mediaUrl": format!("{url}{}", query(n, email)),
            "candidateName": p["name"], "email": email, "phone": p["phones"][0]["value"],
            "candidate": {"name": p["name"], "emails": p["emails"]},
            "note": format!("Recording for {} ({email})", p["name"].as_str().unwrap()),
        }});
        let raw = serde_json::to_vec(&body).unwrap();
        let r = reqwest::blocking::Client::new()
            .post(format!("{base}/webhooks/generic"))
            .header("content-type", "application/json")
            .header(
                "x-panelflow-signature",
                sign_body(&raw, support::GENERIC_SECRET.as_bytes()),
            )
            .body(raw)
            .send()
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().unwrap_or_default());
        sent.push(format!("pii-{}", it.interview_id));
    }

    let mut run = Child::start(
        &["run", "--workers", "1"],
        &config,
        stack.dir.path().join("run.log"),
    );
    let rows = || {
        panelflow_connectors::parquet::ParquetSink::open(&cfg.sinks.parquet_dir)
            .and_then(|s| s.read_interviews())
            .map(|r| r.len())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while rows() < 3 {
        assert!(Instant::now() < deadline, "run:\n{}", run.text());
        assert!(
            run.child.try_wait().unwrap().is_none(),
            "run exited:\n{}",
            run.text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Let the audit table and the dead letters land, then stop both.
    std::thread::sleep(Duration::from_secs(2));
    run.stop();
    ingest.stop();

    // What each interview became.
    let root = cfg.sinks.parquet_dir.display().to_string();
    let outcomes = support::duckdb_json(&format!(
        "select interview_id, outcome, failure_reason from read_parquet('{root}/interviews/**/*.parquet', hive_partitioning=true) order by interview_id"
    ));
    let outcome = |id: &str| {
        outcomes
            .iter()
            .find(|r| r["interview_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {id}: {outcomes:?}"))
    };
    assert_eq!(
        outcome("pii-swe-01")["outcome"],
        "transcribed",
        "{outcomes:?}"
    );
    let m = outcome("pii-sales-01");
    assert_eq!(m["outcome"], "failed");
    assert!(m["failure_reason"].as_str().unwrap().contains("404"), "{m}");
    let f = outcome("pii-data-01");
    assert_eq!(f["outcome"], "failed");
    assert!(
        f["failure_reason"]
            .as_str()
            .unwrap()
            .contains("media_forbidden_address"),
        "{f}"
    );
    assert!(
        stack.lever.notes(&forbidden.opportunity_id).is_empty(),
        "no note for refused media"
    );
    assert!(stack.lever.notes(&missing.opportunity_id).is_empty());

    // Everything written, as text: logs, every Parquet table, the audit log,
    // the dead letters' reasons.
    let mut haystacks: Vec<(String, String)> = vec![
        ("ingest log".into(), ingest.text()),
        ("run log".into(), run.text()),
    ];
    assert!(haystacks[1].1.contains("DEBUG"), "debug logs were on");
    let tables: BTreeSet<String> = walk(&cfg.sinks.parquet_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .filter_map(|p| {
            p.strip_prefix(&cfg.sinks.parquet_dir)
                .ok()
                .and_then(|r| r.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
        })
        .collect();
    assert!(
        tables.contains("interviews") && tables.contains("audit"),
        "{tables:?}"
    );
    for t in &tables {
        let rows = support::duckdb_json(&format!(
            "select * from read_parquet('{root}/{t}/**/*.parquet', union_by_name=true)"
        ));
        haystacks.push((
            format!("parquet {t}"),
            serde_json::to_string(&rows).unwrap(),
        ));
    }
    haystacks.push((
        "audit.jsonl".into(),
        std::fs::read_to_string(cfg.governance.audit_dir.join("audit.jsonl")).unwrap_or_default(),
    ));
    let reasons: Vec<Value> = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.dead_letter_topic)
        .into_iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    eprintln!("dead-letter reasons: {reasons:?}");
    haystacks.push((
        "dead-letter reasons".into(),
        serde_json::to_string(&reasons).unwrap(),
    ));
    let mut needles = dataset_pii();
    needles.extend(
        [
            "X-Amz-Signature",
            "X-Amz-Credential",
            "qsig1",
            "qsig2",
            "qsig3",
            "AKIAQSIG",
        ]
        .map(String::from),
    );
    // The control: the event topic must carry the signed URL (the pipeline
    // fetches it), so the search does find a needle where one is.
    let events =
        serde_json::to_string(&support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic)).unwrap();
    assert!(
        events.contains("qsig1deadbeef"),
        "the control needle is on the topic"
    );
    let mut found = Vec::new();
    for (what, text) in &haystacks {
        eprintln!("searched {what}: {} bytes", text.len());
        assert!(!text.is_empty(), "{what} is empty");
        for n in &needles {
            if let Some(at) = text.find(n.as_str()) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let to = (at + n.len() + 80).min(text.len());
                let to = (to..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(text.len());
                found.push(format!("{what}: {n:?} in …{}…", &text[from..to]));
            }
        }
    }
    assert!(
        found.is_empty(),
        "personal data or signed query strings written:\n{}",
        found.join("\n")
    );
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
