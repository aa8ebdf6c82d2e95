//! `/healthz`: the counters and the broker as last probed.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::state::AppState;

/// Whether the request carries the health token (`health_token_env`).
pub(super) fn health_authorized(state: &AppState, headers: &HeaderMap) -> bool {
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

pub(super) async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
