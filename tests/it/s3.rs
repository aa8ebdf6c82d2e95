//! Parquet on S3-compatible object storage: a real S3 server (`moto` in
//! server mode, from set-up) on 127.0.0.1, started and stopped by each
//! test; panelflow writes through `object_store`, DuckDB reads back through
//! its `httpfs` extension as an analyst would, and the operations (erase,
//! export, explain) work on the bucket.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use panelflow::aggregates::harness::TimedSink;
use panelflow::aggregates::inputs::InputLogs;
use panelflow::aggregates::records::{InputRecord, Validate};
use panelflow::config::PipelineConfig;
use panelflow_connectors::parquet::aggregates::{read_rows, Layout};
use panelflow_connectors::parquet::{AnalysisRows, InterviewRow, ParquetSink, SegmentRow};
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::crypto::PiiKeys;
use panelflow_core::wire::DecisionMessage;
use panelflow_devkit::s3::S3Server;
use serde_json::{json, Value};

use crate::support::{interview, Stack};

const LONG: Duration = Duration::from_secs(300);

const ALICE: &str = "cand-alice-s3";
const BOB: &str = "cand-bob-s3";
const SECRET: &str = "I rebuilt the billing service";

/// A moto server with one bucket, registered for this process's
/// `object_store` (no environment changed in-process).
fn server(bucket: &str) -> S3Server {
    let s3 = S3Server::start().expect("moto (run bash scripts/setup.sh)");
    s3.create_bucket(bucket).expect("bucket");
    s3.register(bucket).expect("register");
    s3
}

fn row(id: &str, cand: &str) -> InterviewRow {
    let mut r = InterviewRow::example(id, "pilot@1");
    r.candidate_id = cand.into();
    r.correlation_id = format!("corr-{id}");
    r.transcript = Some(format!("{SECRET} ({id})"));
    r
}

fn segments(r: &InterviewRow) -> Vec<SegmentRow> {
    (0..3)
        .map(|i| {
            let mut s = SegmentRow::example(&r.interview_id, &r.pipeline_version, 0, i);
            s.correlation_id = r.correlation_id.clone();
            s.text = format!("{SECRET} {i}");
            s
        })
        .collect()
}

fn count(s3: &S3Server, sql: &str) -> i64 {
    s3.duckdb(sql).expect("duckdb")[0]["n"]
        .as_i64()
        .unwrap_or(-1)
}

#[test]
fn the_tables_land_on_s3_once_and_duckdb_reads_them() {
    let bucket = "pf-sink";
    let s3 = server(bucket);
    let root = PathBuf::from(format!("s3://{bucket}/warehouse/parquet"));
    let keys = Some(Arc::new(
        PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "test").expect("key"),
    ));
    // Two processes writing one dataset, each with its own sink.
    let first = ParquetSink::open_with_keys(&root, keys.clone()).expect("open");
    let second = ParquetSink::open_with_keys(&root, keys).expect("open");
    let a = row("iv-a", ALICE);
    let b = row("iv-b", BOB);
    let report = first
        .write_batch_with(
            &[a.clone(), b.clone()],
            &[segments(&a), segments(&b)].concat(),
            &AnalysisRows::default(),
        )
        .expect("write");
    assert_eq!((report.interviews_written, report.segments_written), (2, 6));
    assert!(report.files.iter().all(|f| f.starts_with(&root)));
    // The other process, and a replay, write nothing.
    let again = second
        .write_batch(&[a.clone(), b.clone()], &segments(&a))
        .expect("replay");
    assert_eq!(
        (again.interviews_written, again.interviews_skipped_existing),
        (0, 2)
    );
    assert!(second.contains("iv-a", "pilot@1"));
    assert_eq!(second.read_interviews().expect("read").len(), 2);
    assert_eq!(second.read_segments().expect("read").len(), 6);
    assert_eq!(
        second.existing_keys().expect("keys").len(),
        2,
        "the key index is not a table"
    );

    // DuckDB through httpfs: the rows, the Hive partition, the PII sealed.
    let sql = format!(
        "select count(*) as n, count(distinct date) as dates, \
         count(*) filter (where starts_with(transcript, 'pfenc:v1:')) as sealed \
         from read_parquet('{}', hive_partitioning=true)",
        first.interviews_glob()
    );
    let got = s3.duckdb(&sql).expect("duckdb");
    assert_eq!(got[0]["n"], 2, "{got:?}");
    assert_eq!(got[0]["sealed"], 2);
    assert_eq!(
        count(
            &s3,
            &format!(
                "select count(*) as n from read_parquet('{}')",
                first.segments_glob()
            )
        ),
        6
    );

    // The aggregates' files on the same store, read back.
    let layout = Layout::new(&PathBuf::from(format!(
        "s3://{bucket}/warehouse/aggregates"
    )));
    let mut logs = InputLogs::new(&layout, 0, true);
    logs.apply(7, vec![(InputRecord::Decision(decision(ALICE)), 1)]);
    logs.flush().expect("flush");
    let rows = read_rows(&layout.input_dir("decisions")).expect("read");
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(
        count(
            &s3,
            &format!(
                "select count(*) as n from read_parquet('{}')",
                layout.input_glob("decisions")
            )
        ),
        1
    );
    assert!(s3.log_tail().contains("PUT"), "requests reached the server");
}

