//! Runners side by side: interviews through `panelflow ingest` → Tansu →
//! several `panelflow run` processes of one consumer group (real
//! processes), one of them SIGKILLed (and, when asked, started again as
//! its supervisor would) and one more joining mid-run, against the
//! Lever emulator holding Lever's documented limit. Then what must hold:
//! one `interviews` row and one note per interview, no 429 from Lever, and
//! what the emulator's request record shows per second; and the throughput
//! (`benches/scale.sh` compares 2 processes × 1 worker with 1 × 2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;
use serde_json::{json, Value};

use crate::broker::{free_port, Broker};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle, RecordedRequest};
use crate::media_server::MediaServer;

use super::checks::{count_what_held, rows};
use super::fixtures::{config, post, synth_media, Setting};
use super::options::{Report, LEVER_KEY};
use super::procs::{start_ingest, Runner};

/// The runners' `session.timeout.ms` (30 s) and a margin.
const SESSION_PASSED: Duration = Duration::from_secs(35);

/// Lever's documented limit: 10 requests a second, bursts of 20.
const LEVER_LIMIT: (f64, f64) = (10.0, 20.0);

/// What to run.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// The `panelflow` binary (built with the `dev` feature).
    pub panelflow: PathBuf,
    /// Where everything is written (cleared first).
    pub out: PathBuf,
    /// Interviews (posted before the runners start: a backlog).
    pub interviews: usize,
    /// `panelflow run` processes started at the beginning.
    pub processes: usize,
    /// Timely workers per process.
    pub workers: usize,
    /// SIGKILL the first process (for good) once this share of the
    /// interviews is written.
    pub kill_at: Option<f64>,
    /// Start the killed process again (same instance id) this long after
    /// the kill, as a supervisor would; none: it stays dead.
    pub restart_after: Option<Duration>,
    /// Start one more process once this share is written (and the killed
    /// one is back, or its session has timed out).
    pub join_at: Option<f64>,
    /// Lever's limit, enforced by the emulator and given to the runners'
    /// config; none: Lever's documented 10/s, burst 20, and the runners on
    /// their defaults (which are that).
    pub lever_limit: Option<(f64, f64)>,
    /// `[kafka] partitions`.
    pub partitions: u32,
    /// Give up after this long.
    pub deadline: Duration,
}

/// What the emulator's request record shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LeverRecord {
    /// The limit the emulator enforced: requests a second, burst.
    pub limit: (f64, f64),
    /// Requests accepted.
    pub requests: usize,
    /// Requests answered 429.
    pub answered_429: u64,
    /// The most requests accepted in one calendar second.
    pub max_in_a_calendar_second: usize,
    /// The most requests in any 1 s window (a full burst plus a second's
    /// flow may fall into one).
    pub max_in_any_1s_window: usize,
    /// The most requests in any 10 s window, per second.
    pub max_10s_average_per_s: f64,
    /// Windows breaking the token bucket (more than `burst + rate × T`
    /// requests in a window of T seconds, with the emulator's 50 ms slack).
    pub bucket_violations: usize,
    /// Requests per interview, by method and path (ids as `:id`).
    pub per_interview: BTreeMap<String, f64>,
}

/// What the run showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScaleReport {
    /// Interviews posted.
    pub interviews: usize,
    /// Processes at the start.
    pub processes: usize,
    /// Workers per process.
    pub workers: usize,
    /// Processes SIGKILLed.
    pub killed: usize,
    /// Killed processes started again.
    pub restarted: usize,
    /// Processes that joined mid-run.
    pub joined: usize,
    /// Interviews with exactly one `interviews` row.
    pub one_row: usize,
    /// Interviews with no row.
    pub missing_rows: usize,
    /// Interviews with more than one row.
    pub duplicate_rows: usize,
    /// Rows `failed`.
    pub failed: usize,
    /// Interviews with exactly one note.
    pub one_note: usize,
    /// Transcribed interviews with no note.
    pub missing_notes: usize,
    /// Interviews with more than one note.
    pub duplicate_notes: usize,
    /// Interviews with more than one scorecard.
    pub duplicate_scorecards: usize,
    /// What Lever saw.
    pub lever: LeverRecord,
    /// Seconds from the first process's start to the last row written.
    pub wall_s: f64,
    /// Seconds from the first row written to the last.
    pub processing_s: f64,
    /// Interviews per second over `processing_s`.
    pub interviews_per_s: f64,
}

impl ScaleReport {
    /// Whether every promise held: one row and one note each, nothing
    /// doubled, Lever never refusing.
    pub fn holds(&self) -> bool {
        self.missing_rows == 0
            && self.duplicate_rows == 0
            && self.missing_notes == 0
            && self.duplicate_notes == 0
            && self.duplicate_scorecards == 0
            && self.lever.answered_429 == 0
            && self.lever.bucket_violations == 0
    }
}

