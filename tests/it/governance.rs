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

#[test]
fn pii_is_sealed_for_duckdb_and_opened_by_the_export() {
    let d = Deployment::new();
    populate(&d);
    // DuckDB, an analyst's client: no plaintext anywhere, sealed values in the PII columns.
    let found = search(&[&d.parquet()], &[SECRET_WORDS, "Kubernetes"]);
    assert!(found.len() >= 5, "{found:?}");
    for (f, (total, hits)) in &found {
        // responses.skills holds "Kubernetes" for Bob's answers: skills are not PII text.
        if f.contains("/responses/") {
            assert!(*hits <= 1, "{f}: {hits} of {total}");
        } else {
            assert_eq!(*hits, 0, "{f}: plaintext in {hits} of {total} rows");
        }
    }
    let script = r#"
import duckdb, json, sys
r = sys.argv[1]
q = lambda s: duckdb.sql(s.replace("R", r)).fetchall()
print(json.dumps({
  "transcript": q("select transcript from read_parquet('R/interviews/**/*.parquet') where interview_id = 'iv-bob-1'")[0][0],
  "segments": q("select count(*), count(*) filter (where starts_with(text, 'pfenc:v1:')) from read_parquet('R/segments/**/*.parquet')")[0],
  "responses": q("select count(*) filter (where starts_with(text, 'pfenc:v1:')) from read_parquet('R/responses/**/*.parquet')")[0][0],
  "evidence": q("select count(*) filter (where starts_with(evidence_json, 'pfenc:v1:')) from read_parquet('R/scores/**/*.parquet')")[0][0],
  "events": q("select count(*) filter (where starts_with(event_json, 'pfenc:v1:')) from read_parquet('R/interviews/**/*.parquet')")[0][0],
}))
"#;
    let v = duckdb(script, &[d.parquet().display().to_string()]);
    let keys = d.keys();
    let sealed = v["transcript"].as_str().expect("transcript");
    assert!(
        sealed.starts_with(&format!("pfenc:v1:{}:", keys.active_key_id())),
        "{sealed}"
    );
    assert_eq!(v["segments"], json!([9, 9]));
    assert_eq!(
        (
            v["responses"].as_i64(),
            v["evidence"].as_i64(),
            v["events"].as_i64()
        ),
        (Some(3), Some(3), Some(3))
    );

    // The export decrypts, holds every table, the notice, and is itself audited.
    let doc = export::export(&d.targets(), &keys, &d.cfg.governance.notice, ALICE, "test")
        .expect("export");
    assert_eq!(doc.interview_ids, ["iv-alice-1", "iv-alice-2"]);
    assert!(doc.notice.contains("analysed by AI"));
    let iv = &doc.tables["interviews"];
    assert_eq!(iv.len(), 2);
    assert!(iv.iter().all(|r| r["candidate_id"] == ALICE));
    assert!(iv[0]["transcript"]
        .as_str()
        .is_some_and(|t| t.starts_with(SECRET_WORDS)));
    assert_eq!(
        iv[0]["summary_json"]["answers"][0]["text"], SECRET_WORDS,
        "parsed JSON"
    );
    assert_eq!(doc.tables["segments"].len(), 6);
    assert!(doc.tables["segments"].iter().all(|s| s["text"]
        .as_str()
        .is_some_and(|t| t.starts_with(SECRET_WORDS))));
    assert_eq!(doc.tables["responses"][0]["text"], SECRET_WORDS);
    assert_eq!(
        doc.tables["scores"][0]["evidence_json"]["quote"],
        SECRET_WORDS
    );
    assert_eq!(doc.tables["audit"].len(), 10, "5 events per interview");
    assert_eq!(doc.aggregates["inputs/scores"].len(), 1);
    assert_eq!(doc.aggregates["inputs/ratings"].len(), 1);
    assert_eq!(
        doc.review.len(),
        2,
        "the item and its decision: {:?}",
        doc.review
    );
    assert_eq!(doc.audit_log.len(), 10);
    let text = serde_json::to_string(&doc).expect("json");
    assert!(
        !text.contains(BOB) && !text.contains("iv-bob-1"),
        "nothing of another candidate"
    );
    let last = AuditLog::open(&d.cfg.governance.audit_dir)
        .expect("log")
        .read_all()
        .expect("read");
    let last = last.last().expect("event");
    assert_eq!(
        (last.step.as_str(), last.candidate_id.as_deref()),
        ("export", Some(ALICE))
    );

    // The CLI writes the same document; a wrong key fails clearly.
    let out_file = d.root.join("alice.json");
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["export", ALICE, "--out"])
        .arg(&out_file)
        .arg("--config")
        .arg(&d.config_file)
        .output()
        .expect("panelflow export");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cli: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("out")).expect("json");
    assert_eq!(
        cli["tables"]["interviews"].as_array().map(Vec::len),
        Some(2)
    );
    std::fs::write(
        d.root.join("pii.key"),
        format!("{}\n", PiiKeys::generate_base64()),
    )
    .expect("rekey");
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["export", ALICE, "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow export");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.contains("not in the key ring") && err.contains(keys.active_key_id()),
        "{err}"
    );
}

