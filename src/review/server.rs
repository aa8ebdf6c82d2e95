//! `panelflow serve`: the review page over HTTP (axum, server-rendered).
//!
//! | route | what |
//! |---|---|
//! | `GET /login`, `POST /login` | sign-in with a token → session cookie |
//! | `POST /logout` | ends the session (revoked server-side); `everywhere=1`: every session of the user |
//! | `POST /api/users/{name}/revoke-sessions` | an admin ends every session of a user |
//! | `GET /queue?sort=waiting\|posting` | pending items, and recent results |
//! | `GET /interviews/{id}` | one interview |
//! | `POST /interviews/{id}/approve\|edit\|reject\|retry` | decide (forms: CSRF token) |
//! | `GET /api/queue`, `GET /api/interviews/{id}` | the same as JSON |
//! | `GET`, `POST /feedback/{id}` | the feedback draft of a decided candidate ([`super::feedback`]) |
//! | `GET /healthz` | liveness |
//!
//! Every results route needs a signed-in user (cookie or `Authorization:
//! Bearer`): 401 without one; 403 for a role that may not decide, a form
//! without its CSRF token, or — in the pilot phase — a user outside the
//! pilot group. An unknown interview is 404; deciding twice is 409. Failed
//! sign-ins (form or bearer) from one address lock it out for a while: 429
//! with `Retry-After`. Every route is behind the concurrency limit and the
//! request time-out of [`crate::limits`] and a body limit
//! (`[review] max_body_bytes`).
//!
//! What a role may not see never leaves the server: the summary is redacted
//! ([`RolePolicy::redact_summary`](super::auth::RolePolicy::redact_summary)),
//! and so are an edited note (`decisions[].edited_note`), the scorecard and
//! the calibration, in the HTML and the JSON alike. The CSP's `media-src`
//! names only the origins of the interview's own recordings (among
//! `[review] media_hosts` when set).
//!
//! Approving (or editing and approving) runs the item's plan through
//! [`panelflow_connectors::lever::writeback::apply`] against Lever before the answer is sent; the
//! item becomes `written`, or `write_failed` with the reason (and a retry
//! button). Each decision and each write is recorded in the item and in the
//! audit log.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};

use super::auth::{AuthError, Authenticator, Principal, SignInLimiter, SESSION_COOKIE};
use super::page;
use panelflow_connectors::store::queue::{
    ReviewDecision, ReviewError, ReviewItem, ReviewQueue, ReviewStatus,
};
use panelflow_connectors::store::GovernanceSection;
use panelflow_core::writeback::Phase;

use super::ReviewSection;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};

/// Errors starting the review server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The users' configuration is wrong.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The queue folder could not be opened.
    #[error(transparent)]
    Queue(#[from] ReviewError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] panelflow_connectors::store::audit::AuditError),
    /// Binding or serving failed.
    #[error("review server {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// What the review server needs of a pipeline: `[review]`, `[governance]`
/// (the audit log and the key ring), the phase, where Lever's key is read
/// from, and the config hash its audit events carry.
#[derive(Debug, Clone, Default)]
pub struct ReviewConfig {
    /// `[review]`.
    pub review: ReviewSection,
    /// `[governance]`.
    pub governance: GovernanceSection,
    /// `[pipeline] phase`.
    pub phase: Phase,
    /// `[lever] api_key_env`, named when Lever is not configured.
    pub lever_api_key_env: String,
    /// The pipeline config's hash.
    pub config_hash: String,
}

/// What the server works with.
pub struct ReviewApp {
    cfg: ReviewConfig,
    queue: ReviewQueue,
    auth: Authenticator,
    audit: AuditLog,
    lever: Option<LeverClient>,
    /// One Lever write-back at a time from this server (look-before-write
    /// is then race-free between an approval and a retry).
    write_lock: Mutex<()>,
    /// Failed sign-ins per address.
    limiter: SignInLimiter,
}

impl std::fmt::Debug for ReviewApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewApp")
            .field("queue", &self.queue)
            .field("auth", &self.auth)
            .field("lever", &self.lever.is_some())
            .finish_non_exhaustive()
    }
}

