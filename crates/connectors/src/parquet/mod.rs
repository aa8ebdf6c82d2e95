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
//! # Atomicity and the commit marker
//! Each file is written to a temporary file in its final folder whose name
//! starts with `.` and ends in `.tmp` (so Hive-style readers and the
//! `**/*.parquet` glob skip it), fsynced, renamed into place, and the folder
//! fsynced. Segments are written before interviews: an `interviews` row is the
//! marker that its key `(interview_id, pipeline_version)` is completely written.
//! Analysts should read segments joined to interviews on the key.
//!
//! # Idempotence
//! A replay after a crash must write no second row. [`ParquetSink::existing_keys`]
//! reads the keys of every committed interviews file (only those two columns),
//! so a caller can skip work already done. The sink is also idempotent on its own:
//! at [`ParquetSink::open`] it loads the keys committed on disk into an in-memory
//! set, and [`ParquetSink::write_batch`] drops rows whose key is in it (and
//! duplicates within the batch), adding each key once its file is durable.
//! **That set is per process and loaded at open**: two processes writing the
//! same root do not see each other's later writes, which is fine as long as each
//! key is owned by one worker at a time (the dataflow exchanges events by
//! interview id) and a restarted process opens a new sink. It holds every key
//! of the dataset (two short strings each): millions of interviews cost tens to
//! a few hundred MB; partition the root by pipeline or year beyond that.
//!
//! A crash between the segments file and the interviews file leaves segments
//! whose key has no interviews row. On the replay the sink writes the interviews
//! row but not the segments a second time: it also remembers which keys already
//! have segments on disk (a file is renamed whole, so a key's segments are all
//! there or none).
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
//! // A replay writes nothing.
//! assert_eq!(sink.write_batch(&[row], &[seg])?.interviews_written, 0);
//! # Ok(()) }
//! ```

pub mod aggregates;
mod analysis_rows;
mod audit_rows;
pub mod dataset;
mod rows;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use arrow::array::RecordBatch;
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

pub use analysis_rows::{responses_schema, scores_schema, AnalysisRows, ResponseRow, ScoreRow};
pub use audit_rows::audit_schema;

use crate::store::audit::AuditEvent;
use crate::store::crypto::{self, CryptoError, PiiKeys};
use crate::store::GovernanceSection;
pub use rows::{interviews_schema, segments_schema, InterviewRow, Key, SegmentRow, TIMESTAMP_TZ};
use std::sync::Arc;

/// Folder (under the sink's root) of the `interviews` table.
pub const INTERVIEWS_DIR: &str = "interviews";
/// Folder (under the sink's root) of the `segments` table.
pub const SEGMENTS_DIR: &str = "segments";
/// Folder (under the sink's root) of the `responses` table (answers per question).
pub const RESPONSES_DIR: &str = "responses";
/// Folder (under the sink's root) of the `scores` table (rubric scores).
pub const SCORES_DIR: &str = "scores";
/// Folder (under the sink's root) of the `audit` table (the audit log's events).
pub const AUDIT_DIR: &str = "audit";
/// Name of the Hive partition column (`date=YYYY-MM-DD`).
pub const PARTITION_COLUMN: &str = "date";
/// Version of the tables' column contract, stored in each file's key-value metadata.
pub const SCHEMA_VERSION: &str = "1";
/// Most rows in one row group.
pub const MAX_ROW_GROUP_ROWS: usize = 64 * 1024;
/// Most (estimated, encoded) bytes in one row group.
pub const MAX_ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;
/// Temporary files older than this, left by a crashed writer, are removed at open.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Mode of the Parquet files (before the umask): readable by all.
#[cfg(unix)]
const FILE_MODE: u32 = 0o644;
const TEMP_PREFIX: &str = ".part-";
const TEMP_SUFFIX: &str = ".parquet.tmp";
const KEY_COLUMNS: [&str; 2] = ["interview_id", "pipeline_version"];
const READ_BATCH_ROWS: usize = 8192;

/// `[sinks]`: where the Parquet dataset goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksSection {
    /// Root of the Parquet dataset; `PANELFLOW_OUT` overrides.
    pub parquet_dir: PathBuf,
}