#[test]
fn erasure_leaves_no_trace_in_parquet_and_keeps_everyone_else() {
    let d = Deployment::new();
    populate(&d);
    let keys = d.keys();
    let roots = [d.parquet(), d.cfg.governance.aggregates_dir.clone()];
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let alice_needles = [
        ALICE,
        "iv-alice-1",
        "iv-alice-2",
        "corr-iv-alice-1",
        "corr-iv-alice-2",
    ];
    let before = search(&roots, &alice_needles);
    assert!(
        before.values().map(|(_, h)| h).sum::<i64>() > 10,
        "{before:?}"
    );
    let bob_before = search(&roots, &[BOB, "iv-bob-1"]);

    let sent: Mutex<Vec<Retraction>> = Mutex::new(Vec::new());
    let publish = |r: &[Retraction]| {
        sent.lock().expect("lock").extend_from_slice(r);
        Ok(r.len())
    };
    let report = erase::erase(&d.targets(), &keys, ALICE, "test", Some(&publish)).expect("erase");
    assert_eq!(report.interviews, 2);
    assert_eq!(report.rows_removed["interviews"], 2);
    assert_eq!(report.rows_removed["segments"], 6);
    assert_eq!(report.rows_removed["audit"], 10);
    assert_eq!(report.audit_lines_removed, 10);
    assert_eq!(report.review_files_removed, 2, "the item and its decision");
    assert_eq!((report.retractions, report.retractions_published), (2, 2));
    // References elsewhere (Carol's audit detail, in the table and the log)
    // are replaced, her record kept; replays of Alice's interviews refused.
    assert!(report.references_redacted >= 2, "{report:?}");
    assert_eq!(report.tombstones, 2);
    let replay = panelflow_connectors::store::replay::ReplayStore::open(&d.cfg.ingest.state_dir)
        .expect("replay store");
    assert!(replay.is_tombstoned("iv-alice-1") && replay.is_tombstoned("iv-alice-2"));
    assert!(!replay.is_tombstoned("iv-bob-1"));
    assert!(
        report.not_reached.iter().any(|w| w.contains("Kafka")),
        "{report:?}"
    );

    // DuckDB: nothing of Alice in any string column of any file.
    let after = search(&roots, &alice_needles);
    for (f, (_, hits)) in &after {
        assert_eq!(*hits, 0, "{f} still holds the erased candidate");
    }
    // Bob is untouched: the same rows everywhere.
    let bob_after = search(&roots, &[BOB, "iv-bob-1"]);
    let hits = |m: &BTreeMap<String, (i64, i64)>| m.values().map(|(_, h)| h).sum::<i64>();
    assert_eq!(hits(&bob_after), hits(&bob_before));
    let sink = ParquetSink::open_for(&d.cfg.sinks.parquet_dir, &d.cfg.governance).expect("sink");
    let rows = sink.read_interviews().expect("read");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .transcript
            .as_deref()
            .is_some_and(|t| t.starts_with(SECRET_WORDS)),
        "still decrypts"
    );
    assert_eq!(sink.read_segments().expect("segments").len(), 3);

    // The retractions cancel Alice's aggregate inputs exactly.
    for r in sent.lock().expect("lock").iter() {
        assert_eq!(r.key, ALICE);
        let (rec, diff) = decode(r.topic, r.message.to_string().as_bytes()).expect("decodes");
        assert_eq!(diff, -1);
        assert_eq!(rec.candidate().as_str(), ALICE);
    }

    // The audit log records the erasure with a salted hash, never the id.
    let log_text =
        std::fs::read_to_string(d.cfg.governance.audit_dir.join("audit.jsonl")).expect("log");
    assert!(!log_text.contains("alice"), "{log_text}");
    let events = AuditLog::open(&d.cfg.governance.audit_dir)
        .expect("log")
        .read_all()
        .expect("read");
    let erase_event = events.last().expect("event");
    assert_eq!(erase_event.step, "erase");
    assert_eq!(
        erase_event.detail["candidate_hash"],
        keys.erasure_hash(ALICE)
    );
    assert!(
        events.iter().any(|e| e.interview_id == "iv-bob-1"),
        "Bob's story stays"
    );
    let carol = events
        .iter()
        .find(|e| e.interview_id == "iv-carol-1")
        .expect("Carol's story stays");
    assert_eq!(carol.detail["lever"]["contact"], "[erased]");
    assert_eq!(carol.detail["lever"]["opportunity"], "[erased]");
    let audit_rows = sink.read_audit().expect("audit table");
    assert!(audit_rows
        .iter()
        .any(|e| e.step == "erase" && e.candidate_id.is_none()));
    assert!(!d.cfg.review.queue_dir.join("iv-alice-2.json").exists());
    assert!(d.cfg.review.queue_dir.join("iv-bob-1.json").exists());

    // Idempotent: a second erasure finds nothing and rewrites nothing.
    let again = erase::erase(&d.targets(), &keys, ALICE, "test", Some(&publish)).expect("again");
    assert_eq!(
        (again.total_rows(), again.files_rewritten, again.retractions),
        (0, 0, 0)
    );
    assert_eq!(again.candidate_hash, report.candidate_hash);

    // The CLI, with no broker reachable for retractions: still erases (nothing left) and says so.
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["erase", BOB, "--no-retract", "--json", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow erase");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&run.stdout).expect("json report");
    assert_eq!(out["rows_removed"]["interviews"], 1);
    assert!(!String::from_utf8_lossy(&run.stdout).contains(BOB));
    let left = search(&roots, &[BOB, "iv-bob-1"]);
    assert_eq!(hits(&left), 0, "{left:?}");
}