impl ReviewApp {
    /// The app for `cfg`: its queue (`[review] queue_dir`), users, audit log
    /// (`[governance] audit_dir`) and the Lever client approvals write with
    /// (`None`: approvals fail with a clear reason, and can be retried).
    pub fn new(
        cfg: impl Into<ReviewConfig>,
        auth: Authenticator,
        lever: Option<LeverClient>,
    ) -> Result<Self, ServeError> {
        let cfg: ReviewConfig = cfg.into();
        let queue = ReviewQueue::open_for(&cfg.review.queue_dir, &cfg.governance)?;
        let audit = AuditLog::open(&cfg.governance.audit_dir)?;
        // Revocations live beside the queue (not a `.json`: no candidate data).
        let auth = if auth.has_revocations() {
            auth
        } else {
            auth.with_revocations(&cfg.review.queue_dir.join(".review-sessions"))
        };
        if !cfg.review.secure_cookie {
            tracing::warn!(
                "[review] secure_cookie = false: the session cookie goes over plain http (development only)"
            );
        }
        Ok(Self {
            cfg,
            queue,
            auth,
            audit,
            lever,
            write_lock: Mutex::new(()),
            limiter: SignInLimiter::default(),
        })
    }

    /// The queue.
    pub fn queue(&self) -> &ReviewQueue {
        &self.queue
    }

    fn record(&self, events: &[AuditEvent]) {
        if let Err(e) = self.audit.append(events) {
            tracing::error!(error = %e, "review audit events not recorded");
        }
    }

    /// Writes an approved item's plan to Lever and stores the outcome.
    fn write_back(&self, item: &ReviewItem, actor: &str) -> Result<ReviewItem, ReviewError> {
        let _one_at_a_time = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let plan = item.effective_plan();
        let started = Utc::now();
        let outcome = match &self.lever {
            _ if plan.is_empty() => {
                Ok(panelflow_connectors::lever::writeback::WriteReport::default())
            }
            Some(client) => panelflow_connectors::lever::writeback::apply(client, &plan)
                .map_err(|e| e.to_string()),
            None => Err(format!(
                "Lever is not configured for the review server (set ${} or [lever.oauth])",
                self.cfg.lever_api_key_env
            )),
        };
        let event = AuditEvent::step(
            &item.correlation_id,
            &item.interview_id,
            "lever_write",
            if outcome.is_ok() { "ok" } else { "failed" },
        )
        .timed(started, Utc::now())
        .by(actor)
        .for_candidate(item.candidate_id.clone())
        .with_config_hash(self.cfg.config_hash.clone())
        .with_detail(match &outcome {
            Ok(r) => json!({"via": "review", "pipeline_version": item.pipeline_version,
                            "opportunity_id": plan.opportunity_id, "report": r}),
            Err(reason) => json!({"via": "review", "pipeline_version": item.pipeline_version,
                                  "opportunity_id": plan.opportunity_id, "reason": reason}),
        });
        self.record(&[event]);
        match &outcome {
            Ok(_) => {
                tracing::info!(interview_id = %item.interview_id, "approved item written to Lever")
            }
            Err(_) => {
                tracing::warn!(interview_id = %item.interview_id, "approved item not written to Lever")
            }
        }
        self.queue.record_write(&item.interview_id, outcome)
    }

    /// Records `action` by `who` on an interview, then (approve, edit,
    /// retry) writes it to Lever.
    pub fn decide(
        &self,
        interview_id: &str,
        action: &str,
        who: &Principal,
        note: Option<String>,
        comment: Option<String>,
    ) -> Result<ReviewItem, ReviewError> {
        let item = if action == "retry" {
            self.queue.begin_retry(interview_id)?
        } else {
            let mut d = ReviewDecision::now(action, &who.name, who.role.as_str());
            d.edited_note = note;
            d.comment = comment;
            self.queue.decide(interview_id, d)?
        };
        let event = AuditEvent::step(
            &item.correlation_id,
            &item.interview_id,
            &format!("review_{action}"),
            "ok",
        )
        .by(who.name.clone())
        .for_candidate(item.candidate_id.clone())
        .with_detail(json!({
            "role": who.role.as_str(),
            "pipeline_version": item.pipeline_version,
            "status": item.status,
            "note_edited": action == "edit",
        }));
        self.record(&[event]);
        tracing::info!(interview_id, action, user = %who.name, "review decision");
        if item.status == ReviewStatus::Approved {
            return self.write_back(&item, &who.name);
        }
        Ok(item)
    }

