//! `panelflow ingest`: the webhook receiver.
//!
//! Routes:
//! - `POST /webhooks/{source}`: one [`WebhookSource`] per platform (`lever`,
//!   `generic`, `willo`, `sparkhire`, `hirevue`, `hireflix`, and whatever is
//!   registered with [`AppState::with_sources`]); an unknown source is 404;
//! - `POST /webhooks/{source}/{token}`: the same, with a secret path token,
//!   only for the sources listed in `[ingest] path_token_sources` (a path
//!   token signs nothing and puts the secret in URLs): 404 for the others;
//! - `GET /healthz`: 200 `{status: "ok", ready}` (`ready`: the broker answered
//!   the last probe and the topic exists). With `Authorization: Bearer
//!   <$PANELFLOW_INGEST_HEALTH_TOKEN>` it adds the broker's addresses, the
//!   last probe's error and the counters. The broker is probed in the
//!   background every few seconds, never per request.
//!
//! Answers to a webhook:
//!
//! | outcome | status | body |
//! | --- | --- | --- |
//! | produced and acknowledged by the broker | 202 | `{status: "accepted", interviewId, correlationId, partition, offset}` |
//! | a rating webhook, its ratings acknowledged on the ratings topic | 202 | `{status: "accepted", ratings: N}` |
//! | the same delivery again (same Lever token or body, same body) | 200 | `{status: "duplicate"}` — nothing produced |
//! | well-signed, but an event panelflow does not act on | 204 | — |
//! | malformed payload (bad JSON, nesting deeper than 128, missing or empty ids, wrong types, non-http(s) media) | 400 | `{error: reason}` |
//! | bad or missing signature; no secret configured for the source (fails closed); no signed time | 401 | `{error}` |
//! | stale or future `triggeredAt`/`timestamp` (a replay) | 401 | `{error}` |
//! | a Lever token (or a body) already used, with another body: a replay | 401 | `{error}` |
//! | a Lever delivery whose ids Lever's API contradicts | 401 | `{error}` |
//! | unknown source; path token for a source not allowed one | 404 | `{error}` |
//! | request not received in `request_timeout_s` (a slow upload) | 408 | `{error}` |
//! | an interview that was erased (tombstoned) | 410 | `{error}` |
//! | body larger than `ingest.max_body_bytes` | 413 | `{error}` |
//! | more than `max_concurrent_requests` at once | 503 | `{error}`, `Retry-After` |
//! | broker or Lever unreachable, or no acknowledgement within the time-out | 503 | `{error}` |
//!
//! Replays: every accepted delivery claims its [`ReplayKey`] (Lever's
//! single-use token, else the body's hash) in the replay store under
//! `[ingest] state_dir`, which every replica shares; the claim lasts the
//! age window plus the skew for deliveries with a signed time, and
//! `unsigned_replay_window_s` for the others (Hireflix, path tokens). A
//! delivery that is not stored (503) gives its claim back, so the platform's
//! retry goes through. Stale deliveries are 401, not 400: for Lever the
//! signature covers only the token and the time, so the age check is part
//! of authenticating the request, and a replay is refused like a forgery.
//!
//! Lever's body is not signed beyond the token and the time, so its ids are
//! hints checked against Lever's API (`[ingest] verify_lever`, on by
//! default): the opportunity must exist, the candidate is the opportunity's
//! `contact` as Lever has it, and a stage change must show in the
//! opportunity's stage or its stage changes.
//!
//! Logs carry ids only (source, interview id, correlation id, payload hash),
//! never payload text.

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

pub mod lever_poll;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use rdkafka::producer::Producer;
use serde::{Deserialize, Serialize};
use serde_json::json;

use panelflow_connectors::kafka::{self, KafkaIoError, KafkaSection};
use panelflow_connectors::lever::client::{LeverClient, LeverError};
use panelflow_connectors::lever::LeverSection;
use panelflow_connectors::store::replay::{Claim, ReplayError, ReplayStore};
use panelflow_core::event::InterviewCompleted;
use panelflow_core::webhook::{ReplayKey, SourceError, Verdict, WebhookRequest, WebhookSource};

