//! The Parquet sink's error type.

use std::path::PathBuf;

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

use super::storage::StorageError;
use crate::store::crypto::CryptoError;

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
