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
//! and [`serve`] serves a router with limits on connections, below any
//! route: headers must arrive within [`HEADER_TIMEOUT`] (a client
//! trickling its request line holds nothing for long), and at most
//! `4 × max_concurrent` connections are open at once (more are closed on
//! accept). Bodies are capped by each server's `DefaultBodyLimit`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
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

/// Longest a client may take to send its request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes (then waits up
/// to 10 s for the requests in flight), one HTTP/1.1 connection per task:
/// headers within [`HEADER_TIMEOUT`], at most `4 × limits.max_concurrent`
/// connections, and the client's address in each request's
/// [`ConnectInfo`] extension.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let connections = Arc::new(Semaphore::new(limits.max_concurrent.max(1) * 4));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections: closed");
            drop(stream);
            continue;
        };
        let service =
            TowerToHyperService::new(router.clone().layer(axum::Extension(ConnectInfo(peer))));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .keep_alive(true);
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 10 s: stopping anyway");
    }
    Ok(())
}
