//! The sink's behaviour: round trip through the parquet crate's reader,
//! idempotence, temporary files, crashes and concurrent writers, PII
//! encryption and audit events.

use super::fixtures::{at, failed, interview, iv_key, seg_key, segs, sorted};
use crate::parquet::keys::{Claim, Claimed};
use crate::parquet::layout::KEY_COLUMNS;
use crate::parquet::read::{committed_files, read_file};
use crate::parquet::storage::{TEMP_PREFIX, TEMP_SUFFIX};
use crate::parquet::*;
use crate::store::crypto::PiiKeys;
use chrono::{DateTime, Utc};
use parquet::basic::Compression;
use parquet::basic::LogicalType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[test]
fn round_trip_through_the_parquet_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let a = interview("a", "v1", "2024-05-01T23:59:59.123456Z");
    let b = InterviewRow {
        lever_note_id: Some("note-7".into()),
        summary_json: Some(r#"{"words":3,"text":"naïve “quotes” ✓"}"#.into()),
        transcript: Some("naïve “quotes” ✓".into()),
        ..interview("b", "v1", "2024-05-02T00:00:00Z")
    };
    let c = failed("c", "v1", "2024-05-02T08:00:00Z", "media_fetch: HTTP 404");
    let mut segments = segs("a", "v1", 0, 2);
    segments.extend(segs("b", "v1", 1, 3));
    segments.extend(segs("b", "v1", 0, 1));
    segments[0].question_id = None;

    let report = sink
        .write_batch(&[a.clone(), b.clone(), c.clone()], &segments)
        .expect("write");
    assert_eq!(report.interviews_written, 3);
    assert_eq!(report.segments_written, 6);
    // Two dates: one segments file and one interviews file each.
    assert_eq!(report.files.len(), 4);
    for f in &report.files {
        let rel = f
            .strip_prefix(dir.path())
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        assert!(
            rel.starts_with("segments/date=2024-05-0")
                || rel.starts_with("interviews/date=2024-05-0"),
            "{rel}"
        );
        assert!(rel.ends_with(".parquet"), "{rel}");
    }
    // Segments go before interviews (the commit marker).
    assert!(report.files[0].starts_with(dir.path().join(SEGMENTS_DIR)));
    assert!(report.files[3].starts_with(dir.path().join(INTERVIEWS_DIR)));
    assert!(dir.path().join("interviews/date=2024-05-01").is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As readable as an ordinary new file under the current umask (not 0600).
        let reference = dir.path().join("reference");
        fs::write(&reference, b"").expect("write reference file");
        let want = fs::metadata(&reference).expect("stat").permissions().mode() & 0o444;
        let mode = fs::metadata(&report.files[0])
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o444, want, "file mode {mode:o}");
    }
    assert!(dir.path().join("segments/date=2024-05-02").is_dir());

    let back = sink.read_interviews().expect("read interviews");
    assert_eq!(sorted(&back, iv_key), sorted(&[a, b, c], iv_key));
    let back = sink.read_segments().expect("read segments");
    assert_eq!(sorted(&back, seg_key), sorted(&segments, seg_key));

    // The files themselves: snappy, UTC microsecond timestamps, our metadata.
    for f in &report.files {
        let reader = SerializedFileReader::new(File::open(f).expect("open file")).expect("reader");
        let meta = reader.metadata();
        let kv = meta
            .file_metadata()
            .key_value_metadata()
            .expect("key-value metadata");
        assert!(kv.iter().any(|k| k.key == "panelflow.schema_version"));
        for rg in meta.row_groups() {
            for col in rg.columns() {
                assert_eq!(col.compression(), Compression::SNAPPY, "{}", f.display());
            }
        }
        let schema = meta.file_metadata().schema_descr();
        for col in schema.columns() {
            if col.name().ends_with("_at") || col.name().ends_with("_time") {
                assert_eq!(
                    col.logical_type_ref(),
                    Some(&LogicalType::timestamp(
                        true,
                        parquet::basic::TimeUnit::MICROS
                    ))
                );
            }
        }
    }
}