    /// Writes items left `approved` by an interrupted server (apply looks
    /// before it writes, so nothing is written twice).
    pub fn resume_interrupted(&self) {
        let items = match self.queue.latest() {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "review queue unreadable");
                return;
            }
        };
        for item in items
            .into_iter()
            .filter(|i| i.status == ReviewStatus::Approved)
        {
            tracing::info!(interview_id = %item.interview_id, "resuming an interrupted write-back");
            if let Err(e) = self.write_back(&item, "review:resume") {
                tracing::error!(error = %e, "resuming the write-back failed");
            }
        }
    }
}

type AppState = Arc<ReviewApp>;

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
        .merge(super::feedback::routes::<ReviewApp>())
        .route("/api/users/{name}/revoke-sessions", post(revoke_user))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app);
    crate::limits::apply(routes, limits)
}

/// The feedback drafts' view of the server (`/feedback/{id}`).
impl super::feedback::FeedbackHost for ReviewApp {
    async fn signed_in(
        self: Arc<Self>,
        headers: HeaderMap,
        ip: Option<IpAddr>,
        as_json: bool,
    ) -> Result<super::feedback::SignedIn, Response> {
        self.reader(&headers, ip, as_json)
            .await
            .map(|c| super::feedback::SignedIn {
                who: c.who,
                csrf: c.csrf,
                nonce: c.nonce,
            })
    }
    fn csrf_ok(&self, caller: &super::feedback::SignedIn, token: &str) -> bool {
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

// ---------------------------------------------------------------------------
// Responses.

/// The CSP of every page; `media-src` is filled in per page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     media-src MEDIA; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn secure_headers(resp: Response) -> Response {
    secure_headers_with_media(resp, &[])
}

/// The security headers, the CSP's `media-src` naming `media_origins`
/// (`'none'` when there are none).
fn secure_headers_with_media(mut resp: Response, media_origins: &[String]) -> Response {
    let media = if media_origins.is_empty() {
        "'none'".to_string()
    } else {
        media_origins.join(" ")
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&CSP.replace("MEDIA", &media))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Browsers ignore it over plain http; behind HTTPS it keeps them there.
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        header::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    resp
}

fn html_with_media(status: StatusCode, body: String, media_origins: &[String]) -> Response {
    secure_headers_with_media(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        media_origins,
    )
}

fn html(status: StatusCode, body: String) -> Response {
    secure_headers(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    secure_headers((status, axum::Json(body.clone())).into_response())
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(r)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        page::stylesheet(),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        page::script(),
    )
        .into_response()
}

/// A refusal or failure, rendered as HTML or JSON.
struct Failure {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
        }
    }

    fn locked_out(wait: Duration) -> Self {
        Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            format!(
                "Too many failed sign-ins; try again in {} s.",
                wait.as_secs().max(1)
            ),
        )
    }

    fn render(self, as_json: bool, who: Option<(&Principal, &str)>) -> Response {
        if as_json {
            let mut r = json_response(
                self.status,
                &json!({"error": self.title, "message": self.message}),
            );
            if self.status == StatusCode::UNAUTHORIZED {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            if self.status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            return r;
        }
        if self.status == StatusCode::UNAUTHORIZED || self.status == StatusCode::TOO_MANY_REQUESTS {
            let mut r = html(self.status, page::login_page(Some(&self.message)));
            if self.status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            return r;
        }
        html(
            self.status,
            page::message_page(self.title, &self.message, who),
        )
    }
}

