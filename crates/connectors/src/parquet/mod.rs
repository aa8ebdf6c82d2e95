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
mod rows;
pub mod storage;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

pub use analysis_rows::{responses_schema, scores_schema, AnalysisRows, ResponseRow, ScoreRow};
pub use audit_rows::audit_schema;
pub use storage::StorageError;

use crate::store::audit::AuditEvent;
use crate::store::crypto::{self, CryptoError, PiiKeys};
use crate::store::GovernanceSection;
pub use rows::{interviews_schema, segments_schema, InterviewRow, Key, SegmentRow, TIMESTAMP_TZ};

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
/// Folder (under the sink's root) of the key index (hidden from readers).
pub const KEYS_DIR: &str = "_keys";
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
/// How long a claim in the key index holds off other writers: a writer
/// commits its claimed keys within seconds, so a claim this old whose file
/// is missing belongs to a writer that died, and is taken over.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);
/// Most keys a sink remembers as committed (a cache: past it, it starts over).
pub const KEY_CACHE: usize = 200_000;

const KEY_COLUMNS: [&str; 2] = ["interview_id", "pipeline_version"];
const READ_BATCH_ROWS: usize = 8192;

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

/// Errors of the Parquet sink; each names the file or folder involved.
#[derive(Debug, thiserror::Error)]
pub enum ParquetSinkError {
    /// Reaching the folder or the object store failed.
    #[error("parquet sink: {0}")]
    Storage(#[from] StorageError),
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
    /// Another writer claimed a key of the batch moments ago and has not
    /// committed it yet; retry the batch (nothing of it was written).
    #[error("parquet sink: ({interview_id:?}, {pipeline_version:?}) is being written by {writer} (claimed {age_s:.0} s ago); retry")]
    KeyBusy {
        /// The key's interview id.
        interview_id: String,
        /// The key's pipeline version.
        pipeline_version: String,
        /// The other writer.
        writer: String,
        /// Age of its claim, seconds.
        age_s: f64,
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
    /// Segments rows dropped: their key was already committed, or they
    /// repeated `(key, media_index, segment_index)`.
    pub segments_skipped: usize,
    /// Claims taken over from a writer that died between claim and commit.
    pub claims_taken_over: usize,
    /// The files written, segments first.
    pub files: Vec<PathBuf>,
}

/// A key's entry in the key index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Claim {
    /// Partition date of the files that commit the key.
    date: String,
    /// File name of the batch (`part-<uuid>.parquet`) in each table's partition.
    part: String,
    /// The sink that claimed it.
    writer: String,
    /// When, ms since the epoch.
    at_ms: i64,
}

/// What the key index says about one key.
enum KeyState {
    /// Nobody claimed it.
    Free,
    /// Committed: its claim names an interviews file that exists.
    Committed,
    /// Claimed but not committed, by this sink or by a writer whose lease
    /// ran out: to be taken over.
    Abandoned(Claim),
    /// Claimed moments ago by another writer.
    Busy(Claim),
}

/// Writes the `interviews`, `segments`, `responses`, `scores` and `audit`
/// tables under one root (a folder or an object-store prefix).
///
/// Thread-safe: `write_batch` takes `&self`; concurrent calls are serialised.
#[derive(Debug)]
pub struct ParquetSink {
    root: PathBuf,
    /// This sink's name in the claims it makes.
    writer: String,
    /// Keys seen committed (bounded by [`KEY_CACHE`]).
    known: Mutex<HashSet<Key>>,
    /// Key ring of the PII columns: `Some` encrypts on write and decrypts on read.
    keys: Option<Arc<PiiKeys>>,
}

impl ParquetSink {
    /// Opens (creating if needed) the dataset at `root` — a folder, a
    /// `file://` or an `s3://bucket/prefix` URL — and, on a local folder,
    /// removes temporary files older than [`STALE_TEMP_AGE`] left by
    /// crashed writers. Nothing is listed or read: the duplicate check asks
    /// the key index per new key.
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
        let root = match storage::Location::parse(root)? {
            storage::Location::Local(p) => p,
            storage::Location::Object { .. } => root.to_path_buf(),
        };
        for table in [INTERVIEWS_DIR, SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            storage::ensure_dir(&root.join(table))?;
        }
        if !storage::is_object_store(&root) {
            for table in [
                INTERVIEWS_DIR,
                SEGMENTS_DIR,
                RESPONSES_DIR,
                SCORES_DIR,
                AUDIT_DIR,
            ] {
                remove_stale_temps(&root.join(table));
            }
        }
        let writer = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        info!(root = %root.display(), writer = %writer, "parquet sink opened");
        Ok(ParquetSink {
            root,
            writer,
            known: Mutex::new(HashSet::new()),
            keys,
        })
    }