#[test]
fn rewriting_the_same_rows_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let a = interview("a", "v1", "2024-05-01T10:00:00Z");
    let a_v2 = interview("a", "v2", "2024-05-01T10:00:00Z");
    let b = interview("b", "v1", "2024-05-01T11:00:00Z");
    let mut segments = segs("a", "v1", 0, 2);
    // A duplicate within the batch, with its segments delivered twice.
    segments.extend(segs("a", "v1", 0, 2));
    let first = sink
        .write_batch(&[a.clone(), a.clone(), b.clone()], &segments)
        .expect("write");
    assert_eq!(first.interviews_written, 2);
    assert_eq!(first.interviews_skipped_duplicate, 1);
    assert_eq!(first.segments_written, 2);
    assert_eq!(first.segments_skipped, 2);

    // A replay in the same process.
    let again = sink
        .write_batch(&[a.clone(), b.clone()], &segs("a", "v1", 0, 2))
        .expect("replay");
    assert_eq!(again.interviews_written, 0);
    assert_eq!(again.segments_written, 0);
    assert_eq!(again.interviews_skipped_existing, 2);
    assert_eq!(again.segments_skipped, 2);
    assert!(again.files.is_empty());

    // A replay in a new process (the key index tells it); a new pipeline
    // version of the same interview is a new key.
    drop(sink);
    let sink = ParquetSink::open(dir.path()).expect("reopen");
    assert_eq!(sink.known_key_count(), 0, "nothing is loaded at open");
    assert!(sink.contains("a", "v1"));
    assert!(!sink.contains("a", "v2"));
    let third = sink
        .write_batch(&[a.clone(), a_v2.clone()], &segs("a", "v2", 0, 1))
        .expect("write");
    assert_eq!(third.interviews_written, 1);
    assert_eq!(third.interviews_skipped_existing, 1);
    assert_eq!(third.segments_written, 1);

    let keys = sink.existing_keys().expect("keys");
    let expect: HashSet<Key> = [a.key(), b.key(), a_v2.key()].into_iter().collect();
    assert_eq!(keys, expect);
    assert_eq!(sink.read_interviews().expect("read").len(), 3);
    assert_eq!(sink.read_segments().expect("read").len(), 3);
}

#[test]
fn temporary_and_hidden_files_are_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    sink.write_batch(&[interview("a", "v1", "2024-05-01T10:00:00Z")], &[])
        .expect("write");
    let part = dir.path().join("interviews/date=2024-05-01");
    // An in-progress temp file (garbage: a reader would fail on it), a hidden
    // file and a hidden folder, as a crashed writer or other tools leave them.
    let fresh_tmp = part.join(format!("{TEMP_PREFIX}fresh{TEMP_SUFFIX}"));
    let stale_tmp = part.join(format!("{TEMP_PREFIX}stale{TEMP_SUFFIX}"));
    fs::write(&fresh_tmp, b"not parquet").expect("write tmp");
    fs::write(&stale_tmp, b"not parquet").expect("write tmp");
    fs::write(part.join("_SUCCESS.parquet"), b"not parquet").expect("write hidden");
    fs::create_dir_all(dir.path().join("interviews/.staging")).expect("mkdir");
    fs::write(dir.path().join("interviews/.staging/x.parquet"), b"nope").expect("write");
    let old = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
    File::options()
        .write(true)
        .open(&stale_tmp)
        .and_then(|f| f.set_modified(old))
        .expect("age the stale temp file");

    let keys = sink.existing_keys().expect("keys skip temp files");
    assert_eq!(keys.len(), 1);
    assert_eq!(
        sink.read_interviews().expect("read skips temp files").len(),
        1
    );

    // Reopening removes only the stale temp file: a fresh one may belong to a
    // writer still running.
    let sink = ParquetSink::open(dir.path()).expect("reopen");
    assert!(sink.contains("a", "v1"));
    assert!(!stale_tmp.exists(), "stale temp file removed at open");
    assert!(fresh_tmp.exists(), "fresh temp file kept");
}