/// `[ingest]`: the webhook receiver.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Webhooks whose signed time is older than this are refused as replays.
    pub max_age_s: u64,
    /// Largest webhook body accepted; at most half the broker's
    /// `message.max.bytes` (checked at start).
    pub max_body_bytes: usize,
    /// Per-source secrets; `PANELFLOW_<SOURCE>_SECRET` overrides.
    pub secrets: BTreeMap<String, String>,
    /// Data region of each source's tenant (data residency), when the
    /// payloads do not state one.
    pub regions: BTreeMap<String, String>,
    /// The replay store and the tombstones of erased interviews: a folder
    /// every replica of the receiver shares (a shared volume), and that
    /// `panelflow erase` writes to.
    pub state_dir: PathBuf,
    /// How long the body of a delivery without a signed time (Hireflix, a
    /// path token) is remembered.
    pub unsigned_replay_window_s: u64,
    /// Sources whose webhooks may authenticate with a secret path token
    /// (`/webhooks/<source>/<secret>`); none by default.
    pub path_token_sources: Vec<String>,
    /// Check a Lever delivery's ids against Lever's API (needs `[lever]`
    /// credentials); without it a Lever body's unsigned data is trusted.
    pub verify_lever: bool,
    /// Requests handled at once; more are answered 503.
    pub max_concurrent_requests: usize,
    /// Longest a request may take, body included (a slow upload is 408).
    pub request_timeout_s: u64,
    /// Environment variable holding the token that shows `/healthz`'s details.
    pub health_token_env: String,
}

impl std::fmt::Debug for IngestSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets.
        f.debug_struct("IngestSection")
            .field("max_age_s", &self.max_age_s)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("regions", &self.regions)
            .field("state_dir", &self.state_dir)
            .field("path_token_sources", &self.path_token_sources)
            .field("verify_lever", &self.verify_lever)
            .finish_non_exhaustive()
    }
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_age_s: 300,
            max_body_bytes: 256 << 10,
            secrets: BTreeMap::new(),
            regions: BTreeMap::new(),
            state_dir: PathBuf::from("out/ingest"),
            unsigned_replay_window_s: 30 * 24 * 3600,
            path_token_sources: Vec::new(),
            verify_lever: true,
            max_concurrent_requests: 64,
            request_timeout_s: 30,
            health_token_env: "PANELFLOW_INGEST_HEALTH_TOKEN".into(),
        }
    }
}

impl IngestSection {
    /// The secret for a source: `PANELFLOW_<SOURCE>_SECRET`, else the config.
    pub fn secret_for(&self, source: &str) -> Option<String> {
        let var = format!("PANELFLOW_{}_SECRET", source.to_ascii_uppercase());
        std::env::var(var)
            .ok()
            .or_else(|| self.secrets.get(source).cloned())
    }

    /// How long a delivery's replay key is remembered.
    pub fn replay_ttl_s(&self, key: &ReplayKey) -> u64 {
        if key.signed_time {
            let skew = u64::try_from(panelflow_core::webhook::generic::FUTURE_SKEW_S).unwrap_or(60);
            self.max_age_s.saturating_add(skew)
        } else {
            self.unsigned_replay_window_s
        }
    }
}

/// What the receiver needs of a pipeline: `[ingest]`, `[kafka]` and
/// `[lever] trigger_stages` (the pipeline config converts into it).
#[derive(Debug, Clone, Default)]
pub struct IngestConfig {
    /// `[ingest]`.
    pub ingest: IngestSection,
    /// `[kafka]`: the producer and the topics.
    pub kafka: KafkaSection,
    /// `[lever] trigger_stages`, for Lever's stage-change webhooks.
    pub lever_trigger_stages: Vec<String>,
    /// `[lever]`: the API a Lever delivery's ids are checked against.
    pub lever: LeverSection,
}

