//! The audit log: one JSON line per step of an interview's story, appended
//! (never rewritten, except by an erasure) to `<audit_dir>/audit.jsonl`, and
//! landed as the `audit` Parquet table by the dataflow's sink.
//!
//! Each event names the correlation id, the step with its start, end and
//! outcome, and a `detail` object (models with versions and file hashes, the
//! Lever objects read, the media host, who approved what). Events carry ids,
//! never transcript text.
//!
//! ```
//! use panelflow_connectors::store::audit::{AuditEvent, AuditLog};
//! let dir = tempfile::tempdir().unwrap();
//! let log = AuditLog::open(dir.path()).unwrap();
//! let e = AuditEvent::step("corr-1", "int-1", "media", "ok")
//!     .with_detail(serde_json::json!({"host": "media.example"}));
//! log.append(&[e]).unwrap();
//! let story = log.for_interview("int-1").unwrap();
//! assert_eq!(story.len(), 1);
//! assert_eq!(story[0].step, "media");
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// File name of the JSON-lines audit log inside the audit folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// One step of an interview's story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the event was recorded.
    pub at: DateTime<Utc>,
    /// The interview's correlation id.
    pub correlation_id: String,
    /// The interview id (empty for events about a candidate as a whole).
    pub interview_id: String,
    /// The candidate, when known (erasure finds the candidate's events by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_id: Option<String>,
    /// `ingest`, `context`, `media`, `speech`, `analysis`, `route`,
    /// `lever_note`, `lever_tags`, `lever_stage`, `lever_feedback`,
    /// `review_approve`, `review_edit`, `review_reject`, `erase`, `export`, ...
    pub step: String,
    /// When the step started, if it is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the step ended, if it is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// `ok`, `skipped`, `failed`, `queued`, `refused`, ...
    pub outcome: String,
    /// Who acted: `pipeline:<name>@<version>` or a signed-in user.
    pub actor: String,
    /// Pipeline config hash in effect, when a pipeline acted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_hash: String,
    /// Step-specific facts (ids, hosts, models, reasons); never transcript text.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

impl AuditEvent {
    /// An event recorded now, with no timing, actor `pipeline` and no detail.
    pub fn step(correlation_id: &str, interview_id: &str, step: &str, outcome: &str) -> Self {
        Self {
            at: Utc::now(),
            correlation_id: correlation_id.to_owned(),
            interview_id: interview_id.to_owned(),
            candidate_id: None,
            step: step.to_owned(),
            started_at: None,
            ended_at: None,
            outcome: outcome.to_owned(),
            actor: "pipeline".to_owned(),
            config_hash: String::new(),
            detail: Value::Null,
        }
    }

    /// Sets the step's start and end.
    pub fn timed(mut self, started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> Self {
        self.started_at = Some(started_at);
        self.ended_at = Some(ended_at);
        self
    }

    /// Sets the actor.
    pub fn by(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// Sets the candidate.
    pub fn for_candidate(mut self, candidate_id: impl Into<String>) -> Self {
        self.candidate_id = Some(candidate_id.into());
        self
    }

    /// Sets the config hash.
    pub fn with_config_hash(mut self, hash: impl Into<String>) -> Self {
        self.config_hash = hash.into();
        self
    }

    /// Sets the detail object.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log could not be written or read.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The append-only JSON-lines audit log of one deployment.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// Opens (creating the folder) `<dir>/audit.jsonl`.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        std::fs::create_dir_all(dir).map_err(|source| AuditError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: dir.join(AUDIT_FILE),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends events, one line each, in one `write` and synced: concurrent
    /// writers (workers, the review server) append whole lines (`O_APPEND`).
    pub fn append(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        if events.is_empty() {
            return Ok(());
        }
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        let mut buf = Vec::with_capacity(events.len() * 256);
        for e in events {
            // Serializing plain data cannot fail; a failure would be a bug, not input.
            serde_json::to_writer(&mut buf, e)
                .map_err(|e| io(std::io::Error::other(e.to_string())))?;
            buf.push(b'\n');
        }
        // Under the log's lock: an erasure rewriting the file (new inode)
        // must not race an append into the old one.
        let _lock = self.lock().map_err(io)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Takes the log's exclusive lock (`<dir>/.audit.lock`, released when
    /// the returned file is dropped): appends hold it, and so must anything
    /// that rewrites the log (an erasure).
    pub fn lock(&self) -> std::io::Result<std::fs::File> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".audit.lock"))?;
        f.lock()?;
        Ok(f)
    }

    /// Every event in the log, in the order written. Lines that do not parse
    /// (a torn last line after a crash) are skipped with a warning.
    pub fn read_all(&self) -> Result<Vec<AuditEvent>, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AuditError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!(line = n + 1, error = %e, "unreadable audit line skipped"),
            }
        }
        Ok(out)
    }

    /// The events of one interview (by interview id or correlation id).
    pub fn for_interview(&self, id: &str) -> Result<Vec<AuditEvent>, AuditError> {
        Ok(self
            .read_all()?
            .into_iter()
            .filter(|e| e.interview_id == id || e.correlation_id == id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_survive_reopen_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::open(dir.path()).expect("open");
        log.append(&[
            AuditEvent::step("c1", "i1", "media", "ok"),
            AuditEvent::step("c2", "i2", "media", "failed"),
        ])
        .expect("append");
        // A crash mid-line leaves a torn tail.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| f.write_all(b"{\"at\":"))
            .expect("torn");
        let log = AuditLog::open(dir.path()).expect("reopen");
        let all = log.read_all().expect("read");
        assert_eq!(all.len(), 2);
        assert_eq!(log.for_interview("c2").expect("read")[0].outcome, "failed");
    }
}
