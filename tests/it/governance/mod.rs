//! Governance on real files: PII encrypted in Parquet (read back by DuckDB),
//! a candidate's export, erasure leaving no trace (searched by DuckDB in every
//! string column of every Parquet file), `panelflow explain`, and backfill's
//! selection and rate limit.
//!
//! The dataset is written by the real sinks: `ParquetSink` (interviews,
//! segments, responses, scores, audit) and the aggregates' `InputLogs`.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use panelflow::aggregates::harness::TimedSink;
use panelflow::aggregates::inputs::InputLogs;
use panelflow::aggregates::records::{decode, InputRecord, Validate};
use panelflow::config::PipelineConfig;
use panelflow::ops::erase::{self, EraseTargets, Retraction};
use panelflow::ops::{backfill, explain, export};
use panelflow_connectors::parquet::aggregates::Layout;
use panelflow_connectors::parquet::{
    AnalysisRows, InterviewRow, ParquetSink, ResponseRow, ScoreRow, SegmentRow,
};
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};
use panelflow_connectors::store::crypto::PiiKeys;
use panelflow_core::wire::{RatingMessage, ScoreMessage};
use serde_json::{json, Value};

mod backfill_replay;
mod erasure;
mod explain_story;
mod pii_and_export;
mod rediscovery;

const ALICE: &str = "cand-alice-7f3a";
const BOB: &str = "cand-bob-91c2";
const SECRET_WORDS: &str = "I led the migration of our billing service to Kubernetes";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// A deployment in a temporary folder with its own key file.
struct Deployment {
    _dir: tempfile::TempDir,
    root: PathBuf,
    cfg: PipelineConfig,
    config_file: PathBuf,
}

impl Deployment {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let key_file = root.join("pii.key");
        std::fs::write(&key_file, format!("{}\n", PiiKeys::generate_base64())).expect("key");
        let toml = format!(
            "[sinks]\nparquet_dir = \"{r}/parquet\"\n[ingest]\nstate_dir = \"{r}/ingest\"\n[review]\nqueue_dir = \"{r}/review\"\n\
             [governance]\naudit_dir = \"{r}/audit\"\naggregates_dir = \"{r}/aggregates\"\n\
             key_file = \"{r}/pii.key\"\nkey_env = \"PANELFLOW_GOVERNANCE_TEST_NO_SUCH_KEY\"\n\
             notice = \"This interview was analysed by AI; advisory only. Write to privacy@example.com.\"\n",
            r = root.display()
        );
        let config_file = root.join("pipeline.toml");
        std::fs::write(&config_file, &toml).expect("config");
        let cfg = PipelineConfig::from_toml(&toml).expect("parse");
        Self {
            _dir: dir,
            root,
            cfg,
            config_file,
        }
    }

    fn keys(&self) -> PiiKeys {
        PiiKeys::load(&self.cfg.governance).expect("keys")
    }

    fn targets(&self) -> EraseTargets {
        EraseTargets::from_config(&self.cfg, None)
    }

    fn parquet(&self) -> PathBuf {
        self.cfg.sinks.parquet_dir.clone()
    }
}

fn interview(id: &str, cand: &str, version: &str, completed: &str) -> InterviewRow {
    let mut r = InterviewRow::example(id, version);
    r.candidate_id = cand.into();
    r.opportunity_id = format!("opp-{id}");
    r.correlation_id = format!("corr-{id}");
    r.analysis_completion_time = at(completed);
    r.received_at = r.analysis_completion_time - chrono::Duration::minutes(3);
    r.transcript = Some(format!("{SECRET_WORDS} ({id})"));
    r.summary_json =
        Some(json!({"answers": [{"text": SECRET_WORDS}], "posting_id": "post-eng"}).to_string());
    r.event_json = Some(
        json!({"schema_version": 1, "source": "generic", "interview_id": id, "candidate_id": cand,
               "opportunity_id": format!("opp-{id}"), "correlation_id": format!("corr-{id}"),
               "received_at": r.received_at.to_rfc3339(), "payload_sha256": "00",
               "media": [{"url": format!("https://media.example/{id}.mp4")}],
               "unknown_fields": {"posting_id": "post-eng"}})
        .to_string(),
    );
    r
}