/// Runs the processes side by side (see the module docs) and reports.
pub fn scale(o: &ScaleOptions) -> anyhow::Result<ScaleReport> {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&o.out);
    std::fs::create_dir_all(&o.out)?;
    let media_dir = o.out.join("media");
    let answers = synth_media(&media_dir)?;
    let media = MediaServer::start(&media_dir)?;
    let mut broker = Broker::start(&o.out.join("broker"), None)?;
    let total = o.interviews;
    let lever_dir = o.out.join("lever");
    std::fs::create_dir_all(&lever_dir)?;
    let opps: Vec<Value> = (0..total)
        .map(|i| json!({"id": format!("chaos-opp-{i}"), "name": format!("Candidate {i}"),
            "contact": format!("chaos-contact-{i}"), "stage": "applicant-new", "tags": [], "stageChanges": []}))
        .collect();
    std::fs::write(
        lever_dir.join("opportunities.json"),
        serde_json::to_vec(&opps)?,
    )?;
    let limit = o.lever_limit.unwrap_or(LEVER_LIMIT);
    let lever: EmulatorHandle = emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        rate_per_s: limit.0,
        burst: limit.1,
        ..EmulatorConfig::new(&lever_dir)
    })?;
    let cfg_path = o.out.join("pipeline.toml");
    let setting = Setting {
        out: &o.out,
        retry_delays_s: &[5, 15, 30],
        partitions: o.partitions,
        lever_limit: o.lever_limit,
        metrics_port: None,
    };
    std::fs::write(
        &cfg_path,
        config(&setting, &broker.bootstrap(), &lever.base_url(), ""),
    )?;
    let ingest = start_ingest(&o.panelflow, &cfg_path, &o.out.join("ingest.log"))?;
    let client = &ingest.client;
    let ingest_url = &ingest.generic_url;
    for i in 0..total {
        let body = json!({"event": "interview.completed",
            "timestamp": chrono::Utc::now().timestamp_millis(), "data": {
            "candidateId": format!("chaos-cand-{i}"),
            "opportunityId": format!("chaos-opp-{i}"),
            "interviewId": format!("chaos-{i}"),
            "mediaUrl": media.url(&answers[i % answers.len()]),
        }});
        let status = post(client, ingest_url, &body);
        if status != 202 {
            bail!("ingest answered {status} for interview {i}");
        }
    }

    let logs = o.out.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut runners: Vec<Runner> = Vec::new();
    let start_runner = |runners: &mut Vec<Runner>| -> anyhow::Result<()> {
        let mut r = Runner::new(
            &o.panelflow,
            &cfg_path,
            o.workers,
            &logs,
            &format!("scale-r{}", runners.len()),
        );
        r.metrics_listen = Some(format!("127.0.0.1:{}", free_port()?));
        r.start()?;
        runners.push(r);
        Ok(())
    };
    let t0 = Instant::now();
    for _ in 0..o.processes.max(1) {
        start_runner(&mut runners)?;
    }
    let mut report = ScaleReport {
        interviews: total,
        processes: o.processes.max(1),
        workers: o.workers,
        ..ScaleReport::default()
    };
    let written = |out: &std::path::Path| {
        rows(out)
            .iter()
            .map(|r| r.interview_id.clone())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let mut first_row: Option<Instant> = None;
    let mut last_row = t0;
    let mut seen = 0;
    let mut killed_at: Option<Instant> = None;
    loop {
        let n = written(&o.out);
        if n > seen {
            seen = n;
            last_row = Instant::now();
            first_row.get_or_insert(last_row);
        }
        let share = n as f64 / total.max(1) as f64;
        if report.killed == 0 && o.kill_at.is_some_and(|at| share >= at) {
            runners[0].kill();
            killed_at = Some(Instant::now());
            report.killed += 1;
            tracing::info!(written = n, "first runner SIGKILLed");
        }
        if let (Some(at), Some(after)) = (killed_at, o.restart_after) {
            if report.restarted == 0 && at.elapsed() >= after {
                runners[0].start()?;
                report.restarted += 1;
                tracing::info!("the killed runner started again");
            }
        }
        // A SIGKILLed member stays in the group until its session times
        // out (or it comes back); the newcomer joins after that.
        let session_over =
            killed_at.is_none_or(|at| report.restarted > 0 || at.elapsed() >= SESSION_PASSED);
        if report.joined == 0 && session_over && o.join_at.is_some_and(|at| share >= at) {
            start_runner(&mut runners)?;
            report.joined += 1;
            tracing::info!(written = n, "one more runner joined");
        }
        if n >= total {
            break;
        }
        if started.elapsed() > o.deadline {
            tracing::warn!(written = n, "deadline passed");
            break;
        }
        let alive = runners.iter_mut().map(|r| r.alive()).filter(|a| *a).count();
        if alive == 0 {
            bail!("every runner exited; see {}", logs.display());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for r in &mut runners {
        r.terminate();
    }

    let mut held = Report::default();
    count_what_held(&o.out, total, total, &lever, &broker, &mut held)?;
    report.one_row = held.one_row;
    report.missing_rows = held.missing_rows;
    report.duplicate_rows = held.duplicate_rows;
    report.failed = held.failed;
    report.one_note = held.one_note;
    report.missing_notes = held.missing_notes;
    report.duplicate_notes = held.duplicate_notes;
    report.duplicate_scorecards = held.duplicate_scorecards;
    report.lever = lever_record(&lever.requests()?, limit, total);
    report.lever.answered_429 = lever.stats().rate_limited;
    report.wall_s = last_row.duration_since(t0).as_secs_f64();
    report.processing_s = first_row.map_or(0.0, |f| last_row.duration_since(f).as_secs_f64());
    report.interviews_per_s = if report.processing_s > 0.0 {
        total.saturating_sub(1) as f64 / report.processing_s
    } else {
        0.0
    };
    broker.stop()?;
    Ok(report)
}

/// `GET /v1/opportunities/chaos-opp-3/notes` → `GET /opportunities/:id/notes`.
fn route(r: &RecordedRequest) -> String {
    let path: Vec<&str> = r
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1) // `v1`
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_digit()) {
                ":id"
            } else {
                s
            }
        })
        .collect();
    format!("{} /{}", r.method, path.join("/"))
}

