//! An emulator of the parts of Lever's API that panelflow uses, for tests,
//! CI and the demo (`panelflow lever-emulator --listen ADDR --data DIR`).
//!
//! It follows Lever's documented shapes under `/v1`:
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /v1/opportunities` | paged `{data, hasNext, next}` |
//! | `GET /v1/opportunities/:id` | `{data}`, or 404 `{code: "ResourceNotFound", message}` |
//! | `GET /v1/opportunities/:id/notes` | paged notes |
//! | `POST /v1/opportunities/:id/notes[?perform_as=U]` | `{value, secret, score?, notifyFollowers?}` → 201 `{data: {noteId}}` |
//! | `POST /v1/opportunities/:id/addTags`, `/removeTags` | `{tags: [..]}` (a set) → `{data: opportunity}` |
//! | `PUT /v1/opportunities/:id/stage` | `{stage}` → `{data: opportunity}` |
//! | `GET`, `POST /v1/opportunities/:id/feedback?perform_as=U` | `{baseTemplateId, fieldValues, panel?, interview?}` → 201 `{data: feedback}`; the form carries Lever's `fields` (the stored template's fields, each with its `value`) |
//! | `GET /v1/opportunities/:id?expand=applications` | the opportunity with its application objects in place of their ids |
//! | `GET /v1/opportunities/:id/applications`, `/interviews`, `/files` | paged (applications and interviews by their `opportunityId`; files from the opportunity's `files` and stored files) |
//! | `GET /v1/opportunities/:id/interviews/:iid` | `{data}` or 404 |
//! | `GET /v1/contacts/:id` | `{data}`: a stored contact, else one derived from an opportunity whose `contact` it is |
//! | `GET /v1/postings`, `/v1/postings/:id` | paged / `{data}` |
//! | `GET /v1/postings/:id/apply` | `{data: {id, text, customQuestions, personalInformation, urls, eeoQuestions}}` (the posting's stored `customQuestions`) |
//! | `GET /v1/requisitions[?requisition_code=C]`, `/v1/requisitions/:id` | paged (filtered) / `{data}` |
//! | `GET /v1/stages` | paged |
//! | `GET /v1/opportunities?updated_at_start=MS&updated_at_end=MS&expand=applications` | paged, filtered by `updatedAt`, applications expanded |
//! | `DELETE /v1/opportunities/:id/feedback/:fid` | 204 (the form is gone from the listing) |
//! | `PUT /v1/opportunities/:id/archived` | `{reason}` archives (`archived: {reason, archivedAt}`), `{reason: null}` restores → `{data: opportunity}` |
//! | `GET /v1/eeo/responses/pii[?created_at_start=MS]` | paged EEO answers (`{opportunityId, contactId, postingId, gender, race, createdAt, …}`) |
//! | `GET /v1/feedback_templates` | paged |
//! | `GET /v1/opportunities?stage_id=S` | paged, the opportunities at stage `S` |
//! | `GET /v1/opportunities/:id/panels`, `/resumes` | paged (by their `opportunityId`); a résumé carries Lever's `file` and `parsedData: {positions, schools}` |
//! | `POST /v1/opportunities/:id/files[?perform_as=U]` | `multipart/form-data`, the part `file` → 200 `{data: {id, name, ext, downloadUrl, uploadedAt, status, size}}` |
//! | `DELETE /v1/opportunities/:id/files/:fid`, `/notes/:nid` | 204 (gone from the listing) |
//! | `POST /oauth/token` | OAuth 2.0 refresh-token grant (form or JSON) → `{access_token, token_type, expires_in, refresh_token, scope}`; off until enabled |
//!
//! Paged listings take `limit` (default and maximum 100) and `offset`, the
//! opaque `next` token of the previous page.
//!
//! Every `/v1` request must carry HTTP Basic auth whose user name is the
//! configured API key, or `Authorization: Bearer <the key>` or a bearer
//! access token the emulator's `/oauth/token` issued and that has not
//! expired, else 401. Requests beyond the rate limit (Lever's 10 per
//! second, bursts of 20) get 429 with `Retry-After`. Each accepted request
//! is appended as one JSON line to `DIR/requests.jsonl`; the state
//! (opportunities with their tags and stages, notes, feedback) is rewritten
//! atomically to `DIR/state.json` after every write, so a restarted emulator
//! keeps it. `DIR/opportunities.json` (an array of opportunity objects), when
//! present at start, seeds opportunities that the state does not hold yet.
//!
//! Test and demo helpers, without auth or rate limit:
//! - `POST /_emulator/opportunities` — add opportunities (an object or an array);
//! - `GET /_emulator/requests` — every recorded request, as a JSON array;
//! - `POST /_emulator/faults` `{status: 429|5xx, count: N, retry_after?: S}` —
//!   the next N authorised, admitted `/v1` requests fail with that status
//!   (arming replaces faults still pending; `count: 0` clears them);
//! - `POST /_emulator/lost-replies` `{percent: P}` — from now on, P % of
//!   note writes (`POST /v1/opportunities/:id/notes`) store the note and then
//!   lose the reply: the connection is cut after the headers, so the client
//!   never learns the note exists (`percent: 0` stops it);
//! - `GET /_emulator/stats` — counts of accepted and refused requests since start;
//! - `GET /_emulator/paths` — accepted `/v1` requests per `METHOD /path`;
//! - `POST /_emulator/resources/{kind}` — add `postings`, `applications`,
//!   `contacts`, `requisitions`, `interviews`, `files`, `stages`,
//!   `feedback_templates`, `eeo_responses`, `panels` or `resumes` (objects
//!   with an `id`, an object or an array); `DIR/<kind>.json` seeds them at
//!   start like `opportunities.json`;
//! - `POST /_emulator/oauth` `{client_id, client_secret, refresh_token,
//!   access_ttl_s?, rotate?}` — enables the token endpoint.
//!
//! ```no_run
//! use panelflow_devkit::emulator::{spawn, EmulatorConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let emu = spawn(EmulatorConfig::new(dir.path()))?;
//! emu.add_opportunities(vec![serde_json::json!({"id": "opp-1", "name": "Ada"})])?;
//! println!("Lever API at {}", emu.base_url()); // http://127.0.0.1:PORT/v1
//! // ... point a LeverClient at it; the server stops when `emu` is dropped.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The files, one concern each: `config` (settings and errors), `state`
//! (the shared state and its store), `persist` (loading and saving it),
//! `reply`, `records` and `paging` (Lever's shapes), `auth` and `oauth`,
//! `dispatch` (a `/v1` request end to end), `faults` (injected failures),
//! `log` (the request log), the routes by resource (`opportunities`,
//! `moves`, `notes`, `feedback`, `reads`, `briefing`, `files`) and `http`
//! (the router and the helper routes); this file starts and drives it.

mod auth;
mod briefing;
mod config;
mod dispatch;
mod faults;
mod feedback;
mod files;
mod http;
mod log;
mod moves;
mod notes;
mod oauth;
mod opportunities;
mod paging;
mod persist;
mod reads;
mod records;
mod reply;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

pub use self::config::{
    EmulatorConfig, EmulatorError, API_KEY_ENV, DEFAULT_API_KEY, MAX_PAGE_LIMIT, RATE_LIMIT_SLACK,
};
pub use self::log::RecordedRequest;
pub use self::state::{EmulatorStats, RESOURCE_KINDS};

use self::config::io_err;
use self::http::router;
use self::state::{lock, Shared};

/// Serves the emulator on `listener` until the process ends or serving fails.
pub async fn serve(listener: tokio::net::TcpListener, cfg: EmulatorConfig) -> anyhow::Result<()> {
    Ok(serve_with_shutdown(listener, cfg, std::future::pending()).await?)
}

/// Serves until `shutdown` completes, then finishes in-flight requests
/// and returns.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    cfg: EmulatorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), EmulatorError> {
    let dir = cfg.data_dir.clone();
    let shared = Arc::new(
        tokio::task::spawn_blocking(move || Shared::open(cfg))
            .await
            .map_err(|e| {
                EmulatorError::Start(format!("loading state from {}: {e}", dir.display()))
            })??,
    );
    let addr = listener
        .local_addr()
        .map_err(io_err("reading the listening address"))?;
    tracing::info!(%addr, "lever emulator listening (API under /v1)");
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(io_err(format!("serving on {addr}")))
}