/// Writes two candidates' interviews, analysis, audit, aggregates and review files.
fn populate(d: &Deployment) {
    let sink = ParquetSink::open_for(&d.cfg.sinks.parquet_dir, &d.cfg.governance).expect("sink");
    let mut rows = vec![
        interview("iv-alice-1", ALICE, "pilot@1", "2024-05-01T10:00:00Z"),
        interview("iv-alice-2", ALICE, "pilot@1", "2024-05-02T10:00:00Z"),
        interview("iv-bob-1", BOB, "pilot@1", "2024-05-01T11:00:00Z"),
    ];
    rows[2].lever_note_id = Some("note-bob-1".into());
    let mut segments = Vec::new();
    let mut analysis = AnalysisRows::default();
    for r in &rows {
        for i in 0..3 {
            let mut s = SegmentRow::example(&r.interview_id, "pilot@1", 0, i);
            s.correlation_id = r.correlation_id.clone();
            s.text = format!("{SECRET_WORDS} segment {i}");
            segments.push(s);
        }
        let mut resp = ResponseRow::example(&r.interview_id, "pilot@1", 0);
        resp.correlation_id = r.correlation_id.clone();
        resp.text = SECRET_WORDS.into();
        resp.skills = if r.candidate_id == BOB {
            "Kubernetes,Go".into()
        } else {
            "Python".into()
        };
        analysis.responses.push(resp);
        let mut score = ScoreRow::example(&r.interview_id, "pilot@1", "delivery");
        score.correlation_id = r.correlation_id.clone();
        score.evidence_json = json!({"quote": SECRET_WORDS}).to_string();
        analysis.scores.push(score);
    }
    let report = sink
        .write_batch_with(&rows, &segments, &analysis)
        .expect("write");
    assert_eq!(report.interviews_written, 3);

    // The audit log: JSON lines and the audit table.
    let mut events = Vec::new();
    for r in &rows {
        let t = r.received_at;
        let ev = |step: &str, s: i64, e: i64, detail: Value| {
            AuditEvent::step(&r.correlation_id, &r.interview_id, step, "ok")
                .timed(
                    t + chrono::Duration::seconds(s),
                    t + chrono::Duration::seconds(e),
                )
                .by("pipeline:pilot@1")
                .for_candidate(r.candidate_id.clone())
                .with_config_hash("cfg-abc123")
                .with_detail(detail)
        };
        events.push(ev(
            "context",
            0,
            1,
            json!({"lever": {"opportunity": r.opportunity_id, "posting": "post-eng"}}),
        ));
        events.push(ev(
            "media",
            1,
            4,
            json!({"host": "media.example", "bytes": 123456}),
        ));
        events.push(ev("speech", 4, 20, json!({"models": [{"name": "moonshine-base-en", "version": "0.1.4", "sha256": "9f2c"}]})));
        events.push(ev(
            "analysis",
            20,
            22,
            json!({"rubric": "software_engineering@3"}),
        ));
        // One event names the interview but not the candidate.
        events.push(
            AuditEvent::step(&r.correlation_id, &r.interview_id, "lever_note", "ok")
                .by("pipeline:pilot@1")
                .with_detail(json!({"note_id": format!("note-{}", r.interview_id), "opportunity": r.opportunity_id})),
        );
    }
    // Another candidate's failed interview whose event points at Alice's
    // opportunity: its audit detail names her as the opportunity's contact.
    events.push(
        AuditEvent::step("corr-iv-carol-1", "iv-carol-1", "context", "failed")
            .by("pipeline:pilot@1")
            .for_candidate("cand-carol-5e0a".to_string())
            .with_detail(json!({"lever": {"opportunity": "opp-iv-alice-1", "contact": ALICE}})),
    );
    AuditLog::open(&d.cfg.governance.audit_dir)
        .expect("log")
        .append(&events)
        .expect("append");
    sink.write_audit(&events).expect("audit table");

    // The aggregates' input tables.
    let layout = Layout::new(&d.cfg.governance.aggregates_dir);
    let mut logs = InputLogs::new(&layout, 0, false);
    let mut records = Vec::new();
    for (iv, cand) in [("iv-alice-1", ALICE), ("iv-bob-1", BOB)] {
        let score: ScoreMessage = serde_json::from_value(json!({
            "interview_id": iv, "candidate_id": cand, "posting_id": "post-eng", "job_family": "swe",
            "model_name": "rubric", "model_version": "rubric@1", "scored_at": "2024-05-01T12:00:00Z",
            "sentiment": 0.3, "transcription_confidence": 0.92,
            "competencies": [{"competency": "delivery", "score": 3.0, "confidence": 0.7}]
        }))
        .expect("score");
        let rating: RatingMessage = serde_json::from_value(json!({
            "reviewer_id": "rev-1", "candidate_id": cand, "posting_id": "post-eng", "interview_id": iv,
            "competency": "delivery", "rating": 3, "source": "lever_feedback", "rated_at": "2024-05-03T09:00:00Z"
        }))
        .expect("rating");
        records.push((InputRecord::Score(score.validate().expect("valid").0), 1));
        records.push((InputRecord::Rating(rating.validate().expect("valid").0), 1));
    }
    logs.apply(1, records);
    logs.flush().expect("flush inputs");

    // The review queue.
    let q = &d.cfg.review.queue_dir;
    std::fs::create_dir_all(q.join("decisions")).expect("queue");
    for (iv, cand) in [("iv-alice-2", ALICE), ("iv-bob-1", BOB)] {
        std::fs::write(
            q.join(format!("{iv}.json")),
            json!({"interview_id": iv, "candidate_id": cand, "summary": SECRET_WORDS}).to_string(),
        )
        .expect("item");
    }
    std::fs::write(
        q.join("decisions/iv-alice-2.json"),
        json!({"interview_id": "iv-alice-2", "decision": "approve", "by": "recruiter-1"})
            .to_string(),
    )
    .expect("decision");
}

