//! A small static file server for the demo and tests: serves `datasets/` on
//! 127.0.0.1 the way a video platform serves its recordings.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// A running media server; stops when dropped.
pub struct MediaServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MediaServer {
    /// Serves `root` on 127.0.0.1 at a free port.
    pub fn start(root: &Path) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let root = root.to_path_buf();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
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
                let app = Router::new()
                    .route("/{*path}", get(serve_file))
                    .with_state(root);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Ok(Self {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/` + `relative`.
    pub fn url(&self, relative: &str) -> String {
        format!("http://{}/{}", self.addr, relative.trim_start_matches('/'))
    }
}

impl Drop for MediaServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve_file(State(root): State<PathBuf>, UrlPath(path): UrlPath<String>) -> Response {
    let relative = Path::new(&path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    match tokio::fs::read(root.join(relative)).await {
        Ok(bytes) => {
            let kind = match relative.extension().and_then(|e| e.to_str()) {
                Some("mp4") | Some("m4a") => "video/mp4",
                Some("webm") => "video/webm",
                Some("flac") => "audio/flac",
                Some("wav") => "audio/wav",
                Some("mp3") => "audio/mpeg",
                _ => "application/octet-stream",
            };
            ([(header::CONTENT_TYPE, kind)], bytes).into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
