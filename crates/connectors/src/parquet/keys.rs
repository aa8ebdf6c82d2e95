//! The key index (`ROOT/_keys/`) and the duplicate check: claims, their
//! states, taking over a dead writer's claim, and the cache of committed keys.
//!
//! **A failed row may be replaced once.** A key whose committed row is
//! `failed` (a permanent failure, later sent again by `panelflow redrive`)
//! may commit one more row that is *not* failed, through its second claim
//! (`<hash>.next.json` beside the first). Readers take the latest row of a
//! key (by `analysis_completion_time`); the failed row stays as history.
//! A failed row never replaces anything, and nothing replaces the second
//! row, so a key has at most two rows, the first of them failed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::error::ParquetSinkError;
use super::layout::{
    CLAIM_LEASE, INTERVIEWS_DIR, KEYS_DIR, KEY_CACHE, PARTITION_COLUMN, RESPONSES_DIR, SCORES_DIR,
    SEGMENTS_DIR,
};
use super::read::{read_key_outcomes, read_keys};
use super::report::WriteReport;
use super::rows::Key;
use super::sink::ParquetSink;
use super::storage;

/// What claiming the key of a row came to.
pub(super) enum RowClaim {
    /// Nobody had it: the row is written.
    New,
    /// Its row is `failed` and this one is not: the row is written as its
    /// replacement, except in these tables, where the failed row has rows.
    Replacing(Vec<&'static str>),
    /// Committed already (or replaced already): the row is dropped.
    Done,
}

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
    /// Whether the row it commits is `failed` (`None` in claims written
    /// before the field existed: the committing file then tells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) failed: Option<bool>,
}

/// What claiming a key came to.
pub(super) enum Claimed {
    /// Claimed: the batch writes the key's row.
    Yes,
    /// Committed already, by this claim.
    Committed(Claim),
}

/// What the key index says about one key.
pub(super) enum KeyState {
    /// Nobody claimed it.
    Free,
    /// Committed: its claim names an interviews file that exists.
    Committed(Claim),
    /// Claimed but not committed, by this sink or by a writer whose lease
    /// ran out: to be taken over.
    Abandoned(Claim),
    /// Claimed moments ago by another writer.
    Busy(Claim),
}

impl ParquetSink {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, bool>> {
        // The cache is only updated after a file is durable, so it stays
        // correct even if a writer panicked while holding the lock.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers `key` as committed, its latest row `failed` or not.
    pub(super) fn remember(known: &mut HashMap<Key, bool>, key: Key, failed: bool) {
        if known.len() >= KEY_CACHE && !known.contains_key(&key) {
            known.clear();
        }
        known.insert(key, failed);
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
        if self.lock().contains_key(&key) {
            return Ok(true);
        }
        Ok(matches!(self.key_state(&key)?, KeyState::Committed(_)))
    }

    /// Number of keys this sink remembers as committed (its cache).
    pub fn known_key_count(&self) -> usize {
        self.lock().len()
    }

    /// The key index entry of `key`.
    pub(super) fn claim_path(&self, key: &Key) -> PathBuf {
        self.claim_path_named(key, "json")
    }

    /// The key's second claim: the row that replaces a failed one.
    pub(super) fn next_claim_path(&self, key: &Key) -> PathBuf {
        self.claim_path_named(key, "next.json")
    }

    fn claim_path_named(&self, key: &Key, suffix: &str) -> PathBuf {
        let mut h = Sha256::new();
        h.update(key.0.as_bytes());
        h.update([0x1f]);
        h.update(key.1.as_bytes());
        let hex = hex::encode(h.finalize());
        self.root
            .join(KEYS_DIR)
            .join(&hex[..2])
            .join(format!("{hex}.{suffix}"))
    }

    /// Whether the row `claim` committed for `key` is `failed`: the claim
    /// says so, or (a claim older than the field) its committing file does.
    pub(super) fn committed_failed(
        &self,
        key: &Key,
        claim: &Claim,
    ) -> Result<bool, ParquetSinkError> {
        if let Some(failed) = claim.failed {
            return Ok(failed);
        }
        let outcomes = read_key_outcomes(&[self.committing_file(claim)])?;
        Ok(outcomes.get(key).copied().unwrap_or(false))
    }

    /// The file that commits a claim.
    pub(super) fn committing_file(&self, claim: &Claim) -> PathBuf {
        self.root
            .join(INTERVIEWS_DIR)
            .join(format!("{PARTITION_COLUMN}={}", claim.date))
            .join(&claim.part)
    }