#[test]
fn a_failed_write_leaves_no_visible_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    // A segment whose interview is not in the batch refuses the whole batch.
    let err = sink
        .write_batch(
            &[interview("a", "v1", "2024-05-01T10:00:00Z")],
            &segs("zzz", "v1", 0, 1),
        )
        .expect_err("orphan segment refused");
    assert!(
        matches!(err, ParquetSinkError::InvalidRow { ref interview_id, .. } if interview_id == "zzz")
    );
    assert!(err.to_string().contains("no interviews row"), "{err}");
    let err = sink
        .write_batch(&[interview("", "v1", "2024-05-01T10:00:00Z")], &[])
        .expect_err("empty id refused");
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(committed_files(&dir.path().join(INTERVIEWS_DIR))
        .expect("list")
        .is_empty());
    assert!(committed_files(&dir.path().join(SEGMENTS_DIR))
        .expect("list")
        .is_empty());
    assert_eq!(sink.known_key_count(), 0);
}

/// What a writer that dies between its segments file and its interviews
/// file leaves: its claim and the segments file.
fn crashed_write(root: &Path, row: &InterviewRow, segments: &[SegmentRow], age: Duration) {
    let sink = ParquetSink::open(root).expect("open");
    let claim = Claim {
        date: row.partition_date(),
        part: "part-crashed.parquet".into(),
        writer: "a writer that died".into(),
        at_ms: chrono::Utc::now().timestamp_millis() - age.as_millis() as i64,
        failed: Some(false),
    };
    let claimed = sink
        .claim_at(
            &sink.claim_path(&row.key()),
            &row.key(),
            &claim,
            &mut WriteReport::default(),
        )
        .expect("claim");
    assert!(matches!(claimed, Claimed::Yes));
    let refs: Vec<&SegmentRow> = segments.iter().collect();
    let batch = rows::segments_batch(&refs).expect("batch");
    sink.write_file(SEGMENTS_DIR, &claim.date, &claim.part, &batch)
        .expect("write");
}

#[test]
fn a_crash_between_segments_and_interviews_is_completed_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = interview("a", "v1", "2024-05-01T10:00:00Z");
    let segments = segs("a", "v1", 0, 3);
    crashed_write(
        dir.path(),
        &a,
        &segments,
        CLAIM_LEASE + Duration::from_secs(1),
    );
    let sink = ParquetSink::open(dir.path()).expect("reopen");
    assert!(
        !sink.contains("a", "v1"),
        "segments alone do not commit a key"
    );
    assert_eq!(sink.read_segments().expect("read").len(), 3);
    let report = sink.write_batch(&[a], &segments).expect("replay");
    assert_eq!(report.interviews_written, 1);
    assert_eq!(report.claims_taken_over, 1);
    // The dead writer's segments went, the replay's are the only ones.
    assert_eq!(report.segments_written, 3);
    assert_eq!(sink.read_segments().expect("read").len(), 3);
    assert_eq!(sink.read_interviews().expect("read").len(), 1);
}

#[test]
fn a_fresh_claim_of_another_writer_makes_the_batch_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = interview("a", "v1", "2024-05-01T10:00:00Z");
    crashed_write(dir.path(), &a, &segs("a", "v1", 0, 1), Duration::ZERO);
    let sink = ParquetSink::open(dir.path()).expect("open");
    let b = interview("b", "v1", "2024-05-01T10:00:00Z");
    let err = sink
        .write_batch(&[b.clone(), a.clone()], &[])
        .expect_err("a key in flight elsewhere");
    assert!(
        matches!(err, ParquetSinkError::KeyBusy { ref interview_id, .. } if interview_id == "a"),
        "{err}"
    );
    assert!(
        sink.read_interviews().expect("read").is_empty(),
        "nothing committed"
    );
    // Once the other writer's lease has run out, the retry takes over; the
    // key this sink claimed on the failed try is its own to take back.
    let claim_path = sink.claim_path(&a.key());
    let mut claim: Claim =
        serde_json::from_slice(&storage::read(&claim_path).expect("claim")).expect("json");
    claim.at_ms -= CLAIM_LEASE.as_millis() as i64 + 1000;
    storage::put(&claim_path, serde_json::to_vec(&claim).expect("json"), true).expect("age");
    let report = sink.write_batch(&[b, a], &[]).expect("retry");
    assert_eq!(report.interviews_written, 2);
    assert_eq!(report.claims_taken_over, 1);
}