fn decision(cand: &str) -> panelflow::aggregates::records::DecisionRecord {
    let m: DecisionMessage = serde_json::from_value(json!({
        "candidate_id": cand, "posting_id": "post-1", "decision": "advance", "source": "lever",
        "decided_at": "2024-05-02T12:00:00Z"
    }))
    .expect("decision");
    let (d, _) = m.validate().expect("valid");
    d
}

/// A deployment whose Parquet and aggregates live in a bucket; audit log,
/// review queue and key file stay local.
fn s3_deployment(dir: &Path, bucket: &str) -> (PipelineConfig, PathBuf) {
    let key_file = dir.join("pii.key");
    std::fs::write(&key_file, format!("{}\n", PiiKeys::generate_base64())).expect("key");
    let toml = format!(
        "[sinks]\nparquet_dir = \"s3://{bucket}/prod/parquet\"\n[review]\nqueue_dir = \"{r}/review\"\n\
         [governance]\naudit_dir = \"{r}/audit\"\naggregates_dir = \"s3://{bucket}/prod/aggregates\"\n\
         key_file = \"{r}/pii.key\"\nkey_env = \"PANELFLOW_S3_TEST_NO_SUCH_KEY\"\n\
         notice = \"Analysed by AI; advisory only.\"\n",
        r = dir.display()
    );
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, &toml).expect("config");
    (PipelineConfig::from_toml(&toml).expect("parse"), file)
}