    /// The dataset's root (a folder, or an object-store URL).
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

    /// Glob of the committed `audit` files.
    pub fn audit_glob(&self) -> String {
        format!("{}/{AUDIT_DIR}/**/*.parquet", self.root.display())
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

    /// The key ring in use (`None`: PII columns are written in plain text).
    pub fn keys(&self) -> Option<&Arc<PiiKeys>> {
        self.keys.as_ref()
    }

    /// Reads every committed `audit` row, in file order (for tools and tests).
    pub fn read_audit(&self) -> Result<Vec<AuditEvent>, ParquetSinkError> {
        let mut out = Vec::new();
        for path in committed_files(&self.root.join(AUDIT_DIR))? {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        // The cache is only updated after a file is durable, so it stays
        // correct even if a writer panicked while holding the lock.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(known: &mut HashSet<Key>, key: Key) {
        if known.len() >= KEY_CACHE {
            known.clear();
        }
        known.insert(key);
    }

    /// Whether `(interview_id, pipeline_version)` is committed, by this
    /// process or any other (the key index; `false` when it cannot be read).
    pub fn contains(&self, interview_id: &str, pipeline_version: &str) -> bool {
        self.is_committed(interview_id, pipeline_version)
            .unwrap_or_else(|e| {
                warn!(error = %e, "key index unreadable");
                false
            })
    }

    /// Whether `(interview_id, pipeline_version)` is committed, by this
    /// process or any other: the cache, else one or two requests to the key index.
    pub fn is_committed(
        &self,
        interview_id: &str,
        pipeline_version: &str,
    ) -> Result<bool, ParquetSinkError> {
        let key = (interview_id.to_string(), pipeline_version.to_string());
        if self.lock().contains(&key) {
            return Ok(true);
        }
        let committed = matches!(self.key_state(&key)?, KeyState::Committed);
        if committed {
            Self::remember(&mut self.lock(), key);
        }
        Ok(committed)
    }

    /// Number of keys this sink remembers as committed (its cache).
    pub fn known_key_count(&self) -> usize {
        self.lock().len()
    }

    /// Reads the keys `(interview_id, pipeline_version)` of every committed
    /// interviews file (reading only those two columns; temporary files
    /// are skipped): the whole table, for tools such as backfill.
    pub fn existing_keys(&self) -> Result<HashSet<Key>, ParquetSinkError> {
        read_keys(&committed_files(&self.root.join(INTERVIEWS_DIR))?)
    }

    /// The keys of the interviews partitions of the last `days` days (UTC,
    /// today included): what a starting pipeline preloads to skip replays
    /// before doing their work, bounded by the recent volume rather than the
    /// dataset's. Older keys are still found by the key index at write time.
    pub fn recent_keys(&self, days: u32) -> Result<HashSet<Key>, ParquetSinkError> {
        let today = chrono::Utc::now().date_naive();
        let mut files = Vec::new();
        for back in 0..days.max(1) {
            let date = today - chrono::Days::new(u64::from(back));
            let dir = self
                .root
                .join(INTERVIEWS_DIR)
                .join(format!("{PARTITION_COLUMN}={}", date.format("%Y-%m-%d")));
            files.extend(committed_files(&dir)?);
        }
        read_keys(&files)
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
    /// rows of a key already committed are dropped; every row needs its
    /// interviews row.
    pub fn write_batch_with(
        &self,
        interviews: &[InterviewRow],
        segments: &[SegmentRow],
        analysis: &AnalysisRows,
    ) -> Result<WriteReport, ParquetSinkError> {
        let mut known = self.lock();
        let mut report = WriteReport::default();

        // Check the batch before claiming anything.
        let batch_dates: HashMap<Key, String> = interviews
            .iter()
            .map(|r| (r.key(), r.partition_date()))
            .collect();
        for row in interviews {
            if row.interview_id.is_empty() || row.pipeline_version.is_empty() {
                return Err(invalid(row.key(), "empty interview_id or pipeline_version"));
            }
        }
        // Rows whose interviews row is not in the batch: dropped when their
        // key is committed already, else the batch is refused.
        let mut orphans: BTreeMap<Key, String> = BTreeMap::new();
        for seg in segments {
            orphans.entry(seg.key()).or_insert_with(|| {
                format!(
                    "segment {} of media {} has no interviews row in the batch",
                    seg.segment_index, seg.media_index
                )
            });
        }
        for r in &analysis.responses {
            orphans.entry(r.key()).or_insert_with(|| {
                format!(
                    "response {} has no interviews row in the batch",
                    r.question_index
                )
            });
        }
        for r in &analysis.scores {
            orphans.entry(r.key()).or_insert_with(|| {
                format!("score {} has no interviews row in the batch", r.competency)
            });
        }
        orphans.retain(|k, _| !batch_dates.contains_key(k));
        for (key, reason) in orphans {
            if !known.contains(&key) && !matches!(self.key_state(&key)?, KeyState::Committed) {
                return Err(invalid(key, &reason));
            }
        }

        // Choose the interviews rows: new keys, first occurrence wins.
        let part = format!("part-{}.parquet", uuid::Uuid::new_v4());
        let mut batch_keys: HashSet<Key> = HashSet::new();
        let mut candidates: Vec<&InterviewRow> = Vec::new();
        for row in interviews {
            let key = row.key();
            if known.contains(&key) {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "already committed; skipped");
                report.interviews_skipped_existing += 1;
            } else if !batch_keys.insert(key.clone()) {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "repeated in batch; skipped");
                report.interviews_skipped_duplicate += 1;
            } else {
                candidates.push(row);
            }
        }

        // Claim them in the key index.
        let mut dates: HashMap<Key, String> = HashMap::new();
        let mut accepted: Vec<&InterviewRow> = Vec::new();
        for row in candidates {
            let key = row.key();
            let claim = Claim {
                date: row.partition_date(),
                part: part.clone(),
                writer: self.writer.clone(),
                at_ms: chrono::Utc::now().timestamp_millis(),
            };
            if self.claim(&key, &claim, &mut report)? {
                dates.insert(key, claim.date);
                accepted.push(row);
            } else {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "committed by an earlier write; skipped");
                report.interviews_skipped_existing += 1;
                Self::remember(&mut known, key);
            }
        }

        // Choose the segments rows and their partition dates.
        let mut seen_segments: HashSet<(Key, i32, i32)> = HashSet::new();
        let mut segments_by_date: BTreeMap<String, Vec<&SegmentRow>> = BTreeMap::new();
        for seg in segments {
            let key = seg.key();
            let Some(date) = dates.get(&key) else {
                report.segments_skipped += 1;
                continue;
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
        }

        // The analysis tables, before the commit markers too.
        let mut responses_by_date: BTreeMap<String, Vec<&ResponseRow>> = BTreeMap::new();
        let mut seen_responses: HashSet<(Key, i32)> = HashSet::new();
        for r in &analysis.responses {
            let key = r.key();
            let Some(date) = dates.get(&key) else {
                continue;
            };
            if seen_responses.insert((key, r.question_index)) {
                responses_by_date.entry(date.clone()).or_default().push(r);
            }
        }
        let mut scores_by_date: BTreeMap<String, Vec<&ScoreRow>> = BTreeMap::new();
        let mut seen_scores: HashSet<(Key, String, String)> = HashSet::new();
        for r in &analysis.scores {
            let key = r.key();
            let Some(date) = dates.get(&key) else {
                continue;
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
            for r in rows {
                Self::remember(&mut known, r.key());
            }
        }

        info!(
            interviews = report.interviews_written,
            segments = report.segments_written,
            skipped_existing = report.interviews_skipped_existing,
            skipped_duplicate = report.interviews_skipped_duplicate,
            segments_skipped = report.segments_skipped,
            taken_over = report.claims_taken_over,
            files = report.files.len(),
            "parquet batch written"
        );
        Ok(report)
    }

    /// The key index entry of `key`.
    fn claim_path(&self, key: &Key) -> PathBuf {
        let mut h = Sha256::new();
        h.update(key.0.as_bytes());
        h.update([0x1f]);
        h.update(key.1.as_bytes());
        let hex = hex::encode(h.finalize());
        self.root
            .join(KEYS_DIR)
            .join(&hex[..2])
            .join(format!("{hex}.json"))
    }

    /// The file that commits a claim.
    fn committing_file(&self, claim: &Claim) -> PathBuf {
        self.root
            .join(INTERVIEWS_DIR)
            .join(format!("{PARTITION_COLUMN}={}", claim.date))
            .join(&claim.part)
    }

    fn key_state(&self, key: &Key) -> Result<KeyState, ParquetSinkError> {
        let path = self.claim_path(key);
        let Some(bytes) = storage::get(&path)? else {
            return Ok(KeyState::Free);
        };
        let claim: Claim = match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                // Not written by this code (a claim is put whole): treat it
                // as abandoned so a writer repairs it.
                warn!(path = %path.display(), error = %e, "unreadable key claim; taking it over");
                return Ok(KeyState::Abandoned(Claim {
                    date: String::new(),
                    part: String::new(),
                    writer: String::new(),
                    at_ms: 0,
                }));
            }
        };
        if !claim.part.is_empty() && storage::exists(&self.committing_file(&claim))? {
            return Ok(KeyState::Committed);
        }
        let age_ms = chrono::Utc::now().timestamp_millis() - claim.at_ms;
        if claim.writer == self.writer || age_ms >= CLAIM_LEASE.as_millis() as i64 {
            Ok(KeyState::Abandoned(claim))
        } else {
            Ok(KeyState::Busy(claim))
        }
    }

