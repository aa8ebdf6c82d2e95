//! The limits every HTTP server of panelflow (ingest, the review page)
//! puts in front of its routes, as one tower layer
//! ([`axum::middleware::from_fn_with_state`]):
//!
//! - **concurrency**: at most `max_concurrent` requests are handled at once;
//!   one more is answered 503 with `Retry-After: 1` at once (load shedding,
//!   not queueing: a flood cannot pile up connections and buffers);
//! - **time**: a request not answered within `timeout` — a slow upload
//!   trickling its body, a handler stuck on a dependency — is answered 408
//!   and its buffers are freed.
//!
//! Bodies are capped by each server's `DefaultBodyLimit`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::Semaphore;

/// A server's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests handled at once, at most (at least 1).
    pub max_concurrent: usize,
    /// Longest time a request may take, body included.
    pub timeout: Duration,
}

#[derive(Clone)]
struct Guard {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let Ok(_permit) = Arc::clone(&g.permits).try_acquire_owned() else {
        tracing::warn!(path = %req.uri().path(), "busy: request shed");
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": "busy, retry later"})),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let path = req.uri().path().to_owned();
    match tokio::time::timeout(g.timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, timeout_s = g.timeout.as_secs_f64(), "request timed out");
            (
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(serde_json::json!({"error": "request timed out"})),
            )
                .into_response()
        }
    }
}

/// `router` behind `limits` (see the module docs).
pub fn apply(router: Router, limits: Limits) -> Router {
    let g = Guard {
        permits: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
        timeout: limits.timeout,
    };
    router.layer(axum::middleware::from_fn_with_state(g, guard))
}
