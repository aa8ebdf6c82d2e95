//! The key index (`ROOT/_keys/`) and the duplicate check: claims, their
//! states, taking over a dead writer's claim, and the cache of committed keys.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::warn;

use super::error::ParquetSinkError;
use super::layout::{
    CLAIM_LEASE, INTERVIEWS_DIR, KEYS_DIR, KEY_CACHE, PARTITION_COLUMN, RESPONSES_DIR, SCORES_DIR,
    SEGMENTS_DIR,
};
use super::report::WriteReport;
use super::rows::Key;
use super::sink::ParquetSink;
use super::storage;

/// A key's entry in the key index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Claim {
    /// Partition date of the files that commit the key.
    pub(super) date: String,
    /// File name of the batch (`part-<uuid>.parquet`) in each table's partition.
    pub(super) part: String,
    /// The sink that claimed it.
    pub(super) writer: String,
    /// When, ms since the epoch.
    pub(super) at_ms: i64,
}

/// What the key index says about one key.
pub(super) enum KeyState {
    /// Nobody claimed it.
    Free,
    /// Committed: its claim names an interviews file that exists.
    Committed,
    /// Claimed but not committed, by this sink or by a writer whose lease
    /// ran out: to be taken over.
    Abandoned(Claim),
    /// Claimed moments ago by another writer.
    Busy(Claim),
}

impl ParquetSink {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        // The cache is only updated after a file is durable, so it stays
        // correct even if a writer panicked while holding the lock.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn remember(known: &mut HashSet<Key>, key: Key) {
        if known.len() >= KEY_CACHE {
            known.clear();
        }
        known.insert(key);
    }

    /// Whether `(interview_id, pipeline_version)` is committed, by this
    /// process or any other (the key index; `false` when it cannot be read).
    pub fn contains(&self, interview_id: &str, pipeline_version: &str) -> bool {
        self.is_committed(interview_id, pipeline_version)
            .unwrap_or_else(|e| {
                warn!(error = %e, "key index unreadable");
                false
            })
    }

    /// Whether `(interview_id, pipeline_version)` is committed, by this
    /// process or any other: the cache, else one or two requests to the key index.
    pub fn is_committed(
        &self,
        interview_id: &str,
        pipeline_version: &str,
    ) -> Result<bool, ParquetSinkError> {
        let key = (interview_id.to_string(), pipeline_version.to_string());
        if self.lock().contains(&key) {
            return Ok(true);
        }
        let committed = matches!(self.key_state(&key)?, KeyState::Committed);
        if committed {
            Self::remember(&mut self.lock(), key);
        }
        Ok(committed)
    }

    /// Number of keys this sink remembers as committed (its cache).
    pub fn known_key_count(&self) -> usize {
        self.lock().len()
    }

    /// The key index entry of `key`.
    pub(super) fn claim_path(&self, key: &Key) -> PathBuf {
        let mut h = Sha256::new();
        h.update(key.0.as_bytes());
        h.update([0x1f]);
        h.update(key.1.as_bytes());
        let hex = hex::encode(h.finalize());
        self.root
            .join(KEYS_DIR)
            .join(&hex[..2])
            .join(format!("{hex}.json"))
    }

    /// The file that commits a claim.
    pub(super) fn committing_file(&self, claim: &Claim) -> PathBuf {
        self.root
            .join(INTERVIEWS_DIR)
            .join(format!("{PARTITION_COLUMN}={}", claim.date))
            .join(&claim.part)
    }

    pub(super) fn key_state(&self, key: &Key) -> Result<KeyState, ParquetSinkError> {
        let path = self.claim_path(key);
        let Some(bytes) = storage::get(&path)? else {
            return Ok(KeyState::Free);
        };
        let claim: Claim = match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                // Not written by this code (a claim is put whole): treat it
                // as abandoned so a writer repairs it.
                warn!(path = %path.display(), error = %e, "unreadable key claim; taking it over");
                return Ok(KeyState::Abandoned(Claim {
                    date: String::new(),
                    part: String::new(),
                    writer: String::new(),
                    at_ms: 0,
                }));
            }
        };
        if !claim.part.is_empty() && storage::exists(&self.committing_file(&claim))? {
            return Ok(KeyState::Committed);
        }
        let age_ms = chrono::Utc::now().timestamp_millis() - claim.at_ms;
        if claim.writer == self.writer || age_ms >= CLAIM_LEASE.as_millis() as i64 {
            Ok(KeyState::Abandoned(claim))
        } else {
            Ok(KeyState::Busy(claim))
        }
    }

    /// Claims `key` for `claim`; `false` when it turns out committed.
    pub(super) fn claim(
        &self,
        key: &Key,
        claim: &Claim,
        report: &mut WriteReport,
    ) -> Result<bool, ParquetSinkError> {
        let path = self.claim_path(key);
        let body = serde_json::to_vec(claim).map_err(|e| invalid(key.clone(), &e.to_string()))?;
        // Twice at most: a claim that appears between our look and our
        // conditional put is looked at again.
        for _ in 0..2 {
            match self.key_state(key)? {
                KeyState::Committed => return Ok(false),
                KeyState::Free => {
                    if storage::put_if_absent(&path, body.clone())? {
                        return Ok(true);
                    }
                }
                KeyState::Abandoned(old) => {
                    self.remove_uncommitted(&old)?;
                    storage::put(&path, body.clone(), true)?;
                    if old.writer != self.writer {
                        warn!(interview_id = %key.0, pipeline_version = %key.1, writer = %old.writer,
                              "took over a claim its writer did not commit");
                        report.claims_taken_over += 1;
                    }
                    return Ok(true);
                }
                KeyState::Busy(other) => {
                    return Err(ParquetSinkError::KeyBusy {
                        interview_id: key.0.clone(),
                        pipeline_version: key.1.clone(),
                        writer: other.writer,
                        age_s: (chrono::Utc::now().timestamp_millis() - other.at_ms) as f64
                            / 1000.0,
                    });
                }
            }
        }
        Err(ParquetSinkError::KeyBusy {
            interview_id: key.0.clone(),
            pipeline_version: key.1.clone(),
            writer: "another writer".into(),
            age_s: 0.0,
        })
    }

    /// Deletes the segments, responses and scores files an uncommitted claim's
    /// writer left (its interviews file was never written, so every row in
    /// them belongs to a key that is not committed).
    pub(super) fn remove_uncommitted(&self, claim: &Claim) -> Result<(), ParquetSinkError> {
        if claim.part.is_empty() || claim.date.is_empty() {
            return Ok(());
        }
        for table in [SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            let path = self
                .root
                .join(table)
                .join(format!("{PARTITION_COLUMN}={}", claim.date))
                .join(&claim.part);
            if storage::exists(&path)? {
                warn!(path = %path.display(), "removing the rows of a write that did not commit");
                storage::delete(&path)?;
            }
        }
        Ok(())
    }
}

pub(super) fn invalid(key: Key, reason: &str) -> ParquetSinkError {
    ParquetSinkError::InvalidRow {
        interview_id: key.0,
        pipeline_version: key.1,
        reason: reason.to_string(),
    }
}
