//! The chaos run: interviews of short synthetic media through `panelflow
//! ingest` → Tansu → `panelflow run --workers N` (both real processes),
//! while the runner is SIGKILLed at random moments and started again with
//! the same config and group, the broker is restarted once, the Lever
//! emulator answers 503 to everything for a while and loses a share of
//! note replies after storing the note, and one media host accepts
//! connections and never answers. Then it checks what must hold and
//! prints the counts ([`Report`]): one `interviews` row and one note per
//! interview (or, for the dead host, a `failed` row naming the time-out
//! after its retries ran out), no scorecard, tag or stage move twice, the
//! dead-letter topic holding exactly the permanent failures, and how long
//! each restart took to get its partitions back.
//!
//! `benches/chaos.sh` runs the full setting; `tests/it/chaos.rs` a small one.
//! [`backlog`] measures the runner's peak memory over a large backlog.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde::Serialize;
use serde_json::{json, Value};

use crate::broker::{free_port, Broker};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::media_server::MediaServer;
use panelflow_connectors::parquet::ParquetSink;
use panelflow_core::webhook::signature::sign_body;

const SECRET: &str = "chaos-generic-secret";
const LEVER_KEY: &str = "chaos-lever-key";
const GROUP: &str = "panelflow-chaos";
const STAGE: &str = "stage-phone-screen";
const TAG: &str = "ai:scored";

/// What to do to the pipeline.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// The `panelflow` binary (built with the `dev` feature).
    pub panelflow: PathBuf,
    /// Where everything is written (cleared first).
    pub out: PathBuf,
    /// Interviews with good media.
    pub interviews: usize,
    /// Of which on the media host that never answers.
    pub dead_host_interviews: usize,
    /// SIGKILLs of the runner, at random moments while there is work.
    pub kills: usize,
    /// Longest run between two kills, seconds (uniform from a third of it).
    pub max_between_kills_s: u64,
    /// Lever answers 503 to everything for this long, starting after the
    /// first kill.
    pub lever_outage: Duration,
    /// Percent of note replies lost after the note was stored.
    pub lost_reply_percent: f64,
    /// Restart the broker once, mid-run.
    pub restart_broker: bool,
    /// Timely workers of the runner.
    pub workers: usize,
    /// `[kafka] retry_delays_s` (short, so the dead host's retries run out
    /// within the run).
    pub retry_delays_s: Vec<u64>,
    /// Give up after this long.
    pub deadline: Duration,
}

/// What the run showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Interviews posted.
    pub interviews: usize,
    /// Of which on the dead media host.
    pub dead_host_interviews: usize,
    /// SIGKILLs done.
    pub kills: usize,
    /// Broker restarts done.
    pub broker_restarts: usize,
    /// Seconds from each (re)start of the runner to its partitions being
    /// assigned (polling again), one per start after a kill.
    pub restart_assigned_s: Vec<f64>,
    /// The worst of them.
    pub restart_worst_s: f64,
    /// Interviews with exactly one `interviews` row.
    pub one_row: usize,
    /// Interviews with no row.
    pub missing_rows: usize,
    /// Interviews with more than one row.
    pub duplicate_rows: usize,
    /// Rows `transcribed`.
    pub transcribed: usize,
    /// Rows `failed`.
    pub failed: usize,
    /// Dead-host interviews whose failed row names the time-out after the retries ran out.
    pub dead_host_failed_timeout: usize,
    /// Transcribed interviews with exactly one note carrying their correlation id.
    pub one_note: usize,
    /// Interviews with more than one note.
    pub duplicate_notes: usize,
    /// Transcribed interviews with no note.
    pub missing_notes: usize,
    /// Scorecards written (at most one per interview).
    pub scorecards: usize,
    /// Interviews with more than one scorecard.
    pub duplicate_scorecards: usize,
    /// Opportunities holding the rule tag more than once.
    pub duplicate_tags: usize,
    /// Opportunities moved to the stage more than once.
    pub duplicate_stage_moves: usize,
    /// Stage moves made.
    pub stage_moves: usize,
    /// Records on the dead-letter topic.
    pub dead_letter_records: usize,
    /// Distinct interviews on it.
    pub dead_letter_interviews: usize,
    /// Whether those are exactly the interviews with a failed row.
    pub dead_letters_are_the_failures: bool,
    /// Note replies the emulator lost on purpose.
    pub lost_replies: u64,
    /// Requests the emulator failed with 503 on purpose.
    pub lever_503s: u64,
    /// "missed heartbeat" evictions in the broker's log.
    pub broker_evictions: usize,
    /// Seconds the whole run took.
    pub wall_s: f64,
}

