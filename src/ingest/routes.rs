//! The routes and the webhook handlers: verify, parse, claim the replay
//! key, then accept.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;

use panelflow_connectors::store::replay::Claim;
use panelflow_core::webhook::{SourceError, Verdict, WebhookRequest};

use super::accept::{accept, publish_ratings};
use super::healthz::healthz;
use super::response::error_response;
use super::state::AppState;

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

pub(super) async fn webhook(
    State(state): State<AppState>,
    Path(source_name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle_webhook(state, source_name, None, headers, body).await
}

pub(super) async fn webhook_with_token(
    State(state): State<AppState>,
    Path((source_name, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle_webhook(state, source_name, Some(token), headers, body).await
}

pub(super) async fn handle_webhook(
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
