//! What a run is fed and how it is watched: synthetic media, the
//! pipeline's config, webhook posts and metric scrapes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::Value;

use panelflow_core::webhook::signature::sign_body;

use super::options::{ChaosOptions, GROUP, SECRET, STAGE, TAG};

/// Short answers spoken by espeak-ng (a few seconds each).
const ANSWERS: &[&str] = &[
    "I have five years of experience building payment systems in Rust and Go, and I led the migration to Kafka.",
    "When a customer was angry about an outage, I listened, apologised, explained the fix and followed up the next day.",
    "I closed a large deal last quarter by mapping the buying committee and running a careful pilot with clear success criteria.",
    "I debug production problems by reading the metrics first, forming a hypothesis, and testing it with the smallest change.",
    "I mentor junior engineers through code review and pairing, and I write design documents before large changes.",
    "At my previous employer I reduced support ticket backlog by forty percent by writing a knowledge base and triage rules.",
];

pub(super) fn synth_media(dir: &Path) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for (i, text) in ANSWERS.iter().enumerate() {
        let name = format!("answer-{i}.wav");
        let path = dir.join(&name);
        if !path.exists() {
            let status = Command::new("espeak-ng")
                .args(["-v", "en-us", "-s", "160", "-w"])
                .arg(&path)
                .arg(text)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("espeak-ng (installed by scripts/setup.sh)")?;
            if !status.success() {
                bail!("espeak-ng failed for {name}");
            }
        }
        names.push(name);
    }
    Ok(names)
}

/// What differs between the runs' pipeline configs.
pub(super) struct Setting<'a> {
    /// Output folder of the run.
    pub(super) out: &'a Path,
    /// `[kafka] retry_delays_s`.
    pub(super) retry_delays_s: &'a [u64],
    /// `[kafka] partitions`.
    pub(super) partitions: u32,
    /// `[lever] rate_per_s` and `burst`; none: the defaults (Lever's limit).
    pub(super) lever_limit: Option<(f64, f64)>,
    /// `[metrics] listen` port; none: not in the config (each process may
    /// get its own through `PANELFLOW_METRICS_LISTEN`).
    pub(super) metrics_port: Option<u16>,
}

impl<'a> Setting<'a> {
    /// The chaos run's setting: 4 partitions, a generous Lever limit.
    pub(super) fn of_chaos(o: &'a ChaosOptions, metrics_port: u16) -> Self {
        Self {
            out: &o.out,
            retry_delays_s: &o.retry_delays_s,
            partitions: 4,
            lever_limit: Some((200.0, 200.0)),
            metrics_port: Some(metrics_port),
        }
    }
}

pub(super) fn config(s: &Setting<'_>, brokers: &str, lever: &str, ingest_extra: &str) -> String {
    let out = s.out.display();
    let delays: Vec<String> = s.retry_delays_s.iter().map(u64::to_string).collect();
    let partitions = s.partitions;
    let limit = s
        .lever_limit
        .map(|(rate, burst)| format!("rate_per_s = {rate:?}\nburst = {burst:?}\n"))
        .unwrap_or_default();
    let metrics = s
        .metrics_port
        .map(|port| format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"))
        .unwrap_or_default();
    format!(
        r#"[pipeline]
name = "chaos"
version = "chaos-1"
phase = "automate"
region = "us"

[kafka]
brokers = "{brokers}"
group_id = "{GROUP}"
partitions = {partitions}
retry_delays_s = [{delays}]

[ingest]
{ingest_extra}
[ingest.secrets]
generic = "{SECRET}"

[media]
allow_private_networks = true
connect_timeout_s = 2
timeout_s = 4

[lever]
base_url = "{lever}"
api_key_env = "PANELFLOW_LEVER_API_KEY"
perform_as = "user-panelflow-bot"
write_notes = true
max_attempts = 3
{limit}
[analysis]
enabled = true
low_confidence = 0.0
default_role = "screen"

[roles.screen]
title = "Screening"
questions = [{{ id = "q1", text = "Tell us about your experience and a hard problem you solved." }}]

[writeback]
min_confidence = 0.0
extreme_sentiment = 1.5
review_on_flags = []

[[writeback.tags]]
tag = "{TAG}"
min_overall = 1.0

[writeback.stage]
to_stage = "{STAGE}"
min_overall = 0.0
min_confidence = 0.0

[writeback.feedback]
base_template_id = "tmpl-ai-screen"
overall_field = "field-overall"
notes_field = "field-notes"

[sinks]
parquet_dir = "{out}/parquet"

[governance]
audit_dir = "{out}/audit"

[review]
queue_dir = "{out}/review"

{metrics}"#,
        delays = delays.join(", ")
    )
}

pub(super) fn post(client: &reqwest::blocking::Client, url: &str, body: &Value) -> u16 {
    let raw = serde_json::to_vec(body).unwrap_or_default();
    client
        .post(url)
        .header("content-type", "application/json")
        .header("x-panelflow-signature", sign_body(&raw, SECRET.as_bytes()))
        .body(raw)
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The value of a metric family (summed over its labels matching `filter`).
pub(super) fn scrape(
    client: &reqwest::blocking::Client,
    port: u16,
    family: &str,
    filter: &str,
) -> Option<f64> {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .timeout(Duration::from_secs(2))
        .send()
        .ok()?
        .text()
        .ok()?;
    let mut sum = None;
    for line in text.lines() {
        if line.starts_with(family) && line.contains(filter) {
            if let Some(v) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                *sum.get_or_insert(0.0) += v;
            }
        }
    }
    sum
}
