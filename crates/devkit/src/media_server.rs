//! A small static file server for the demo and tests: serves `datasets/` on
//! 127.0.0.1 the way a video platform serves its recordings.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use panelflow_connectors::serve::ServerThread;

/// A running media server; stops when dropped.
pub struct MediaServer {
    addr: SocketAddr,
    /// Held only to stop the server when the handle is dropped.
    _server: ServerThread,
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
            _server: ServerThread::new("media server", addr, tx, thread),
        })
    }

    /// `http://127.0.0.1:PORT/` + `relative`.
    pub fn url(&self, relative: &str) -> String {
        format!("http://{}/{}", self.addr, relative.trim_start_matches('/'))
    }
}

async fn serve_file(
    State(root): State<PathBuf>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let relative = Path::new(&path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    let bytes = match tokio::fs::read(root.join(relative)).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    let kind = match relative.extension().and_then(|e| e.to_str()) {
        Some("mp4") | Some("m4a") => "video/mp4",
        Some("webm") => "video/webm",
        Some("flac") => "audio/flac",
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    };
    let len = bytes.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|r| byte_range(r, len));
    match range {
        // Players seek with byte ranges (a recording's timestamp link).
        Some(Some((start, end))) => (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, kind.to_owned()),
                (header::ACCEPT_RANGES, "bytes".to_owned()),
                (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
            ],
            bytes[start as usize..=end as usize].to_vec(),
        )
            .into_response(),
        Some(None) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
        None => (
            [
                (header::CONTENT_TYPE, kind.to_owned()),
                (header::ACCEPT_RANGES, "bytes".to_owned()),
            ],
            bytes,
        )
            .into_response(),
    }
}

/// The inclusive byte span of a single-range `Range: bytes=…` header over a
/// body of `len` bytes; `None` when it cannot be satisfied.
///
/// ```
/// use panelflow_devkit::media_server::byte_range;
/// assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 99)));
/// assert_eq!(byte_range("bytes=900-", 1000), Some((900, 999)));
/// assert_eq!(byte_range("bytes=-100", 1000), Some((900, 999)));
/// assert_eq!(byte_range("bytes=1000-", 1000), None);
/// ```
pub fn byte_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    // One range only: a player asks for one.
    let spec = spec.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    if len == 0 {
        return None;
    }
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().ok()?, len - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}
