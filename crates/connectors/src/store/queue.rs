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

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use panelflow_core::writeback::{Route, WritePlan};

use super::crypto::PiiKeys;
use super::GovernanceSection;
use crate::lever::writeback::WriteReport;

/// Name of the lock file that serializes updates.
const LOCK_FILE: &str = ".lock";
/// A lock file older than this is taken to be left by a crashed process.
const STALE_LOCK: Duration = Duration::from_secs(60);
/// Longest wait for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(15);

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

/// Where an item stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a recruiter.
    Pending,
    /// Approved (or edited and approved); its write-back has not finished.
    Approved,
    /// Rejected: nothing is written to Lever.
    Rejected,
    /// Written to Lever (directly by the pipeline, or after approval).
    Written,
    /// The write-back failed after its retries; can be retried.
    WriteFailed,
}

impl ReviewStatus {
    /// The snake-case name (`pending`, `write_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Written => "written",
            ReviewStatus::WriteFailed => "write_failed",
        }
    }
}

impl std::fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recruiter's verdict on an item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewDecision {
    /// `approve`, `edit` (approve with an edited note) or `reject`.
    pub action: String,
    /// Who decided (the configured user name).
    pub user: String,
    /// Their role.
    pub role: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The note text the recruiter approved instead of the generated one (`edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_note: Option<String>,
    /// A free comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ReviewDecision {
    /// A decision made now.
    pub fn now(action: &str, user: &str, role: &str) -> Self {
        Self {
            action: action.to_owned(),
            user: user.to_owned(),
            role: role.to_owned(),
            at: Utc::now(),
            edited_note: None,
            comment: None,
        }
    }
}

/// One analysed interview in the queue (pending review, or a direct result
/// kept so the page can show it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewItem {
    /// Interview id (`<source>:<id>`).
    pub interview_id: String,
    /// Pipeline version that produced it (with the interview id, the key).
    pub pipeline_version: String,
    /// Correlation id (the marker in the Lever note).
    pub correlation_id: String,
    /// Candidate (erasure removes by it).
    pub candidate_id: String,
    /// Opportunity written to.
    pub opportunity_id: String,
    /// Lever posting, when known.
    #[serde(default)]
    pub posting_id: Option<String>,
    /// Posting title, when known.
    #[serde(default)]
    pub posting_title: Option<String>,
    /// Job family of the rubric used.
    #[serde(default)]
    pub job_family: Option<String>,
    /// When it was stored.
    pub enqueued_at: DateTime<Utc>,
    /// Why it is held for review (`phase_review`, `low_confidence`, ...).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The summary object (JSON); `null` for an interview whose media failed.
    #[serde(default)]
    pub summary: serde_json::Value,
    /// Why the interview could not be analysed, when it could not.
    #[serde(default)]
    pub failure: Option<String>,
    /// The recording(s), in media order (answers name their media index).
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// What would be written to Lever.
    pub plan: WritePlan,
    /// Where it stands.
    pub status: ReviewStatus,
    /// Recruiters' verdicts, oldest first.
    #[serde(default)]
    pub decisions: Vec<ReviewDecision>,
    /// What the write-back did.
    #[serde(default)]
    pub write_report: Option<WriteReport>,
    /// Why the last write-back failed.
    #[serde(default)]
    pub write_error: Option<String>,
    /// Write-back attempts made from the review page.
    #[serde(default)]
    pub write_attempts: u32,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl ReviewItem {
    /// A new item: status `Pending` when `plan.route` is [`Route::Review`]
    /// (its reasons are the item's), `Written` otherwise.
    pub fn new(
        interview_id: &str,
        pipeline_version: &str,
        correlation_id: &str,
        candidate_id: &str,
        opportunity_id: &str,
        plan: WritePlan,
        summary: serde_json::Value,
    ) -> Self {
        let (status, reasons) = match &plan.route {
            Route::Review { reasons } => (ReviewStatus::Pending, reasons.clone()),
            Route::Direct => (ReviewStatus::Written, Vec::new()),
        };
        let job_family = summary
            .pointer("/analysis/job_family")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Self {
            interview_id: interview_id.to_owned(),
            pipeline_version: pipeline_version.to_owned(),
            correlation_id: correlation_id.to_owned(),
            candidate_id: candidate_id.to_owned(),
            opportunity_id: opportunity_id.to_owned(),
            posting_id: None,
            posting_title: None,
            job_family,
            enqueued_at: Utc::now(),
            reasons,
            summary,
            failure: None,
            media_urls: Vec::new(),
            plan,
            status,
            decisions: Vec::new(),
            write_report: None,
            write_error: None,
            write_attempts: 0,
            updated_at: None,
        }
    }

    /// Sets the posting and job family (a `None` family keeps the summary's).
    pub fn with_posting(
        mut self,
        posting_id: Option<String>,
        posting_title: Option<String>,
        job_family: Option<String>,
    ) -> Self {
        self.posting_id = posting_id;
        self.posting_title = posting_title;
        if job_family.is_some() {
            self.job_family = job_family;
        }
        self
    }

    /// Sets the recording URLs (media order).
    pub fn with_media(mut self, urls: Vec<String>) -> Self {
        self.media_urls = urls;
        self
    }

    /// Marks an interview whose analysis failed (why).
    pub fn with_failure(mut self, reason: String) -> Self {
        self.failure = Some(reason);
        self
    }

    /// Stores what a direct write-back did.
    pub fn with_write_report(mut self, report: WriteReport) -> Self {
        self.write_report = Some(report);
        self
    }

    /// The plan to execute: the stored one, with the note of the last `edit`
    /// decision when there is one.
    pub fn effective_plan(&self) -> WritePlan {
        let edited = self
            .decisions
            .iter()
            .rev()
            .find(|d| d.action == "edit")
            .and_then(|d| d.edited_note.as_deref());
        match edited {
            Some(text) => self.plan.clone().with_edited_note(text),
            None => self.plan.clone(),
        }
    }

    /// The last decision, if any.
    pub fn last_decision(&self) -> Option<&ReviewDecision> {
        self.decisions.last()
    }

    /// Seconds since it was enqueued.
    pub fn waiting_s(&self, now: DateTime<Utc>) -> i64 {
        (now - self.enqueued_at).num_seconds().max(0)
    }
}

/// The review queue folder.
#[derive(Debug, Clone)]
pub struct ReviewQueue {
    dir: PathBuf,
    /// Encrypts what the candidate said (the summary, the note text) at rest.
    keys: Option<std::sync::Arc<PiiKeys>>,
}

/// Item fields holding what the candidate said, encrypted at rest.
const SEALED: [&str; 2] = ["summary", "note"];

/// The sealed fields of a stored item: `summary`, `plan.note` and every
/// decision's `edited_note`.
fn sealed_slots(v: &mut serde_json::Value) -> Vec<(&'static str, &mut serde_json::Value)> {
    let mut out = Vec::new();
    let Some(obj) = v.as_object_mut() else {
        return out;
    };
    let (mut summary, mut plan, mut decisions) = (None, None, None);
    for (k, val) in obj.iter_mut() {
        match k.as_str() {
            "summary" => summary = Some(val),
            "plan" => plan = Some(val),
            "decisions" => decisions = Some(val),
            _ => {}
        }
    }
    if let Some(s) = summary {
        out.push((SEALED[0], s));
    }
    if let Some(note) = plan.and_then(|p| p.get_mut(SEALED[1])) {
        out.push(("plan_note", note));
    }
    if let Some(ds) = decisions.and_then(serde_json::Value::as_array_mut) {
        for d in ds {
            if let Some(n) = d.get_mut("edited_note") {
                out.push(("edited_note", n));
            }
        }
    }
    out
}

/// Encodes an id for a file name: `[A-Za-z0-9._-]` kept, anything else `%XX`.
fn encode(id: &str) -> String {
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

/// A held update lock (released on drop).
struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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

    /// The item as stored: the summary and the note text sealed (AES-GCM,
    /// bound to the item's key and the field).
    fn seal(&self, item: &ReviewItem) -> Result<serde_json::Value, String> {
        let mut v = serde_json::to_value(item).map_err(|e| e.to_string())?;
        let Some(keys) = &self.keys else {
            return Ok(v);
        };
        let key = [item.interview_id.as_str(), item.pipeline_version.as_str()];
        for (field, slot) in sealed_slots(&mut v) {
            if slot.is_null() {
                continue;
            }
            let plain = match slot.take() {
                serde_json::Value::String(s) => s,
                other => format!("json:{other}"),
            };
            let aad = super::crypto::aad("review_queue", field, &key);
            *slot =
                serde_json::Value::String(keys.encrypt(&plain, &aad).map_err(|e| e.to_string())?);
        }
        Ok(v)
    }

    /// The stored form back to an item.
    fn unseal(&self, mut v: serde_json::Value) -> Result<serde_json::Value, String> {
        let id = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (interview, version) = (id("interview_id"), id("pipeline_version"));
        let key = [interview.as_str(), version.as_str()];
        for (field, slot) in sealed_slots(&mut v) {
            let Some(text) = slot.as_str().filter(|t| super::crypto::is_encrypted(t)) else {
                continue;
            };
            let keys = self
                .keys
                .as_ref()
                .ok_or("an encrypted review item, and no PII key configured")?;
            let aad = super::crypto::aad("review_queue", field, &key);
            let plain = keys
                .decrypt_in("review_queue", field, text, &aad)
                .map_err(|e| e.to_string())?;
            *slot = match plain.strip_prefix("json:") {
                Some(json) => serde_json::from_str(json).map_err(|e| e.to_string())?,
                None => serde_json::Value::String(plain),
            };
        }
        Ok(v)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReviewError + '_ {
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
    fn write_temp(&self, item: &ReviewItem) -> Result<PathBuf, ReviewError> {
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

    fn sync_dir(&self) {
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
    }

    /// Stores an item. Idempotent: an item with the same (interview_id,
    /// pipeline_version) already stored is kept as it is (its status and
    /// decisions are not reset) and `Ok(false)` is returned; `Ok(true)` when new.
    pub fn enqueue(&self, item: ReviewItem) -> Result<bool, ReviewError> {
        let path = self.item_path(&item.interview_id, &item.pipeline_version);
        if path.exists() {
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
    fn save(&self, item: &ReviewItem) -> Result<(), ReviewError> {
        let path = self.item_path(&item.interview_id, &item.pipeline_version);
        let tmp = self.write_temp(item)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Self::io(&path)(e));
        }
        self.sync_dir();
        Ok(())
    }

    fn read(&self, path: &Path) -> Result<Option<ReviewItem>, ReviewError> {
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
    fn files(&self, interview_id: Option<&str>) -> Result<Vec<PathBuf>, ReviewError> {
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

    /// Takes the update lock (a file created exclusively; a stale one left
    /// by a crashed process is broken after [`STALE_LOCK`]).
    fn lock(&self) -> Result<LockGuard, ReviewError> {
        let path = self.dir.join(LOCK_FILE);
        let started = Instant::now();
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(LockGuard { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    if stale {
                        tracing::warn!(path = %path.display(), "breaking a stale review queue lock");
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(ReviewError::Busy {
                            path,
                            waited: started.elapsed(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(Self::io(&path)(e)),
            }
        }
    }

    /// Reads the latest item of `interview_id`, lets `change` modify it (or
    /// refuse), and stores it — all under the update lock.
    pub fn update<F>(&self, interview_id: &str, change: F) -> Result<ReviewItem, ReviewError>
    where
        F: FnOnce(&mut ReviewItem) -> Result<(), ReviewError>,
    {
        let _lock = self.lock()?;
        let mut item = self
            .get(interview_id)?
            .ok_or_else(|| ReviewError::NotFound(interview_id.to_owned()))?;
        change(&mut item)?;
        item.updated_at = Some(Utc::now());
        self.save(&item)?;
        Ok(item)
    }

    /// Records a decision on a pending item: `approve` and `edit` make it
    /// `Approved` (the caller then writes the plan and calls
    /// [`record_write`](Self::record_write)), `reject` makes it `Rejected`.
    /// An item that is not pending gives [`ReviewError::AlreadyDecided`].
    pub fn decide(
        &self,
        interview_id: &str,
        decision: ReviewDecision,
    ) -> Result<ReviewItem, ReviewError> {
        let next = match decision.action.as_str() {
            "approve" | "edit" => ReviewStatus::Approved,
            "reject" => ReviewStatus::Rejected,
            other => return Err(ReviewError::UnknownAction(other.to_owned())),
        };
        self.update(interview_id, |item| {
            if item.status != ReviewStatus::Pending {
                return Err(already(item));
            }
            item.status = next;
            item.decisions.push(decision);
            Ok(())
        })
    }

    /// Marks an item whose write-back failed (or was interrupted, status
    /// `Approved`) as `Approved` again for a retry; anything else is refused.
    pub fn begin_retry(&self, interview_id: &str) -> Result<ReviewItem, ReviewError> {
        self.update(interview_id, |item| match item.status {
            ReviewStatus::WriteFailed | ReviewStatus::Approved => {
                item.status = ReviewStatus::Approved;
                Ok(())
            }
            _ => Err(already(item)),
        })
    }

    /// Stores the outcome of an approved item's write-back: `Written` with
    /// the report, or `WriteFailed` with the reason.
    pub fn record_write(
        &self,
        interview_id: &str,
        outcome: Result<WriteReport, String>,
    ) -> Result<ReviewItem, ReviewError> {
        self.update(interview_id, |item| {
            item.write_attempts += 1;
            match outcome {
                Ok(report) => {
                    item.status = ReviewStatus::Written;
                    item.write_report = Some(report);
                    item.write_error = None;
                }
                Err(reason) => {
                    item.status = ReviewStatus::WriteFailed;
                    item.write_error = Some(reason);
                }
            }
            Ok(())
        })
    }

    /// Removes every item of a candidate (erasure); returns how many files.
    pub fn remove_candidate(&self, candidate_id: &str) -> Result<usize, ReviewError> {
        let _lock = self.lock()?;
        let mut removed = 0;
        for path in self.files(None)? {
            let item = match self.read(&path) {
                Ok(Some(item)) => item,
                Ok(None) => continue,
                Err(ReviewError::Corrupt { .. }) => continue,
                Err(e) => return Err(e),
            };
            if item.candidate_id == candidate_id {
                std::fs::remove_file(&path).map_err(Self::io(&path))?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.sync_dir();
        }
        tracing::info!(candidate_id, removed, "review items erased");
        Ok(removed)
    }
}

fn already(item: &ReviewItem) -> ReviewError {
    let by = item
        .last_decision()
        .map(|d| format!(" by {} at {}", d.user, d.at.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    ReviewError::AlreadyDecided {
        interview_id: item.interview_id.clone(),
        status: item.status.as_str().to_owned(),
        by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use panelflow_core::writeback::Phase;

    fn plan(route: Route) -> WritePlan {
        WritePlan {
            phase: Phase::Review,
            opportunity_id: "opp-1".into(),
            correlation_id: "corr-1".into(),
            note: Some("Generated note\npanelflow-correlation-id: corr-1".into()),
            add_tags: vec!["ai:needs-review".into()],
            remove_tags: vec![],
            stage: None,
            feedback: None,
            perform_as: None,
            route,
        }
    }

    fn item(id: &str, version: &str) -> ReviewItem {
        ReviewItem::new(
            id,
            version,
            "corr-1",
            "cand-1",
            "opp-1",
            plan(Route::Review {
                reasons: vec!["phase_review".into()],
            }),
            serde_json::json!({"interview_id": id}),
        )
    }

    #[test]
    fn what_the_candidate_said_is_sealed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let key = PiiKeys::generate_base64();
        let keys = PiiKeys::from_base64(&[&key], "test").unwrap();
        let q = ReviewQueue::open_with_keys(dir.path(), Some(std::sync::Arc::new(keys))).unwrap();
        let mut it = item("i-sealed", "1");
        it.summary = serde_json::json!({"transcript": "I once managed a secret project"});
        q.enqueue(it).unwrap();
        q.decide(
            "i-sealed",
            ReviewDecision {
                edited_note: Some("Edited: a secret project".into()),
                ..ReviewDecision::now("edit", "rita", "recruiter")
            },
        )
        .unwrap();
        let raw = std::fs::read_to_string(q.item_path("i-sealed", "1")).unwrap();
        assert!(!raw.contains("secret project"), "{raw}");
        assert!(!raw.contains("Generated note"), "{raw}");
        let back = q.get("i-sealed").unwrap().unwrap();
        assert_eq!(
            back.summary["transcript"],
            "I once managed a secret project"
        );
        assert_eq!(
            back.plan.note.as_deref(),
            Some("Generated note\npanelflow-correlation-id: corr-1")
        );
        assert_eq!(
            back.decisions[0].edited_note.as_deref(),
            Some("Edited: a secret project")
        );
        // Another key cannot read it.
        let other = PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "other").unwrap();
        let wrong =
            ReviewQueue::open_with_keys(dir.path(), Some(std::sync::Arc::new(other))).unwrap();
        assert!(wrong.get("i-sealed").is_err());
    }

    #[test]
    fn enqueue_is_idempotent_and_keeps_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        assert!(q.enqueue(item("generic:a/b", "1")).unwrap());
        let decided = q
            .decide(
                "generic:a/b",
                ReviewDecision::now("reject", "rita", "recruiter"),
            )
            .unwrap();
        assert_eq!(decided.status, ReviewStatus::Rejected);
        // A replay of the same interview and version changes nothing.
        assert!(!q.enqueue(item("generic:a/b", "1")).unwrap());
        let stored = q.get("generic:a/b").unwrap().unwrap();
        assert_eq!(stored.status, ReviewStatus::Rejected);
        assert_eq!(stored.decisions.len(), 1);
        assert_eq!(q.list().unwrap().len(), 1);
    }

    #[test]
    fn files_are_private_and_no_temporaries_are_left() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        q.enqueue(item("generic:x", "1")).unwrap();
        q.decide(
            "generic:x",
            ReviewDecision::now("approve", "rita", "recruiter"),
        )
        .unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["generic%3Ax@1.json".to_string()], "{names:?}");
        let mode = std::fs::metadata(q.item_path("generic:x", "1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn concurrent_enqueues_store_one_item() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| q.enqueue(item("generic:race", "1")).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1);
        assert_eq!(q.list().unwrap().len(), 1);
    }

    #[test]
    fn concurrent_decisions_let_exactly_one_win() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        q.enqueue(item("generic:d", "1")).unwrap();
        let results: Vec<Result<ReviewItem, ReviewError>> = std::thread::scope(|s| {
            let handles: Vec<_> = ["approve", "reject", "approve", "edit"]
                .into_iter()
                .map(|a| {
                    let q = &q;
                    s.spawn(move || q.decide("generic:d", ReviewDecision::now(a, "u", "recruiter")))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, ReviewError::AlreadyDecided { .. })));
        assert_eq!(q.get("generic:d").unwrap().unwrap().decisions.len(), 1);
    }

    #[test]
    fn deciding_twice_names_who_decided() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        q.enqueue(item("i", "1")).unwrap();
        q.decide("i", ReviewDecision::now("approve", "rita", "recruiter"))
            .unwrap();
        let err = q
            .decide("i", ReviewDecision::now("reject", "sam", "recruiter"))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("already approved by rita"), "{text}");
        assert!(matches!(
            q.decide("nope", ReviewDecision::now("approve", "r", "recruiter")),
            Err(ReviewError::NotFound(_))
        ));
        assert!(matches!(
            q.decide("i", ReviewDecision::now("delete", "r", "recruiter")),
            Err(ReviewError::UnknownAction(_))
        ));
    }

    #[test]
    fn write_results_and_retry() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        q.enqueue(item("i", "1")).unwrap();
        // A retry of a pending item is refused.
        assert!(q.begin_retry("i").is_err());
        q.decide("i", ReviewDecision::now("approve", "rita", "recruiter"))
            .unwrap();
        let failed = q.record_write("i", Err("Lever 503".into())).unwrap();
        assert_eq!(failed.status, ReviewStatus::WriteFailed);
        assert_eq!(failed.write_error.as_deref(), Some("Lever 503"));
        assert_eq!(q.begin_retry("i").unwrap().status, ReviewStatus::Approved);
        let report = WriteReport {
            note_id: Some("n1".into()),
            note_created: true,
            ..WriteReport::default()
        };
        let written = q.record_write("i", Ok(report.clone())).unwrap();
        assert_eq!(written.status, ReviewStatus::Written);
        assert_eq!(written.write_report, Some(report));
        assert_eq!(written.write_attempts, 2);
        assert!(q.begin_retry("i").is_err());
    }

    #[test]
    fn latest_version_wins_and_erasure_removes_all() {
        let dir = tempfile::tempdir().unwrap();
        let q = ReviewQueue::open(dir.path()).unwrap();
        q.enqueue(item("i", "1")).unwrap();
        let mut v2 = item("i", "2");
        v2.enqueued_at += chrono::Duration::seconds(5);
        q.enqueue(v2).unwrap();
        let mut other = item("j", "1");
        other.candidate_id = "cand-2".into();
        q.enqueue(other).unwrap();
        assert_eq!(q.get("i").unwrap().unwrap().pipeline_version, "2");
        assert_eq!(q.latest().unwrap().len(), 2);
        assert_eq!(q.remove_candidate("cand-1").unwrap(), 2);
        assert!(q.get("i").unwrap().is_none());
        assert!(q.get("j").unwrap().is_some());
    }

    #[test]
    fn direct_results_are_written_and_edits_keep_the_marker() {
        let direct = ReviewItem::new(
            "i",
            "1",
            "corr-1",
            "c",
            "o",
            plan(Route::Direct),
            serde_json::Value::Null,
        );
        assert_eq!(direct.status, ReviewStatus::Written);
        assert!(direct.reasons.is_empty());
        let mut held = item("i", "1");
        let mut d = ReviewDecision::now("edit", "rita", "recruiter");
        d.edited_note = Some("Shorter note.".into());
        held.decisions.push(d);
        let note = held.effective_plan().note.unwrap();
        assert!(note.starts_with("Shorter note."));
        assert!(note.contains("corr-1"));
    }

    #[test]
    fn ids_become_safe_file_names() {
        assert_eq!(encode("generic:a/b"), "generic%3Aa%2Fb");
        assert_eq!(encode("../x"), "%2E.%2Fx");
        assert_eq!(encode("a@b"), "a%40b");
    }
}