/// A running emulator on its own thread and runtime; stops when dropped.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<panelflow_connectors::serve::ServerThread>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts an emulator on `127.0.0.1` at a free port, on a thread of its own
/// with its own tokio runtime. For tests and the demo.
pub fn spawn(cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let shared = Arc::new(Shared::open(cfg)?);
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("binding 127.0.0.1:0"))?;
    listener
        .set_nonblocking(true)
        .map_err(io_err("setting the listener non-blocking"))?;
    let addr = listener
        .local_addr()
        .map_err(io_err("reading the listening address"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let app = router(Arc::clone(&shared));
    let thread = std::thread::Builder::new()
        .name(format!("lever-emulator-{}", addr.port()))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("building the runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("adopting the listener: {e}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    res = axum::serve(listener, app) => {
                        if let Err(e) = res {
                            tracing::error!(error = %e, "lever emulator stopped serving");
                        }
                    }
                    _ = stop_rx => {}
                }
            });
            // Dropping the server future above closed the listener; this
            // cancels open connections and waits briefly for handlers.
            rt.shutdown_timeout(Duration::from_secs(5));
        })
        .map_err(io_err("spawning the emulator thread"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(EmulatorError::Start(e)),
        Err(_) => return Err(EmulatorError::Start("the server thread exited".into())),
    }
    tracing::info!(%addr, "lever emulator started");
    Ok(EmulatorHandle {
        addr,
        shared,
        server: Some(panelflow_connectors::serve::ServerThread::new(
            "lever emulator",
            addr,
            stop_tx,
            thread,
        )),
    })
}

