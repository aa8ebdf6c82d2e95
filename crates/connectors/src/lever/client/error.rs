//! [`LeverError`]: what went wrong talking to Lever.

use crate::lever::oauth::OAuthError;

/// What went wrong talking to Lever. Every variant names the request.
#[derive(Debug, thiserror::Error)]
pub enum LeverError {
    /// The base URL is unusable.
    #[error("invalid Lever base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("building the Lever HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// A caller passed an argument the client refuses.
    #[error("Lever {method} {path}: invalid argument: {reason}")]
    InvalidArgument {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// No HTTP answer (connection refused, time-out, broken body).
    #[error("Lever {method} {path}: transport error after {attempts} attempt(s): {source}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Lever refused the request (a 4xx other than 429, or an unexpected
    /// status); not retried. The message leaves Lever's answer out (it may
    /// echo what was sent about a candidate): it reaches failure reasons,
    /// dead letters and logs; `body` is for the caller to inspect.
    #[error("Lever {method} {path}: HTTP {status}")]
    Status {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// HTTP status code.
        status: u16,
        /// Response body (truncated to 2 KiB).
        body: String,
    },
    /// Lever kept answering 429 or 5xx.
    #[error("Lever {method} {path}: still HTTP {status} after {attempts} attempt(s)")]
    RetriesExhausted {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// The last status received.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No OAuth access token could be obtained.
    #[error("Lever {method} {path}: {source}")]
    Auth {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// Why.
        #[source]
        source: OAuthError,
    },
    /// The circuit breaker is open: Lever failed too often just now, so the
    /// call was not made.
    #[error("Lever {method} {path}: not called, the circuit is open after repeated failures")]
    CircuitOpen {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
    },
    /// A 2xx answer whose body is not the documented shape.
    #[error("Lever {method} {path}: unexpected response: {reason}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl LeverError {
    /// The HTTP status Lever answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            LeverError::Status { status, .. } | LeverError::RetriesExhausted { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether a write that failed this way may have taken effect anyway
    /// (no answer, or a 500/502/504 that a proxy may have sent after Lever
    /// stored it): look again before writing again.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            // No answer, or a 2xx whose body could not be read.
            LeverError::Transport { .. } | LeverError::Decode { .. } => true,
            LeverError::RetriesExhausted { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }

    /// True for errors that a later retry (e.g. a replay of the event) may
    /// cure: transport failures, exhausted retries on 429/5xx and an open
    /// circuit.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LeverError::Transport { .. }
                | LeverError::RetriesExhausted { .. }
                | LeverError::CircuitOpen { .. }
                | LeverError::Auth {
                    source: OAuthError::Transport { .. },
                    ..
                }
        )
    }
}