#[test]
fn explain_tells_the_story_of_one_interview() {
    let d = Deployment::new();
    populate(&d);
    let story =
        explain::story(&d.parquet(), &d.cfg.governance.audit_dir, "iv-bob-1").expect("story");
    let steps: Vec<&str> = story.events.iter().map(|e| e.step.as_str()).collect();
    // JSON lines and the audit table hold the same events: shown once each, in order.
    assert_eq!(
        steps,
        ["context", "media", "speech", "analysis", "lever_note"]
    );
    assert_eq!(story.rows.len(), 1);
    assert_eq!(story.rows[0].lever_note_id.as_deref(), Some("note-bob-1"));
    assert_eq!(story.lever_writes.len(), 1);

    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "iv-bob-1", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("`{s}` missing from:\n{text}"))
    };
    let steps_at = pos("Steps (5 audit events)");
    let step = |s: &str| {
        steps_at
            + text[steps_at..]
                .find(s)
                .unwrap_or_else(|| panic!("step {s} missing"))
    };
    assert!(
        step(" context ") < step(" media ")
            && step(" media ") < step(" speech ")
            && step(" speech ") < step(" lever_note ")
    );
    for s in [
        "moonshine-base-en",
        "0.1.4",
        "9f2c",
        "cfg-abc123",
        "media.example",
        "16000 ms",
        "pipeline:pilot@1",
        "note-bob-1",
    ] {
        pos(s);
    }
    assert!(
        !text.contains(SECRET_WORDS),
        "no transcript text in explain"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "iv-bob-1", "--json", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain --json");
    let v: Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(v["events"].as_array().map(Vec::len), Some(5));
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "no-such-interview", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain");
    assert!(!run.status.success());
}

