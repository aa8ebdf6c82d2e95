//! The update lock: a file in the folder created exclusively, so updates
//! are serialized across processes.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::error::ReviewError;
use super::ReviewQueue;

/// Name of the lock file that serializes updates.
const LOCK_FILE: &str = ".lock";
/// A lock file older than this is taken to be left by a crashed process.
const STALE_LOCK: Duration = Duration::from_secs(60);
/// Longest wait for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// A held update lock (released on drop).
pub(super) struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ReviewQueue {
    /// Takes the update lock (a file created exclusively; a stale one left
    /// by a crashed process is broken after [`STALE_LOCK`]).
    pub(super) fn lock(&self) -> Result<LockGuard, ReviewError> {
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
}
