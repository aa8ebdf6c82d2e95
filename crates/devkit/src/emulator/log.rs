//! The request log: each accepted `/v1` request appended as one JSON line
//! to `requests.jsonl`, and read back.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::{io_err, EmulatorError};
use super::state::{lock, Shared};

/// One accepted `/v1` request, as recorded in `requests.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// When it arrived (RFC 3339, UTC).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path, including the `/v1` prefix.
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Who was authenticated: `basic:` or `bearer:` followed by the first
    /// 12 hex digits of the SHA-256 of the key (never the key itself).
    pub auth_user: String,
    /// The `perform_as` user, if given.
    pub perform_as: Option<String>,
    /// The status the emulator answered.
    pub status: u16,
}

impl Shared {
    pub(super) fn record(&self, record: &RecordedRequest) {
        let mut line = match serde_json::to_string(record) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "lever emulator: serialising a request record failed");
                return;
            }
        };
        line.push('\n');
        if let Err(e) = lock(&self.log).write_all(line.as_bytes()) {
            tracing::error!(error = %e, path = %self.requests_path.display(), "lever emulator: recording a request failed");
        }
    }

    pub(super) fn requests(&self) -> Result<Vec<RecordedRequest>, EmulatorError> {
        let _guard = lock(&self.log); // no half-written line is read
        let file = File::open(&self.requests_path)
            .map_err(io_err(format!("opening {}", self.requests_path.display())))?;
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_err(format!("reading {}", self.requests_path.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&line) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::warn!(line = n + 1, error = %e, "lever emulator: skipping an unreadable request record")
                }
            }
        }
        Ok(out)
    }
}
