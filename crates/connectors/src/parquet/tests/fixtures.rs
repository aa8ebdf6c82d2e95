//! Rows and keys shared by the sink and contract tests.

use chrono::{DateTime, Utc};

use crate::parquet::{InterviewRow, Key, SegmentRow};

pub(super) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

pub(super) fn interview(id: &str, version: &str, completed: &str) -> InterviewRow {
    let mut row = InterviewRow::example(id, version);
    row.analysis_completion_time = at(completed);
    row.received_at = row.analysis_completion_time - chrono::Duration::milliseconds(1_234_567);
    row
}

pub(super) fn failed(id: &str, version: &str, completed: &str, reason: &str) -> InterviewRow {
    InterviewRow {
        outcome: panelflow_core::outcome::Outcome::Failed,
        failure_reason: Some(reason.into()),
        duration_s: None,
        words: None,
        words_per_minute: None,
        language: None,
        transcript: None,
        summary_json: None,
        media_count: 0,
        ..interview(id, version, completed)
    }
}

pub(super) fn segs(id: &str, version: &str, media: i32, n: i32) -> Vec<SegmentRow> {
    (0..n)
        .map(|i| SegmentRow::example(id, version, media, i))
        .collect()
}

pub(super) fn sorted<T: Clone, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = rows.to_vec();
    v.sort_by_key(key);
    v
}

pub(super) fn iv_key(r: &InterviewRow) -> Key {
    r.key()
}

pub(super) fn seg_key(s: &SegmentRow) -> (Key, i32, i32) {
    (s.key(), s.media_index, s.segment_index)
}
