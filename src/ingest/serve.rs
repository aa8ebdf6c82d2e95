//! Serving the receiver until shutdown.

use std::future::Future;
use std::time::Duration;

use super::config::IngestConfig;
use super::routes::router;
use super::state::AppState;

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

pub(super) async fn shutdown_signal() {
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