/// `panelflow` with the environment a deployment gives it: credentials and
/// the endpoint of the S3 server.
fn panelflow(s3: &S3Server) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_panelflow"));
    for (k, v) in s3.env() {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn erase_export_and_explain_work_on_s3() {
    let bucket = "pf-governance";
    let s3 = server(bucket);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, config_file) = s3_deployment(dir.path(), bucket);
    let sink = ParquetSink::open_for(&cfg.sinks.parquet_dir, &cfg.governance).expect("sink");
    let (a, b) = (row("iv-alice", ALICE), row("iv-bob", BOB));
    sink.write_batch(
        &[a.clone(), b.clone()],
        &[segments(&a), segments(&b)].concat(),
    )
    .expect("write");
    let events: Vec<AuditEvent> = [&a, &b]
        .iter()
        .map(|r| {
            AuditEvent::step(&r.correlation_id, &r.interview_id, "speech", "ok")
                .for_candidate(r.candidate_id.clone())
        })
        .collect();
    panelflow_connectors::store::audit::AuditLog::open(&cfg.governance.audit_dir)
        .expect("log")
        .append(&events)
        .expect("append");
    sink.write_audit(&events).expect("audit table");
    let mut logs = InputLogs::new(&Layout::new(&cfg.governance.aggregates_dir), 0, true);
    logs.apply(
        1,
        vec![
            (InputRecord::Decision(decision(ALICE)), 1),
            (InputRecord::Decision(decision(BOB)), 1),
        ],
    );
    logs.flush().expect("flush");

    // explain reads the interviews table and the audit table in the bucket.
    let out = panelflow(&s3)
        .args(["explain", "iv-alice", "--json", "--config"])
        .arg(&config_file)
        .output()
        .expect("panelflow explain");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let story: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(story["rows"].as_array().map(Vec::len), Some(1), "{story}");

    // export: the candidate's rows from every table in the bucket, decrypted.
    let export_file = dir.path().join("alice.json");
    let out = panelflow(&s3)
        .args(["export", ALICE, "--out"])
        .arg(&export_file)
        .arg("--config")
        .arg(&config_file)
        .output()
        .expect("panelflow export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&export_file).expect("out")).expect("json");
    assert_eq!(
        doc["tables"]["interviews"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(doc["tables"]["segments"].as_array().map(Vec::len), Some(3));
    assert!(doc["tables"]["interviews"][0]["transcript"]
        .as_str()
        .is_some_and(|t| t.starts_with(SECRET)));
    assert_eq!(
        doc["aggregates"]["inputs/decisions"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(!doc.to_string().contains(BOB));

    // erase: rewrites the bucket's files without Alice; Bob stays.
    let out = panelflow(&s3)
        .args(["erase", ALICE, "--no-retract", "--json", "--config"])
        .arg(&config_file)
        .output()
        .expect("panelflow erase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rows_removed"]["interviews"], 1, "{report}");
    assert_eq!(report["rows_removed"]["segments"], 3, "{report}");
    assert_eq!(report["rows_removed"]["inputs/decisions"], 1, "{report}");
    let parquet = cfg.sinks.parquet_dir.display().to_string();
    let agg = cfg.governance.aggregates_dir.display().to_string();
    let left = s3
        .duckdb(&format!(
            "select candidate_id from read_parquet('{parquet}/interviews/**/*.parquet') \
             union all select candidate_id from read_parquet('{agg}/inputs/decisions/*.parquet')"
        ))
        .expect("duckdb");
    let left: BTreeSet<&str> = left
        .iter()
        .filter_map(|r| r["candidate_id"].as_str())
        .collect();
    assert_eq!(left, BTreeSet::from([BOB]));
    // A replay of Alice's interview does not bring her back: her key stays claimed.
    assert_eq!(
        sink.write_batch(std::slice::from_ref(&a), &[])
            .expect("replay")
            .interviews_written,
        0
    );
}

#[test]
fn the_pipeline_lands_on_s3_and_a_replay_writes_nothing() {
    let bucket = "pf-pipeline";
    let s3 = server(bucket);
    let mut stack = Stack::start();
    stack.cfg.sinks.parquet_dir = PathBuf::from(format!("s3://{bucket}/pipeline/parquet"));
    let it = interview("data-02");
    assert_eq!(stack.post_interview(&it), 202);
    let run = stack.run(&stack.cfg, 2);
    run.wait(LONG, |_| run.processed() >= 1);
    run.stop();
    let glob = format!(
        "read_parquet('{}/interviews/**/*.parquet', hive_partitioning=true)",
        stack.cfg.sinks.parquet_dir.display()
    );
    let rows = s3
        .duckdb(&format!("select interview_id, outcome from {glob}"))
        .expect("duckdb");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "transcribed");
    assert!(
        count(
            &s3,
            &format!(
                "select count(*) as n from read_parquet('{}/segments/**/*.parquet')",
                stack.cfg.sinks.parquet_dir.display()
            )
        ) > 0
    );

    // Another consumer group replays the topic (a second runner, or lost
    // offsets): the key index in the bucket says the interview is done.
    let mut replay = stack.cfg.clone();
    replay.kafka.group_id = "panelflow-s3-replay".into();
    let run = stack.run(&replay, 1);
    run.wait(LONG, |s| {
        s.duplicates.load(std::sync::atomic::Ordering::Relaxed) >= 1
    });
    run.stop();
    assert_eq!(count(&s3, &format!("select count(*) as n from {glob}")), 1);
}
