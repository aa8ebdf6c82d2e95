//! The `context` stage: what panelflow needs to know about an interview
//! besides its recordings, read from Lever (and, for fresh media URLs, from
//! the interview platform).
//!
//! For each event, [`LeverContext::resolve`]:
//!
//! 1. reads the **opportunity** (`GET /opportunities/:id?expand=applications`),
//!    its **contact** (`GET /contacts/:id`), the **posting** of its
//!    application (`GET /postings/:id`) with the posting's **application
//!    questions** (`GET /postings/:id/apply`), and the **requisition**
//!    (`GET /requisitions/:id` from the application's `requisitionForHire`,
//!    else `GET /requisitions?requisition_code=` with the posting's first
//!    requisition code). Lists follow `{data, hasNext, next}` paging.
//!    Every object is kept in a TTL cache by id ([`ContextSection::cache_ttl_s`]),
//!    and concurrent misses for one key wait for a single request, so a
//!    burst of interviews for one posting reads the posting once;
//! 2. finds the **media**: the event's own; else the platform's API
//!    (`[context.providers.<source>]`, by the event's `source_ref`); else,
//!    through Lever, a recording link on the Lever interview (its note or
//!    location), on the opportunity (`links`, `files`), or in its notes (a
//!    link pasted in a note, an e-mail logged from the e-mail dropbox);
//! 3. **refreshes expired signed URLs** once: media whose `expires_at` is
//!    past (or within [`ContextSection::expiry_margin_s`]) are read again
//!    from the platform's API (or from Lever for Lever-found links); if that
//!    fails or the new URLs are expired too, the event fails with
//!    `media_expired`;
//! 4. chooses the **question set**: the platform's (the event's `questions`,
//!    or its per-answer media), else the posting's application questions,
//!    else the job family's (`[rubrics.<family>] questions`, the family
//!    chosen from the posting's tags and categories, the platform's question
//!    ids, or `analysis.default_family`).
//!
//! Every Lever call goes through the [`LeverClient`] the context is built
//! with: the process-wide token bucket (10 req/s, bursts of 20), back-off on
//! 429 honouring `Retry-After`, Basic or OAuth auth. One [`LeverContext`]
//! (behind an `Arc`) serves every worker of a process.
//!
//! When the event carries its media, Lever is read for enrichment only: a
//! Lever failure then leaves the posting and question set unknown (logged)
//! rather than failing the interview. When Lever is the only way to the
//! media, its failure fails the event (`lever_read_failed`,
//! `lever_not_found`).
//!
//! Logs carry ids and counts, never candidate data or transcript text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::PipelineConfig;
use panelflow_connectors::lever::client::{LeverClient, LeverError};
use panelflow_connectors::lever::{ContextSection, ProviderApiSection};
use panelflow_core::event::{InterviewCompleted, MediaItem};
use panelflow_core::webhook::recording_link;
use panelflow_models::analysis::analyzer::Context as AnalysisContext;
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::rubric::Rubrics;

/// Marker of panelflow's own notes (never searched for recording links).
const OWN_NOTE_MARKER: &str = "panelflow-correlation-id";
/// Time-out of a platform API call.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an interview's question set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionSetSource {
    /// The platform's payload.
    Provider,
    /// The Lever posting's application questions.
    Posting,
    /// The pipeline config's question set for the job family.
    JobFamily,
    /// No question set is known.
    None,
}

impl QuestionSetSource {
    /// The name used in logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionSetSource::Provider => "provider",
            QuestionSetSource::Posting => "posting",
            QuestionSetSource::JobFamily => "job_family",
            QuestionSetSource::None => "none",
        }
    }
}