impl Default for SinksSection {
    fn default() -> Self {
        Self {
            parquet_dir: PathBuf::from("out/parquet"),
        }
    }
}

/// Errors of the Parquet sink; each names the file or folder involved.
#[derive(Debug, thiserror::Error)]
pub enum ParquetSinkError {
    /// A file-system operation failed.
    #[error("parquet sink: {op} {}: {source}", path.display())]
    Io {
        /// What was being done (`create folder`, `rename`, ...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The parquet crate failed to write or read a file.
    #[error("parquet sink: {op} {}: {source}", path.display())]
    Parquet {
        /// What was being done (`write`, `read`, ...).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },
    /// Building an Arrow record batch failed (a bug: the rows are typed).
    #[error("parquet sink: building the {table} record batch: {source}")]
    Arrow {
        /// `interviews` or `segments`.
        table: &'static str,
        /// The underlying error.
        #[source]
        source: ArrowError,
    },
    /// A committed file does not have the expected columns.
    #[error("parquet sink: unexpected content in {}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Encrypting or decrypting a PII column failed (a wrong or missing key).
    #[error("parquet sink: PII column: {0}")]
    Pii(#[from] CryptoError),
    /// A row in the batch cannot be written; nothing of the batch was written.
    #[error("parquet sink: invalid row ({interview_id:?}, {pipeline_version:?}): {reason}")]
    InvalidRow {
        /// The row's interview id.
        interview_id: String,
        /// The row's pipeline version.
        pipeline_version: String,
        /// Why it was refused.
        reason: String,
    },
}

/// What one [`ParquetSink::write_batch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Interviews rows written.
    pub interviews_written: usize,
    /// Segments rows written.
    pub segments_written: usize,
    /// Responses rows written.
    pub responses_written: usize,
    /// Scores rows written.
    pub scores_written: usize,
    /// Interviews rows dropped because their key was already committed (a replay).
    pub interviews_skipped_existing: usize,
    /// Interviews rows dropped because an earlier row of the same batch had their key.
    pub interviews_skipped_duplicate: usize,
    /// Segments rows dropped: their key was already committed or already had
    /// segments on disk, or they repeated `(key, media_index, segment_index)`.
    pub segments_skipped: usize,
    /// The files written (renamed into place), segments first.
    pub files: Vec<PathBuf>,
}

/// Keys known to be on disk, per process.
#[derive(Debug, Default)]
struct KnownKeys {
    /// Keys with a committed interviews row.
    committed: HashSet<Key>,
    /// Keys with segments rows on disk (committed or left by a crashed write).
    with_segments: HashSet<Key>,
    /// Keys with responses rows on disk.
    with_responses: HashSet<Key>,
    /// Keys with scores rows on disk.
    with_scores: HashSet<Key>,
}

/// Writes the `interviews` and `segments` tables under one root folder.
///
/// Thread-safe: `write_batch` takes `&self`; concurrent calls are serialised.
#[derive(Debug)]
pub struct ParquetSink {
    root: PathBuf,
    known: Mutex<KnownKeys>,
    /// Key ring of the PII columns: `Some` encrypts on write and decrypts on read.
    keys: Option<Arc<PiiKeys>>,
}

impl ParquetSink {
    /// Opens (creating if needed) the dataset at `root`: makes `root/interviews/`
    /// and `root/segments/`, removes temporary files older than
    /// [`STALE_TEMP_AGE`] left by crashed writers, and loads the keys already on
    /// disk into the per-process known-key set.
    ///
    /// PII columns are encrypted with the key ring of the default
    /// `[governance]` section (`PANELFLOW_PII_KEY`, else the generated
    /// development key file): see [`crate::store::crypto`]. A pipeline
    /// with its own `[governance]` opens with [`Self::open_for`].
    pub fn open(root: &Path) -> Result<Self, ParquetSinkError> {
        Self::open_for(root, &GovernanceSection::default())
    }

    /// [`Self::open`] at `root` (`[sinks] parquet_dir`) with the key ring of
    /// a `[governance]` section (none when `encrypt_pii = false`).
    pub fn open_for(root: &Path, governance: &GovernanceSection) -> Result<Self, ParquetSinkError> {
        let keys = PiiKeys::from_config(governance)?;
        Self::open_with_keys(root, keys)
    }

    /// [`Self::open`] with an explicit key ring: `Some` encrypts the PII
    /// columns on write and decrypts them on read; `None` writes them in
    /// plain text (and refuses to read encrypted values).
    pub fn open_with_keys(
        root: &Path,
        keys: Option<Arc<PiiKeys>>,
    ) -> Result<Self, ParquetSinkError> {
        for dir in [
            root.to_path_buf(),
            root.join(INTERVIEWS_DIR),
            root.join(SEGMENTS_DIR),
            root.join(RESPONSES_DIR),
            root.join(SCORES_DIR),
        ] {
            fs::create_dir_all(&dir).map_err(|source| ParquetSinkError::Io {
                op: "create folder",
                path: dir.clone(),
                source,
            })?;
        }
        let sink = ParquetSink {
            root: root.to_path_buf(),
            known: Mutex::new(KnownKeys::default()),
            keys,
        };
        for table in [INTERVIEWS_DIR, SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            remove_stale_temps(&sink.root.join(table))?;
        }
        if sink.root.join(AUDIT_DIR).is_dir() {
            remove_stale_temps(&sink.root.join(AUDIT_DIR))?;
        }
        let committed = sink.existing_keys()?;
        let with_segments = read_keys(&sink.root.join(SEGMENTS_DIR))?;
        let with_responses = read_keys(&sink.root.join(RESPONSES_DIR))?;
        let with_scores = read_keys(&sink.root.join(SCORES_DIR))?;
        info!(
            root = %root.display(),
            committed = committed.len(),
            with_segments = with_segments.len(),
            "parquet sink opened"
        );
        *sink.lock() = KnownKeys {
            committed,
            with_segments,
            with_responses,
            with_scores,
        };
        Ok(sink)
    }

    /// The dataset's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Glob of the committed `interviews` files, for `read_parquet(..., hive_partitioning=true)`.
    ///
    /// ```no_run
    /// # let sink = panelflow_connectors::parquet::ParquetSink::open(std::path::Path::new("/tmp/p")).unwrap();
    /// println!("duckdb -c \"select * from read_parquet('{}', hive_partitioning=true)\"",
    ///          sink.interviews_glob());
    /// ```
    pub fn interviews_glob(&self) -> String {
        format!("{}/{INTERVIEWS_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `segments` files.
    pub fn segments_glob(&self) -> String {
        format!("{}/{SEGMENTS_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `responses` files.
    pub fn responses_glob(&self) -> String {
        format!("{}/{RESPONSES_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `scores` files.
    pub fn scores_glob(&self) -> String {
        format!("{}/{SCORES_DIR}/**/*.parquet", self.root.display())
    }

    /// Reads every committed `responses` row (for tests, tools and small datasets).
    pub fn read_responses(&self) -> Result<Vec<ResponseRow>, ParquetSinkError> {
        let mut out = Vec::new();
        for path in committed_files(&self.root.join(RESPONSES_DIR))? {
            for batch in read_file(&path, None)? {
                let batch = self.decrypt(RESPONSES_DIR, &batch)?;
                out.extend(analysis_rows::responses_from_batch(&batch, &path)?);
            }
        }
        Ok(out)
    }

    /// Reads every committed `scores` row (for tests, tools and small datasets).
    pub fn read_scores(&self) -> Result<Vec<ScoreRow>, ParquetSinkError> {
        let mut out = Vec::new();
        for path in committed_files(&self.root.join(SCORES_DIR))? {
            for batch in read_file(&path, None)? {
                let batch = self.decrypt(SCORES_DIR, &batch)?;
                out.extend(analysis_rows::scores_from_batch(&batch, &path)?);
            }
        }
        Ok(out)
    }

    /// Glob of the committed `audit` files.
    pub fn audit_glob(&self) -> String {
        format!("{}/{AUDIT_DIR}/**/*.parquet", self.root.display())
    }

    /// The key ring in use (`None`: PII columns are written in plain text).
    pub fn keys(&self) -> Option<&Arc<PiiKeys>> {
        self.keys.as_ref()
    }

    /// Reads every committed `audit` row, in file order (for tools and tests).
    pub fn read_audit(&self) -> Result<Vec<AuditEvent>, ParquetSinkError> {
        let dir = self.root.join(AUDIT_DIR);
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for path in committed_files(&dir)? {
            for batch in read_file(&path, None)? {
                out.extend(audit_rows::audit_from_batch(&batch, &path)?);
            }
        }
        Ok(out)
    }

    /// Lands audit events as the `audit` table: one file per UTC date of
    /// the events' `at` (`audit/date=YYYY-MM-DD/part-<uuid>.parquet`), each
    /// written atomically like the other tables. The table is append-only, as
    /// the JSON-lines log is: a replay appends the replay's own events.
    /// Returns the files written (none for no events).
    ///
    /// ```
    /// use panelflow_connectors::store::audit::AuditEvent;
    /// use panelflow_connectors::parquet::ParquetSink;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let sink = ParquetSink::open_with_keys(dir.path(), None)?;
    /// let files = sink.write_audit(&[AuditEvent::step("corr-1", "iv-1", "media", "ok")])?;
    /// assert_eq!(files.len(), 1);
    /// assert_eq!(sink.read_audit()?[0].step, "media");
    /// # Ok(()) }
    /// ```
    pub fn write_audit(&self, events: &[AuditEvent]) -> Result<Vec<PathBuf>, ParquetSinkError> {
        let mut by_date: BTreeMap<String, Vec<&AuditEvent>> = BTreeMap::new();
        for e in events {
            by_date
                .entry(e.at.format("%Y-%m-%d").to_string())
                .or_default()
                .push(e);
        }
        let part = format!("part-{}.parquet", uuid::Uuid::new_v4());
        let mut files = Vec::new();
        for (date, rows) in by_date {
            let batch = audit_rows::audit_batch(&rows)?;
            files.push(self.write_file(AUDIT_DIR, &date, &part, &batch)?);
        }
        if !files.is_empty() {
            debug!(
                events = events.len(),
                files = files.len(),
                "audit events written"
            );
        }
        Ok(files)
    }

    /// Decrypts the PII columns of a batch of `table` read back.
    fn decrypt(&self, table: &str, batch: &RecordBatch) -> Result<RecordBatch, ParquetSinkError> {
        Ok(crypto::decrypt_batch(self.keys.as_deref(), table, batch)?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KnownKeys> {
        // The sets are only updated after a file is durable, so they stay
        // correct even if a writer panicked while holding the lock.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this process knows `(interview_id, pipeline_version)` to be committed
    /// (loaded at open, updated by this sink's writes).
    pub fn contains(&self, interview_id: &str, pipeline_version: &str) -> bool {
        self.lock()
            .committed
            .contains(&(interview_id.to_string(), pipeline_version.to_string()))
    }

    /// Number of keys this process knows to be committed.
    pub fn known_key_count(&self) -> usize {
        self.lock().committed.len()
    }

    /// Reads the keys `(interview_id, pipeline_version)` of every committed
    /// interviews file on disk (reading only those two columns; temporary files
    /// are skipped). Unlike [`Self::contains`] this sees other processes' writes.
    pub fn existing_keys(&self) -> Result<HashSet<Key>, ParquetSinkError> {
        read_keys(&self.root.join(INTERVIEWS_DIR))
    }

    /// Reads every committed `interviews` row (for tests, tools and small datasets).
    pub fn read_interviews(&self) -> Result<Vec<InterviewRow>, ParquetSinkError> {
        let mut out = Vec::new();
        for path in committed_files(&self.root.join(INTERVIEWS_DIR))? {
            for batch in read_file(&path, None)? {
                let batch = self.decrypt(INTERVIEWS_DIR, &batch)?;
                out.extend(rows::interviews_from_batch(&batch, &path)?);
            }
        }
        Ok(out)
    }

    /// Reads every committed `segments` row (for tests, tools and small datasets).
    pub fn read_segments(&self) -> Result<Vec<SegmentRow>, ParquetSinkError> {
        let mut out = Vec::new();
        for path in committed_files(&self.root.join(SEGMENTS_DIR))? {
            for batch in read_file(&path, None)? {
                let batch = self.decrypt(SEGMENTS_DIR, &batch)?;
                out.extend(rows::segments_from_batch(&batch, &path)?);
            }
        }
        Ok(out)
    }

    /// Writes one batch: segments first, then interviews (the commit marker),
    /// one file per table and partition date, each atomically.
    ///
    /// Rows whose key is already committed are dropped, as are interviews rows
    /// repeating a key earlier in the batch and segments repeating
    /// `(key, media_index, segment_index)`. Every segment must belong to an
    /// interviews row of the same batch (or to a key already committed, then it
    /// is dropped); otherwise the batch is refused with
    /// [`ParquetSinkError::InvalidRow`] before anything is written, as it is for
    /// an empty `interview_id` or `pipeline_version`.
    ///
    /// On an error part of the batch may be durable; calling again with the same
    /// batch completes it without writing anything twice.
    pub fn write_batch(
        &self,
        interviews: &[InterviewRow],
        segments: &[SegmentRow],
    ) -> Result<WriteReport, ParquetSinkError> {
        self.write_batch_with(interviews, segments, &AnalysisRows::default())
    }

    /// [`Self::write_batch`] with the analysis tables: `responses` and
    /// `scores` rows are written after the segments and before the
    /// interviews rows (the commit marker), under the same rules as segments:
    /// rows of a key already committed, or that already has rows in that
    /// table on disk, are dropped; every row needs its interviews row.
    pub fn write_batch_with(
        &self,
        interviews: &[InterviewRow],
        segments: &[SegmentRow],
        analysis: &AnalysisRows,
    ) -> Result<WriteReport, ParquetSinkError> {
        let mut known = self.lock();
        let mut report = WriteReport::default();

        // Choose the interviews rows: new keys, first occurrence wins.
        let mut batch_keys: HashSet<Key> = HashSet::new();
        let mut accepted: Vec<&InterviewRow> = Vec::new();
        let mut dates: std::collections::HashMap<Key, String> = Default::default();
        for row in interviews {
            if row.interview_id.is_empty() || row.pipeline_version.is_empty() {
                return Err(invalid(row.key(), "empty interview_id or pipeline_version"));
            }
            let key = row.key();
            if known.committed.contains(&key) {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "already committed; skipped");
                report.interviews_skipped_existing += 1;
            } else if !batch_keys.insert(key.clone()) {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "repeated in batch; skipped");
                report.interviews_skipped_duplicate += 1;
            } else {
                dates.insert(key, row.partition_date());
                accepted.push(row);
            }
        }

        // Choose the segments rows and their partition dates.
        let mut seen_segments: HashSet<(Key, i32, i32)> = HashSet::new();
        let mut segments_by_date: BTreeMap<String, Vec<&SegmentRow>> = BTreeMap::new();
        for seg in segments {
            let key = seg.key();
            if known.committed.contains(&key) || known.with_segments.contains(&key) {
                report.segments_skipped += 1;
                continue;
            }
            let Some(date) = dates.get(&key) else {
                return Err(invalid(
                    key,
                    &format!(
                        "segment {} of media {} has no interviews row in the batch",
                        seg.segment_index, seg.media_index
                    ),
                ));
            };
            if !seen_segments.insert((key, seg.media_index, seg.segment_index)) {
                report.segments_skipped += 1;
                continue;
            }
            segments_by_date.entry(date.clone()).or_default().push(seg);
        }

        let mut interviews_by_date: BTreeMap<String, Vec<&InterviewRow>> = BTreeMap::new();
        for row in accepted {
            interviews_by_date
                .entry(row.partition_date())
                .or_default()
                .push(row);
        }

        let part = format!("part-{}.parquet", uuid::Uuid::new_v4());

        // Segments first: without their interviews row they are not committed.
        for (date, mut rows) in segments_by_date {
            rows.sort_by(|a, b| {
                (
                    &a.interview_id,
                    &a.pipeline_version,
                    a.media_index,
                    a.segment_index,
                )
                    .cmp(&(
                        &b.interview_id,
                        &b.pipeline_version,
                        b.media_index,
                        b.segment_index,
                    ))
            });
            let batch = rows::segments_batch(&rows)?;
            let path = self.write_file(SEGMENTS_DIR, &date, &part, &batch)?;
            report.segments_written += rows.len();
            report.files.push(path);
            known.with_segments.extend(rows.iter().map(|r| r.key()));
        }

        // The analysis tables, before the commit markers too.
        let mut responses_by_date: BTreeMap<String, Vec<&ResponseRow>> = BTreeMap::new();
        let mut seen_responses: HashSet<(Key, i32)> = HashSet::new();
        for r in &analysis.responses {
            let key = r.key();
            if known.committed.contains(&key) || known.with_responses.contains(&key) {
                continue;
            }
            let Some(date) = dates.get(&key) else {
                return Err(invalid(
                    key,
                    &format!(
                        "response {} has no interviews row in the batch",
                        r.question_index
                    ),
                ));
            };
            if seen_responses.insert((key, r.question_index)) {
                responses_by_date.entry(date.clone()).or_default().push(r);
            }
        }
        let mut scores_by_date: BTreeMap<String, Vec<&ScoreRow>> = BTreeMap::new();
        let mut seen_scores: HashSet<(Key, String, String)> = HashSet::new();
        for r in &analysis.scores {
            let key = r.key();
            if known.committed.contains(&key) || known.with_scores.contains(&key) {
                continue;
            }
            let Some(date) = dates.get(&key) else {
                return Err(invalid(
                    key,
                    &format!("score {} has no interviews row in the batch", r.competency),
                ));
            };
            if seen_scores.insert((key, r.competency.clone(), r.question_id.clone())) {
                scores_by_date.entry(date.clone()).or_default().push(r);
            }
        }
        for (date, mut rows) in responses_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version, a.question_index).cmp(&(
                    &b.interview_id,
                    &b.pipeline_version,
                    b.question_index,
                ))
            });
            let batch = analysis_rows::responses_batch(&rows)?;
            let path = self.write_file(RESPONSES_DIR, &date, &part, &batch)?;
            report.responses_written += rows.len();
            report.files.push(path);
            known.with_responses.extend(rows.iter().map(|r| r.key()));
        }
        for (date, mut rows) in scores_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version, &a.competency).cmp(&(
                    &b.interview_id,
                    &b.pipeline_version,
                    &b.competency,
                ))
            });
            let batch = analysis_rows::scores_batch(&rows)?;
            let path = self.write_file(SCORES_DIR, &date, &part, &batch)?;
            report.scores_written += rows.len();
            report.files.push(path);
            known.with_scores.extend(rows.iter().map(|r| r.key()));
        }

        // Then the interviews rows, the commit markers.
        for (date, mut rows) in interviews_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version).cmp(&(&b.interview_id, &b.pipeline_version))
            });
            let batch = rows::interviews_batch(&rows)?;
            let path = self.write_file(INTERVIEWS_DIR, &date, &part, &batch)?;
            report.interviews_written += rows.len();
            report.files.push(path);
            known.committed.extend(rows.iter().map(|r| r.key()));
        }

        info!(
            interviews = report.interviews_written,
            segments = report.segments_written,
            skipped_existing = report.interviews_skipped_existing,
            skipped_duplicate = report.interviews_skipped_duplicate,
            segments_skipped = report.segments_skipped,
            files = report.files.len(),
            "parquet batch written"
        );
        Ok(report)
    }

    /// Writes `batch` to `root/table/date=DATE/PART` atomically and durably.
    fn write_file(
        &self,
        table: &'static str,
        date: &str,
        part: &str,
        batch: &RecordBatch,
    ) -> Result<PathBuf, ParquetSinkError> {
        let table_dir = self.root.join(table);
        let dir = table_dir.join(format!("{PARTITION_COLUMN}={date}"));
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|source| ParquetSinkError::Io {
                op: "create partition folder",
                path: dir.clone(),
                source,
            })?;
            // Make the new folder's entry durable too.
            sync_dir(&table_dir)?;
        }
        let path = dir.join(part);
        let sealed;
        let batch = match &self.keys {
            Some(keys) if crypto::pii_columns(table).is_some() => {
                sealed = keys.encrypt_batch(table, batch)?;
                &sealed
            }
            _ => batch,
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        // tempfile makes files private (0600); analysts' tools need to read them.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(FILE_MODE));
        }
        let mut tmp = builder
            .tempfile_in(&dir)
            .map_err(|source| ParquetSinkError::Io {
                op: "create temporary file in",
                path: dir.clone(),
                source,
            })?;
        let tmp_path = tmp.path().to_path_buf();
        let parquet_err = |op, source| ParquetSinkError::Parquet {
            op,
            path: tmp_path.clone(),
            source,
        };
        let mut writer =
            ArrowWriter::try_new(tmp.as_file_mut(), batch.schema(), Some(props(table)))
                .map_err(|e| parquet_err("open writer for", e))?;
        writer.write(batch).map_err(|e| parquet_err("write", e))?;
        writer.close().map_err(|e| parquet_err("close", e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|source| ParquetSinkError::Io {
                op: "fsync",
                path: tmp_path.clone(),
                source,
            })?;
        tmp.persist(&path).map_err(|e| ParquetSinkError::Io {
            op: "rename temporary file to",
            path: path.clone(),
            source: e.error,
        })?;
        sync_dir(&dir)?;
        debug!(path = %path.display(), rows = batch.num_rows(), "parquet file committed");
        Ok(path)
    }
}