impl Report {
    /// Whether every promise held.
    pub fn holds(&self) -> bool {
        self.missing_rows == 0
            && self.duplicate_rows == 0
            && self.duplicate_notes == 0
            && self.missing_notes == 0
            && self.duplicate_scorecards == 0
            && self.duplicate_tags == 0
            && self.duplicate_stage_moves == 0
            && self.dead_host_failed_timeout == self.dead_host_interviews
            && self.dead_letters_are_the_failures
            && self.restart_worst_s < 30.0
    }
}

/// A pseudo-random number generator good enough for kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() % 10_000) as f64 / 10_000.0
    }
}

/// Short answers spoken by espeak-ng (a few seconds each).
const ANSWERS: &[&str] = &[
    "I have five years of experience building payment systems in Rust and Go, and I led the migration to Kafka.",
    "When a customer was angry about an outage, I listened, apologised, explained the fix and followed up the next day.",
    "I closed a large deal last quarter by mapping the buying committee and running a careful pilot with clear success criteria.",
    "I debug production problems by reading the metrics first, forming a hypothesis, and testing it with the smallest change.",
    "I mentor junior engineers through code review and pairing, and I write design documents before large changes.",
    "In my last role I reduced support ticket backlog by forty percent by writing a knowledge base and triage rules.",
];

fn synth_media(dir: &Path) -> anyhow::Result<Vec<String>> {
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

/// A host that accepts connections and never answers.
fn dead_host() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("dead-media-host".into())
        .spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                held.push(s); // never read, never answered
            }
        })?;
    Ok(port)
}

fn config(
    o: &ChaosOptions,
    brokers: &str,
    lever: &str,
    metrics_port: u16,
    ingest_extra: &str,
) -> String {
    let out = o.out.display();
    let delays: Vec<String> = o.retry_delays_s.iter().map(u64::to_string).collect();
    format!(
        r#"[pipeline]
name = "chaos"
version = "chaos-1"
phase = "automate"
region = "us"

[kafka]
brokers = "{brokers}"
group_id = "{GROUP}"
partitions = 4
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
rate_per_s = 200.0
burst = 200.0

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

[metrics]
listen = "127.0.0.1:{metrics_port}"
"#,
        delays = delays.join(", ")
    )
}

