//! The Parquet dataset read back by a real analyst's client: DuckDB (the
//! `duckdb` package in the set-up virtualenv).
//!
//! Writes a few batches (with a replayed duplicate, a new pipeline version of
//! the same interview, a failed interview and a reopened sink), then asks DuckDB
//! for the rows, the keys, the column types, the `date` partition and the
//! segments joined to their interviews.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use panelflow_connectors::parquet::{InterviewRow, ParquetSink, SegmentRow};
use serde_json::Value;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn interview(id: &str, version: &str, completed: &str) -> InterviewRow {
    let mut row = InterviewRow::example(id, version);
    row.analysis_completion_time = at(completed);
    row.received_at = row.analysis_completion_time - chrono::Duration::seconds(42);
    row.transcript = Some(format!("transcript of {id} by {version}"));
    row
}

fn segs(id: &str, version: &str, media: i32, n: i32) -> Vec<SegmentRow> {
    (0..n)
        .map(|i| SegmentRow::example(id, version, media, i))
        .collect()
}

/// Runs the DuckDB queries over `root`; returns their results as JSON.
fn duckdb(root: &Path) -> Value {
    let python = panelflow_devkit::paths::venv_python();
    assert!(
        python.exists(),
        "DuckDB is needed for this test but the set-up virtualenv's Python is missing at {}: \
         run the project's set-up first (`scripts/setup.sh`, the first command in README.md), or point \
         PANELFLOW_HOME at a cache folder that has it",
        python.display()
    );
    const SCRIPT: &str = r#"
import json, sys
import duckdb
root = sys.argv[1].replace("'", "''")
iv = f"read_parquet('{root}/interviews/**/*.parquet', hive_partitioning=true)"
sg = f"read_parquet('{root}/segments/**/*.parquet', hive_partitioning=true)"
def rows(sql):
    rel = duckdb.sql(sql)
    cols = rel.columns
    return [dict(zip(cols, r)) for r in rel.fetchall()]
out = {
  "duckdb_version": duckdb.__version__,
  "count": rows(f"select count(*) as n from {iv}")[0]["n"],
  "keys": rows(f"select interview_id, pipeline_version, count(*) as n from {iv} group by all order by all"),
  "describe_interviews": rows(f"describe select * from {iv}"),
  "describe_segments": rows(f"describe select * from {sg}"),
  "interviews": rows(f"""select interview_id, pipeline_version, outcome, failure_reason,
      transcript, words, duration_s, date::varchar as date,
      epoch_us(analysis_completion_time) as completed_us, epoch_us(received_at) as received_us
      from {iv} order by all"""),
  "segments_per_key": rows(f"""select i.interview_id, i.pipeline_version, count(s.text) as n,
      min(s.date)::varchar as seg_date, min(i.date)::varchar as iv_date
      from {iv} i left join {sg} s using (interview_id, pipeline_version)
      group by all order by all"""),
  "orphan_segments": rows(f"""select count(*) as n from {sg} s anti join {iv} i
      using (interview_id, pipeline_version)""")[0]["n"],
  "duplicate_segments": rows(f"""select count(*) as n from (select interview_id, pipeline_version,
      media_index, segment_index from {sg} group by all having count(*) > 1)""")[0]["n"],
  "files": rows(f"select count(*) as n from glob('{root}/**/*.parquet')")[0]["n"],
}
print(json.dumps(out, default=str))
"#;
    let output = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "DuckDB query failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("DuckDB output is not JSON ({e}):\n{stdout}\n{stderr}"))
}

/// `column → type` as DuckDB's DESCRIBE reports them.
fn described(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .expect("describe rows")
        .iter()
        .map(|r| {
            (
                r["column_name"].as_str().expect("column_name").to_string(),
                r["column_type"].as_str().expect("column_type").to_string(),
            )
        })
        .collect()
}

/// `column → duckdb_type` from the contract in `schemas/parquet/FILE`, plus the partition.
fn contract(file: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/parquet")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("contract JSON");
    doc["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .chain(doc["partitioning"].as_array().expect("partitioning"))
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_string(),
                c["duckdb_type"].as_str().expect("duckdb_type").to_string(),
            )
        })
        .collect()
}