#[test]
fn backfill_selects_stored_events_and_replays_them_at_the_configured_rate() {
    let d = Deployment::new();
    populate(&d);
    let sink = ParquetSink::open_for(&d.cfg.sinks.parquet_dir, &d.cfg.governance).expect("sink");
    // A newer version already did Bob's interview.
    let done = interview("iv-bob-1", BOB, "pilot@2", "2024-05-04T10:00:00Z");
    sink.write_batch(&[done], &[]).expect("v2 row");
    let since = at("2024-05-01T10:30:00Z");
    let sel = backfill::select_from(&sink, since, &["post-eng".into()], "pilot@2").expect("select");
    let ids: Vec<&str> = sel
        .replays
        .iter()
        .map(|r| r.interview_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["iv-alice-2"],
        "received since the date, not yet done by pilot@2"
    );
    assert_eq!(sel.already_done, 1);
    let ev = &sel.replays[0].event;
    assert_eq!(ev["unknown_fields"]["backfill"], true);
    assert_eq!(
        ev["media"][0]["url"], "https://media.example/iv-alice-2.mp4",
        "the original event, decrypted"
    );
    // Every interview since the start, at 300 per minute (one per 200 ms).
    let sel =
        backfill::select_from(&sink, at("2024-01-01T00:00:00Z"), &[], "pilot@3").expect("select");
    assert_eq!(sel.replays.len(), 3);
    let start = std::time::Instant::now();
    let mut times = Vec::new();
    let n = backfill::replay(&sel.replays, 300.0, 1, |_| {
        times.push(start.elapsed());
        Ok(())
    })
    .expect("replay");
    assert_eq!(n, 3);
    assert!(
        times[2] - times[0] >= Duration::from_millis(380),
        "{times:?}"
    );

    // Rediscovery: Bob's stored skills match a posting asking for Kubernetes.
    let found =
        backfill::rediscover(&sink, &["kubernetes".into(), "rust".into()], 1).expect("rediscover");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].opportunity_id, "opp-iv-bob-1");
    assert_eq!(found[0].matched, ["kubernetes"]);
}

/// Every message of a topic with its backfill header and timestamp (ms).
fn topic_messages(brokers: &str, topic: &str) -> Vec<(Value, Option<String>, i64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("governance-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for p in meta.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .expect("watermarks");
        expected += high - low;
        list.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&list).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (out.len() as i64) < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let header = m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == backfill::BACKFILL_HEADER)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
            let payload =
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null);
            out.push((payload, header, m.timestamp().to_millis().unwrap_or(0)));
        }
    }
    out
}