/// Errors starting the receiver.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The Kafka producer could not be created.
    #[error(transparent)]
    Kafka(#[from] KafkaIoError),
    /// The listener failed.
    #[error("http server failed: {0}")]
    Io(#[from] std::io::Error),
    /// The replay store could not be opened.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The configuration is unsafe or inconsistent.
    #[error("[ingest]: {0}")]
    Config(String),
}

/// Counters exposed by `/healthz`.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    ignored: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    stale: AtomicU64,
    replayed: AtomicU64,
    duplicate: AtomicU64,
    erased: AtomicU64,
    unavailable: AtomicU64,
    /// Well-signed events not acted on, per `source/event`.
    ignored_events: std::sync::Mutex<BTreeMap<String, u64>>,
}

/// The broker as the last background probe saw it.
#[derive(Debug, Clone, Default)]
struct Probe {
    reachable: bool,
    topic_present: bool,
    error: Option<String>,
    at: Option<chrono::DateTime<Utc>>,
}

/// The blocking Lever client, made and dropped off the async threads
/// (reqwest's blocking client must not be made or dropped in an async
/// context: it owns a runtime of its own).
struct LeverHandle(Option<LeverClient>);

impl Drop for LeverHandle {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = std::thread::spawn(move || drop(c));
        }
    }
}

struct Inner {
    cfg: IngestConfig,
    producer: kafka::EventProducer,
    sources: BTreeMap<&'static str, Arc<dyn WebhookSource>>,
    topics_ready: AtomicBool,
    counters: Counters,
    replay: ReplayStore,
    lever: LeverHandle,
    probe: std::sync::Mutex<Probe>,
    probing: AtomicBool,
}