impl From<ReviewError> for Failure {
    fn from(e: ReviewError) -> Self {
        match &e {
            ReviewError::NotFound(_) => {
                Failure::new(StatusCode::NOT_FOUND, "Not found", e.to_string())
            }
            ReviewError::AlreadyDecided { .. } => Failure::new(
                StatusCode::CONFLICT,
                "Already decided",
                format!("{e}; nothing was changed."),
            ),
            ReviewError::UnknownAction(_) => {
                Failure::new(StatusCode::BAD_REQUEST, "Bad request", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "review queue error");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server error",
                    "The review queue could not be read or written; see the server log.",
                )
            }
        }
    }
}

/// Who is asking: the principal and, for a cookie session, its nonce.
struct Caller {
    who: Principal,
    /// `Some` for a cookie session (forms must carry its CSRF token).
    nonce: Option<String>,
    csrf: String,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

/// The client's address, when the server was started with connection info.
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl ReviewApp {
    /// The signed-in caller: a bearer token (checked off the async
    /// threads: the hash is slow; failures count towards the lock-out) or
    /// a session cookie.
    async fn caller(
        self: &Arc<Self>,
        headers: &HeaderMap,
        ip: Option<IpAddr>,
    ) -> Result<Caller, Failure> {
        if let Some(token) = bearer(headers) {
            if let Err(wait) = self.limiter.check(ip) {
                return Err(Failure::locked_out(wait));
            }
            let (app, token) = (Arc::clone(self), token.to_owned());
            let who = tokio::task::spawn_blocking(move || app.auth.by_token(&token))
                .await
                .ok()
                .flatten();
            return match who {
                Some(who) => {
                    self.limiter.succeeded(ip);
                    Ok(Caller {
                        who,
                        nonce: None,
                        csrf: String::new(),
                    })
                }
                None => {
                    self.limiter.failed(ip);
                    tracing::warn!(ip = ?ip, "review bearer token refused");
                    Err(Failure::new(
                        StatusCode::UNAUTHORIZED,
                        "Sign in",
                        "The bearer token is not valid.",
                    ))
                }
            };
        }
        let cookie = cookie(headers, SESSION_COOKIE).map(str::to_owned);
        let app = Arc::clone(self);
        let verified =
            tokio::task::spawn_blocking(move || cookie.and_then(|v| app.auth.verify_session(&v)))
                .await
                .ok()
                .flatten();
        verified
            .map(|(who, nonce)| {
                let csrf = self.auth.csrf_token(&nonce);
                Caller {
                    who,
                    nonce: Some(nonce),
                    csrf,
                }
            })
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::UNAUTHORIZED,
                    "Sign in",
                    "Please sign in with your access token.",
                )
            })
    }

    /// The signed-in caller, when they may see results; else the response
    /// that says why (HTML or JSON).
    #[allow(clippy::result_large_err)]
    async fn reader(
        self: &Arc<Self>,
        headers: &HeaderMap,
        ip: Option<IpAddr>,
        as_json: bool,
    ) -> Result<Caller, Response> {
        let c = self
            .caller(headers, ip)
            .await
            .map_err(|f| f.render(as_json, None))?;
        if let Err(f) = self.may_see_results(&c.who) {
            let page = (!as_json).then_some((&c.who, c.csrf.as_str()));
            return Err(f.render(as_json, page));
        }
        Ok(c)
    }

    /// The origins the CSP lets the page play `view`'s recordings from.
    fn media_origins(&self, view: &Value) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for u in view
            .get("media_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(o) = media_origin(u) {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        out
    }

    /// Whether `url` may be played: an http(s) URL whose host (or origin)
    /// is among `[review] media_hosts`, or any when none are configured.
    fn media_allowed(&self, url: &str) -> bool {
        let hosts = &self.cfg.review.media_hosts;
        let Ok(u) = url::Url::parse(url) else {
            return false;
        };
        if !matches!(u.scheme(), "http" | "https") {
            return false;
        }
        if hosts.is_empty() {
            return true;
        }
        let origin = media_origin(url).unwrap_or_default();
        let host = u.host_str().unwrap_or_default();
        hosts.iter().any(|h| {
            h.eq_ignore_ascii_case(host) || h.trim_end_matches('/').eq_ignore_ascii_case(&origin)
        })
    }

    /// Pilot phase: results only for the pilot group.
    fn may_see_results(&self, who: &Principal) -> Result<(), Failure> {
        if self.cfg.phase == Phase::Pilot && !who.in_group(&self.cfg.review.pilot_group) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Not in the pilot",
                format!(
                    "During the pilot, results are shown to the {} group only.",
                    self.cfg.review.pilot_group
                ),
            ));
        }
        Ok(())
    }

    fn calibration(&self, item: &ReviewItem) -> Option<Value> {
        match page::load_calibration(
            &self.cfg.review.aggregates_dir,
            &item.candidate_id,
            item.posting_id.as_deref(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "calibration snapshot unreadable");
                None
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "review handler panicked");
        Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            "The request failed; see the server log.",
        ))
    })
}

