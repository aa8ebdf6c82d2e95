//! Errors of an erasure.

use std::path::PathBuf;

use panelflow_connectors::parquet::dataset::DatasetError;
use panelflow_connectors::store::audit::AuditError;

/// Errors of an erasure.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// Reading or rewriting a Parquet file failed.
    #[error("erase: {0}")]
    Dataset(#[from] DatasetError),
    /// A file-system operation failed.
    #[error("erase: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The audit log could not be written.
    #[error("erase: {0}")]
    Audit(#[from] AuditError),
    /// The audit table could not be written.
    #[error("erase: {0}")]
    Sink(#[from] panelflow_connectors::parquet::ParquetSinkError),
    /// The review queue refused the erasure.
    #[error("erase: review queue: {0}")]
    Review(String),
    /// An empty candidate id would match nothing, or everything.
    #[error("erase: empty candidate id")]
    EmptyId,
}
