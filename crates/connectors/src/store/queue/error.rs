//! [`ReviewError`]: the errors of the review queue.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the review queue.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A file of the queue could not be read or written.
    #[error("review queue {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A queue file is not a review item.
    #[error("review queue {path}: not a review item: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// No item for this interview.
    #[error("no review item for interview {0}")]
    NotFound(String),
    /// The item was already decided (or is not in a state the action applies to).
    #[error("interview {interview_id} is already {status}{by}")]
    AlreadyDecided {
        /// The interview.
        interview_id: String,
        /// Its status (snake case).
        status: String,
        /// ` by USER at TIME` of the last decision, or empty.
        by: String,
    },
    /// An action name that is not approve, edit or reject.
    #[error("unknown review action {0:?} (approve, edit or reject)")]
    UnknownAction(String),
    /// The lock file could not be taken in time.
    #[error("review queue {path}: busy (lock not released within {waited:?})")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}