/// `scheme://host[:port]` of an http(s) URL (a CSP source).
fn media_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let origin = u.origin().ascii_serialization();
    // Only what a CSP source may hold: no spaces, quotes or semicolons.
    (!origin.contains([' ', ';', '\'', '"', ','])).then_some(origin)
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

// ---------------------------------------------------------------------------
// Handlers.

async fn login_form() -> Response {
    html(StatusCode::OK, page::login_page(None))
}

async fn login(State(app): State<AppState>, ClientIp(ip): ClientIp, body: Bytes) -> Response {
    if let Err(wait) = app.limiter.check(ip) {
        tracing::warn!(ip = ?ip, "review sign-in refused: locked out");
        return Failure::locked_out(wait).render(false, None);
    }
    let f = form(&body);
    let token = f.get("token").cloned().unwrap_or_default();
    let app2 = Arc::clone(&app);
    let who = tokio::task::spawn_blocking(move || app2.auth.by_token(&token))
        .await
        .ok()
        .flatten();
    let Some(who) = who else {
        app.limiter.failed(ip);
        tracing::warn!(ip = ?ip, "review sign-in refused");
        return html(
            StatusCode::UNAUTHORIZED,
            page::login_page(Some("That token is not valid.")),
        );
    };
    app.limiter.succeeded(ip);
    let session = app.auth.issue_session(&who);
    tracing::info!(user = %who.name, role = who.role.as_str(), "review sign-in");
    let mut r = redirect("/queue");
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session.cookie_value,
        app.auth.ttl().as_secs(),
        if app.cfg.review.secure_cookie {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(c) = app.caller(&headers, ip).await {
        let f = form(&body);
        if let Some(nonce) = &c.nonce {
            if !app
                .auth
                .check_csrf(nonce, f.get("csrf").map(String::as_str).unwrap_or(""))
            {
                return Failure::new(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "The form has expired; reload the page.",
                )
                .render(false, None);
            }
        }
        // Ended on the server too: a copied cookie stops working.
        let everywhere = f.get("everywhere").is_some_and(|v| v == "1");
        let cookie_value = cookie(&headers, SESSION_COOKIE).map(str::to_owned);
        let (app2, user) = (Arc::clone(&app), c.who.name.clone());
        let revoked = tokio::task::spawn_blocking(move || {
            if everywhere {
                app2.auth.revoke_user(&user)
            } else if let Some(v) = cookie_value {
                app2.auth.revoke_session(&v)
            } else {
                Ok(())
            }
        })
        .await;
        if !matches!(revoked, Ok(Ok(()))) {
            tracing::error!(user = %c.who.name, "session revocation not recorded");
        }
        tracing::info!(user = %c.who.name, everywhere, "review sign-out");
    }
    let mut r = redirect("/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "panelflow_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// An admin ends every session of a user (`POST
/// /api/users/{name}/revoke-sessions`, bearer or session with CSRF).
async fn revoke_user(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let c = match app.caller(&headers, ip).await {
        Ok(c) => c,
        Err(f) => return f.render(true, None),
    };
    if let Some(nonce) = &c.nonce {
        let f = form(&body);
        if !app
            .auth
            .check_csrf(nonce, f.get("csrf").map(String::as_str).unwrap_or(""))
        {
            return Failure::new(StatusCode::FORBIDDEN, "Refused", "Missing CSRF token.")
                .render(true, None);
        }
    }
    if c.who.role != super::auth::Role::Admin {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only an admin may end another user's sessions.",
        )
        .render(true, None);
    }
    if !app.auth.knows(&name) {
        return Failure::new(StatusCode::NOT_FOUND, "Not found", "No such user.")
            .render(true, None);
    }
    let (app2, user) = (Arc::clone(&app), name.clone());
    match tokio::task::spawn_blocking(move || app2.auth.revoke_user(&user)).await {
        Ok(Ok(())) => {
            tracing::info!(admin = %c.who.name, user = %name, "sessions revoked");
            json_response(StatusCode::OK, &json!({"revoked": name}))
        }
        _ => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            "The revocation could not be recorded.",
        )
        .render(true, None),
    }
}

#[derive(serde::Deserialize, Default)]
struct SortQuery {
    sort: Option<String>,
}

fn queue_rows(
    app: &ReviewApp,
    who: &Principal,
    sort: &str,
) -> Result<(Vec<Value>, Vec<Value>), Failure> {
    let now = Utc::now();
    let mut items = app.queue.latest()?;
    let (mut pending, mut rest): (Vec<ReviewItem>, Vec<ReviewItem>) = items
        .drain(..)
        .partition(|i| i.status == ReviewStatus::Pending);
    // Oldest first = longest waiting first.
    pending.sort_by_key(|i| i.enqueued_at);
    if sort == "posting" {
        pending.sort_by(|a, b| {
            let key = |i: &ReviewItem| {
                i.posting_title
                    .clone()
                    .or_else(|| i.posting_id.clone())
                    .unwrap_or_else(|| "\u{10FFFF}".into())
                    .to_lowercase()
            };
            key(a).cmp(&key(b)).then(a.enqueued_at.cmp(&b.enqueued_at))
        });
    }
    rest.sort_by(|a, b| {
        b.updated_at
            .unwrap_or(b.enqueued_at)
            .cmp(&a.updated_at.unwrap_or(a.enqueued_at))
    });
    rest.truncate(50);
    let row = |i: &ReviewItem| page::queue_row(i, &who.policy, now);
    Ok((
        pending.iter().map(row).collect(),
        rest.iter().map(row).collect(),
    ))
}

async fn queue_html(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<SortQuery>,
) -> Response {
    let c = match app.reader(&headers, ip, false).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let sort = q.sort.unwrap_or_default();
    let (app2, who) = (Arc::clone(&app), c.who.clone());
    let sort2 = sort.clone();
    match blocking(move || queue_rows(&app2, &who, &sort2)).await {
        Ok((pending, recent)) => html(
            StatusCode::OK,
            page::queue_page(&pending, &recent, &sort, (&c.who, &c.csrf)),
        ),
        Err(f) => f.render(false, Some((&c.who, &c.csrf))),
    }
}

async fn queue_json(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<SortQuery>,
) -> Response {
    let c = match app.reader(&headers, ip, true).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let sort = q.sort.unwrap_or_default();
    let (app2, who) = (Arc::clone(&app), c.who.clone());
    match blocking(move || queue_rows(&app2, &who, &sort)).await {
        Ok((pending, recent)) => json_response(
            StatusCode::OK,
            &json!({"user": c.who.name, "role": c.who.role.as_str(), "pending": pending, "recent": recent}),
        ),
        Err(f) => f.render(true, None),
    }
}

async fn view_of(app: &AppState, who: &Principal, id: String) -> Result<Value, Failure> {
    let (app, policy) = (Arc::clone(app), who.policy);
    blocking(move || {
        let item = app.queue.get(&id)?.ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("No interview {id} in the review queue."),
            )
        })?;
        let calibration = if policy.see_scores {
            app.calibration(&item)
        } else {
            None
        };
        let mut view = page::item_view(&item, &policy, Utc::now(), calibration.as_ref());
        if let Some(urls) = view.get_mut("media_urls").and_then(Value::as_array_mut) {
            urls.retain(|u| u.as_str().is_some_and(|u| app.media_allowed(u)));
        }
        Ok(view)
    })
    .await
}

