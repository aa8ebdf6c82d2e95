//! How the client authenticates and how it is tuned: [`LeverAuth`],
//! [`ClientOptions`] and the circuit breaker's settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::breaker::Breaker;
use crate::lever::ratelimit::TokenBucket;

/// How the client authenticates.
#[derive(Clone)]
pub enum LeverAuth {
    /// HTTP Basic with the API key as user name and an empty password.
    ApiKey(String),
    /// An OAuth access token, sent as `Authorization: Bearer …`.
    Bearer(String),
    /// OAuth 2.0 with the refresh-token grant: access tokens are obtained
    /// and renewed by the shared session (and renewed at once when Lever
    /// answers 401 to one).
    OAuth(Arc<crate::lever::oauth::OAuthSession>),
}

impl fmt::Debug for LeverAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        match self {
            LeverAuth::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            LeverAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            LeverAuth::OAuth(s) => write!(f, "OAuth({s:?})"),
        }
    }
}

/// Tuning of a [`LeverClient`](super::LeverClient).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Attempts per request when Lever answers 429 or 5xx (at least 1).
    pub max_attempts: u32,
    /// Time-out of one HTTP attempt, connect to last byte.
    pub timeout: Duration,
    /// The rate limiter shared by every client of the process.
    pub limiter: Arc<TokenBucket>,
    /// First back-off; doubled at each further attempt (with jitter, capped
    /// at 60 s) unless Lever sends `Retry-After`.
    pub base_backoff: Duration,
    /// The circuit breaker shared by every clone of the client: open after
    /// [`BREAKER_THRESHOLD`] failed attempts in a row (429, 5xx, no
    /// answer), calls then fail at once for [`BREAKER_COOL_DOWN`].
    pub breaker: Arc<Breaker>,
}

/// Failed attempts in a row that open the Lever circuit.
pub const BREAKER_THRESHOLD: u32 = 5;
/// How long the Lever circuit stays open before one trial call.
pub const BREAKER_COOL_DOWN: Duration = Duration::from_secs(20);

impl Default for ClientOptions {
    /// 6 attempts, 30 s time-out, Lever's documented 10 req/s burst 20,
    /// 500 ms first back-off.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            timeout: Duration::from_secs(30),
            limiter: Arc::new(TokenBucket::lever_default()),
            base_backoff: Duration::from_millis(500),
            breaker: Arc::new(Breaker::new("lever", BREAKER_THRESHOLD, BREAKER_COOL_DOWN)),
        }
    }
}
