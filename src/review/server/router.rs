//! The router: the routes behind their limits, the feedback drafts' view
//! of the server, and serving (in this task or on a thread of its own).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::decisions::decide;
use super::headers::secure_headers;
use super::responses::{css, js, redirect};
use super::sign_in::{login, login_form, logout, revoke_user};
use super::state::{ReviewApp, ServeError};
use super::views::{interview_html, interview_json, queue_html, queue_json};
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::ReviewQueue;

/// The routes of the review page, behind its limits.
pub fn router(app: Arc<ReviewApp>) -> Router {
    let r = &app.cfg.review;
    let limits = crate::limits::Limits {
        max_concurrent: r.max_concurrent_requests,
        timeout: Duration::from_secs(r.request_timeout_s.max(1)),
    };
    let body_limit = r.max_body_bytes.max(1024);
    let routes = Router::new()
        .route("/", get(|| async { redirect("/queue") }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/review.css", get(css))
        .route("/static/review.js", get(js))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue_html))
        .route("/api/queue", get(queue_json))
        .route("/interviews/{id}", get(interview_html))
        .route("/api/interviews/{id}", get(interview_json))
        .route("/interviews/{id}/{action}", post(decide))
        .merge(crate::review::feedback::routes::<ReviewApp>())
        .route("/api/users/{name}/revoke-sessions", post(revoke_user))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app);
    crate::limits::apply(routes, limits)
}

/// The feedback drafts' view of the server (`/feedback/{id}`).
impl crate::review::feedback::FeedbackHost for ReviewApp {
    async fn signed_in(
        self: Arc<Self>,
        headers: HeaderMap,
        ip: Option<IpAddr>,
        as_json: bool,
    ) -> Result<crate::review::feedback::SignedIn, Response> {
        self.reader(&headers, ip, as_json)
            .await
            .map(|c| crate::review::feedback::SignedIn {
                who: c.who,
                csrf: c.csrf,
                nonce: c.nonce,
            })
    }
    fn csrf_ok(&self, caller: &crate::review::feedback::SignedIn, token: &str) -> bool {
        caller
            .nonce
            .as_ref()
            .is_none_or(|n| self.auth.check_csrf(n, token))
    }
    fn queue(&self) -> &ReviewQueue {
        &self.queue
    }
    fn lever(&self) -> Option<&LeverClient> {
        self.lever.as_ref()
    }
    fn record(&self, events: &[AuditEvent]) {
        ReviewApp::record(self, events)
    }
    fn secure(&self, resp: Response) -> Response {
        secure_headers(resp)
    }
}

/// Serves the page on `listener` until `shutdown` resolves; first writes
/// items an interrupted server left approved but unwritten.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<ReviewApp>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let resume = Arc::clone(&app);
    tokio::task::spawn_blocking(move || resume.resume_interrupted());
    let limits = crate::limits::Limits {
        max_concurrent: app.cfg.review.max_concurrent_requests,
        timeout: Duration::from_secs(app.cfg.review.request_timeout_s.max(1)),
    };
    crate::limits::serve(listener, router(app), limits, shutdown)
        .await
        .map_err(|source| ServeError::Io {
            what: "serving".into(),
            source,
        })
}

/// A review server running on its own thread (tests, the demo).
pub struct ServerHandle {
    server: panelflow_connectors::serve::ServerThread,
}

impl ServerHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Stops the server and waits for its thread (as dropping it does).
    pub fn stop(mut self) {
        self.server.shutdown();
    }
}

/// Starts the review page on `addr` (port 0: any) on a thread of its own.
pub fn spawn(app: ReviewApp, addr: SocketAddr) -> Result<ServerHandle, ServeError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| ServeError::Io { what, source }
    };
    let listener = std::net::TcpListener::bind(addr).map_err(io("binding"))?;
    listener.set_nonblocking(true).map_err(io("configuring"))?;
    let addr = listener.local_addr().map_err(io("configuring"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("starting the runtime"))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = Arc::new(app);
    let thread = std::thread::Builder::new()
        .name(format!("review-server-{}", addr.port()))
        .spawn(move || {
            let served = Arc::clone(&app);
            rt.block_on(async move {
                let app = served;
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "review server listener");
                        return;
                    }
                };
                if let Err(e) = serve(listener, app, async {
                    let _ = rx.await;
                })
                .await
                {
                    tracing::error!(error = %e, "review server stopped");
                }
            });
            // The runtime first, then the app (its Lever client is
            // blocking), outside any async context.
            drop(rt);
            drop(app);
        })
        .map_err(io("starting the thread"))?;
    Ok(ServerHandle {
        server: panelflow_connectors::serve::ServerThread::new("review server", addr, tx, thread),
    })
}