/// Shared state of the receiver: config, the Kafka producer and the
/// registered sources. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("brokers", &self.inner.cfg.kafka.brokers)
            .field("topic", &self.inner.cfg.kafka.topic)
            .field("sources", &self.inner.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AppState {
    /// Creates the producer (it connects lazily) and registers the built-in
    /// sources (`lever`, `generic`).
    pub fn new(cfg: impl Into<IngestConfig>) -> Result<Self, IngestError> {
        Self::with_sources(cfg, Vec::new())
    }

    /// Like [`AppState::new`], plus `extra` sources (a source with the name of
    /// a built-in one replaces it).
    pub fn with_sources(
        cfg: impl Into<IngestConfig>,
        extra: Vec<Arc<dyn WebhookSource>>,
    ) -> Result<Self, IngestError> {
        let cfg: IngestConfig = cfg.into();
        check_limits(&cfg)?;
        let producer = kafka::EventProducer::new(&cfg.kafka)?;
        let replay = ReplayStore::open(&cfg.ingest.state_dir)?;
        let lever = if cfg.ingest.verify_lever {
            let section = cfg.lever.clone();
            let made = std::thread::spawn(move || {
                section.client(Arc::new(
                    panelflow_connectors::lever::ratelimit::TokenBucket::new(
                        section.rate_per_s,
                        section.burst,
                    ),
                ))
            })
            .join()
            .unwrap_or_else(|_| Ok(None));
            match made {
                Ok(Some(c)) => Some(c),
                Ok(None) => {
                    tracing::warn!(var = %cfg.lever.api_key_env, "no Lever credentials: Lever webhooks cannot be checked and are answered 503");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Lever client unavailable: Lever webhooks are answered 503");
                    None
                }
            }
        } else {
            None
        };
        let mut sources: BTreeMap<&'static str, Arc<dyn WebhookSource>> = BTreeMap::new();
        for s in [
            Arc::new(panelflow_core::webhook::lever::LeverSource::new(
                &cfg.lever_trigger_stages,
            )) as Arc<dyn WebhookSource>,
            Arc::new(panelflow_core::webhook::generic::GenericSource),
            Arc::new(panelflow_core::webhook::willo::WilloSource),
            Arc::new(panelflow_core::webhook::sparkhire::SparkHireSource),
            Arc::new(panelflow_core::webhook::hirevue::HireVueSource),
            Arc::new(panelflow_core::webhook::hireflix::HireflixSource),
        ]
        .into_iter()
        .chain(extra)
        {
            sources.insert(s.name(), s);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                producer,
                sources,
                topics_ready: AtomicBool::new(false),
                counters: Counters::default(),
                replay,
                lever: LeverHandle(lever),
                probe: std::sync::Mutex::new(Probe::default()),
                probing: AtomicBool::new(false),
            }),
        })
    }

    /// The replay store (shared with `panelflow erase` through the folder).
    pub fn replay_store(&self) -> &ReplayStore {
        &self.inner.replay
    }

    /// Probes the broker every few seconds in the background (once per
    /// state, however often it is called), so `/healthz` never waits on it.
    pub fn start_probing(&self) {
        if self.inner.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                let inner = Arc::clone(&state.inner);
                let topic = inner.cfg.kafka.topic.clone();
                let probed = tokio::task::spawn_blocking(move || {
                    let (_, producer) = inner.producer.current();
                    producer
                        .client()
                        .fetch_metadata(None, Duration::from_secs(2))
                        .map(|md| {
                            md.topics()
                                .iter()
                                .any(|t| t.name() == topic && !t.partitions().is_empty())
                        })
                })
                .await;
                let probe = match probed {
                    Ok(Ok(present)) => Probe {
                        reachable: true,
                        topic_present: present,
                        error: None,
                        at: Some(Utc::now()),
                    },
                    Ok(Err(e)) => Probe {
                        error: Some(e.to_string()),
                        at: Some(Utc::now()),
                        ..Probe::default()
                    },
                    Err(e) => Probe {
                        error: Some(e.to_string()),
                        at: Some(Utc::now()),
                        ..Probe::default()
                    },
                };
                *state.inner.probe.lock().unwrap_or_else(|p| p.into_inner()) = probe;
                if Arc::strong_count(&state.inner) <= 1 {
                    break; // the server is gone
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }

    /// The names of the registered sources.
    pub fn sources(&self) -> Vec<&'static str> {
        self.inner.sources.keys().copied().collect()
    }

    /// The config in effect.
    pub fn config(&self) -> &IngestConfig {
        &self.inner.cfg
    }

    /// Creates the topics if missing; on failure retries every 5 s in the
    /// background until it succeeds (meanwhile webhooks are answered 503).
    pub async fn prepare_topics(&self) {
        match kafka::ensure_topics(&self.inner.cfg.kafka).await {
            Ok(()) => self.inner.topics_ready.store(true, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, "cannot create topics yet; retrying in the background");
                let state = self.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        match kafka::ensure_topics(&state.inner.cfg.kafka).await {
                            Ok(()) => {
                                tracing::info!("topics ready");
                                state.inner.topics_ready.store(true, Ordering::Relaxed);
                                break;
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot create topics yet"),
                        }
                    }
                });
            }
        }
    }
}

fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// How often the broker is probed for `/healthz`.
const PROBE_EVERY: Duration = Duration::from_secs(3);

/// The broker's largest message, as `[kafka.properties] message.max.bytes`
/// sets it (librdkafka's default otherwise).
fn message_max_bytes(kafka: &KafkaSection) -> usize {
    kafka
        .properties
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1_000_000)
}

/// Refuses limits that cannot hold: a body limit the broker could not take
/// once normalized (an event may be as large as its body again), or no
/// concurrency or time at all.
fn check_limits(cfg: &IngestConfig) -> Result<(), IngestError> {
    let i = &cfg.ingest;
    let broker = message_max_bytes(&cfg.kafka);
    if i.max_body_bytes == 0 || i.max_body_bytes > broker / 2 {
        return Err(IngestError::Config(format!(
            "max_body_bytes = {} must be between 1 and half the broker's message.max.bytes ({broker})",
            i.max_body_bytes
        )));
    }
    if i.max_concurrent_requests == 0 || i.request_timeout_s == 0 {
        return Err(IngestError::Config(
            "max_concurrent_requests and request_timeout_s must be at least 1".into(),
        ));
    }
    Ok(())
}

