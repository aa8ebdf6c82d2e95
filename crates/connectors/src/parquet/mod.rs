//! The Parquet sink: the `interviews` and `segments` tables for analysts
//! (DuckDB, Polars, Spark), partitioned by date, written atomically and
//! idempotently.
//!
//! # Layout
//! ```text
//! ROOT/interviews/date=YYYY-MM-DD/part-<uuid>.parquet
//! ROOT/segments/date=YYYY-MM-DD/part-<uuid>.parquet
//! ROOT/responses/date=YYYY-MM-DD/part-<uuid>.parquet
//! ROOT/scores/date=YYYY-MM-DD/part-<uuid>.parquet
//! ROOT/audit/date=YYYY-MM-DD/part-<uuid>.parquet     (ParquetSink::write_audit)
//! ```
//! `date` (Hive style) is the UTC date of `analysis_completion_time`; a segment
//! lands in the partition of its interview. One [`ParquetSink::write_batch`]
//! writes at most one file per table and date, all named with the batch's uuid.
//! The columns are listed for analysts in `schemas/parquet/interviews.json` and
//! `schemas/parquet/segments.json` (a test holds the code to them).
//!
//! # PII at rest
//! The columns that carry what a candidate said (`interviews.transcript`,
//! `summary_json`, `event_json`, `segments.text`, `responses.text`,
//! `scores.evidence_json`) are encrypted value by value with AES-256-GCM
//! when the sink has a key ring ([`ParquetSink::open_for`] takes it from
//! `[governance]`; [`ParquetSink::open`] from the defaults), and decrypted by
//! `read_*`. See [`crate::store::crypto`] for the format and the keys.
//!
//! # Where: a folder or object storage
//! The root is a local path, a `file://` URL or an `s3://bucket/prefix` URL
//! ([`storage`]): the same tables, layout and files either way, so DuckDB,
//! Spark or Polars read `s3://bucket/prefix/interviews/**/*.parquet` as they
//! read the folder.
//!
//! # Atomicity and the commit marker
//! Each file appears whole or not at all ([`storage::put`]: one `PUT` on
//! object storage; locally a hidden temporary file fsynced and renamed).
//! Segments are written before interviews: an `interviews` row is the
//! marker that its key `(interview_id, pipeline_version)` is completely
//! written. Analysts should read segments joined to interviews on the key.
//!
//! # Idempotence across processes: the key index
//! A replay after a crash, a second delivery, or two processes that both got
//! the same interview (a consumer-group rebalance) must write no second row.
//! Before a batch is written, each new key is **claimed** in the key index,
//! `ROOT/_keys/<h>/<hash>.json`, one small object per key created only if
//! absent ([`storage::put_if_absent`]: S3 `If-None-Match`), naming the file
//! that will commit it (`interviews/date=D/part-U.parquet`), the writer and
//! the time. A key is committed when its claim names a file that exists.
//! So the check costs one or two requests per *new* key of a batch — never a
//! listing of the dataset — and sees every other process's writes:
//! - claim absent: claimed, then written;
//! - claim naming an existing file: committed, the rows are dropped;
//! - claim by this sink, or older than [`CLAIM_LEASE`] (its writer died
//!   between claim and commit): taken over — the segments, responses and
//!   scores files its writer left for that part and date are deleted first,
//!   so a key's rows are written once;
//! - a fresh claim of another live writer: the batch fails with
//!   [`ParquetSinkError::KeyBusy`] and the caller retries it (the pipeline's
//!   land stage does, every second, keeping the offsets uncommitted), until
//!   the other writer commits it or its lease runs out.
//!
//! A key whose row is `failed` may commit **one** more row that is not
//! failed — an interview sent back by `panelflow redrive` — through its
//! second claim (`<hash>.next.json`); the segments, responses and scores the
//! failed row already has are not written again. Readers take the latest
//! row of a key (by `analysis_completion_time`); the failed row stays as
//! history. [`ParquetSink::recent_key_outcomes`] tells a starting pipeline
//! which recent keys are only failed, so a redrive still gets through.
//!
//! Each sink also keeps the keys it has seen committed in a bounded cache
//! ([`KEY_CACHE`] keys), so a replay in the same process asks nothing.
//! [`ParquetSink::recent_keys`] reads the keys of the last days' partitions
//! (two columns) for callers that want to skip work before doing it.
//! The index stays under `_keys/`, hidden from readers' globs; erasing a
//! candidate keeps their claims (ids only, no PII), so a replay cannot bring
//! their rows back.
//!
//! ```
//! use panelflow_connectors::parquet::{InterviewRow, ParquetSink, SegmentRow};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let sink = ParquetSink::open(dir.path())?;
//! let row = InterviewRow::example("iv-1", "pilot@1");
//! let seg = SegmentRow::example("iv-1", "pilot@1", 0, 0);
//! let report = sink.write_batch(&[row.clone()], &[seg.clone()])?;
//! assert_eq!(report.interviews_written, 1);
//! // A replay writes nothing, in this process or another.
//! assert_eq!(sink.write_batch(&[row.clone()], &[seg.clone()])?.interviews_written, 0);
//! let other = ParquetSink::open(dir.path())?;
//! assert_eq!(other.write_batch(&[row], &[seg])?.interviews_skipped_existing, 1);
//! # Ok(()) }
//! ```

pub mod aggregates;
mod analysis_rows;
mod audit_rows;
pub mod dataset;
mod error;
mod keys;
mod layout;
mod read;
mod report;
mod rows;
mod sink;
pub mod storage;
mod write;
mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use analysis_rows::{responses_schema, scores_schema, AnalysisRows, ResponseRow, ScoreRow};
pub use audit_rows::audit_schema;
pub use error::ParquetSinkError;
pub use layout::{
    AUDIT_DIR, CLAIM_LEASE, INTERVIEWS_DIR, KEYS_DIR, KEY_CACHE, MAX_ROW_GROUP_BYTES,
    MAX_ROW_GROUP_ROWS, PARTITION_COLUMN, RESPONSES_DIR, SCHEMA_VERSION, SCORES_DIR, SEGMENTS_DIR,
    STALE_TEMP_AGE,
};
pub use report::WriteReport;
pub use rows::{interviews_schema, segments_schema, InterviewRow, Key, SegmentRow, TIMESTAMP_TZ};
pub use sink::ParquetSink;
pub use storage::StorageError;

/// `[sinks]`: where the Parquet dataset goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksSection {
    /// Root of the Parquet dataset: a folder, `file:///…` or
    /// `s3://bucket/prefix` ([`storage`]); `PANELFLOW_OUT` overrides.
    pub parquet_dir: PathBuf,
}

impl Default for SinksSection {
    fn default() -> Self {
        Self {
            parquet_dir: PathBuf::from("out/parquet"),
        }
    }
}

#[cfg(test)]
mod tests;
