//! The webhook receiver run in-process on 127.0.0.1, for the tests that
//! talk to it over HTTP.

use std::future::Future;
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow::ingest;
use tokio::sync::oneshot;

/// A running receiver; stopped gracefully by [`InProcessIngest::stop`],
/// aborted on drop.
pub struct InProcessIngest {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcessIngest {
    /// Starts the receiver on a free port and waits (30 s at most) until
    /// `ready(base)` holds.
    pub async fn start<F, Fut>(cfg: PipelineConfig, ready: F) -> Self
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = bool>,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(ingest::serve_with_shutdown(listener, cfg, async {
            let _ = rx.await;
        }));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(base.clone()).await {
            assert!(
                Instant::now() < deadline,
                "ingest did not come up at {base}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            base,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops it gracefully and checks that it ended without an error.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for InProcessIngest {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