    /// Claims `key` for `claim`; `false` when it turns out committed.
    fn claim(
        &self,
        key: &Key,
        claim: &Claim,
        report: &mut WriteReport,
    ) -> Result<bool, ParquetSinkError> {
        let path = self.claim_path(key);
        let body = serde_json::to_vec(claim).map_err(|e| invalid(key.clone(), &e.to_string()))?;
        // Twice at most: a claim that appears between our look and our
        // conditional put is looked at again.
        for _ in 0..2 {
            match self.key_state(key)? {
                KeyState::Committed => return Ok(false),
                KeyState::Free => {
                    if storage::put_if_absent(&path, body.clone())? {
                        return Ok(true);
                    }
                }
                KeyState::Abandoned(old) => {
                    self.remove_uncommitted(&old)?;
                    storage::put(&path, body.clone(), true)?;
                    if old.writer != self.writer {
                        warn!(interview_id = %key.0, pipeline_version = %key.1, writer = %old.writer,
                              "took over a claim its writer did not commit");
                        report.claims_taken_over += 1;
                    }
                    return Ok(true);
                }
                KeyState::Busy(other) => {
                    return Err(ParquetSinkError::KeyBusy {
                        interview_id: key.0.clone(),
                        pipeline_version: key.1.clone(),
                        writer: other.writer,
                        age_s: (chrono::Utc::now().timestamp_millis() - other.at_ms) as f64
                            / 1000.0,
                    });
                }
            }
        }
        Err(ParquetSinkError::KeyBusy {
            interview_id: key.0.clone(),
            pipeline_version: key.1.clone(),
            writer: "another writer".into(),
            age_s: 0.0,
        })
    }

