//! The storage layer's error type.

use std::path::{Path, PathBuf};

/// Errors of the storage layer; each names the location involved.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A local file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An object-store request failed.
    #[error("{op} {}: {source}", path.display())]
    Object {
        /// What was being done.
        op: &'static str,
        /// The location.
        path: PathBuf,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// The location is not a path or a supported URL.
    #[error("storage location {location:?}: {reason}")]
    Location {
        /// The location as configured.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl StorageError {
    pub(super) fn io<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
        move |source| StorageError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
    pub(super) fn object<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(object_store::Error) -> StorageError + 'a {
        move |source| StorageError::Object {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
