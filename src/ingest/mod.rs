//! `panelflow ingest`: the webhook receiver.
//!
//! Routes:
//! - `POST /webhooks/{source}`: one [`WebhookSource`] per platform (`lever`,
//!   `generic`, `willo`, `sparkhire`, `hirevue`, `hireflix`, and whatever is
//!   registered with [`AppState::with_sources`]); an unknown source is 404;
//! - `POST /webhooks/{source}/{token}`: the same, with a secret path token
//!   for platforms that can only be given a URL (see
//!   [`provider`](super::provider); sources with a signature scheme of
//!   their own ignore the token);
//! - `GET /healthz`: 200 `{status: "ok", broker: {reachable, topic}, counters}`.
//!
//! Answers to a webhook:
//!
//! | outcome | status | body |
//! | --- | --- | --- |
//! | produced and acknowledged by the broker | 202 | `{status: "accepted", interviewId, correlationId, partition, offset}` |
//! | a rating webhook, its ratings acknowledged on the ratings topic | 202 | `{status: "accepted", ratings: N}` |
//! | well-signed, but an event panelflow does not act on | 204 | — |
//! | malformed payload (bad JSON, missing or empty ids, wrong types, non-http(s) media) | 400 | `{error: reason}` |
//! | bad or missing signature; no secret configured for the source (fails closed) | 401 | `{error}` |
//! | stale or future `triggeredAt`/`timestamp` (a replay) | 401 | `{error}` |
//! | unknown source | 404 | `{error}` |
//! | body larger than `ingest.max_body_bytes` | 413 | `{error}` |
//! | broker unreachable or no acknowledgement within the time-out | 503 | `{error}` |
//!
//! Stale deliveries are 401, not 400: for Lever the signature covers only the
//! token and the time, so the age check is part of authenticating the
//! request, and a replay is refused like a forgery.
//!
//! Logs carry ids only (source, interview id, correlation id, payload hash),
//! never payload text.

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

pub mod lever_poll;

use std::collections::BTreeMap;
use std::future::Future;
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
use panelflow_core::webhook::{SourceError, Verdict, WebhookRequest, WebhookSource};

/// `[ingest]`: the webhook receiver.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Webhooks whose `triggeredAt` is older than this are refused as replays.
    pub max_age_s: u64,
    /// Largest webhook body accepted (512 KiB by default: below the
    /// pipeline's `[kafka] max_event_bytes`, itself below the broker's
    /// message size, so an accepted webhook always fits on the topic).
    pub max_body_bytes: usize,
    /// Per-source secrets; `PANELFLOW_<SOURCE>_SECRET` overrides.
    pub secrets: BTreeMap<String, String>,
    /// Data region of each source's tenant (data residency), when the
    /// payloads do not state one.
    pub regions: BTreeMap<String, String>,
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_age_s: 300,
            max_body_bytes: 512 << 10,
            secrets: BTreeMap::new(),
            regions: BTreeMap::new(),
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
}

/// Counters exposed by `/healthz`.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    ignored: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    stale: AtomicU64,
    unavailable: AtomicU64,
    /// Well-signed events not acted on, per `source/event`.
    ignored_events: std::sync::Mutex<BTreeMap<String, u64>>,
}

struct Inner {
    cfg: IngestConfig,
    producer: kafka::EventProducer,
    sources: BTreeMap<&'static str, Arc<dyn WebhookSource>>,
    topics_ready: AtomicBool,
    counters: Counters,
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
        let cfg = cfg.into();
        let producer = kafka::EventProducer::new(&cfg.kafka)?;
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
            }),
        })
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

/// The receiver's routes, with the body limit of `ingest.max_body_bytes`.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.cfg.ingest.max_body_bytes;
    Router::new()
        .route("/webhooks/{source}", post(webhook))
        .route("/webhooks/{source}/{token}", post(webhook_with_token))
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::handler))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
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
            format!("unknown source `{source_name}`"),
        );
    };
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
    match source.handle(&req, secret.as_bytes()) {
        Err(e) => {
            let counter = match &e {
                SourceError::Unauthorized(_) => &inner.counters.unauthorized,
                SourceError::Malformed(_) => &inner.counters.malformed,
                SourceError::Stale { .. } => &inner.counters.stale,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = source.name(), error = %e, "webhook refused");
            error_response(e.status(), e.to_string())
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
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Verdict::Ratings(ratings)) => publish_ratings(inner, source.name(), &ratings).await,
        Ok(Verdict::Accept(mut event)) => {
            event.region = event_region(&event, &inner.cfg.ingest);
            let topic = &inner.cfg.kafka.topic;
            match inner.producer.produce_event(topic, &event).await {
                Ok((partition, offset)) => {
                    inner.counters.accepted.fetch_add(1, Ordering::Relaxed);
                    panelflow_connectors::metrics::EVENTS_IN
                        .with_label_values(&["ingest", topic.as_str()])
                        .inc();
                    tracing::info!(
                        source = source.name(),
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
                        source = source.name(),
                        interview_id = %event.interview_id,
                        correlation_id = %event.correlation_id,
                        error = %e,
                        "event not acknowledged by the broker"
                    );
                    let status = match e {
                        KafkaIoError::Serialize { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                        _ => StatusCode::SERVICE_UNAVAILABLE,
                    };
                    error_response(status, format!("event not stored, retry later: {e}"))
                }
            }
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
                format!("ratings not stored, retry later: {e}"),
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

async fn healthz(State(state): State<AppState>) -> Response {
    let inner = state.inner.clone();
    let topic = inner.cfg.kafka.topic.clone();
    // librdkafka's metadata call blocks; run it off the runtime's threads.
    let probe = tokio::task::spawn_blocking(move || {
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
    let (reachable, topic_present, error) = match probe {
        Ok(Ok(present)) => (true, present, None),
        Ok(Err(e)) => (false, false, Some(e.to_string())),
        Err(e) => (false, false, Some(e.to_string())),
    };
    let c = &state.inner.counters;
    let body = json!({
        "status": "ok",
        "broker": {
            "brokers": state.inner.cfg.kafka.brokers,
            "reachable": reachable,
            "topic": state.inner.cfg.kafka.topic,
            "topicPresent": topic_present,
            "topicsPrepared": state.inner.topics_ready.load(Ordering::Relaxed),
            "error": error,
        },
        "sources": state.sources(),
        "counters": {
            "accepted": c.accepted.load(Ordering::Relaxed),
            "ignored": c.ignored.load(Ordering::Relaxed),
            "unauthorized": c.unauthorized.load(Ordering::Relaxed),
            "malformed": c.malformed.load(Ordering::Relaxed),
            "stale": c.stale.load(Ordering::Relaxed),
            "unavailable": c.unavailable.load(Ordering::Relaxed),
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
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
