//! What the context stage reads about an interview besides its
//! recordings, from Lever and — for fresh media URLs — from the interview
//! platform. For each event, [`ContextReader::read`]:
//!
//! 1. reads the **opportunity** (`GET /opportunities/:id?expand=applications`),
//!    its **contact** (`GET /contacts/:id`), the **posting** of its
//!    application (`GET /postings/:id`) and the **requisition**
//!    (`GET /requisitions/:id` from the application's `requisitionForHire`,
//!    else `GET /requisitions?requisition_code=` with the posting's first
//!    requisition code). Lists follow `{data, hasNext, next}` paging.
//!    Every object is kept in a TTL cache by id ([`ContextSection::cache_ttl_s`]),
//!    and concurrent misses for one key wait for a single request ([`cache`]);
//! 2. finds the **media**: the event's own; else the platform's API
//!    (`[context.providers.<source>]`, by the event's `source_ref`,
//!    [`provider`]); else, through Lever, a recording link ([`links`]);
//! 3. **refreshes expired signed URLs** once ([`refresh`]): media whose
//!    `expires_at` is past (or within [`ContextSection::expiry_margin_s`])
//!    are read again from the platform's API (or from Lever for Lever-found
//!    links); if that fails or the new URLs are expired too, the event
//!    fails with `media_expired`.
//!
//! [`ContextReader::posting_form`] reads a posting's application form
//! (`GET /postings/:id/apply`), cached alike, for the question set.
//!
//! Every Lever call goes through the [`LeverClient`] the reader is built
//! with: the process-wide token bucket (10 req/s, bursts of 20), back-off on
//! 429 honouring `Retry-After`, Basic or OAuth auth. One reader (behind an
//! `Arc`) serves every worker of a process.
//!
//! When the event carries its media, Lever is read for enrichment only: a
//! Lever failure then leaves the posting unknown (logged) rather than
//! failing the interview. When Lever is the only way to the media, its
//! failure fails the event (`lever_read_failed`, `lever_not_found`).
//!
//! Logs carry ids and counts, never candidate data or transcript text.

mod cache;
pub mod links;
mod provider;
mod reads;
pub mod refresh;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use panelflow_core::event::{InterviewCompleted, MediaItem};

use super::client::{LeverClient, LeverError};
use cache::TtlCache;
use provider::Providers;
use refresh::{merge_fresh, refresher_name};

/// `[context]`: how the context stage reads Lever and the platforms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextSection {
    /// How long a fetched posting, requisition, contact or opportunity is
    /// reused, seconds.
    pub cache_ttl_s: u64,
    /// Most objects kept in the cache.
    pub cache_max_entries: usize,
    /// Fetch the candidate's contact.
    pub fetch_contact: bool,
    /// Fetch the requisition.
    pub fetch_requisition: bool,
    /// A signed media URL expiring within this many seconds counts as expired.
    pub expiry_margin_s: u64,
    /// Per platform (`willo`, `sparkhire`, `hirevue`, `hireflix`), the API
    /// that returns its interview with fresh media URLs.
    pub providers: BTreeMap<String, ProviderApiSection>,
}

impl Default for ContextSection {
    fn default() -> Self {
        Self {
            cache_ttl_s: 300,
            cache_max_entries: 10_000,
            fetch_contact: true,
            fetch_requisition: true,
            expiry_margin_s: 30,
            providers: BTreeMap::new(),
        }
    }
}

/// How a platform's API is asked for an interview (`[context.providers.<source>]`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderApiSection {
    /// URL with `{ref}` standing for the event's `source_ref`.
    pub url: String,
    /// `GET` (default) or `POST`.
    pub method: Option<String>,
    /// JSON body for `POST` (e.g. a GraphQL query), `{ref}` substituted.
    pub body: Option<String>,
    /// JSON pointer to the interview object in the answer (default: the whole answer).
    pub pointer: Option<String>,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// How the key is sent: `authorization` (the raw header), `basic`
    /// (user name), `bearer`, or `x-api-key`.
    pub auth: String,
}

/// Why the context stage failed an interview.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// No recording was found anywhere.
    #[error("no media: {0}")]
    NoMedia(String),
    /// Signed media URLs had expired and could not be refreshed.
    #[error("media URLs expired: {0}")]
    MediaExpired(String),
    /// Lever failed where it was the only way to the media.
    #[error(transparent)]
    Lever(#[from] LeverError),
}