fn invalid(key: Key, reason: &str) -> ParquetSinkError {
    ParquetSinkError::InvalidRow {
        interview_id: key.0,
        pipeline_version: key.1,
        reason: reason.to_string(),
    }
}

/// Writer settings: snappy, bounded row groups, the table named in the metadata.
fn props(table: &str) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_created_by(format!("panelflow {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("panelflow.table".to_string(), table.to_string()),
            KeyValue::new(
                "panelflow.schema_version".to_string(),
                SCHEMA_VERSION.to_string(),
            ),
        ]))
        .build()
}

fn sync_dir(dir: &Path) -> Result<(), ParquetSinkError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| ParquetSinkError::Io {
            op: "fsync folder",
            path: dir.to_path_buf(),
            source,
        })
}

/// Whether a file or folder name is hidden from readers (`.` or `_` first).
fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, ParquetSinkError> {
    let io = |source| ParquetSinkError::Io {
        op: "list folder",
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        entries.push(entry.map_err(io)?);
    }
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// Every committed `*.parquet` file under `dir`, skipping hidden files and folders.
fn committed_files(dir: &Path) -> Result<Vec<PathBuf>, ParquetSinkError> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_hidden(name) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| ParquetSinkError::Io {
            op: "stat",
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() {
            out.extend(committed_files(&path)?);
        } else if kind.is_file() && name.ends_with(".parquet") {
            out.push(path);
        }
    }
    Ok(out)
}

