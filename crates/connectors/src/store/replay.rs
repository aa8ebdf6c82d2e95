//! The webhook receiver's memory against replays, shared by every replica
//! of `panelflow ingest` through one folder (`[ingest] state_dir`, on a
//! volume every replica mounts):
//!
//! - **seen deliveries**: one file per replay key (Lever's single-use token,
//!   or the SHA-256 of a body), named by the key's SHA-256 and created with
//!   `O_CREAT|O_EXCL` — atomic across processes and machines sharing the
//!   folder, so of two replicas receiving the same delivery at once exactly
//!   one claims it. The file holds the claim's expiry and the body's hash:
//!   the same key with the same body is a redelivery (answered as already
//!   received), with another body a replay (refused). Expired claims are
//!   swept as new ones are made.
//! - **tombstones** of erased interviews: one file per interview id, named
//!   by its SHA-256 (no id in clear), written by `panelflow erase` and never
//!   expiring, so a replayed webhook cannot bring an erased interview back.
//!
//! Nothing here holds personal data in clear: keys and ids are hashed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Errors of the replay store.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A file-system operation failed.
    #[error("replay store: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Never seen (or seen so long ago that the claim expired): claimed now.
    New,
    /// Seen with the same body: a redelivery of what was already accepted.
    Redelivery,
    /// Seen with another body: a replay of the key with other data.
    Replay,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// Unix seconds after which the claim lapses.
    exp: i64,
    /// Hex SHA-256 of the body that claimed the key.
    body: String,
}

/// The replay store (see the module docs). Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ReplayStore {
    seen: PathBuf,
    tombstones: PathBuf,
    claims: AtomicU64,
}

/// Claims between two sweeps of expired claims.
const SWEEP_EVERY: u64 = 256;

fn hashed(kind: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

impl ReplayStore {
    /// Opens (creating) the store under `dir` (mode 0700 on Unix).
    pub fn open(dir: &Path) -> Result<Self, ReplayError> {
        let seen = dir.join("seen");
        let tombstones = dir.join("tombstones");
        for d in [dir, &seen, &tombstones] {
            std::fs::create_dir_all(d).map_err(|source| ReplayError::Io {
                op: "create folder",
                path: d.to_path_buf(),
                source,
            })?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(Self {
            seen,
            tombstones,
            claims: AtomicU64::new(0),
        })
    }

    fn seen_path(&self, key: &str) -> PathBuf {
        self.seen.join(hashed("replay-key", key))
    }

    fn tombstone_path(&self, interview_id: &str) -> PathBuf {
        self.tombstones.join(hashed("interview", interview_id))
    }

    /// Claims `key` for a delivery whose body hashes to `body_sha256`, until
    /// `now + ttl_s`.
    ///
    /// ```
    /// use panelflow_connectors::store::replay::{Claim, ReplayStore};
    /// let dir = tempfile::tempdir()?;
    /// let store = ReplayStore::open(dir.path())?;
    /// let now = chrono::Utc::now();
    /// assert_eq!(store.claim("lever:token:t1", "aa", 360, now)?, Claim::New);
    /// assert_eq!(store.claim("lever:token:t1", "aa", 360, now)?, Claim::Redelivery);
    /// assert_eq!(store.claim("lever:token:t1", "bb", 360, now)?, Claim::Replay);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim(
        &self,
        key: &str,
        body_sha256: &str,
        ttl_s: u64,
        now: DateTime<Utc>,
    ) -> Result<Claim, ReplayError> {
        if self.claims.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            if let Err(e) = self.sweep(now) {
                tracing::warn!(error = %e, "replay store sweep failed");
            }
        }
        let path = self.seen_path(key);
        let record = Record {
            exp: now
                .timestamp()
                .saturating_add(i64::try_from(ttl_s).unwrap_or(i64::MAX)),
            body: body_sha256.to_owned(),
        };
        // Two tries: the second after removing an expired claim.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let bytes = serde_json::to_vec(&record).unwrap_or_default();
                    f.write_all(&bytes)
                        .and_then(|()| f.sync_all())
                        .map_err(|source| ReplayError::Io {
                            op: "write",
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(Claim::New);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match read_record(&path) {
                        // Being written by another replica this instant, or
                        // unreadable: the key is taken either way.
                        None => return Ok(Claim::Replay),
                        Some(r) if r.exp < now.timestamp() => {
                            let _ = std::fs::remove_file(&path);
                            continue;
                        }
                        Some(r) if r.body == body_sha256 => return Ok(Claim::Redelivery),
                        Some(_) => return Ok(Claim::Replay),
                    }
                }
                Err(source) => {
                    return Err(ReplayError::Io {
                        op: "create",
                        path,
                        source,
                    })
                }
            }
        }
        Ok(Claim::Replay)
    }

    /// Gives a claim back (the delivery was not stored after all, so the
    /// platform's retry must be accepted).
    pub fn release(&self, key: &str) {
        let _ = std::fs::remove_file(self.seen_path(key));
    }

    /// Removes expired claims; returns how many.
    pub fn sweep(&self, now: DateTime<Utc>) -> Result<usize, ReplayError> {
        let io = |op, source| ReplayError::Io {
            op,
            path: self.seen.clone(),
            source,
        };
        let mut n = 0;
        for entry in std::fs::read_dir(&self.seen).map_err(|e| io("list", e))? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if read_record(&path).is_some_and(|r| r.exp < now.timestamp())
                && std::fs::remove_file(&path).is_ok()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records that `interview_id` was erased: no delivery of it is accepted
    /// again.
    ///
    /// ```
    /// use panelflow_connectors::store::replay::ReplayStore;
    /// let dir = tempfile::tempdir()?;
    /// let store = ReplayStore::open(dir.path())?;
    /// assert!(!store.is_tombstoned("willo:ptc_1"));
    /// store.tombstone("willo:ptc_1")?;
    /// assert!(store.is_tombstoned("willo:ptc_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tombstone(&self, interview_id: &str) -> Result<(), ReplayError> {
        let path = self.tombstone_path(interview_id);
        std::fs::write(&path, Utc::now().to_rfc3339()).map_err(|source| ReplayError::Io {
            op: "write",
            path,
            source,
        })
    }

    /// Whether `interview_id` was erased.
    pub fn is_tombstoned(&self, interview_id: &str) -> bool {
        self.tombstone_path(interview_id).exists()
    }
}

