//! The HTTP side: the router, the `/v1` handler handing requests to the
//! synchronous core off the async workers, the `/_emulator` helper routes
//! and the OAuth token endpoint.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};

use super::dispatch::Incoming;
use super::reply::Reply;
use super::state::{lock, Shared};

/// Runs blocking work (locks, file writes) off the async workers.
async fn blocking<F: FnOnce() -> Reply + Send + 'static>(f: F) -> Reply {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "lever emulator: handler failed");
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "handler failed",
            )
        }
    }
}

async fn v1_handler(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let req = Incoming {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    };
    blocking(move || sh.handle_v1(req)).await
}

async fn emu_requests(State(sh): State<Arc<Shared>>) -> Reply {
    blocking(move || match sh.requests() {
        Ok(r) => Reply::ok(StatusCode::OK, json!(r)),
        Err(e) => Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.to_string(),
        ),
    })
    .await
}

async fn emu_stats(State(sh): State<Arc<Shared>>) -> Reply {
    Reply::ok(StatusCode::OK, json!(*lock(&sh.stats)))
}

async fn emu_add_opportunities(State(sh): State<Arc<Shared>>, body: Bytes) -> Reply {
    let items = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        Ok(_) => return Reply::bad_request("expected an opportunity object or an array of them"),
        Err(e) => return Reply::bad_request(format!("body is not JSON: {e}")),
    };
    blocking(move || match sh.add_opportunities(items) {
        Ok(n) => Reply::ok(StatusCode::CREATED, json!({ "added": n })),
        Err(r) => r,
    })
    .await
}

async fn emu_paths(State(sh): State<Arc<Shared>>) -> Reply {
    Reply::ok(StatusCode::OK, json!(*lock(&sh.paths)))
}

async fn emu_add_resources(
    State(sh): State<Arc<Shared>>,
    axum::extract::Path(kind): axum::extract::Path<String>,
    body: Bytes,
) -> Reply {
    let items = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        Ok(_) => return Reply::bad_request("expected an object or an array of them"),
        Err(e) => return Reply::bad_request(format!("body is not JSON: {e}")),
    };
    blocking(move || match sh.add_resources(&kind, items) {
        Ok(n) => Reply::ok(StatusCode::CREATED, json!({ "added": n })),
        Err(r) => r,
    })
    .await
}

async fn emu_oauth(State(sh): State<Arc<Shared>>, body: Bytes) -> Reply {
    match serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|b| sh.enable_oauth(&b))
    {
        Ok(()) => Reply::ok(StatusCode::OK, json!({ "enabled": true })),
        Err(reason) => Reply::bad_request(reason),
    }
}

async fn oauth_token(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Reply {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    blocking(move || sh.token(content_type.as_deref(), &body)).await
}

async fn emu_lost_replies(State(sh): State<Arc<Shared>>, body: Bytes) -> Reply {
    let percent = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("percent").and_then(Value::as_f64));
    match percent {
        Some(p) if (0.0..=100.0).contains(&p) => {
            *lock(&sh.lost_replies) = p;
            tracing::info!(percent = p, "lever emulator: note replies lost");
            Reply::ok(StatusCode::OK, json!({ "percent": p }))
        }
        _ => Reply::bad_request("`percent` (0-100) is required"),
    }
}

async fn emu_faults(State(sh): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(b) => b,
        Err(e) => return Reply::bad_request(format!("body is not JSON: {e}")),
    };
    match sh.set_fault(&body) {
        Ok(()) => Reply::ok(StatusCode::OK, json!({ "armed": body })),
        Err(reason) => Reply::bad_request(reason),
    }
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1", any(v1_handler))
        .route("/v1/{*rest}", any(v1_handler))
        .route("/_emulator/requests", get(emu_requests))
        .route("/_emulator/stats", get(emu_stats))
        .route("/_emulator/opportunities", post(emu_add_opportunities))
        .route("/_emulator/faults", post(emu_faults))
        .route("/_emulator/lost-replies", post(emu_lost_replies))
        .route("/_emulator/paths", get(emu_paths))
        .route("/_emulator/resources/{kind}", post(emu_add_resources))
        .route("/_emulator/oauth", post(emu_oauth))
        .route("/oauth/token", post(oauth_token))
        .route("/_emulator/health", get(|| async { "ok" }))
        .with_state(shared)
}
