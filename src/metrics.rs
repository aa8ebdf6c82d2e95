//! The `/metrics` endpoint: Prometheus' text format of every metric the
//! process records ([`panelflow_connectors::metrics`]), served by
//! `panelflow ingest` on its own port and by `panelflow run` on
//! `[metrics] listen` (or `PANELFLOW_METRICS_LISTEN`).

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use panelflow_connectors::metrics;
use panelflow_connectors::serve::ServerThread;

/// `[metrics]`: where `panelflow run` serves `/metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// `host:port` to serve `/metrics` on; none: not served.
    pub listen: Option<String>,
}

/// `GET /metrics`.
pub async fn handler() -> impl IntoResponse {
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], metrics::render())
}

/// Serves `/metrics` on `addr` (port 0: a free one) on a thread of its own
/// until the handle is dropped.
pub fn serve(addr: SocketAddr) -> anyhow::Result<ServerThread> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = Router::new().route("/metrics", get(handler));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        })?;
    tracing::info!(%addr, "serving /metrics");
    Ok(ServerThread::new("metrics", addr, tx, thread))
}