impl ContextError {
    /// The stable short code recorded with the failure.
    pub fn code(&self) -> &'static str {
        match self {
            ContextError::NoMedia(_) => "no_media",
            ContextError::MediaExpired(_) => "media_expired",
            ContextError::Lever(e) if e.status() == Some(404) => "lever_not_found",
            ContextError::Lever(_) => "lever_read_failed",
        }
    }
}

/// Counts since start (requests actually sent, not cache hits).
#[derive(Debug, Default)]
struct Counters {
    opportunity: AtomicU64,
    contact: AtomicU64,
    posting: AtomicU64,
    posting_questions: AtomicU64,
    requisition: AtomicU64,
    lever_media: AtomicU64,
    provider: AtomicU64,
    cache_hits: AtomicU64,
    refreshed: AtomicU64,
    expired: AtomicU64,
}

/// A snapshot of [`ContextReader`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ContextStats {
    /// Opportunity reads sent to Lever.
    pub opportunity_fetches: u64,
    /// Contact reads sent to Lever.
    pub contact_fetches: u64,
    /// Posting reads sent to Lever.
    pub posting_fetches: u64,
    /// Application-question reads sent to Lever.
    pub posting_question_fetches: u64,
    /// Requisition reads sent to Lever.
    pub requisition_fetches: u64,
    /// Reads of interviews, files and notes looking for recordings.
    pub lever_media_fetches: u64,
    /// Reads of platform APIs.
    pub provider_fetches: u64,
    /// Objects served from the cache.
    pub cache_hits: u64,
    /// Media items refreshed after their URL expired.
    pub media_refreshed: u64,
    /// Events failed with `media_expired`.
    pub media_expired: u64,
}

/// What [`ContextReader::read`] found for one interview: its media (fresh)
/// and the Lever objects read.
#[derive(Debug, Clone, Default)]
pub struct ContextRead {
    /// The recordings to analyse, in order.
    pub media: Vec<MediaItem>,
    /// The Lever opportunity object.
    pub opportunity: Option<Arc<Value>>,
    /// The candidate's Lever contact object.
    pub contact: Option<Arc<Value>>,
    /// The Lever posting object of the opportunity's application.
    pub posting: Option<Arc<Value>>,
    /// The Lever requisition object.
    pub requisition: Option<Arc<Value>>,
    /// Media items whose expired URL was replaced by a fresh one.
    pub refreshed_media: usize,
}

/// The context reads of a process: Lever (cached) and the platforms' APIs.
pub struct ContextReader {
    lever: Option<LeverClient>,
    settings: ContextSection,
    providers: Providers,
    cache: TtlCache,
    counters: Counters,
}

impl std::fmt::Debug for ContextReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextReader")
            .field("lever", &self.lever.as_ref().map(LeverClient::base_url))
            .field("providers", &self.providers.names())
            .field("stats", &self.stats())
            .finish()
    }
}

impl ContextReader {
    /// The reader `[context]` describes; `lever` is `None` when no Lever
    /// credentials are configured (then only the event's own media and the
    /// platforms' APIs are used). Platform API keys are read from the
    /// environment now.
    ///
    /// ```
    /// use panelflow_connectors::lever::context::{ContextReader, ContextSection};
    /// let reader = ContextReader::new(&ContextSection::default(), None);
    /// assert!(reader.lever().is_none());
    /// assert_eq!(reader.stats().cache_hits, 0);
    /// ```
    pub fn new(settings: &ContextSection, lever: Option<LeverClient>) -> Self {
        Self {
            lever,
            cache: TtlCache::new(
                Duration::from_secs(settings.cache_ttl_s),
                settings.cache_max_entries,
            ),
            providers: Providers::new(&settings.providers),
            settings: settings.clone(),
            counters: Counters::default(),
        }
    }

    /// The Lever client in use, if any.
    pub fn lever(&self) -> Option<&LeverClient> {
        self.lever.as_ref()
    }