#[test]
fn two_processes_on_one_root_write_a_key_once() {
    // The duplicate rows of the issue: each process loaded the keys at open
    // and did not see the other's later writes.
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ParquetSink::open(dir.path()).expect("first process");
    let second = ParquetSink::open(dir.path()).expect("second process");
    let a = interview("a", "v1", "2024-05-01T10:00:00Z");
    let report = first
        .write_batch(std::slice::from_ref(&a), &segs("a", "v1", 0, 2))
        .expect("first");
    assert_eq!(report.interviews_written, 1);
    let report = second
        .write_batch(std::slice::from_ref(&a), &segs("a", "v1", 0, 2))
        .expect("second");
    assert_eq!(report.interviews_written, 0);
    assert_eq!(report.interviews_skipped_existing, 1);
    assert_eq!(report.segments_skipped, 2);
    assert_eq!(second.read_interviews().expect("read").len(), 1);
    assert_eq!(second.read_segments().expect("read").len(), 2);
    // The index is hidden from readers.
    assert!(committed_files(dir.path())
        .expect("list")
        .iter()
        .all(|p| !p.to_string_lossy().contains(KEYS_DIR)));
}

#[test]
fn recent_keys_read_only_the_last_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let today = Utc::now().to_rfc3339();
    sink.write_batch(
        &[
            interview("old", "v1", "2024-05-01T10:00:00Z"),
            interview("new", "v1", &today),
        ],
        &[],
    )
    .expect("write");
    let recent = sink.recent_keys(7).expect("recent");
    assert_eq!(recent, [("new".to_string(), "v1".to_string())].into());
    assert_eq!(sink.existing_keys().expect("all").len(), 2);
}

#[test]
fn existing_keys_reads_only_the_key_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    sink.write_batch(&[interview("a", "v1", "2024-05-01T10:00:00Z")], &[])
        .expect("write");
    let files = committed_files(&dir.path().join(INTERVIEWS_DIR)).expect("list");
    assert_eq!(files.len(), 1);
    let batches = read_file(&files[0], Some(&KEY_COLUMNS)).expect("read");
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, KEY_COLUMNS);
}

#[test]
fn rows_serialize_with_serde() {
    let row = interview("a", "v1", "2024-05-01T10:00:00Z");
    let json = serde_json::to_string(&row).expect("serialize");
    let back: InterviewRow = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, row);
}

#[test]
fn analysis_rows_round_trip_and_are_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let row = interview("a", "v1", "2024-05-01T10:00:00Z");
    let mut unanswered = ResponseRow::example("a", "v1", 1);
    unanswered.answered = false;
    unanswered.start_s = None;
    unanswered.pitch_hz = None;
    let analysis = AnalysisRows {
        responses: vec![ResponseRow::example("a", "v1", 0), unanswered],
        scores: vec![ScoreRow::example("a", "v1", "problem_solving")],
    };
    let report = sink
        .write_batch_with(
            std::slice::from_ref(&row),
            &segs("a", "v1", 0, 2),
            &analysis,
        )
        .expect("write");
    assert_eq!(
        (
            report.responses_written,
            report.scores_written,
            report.interviews_written
        ),
        (2, 1, 1)
    );
    // The commit marker goes last.
    assert!(report
        .files
        .last()
        .expect("files")
        .starts_with(dir.path().join(INTERVIEWS_DIR)));
    let mut back = sink.read_responses().expect("read responses");
    back.sort_by_key(|r| r.question_index);
    assert_eq!(back, analysis.responses);
    assert_eq!(sink.read_scores().expect("read scores"), analysis.scores);
    // A replay, and a new process, write nothing more.
    let again = sink
        .write_batch_with(std::slice::from_ref(&row), &[], &analysis)
        .expect("replay");
    assert_eq!((again.responses_written, again.scores_written), (0, 0));
    let reopened = ParquetSink::open(dir.path()).expect("reopen");
    let again = reopened
        .write_batch_with(&[row], &[], &analysis)
        .expect("replay");
    assert_eq!(
        (
            again.responses_written,
            again.scores_written,
            again.interviews_written
        ),
        (0, 0, 0)
    );
    // Rows without their interviews row are refused.
    let orphan = AnalysisRows {
        responses: vec![ResponseRow::example("zzz", "v1", 0)],
        scores: vec![],
    };
    assert!(sink.write_batch_with(&[], &[], &orphan).is_err());
}