#[test]
fn duckdb_reads_the_dataset_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("dataset with space");

    let a = interview("iv-a", "pilot@1", "2024-05-01T23:59:59.999999Z");
    let b = InterviewRow {
        media_count: 2,
        ..interview("iv-b", "pilot@1", "2024-05-02T00:00:00Z")
    };
    let failed = InterviewRow {
        outcome: panelflow_core::outcome::Outcome::Failed,
        failure_reason: Some("media_fetch: HTTP 404".into()),
        duration_s: None,
        words: None,
        words_per_minute: None,
        language: None,
        transcript: None,
        summary_json: None,
        media_count: 0,
        ..interview("iv-c", "pilot@1", "2024-05-02T09:30:00Z")
    };
    let a_v2 = interview("iv-a", "pilot@2", "2024-05-03T12:00:00Z");

    let mut b_segments = segs("iv-b", "pilot@1", 0, 2);
    b_segments.extend(segs("iv-b", "pilot@1", 1, 3));
    {
        let sink = ParquetSink::open(&root).expect("open");
        // Batch 1: two interviews over two dates, one failed.
        let mut s1 = segs("iv-a", "pilot@1", 0, 2);
        s1.extend(b_segments.clone());
        let r = sink
            .write_batch(&[a.clone(), b.clone(), failed.clone()], &s1)
            .expect("batch 1");
        assert_eq!((r.interviews_written, r.segments_written), (3, 7));
        // Batch 2: a replayed duplicate of `a` (twice) and a new pipeline version.
        let mut s2 = segs("iv-a", "pilot@1", 0, 2);
        s2.extend(segs("iv-a", "pilot@2", 0, 4));
        let r = sink
            .write_batch(&[a.clone(), a_v2.clone(), a.clone()], &s2)
            .expect("batch 2");
        assert_eq!((r.interviews_written, r.segments_written), (1, 4));
        assert_eq!(r.interviews_skipped_existing, 2);
    }
    {
        // Batch 3, after a "restart": replays of `b` and the failed one.
        let sink = ParquetSink::open(&root).expect("reopen");
        let r = sink
            .write_batch(&[b.clone(), failed.clone()], &b_segments)
            .expect("batch 3");
        assert_eq!((r.interviews_written, r.segments_written), (0, 0));
    }
    // An in-progress temporary file, as a crashed writer leaves it.
    std::fs::write(
        root.join("interviews/date=2024-05-02/.part-crashed.parquet.tmp"),
        b"half a parquet file",
    )
    .expect("write temp file");

    let out = duckdb(&root);
    eprintln!("DuckDB {}", out["duckdb_version"]);

    // Exactly one row per key.
    assert_eq!(out["count"], 4, "{out:#}");
    let keys: Vec<(String, String, i64)> = out["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|r| {
            (
                r["interview_id"].as_str().expect("id").to_string(),
                r["pipeline_version"].as_str().expect("version").to_string(),
                r["n"].as_i64().expect("n"),
            )
        })
        .collect();
    let expect_keys: Vec<(String, String, i64)> = [
        ("iv-a", "pilot@1"),
        ("iv-a", "pilot@2"),
        ("iv-b", "pilot@1"),
        ("iv-c", "pilot@1"),
    ]
    .iter()
    .map(|(i, v)| (i.to_string(), v.to_string(), 1))
    .collect();
    assert_eq!(keys, expect_keys);

    // Column names and types as DuckDB sees them, with the `date` partition.
    let iv_types = described(&out["describe_interviews"]);
    assert_eq!(iv_types, contract("interviews.json"));
    assert_eq!(iv_types.get("date").map(String::as_str), Some("DATE"));
    assert_eq!(
        iv_types["analysis_completion_time"],
        "TIMESTAMP WITH TIME ZONE"
    );
    let sg_types = described(&out["describe_segments"]);
    assert_eq!(sg_types, contract("segments.json"));

    // Values: the failed row's reason, nulls, timestamps to the microsecond, partitions.
    let rows = out["interviews"].as_array().expect("interviews");
    let by_key = |id: &str, v: &str| {
        rows.iter()
            .find(|r| r["interview_id"] == id && r["pipeline_version"] == v)
            .unwrap_or_else(|| panic!("no row ({id}, {v}) in {rows:?}"))
    };
    let c = by_key("iv-c", "pilot@1");
    assert_eq!(c["outcome"], "failed");
    assert_eq!(c["failure_reason"], "media_fetch: HTTP 404");
    assert!(c["transcript"].is_null() && c["words"].is_null() && c["duration_s"].is_null());
    assert_eq!(c["date"], "2024-05-02");
    let ra = by_key("iv-a", "pilot@1");
    assert_eq!(ra["outcome"], "transcribed");
    assert!(ra["failure_reason"].is_null());
    // PII at rest: DuckDB sees the sealed value; the key ring opens it.
    let sealed = ra["transcript"].as_str().expect("transcript");
    assert!(
        sealed.starts_with("pfenc:v1:") && !sealed.contains("iv-a by"),
        "{sealed}"
    );
    let mut open = ra.as_object().expect("row").clone();
    let keys =
        panelflow_connectors::store::crypto::PiiKeys::load(&Default::default()).expect("keys");
    panelflow_connectors::store::crypto::decrypt_json_row(&keys, "interviews", &mut open)
        .expect("decrypt");
    assert_eq!(open["transcript"], "transcript of iv-a by pilot@1");
    assert_eq!(
        ra["date"], "2024-05-01",
        "partition = UTC date of analysis_completion_time"
    );
    assert_eq!(
        ra["completed_us"],
        a.analysis_completion_time.timestamp_micros()
    );
    assert_eq!(ra["received_us"], a.received_at.timestamp_micros());
    assert_eq!(by_key("iv-b", "pilot@1")["date"], "2024-05-02");
    assert_eq!(by_key("iv-a", "pilot@2")["date"], "2024-05-03");

    // Segments joined to interviews by key, in the interview's partition.
    let per_key: Vec<(String, String, i64)> = out["segments_per_key"]
        .as_array()
        .expect("segments_per_key")
        .iter()
        .map(|r| {
            if r["n"].as_i64() != Some(0) {
                assert_eq!(r["seg_date"], r["iv_date"], "{r}");
            }
            (
                r["interview_id"].as_str().expect("id").to_string(),
                r["pipeline_version"].as_str().expect("version").to_string(),
                r["n"].as_i64().expect("n"),
            )
        })
        .collect();
    let expect: Vec<(String, String, i64)> = [
        ("iv-a", "pilot@1", 2),
        ("iv-a", "pilot@2", 4),
        ("iv-b", "pilot@1", 5),
        ("iv-c", "pilot@1", 0),
    ]
    .iter()
    .map(|(i, v, n)| (i.to_string(), v.to_string(), *n))
    .collect();
    assert_eq!(per_key, expect);
    assert_eq!(out["orphan_segments"], 0);
    assert_eq!(out["duplicate_segments"], 0);
    // Batch 1 spans two dates (2 files per table), batch 2 one date; batch 3 wrote none.
    assert_eq!(out["files"], 6, "{out:#}");
}
