//! Sessions: what a session cookie carries, and the revoked sessions kept
//! in a file beside the queue ([`Revocations`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A new session: the cookie's value and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// Value of the [`SESSION_COOKIE`](super::SESSION_COOKIE) cookie.
    pub cookie_value: String,
    /// The token forms of this session must carry.
    pub csrf: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SessionPayload {
    pub(super) u: String,
    /// Issued at (Unix milliseconds).
    #[serde(default)]
    pub(super) iat: i64,
    pub(super) exp: i64,
    pub(super) n: String,
    /// Fingerprint of the user's token hash when issued.
    #[serde(default)]
    pub(super) k: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct RevocationState {
    /// Revoked session nonces and their sessions' expiry (Unix seconds).
    #[serde(default)]
    pub(super) revoked: HashMap<String, i64>,
    /// Per user: sessions issued before this time (Unix milliseconds) are ended.
    #[serde(default)]
    pub(super) not_before: HashMap<String, i64>,
}

/// Revoked sessions, in a small JSON file every review server on the same
/// queue folder shares (rewritten atomically under a lock file).
#[derive(Debug)]
pub struct Revocations {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Revocations {
    /// The revocations kept in `path` (created on the first revocation).
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> RevocationState {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut RevocationState)) -> std::io::Result<()> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.read();
        let now = chrono::Utc::now().timestamp();
        state.revoked.retain(|_, exp| *exp >= now);
        f(&mut state);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".sessions-")
            .tempfile_in(dir)?;
        std::io::Write::write_all(&mut tmp, &serde_json::to_vec(&state).unwrap_or_default())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    pub(super) fn is_revoked(&self, payload: &SessionPayload) -> bool {
        let state = self.read();
        state.revoked.contains_key(&payload.n)
            || state
                .not_before
                .get(&payload.u)
                .is_some_and(|t| payload.iat < *t)
    }
}