/// The receiver's routes, with the body limit of `ingest.max_body_bytes`,
/// the concurrency limit and the request time-out ([`crate::limits`]).
pub fn router(state: AppState) -> Router {
    let i = &state.inner.cfg.ingest;
    let limits = crate::limits::Limits {
        max_concurrent: i.max_concurrent_requests,
        timeout: Duration::from_secs(i.request_timeout_s),
    };
    let limit = i.max_body_bytes;
    let routes = Router::new()
        .route("/webhooks/{source}", post(webhook))
        .route("/webhooks/{source}/{token}", post(webhook_with_token))
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::handler))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    crate::limits::apply(routes, limits)
}

async fn webhook(
    State(state): State<AppState>,
    Path(source_name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle_webhook(state, source_name, None, headers, body).await
}

async fn webhook_with_token(
    State(state): State<AppState>,
    Path((source_name, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle_webhook(state, source_name, Some(token), headers, body).await
}

async fn handle_webhook(
    state: AppState,
    source_name: String,
    path_token: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let inner = &state.inner;
    let Some(source) = inner.sources.get(source_name.as_str()).cloned() else {
        return error_response(
            StatusCode::NOT_FOUND,
            format!(
                "unknown source `{}`",
                source_name.chars().take(64).collect::<String>()
            ),
        );
    };
    if path_token.is_some()
        && !inner
            .cfg
            .ingest
            .path_token_sources
            .iter()
            .any(|s| s == source.name())
    {
        // The token is in the path; a 404 says nothing about whether it was right.
        inner.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            source = source.name(),
            "path token refused: not in [ingest] path_token_sources"
        );
        return error_response(
            StatusCode::NOT_FOUND,
            format!(
                "secret path tokens are not accepted for `{}`: sign the body (X-Panelflow-Signature)",
                source.name()
            ),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            tracing::warn!(source = source.name(), %status, "webhook body refused");
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("body larger than {} bytes", inner.cfg.ingest.max_body_bytes)
            } else {
                rejection.body_text()
            };
            return error_response(status, message);
        }
    };
    let secret = match inner.cfg.ingest.secret_for(source.name()) {
        Some(s) if !s.is_empty() => s,
        _ => {
            tracing::error!(
                source = source.name(),
                "no secret configured (PANELFLOW_{}_SECRET or ingest.secrets); refusing webhook",
                source.name().to_ascii_uppercase()
            );
            inner.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
            return error_response(
                StatusCode::UNAUTHORIZED,
                format!("no secret configured for source `{}`", source.name()),
            );
        }
    };
    let req = WebhookRequest {
        headers: &headers,
        body: &body,
        now: Utc::now(),
        max_age_s: inner.cfg.ingest.max_age_s,
        path_token: path_token.as_deref(),
    };
    let verdict = match source.handle(&req, secret.as_bytes()) {
        Err(e) => {
            let counter = match &e {
                SourceError::Unauthorized(_) => &inner.counters.unauthorized,
                SourceError::Malformed(_) => &inner.counters.malformed,
                SourceError::Stale { .. } => &inner.counters.stale,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = source.name(), error = %e, "webhook refused");
            return error_response(e.status(), e.to_string());
        }
        Ok(Verdict::Ignore { event, reason }) => {
            inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
            {
                let mut per_event = inner
                    .counters
                    .ignored_events
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                // Bounded: event names come from authenticated senders, but
                // a misbehaving one must not grow this map without limit.
                let key = format!(
                    "{}/{}",
                    source.name(),
                    event.chars().take(64).collect::<String>()
                );
                if per_event.len() < 1000 || per_event.contains_key(&key) {
                    *per_event.entry(key).or_insert(0) += 1;
                }
            }
            tracing::info!(source = source.name(), event = %event, %reason, "webhook ignored");
            return StatusCode::NO_CONTENT.into_response();
        }
        Ok(v) => v,
    };

    // Authentic and acted on: claim the delivery against replays.
    let key = source.replay_key(&req);
    let body_sha = panelflow_core::webhook::generic::payload_sha256(&body);
    let claim = {
        let (state2, key2, sha2) = (state.clone(), key.clone(), body_sha.clone());
        let ttl = inner.cfg.ingest.replay_ttl_s(&key);
        tokio::task::spawn_blocking(move || {
            state2.inner.replay.claim(&key2.key, &sha2, ttl, Utc::now())
        })
        .await
    };
    match claim {
        Ok(Ok(Claim::New)) => {}
        Ok(Ok(Claim::Redelivery)) => {
            inner.counters.duplicate.fetch_add(1, Ordering::Relaxed);
            tracing::info!(source = source.name(), payload_sha256 = %body_sha, "delivery received before; not produced again");
            return (
                StatusCode::OK,
                Json(json!({"status": "duplicate", "payloadSha256": body_sha})),
            )
                .into_response();
        }
        Ok(Ok(Claim::Replay)) => {
            inner.counters.replayed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = source.name(), payload_sha256 = %body_sha, "replayed delivery refused");
            return error_response(
                StatusCode::UNAUTHORIZED,
                "replayed delivery: its token (or body) was already used",
            );
        }
        Ok(Err(e)) => {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "replay store unavailable");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "replay store unavailable, retry later",
            );
        }
        Err(e) => {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "replay check failed");
            return error_response(StatusCode::SERVICE_UNAVAILABLE, "retry later");
        }
    }
    let response = match verdict {
        Verdict::Ratings(ratings) => publish_ratings(inner, source.name(), &ratings).await,
        Verdict::Accept(event) => accept(&state, source.name(), event).await,
        Verdict::Ignore { .. } => StatusCode::NO_CONTENT.into_response(),
    };
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        || response.status() == StatusCode::INTERNAL_SERVER_ERROR
    {
        // Not stored: the platform's retry must not look like a replay.
        inner.replay.release(&key.key);
    }
    response
}

