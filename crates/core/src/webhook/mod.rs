//! Webhooks: one module per platform, each verifying, parsing and
//! normalizing its deliveries to [`InterviewCompleted`] (or to human
//! ratings); pure functions of the body, the headers, the secret and the
//! time, so each is tested without a server. `panelflow ingest` serves them.
//!
//! - [`signature`]: HMAC schemes and constant-time comparison;
//! - [`generic`]: the documented generic webhook, and the field helpers every
//!   platform shares (defined in [`fields`], re-exported there);
//!   [`provider`]: what the interview platforms share (shared-secret auth,
//!   Lever ids, answers per question);
//! - one module per platform: [`lever`], [`willo`], [`sparkhire`],
//!   [`hirevue`], [`hireflix`]; [`ratings`]: their rating webhooks;
//! - [`recording_link`]: recording links found in free text;
//! - [`pii`]: personal data dropped from what an event keeps;
//! - [`refresh`]: fresh media from a platform's API answer.

pub mod fields;
pub mod generic;
pub mod hireflix;
pub mod hirevue;
pub mod lever;
pub mod pii;
pub mod provider;
pub mod ratings;
pub mod recording_link;
pub mod refresh;
pub mod signature;
pub mod sparkhire;
pub mod willo;

#[cfg(test)]
mod test_support;

use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};

use crate::event::InterviewCompleted;

/// What a source concluded about a well-formed, authentic webhook.
// One per request and moved straight to the producer: boxing the event buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// An interview to analyse: produce it (202 once acknowledged).
    Accept(InterviewCompleted),
    /// Human ratings (a platform's rating webhook) to publish to
    /// `[kafka] ratings_topic` for the calibration aggregates (202 once
    /// every one is acknowledged).
    Ratings(Vec<crate::wire::RatingMessage>),
    /// Authentic, but not an event panelflow acts on (204).
    Ignore {
        /// The platform's event name.
        event: String,
        /// Why it is not acted on.
        reason: String,
    },
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Bad or missing signature, or no secret configured (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The payload is not what the source documents (400).
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// The event's time is outside the accepted window: a replay or a
    /// skewed clock (401). `age_s` is negative for a time in the future.
    #[error("stale webhook: its timestamp is {age_s} s old, outside the accepted window")]
    Stale {
        /// Seconds between the event's time and now.
        age_s: i64,
    },
}

impl SourceError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            SourceError::Unauthorized(_) | SourceError::Stale { .. } => StatusCode::UNAUTHORIZED,
            SourceError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// One webhook delivery as a source sees it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The raw body (signatures are over these bytes).
    pub body: &'a [u8],
    /// The receive time.
    pub now: DateTime<Utc>,
    /// `ingest.max_age_s`: older events are refused as replays.
    pub max_age_s: u64,
    /// The last path segment of `/webhooks/{source}/{token}`, if used.
    pub path_token: Option<&'a str>,
}

impl<'a> WebhookRequest<'a> {
    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the receiver remembers of an accepted delivery so that it cannot be
/// used a second time (see `[ingest] state_dir`): Lever's single-use
/// `token` (its signature covers the token and the time, not the data, so a
/// token seen once must never be accepted with another body), else the
/// SHA-256 of the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayKey {
    /// `token:<token>` or `body:<hex sha256>`, prefixed by the source.
    pub key: String,
    /// Whether the delivery's time is signed and checked for age: then the
    /// key need only be remembered for the age window plus the skew; else
    /// for the receiver's longer window for unsigned times.
    pub signed_time: bool,
}

impl ReplayKey {
    /// The key of a raw body.
    ///
    /// ```
    /// let k = panelflow_core::webhook::ReplayKey::body("willo", b"{}", true);
    /// assert!(k.key.starts_with("willo:body:"));
    /// ```
    pub fn body(source: &str, body: &[u8], signed_time: bool) -> Self {
        Self {
            key: format!("{source}:body:{}", generic::payload_sha256(body)),
            signed_time,
        }
    }
}

/// A platform's webhook: verify, parse and normalize. Implementations are
/// pure (no I/O), so each is unit-tested without a server.
pub trait WebhookSource: Send + Sync + 'static {
    /// The route segment and secret name (`lever` → `PANELFLOW_LEVER_SECRET`).
    fn name(&self) -> &'static str;
    /// Judges one delivery, given the source's secret.
    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError>;
    /// What to remember of an authentic delivery (asked after
    /// [`handle`](Self::handle) accepted it). By default the body's hash,
    /// with a signed time unless the delivery came with a path token (which
    /// signs nothing).
    fn replay_key(&self, req: &WebhookRequest<'_>) -> ReplayKey {
        ReplayKey::body(self.name(), req.body, req.path_token.is_none())
    }
}