fn post(client: &reqwest::blocking::Client, url: &str, body: &Value) -> u16 {
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
fn scrape(
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

struct Runner {
    bin: PathBuf,
    config: PathBuf,
    workers: usize,
    logs: PathBuf,
    starts: usize,
    child: Option<Child>,
}

impl Runner {
    fn start(&mut self) -> anyhow::Result<Instant> {
        self.starts += 1;
        let log = std::fs::File::create(self.logs.join(format!("run-{}.log", self.starts)))?;
        let child = Command::new(&self.bin)
            .args(["run", "--workers", &self.workers.to_string(), "--config"])
            .arg(&self.config)
            .env("PANELFLOW_LEVER_API_KEY", LEVER_KEY)
            .env("PANELFLOW_INSTANCE_ID", "chaos-runner")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting panelflow run")?;
        self.child = Some(child);
        Ok(Instant::now())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Ingest(Child);

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_ingest(bin: &Path, config: &Path, port: u16, log: &Path) -> anyhow::Result<Ingest> {
    let child = Command::new(bin)
        .args([
            "ingest",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("starting panelflow ingest")?;
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Ingest(child));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("ingest did not come up")
}

/// Every record of a topic, from the beginning.
pub fn read_topic(brokers: &str, topic: &str) -> anyhow::Result<Vec<Value>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("chaos-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()?;
    let meta = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for t in meta.topics() {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            expected += high - low;
            list.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&list)?;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (out.len() as i64) < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
            );
        }
    }
    Ok(out)
}

fn rows(out: &Path) -> Vec<panelflow_connectors::parquet::InterviewRow> {
    ParquetSink::open(&out.join("parquet"))
        .and_then(|s| s.read_interviews())
        .unwrap_or_default()
}

/// Runs the chaos run (see the module docs) and reports what held.
pub fn run(o: &ChaosOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&o.out);
    std::fs::create_dir_all(&o.out)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ started.elapsed().as_nanos() as u64 | 1);
    let media_dir = o.out.join("media");
    let answers = synth_media(&media_dir)?;
    let media = MediaServer::start(&media_dir)?;
    let dead_port = dead_host()?;
    let mut broker = Broker::start(&o.out.join("broker"), None)?;
    let lever_dir = o.out.join("lever");
    let total = o.interviews;
    let opps: Vec<Value> = (0..total)
        .map(|i| json!({"id": format!("chaos-opp-{i}"), "name": format!("Candidate {i}"),
            "contact": format!("chaos-contact-{i}"), "stage": "applicant-new", "tags": [], "stageChanges": []}))
        .collect();
    std::fs::create_dir_all(&lever_dir)?;
    std::fs::write(
        lever_dir.join("opportunities.json"),
        serde_json::to_vec(&opps)?,
    )?;
    let lever: EmulatorHandle = emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        rate_per_s: 400.0,
        burst: 400.0,
        ..EmulatorConfig::new(&lever_dir)
    })?;
    lever.lose_note_replies(o.lost_reply_percent);
    let metrics_port = free_port()?;
    let cfg_path = o.out.join("pipeline.toml");
    std::fs::write(
        &cfg_path,
        config(o, &broker.bootstrap(), &lever.base_url(), metrics_port, ""),
    )?;
    let ingest_port = free_port()?;
    let _ingest = start_ingest(
        &o.panelflow,
        &cfg_path,
        ingest_port,
        &o.out.join("ingest.log"),
    )?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;

    // Every interview through ingest (retried while the broker is away).
    let dead_from = total - o.dead_host_interviews.min(total);
    let webhook = |i: usize| {
        let url = if i >= dead_from {
            format!("http://127.0.0.1:{dead_port}/never/{i}.wav")
        } else {
            media.url(&answers[i % answers.len()])
        };
        json!({"event": "interview.completed", "data": {
            "candidateId": format!("chaos-cand-{i}"),
            "opportunityId": format!("chaos-opp-{i}"),
            "interviewId": format!("chaos-{i}"),
            "mediaUrl": url,
        }})
    };
    let ingest_url = format!("http://127.0.0.1:{ingest_port}/webhooks/generic");
    let post_all = |from: usize, to: usize| -> anyhow::Result<()> {
        for i in from..to {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let status = post(&client, &ingest_url, &webhook(i));
                if status == 202 {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("ingest answered {status} for interview {i} for 2 minutes");
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Ok(())
    };
    // Half before the runner starts (a backlog), half while it runs.
    post_all(0, total / 2)?;
    let logs = o.out.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut runner = Runner {
        bin: o.panelflow.clone(),
        config: cfg_path.clone(),
        workers: o.workers,
        logs,
        starts: 0,
        child: None,
    };
    let mut report = Report {
        interviews: total,
        dead_host_interviews: o.dead_host_interviews.min(total),
        ..Report::default()
    };
    let assigned_after = |since: Instant, runner: &mut Runner| -> anyhow::Result<f64> {
        let deadline = since + Duration::from_secs(120);
        loop {
            let n = scrape(
                &client,
                metrics_port,
                "panelflow_rebalances_total",
                "kind=\"assign\"",
            )
            .unwrap_or(0.0);
            if n >= 1.0 {
                return Ok(since.elapsed().as_secs_f64());
            }
            if !runner.alive() {
                bail!("the runner exited; see {}", o.out.join("logs").display());
            }
            if Instant::now() > deadline {
                bail!("the restarted runner got no partitions in 120 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let t0 = runner.start()?;
    let first = assigned_after(t0, &mut runner)?;
    tracing::info!(seconds = first, "runner assigned");
    post_all(total / 2, total)?;

    let done = |rows: &[panelflow_connectors::parquet::InterviewRow]| {
        rows.iter()
            .map(|r| r.interview_id.as_str())
            .collect::<BTreeSet<_>>()
            .len()
            >= total
    };
    let mut outage_started: Option<Instant> = None;
    let mut outage_over = o.lever_outage.is_zero();
    let mut broker_done = !o.restart_broker;
    while report.kills < o.kills {
        let wait = rng.between(
            o.max_between_kills_s as f64 / 3.0,
            o.max_between_kills_s as f64,
        );
        let until = Instant::now() + Duration::from_secs_f64(wait);
        while Instant::now() < until {
            if let Some(at) = outage_started {
                if !outage_over && at.elapsed() >= o.lever_outage {
                    lever.inject_faults(503, 0)?;
                    outage_over = true;
                    tracing::info!("Lever outage over");
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if started.elapsed() > o.deadline {
            bail!("deadline passed after {} kills", report.kills);
        }
        runner.kill();
        report.kills += 1;
        if report.kills == 1 && !o.lever_outage.is_zero() {
            lever.inject_faults(503, u32::MAX)?;
            outage_started = Some(Instant::now());
            tracing::info!("Lever outage started");
        }
        if !broker_done && report.kills == o.kills / 2 {
            broker.restart()?;
            report.broker_restarts += 1;
            broker_done = true;
        }
        let t = runner.start()?;
        let s = assigned_after(t, &mut runner)?;
        tracing::info!(kill = report.kills, seconds = s, "runner restarted");
        report.restart_assigned_s.push(s);
    }
    // Let it finish: every interview written (the dead host's after its retries).
    loop {
        if let Some(at) = outage_started {
            if !outage_over && at.elapsed() >= o.lever_outage {
                lever.inject_faults(503, 0)?;
                outage_over = true;
            }
        }
        if outage_over && done(&rows(&o.out)) {
            break;
        }
        if started.elapsed() > o.deadline {
            break;
        }
        if !runner.alive() {
            bail!("the runner exited; see {}", o.out.join("logs").display());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    runner.terminate();
    lever.lose_note_replies(0.0);

    // What held.
    let rows = rows(&o.out);
    let mut by_id: BTreeMap<&str, Vec<&panelflow_connectors::parquet::InterviewRow>> =
        BTreeMap::new();
    for r in &rows {
        by_id.entry(r.interview_id.as_str()).or_default().push(r);
    }
    for i in 0..total {
        let id = format!("chaos-{i}");
        let found = by_id.get(id.as_str()).map(Vec::len).unwrap_or(0);
        match found {
            0 => report.missing_rows += 1,
            1 => report.one_row += 1,
            _ => report.duplicate_rows += 1,
        }
    }
    let mut failed_ids = BTreeSet::new();
    for r in &rows {
        if r.outcome == panelflow_core::outcome::Outcome::Failed {
            report.failed += 1;
            failed_ids.insert(r.interview_id.clone());
            let reason = r.failure_reason.clone().unwrap_or_default();
            let index: usize = r
                .interview_id
                .trim_start_matches("chaos-")
                .parse()
                .unwrap_or(0);
            if index >= dead_from && reason.contains("timed out") && reason.contains("gave up") {
                report.dead_host_failed_timeout += 1;
            }
        } else {
            report.transcribed += 1;
        }
    }
    for r in &rows {
        let opp = r.opportunity_id.as_str();
        let marker = format!("panelflow-correlation-id: {}", r.correlation_id);
        let notes = lever
            .notes(opp)
            .iter()
            .filter(|n| n.to_string().contains(&marker))
            .count();
        if r.outcome == panelflow_core::outcome::Outcome::Transcribed {
            match notes {
                0 => report.missing_notes += 1,
                1 => report.one_note += 1,
                _ => report.duplicate_notes += 1,
            }
        } else if notes > 1 {
            report.duplicate_notes += 1;
        }
        let cards = lever.feedback(opp).len();
        report.scorecards += cards.min(1);
        if cards > 1 {
            report.duplicate_scorecards += 1;
        }
        if let Some(o) = lever.opportunity(opp) {
            let tags = o["tags"]
                .as_array()
                .map(|t| t.iter().filter(|t| *t == TAG).count())
                .unwrap_or(0);
            if tags > 1 {
                report.duplicate_tags += 1;
            }
            let moves = o["stageChanges"]
                .as_array()
                .map(|c| c.iter().filter(|c| c["toStageId"] == STAGE).count())
                .unwrap_or(0);
            report.stage_moves += moves.min(1);
            if moves > 1 {
                report.duplicate_stage_moves += 1;
            }
        }
    }
    let dead = read_topic(&broker.bootstrap(), "interviews.deadletter")?;
    report.dead_letter_records = dead.len();
    let dead_ids: BTreeSet<String> = dead
        .iter()
        .filter_map(|d| d["interview_id"].as_str().map(str::to_owned))
        .collect();
    report.dead_letter_interviews = dead_ids.len();
    report.dead_letters_are_the_failures = dead_ids == failed_ids;
    let stats = lever.stats();
    report.lost_replies = stats.lost_replies;
    report.lever_503s = stats.faulted;
    let mut log = String::new();
    if let Ok(mut f) = std::fs::File::open(broker.log_path()) {
        let _ = f.read_to_string(&mut log);
    }
    report.broker_evictions = log.matches("missed heartbeat").count();
    report.restart_worst_s = report
        .restart_assigned_s
        .iter()
        .copied()
        .fold(0.0, f64::max);
    report.wall_s = started.elapsed().as_secs_f64();
    broker.stop()?;
    Ok(report)
}

/// What [`backlog`] measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BacklogReport {
    /// Events waiting when the runner started.
    pub events: usize,
    /// Rows written when it stopped.
    pub rows: usize,
    /// Seconds to consume them all.
    pub seconds: f64,
    /// The runner's peak resident memory (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Its peak with a backlog of `baseline_events` (the same run's start).
    pub baseline_rss_bytes: u64,
    /// Revocations and poll time-outs its consumers saw.
    pub rebalances_revoke: f64,
    /// max.poll.interval.ms violations.
    pub poll_timeouts: f64,
    /// "missed heartbeat" evictions in the broker's log.
    pub broker_evictions: usize,
}

fn vm_hwm(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// A backlog of `events` events (each a failed fetch: the source, admission,
/// dead letters and sinks at full speed) produced before the runner starts;
/// the runner then consumes it all while its peak memory is read.
pub fn backlog(
    panelflow: &Path,
    out: &Path,
    events: usize,
    workers: usize,
) -> anyhow::Result<BacklogReport> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let mut broker = Broker::start(&out.join("broker"), None)?;
    let lever = emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        rate_per_s: 1000.0,
        burst: 1000.0,
        ..EmulatorConfig::new(out.join("lever"))
    })?;
    let metrics_port = free_port()?;
    let o = ChaosOptions {
        panelflow: panelflow.to_path_buf(),
        out: out.to_path_buf(),
        interviews: events,
        dead_host_interviews: 0,
        kills: 0,
        max_between_kills_s: 0,
        lever_outage: Duration::ZERO,
        lost_reply_percent: 0.0,
        restart_broker: false,
        workers,
        retry_delays_s: vec![60],
        deadline: Duration::from_secs(3600),
    };
    let cfg_path = out.join("pipeline.toml");
    std::fs::write(
        &cfg_path,
        config(&o, &broker.bootstrap(), &lever.base_url(), metrics_port, ""),
    )?;
    // Create the topics and produce the backlog directly (as a backfill would).
    let kafka = panelflow_connectors::kafka::KafkaSection {
        brokers: broker.bootstrap(),
        group_id: GROUP.into(),
        partitions: 4,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&kafka))?;
    let producer: rdkafka::producer::FutureProducer =
        panelflow_connectors::kafka::producer_config(&kafka).create()?;
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..events {
            let mut e = panelflow_core::event::InterviewCompleted::new(
                "generic",
                &format!("backlog-{i}"),
                &format!("cand-{i}"),
                &format!("opp-{i}"),
                vec![panelflow_core::event::MediaItem {
                    url: format!("http://127.0.0.1:{}/missing/{i}.wav", lever.addr().port()),
                    question_id: None,
                    question_text: None,
                    expires_at: None,
                }],
            );
            // About 2 KiB an event, as a webhook with its payload kept.
            e.unknown_fields
                .insert("padding".into(), "x".repeat(2000).into());
            let producer = producer.clone();
            let topic = kafka.topic.clone();
            tasks.spawn(async move {
                panelflow_connectors::kafka::produce_event(&producer, &topic, &e).await
            });
            if tasks.len() >= 500 {
                while let Some(r) = tasks.join_next().await {
                    r??;
                }
            }
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        anyhow::Ok(())
    })?;
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut runner = Runner {
        bin: panelflow.to_path_buf(),
        config: cfg_path,
        workers,
        logs,
        starts: 0,
        child: None,
    };
    let t0 = runner.start()?;
    let client = reqwest::blocking::Client::new();
    let mut baseline = 0;
    loop {
        let n = rows(out).len();
        if baseline == 0 && n > 0 {
            baseline = runner.pid().map(vm_hwm).unwrap_or(0);
        }
        if n >= events || t0.elapsed() > Duration::from_secs(3600) || !runner.alive() {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let peak = runner.pid().map(vm_hwm).unwrap_or(0);
    let report = BacklogReport {
        events,
        rows: rows(out).len(),
        seconds: t0.elapsed().as_secs_f64(),
        peak_rss_bytes: peak,
        baseline_rss_bytes: baseline,
        rebalances_revoke: scrape(
            &client,
            metrics_port,
            "panelflow_rebalances_total",
            "kind=\"revoke\"",
        )
        .unwrap_or(0.0),
        poll_timeouts: scrape(
            &client,
            metrics_port,
            "panelflow_rebalances_total",
            "poll_timeout",
        )
        .unwrap_or(0.0),
        broker_evictions: std::fs::read_to_string(broker.log_path())
            .unwrap_or_default()
            .matches("missed heartbeat")
            .count(),
    };
    runner.terminate();
    broker.stop()?;
    Ok(report)
}