/// Why a Lever delivery's ids were not taken.
enum LeverCheck {
    /// Lever contradicts the body (401).
    Refused(String),
    /// Lever could not be asked (503).
    Unavailable(String),
}

/// Takes a Lever delivery's ids from Lever's API: the opportunity must
/// exist, the candidate is its `contact` (the body's must be that or the
/// opportunity id), and a stage change must show in its stage or stage
/// changes.
fn check_with_lever(
    client: &LeverClient,
    event: &mut InterviewCompleted,
) -> Result<(), LeverCheck> {
    let opp = match client.get_opportunity(&event.opportunity_id) {
        Ok(o) => o,
        Err(LeverError::Status { status: 404, .. }) => {
            return Err(LeverCheck::Refused(
                "the opportunity is unknown to Lever".into(),
            ))
        }
        Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
            return Err(LeverCheck::Unavailable(format!(
                "Lever refused the check (HTTP {})",
                e.status().unwrap_or_default()
            )))
        }
        Err(e) => return Err(LeverCheck::Unavailable(e.to_string())),
    };
    if let Some(contact) = opp.get("contact").and_then(serde_json::Value::as_str) {
        if event.candidate_id != contact && event.candidate_id != event.opportunity_id {
            return Err(LeverCheck::Refused(
                "the candidate is not the opportunity's contact in Lever".into(),
            ));
        }
        event.candidate_id = contact.to_owned();
    }
    if event.source_event.as_deref() == Some("candidateStageChange") {
        if let Some(to) = event
            .unknown_fields
            .get("toStageId")
            .and_then(serde_json::Value::as_str)
        {
            let now_there = opp.get("stage").and_then(serde_json::Value::as_str) == Some(to);
            let moved_there = opp
                .get("stageChanges")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.get("toStageId").and_then(serde_json::Value::as_str) == Some(to))
                });
            if !now_there && !moved_there {
                return Err(LeverCheck::Refused(
                    "Lever shows no move of the opportunity to that stage".into(),
                ));
            }
        }
    }
    Ok(())
}