#[test]
fn pii_columns_are_encrypted_on_disk_and_decrypted_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys =
        Arc::new(PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "test").expect("ring"));
    let sink = ParquetSink::open_with_keys(dir.path(), Some(keys.clone())).expect("open");
    let mut row = interview("iv-secret", "v1", "2024-05-01T12:00:00Z");
    row.transcript = Some("my secret answer".into());
    row.summary_json = Some(r#"{"text":"my secret answer"}"#.into());
    row.event_json = Some(r#"{"interview_id":"iv-secret"}"#.into());
    let mut seg = SegmentRow::example("iv-secret", "v1", 0, 0);
    seg.text = "my secret answer".into();
    let mut resp = ResponseRow::example("iv-secret", "v1", 0);
    resp.text = "my secret answer".into();
    let mut score = ScoreRow::example("iv-secret", "v1", "python");
    score.evidence_json = r#"{"quote":"my secret answer"}"#.into();
    let analysis = AnalysisRows {
        responses: vec![resp.clone()],
        scores: vec![score.clone()],
    };
    let report = sink
        .write_batch_with(
            std::slice::from_ref(&row),
            std::slice::from_ref(&seg),
            &analysis,
        )
        .expect("write");
    assert_eq!(report.files.len(), 4);
    // On disk: no plaintext, every PII value sealed with the active key.
    for f in &report.files {
        let bytes = fs::read(f).expect("read file");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("secret answer"), "{}", f.display());
        assert!(text.contains(&format!("pfenc:v1:{}:", keys.active_key_id())));
    }
    // The crate's readers decrypt.
    assert_eq!(sink.read_interviews().expect("read"), vec![row.clone()]);
    assert_eq!(sink.read_segments().expect("read"), vec![seg]);
    assert_eq!(sink.read_responses().expect("read"), vec![resp]);
    assert_eq!(sink.read_scores().expect("read"), vec![score]);
    // Without the key, reading fails clearly; with another key too.
    let plain = ParquetSink::open_with_keys(dir.path(), None).expect("open");
    let err = plain.read_interviews().unwrap_err().to_string();
    assert!(err.contains("no PII key"), "{err}");
    let other =
        Arc::new(PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "other").expect("ring"));
    let wrong = ParquetSink::open_with_keys(dir.path(), Some(other)).expect("open");
    let err = wrong.read_interviews().unwrap_err().to_string();
    assert!(err.contains("not in the key ring"), "{err}");
}

#[test]
fn audit_events_round_trip_by_date() {
    use crate::store::audit::AuditEvent;
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open_with_keys(dir.path(), None).expect("open");
    let t0 = at("2024-05-01T23:59:59Z");
    let a = AuditEvent::step("corr-1", "iv-1", "speech", "ok")
        .timed(t0, t0 + chrono::Duration::milliseconds(1500))
        .by("pipeline:pilot@1")
        .for_candidate("cand-1")
        .with_config_hash("cfg-1")
        .with_detail(serde_json::json!({"model": "moonshine", "sha256": "ab"}));
    let mut b = AuditEvent::step("corr-1", "iv-1", "lever_note", "ok");
    b.at = at("2024-05-02T00:00:01Z");
    let mut a2 = a.clone();
    a2.at = t0;
    let files = sink.write_audit(&[a2.clone(), b.clone()]).expect("write");
    assert_eq!(files.len(), 2, "one file per date");
    assert!(files[0].to_string_lossy().contains("audit/date=2024-05-01"));
    let mut back = sink.read_audit().expect("read");
    back.sort_by_key(|e| e.at);
    // Microsecond precision on disk.
    let trunc = |mut e: AuditEvent| {
        e.at = DateTime::from_timestamp_micros(e.at.timestamp_micros()).expect("t");
        e
    };
    assert_eq!(back, vec![trunc(a2), trunc(b)]);
    assert!(sink.write_audit(&[]).expect("none").is_empty());
}