/// Everything the context stage found for one interview.
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    /// The recordings to analyse (question texts filled in from the question
    /// set where the platform gave only ids).
    pub media: Vec<MediaItem>,
    /// The question set, in interview order.
    pub questions: Vec<Question>,
    /// Where the question set came from.
    pub question_set: QuestionSetSource,
    /// The job family (a key of `[rubrics]`), when known.
    pub family: Option<String>,
    /// The posting, as the analysis reads it.
    pub posting: Option<Posting>,
    /// The Lever opportunity object.
    pub opportunity: Option<Arc<Value>>,
    /// The candidate's Lever contact object.
    pub contact: Option<Arc<Value>>,
    /// The Lever posting object.
    pub posting_object: Option<Arc<Value>>,
    /// The Lever requisition object.
    pub requisition: Option<Arc<Value>>,
    /// Media items whose expired URL was replaced by a fresh one.
    pub refreshed_media: usize,
}

impl ResolvedContext {
    /// The analysis' view: the question list for a single recording (per
    /// answer media name their own questions), the posting and the family.
    pub fn analysis(&self) -> AnalysisContext<'_> {
        let single = self.media.len() == 1 && self.media[0].question_id.is_none();
        AnalysisContext {
            questions: if single { &self.questions } else { &[] },
            posting: self.posting.as_ref(),
            family: self.family.as_deref(),
        }
    }
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

/// A snapshot of [`LeverContext`]'s counters.
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

/// One cache entry: fetched once at a time (single flight), reused until
/// its TTL passes.
#[derive(Default)]
struct Slot {
    value: Mutex<Option<(Instant, Arc<Value>)>>,
}

/// A TTL cache of Lever objects by key, with single-flight fetches.
struct TtlCache {
    ttl: Duration,
    max_entries: usize,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TtlCache {
    fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries: max_entries.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value, or `fetch`'s (stored). `Ok(None)`-free: errors are
    /// not cached. Returns whether it was a hit.
    fn get_or_fetch<E>(
        &self,
        key: &str,
        fetch: impl FnOnce() -> Result<Value, E>,
    ) -> Result<(Arc<Value>, bool), E> {
        let slot = {
            let mut slots = lock(&self.slots);
            if slots.len() >= self.max_entries && !slots.contains_key(key) {
                self.evict(&mut slots);
            }
            slots.entry(key.to_string()).or_default().clone()
        };
        // Held while fetching: a second caller for the same key waits here
        // and then finds the value.
        let mut value = lock(&slot.value);
        if let Some((at, v)) = value.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok((v.clone(), true));
            }
        }
        let fresh = Arc::new(fetch()?);
        *value = Some((Instant::now(), fresh.clone()));
        Ok((fresh, false))
    }

    /// Drops expired and empty entries; when still full, the oldest half.
    fn evict(&self, slots: &mut HashMap<String, Arc<Slot>>) {
        let mut ages: Vec<(String, Option<Instant>)> = slots
            .iter()
            .map(|(k, s)| {
                // An entry being fetched right now is kept.
                let at = match s.value.try_lock() {
                    Ok(v) => v.as_ref().map(|(at, _)| *at),
                    Err(_) => Some(Instant::now()),
                };
                (k.clone(), at)
            })
            .collect();
        ages.retain(|(k, at)| match at {
            Some(at) if at.elapsed() < self.ttl => true,
            _ => {
                slots.remove(k);
                false
            }
        });
        if slots.len() >= self.max_entries {
            ages.sort_by_key(|(_, at)| *at);
            for (k, _) in ages.iter().take(ages.len().div_ceil(2)) {
                slots.remove(k);
            }
        }
    }

    /// Forgets one key (to read it again on purpose).
    fn forget(&self, key: &str) {
        lock(&self.slots).remove(key);
    }
}

/// A platform API, ready to call.
struct ProviderApi {
    section: ProviderApiSection,
    key: Option<String>,
}

/// The context stage, shared by every worker of a process.
pub struct LeverContext {
    lever: Option<LeverClient>,
    settings: ContextSection,
    rubrics: Rubrics,
    default_family: Option<String>,
    providers: HashMap<String, ProviderApi>,
    http: Option<reqwest::blocking::Client>,
    cache: TtlCache,
    counters: Counters,
}