/// An accepted interview: not erased, its Lever ids checked, produced.
async fn accept(state: &AppState, source: &'static str, mut event: InterviewCompleted) -> Response {
    let inner = &state.inner;
    if inner.replay.is_tombstoned(&event.interview_id) {
        inner.counters.erased.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(source, correlation_id = %event.correlation_id, "delivery of an erased interview refused");
        return error_response(
            StatusCode::GONE,
            "this interview was erased; it is not accepted again",
        );
    }
    if source == panelflow_core::webhook::lever::SOURCE && inner.cfg.ingest.verify_lever {
        let Some(client) = inner.lever.0.clone() else {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "Lever deliveries are checked against Lever's API, which is not configured here",
            );
        };
        let checked = tokio::task::spawn_blocking(move || {
            let r = check_with_lever(&client, &mut event);
            drop(client);
            (r, event)
        })
        .await;
        let (result, checked_event) = match checked {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "Lever check failed");
                return error_response(StatusCode::SERVICE_UNAVAILABLE, "retry later");
            }
        };
        event = checked_event;
        match result {
            Ok(()) => {}
            Err(LeverCheck::Refused(why)) => {
                inner.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source, correlation_id = %event.correlation_id, reason = %why, "Lever delivery contradicted by Lever");
                return error_response(StatusCode::UNAUTHORIZED, why);
            }
            Err(LeverCheck::Unavailable(why)) => {
                inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source, reason = %why, "Lever delivery not checked");
                return error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Lever could not be asked about this delivery; retry later",
                );
            }
        }
    }
    event.region = event_region(&event, &inner.cfg.ingest);
    let topic = &inner.cfg.kafka.topic;
    match inner.producer.produce_event(topic, &event).await {
        Ok((partition, offset)) => {
            inner.counters.accepted.fetch_add(1, Ordering::Relaxed);
            panelflow_connectors::metrics::EVENTS_IN
                .with_label_values(&["ingest", topic.as_str()])
                .inc();
            tracing::info!(
                source,
                interview_id = %event.interview_id,
                correlation_id = %event.correlation_id,
                payload_sha256 = %event.payload_sha256,
                partition,
                offset,
                "interview accepted"
            );
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "status": "accepted",
                    "interviewId": event.interview_id,
                    "correlationId": event.correlation_id,
                    "partition": partition,
                    "offset": offset,
                })),
            )
                .into_response()
        }
        Err(e) => {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                source,
                interview_id = %event.interview_id,
                correlation_id = %event.correlation_id,
                error = %e,
                "event not acknowledged by the broker"
            );
            let status = match e {
                KafkaIoError::Serialize { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            error_response(status, "event not stored, retry later")
        }
    }
}

/// Publishes a rating webhook's ratings, keyed by candidate, and answers
/// 202 once all are acknowledged, else 503: the platform retries, and the
/// aggregates drop the ratings they already hold.
async fn publish_ratings(
    inner: &Inner,
    source: &str,
    ratings: &[panelflow_core::wire::RatingMessage],
) -> Response {
    let topic = &inner.cfg.kafka.ratings_topic;
    if topic.is_empty() {
        inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            source,
            "ratings webhook ignored: no ratings topic configured"
        );
        return StatusCode::NO_CONTENT.into_response();
    }
    for rating in ratings {
        if let Err(e) = inner
            .producer
            .produce_json(topic, rating.candidate_id.as_str(), rating)
            .await
        {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(source, error = %e, "rating not acknowledged by the broker");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "ratings not stored, retry later",
            );
        }
    }
    inner.counters.accepted.fetch_add(1, Ordering::Relaxed);
    tracing::info!(source, ratings = ratings.len(), "ratings accepted");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "status": "accepted", "ratings": ratings.len() })),
    )
        .into_response()
}

/// The region an accepted event belongs to: the payload's own `region` (or
/// `data_region`) when it states one, else the region configured for its
/// source (`[ingest.regions]`), else none (the deployment's). The dataflow
/// refuses events of other regions.
///
/// ```
/// let mut ingest = panelflow::ingest::IngestSection::default();
/// ingest.regions.insert("willo".into(), "eu".into());
/// let e = panelflow_core::event::InterviewCompleted::new("willo", "i", "c", "o", vec![]);
/// assert_eq!(panelflow::ingest::event_region(&e, &ingest).as_deref(), Some("eu"));
/// ```
pub fn event_region(
    event: &panelflow_core::event::InterviewCompleted,
    ingest: &IngestSection,
) -> Option<String> {
    ["region", "data_region", "dataRegion"]
        .iter()
        .find_map(|k| event.unknown_fields.get(*k).and_then(|v| v.as_str()))
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .or_else(|| event.region.clone())
        .or_else(|| ingest.regions.get(&event.source).cloned())
}