fn read_record(path: &Path) -> Option<Record> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_expire_and_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReplayStore::open(dir.path()).unwrap();
        let t0 = Utc::now();
        assert_eq!(store.claim("k", "a", 10, t0).unwrap(), Claim::New);
        let later = t0 + chrono::Duration::seconds(11);
        // Expired: the key may be used again (its delivery is stale by then).
        assert_eq!(store.claim("k", "b", 10, later).unwrap(), Claim::New);
        assert_eq!(store.claim("k", "a", 10, later).unwrap(), Claim::Replay);
        assert_eq!(store.claim("other", "a", 1, t0).unwrap(), Claim::New);
        assert_eq!(
            store.sweep(later + chrono::Duration::seconds(100)).unwrap(),
            2
        );
        store.release("k");
        assert_eq!(store.claim("k", "c", 10, later).unwrap(), Claim::New);
    }

    #[test]
    fn two_stores_on_one_folder_share_claims() {
        let dir = tempfile::tempdir().unwrap();
        let a = ReplayStore::open(dir.path()).unwrap();
        let b = ReplayStore::open(dir.path()).unwrap();
        let now = Utc::now();
        assert_eq!(a.claim("lever:token:x", "h1", 60, now).unwrap(), Claim::New);
        assert_eq!(
            b.claim("lever:token:x", "h2", 60, now).unwrap(),
            Claim::Replay
        );
        a.tombstone("lever:i").unwrap();
        assert!(b.is_tombstoned("lever:i"));
        // Nothing in clear on disk.
        for d in ["seen", "tombstones"] {
            for e in std::fs::read_dir(dir.path().join(d)).unwrap() {
                let name = e.unwrap().file_name().into_string().unwrap();
                assert!(!name.contains("token") && !name.contains("lever"), "{name}");
            }
        }
    }

    #[test]
    fn concurrent_claims_of_one_key_give_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(ReplayStore::open(dir.path()).unwrap());
        let now = Utc::now();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let s = std::sync::Arc::clone(&store);
                std::thread::spawn(move || s.claim("race", &format!("body-{i}"), 60, now).unwrap())
            })
            .collect();
        let results: Vec<Claim> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|c| **c == Claim::New).count(), 1);
    }
}
