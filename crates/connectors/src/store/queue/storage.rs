//! The files of the queue: names, atomic writes (temporary file, synced,
//! then linked or renamed into place) and reads.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::error::ReviewError;
use super::item::{ReviewItem, ReviewStatus};
use super::ReviewQueue;

/// Encodes an id for a file name: `[A-Za-z0-9._-]` kept, anything else `%XX`.
pub(super) fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // A leading dot would hide the file (and clash with the lock and temporaries).
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

impl ReviewQueue {
    pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
        move |source| ReviewError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// File of an item.
    pub fn item_path(&self, interview_id: &str, pipeline_version: &str) -> PathBuf {
        self.dir.join(format!(
            "{}@{}.json",
            encode(interview_id),
            encode(pipeline_version)
        ))
    }

    /// Writes `item` to a new synced temporary file (0600) in the folder.
    pub(super) fn write_temp(&self, item: &ReviewItem) -> Result<PathBuf, ReviewError> {
        let tmp = self
            .dir
            .join(format!(".tmp-{}.json", uuid::Uuid::new_v4().simple()));
        let bytes = self
            .seal(item)
            .and_then(|v| serde_json::to_vec_pretty(&v).map_err(|e| e.to_string()))
            .map_err(|e| ReviewError::Io {
                path: tmp.clone(),
                source: std::io::Error::other(e),
            })?;
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(Self::io(&tmp)(e));
        }
        Ok(tmp)
    }

    pub(super) fn sync_dir(&self) {
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
    }

    /// Stores an item. Idempotent: an item with the same (interview_id,
    /// pipeline_version) already stored is kept as it is (its status and
    /// decisions are not reset) and `Ok(false)` is returned; `Ok(true)` when new.
    /// One exception: a stored item of a failed interview still pending is
    /// replaced by a result that did not fail (the interview was redriven),
    /// so the page shows the interview once, as it is now.
    pub fn enqueue(&self, item: ReviewItem) -> Result<bool, ReviewError> {
        let path = self.item_path(&item.interview_id, &item.pipeline_version);
        if path.exists() {
            if item.failure.is_none() {
                if let Some(old) = self.read(&path)? {
                    if old.failure.is_some() && old.status == ReviewStatus::Pending {
                        self.save(&item)?;
                        tracing::info!(
                            interview_id = %item.interview_id,
                            pipeline_version = %item.pipeline_version,
                            "review item of a failed interview replaced by its redriven result"
                        );
                        return Ok(true);
                    }
                }
            }
            return Ok(false);
        }
        let tmp = self.write_temp(&item)?;
        // A hard link fails when the name exists: exactly one writer wins.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                self.sync_dir();
                tracing::info!(
                    interview_id = %item.interview_id,
                    pipeline_version = %item.pipeline_version,
                    status = %item.status,
                    "review item stored"
                );
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Self::io(&path)(e)),
        }
    }

    /// Replaces an item's file atomically (temp + rename).
    pub(super) fn save(&self, item: &ReviewItem) -> Result<(), ReviewError> {
        let path = self.item_path(&item.interview_id, &item.pipeline_version);
        let tmp = self.write_temp(item)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Self::io(&path)(e));
        }
        self.sync_dir();
        Ok(())
    }

    pub(super) fn read(&self, path: &Path) -> Result<Option<ReviewItem>, ReviewError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io(path)(e)),
        };
        let corrupt = |source| ReviewError::Corrupt {
            path: path.to_path_buf(),
            source,
        };
        let stored: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let plain = self.unseal(stored).map_err(|e| ReviewError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        serde_json::from_value(plain).map(Some).map_err(corrupt)
    }

    /// The item files (not temporaries or the lock), optionally only those
    /// of one interview.
    pub(super) fn files(&self, interview_id: Option<&str>) -> Result<Vec<PathBuf>, ReviewError> {
        let prefix = interview_id.map(|id| format!("{}@", encode(id)));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(Self::io(&self.dir))? {
            let entry = entry.map_err(Self::io(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            if prefix.as_deref().is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            out.push(entry.path());
        }
        out.sort();
        Ok(out)
    }

    /// The item of `interview_id` for its latest pipeline version (the one
    /// stored last).
    pub fn get(&self, interview_id: &str) -> Result<Option<ReviewItem>, ReviewError> {
        let mut best: Option<ReviewItem> = None;
        for path in self.files(Some(interview_id))? {
            let Some(item) = self.read(&path)? else {
                continue;
            };
            if item.interview_id != interview_id {
                continue;
            }
            let newer = best.as_ref().is_none_or(|b| {
                (item.enqueued_at, &item.pipeline_version) > (b.enqueued_at, &b.pipeline_version)
            });
            if newer {
                best = Some(item);
            }
        }
        Ok(best)
    }

    /// The item of one interview and pipeline version.
    pub fn get_version(
        &self,
        interview_id: &str,
        pipeline_version: &str,
    ) -> Result<Option<ReviewItem>, ReviewError> {
        self.read(&self.item_path(interview_id, pipeline_version))
    }

    /// Every stored item (all versions), oldest first. A corrupt file is
    /// skipped with a warning (it is named, so it can be looked at).
    pub fn list(&self) -> Result<Vec<ReviewItem>, ReviewError> {
        let mut items = Vec::new();
        for path in self.files(None)? {
            match self.read(&path) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {}
                Err(e @ ReviewError::Corrupt { .. }) => {
                    tracing::warn!(error = %e, "unreadable review item skipped");
                }
                Err(e) => return Err(e),
            }
        }
        items.sort_by(|a, b| {
            (a.enqueued_at, &a.interview_id).cmp(&(b.enqueued_at, &b.interview_id))
        });
        Ok(items)
    }

    /// The latest version of each interview, oldest first.
    pub fn latest(&self) -> Result<Vec<ReviewItem>, ReviewError> {
        let mut by_id: std::collections::BTreeMap<String, ReviewItem> = Default::default();
        for item in self.list()? {
            // `list` is oldest first: later versions replace earlier ones.
            by_id.insert(item.interview_id.clone(), item);
        }
        let mut items: Vec<ReviewItem> = by_id.into_values().collect();
        items.sort_by(|a, b| {
            (a.enqueued_at, &a.interview_id).cmp(&(b.enqueued_at, &b.interview_id))
        });
        Ok(items)
    }

    /// Items waiting for review (latest versions), oldest first.
    pub fn pending(&self) -> Result<Vec<ReviewItem>, ReviewError> {
        Ok(self
            .latest()?
            .into_iter()
            .filter(|i| i.status == ReviewStatus::Pending)
            .collect())
    }
}