/// Whether the request carries the health token (`health_token_env`).
fn health_authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = std::env::var(&state.inner.cfg.ingest.health_token_env)
        .ok()
        .filter(|t| !t.is_empty())
    else {
        return false;
    };
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| {
            panelflow_core::webhook::provider::constant_time_eq(
                token.trim().as_bytes(),
                expected.as_bytes(),
            )
        })
}

async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.start_probing();
    let probe = state
        .inner
        .probe
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let ready = probe.reachable && probe.topic_present;
    if !health_authorized(&state, &headers) {
        // Liveness and readiness only: no addresses, no error text.
        return (
            StatusCode::OK,
            Json(json!({ "status": "ok", "ready": ready })),
        )
            .into_response();
    }
    let c = &state.inner.counters;
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let body = json!({
        "status": "ok",
        "ready": ready,
        "broker": {
            "brokers": state.inner.cfg.kafka.brokers,
            "reachable": probe.reachable,
            "topic": state.inner.cfg.kafka.topic,
            "topicPresent": probe.topic_present,
            "topicsPrepared": state.inner.topics_ready.load(Ordering::Relaxed),
            "error": probe.error,
            "probedAt": probe.at.map(|t| t.to_rfc3339()),
        },
        "sources": state.sources(),
        "counters": {
            "accepted": n(&c.accepted),
            "ignored": n(&c.ignored),
            "unauthorized": n(&c.unauthorized),
            "malformed": n(&c.malformed),
            "stale": n(&c.stale),
            "replayed": n(&c.replayed),
            "duplicate": n(&c.duplicate),
            "erased": n(&c.erased),
            "unavailable": n(&c.unavailable),
            "ignoredEvents": c.ignored_events.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        },
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// Serves the receiver on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cfg: impl Into<IngestConfig>,
) -> anyhow::Result<()> {
    serve_with_shutdown(listener, cfg, shutdown_signal()).await
}

/// Serves the receiver on `listener` until `shutdown` completes; in-flight
/// requests finish first. Creates the topics when missing, in the
/// background (retrying while the broker is unreachable).
pub async fn serve_with_shutdown<F>(
    listener: tokio::net::TcpListener,
    cfg: impl Into<IngestConfig>,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let state = AppState::new(cfg)?;
    serve_state(listener, state, shutdown).await
}

/// Like [`serve_with_shutdown`] with a prepared [`AppState`] (extra sources).
pub async fn serve_state<F>(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    // Topics are prepared alongside serving, so a broker that is down at
    // start-up does not keep the receiver (and its /healthz) from answering.
    let preparing = state.clone();
    tokio::spawn(async move { preparing.prepare_topics().await });
    state.start_probing();
    let addr = listener.local_addr()?;
    for source in state.sources() {
        if state
            .config()
            .ingest
            .secret_for(source)
            .is_none_or(|s| s.is_empty())
        {
            tracing::warn!(
                source,
                "no secret for this source (PANELFLOW_{}_SECRET): its webhooks will be refused",
                source.to_ascii_uppercase()
            );
        }
    }
    tracing::info!(%addr, brokers = %state.config().kafka.brokers,
        topic = %state.config().kafka.topic, "ingest listening");
    let producer_state = state.clone();
    let limits = crate::limits::Limits {
        max_concurrent: state.config().ingest.max_concurrent_requests,
        timeout: Duration::from_secs(state.config().ingest.request_timeout_s),
    };
    crate::limits::serve(listener, router(state), limits, shutdown).await?;
    // Everything produced was awaited already; flush is a formality.
    let _ = producer_state.inner.producer.flush(Duration::from_secs(5));
    tracing::info!("ingest stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down ingest");
}