/// Runs Python with DuckDB (the set-up virtualenv); the script prints JSON.
fn duckdb(script: &str, args: &[String]) -> Value {
    let python = panelflow_devkit::paths::venv_python();
    assert!(
        python.exists(),
        "{} missing: run bash scripts/setup.sh",
        python.display()
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// For every committed Parquet file under `roots`: its rows, and the rows
/// whose string columns contain any of `needles` (DuckDB's `contains`).
fn search(roots: &[&Path], needles: &[&str]) -> BTreeMap<String, (i64, i64)> {
    let script = r#"
import duckdb, glob, json, os, sys
roots, needles = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for root in roots:
    for f in sorted(glob.glob(os.path.join(root, "**", "*.parquet"), recursive=True)):
        rel = os.path.relpath(f, root)
        if any(p.startswith((".", "_")) for p in rel.split(os.sep)):
            continue
        src = "read_parquet('%s', hive_partitioning=false)" % f.replace("'", "''")
        rel = duckdb.sql("select * from " + src)
        cols = [c for c, t in zip(rel.columns, rel.types) if str(t) == "VARCHAR"]
        total = duckdb.sql("select count(*) from " + src).fetchall()[0][0]
        hits = 0
        if cols:
            cond = " or ".join("contains(coalesce(\"%s\", ''), '%s')" % (c, n.replace("'", "''")) for c in cols for n in needles)
            hits = duckdb.sql("select count(*) from %s where %s" % (src, cond)).fetchall()[0][0]
        out[f] = [total, hits]
print(json.dumps(out))
"#;
    let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
    let v = duckdb(
        script,
        &[
            serde_json::to_string(&roots).expect("json"),
            serde_json::to_string(needles).expect("json"),
        ],
    );
    serde_json::from_value::<BTreeMap<String, (i64, i64)>>(v).expect("map")
}
