//! A key whose row is `failed` takes one row that is not failed (a
//! redriven interview), once, in this process or another; the preload
//! tells failed keys from done ones.

use super::fixtures::{failed, interview, segs};
use crate::parquet::*;
use chrono::Utc;

#[test]
fn a_failed_row_is_replaced_once_by_a_row_that_is_not_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let lost = failed("iv-1", "v1", "2024-05-01T10:00:00Z", "lever_note: HTTP 503");
    assert_eq!(
        sink.write_batch(std::slice::from_ref(&lost), &[])
            .expect("failed row")
            .interviews_written,
        1
    );
    // Failing again writes nothing (a replay, or a redrive that failed again).
    let again = failed("iv-1", "v1", "2024-05-01T11:00:00Z", "lever_note: HTTP 503");
    let r = sink.write_batch(&[again], &[]).expect("failed again");
    assert_eq!(
        (r.interviews_written, r.interviews_skipped_existing),
        (0, 1)
    );

    // The redriven interview succeeds: its row, with its segments, lands.
    let done = interview("iv-1", "v1", "2024-05-01T12:00:00Z");
    let r = sink
        .write_batch(std::slice::from_ref(&done), &segs("iv-1", "v1", 0, 2))
        .expect("replacement");
    assert_eq!((r.interviews_written, r.failed_rows_replaced), (1, 1));
    assert_eq!(r.segments_written, 2);
    // Once: again in this process, and in another.
    let r = sink
        .write_batch(std::slice::from_ref(&done), &segs("iv-1", "v1", 0, 2))
        .expect("replay");
    assert_eq!((r.interviews_written, r.segments_written), (0, 0));
    let other = ParquetSink::open(dir.path()).expect("open again");
    let r = other
        .write_batch(&[done], &segs("iv-1", "v1", 0, 2))
        .expect("other");
    assert_eq!(
        (r.interviews_written, r.interviews_skipped_existing),
        (0, 1)
    );
    let r = other
        .write_batch(&[failed("iv-1", "v1", "2024-05-01T13:00:00Z", "x")], &[])
        .expect("failed after done");
    assert_eq!(r.interviews_written, 0);

    let mut rows = other.read_interviews().expect("read");
    rows.sort_by_key(|r| r.analysis_completion_time);
    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["failed", "transcribed"],
        "the failed row stays as history"
    );
    assert_eq!(other.read_segments().expect("segments").len(), 2);
}

#[test]
fn a_transcribed_row_is_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let done = interview("iv-2", "v1", "2024-05-01T10:00:00Z");
    sink.write_batch(std::slice::from_ref(&done), &[])
        .expect("write");
    let mut later = interview("iv-2", "v1", "2024-05-01T11:00:00Z");
    later.words = Some(1);
    let other = ParquetSink::open(dir.path()).expect("open again");
    let r = other.write_batch(&[later], &[]).expect("again");
    assert_eq!((r.interviews_written, r.failed_rows_replaced), (0, 0));
    assert_eq!(other.read_interviews().expect("read"), [done]);
}

#[test]
fn the_preload_keeps_whether_a_key_is_only_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let today = Utc::now().to_rfc3339();
    sink.write_batch(
        &[
            failed("lost", "v1", &today, "media_fetch: timed out"),
            failed("redriven", "v1", &today, "lever_note: HTTP 503"),
            interview("done", "v1", &today),
        ],
        &[],
    )
    .expect("write");
    sink.write_batch(&[interview("redriven", "v1", &today)], &[])
        .expect("replacement");
    let outcomes = ParquetSink::open(dir.path())
        .expect("open again")
        .recent_key_outcomes(7)
        .expect("preload");
    let key = |id: &str| (id.to_string(), "v1".to_string());
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes[&key("lost")], "failed: may be redriven");
    assert!(!outcomes[&key("redriven")], "replaced: done");
    assert!(!outcomes[&key("done")]);
}

#[test]
fn a_claim_written_before_it_named_its_outcome_is_read_from_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    let lost = failed(
        "iv-3",
        "v1",
        "2024-05-01T10:00:00Z",
        "media_fetch: timed out",
    );
    sink.write_batch(std::slice::from_ref(&lost), &[])
        .expect("failed row");
    // The claim as older versions wrote it: no `failed` field.
    let path = sink.claim_path(&lost.key());
    let mut claim: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("claim")).expect("json");
    claim.as_object_mut().expect("object").remove("failed");
    std::fs::write(&path, serde_json::to_vec(&claim).expect("json")).expect("rewrite");

    let other = ParquetSink::open(dir.path()).expect("open again");
    let done = interview("iv-3", "v1", "2024-05-01T12:00:00Z");
    let r = other.write_batch(&[done], &[]).expect("replacement");
    assert_eq!((r.interviews_written, r.failed_rows_replaced), (1, 1));
}

#[test]
fn the_transcript_a_failed_row_already_has_is_not_written_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = ParquetSink::open(dir.path()).expect("open");
    // Analysed, then the write to Lever failed for good: the failed row
    // carries its segments.
    let lost = failed("iv-4", "v1", "2024-05-01T10:00:00Z", "lever_note: HTTP 503");
    sink.write_batch(&[lost], &segs("iv-4", "v1", 0, 3))
        .expect("failed row");
    let done = interview("iv-4", "v1", "2024-05-01T12:00:00Z");
    let r = sink
        .write_batch(&[done], &segs("iv-4", "v1", 0, 3))
        .expect("replacement");
    assert_eq!(r.failed_rows_replaced, 1);
    assert_eq!((r.segments_written, r.segments_skipped), (0, 3));
    assert_eq!(sink.read_segments().expect("segments").len(), 3);
    assert_eq!(sink.read_interviews().expect("rows").len(), 2);
}
