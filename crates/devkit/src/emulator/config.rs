//! How an emulator is configured, and why it can fail: the API key, the
//! rate limit, the page size, [`EmulatorConfig`] and [`EmulatorError`].

use std::path::PathBuf;
use std::time::Duration;

/// API key used when neither `--api-key` nor `PANELFLOW_LEVER_API_KEY` is set.
pub const DEFAULT_API_KEY: &str = "test-key";
/// Environment variable holding the emulator's API key.
pub const API_KEY_ENV: &str = "PANELFLOW_LEVER_API_KEY";
/// A request is admitted when a token is due within this time: it absorbs
/// the transport and scheduling jitter between a well-behaved client's own
/// limiter and the emulator's clock (half a token at 10 req/s).
pub const RATE_LIMIT_SLACK: Duration = Duration::from_millis(50);
/// Largest and default page size.
pub const MAX_PAGE_LIMIT: usize = 100;

/// How an emulator runs.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where `state.json`, `requests.jsonl` and the optional
    /// `opportunities.json` seed file live (created if missing).
    pub data_dir: PathBuf,
    /// The API key clients must present as the Basic auth user name.
    pub api_key: String,
    /// Steady request rate allowed, per second.
    pub rate_per_s: f64,
    /// Burst allowed.
    pub burst: f64,
}

impl EmulatorConfig {
    /// Lever's limits (10 req/s, burst 20) and the API key from
    /// `PANELFLOW_LEVER_API_KEY`, else `test-key`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let api_key = std::env::var(API_KEY_ENV)
            .ok()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| DEFAULT_API_KEY.to_owned());
        Self {
            data_dir: data_dir.into(),
            api_key,
            rate_per_s: 10.0,
            burst: 20.0,
        }
    }
}

impl Default for EmulatorConfig {
    /// [`EmulatorConfig::new`] on the folder `lever-emulator`.
    fn default() -> Self {
        Self::new("lever-emulator")
    }
}

/// Why the emulator could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A file or socket operation failed.
    #[error("lever emulator: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A data file is not the expected JSON.
    #[error("lever emulator: {path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The API key is empty.
    #[error("lever emulator: the API key must not be empty")]
    EmptyApiKey,
    /// The server thread died before it was ready.
    #[error("lever emulator: the server thread failed to start: {0}")]
    Start(String),
}

pub(super) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let context = context.into();
    move |source| EmulatorError::Io { context, source }
}