/// The whole way on the real stack: pipeline v1 on Tansu writes rows (with
/// their events), `panelflow backfill --config v2.toml` republishes them at
/// the configured rate, marked, and pipeline v2 (same consumer group, so it
/// sees only the replays) writes its rows beside v1's.
#[test]
fn backfill_replays_through_a_newer_version_on_tansu() {
    use std::sync::atomic::Ordering::Relaxed;
    const LONG: Duration = Duration::from_secs(600);
    let stack = support::Stack::start();
    let ids = ["sales-02", "swe-02"];
    for id in ids {
        assert_eq!(stack.post_interview(&support::interview(id)), 202);
    }
    let run = stack.run(&stack.cfg, 1);
    run.wait(LONG, |s| {
        s.transcribed.load(Relaxed) + s.failed.load(Relaxed) >= 2
    });
    run.stop();

    let mut v2 = stack.cfg.clone();
    v2.pipeline.version = "e2e-2".into();
    let dir = tempfile::tempdir().expect("tempdir");
    let newer = dir.path().join("newer.toml");
    std::fs::write(&newer, toml::to_string(&v2).expect("toml")).expect("write config");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args([
            "backfill",
            "--since",
            "2000-01-01",
            "--rate",
            "60",
            "--config",
        ])
        .arg(&newer)
        .output()
        .expect("panelflow backfill");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 interviews to replay"), "{stdout}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "60 per minute: the second waits a second"
    );

    let msgs = topic_messages(&stack.cfg.kafka.brokers, &stack.cfg.kafka.topic);
    let replays: Vec<&(Value, Option<String>, i64)> = msgs
        .iter()
        .filter(|(_, h, _)| h.as_deref() == Some("e2e-2"))
        .collect();
    assert_eq!(replays.len(), 2, "{msgs:?}");
    for (ev, _, _) in &replays {
        assert_eq!(ev["unknown_fields"]["backfill"], true);
        assert_eq!(ev["unknown_fields"]["backfill_from"], "e2e-1");
    }
    assert!(
        (replays[1].2 - replays[0].2).abs() >= 900,
        "rate limit: {:?}",
        (replays[0].2, replays[1].2)
    );

    let run = stack.run(&v2, 1);
    run.wait(LONG, |s| {
        s.transcribed.load(Relaxed) + s.failed.load(Relaxed) >= 2
    });
    run.stop();
    let rows = ParquetSink::open_for(&v2.sinks.parquet_dir, &v2.governance)
        .expect("sink")
        .read_interviews()
        .expect("rows");
    for id in ids {
        let mut versions: Vec<&str> = rows
            .iter()
            .filter(|r| r.interview_id == id)
            .map(|r| r.pipeline_version.as_str())
            .collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            ["e2e-1", "e2e-2"],
            "{id}: new rows beside the old"
        );
    }
    let v2_row = rows
        .iter()
        .find(|r| r.pipeline_version == "e2e-2")
        .expect("v2 row");
    assert_eq!(v2_row.outcome, "transcribed");
    assert!(v2_row
        .transcript
        .as_deref()
        .is_some_and(|t| !t.is_empty() && !t.starts_with("pfenc:")));

    // explain: the real pipeline's story of one interview, both versions.
    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "swe-02", "--config"])
        .arg(&newer)
        .output()
        .expect("panelflow explain");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for s in [
        " context ",
        " media ",
        " speech ",
        " analysis ",
        "e2e-1",
        "e2e-2",
        "moonshine",
    ] {
        assert!(text.contains(s), "`{s}` missing from:\n{text}");
    }
    assert!(
        !text.contains("Kubernetes"),
        "no transcript text in explain:\n{text}"
    );

    // Erasure on the same stack: the candidate's aggregates inputs become
    // retractions published to Tansu; their rows of both versions go.
    let cand = rows
        .iter()
        .find(|r| r.interview_id == "sales-02")
        .expect("sales-02")
        .candidate_id
        .clone();
    let agg_dir = dir.path().join("aggregates");
    let mut logs = InputLogs::new(&Layout::new(&agg_dir), 0, false);
    let decision: panelflow_core::wire::DecisionMessage = serde_json::from_value(
        json!({"candidate_id": cand, "posting_id": "post-sales", "decision": "advance",
                                      "source": "lever", "decided_at": "2024-05-02T12:00:00Z"}),
    )
    .expect("decision");
    logs.apply(
        1,
        vec![(
            InputRecord::Decision(decision.validate().expect("valid").0),
            1,
        )],
    );
    logs.flush().expect("flush");
    let topics = panelflow_connectors::kafka::TopicNames::default();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(panelflow_connectors::kafka::ensure_aggregate_topics(
            &v2.kafka, &topics,
        ))
        .expect("aggregates topics");
    let mut targets = EraseTargets::from_config(&v2, None);
    targets.aggregates_dir = agg_dir;
    let keys = PiiKeys::load(&v2.governance).expect("keys");
    let publish = |r: &[Retraction]| erase::publish_retractions(&v2.kafka, &topics, r);
    let report = erase::erase(&targets, &keys, &cand, "test", Some(&publish)).expect("erase");
    assert_eq!(report.rows_removed["interviews"], 2, "{report:?}");
    assert_eq!(
        (report.retractions, report.retractions_published),
        (1, 1),
        "{report:?}"
    );
    let sent = topic_messages(&v2.kafka.brokers, &topics.decisions);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0["diff"], -1);
    assert_eq!(sent[0].0["candidate_id"], cand.as_str());
    let left = ParquetSink::open_for(&v2.sinks.parquet_dir, &v2.governance)
        .expect("sink")
        .read_interviews()
        .expect("rows");
    assert!(
        left.iter().all(|r| r.interview_id == "swe-02") && left.len() == 2,
        "{left:?}"
    );
}