async fn interview_html(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = match app.reader(&headers, ip, false).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match view_of(&app, &c.who, id).await {
        Ok(view) => html_with_media(
            StatusCode::OK,
            page::interview_page(&view, (&c.who, &c.csrf)),
            &app.media_origins(&view),
        ),
        Err(f) => f.render(false, Some((&c.who, &c.csrf))),
    }
}

async fn interview_json(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = match app.reader(&headers, ip, true).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match view_of(&app, &c.who, id).await {
        Ok(view) => json_response(StatusCode::OK, &view),
        Err(f) => f.render(true, None),
    }
}

/// Longest edited note accepted.
const MAX_NOTE_CHARS: usize = 20_000;
/// Longest comment kept.
const MAX_COMMENT_CHARS: usize = 500;

async fn decide(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let as_json = wants_json(&headers) || bearer(&headers).is_some();
    let c = match app.caller(&headers, ip).await {
        Ok(c) => c,
        Err(f) => return f.render(as_json, None),
    };
    let who = Some((&c.who, c.csrf.as_str()));
    let f = form(&body);
    if let Some(nonce) = &c.nonce {
        if !app
            .auth
            .check_csrf(nonce, f.get("csrf").map(String::as_str).unwrap_or(""))
        {
            tracing::warn!(user = %c.who.name, "review form without a valid CSRF token");
            return Failure::new(
                StatusCode::FORBIDDEN,
                "Refused",
                "The form's security token is missing or expired; reload the page and try again.",
            )
            .render(as_json, who);
        }
    }
    if let Err(f) = app.may_see_results(&c.who) {
        return f.render(as_json, who);
    }
    if !matches!(action.as_str(), "approve" | "edit" | "reject" | "retry") {
        return Failure::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("No action {action:?}."),
        )
        .render(as_json, who);
    }
    if !c.who.policy.can_decide {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!(
                "The {} role may not approve, edit or reject.",
                c.who.role.as_str()
            ),
        )
        .render(as_json, who);
    }
    let comment = f
        .get("comment")
        .map(|s| s.trim().chars().take(MAX_COMMENT_CHARS).collect::<String>())
        .filter(|s| !s.is_empty());
    let note = if action == "edit" {
        let text = f
            .get("note")
            .map(|s| s.replace("\r\n", "\n"))
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The edited note is empty.",
            )
            .render(as_json, who);
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                format!("The note is longer than {MAX_NOTE_CHARS} characters."),
            )
            .render(as_json, who);
        }
        Some(text)
    } else {
        None
    };
    let (app2, principal, id2, action2) =
        (Arc::clone(&app), c.who.clone(), id.clone(), action.clone());
    let result = blocking(move || {
        if action2 == "edit" {
            // Editing needs a note the role may read.
            let item = app2
                .queue
                .get(&id2)?
                .ok_or_else(|| Failure::from(ReviewError::NotFound(id2.clone())))?;
            if !page::note_visible(&item, &principal.policy) {
                return Err(Failure::new(
                    StatusCode::FORBIDDEN,
                    "Not allowed",
                    "Your role may approve or reject this note but not edit it.",
                ));
            }
        }
        app2.decide(&id2, &action2, &principal, note, comment)
            .map_err(Failure::from)
    })
    .await;
    match result {
        Ok(item) if as_json => json_response(
            StatusCode::OK,
            &page::item_view(&item, &c.who.policy, Utc::now(), None),
        ),
        Ok(_) => redirect(&format!("/interviews/{}", page::path_segment(&id))),
        Err(f) => f.render(as_json, who),
    }
}