/// Removes this sink's temporary files older than [`STALE_TEMP_AGE`] under `dir`.
fn remove_stale_temps(dir: &Path) -> Result<(), ParquetSinkError> {
    for entry in read_dir(dir)? {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !is_hidden(&name) {
            remove_stale_temps(&path)?;
        } else if kind.is_file() && name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok());
            if age.is_some_and(|a| a > STALE_TEMP_AGE) {
                match fs::remove_file(&path) {
                    Ok(()) => warn!(path = %path.display(), "removed a stale temporary file"),
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file")
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads a whole file, or only the `columns` named.
fn read_file(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, ParquetSinkError> {
    let file = File::open(path).map_err(|source| ParquetSinkError::Io {
        op: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let perr = |source| ParquetSinkError::Parquet {
        op: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr)?;
    if let Some(columns) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(perr)?;
    reader
        .map(|batch| {
            batch.map_err(|e| ParquetSinkError::Parquet {
                op: "decode",
                path: path.to_path_buf(),
                source: e.into(),
            })
        })
        .collect()
}

/// The keys of every committed file under a table folder (two columns read).
fn read_keys(table_dir: &Path) -> Result<HashSet<Key>, ParquetSinkError> {
    let mut keys = HashSet::new();
    for path in committed_files(table_dir)? {
        for batch in read_file(&path, Some(&KEY_COLUMNS))? {
            rows::keys_from_batch(&batch, &path, &mut keys)?;
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