    /// Counters since start.
    pub fn stats(&self) -> ContextStats {
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ContextStats {
            opportunity_fetches: n(&c.opportunity),
            contact_fetches: n(&c.contact),
            posting_fetches: n(&c.posting),
            posting_question_fetches: n(&c.posting_questions),
            requisition_fetches: n(&c.requisition),
            lever_media_fetches: n(&c.lever_media),
            provider_fetches: n(&c.provider),
            cache_hits: n(&c.cache_hits),
            media_refreshed: n(&c.refreshed),
            media_expired: n(&c.expired),
        }
    }

    /// Reads the Lever objects and the media of one interview as of `now`
    /// (for expiry checks; see the module docs).
    pub fn read(
        &self,
        event: &InterviewCompleted,
        now: DateTime<Utc>,
    ) -> Result<ContextRead, ContextError> {
        let provider_api = self.providers.has(&event.source) && event.source_ref.is_some();
        let lever_needed = event.media.is_empty() && !provider_api;

        // 1. Lever objects.
        let mut ctx = ContextRead::default();
        let mut application: Option<Value> = None;
        if let Some(client) = &self.lever {
            match self.opportunity(client, &event.opportunity_id) {
                Ok(opp) => {
                    application = self.application(client, &opp);
                    ctx.opportunity = Some(opp);
                }
                Err(e) if lever_needed => return Err(ContextError::Lever(e)),
                Err(e) => {
                    tracing::warn!(opportunity_id = %event.opportunity_id, error = %e, "opportunity not read; continuing without Lever context");
                }
            }
            if let Some(opp) = ctx.opportunity.clone() {
                self.enrich(client, event, &opp, application.as_ref(), &mut ctx);
            }
        }

        // 2. Media.
        let mut media = event.media.clone();
        if media.is_empty() && provider_api {
            match self.provider_media(event) {
                Ok(found) => media = found,
                Err(reason) if self.lever.is_none() => {
                    return Err(ContextError::NoMedia(reason));
                }
                Err(reason) => {
                    tracing::warn!(source = %event.source, %reason, "platform API gave no media; trying Lever");
                }
            }
        }
        if media.is_empty() {
            if let (Some(client), Some(opp)) = (&self.lever, ctx.opportunity.clone()) {
                media = self.lever_media(client, event, &opp)?;
            }
        }
        if media.is_empty() {
            return Err(ContextError::NoMedia(match &self.lever {
                Some(_) => format!(
                    "the event names no media and no recording link was found on Lever opportunity {}",
                    event.opportunity_id
                ),
                None => "the event names no media and Lever is not configured".into(),
            }));
        }

        // 3. Expired signed URLs: refreshed once, else `media_expired`.
        let margin =
            chrono::Duration::seconds(i64::try_from(self.settings.expiry_margin_s).unwrap_or(0));
        let expired = |m: &MediaItem| {
            m.expires_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t.with_timezone(&Utc) <= now + margin)
        };
        if media.iter().any(expired) {
            let before = media.iter().filter(|m| expired(m)).count();
            match self.refresh(event, &media, ctx.opportunity.as_deref()) {
                Ok(fresh) => {
                    media = merge_fresh(media, fresh, &expired);
                    ctx.refreshed_media = before - media.iter().filter(|m| expired(m)).count();
                    self.counters
                        .refreshed
                        .fetch_add(ctx.refreshed_media as u64, Ordering::Relaxed);
                    if media.iter().any(expired) {
                        self.counters.expired.fetch_add(1, Ordering::Relaxed);
                        return Err(ContextError::MediaExpired(format!(
                            "{} of {} media URL(s) still expired after one refresh from the {} API",
                            media.iter().filter(|m| expired(m)).count(),
                            media.len(),
                            refresher_name(event, self.providers.has(&event.source))
                        )));
                    }
                    tracing::info!(
                        refreshed = ctx.refreshed_media,
                        "expired media URLs refreshed"
                    );
                }
                Err(reason) => {
                    self.counters.expired.fetch_add(1, Ordering::Relaxed);
                    return Err(ContextError::MediaExpired(format!(
                        "{before} media URL(s) expired; refresh failed: {reason}"
                    )));
                }
            }
        }
        ctx.media = media;
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        assert_eq!(ContextError::NoMedia("x".into()).code(), "no_media");
        assert_eq!(
            ContextError::MediaExpired("x".into()).code(),
            "media_expired"
        );
    }
}
