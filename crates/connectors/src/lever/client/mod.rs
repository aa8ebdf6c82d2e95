//! A blocking client for Lever's REST API (`https://api.lever.co/v1`).
//!
//! It is called from timely worker threads, never from inside an async
//! runtime. Every request:
//! - waits for a token from the shared [`TokenBucket`] (Lever allows 10
//!   requests per second with bursts of 20 per API key);
//! - is retried on `429` and `5xx` with exponential back-off and jitter,
//!   honouring `Retry-After`, up to [`ClientOptions::max_attempts`];
//! - fails at once on any other `4xx`, with the body Lever sent.
//!
//! Notes are written with [`LeverClient::ensure_note`], which looks for a
//! marker (the correlation id) in the opportunity's notes before it writes,
//! so a replayed event never writes a second note.
//!
//! ```no_run
//! use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient, NoteOutcome};
//!
//! let client = LeverClient::new(
//!     "https://api.lever.co/v1",
//!     LeverAuth::ApiKey("my-key".into()),
//!     ClientOptions::default(),
//! )?;
//! let marker = "panelflow-correlation-id: 0b7c…";
//! let text = format!("Summary…\n{marker}");
//! match client.ensure_note("opp-1", marker, &text, true, None)? {
//!     NoteOutcome::Created(id) => println!("wrote note {id}"),
//!     NoteOutcome::AlreadyPresent(id) => println!("note {id} was already there"),
//! }
//! # Ok::<(), panelflow_connectors::lever::client::LeverError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::Client;
use url::Url;

use crate::lever::ratelimit::TokenBucket;

mod call;
mod error;
mod feedback;
mod files;
mod model;
mod notes;
mod objects;
mod opportunities;
mod options;
mod retry;
mod transport;

pub use self::error::LeverError;
pub use self::model::{Note, NoteOutcome, Page};
pub use self::options::{ClientOptions, LeverAuth, BREAKER_COOL_DOWN, BREAKER_THRESHOLD};

/// A blocking Lever API client. Cheap to clone; clones share the connection
/// pool and the rate limiter.
#[derive(Clone)]
pub struct LeverClient {
    http: Client,
    base: Url,
    auth: LeverAuth,
    opts: ClientOptions,
}

impl fmt::Debug for LeverClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeverClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .field("opts", &self.opts)
            .finish()
    }
}

impl LeverClient {
    /// A client for the API under `base_url` (e.g. `https://api.lever.co/v1`
    /// or an emulator's `http://127.0.0.1:PORT/v1`).
    pub fn new(base_url: &str, auth: LeverAuth, opts: ClientOptions) -> Result<Self, LeverError> {
        let invalid = |reason: String| LeverError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {:?} is not http(s)",
                base.scheme()
            )));
        }
        if base.cannot_be_a_base() {
            return Err(invalid("cannot be a base URL".into()));
        }
        let http = Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("panelflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(LeverError::Build)?;
        let opts = ClientOptions {
            max_attempts: opts.max_attempts.max(1),
            ..opts
        };
        Ok(Self {
            http,
            base,
            auth,
            opts,
        })
    }

    /// The API base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The shared rate limiter.
    pub fn limiter(&self) -> &Arc<TokenBucket> {
        &self.opts.limiter
    }
}

#[cfg(test)]
mod tests;