impl EmulatorHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The server root (for the `/_emulator` routes): `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request recorded in `requests.jsonl` (including those of earlier
    /// runs on the same folder).
    pub fn requests(&self) -> Result<Vec<RecordedRequest>, EmulatorError> {
        self.shared.requests()
    }

    /// The notes stored for an opportunity, as Lever returns them.
    pub fn notes(&self, opportunity_id: &str) -> Vec<Value> {
        lock(&self.shared.store)
            .notes
            .get(opportunity_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The stored opportunity object.
    pub fn opportunity(&self, id: &str) -> Option<Value> {
        lock(&self.shared.store).opportunities.get(id).cloned()
    }

    /// The feedback stored for an opportunity.
    pub fn feedback(&self, opportunity_id: &str) -> Vec<Value> {
        lock(&self.shared.store)
            .feedback
            .get(opportunity_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Counts of accepted and refused requests since start.
    pub fn stats(&self) -> EmulatorStats {
        *lock(&self.shared.stats)
    }

    /// Adds (or replaces) opportunities, as `POST /_emulator/opportunities`.
    pub fn add_opportunities(&self, items: Vec<Value>) -> Result<usize, EmulatorError> {
        self.shared
            .add_opportunities(items)
            .map_err(|r| EmulatorError::Data {
                path: self.shared.state_path.clone(),
                reason: r
                    .body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("refused")
                    .to_owned(),
            })
    }

    /// Accepted `/v1` requests per `METHOD /v1/path` since start.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.paths).clone()
    }

    /// Adds (or replaces) resources of a kind ([`RESOURCE_KINDS`]), as
    /// `POST /_emulator/resources/{kind}`.
    pub fn add_resources(&self, kind: &str, items: Vec<Value>) -> Result<usize, EmulatorError> {
        self.shared
            .add_resources(kind, items)
            .map_err(|r| EmulatorError::Data {
                path: self.shared.state_path.clone(),
                reason: r
                    .body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("refused")
                    .to_owned(),
            })
    }

    /// Enables the OAuth token endpoint (`POST /oauth/token`) for one client
    /// and its refresh token; access tokens live `access_ttl`; with `rotate`
    /// every grant issues a new refresh token and retires the old one.
    pub fn enable_oauth(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        access_ttl: Duration,
        rotate: bool,
    ) -> Result<(), EmulatorError> {
        self.shared
            .enable_oauth(&json!({
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
                "access_ttl_s": access_ttl.as_secs_f64(),
                "rotate": rotate,
            }))
            .map_err(|reason| EmulatorError::Data {
                path: PathBuf::from("/_emulator/oauth"),
                reason,
            })
    }

    /// The token endpoint's URL: `http://127.0.0.1:PORT/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    /// Refresh-token grants issued so far.
    pub fn oauth_grants(&self) -> u64 {
        lock(&self.shared.oauth).as_ref().map_or(0, |s| s.grants)
    }

    /// Makes every issued access token invalid at once (as a revocation or
    /// an expiry would), so the next request with one gets 401.
    pub fn revoke_access_tokens(&self) {
        if let Some(s) = lock(&self.shared.oauth).as_mut() {
            s.access.clear();
        }
    }

    /// From now on, `percent` % of note writes store the note and lose the
    /// reply (as `POST /_emulator/lost-replies`); 0 stops it.
    pub fn lose_note_replies(&self, percent: f64) {
        *lock(&self.shared.lost_replies) = percent.clamp(0.0, 100.0);
    }

    /// Like [`inject_faults`](Self::inject_faults), but only writes fail
    /// (reads such as the context stage's pass): `"writes_only": true`.
    pub fn inject_write_faults(&self, status: u16, count: u32) -> Result<(), EmulatorError> {
        self.shared
            .set_fault(&json!({ "status": status, "count": count, "writes_only": true }))
            .map_err(|reason| EmulatorError::Data {
                path: PathBuf::from("/_emulator/faults"),
                reason,
            })
    }

    /// Makes the next `count` admitted `/v1` requests fail with `status`
    /// (429 or 5xx), as `POST /_emulator/faults`.
    pub fn inject_faults(&self, status: u16, count: u32) -> Result<(), EmulatorError> {
        self.shared
            .set_fault(&json!({ "status": status, "count": count }))
            .map_err(|reason| EmulatorError::Data {
                path: PathBuf::from("/_emulator/faults"),
                reason,
            })
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        drop(self.server.take());
        tracing::info!(addr = %self.addr, "lever emulator stopped");
    }
}

impl EmulatorHandle {
    /// The files on an opportunity, as `GET /opportunities/:id/files` lists them.
    pub fn files(&self, opportunity_id: &str) -> Vec<Value> {
        lock(&self.shared.store)
            .listed("files")
            .into_iter()
            .filter(|f| f.get("opportunityId").and_then(Value::as_str) == Some(opportunity_id))
            .cloned()
            .collect()
    }

    /// The bytes of an uploaded file, while it is on its opportunity.
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        let held = lock(&self.shared.store)
            .resources
            .get("files")
            .is_some_and(|m| m.contains_key(file_id));
        held.then(|| std::fs::read(self.shared.files_dir().join(file_id)).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests;