/// `panelflow backfill --rediscover`: past candidates whose stored skills
/// match a posting's are tagged `talent-pool:<posting>` in Lever (the
/// emulator), once however often it runs; others are left alone.
#[test]
fn rediscovery_tags_matching_past_candidates_in_lever() {
    let d = Deployment::new();
    populate(&d);
    let lever_dir = d.root.join("lever");
    std::fs::create_dir_all(&lever_dir).expect("lever dir");
    let opportunities: Vec<Value> = ["opp-iv-alice-1", "opp-iv-alice-2", "opp-iv-bob-1"]
        .iter()
        .map(|id| json!({"id": id, "name": "Candidate", "tags": ["referral"]}))
        .collect();
    std::fs::write(
        lever_dir.join("opportunities.json"),
        serde_json::to_vec(&opportunities).expect("json"),
    )
    .expect("seed");
    let lever = panelflow_devkit::emulator::spawn(panelflow_devkit::emulator::EmulatorConfig {
        api_key: "rediscovery-key".into(),
        ..panelflow_devkit::emulator::EmulatorConfig::new(&lever_dir)
    })
    .expect("emulator");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args([
                "backfill",
                "--rediscover",
                "post-eng",
                "--skills",
                "python,rust",
                "--config",
            ])
            .arg(&d.config_file)
            .env("PANELFLOW_LEVER_URL", lever.base_url())
            .env("PANELFLOW_LEVER_API_KEY", "rediscovery-key")
            .output()
            .expect("panelflow backfill");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let printed = run();
    assert!(
        printed.contains("2 past candidates match post-eng"),
        "{printed}"
    );
    run();
    let tags = |opp: &str| -> Vec<String> {
        lever
            .opportunity(opp)
            .and_then(|o| serde_json::from_value(o["tags"].clone()).ok())
            .unwrap_or_default()
    };
    for opp in ["opp-iv-alice-1", "opp-iv-alice-2"] {
        let t = tags(opp);
        assert_eq!(
            t.iter().filter(|t| *t == "talent-pool:post-eng").count(),
            1,
            "{opp}: {t:?}"
        );
        assert!(
            t.contains(&"referral".to_owned()),
            "existing tags kept: {t:?}"
        );
    }
    assert_eq!(tags("opp-iv-bob-1"), vec!["referral".to_owned()]);
    // Each tagging is in the audit log, for the candidate it concerns.
    let log = AuditLog::open(&d.cfg.governance.audit_dir).expect("audit");
    let tagged = log
        .read_all()
        .expect("read")
        .into_iter()
        .filter(|e| e.step == "lever_tags" && e.candidate_id.as_deref() == Some(ALICE))
        .count();
    assert_eq!(tagged, 4, "two opportunities, two runs");
}
