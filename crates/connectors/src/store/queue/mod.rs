//! The review queue: a folder of JSON files, one per analysed interview and
//! pipeline version, each written atomically (a temporary file, synced, then
//! linked or renamed into place) and readable only by its owner (0600).
//!
//! - [`ReviewQueue::enqueue`] never replaces an item: a replayed interview
//!   keeps its status and decisions (the file is *linked* into place, which
//!   fails when the name exists, so two writers cannot both win);
//! - [`ReviewQueue::decide`] records a recruiter's approve / edit / reject on
//!   a pending item, and refuses a second decision
//!   ([`ReviewError::AlreadyDecided`]);
//! - [`ReviewQueue::record_write`] stores what the write-back did (or why it
//!   failed), so a failed write can be retried.
//!
//! Updates (decisions, write results, erasure) are read-modify-write under a
//! lock file in the folder, so the review server and the pipeline may share
//! the folder across processes.
//!
//! ```
//! use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue, ReviewStatus};
//! use panelflow_core::writeback::{Route, WritePlan};
//! let dir = tempfile::tempdir().unwrap();
//! let queue = ReviewQueue::open(dir.path()).unwrap();
//! let plan = WritePlan {
//!     phase: panelflow_core::writeback::Phase::Review,
//!     opportunity_id: "opp-1".into(),
//!     correlation_id: "corr-1".into(),
//!     note: Some("Summary".into()),
//!     add_tags: vec![], remove_tags: vec![], stage: None, feedback: None, perform_as: None,
//!     route: Route::Review { reasons: vec!["phase_review".into()] },
//! };
//! let item = ReviewItem::new("generic:i1", "1", "corr-1", "cand-1", "opp-1", plan, serde_json::Value::Null);
//! assert!(queue.enqueue(item.clone()).unwrap());
//! assert!(!queue.enqueue(item).unwrap()); // idempotent
//! let stored = queue.get("generic:i1").unwrap().unwrap();
//! assert_eq!(stored.status, ReviewStatus::Pending);
//! assert_eq!(stored.reasons, vec!["phase_review".to_string()]);
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::crypto::PiiKeys;
use super::GovernanceSection;

mod decisions;
mod error;
mod item;
mod lock;
mod seal;
mod storage;

pub use self::error::ReviewError;
pub use self::item::{ReviewDecision, ReviewItem, ReviewStatus};

/// The review queue folder.
#[derive(Debug, Clone)]
pub struct ReviewQueue {
    dir: PathBuf,
    /// Encrypts what the candidate said (the summary, the note text) at rest.
    keys: Option<std::sync::Arc<PiiKeys>>,
}

impl ReviewQueue {
    /// Opens (creating, mode 0700) the queue folder, with the PII key ring
    /// of the default `[governance]` section (as `ParquetSink::open`).
    pub fn open(dir: &Path) -> Result<Self, ReviewError> {
        Self::open_for(dir, &GovernanceSection::default())
    }

    /// The queue at `dir` (`[review] queue_dir`) with the key ring of a
    /// `[governance]` section.
    pub fn open_for(dir: &Path, governance: &GovernanceSection) -> Result<Self, ReviewError> {
        let keys = PiiKeys::from_config(governance).map_err(|e| ReviewError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Self::open_with_keys(dir, keys)
    }

    /// Opens the folder with an explicit key ring (`None`: plain text).
    pub fn open_with_keys(
        dir: &Path,
        keys: Option<std::sync::Arc<PiiKeys>>,
    ) -> Result<Self, ReviewError> {
        std::fs::create_dir_all(dir).map_err(|source| ReviewError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        Ok(Self {
            dir: dir.to_path_buf(),
            keys,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests;
