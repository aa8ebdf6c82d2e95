//! The aggregates sink's error type.

use std::path::PathBuf;

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

use crate::parquet::storage::StorageError;

/// Errors writing or reading the aggregates' Parquet files.
#[derive(Debug, thiserror::Error)]
pub enum AggregatesSinkError {
    /// Reaching the folder or the object store failed.
    #[error("aggregates sink: {0}")]
    Storage(#[from] StorageError),
    /// A file-system operation failed.
    #[error("aggregates sink: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading Parquet failed.
    #[error("aggregates sink: {op} {}: {source}", path.display())]
    Parquet {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ParquetError,
    },
    /// Building a record batch failed (a bug: a row wrote the wrong cells).
    #[error("aggregates sink: building the {table} batch: {source}")]
    Arrow {
        /// The table.
        table: String,
        /// Why.
        #[source]
        source: ArrowError,
    },
    /// A file does not have the columns expected.
    #[error("aggregates sink: {}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