    /// Deletes the segments, responses and scores files an uncommitted claim's
    /// writer left (its interviews file was never written, so every row in
    /// them belongs to a key that is not committed).
    fn remove_uncommitted(&self, claim: &Claim) -> Result<(), ParquetSinkError> {
        if claim.part.is_empty() || claim.date.is_empty() {
            return Ok(());
        }
        for table in [SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            let path = self
                .root
                .join(table)
                .join(format!("{PARTITION_COLUMN}={}", claim.date))
                .join(&claim.part);
            if storage::exists(&path)? {
                warn!(path = %path.display(), "removing the rows of a write that did not commit");
                storage::delete(&path)?;
            }
        }
        Ok(())
    }

    /// Writes `batch` to `root/table/date=DATE/PART` atomically and durably.
    fn write_file(
        &self,
        table: &'static str,
        date: &str,
        part: &str,
        batch: &RecordBatch,
    ) -> Result<PathBuf, ParquetSinkError> {
        let path = self
            .root
            .join(table)
            .join(format!("{PARTITION_COLUMN}={date}"))
            .join(part);
        let sealed;
        let batch = match &self.keys {
            Some(keys) if crypto::pii_columns(table).is_some() => {
                sealed = keys.encrypt_batch(table, batch)?;
                &sealed
            }
            _ => batch,
        };
        let bytes = encode(batch, props(table)).map_err(|source| ParquetSinkError::Parquet {
            op: "write",
            path: path.clone(),
            source,
        })?;
        storage::put(&path, bytes, true)?;
        debug!(path = %path.display(), rows = batch.num_rows(), "parquet file committed");
        Ok(path)
    }
}