impl std::fmt::Debug for LeverContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeverContext")
            .field("lever", &self.lever.as_ref().map(LeverClient::base_url))
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("stats", &self.stats())
            .finish()
    }
}

impl LeverContext {
    /// The stage for a pipeline; `lever` is `None` when no Lever credentials
    /// are configured (then only the event's own media and the platforms'
    /// APIs are used). Platform API keys are read from the environment now.
    pub fn new(cfg: &PipelineConfig, lever: Option<LeverClient>) -> Self {
        let settings = cfg.context.clone();
        let providers: HashMap<String, ProviderApi> = settings
            .providers
            .iter()
            .filter(|(_, p)| !p.url.trim().is_empty())
            .map(|(name, p)| {
                let key = (!p.api_key_env.is_empty())
                    .then(|| std::env::var(&p.api_key_env).ok())
                    .flatten()
                    .filter(|k| !k.is_empty());
                if key.is_none() && !p.api_key_env.is_empty() {
                    tracing::warn!(source = %name, env = %p.api_key_env, "no API key for the platform's API");
                }
                (name.clone(), ProviderApi { section: p.clone(), key })
            })
            .collect();
        let http = if providers.is_empty() {
            None
        } else {
            reqwest::blocking::Client::builder()
                .timeout(PROVIDER_TIMEOUT)
                .user_agent(concat!("panelflow/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the platform API client"))
                .ok()
        };
        Self {
            lever,
            cache: TtlCache::new(
                Duration::from_secs(settings.cache_ttl_s),
                settings.cache_max_entries,
            ),
            settings,
            rubrics: cfg.rubrics.clone(),
            default_family: cfg.analysis.default_family.clone(),
            providers,
            http,
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

    /// Resolves the context of one interview (see the module docs).
    pub fn resolve(&self, event: &InterviewCompleted) -> Result<ResolvedContext, ContextError> {
        self.resolve_at(event, Utc::now())
    }

    /// [`resolve`](Self::resolve) as of `now` (for expiry checks).
    pub fn resolve_at(
        &self,
        event: &InterviewCompleted,
        now: DateTime<Utc>,
    ) -> Result<ResolvedContext, ContextError> {
        let provider_api = self.providers.contains_key(&event.source) && event.source_ref.is_some();
        let lever_needed = event.media.is_empty() && !provider_api;

        // 1. Lever objects.
        let mut ctx = ResolvedContext {
            media: Vec::new(),
            questions: Vec::new(),
            question_set: QuestionSetSource::None,
            family: None,
            posting: None,
            opportunity: None,
            contact: None,
            posting_object: None,
            requisition: None,
            refreshed_media: 0,
        };
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
                            refresher_name(event, self.providers.contains_key(&event.source))
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

        // 4. The question set.
        self.choose_questions(event, &media, &mut ctx);
        for m in &mut media {
            if m.question_text.is_none() {
                if let Some(q) = m
                    .question_id
                    .as_ref()
                    .and_then(|id| ctx.questions.iter().find(|q| &q.id == id))
                {
                    m.question_text = Some(q.text.clone()).filter(|t| !t.is_empty());
                }
            }
        }
        ctx.media = media;
        tracing::debug!(
            media = ctx.media.len(),
            questions = ctx.questions.len(),
            question_set = ctx.question_set.as_str(),
            family = ctx.family.as_deref().unwrap_or("-"),
            "context resolved"
        );
        Ok(ctx)
    }

    fn cached(
        &self,
        key: &str,
        counter: &AtomicU64,
        fetch: impl FnOnce() -> Result<Value, LeverError>,
    ) -> Result<Arc<Value>, LeverError> {
        let (value, hit) = self.cache.get_or_fetch(key, || {
            counter.fetch_add(1, Ordering::Relaxed);
            fetch()
        })?;
        if hit {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(value)
    }

    fn opportunity(&self, client: &LeverClient, id: &str) -> Result<Arc<Value>, LeverError> {
        self.cached(
            &format!("opportunities/{id}"),
            &self.counters.opportunity,
            || client.get_object(&["opportunities", id], &[("expand", "applications")]),
        )
    }

    /// The opportunity's (first posting) application: expanded in the
    /// opportunity, else listed.
    fn application(&self, client: &LeverClient, opp: &Value) -> Option<Value> {
        let apps = opp.get("applications").and_then(Value::as_array)?;
        let expanded = apps
            .iter()
            .filter(|a| a.is_object())
            .find(|a| a.get("posting").and_then(Value::as_str).is_some())
            .or_else(|| apps.iter().find(|a| a.is_object()));
        if let Some(a) = expanded {
            return Some(a.clone());
        }
        // Ids only (no expansion): list them.
        let opp_id = opp.get("id").and_then(Value::as_str)?;
        if apps.is_empty() {
            return None;
        }
        match client.list(&["opportunities", opp_id, "applications"], &[]) {
            Ok(list) => list
                .into_iter()
                .find(|a| a.get("posting").and_then(Value::as_str).is_some()),
            Err(e) => {
                tracing::warn!(opportunity_id = %opp_id, error = %e, "applications not read");
                None
            }
        }
    }

    /// Contact, posting (+ questions) and requisition: best effort.
    fn enrich(
        &self,
        client: &LeverClient,
        event: &InterviewCompleted,
        opp: &Value,
        application: Option<&Value>,
        ctx: &mut ResolvedContext,
    ) {
        if self.settings.fetch_contact {
            let contact_id = opp
                .get("contact")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    (event.candidate_id != event.opportunity_id).then(|| event.candidate_id.clone())
                });
            if let Some(id) = contact_id.filter(|c| !c.is_empty()) {
                match self.cached(&format!("contacts/{id}"), &self.counters.contact, || {
                    client.get_object(&["contacts", &id], &[])
                }) {
                    Ok(c) => ctx.contact = Some(c),
                    Err(e) => tracing::warn!(error = %e, "contact not read"),
                }
            }
        }
        let posting_id = application
            .and_then(|a| a.get("posting"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        if let Some(pid) = &posting_id {
            match self.cached(&format!("postings/{pid}"), &self.counters.posting, || {
                client.get_object(&["postings", pid], &[])
            }) {
                Ok(p) => {
                    ctx.posting = Some(Posting::from_lever(&p));
                    ctx.posting_object = Some(p);
                }
                Err(e) => tracing::warn!(posting_id = %pid, error = %e, "posting not read"),
            }
        }
        if self.settings.fetch_requisition {
            let by_id = application
                .and_then(|a| a.get("requisitionForHire"))
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            let by_code = ctx
                .posting_object
                .as_ref()
                .and_then(|p| p.get("requisitionCodes"))
                .and_then(Value::as_array)
                .and_then(|codes| {
                    codes
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|c| !c.is_empty())
                })
                .map(str::to_string);
            let found = if let Some(rid) = by_id {
                self.cached(
                    &format!("requisitions/{rid}"),
                    &self.counters.requisition,
                    || client.get_object(&["requisitions", &rid], &[]),
                )
                .map(Some)
            } else if let Some(code) = by_code {
                self.cached(
                    &format!("requisitions?code={code}"),
                    &self.counters.requisition,
                    || {
                        let list =
                            client.list(&["requisitions"], &[("requisition_code", &code)])?;
                        Ok(list.into_iter().next().unwrap_or(Value::Null))
                    },
                )
                .map(|v| (!v.is_null()).then_some(v))
            } else {
                Ok(None)
            };
            match found {
                Ok(r) => ctx.requisition = r,
                Err(e) => tracing::warn!(error = %e, "requisition not read"),
            }
        }
    }

    /// The posting's application questions (open-text ones), cached.
    fn posting_questions(&self, posting_id: &str) -> Vec<Question> {
        let Some(client) = &self.lever else {
            return Vec::new();
        };
        match self.cached(
            &format!("postings/{posting_id}/apply"),
            &self.counters.posting_questions,
            || client.get_object(&["postings", posting_id, "apply"], &[]),
        ) {
            Ok(form) => application_questions(&form),
            Err(e) => {
                tracing::warn!(posting_id, error = %e, "application questions not read");
                Vec::new()
            }
        }
    }

    fn choose_questions(
        &self,
        event: &InterviewCompleted,
        media: &[MediaItem],
        ctx: &mut ResolvedContext,
    ) {
        // The family: from the posting, else the platform's question ids, else the default.
        let posting_family = ctx.posting.as_ref().and_then(|p| {
            let mut labels = p.labels.clone();
            labels.push(p.title.clone());
            self.rubrics.by_labels(&labels).map(|(k, _)| k.to_string())
        });
        let provider: Vec<Question> = if !event.questions.is_empty() {
            event
                .questions
                .iter()
                .map(|q| Question {
                    id: q.id.clone(),
                    text: q.text.clone().unwrap_or_default(),
                })
                .collect()
        } else {
            let mut qs: Vec<Question> = Vec::new();
            for m in media {
                if let Some(id) = &m.question_id {
                    if !qs.iter().any(|q| &q.id == id) {
                        qs.push(Question {
                            id: id.clone(),
                            text: m.question_text.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            qs
        };
        let id_family = || {
            let ids: Vec<&str> = provider.iter().map(|q| q.id.as_str()).collect();
            self.rubrics.by_questions(&ids).map(|(k, _)| k.to_string())
        };
        ctx.family = posting_family.or_else(id_family).or_else(|| {
            self.default_family
                .clone()
                .filter(|f| self.rubrics.0.contains_key(f))
        });
        let family_questions = || -> Vec<Question> {
            ctx.family
                .as_ref()
                .and_then(|f| self.rubrics.0.get(f))
                .map(|f| f.questions.clone())
                .unwrap_or_default()
        };
        if !provider.is_empty() {
            // Texts the platform left out, from the other sets by id.
            let mut known = family_questions();
            if let Some(p) = ctx.posting.as_ref().filter(|p| !p.id.is_empty()) {
                known.extend(self.posting_questions(&p.id));
            }
            ctx.questions = provider
                .into_iter()
                .map(|mut q| {
                    if q.text.is_empty() {
                        if let Some(k) = known.iter().find(|k| k.id == q.id) {
                            q.text = k.text.clone();
                        }
                    }
                    q
                })
                .collect();
            ctx.question_set = QuestionSetSource::Provider;
            return;
        }
        if let Some(p) = ctx.posting.as_ref().filter(|p| !p.id.is_empty()) {
            let qs = self.posting_questions(&p.id);
            if !qs.is_empty() {
                ctx.questions = qs;
                ctx.question_set = QuestionSetSource::Posting;
                return;
            }
        }
        let qs = family_questions();
        if !qs.is_empty() {
            ctx.questions = qs;
            ctx.question_set = QuestionSetSource::JobFamily;
        }
    }

    /// Recording links found through Lever: the Lever interview, the
    /// opportunity's links and files, then its notes (first place that has any).
    fn lever_media(
        &self,
        client: &LeverClient,
        event: &InterviewCompleted,
        opp: &Value,
    ) -> Result<Vec<MediaItem>, ContextError> {
        let as_media = |urls: Vec<String>| -> Vec<MediaItem> {
            urls.into_iter()
                .map(|url| MediaItem {
                    url,
                    question_id: None,
                    question_text: None,
                    expires_at: None,
                })
                .collect()
        };
        let opp_id = event.opportunity_id.as_str();
        let is_interview_event = event.source == panelflow_core::webhook::lever::SOURCE
            && matches!(
                event.source_event.as_deref(),
                Some("interviewCreated" | "interviewUpdated")
            );
        if is_interview_event {
            self.counters.lever_media.fetch_add(1, Ordering::Relaxed);
            match client.get_object(
                &["opportunities", opp_id, "interviews", &event.interview_id],
                &[],
            ) {
                Ok(interview) => {
                    let links = recording_link::find_in_json(&interview);
                    if !links.is_empty() {
                        return Ok(as_media(links));
                    }
                }
                Err(e) if e.status() == Some(404) => {
                    tracing::info!(opportunity_id = %opp_id, "Lever interview not found; looking on the opportunity");
                }
                Err(e) => return Err(ContextError::Lever(e)),
            }
        }
        let mut links = opportunity_links(opp);
        if links.is_empty() {
            self.counters.lever_media.fetch_add(1, Ordering::Relaxed);
            match client.list(&["opportunities", opp_id, "files"], &[]) {
                Ok(files) => links.extend(file_links(&files)),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(ContextError::Lever(e)),
            }
        }
        if links.is_empty() {
            self.counters.lever_media.fetch_add(1, Ordering::Relaxed);
            let notes = client.list_notes(opp_id)?;
            for n in notes
                .iter()
                .filter(|n| !n.value_text.contains(OWN_NOTE_MARKER))
            {
                for l in recording_link::find_recording_links(&n.value_text) {
                    if !links.contains(&l) {
                        links.push(l);
                    }
                }
            }
        }
        Ok(as_media(links))
    }

    /// Fresh media for an event whose URLs expired: the platform's API when
    /// configured, else Lever (for links found there). Called once per event.
    fn refresh(
        &self,
        event: &InterviewCompleted,
        media: &[MediaItem],
        opp: Option<&Value>,
    ) -> Result<Vec<MediaItem>, String> {
        if self.providers.contains_key(&event.source) {
            return self.provider_media(event);
        }
        let from_lever = matches!(
            event.source.as_str(),
            panelflow_core::webhook::lever::SOURCE | panelflow_core::webhook::generic::SOURCE
        );
        match (&self.lever, from_lever) {
            (Some(client), true) => {
                // Read the opportunity again, past the cache.
                let key = format!("opportunities/{}", event.opportunity_id);
                self.cache.forget(&key);
                let opp = self
                    .opportunity(client, &event.opportunity_id)
                    .map_err(|e| e.to_string())
                    .or_else(|e| opp.map(|o| Arc::new(o.clone())).ok_or(e))?;
                let fresh = self
                    .lever_media(client, event, &opp)
                    .map_err(|e| e.to_string())?;
                if fresh.len() == media.len() || media.iter().all(|m| m.question_id.is_some()) {
                    Ok(fresh)
                } else {
                    Err(format!(
                        "Lever lists {} recording(s) where the event had {}",
                        fresh.len(),
                        media.len()
                    ))
                }
            }
            _ => Err(format!(
                "no API configured to refresh `{}` media ([context.providers.{}])",
                event.source, event.source
            )),
        }
    }

    /// The media of the event's interview as the platform's API returns it.
    fn provider_media(&self, event: &InterviewCompleted) -> Result<Vec<MediaItem>, String> {
        let api = self
            .providers
            .get(&event.source)
            .ok_or_else(|| format!("no API configured for `{}`", event.source))?;
        let reference = event
            .source_ref
            .as_deref()
            .ok_or_else(|| "the event carries no `source_ref`".to_string())?;
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        self.counters.provider.fetch_add(1, Ordering::Relaxed);
        let object = call_provider(http, api, reference)?;
        let media = panelflow_core::webhook::provider::media_from_api(&event.source, &object)
            .ok_or_else(|| format!("no reader for `{}` API answers", event.source))?
            .map_err(|e| e.to_string())?;
        tracing::info!(source = %event.source, media = media.len(), "media read from the platform's API");
        Ok(media)
    }
}

fn refresher_name(event: &InterviewCompleted, provider: bool) -> String {
    if provider {
        event.source.clone()
    } else {
        "Lever".into()
    }
}

/// Replaces expired items by fresh ones: same question id, else same place.
fn merge_fresh(
    media: Vec<MediaItem>,
    fresh: Vec<MediaItem>,
    expired: &dyn Fn(&MediaItem) -> bool,
) -> Vec<MediaItem> {
    let n = media.len();
    media
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            if !expired(&m) {
                return m;
            }
            let by_question = m
                .question_id
                .as_ref()
                .and_then(|q| fresh.iter().find(|f| f.question_id.as_ref() == Some(q)));
            let by_place = (fresh.len() == n).then(|| &fresh[i]);
            match by_question.or(by_place) {
                Some(f) => MediaItem {
                    url: f.url.clone(),
                    question_id: m.question_id.clone().or_else(|| f.question_id.clone()),
                    question_text: m.question_text.clone().or_else(|| f.question_text.clone()),
                    expires_at: f.expires_at.clone(),
                },
                None => m,
            }
        })
        .collect()
}

/// Calls a platform's API for one interview and returns the object at its
/// pointer.
fn call_provider(
    http: &reqwest::blocking::Client,
    api: &ProviderApi,
    reference: &str,
) -> Result<Value, String> {
    let s = &api.section;
    let encoded: String = url::form_urlencoded::byte_serialize(reference.as_bytes()).collect();
    let url = s.url.replace("{ref}", &encoded);
    let method = s.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let mut req = match method.as_str() {
        "GET" => http.get(&url),
        "POST" => {
            let escaped = serde_json::to_string(reference).map_err(|e| e.to_string())?;
            let inner = escaped.trim_matches('"');
            let body = s.body.as_deref().unwrap_or("{}").replace("{ref}", inner);
            http.post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
        }
        other => return Err(format!("unsupported method {other}")),
    };
    req = req.header(reqwest::header::ACCEPT, "application/json");
    if let Some(key) = &api.key {
        req = match s.auth.as_str() {
            "basic" => req.basic_auth(key, Some("")),
            "bearer" => req.bearer_auth(key),
            "x-api-key" => req.header("X-API-KEY", key),
            _ => req.header(reqwest::header::AUTHORIZATION, key),
        };
    }
    let resp = req.send().map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body: Value = resp
        .json()
        .map_err(|e| format!("answer is not JSON: {e}"))?;
    match s.pointer.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => body
            .pointer(p)
            .cloned()
            .ok_or_else(|| format!("no `{p}` in the answer")),
        None => Ok(body),
    }
}

/// Recording links on an opportunity object (`links`, `files[].downloadUrl`).
pub fn opportunity_links(opp: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in opp
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(s) = l.as_str() {
            for found in recording_link::find_recording_links(s) {
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
    }
    if let Some(files) = opp.get("files").and_then(Value::as_array) {
        for l in file_links(files) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// The download links of Lever file objects that are recordings (by URL,
/// name or extension).
pub fn file_links(files: &[Value]) -> Vec<String> {
    let media_name = |s: &str| {
        let lower = s.to_ascii_lowercase();
        recording_link::MEDIA_EXTENSIONS
            .iter()
            .any(|e| lower.ends_with(e))
    };
    files
        .iter()
        .filter_map(|f| {
            let url = f
                .get("downloadUrl")
                .or_else(|| f.get("url"))
                .and_then(Value::as_str)?;
            let parsed = url::Url::parse(url).ok()?;
            let by_url = recording_link::is_recording_link(&parsed);
            let by_name = f
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(media_name);
            let by_ext = f
                .get("ext")
                .and_then(Value::as_str)
                .is_some_and(|e| media_name(&format!(".{}", e.trim_start_matches('.'))));
            (matches!(parsed.scheme(), "http" | "https") && (by_url || by_name || by_ext))
                .then(|| parsed.to_string())
        })
        .collect()
}

/// The open-text questions of a posting's application form
/// (`GET /postings/:id/apply` → `customQuestions[].fields[]`), in order.
pub fn application_questions(form: &Value) -> Vec<Question> {
    let mut out = Vec::new();
    for cq in form
        .get("customQuestions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cq_id = cq.get("id").and_then(Value::as_str).unwrap_or("custom");
        for (i, f) in cq
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = f.get("type").and_then(Value::as_str).unwrap_or("textarea");
            if !matches!(kind, "textarea" | "text" | "video") {
                continue;
            }
            let Some(text) = f
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty())
            else {
                continue;
            };
            let id = f
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{cq_id}:{i}"));
            out.push(Question {
                id,
                text: text.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cache_is_single_flight_and_expires() {
        let cache = Arc::new(TtlCache::new(Duration::from_millis(200), 10));
        let calls = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                std::thread::spawn(move || {
                    cache
                        .get_or_fetch::<()>("postings/p", || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(json!({"id": "p"}))
                        })
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        std::thread::sleep(Duration::from_millis(250));
        let (_, hit) = cache
            .get_or_fetch::<()>("postings/p", || Ok(json!({})))
            .unwrap();
        assert!(!hit, "expired entries are fetched again");
        // Errors are not cached.
        assert!(cache.get_or_fetch("x", || Err::<Value, _>("down")).is_err());
        let (_, hit) = cache.get_or_fetch::<()>("x", || Ok(json!(1))).unwrap();
        assert!(!hit);
    }

    #[test]
    fn cache_stays_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60), 4);
        for i in 0..20 {
            cache
                .get_or_fetch::<()>(&format!("k{i}"), || Ok(json!(i)))
                .unwrap();
        }
        assert!(lock(&cache.slots).len() <= 4);
    }

    #[test]
    fn application_questions_keep_open_text_fields_in_order() {
        let form = json!({"data": null, "customQuestions": [
        {"id": "cq1", "fields": [
            {"type": "multiple-choice", "text": "Work authorization?"},
            {"type": "textarea", "text": "Tell us about your support experience.", "id": "f1"},
            {"type": "textarea", "text": "How do you handle many tickets?"}
        ]}]});
        let qs = application_questions(&form);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].id, "f1");
        assert_eq!(qs[1].id, "cq1:2");
    }

    #[test]
    fn files_and_links_that_are_recordings() {
        let opp = json!({"links": ["https://github.com/x", "see https://v.example/a.webm"],
            "files": [{"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f1/download", "name": "interview.MP4"},
                      {"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f2/download", "name": "resume.pdf"},
                      {"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f3/download", "ext": "m4a"}]});
        let links = opportunity_links(&opp);
        assert_eq!(links.len(), 3, "{links:?}");
        assert_eq!(links[0], "https://v.example/a.webm");
    }

    #[test]
    fn fresh_media_replace_expired_ones_by_question_then_place() {
        let m = |url: &str, q: Option<&str>, exp: Option<&str>| MediaItem {
            url: url.into(),
            question_id: q.map(str::to_string),
            question_text: None,
            expires_at: exp.map(str::to_string),
        };
        let old = vec![
            m("https://o/1", Some("q1"), Some("2000-01-01T00:00:00Z")),
            m("https://o/2", Some("q2"), None),
        ];
        let fresh = vec![
            m("https://n/2", Some("q2"), None),
            m("https://n/1", Some("q1"), Some("2999-01-01T00:00:00Z")),
        ];
        let expired = |x: &MediaItem| x.expires_at.as_deref() == Some("2000-01-01T00:00:00Z");
        let merged = merge_fresh(old, fresh, &expired);
        assert_eq!(merged[0].url, "https://n/1");
        assert_eq!(merged[1].url, "https://o/2", "items still valid are kept");
    }

    #[test]
    fn error_codes() {
        assert_eq!(ContextError::NoMedia("x".into()).code(), "no_media");
        assert_eq!(
            ContextError::MediaExpired("x".into()).code(),
            "media_expired"
        );
    }
}