    pub(super) fn key_state(&self, key: &Key) -> Result<KeyState, ParquetSinkError> {
        self.claim_state(&self.claim_path(key))
    }

    /// Claims the key of a row (`claim.failed` says whether it is failed):
    /// new, replacing the key's failed row (with the tables that row already
    /// holds rows in), or done already — then remembered in `known`.
    pub(super) fn claim_row(
        &self,
        key: &Key,
        claim: &Claim,
        known: &mut HashMap<Key, bool>,
        report: &mut WriteReport,
    ) -> Result<RowClaim, ParquetSinkError> {
        let failed = claim.failed.unwrap_or(false);
        let first = match self.claim_at(&self.claim_path(key), key, claim, report)? {
            Claimed::Yes => return Ok(RowClaim::New),
            Claimed::Committed(first) => first,
        };
        let first_failed = self.committed_failed(key, &first)?;
        let next = self.next_claim_path(key);
        if first_failed && !failed {
            if let Claimed::Yes = self.claim_at(&next, key, claim, report)? {
                info!(interview_id = %key.0, pipeline_version = %key.1, "replacing the failed row of a key");
                report.failed_rows_replaced += 1;
                return Ok(RowClaim::Replacing(self.tables_holding(key, &first)?));
            }
            Self::remember(known, key.clone(), false);
            return Ok(RowClaim::Done);
        }
        // The key's latest row: the second claim's, if any.
        let latest_failed =
            first_failed && !matches!(self.claim_state(&next)?, KeyState::Committed(_));
        Self::remember(known, key.clone(), latest_failed);
        Ok(RowClaim::Done)
    }

    /// The tables among segments, responses and scores in which the batch
    /// that committed `claim` holds rows of `key` (a failed row may carry
    /// its transcript and analysis: a row replacing it then writes none of
    /// those tables again, so a key's rows there are written once).
    pub(super) fn tables_holding(
        &self,
        key: &Key,
        claim: &Claim,
    ) -> Result<Vec<&'static str>, ParquetSinkError> {
        let mut held = Vec::new();
        if claim.part.is_empty() || claim.date.is_empty() {
            return Ok(held);
        }
        for table in [SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            let path = self
                .root
                .join(table)
                .join(format!("{PARTITION_COLUMN}={}", claim.date))
                .join(&claim.part);
            if storage::exists(&path)? && read_keys(std::slice::from_ref(&path))?.contains(key) {
                held.push(table);
            }
        }
        Ok(held)
    }

    /// The state of the claim at `path` (a key's first or second claim).
    pub(super) fn claim_state(&self, path: &Path) -> Result<KeyState, ParquetSinkError> {
        let Some(bytes) = storage::get(path)? else {
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
                    failed: None,
                }));
            }
        };
        if !claim.part.is_empty() && storage::exists(&self.committing_file(&claim))? {
            return Ok(KeyState::Committed(claim));
        }
        let age_ms = chrono::Utc::now().timestamp_millis() - claim.at_ms;
        if claim.writer == self.writer || age_ms >= CLAIM_LEASE.as_millis() as i64 {
            Ok(KeyState::Abandoned(claim))
        } else {
            Ok(KeyState::Busy(claim))
        }
    }

    /// Claims `key` for `claim` at `path` (its first or second claim);
    /// [`Claimed::Committed`] when that claim turns out committed.
    pub(super) fn claim_at(
        &self,
        path: &Path,
        key: &Key,
        claim: &Claim,
        report: &mut WriteReport,
    ) -> Result<Claimed, ParquetSinkError> {
        let body = serde_json::to_vec(claim).map_err(|e| invalid(key.clone(), &e.to_string()))?;
        // Twice at most: a claim that appears between our look and our
        // conditional put is looked at again.
        for _ in 0..2 {
            match self.claim_state(path)? {
                KeyState::Committed(done) => return Ok(Claimed::Committed(done)),
                KeyState::Free => {
                    if storage::put_if_absent(path, body.clone())? {
                        return Ok(Claimed::Yes);
                    }
                }
                KeyState::Abandoned(old) => {
                    self.remove_uncommitted(&old)?;
                    storage::put(path, body.clone(), true)?;
                    if old.writer != self.writer {
                        warn!(interview_id = %key.0, pipeline_version = %key.1, writer = %old.writer,
                              "took over a claim its writer did not commit");
                        report.claims_taken_over += 1;
                    }
                    return Ok(Claimed::Yes);
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