/// The per-second figures of the emulator's record.
fn lever_record(requests: &[RecordedRequest], limit: (f64, f64), interviews: usize) -> LeverRecord {
    let mut times: Vec<i64> = requests
        .iter()
        .filter_map(|r| chrono::DateTime::parse_from_rfc3339(&r.time).ok())
        .map(|t| t.timestamp_millis())
        .collect();
    times.sort_unstable();
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for t in &times {
        *per_second.entry(t.div_euclid(1000)).or_default() += 1;
    }
    let most_within = |window_ms: i64| {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= window_ms {
                lo += 1;
            }
            best = usize::max(best, hi - lo + 1);
        }
        best
    };
    let (rate, burst) = limit;
    let mut violations = 0;
    for i in 0..times.len() {
        for j in i..times.len() {
            let span_s = (times[j] - times[i]) as f64 / 1000.0 + 0.05;
            if (j - i + 1) as f64 > burst + rate * span_s + 1e-9 {
                violations += 1;
                break;
            }
        }
    }
    let mut per_interview: BTreeMap<String, f64> = BTreeMap::new();
    for r in requests {
        *per_interview.entry(route(r)).or_default() += 1.0;
    }
    for v in per_interview.values_mut() {
        *v /= interviews.max(1) as f64;
    }
    LeverRecord {
        limit,
        requests: times.len(),
        answered_429: 0,
        max_in_a_calendar_second: per_second.values().copied().max().unwrap_or(0),
        max_in_any_1s_window: most_within(1000),
        max_10s_average_per_s: most_within(10_000) as f64 / 10.0,
        bucket_violations: violations,
        per_interview,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> RecordedRequest {
        RecordedRequest {
            time: chrono::DateTime::from_timestamp_millis(1_800_000_000_000 + ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            method: "POST".into(),
            path: "/v1/opportunities/chaos-opp-7/notes".into(),
            query: BTreeMap::new(),
            body: None,
            auth_user: String::new(),
            perform_as: None,
            status: 201,
        }
    }

    #[test]
    fn a_bucket_conforming_record_has_no_violations() {
        // A burst of 20, then one every 100 ms.
        let mut reqs: Vec<RecordedRequest> = (0..20).map(|_| at(0)).collect();
        reqs.extend((1..=30).map(|k| at(k * 100)));
        let rec = lever_record(&reqs, (10.0, 20.0), 10);
        assert_eq!(rec.bucket_violations, 0);
        assert_eq!(rec.requests, 50);
        assert_eq!(rec.per_interview["POST /opportunities/:id/notes"], 5.0);
        assert!(rec.max_in_any_1s_window >= 29, "{rec:?}");
    }

    #[test]
    fn too_many_in_a_window_are_counted() {
        let reqs: Vec<RecordedRequest> = (0..30).map(|k| at(k * 10)).collect();
        let rec = lever_record(&reqs, (10.0, 20.0), 1);
        assert!(rec.bucket_violations > 0);
        assert_eq!(rec.max_in_a_calendar_second, 30);
    }
}