/// One record batch as a whole Parquet file in memory.
pub(crate) fn encode(
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<Vec<u8>, ParquetError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.into_inner()
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

/// Every committed `*.parquet` file under `dir`, skipping hidden files and folders.
fn committed_files(dir: &Path) -> Result<Vec<PathBuf>, ParquetSinkError> {
    Ok(storage::list_files(dir)?
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect())
}

/// Removes this sink's temporary files older than [`STALE_TEMP_AGE`] under a
/// local `dir` (best effort: a failure is logged).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !storage::is_hidden(&name) {
            remove_stale_temps(&path);
        } else if kind.is_file()
            && name.starts_with(storage::TEMP_PREFIX)
            && name.ends_with(storage::TEMP_SUFFIX)
        {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok());
            if age.is_some_and(|a| a > STALE_TEMP_AGE) {
                match std::fs::remove_file(&path) {
                    Ok(()) => warn!(path = %path.display(), "removed a stale temporary file"),
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file")
                    }
                }
            }
        }
    }
}

/// Reads a whole file, or only the `columns` named.
fn read_file(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, ParquetSinkError> {
    let bytes = storage::read(path)?;
    let perr = |source| ParquetSinkError::Parquet {
        op: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(perr)?;
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

/// The keys of `files` (two columns read).
fn read_keys(files: &[PathBuf]) -> Result<HashSet<Key>, ParquetSinkError> {
    let mut keys = HashSet::new();
    for path in files {
        for batch in read_file(path, Some(&KEY_COLUMNS))? {
            rows::keys_from_batch(&batch, path, &mut keys)?;
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
