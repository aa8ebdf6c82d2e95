//! Reading the tables back: whole rows (decrypted), and the keys of the
//! committed interviews files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::analysis_rows::{self, ResponseRow, ScoreRow};
use super::audit_rows;
use super::error::ParquetSinkError;
use super::layout::{
    AUDIT_DIR, INTERVIEWS_DIR, KEY_COLUMNS, PARTITION_COLUMN, READ_BATCH_ROWS, RESPONSES_DIR,
    SCORES_DIR, SEGMENTS_DIR,
};
use super::rows::{self, Columns, InterviewRow, Key, SegmentRow};
use super::sink::ParquetSink;
use super::storage;
use crate::store::audit::AuditEvent;
use crate::store::crypto;
use panelflow_core::outcome::Outcome;

impl ParquetSink {
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

    /// Decrypts the PII columns of a batch of `table` read back.
    pub(super) fn decrypt(
        &self,
        table: &str,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, ParquetSinkError> {
        Ok(crypto::decrypt_batch(self.keys.as_deref(), table, batch)?)
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
        read_keys(&self.recent_files(days)?)
    }

    /// [`Self::recent_keys`] with what their rows say: per key, whether
    /// every row of it is `failed` — a failed interview, which a redrive
    /// may still bring back once (a key with a row that is not failed is
    /// done for good). What a starting pipeline preloads.
    pub fn recent_key_outcomes(&self, days: u32) -> Result<HashMap<Key, bool>, ParquetSinkError> {
        read_key_outcomes(&self.recent_files(days)?)
    }

    fn recent_files(&self, days: u32) -> Result<Vec<PathBuf>, ParquetSinkError> {
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
        Ok(files)
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
}

/// Every committed `*.parquet` file under `dir`, skipping hidden files and folders.
pub(super) fn committed_files(dir: &Path) -> Result<Vec<PathBuf>, ParquetSinkError> {
    Ok(storage::list_files(dir)?
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect())
}

/// Reads a whole file, or only the `columns` named.
pub(super) fn read_file(
    path: &Path,
    columns: Option<&[&str]>,
) -> Result<Vec<RecordBatch>, ParquetSinkError> {
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
pub(super) fn read_keys(files: &[PathBuf]) -> Result<HashSet<Key>, ParquetSinkError> {
    let mut keys = HashSet::new();
    for path in files {
        for batch in read_file(path, Some(&KEY_COLUMNS))? {
            rows::keys_from_batch(&batch, path, &mut keys)?;
        }
    }
    Ok(keys)
}

/// The keys of `files` (three columns read), each with whether every row of
/// it is `failed`.
pub(super) fn read_key_outcomes(files: &[PathBuf]) -> Result<HashMap<Key, bool>, ParquetSinkError> {
    let mut keys: HashMap<Key, bool> = HashMap::new();
    let columns = [KEY_COLUMNS[0], KEY_COLUMNS[1], "outcome"];
    for path in files {
        for batch in read_file(path, Some(&columns))? {
            let c = Columns::new(&batch, path);
            let ids = c.req_strings("interview_id")?;
            let versions = c.req_strings("pipeline_version")?;
            let outcomes = c.req_strings("outcome")?;
            for i in 0..batch.num_rows() {
                let key = (ids.value(i).to_string(), versions.value(i).to_string());
                let failed = outcomes.value(i) == Outcome::Failed.as_str();
                let all_failed = keys.entry(key).or_insert(true);
                *all_failed = *all_failed && failed;
            }
        }
    }
    Ok(keys)
}
