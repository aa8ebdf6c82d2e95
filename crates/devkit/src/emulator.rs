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

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use panelflow_core::webhook::provider::constant_time_eq;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use panelflow_connectors::lever::ratelimit::TokenBucket;

/// API key used when neither `--api-key` nor `PANELFLOW_LEVER_API_KEY` is set.
pub const DEFAULT_API_KEY: &str = "test-key";
/// Environment variable holding the emulator's API key.
pub const API_KEY_ENV: &str = "PANELFLOW_LEVER_API_KEY";
/// A request is admitted when a token is due within this time: it absorbs
/// the transport and scheduling jitter between a well-behaved client's own
/// limiter and the emulator's clock (half a token at 10 req/s).
pub const RATE_LIMIT_SLACK: Duration = Duration::from_millis(50);
/// Largest and default page size.
pub const MAX_PAGE_LIMIT: usize = 100;

/// How an emulator runs.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where `state.json`, `requests.jsonl` and the optional
    /// `opportunities.json` seed file live (created if missing).
    pub data_dir: PathBuf,
    /// The API key clients must present as the Basic auth user name.
    pub api_key: String,
    /// Steady request rate allowed, per second.
    pub rate_per_s: f64,
    /// Burst allowed.
    pub burst: f64,
}

impl EmulatorConfig {
    /// Lever's limits (10 req/s, burst 20) and the API key from
    /// `PANELFLOW_LEVER_API_KEY`, else `test-key`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let api_key = std::env::var(API_KEY_ENV)
            .ok()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| DEFAULT_API_KEY.to_owned());
        Self {
            data_dir: data_dir.into(),
            api_key,
            rate_per_s: 10.0,
            burst: 20.0,
        }
    }
}

impl Default for EmulatorConfig {
    /// [`EmulatorConfig::new`] on the folder `lever-emulator`.
    fn default() -> Self {
        Self::new("lever-emulator")
    }
}

/// Why the emulator could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A file or socket operation failed.
    #[error("lever emulator: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A data file is not the expected JSON.
    #[error("lever emulator: {path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The API key is empty.
    #[error("lever emulator: the API key must not be empty")]
    EmptyApiKey,
    /// The server thread died before it was ready.
    #[error("lever emulator: the server thread failed to start: {0}")]
    Start(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let context = context.into();
    move |source| EmulatorError::Io { context, source }
}

/// One accepted `/v1` request, as recorded in `requests.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// When it arrived (RFC 3339, UTC).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path, including the `/v1` prefix.
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Who was authenticated: `basic:` or `bearer:` followed by the first
    /// 12 hex digits of the SHA-256 of the key (never the key itself).
    pub auth_user: String,
    /// The `perform_as` user, if given.
    pub perform_as: Option<String>,
    /// The status the emulator answered.
    pub status: u16,
}

/// Counts since the emulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorStats {
    /// `/v1` requests that passed auth, rate limit and fault injection.
    pub accepted: u64,
    /// Refused with 401.
    pub unauthorized: u64,
    /// Refused with 429 by the rate limiter.
    pub rate_limited: u64,
    /// Failed on purpose by an injected fault.
    pub faulted: u64,
    /// Notes stored whose reply was then dropped on purpose (a lost reply).
    #[serde(default)]
    pub lost_replies: u64,
}

/// The persisted state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Store {
    opportunities: BTreeMap<String, Value>,
    notes: BTreeMap<String, Vec<Value>>,
    feedback: BTreeMap<String, Vec<Value>>,
    /// Other read-only resources by kind (`postings`, `contacts`, ...) and id.
    #[serde(default)]
    resources: BTreeMap<String, BTreeMap<String, Value>>,
    /// Ids per resource kind in the order they were added: listings follow
    /// it (Lever lists stages in pipeline order).
    #[serde(default)]
    order: BTreeMap<String, Vec<String>>,
}

impl Store {
    /// Stores a resource; a new id goes to the end of its kind's order.
    fn put_resource(&mut self, kind: &str, id: String, item: Value) -> bool {
        let stored = self.resources.entry(kind.to_string()).or_default();
        let new = stored.insert(id.clone(), item).is_none();
        if new {
            self.order.entry(kind.to_string()).or_default().push(id);
        }
        new
    }

    /// A kind's resources in the order they were added.
    fn listed(&self, kind: &str) -> Vec<&Value> {
        let Some(stored) = self.resources.get(kind) else {
            return Vec::new();
        };
        let ordered = self.order.get(kind).map(Vec::as_slice).unwrap_or_default();
        let mut out: Vec<&Value> = ordered.iter().filter_map(|id| stored.get(id)).collect();
        if out.len() < stored.len() {
            // State written before the order was kept: the rest by id.
            let known: std::collections::BTreeSet<&String> = ordered.iter().collect();
            out.extend(
                stored
                    .iter()
                    .filter(|(id, _)| !known.contains(id))
                    .map(|(_, v)| v),
            );
        }
        out
    }
}

/// The kinds of read-only resources the emulator stores besides opportunities.
pub const RESOURCE_KINDS: [&str; 11] = [
    "postings",
    "applications",
    "contacts",
    "requisitions",
    "interviews",
    "files",
    "stages",
    "feedback_templates",
    "eeo_responses",
    "panels",
    "resumes",
];

/// The OAuth client the token endpoint accepts, and the tokens it issued.
#[derive(Debug, Clone)]
struct OAuthState {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    access_ttl: Duration,
    rotate: bool,
    access: BTreeMap<String, std::time::Instant>,
    grants: u64,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    status: StatusCode,
    remaining: u32,
    retry_after: Option<u64>,
    /// Only writes (POST, PUT, DELETE) fail; reads pass.
    writes_only: bool,
}

/// Everything the handlers share.
struct Shared {
    api_key: String,
    state_path: PathBuf,
    requests_path: PathBuf,
    limiter: TokenBucket,
    store: Mutex<Store>,
    fault: Mutex<Option<Fault>>,
    /// Percent of note writes whose reply is lost.
    lost_replies: Mutex<f64>,
    stats: Mutex<EmulatorStats>,
    log: Mutex<File>,
    paths: Mutex<BTreeMap<String, u64>>,
    oauth: Mutex<Option<OAuthState>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent (writes are swapped in whole), so a
    // poisoned lock is taken over rather than propagating a panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An answer: status, JSON body, optional `Retry-After`; `lose` cuts the
/// connection instead of sending the body (a lost reply).
struct Reply {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
    lose: bool,
}

impl Reply {
    fn ok(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after: None,
            lose: false,
        }
    }
    fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "code": code, "message": message.into() }),
            retry_after: None,
            lose: false,
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "BadRequestError", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::error(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if self.lose {
            // The headers go out, then the body fails: the server aborts the
            // connection and the client gets no answer it can read.
            let mut resp = Response::new(axum::body::Body::new(CutBody));
            *resp.status_mut() = self.status;
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return resp;
        }
        let mut resp = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Lever\""),
            );
        }
        resp
    }
}

/// A response body that fails at once: the connection is cut mid-reply.
struct CutBody;

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("reply lost on purpose"))))
    }
}

/// A `/v1` request handed to the synchronous core.
struct Incoming {
    method: Method,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

impl Shared {
    fn open(cfg: EmulatorConfig) -> Result<Self, EmulatorError> {
        if cfg.api_key.is_empty() {
            return Err(EmulatorError::EmptyApiKey);
        }
        let dir = &cfg.data_dir;
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let state_path = dir.join("state.json");
        let requests_path = dir.join("requests.jsonl");
        let seeds_path = dir.join("opportunities.json");

        let mut store = if state_path.exists() {
            let text = std::fs::read(&state_path)
                .map_err(io_err(format!("reading {}", state_path.display())))?;
            serde_json::from_slice::<Store>(&text).map_err(|e| EmulatorError::Data {
                path: state_path.clone(),
                reason: e.to_string(),
            })?
        } else {
            Store::default()
        };
        let mut seeded = 0usize;
        if seeds_path.exists() {
            let text = std::fs::read(&seeds_path)
                .map_err(io_err(format!("reading {}", seeds_path.display())))?;
            let seeds: Value = serde_json::from_slice(&text).map_err(|e| EmulatorError::Data {
                path: seeds_path.clone(),
                reason: e.to_string(),
            })?;
            let Value::Array(seeds) = seeds else {
                return Err(EmulatorError::Data {
                    path: seeds_path,
                    reason: "expected a JSON array of opportunity objects".into(),
                });
            };
            for seed in seeds {
                let opp = normalize_opportunity(seed).map_err(|reason| EmulatorError::Data {
                    path: seeds_path.clone(),
                    reason,
                })?;
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    store.opportunities.entry(opp_id(&opp))
                {
                    slot.insert(opp);
                    seeded += 1;
                }
            }
        }
        for kind in RESOURCE_KINDS {
            let path = dir.join(format!("{kind}.json"));
            if !path.exists() {
                continue;
            }
            let text =
                std::fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
            let items: Value = serde_json::from_slice(&text).map_err(|e| EmulatorError::Data {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let Value::Array(items) = items else {
                return Err(EmulatorError::Data {
                    path,
                    reason: format!("expected a JSON array of {kind}"),
                });
            };
            for item in items {
                let id = resource_id(&item).map_err(|reason| EmulatorError::Data {
                    path: path.clone(),
                    reason,
                })?;
                let held = store
                    .resources
                    .get(kind)
                    .is_some_and(|m| m.contains_key(&id));
                if !held && store.put_resource(kind, id, item) {
                    seeded += 1;
                }
            }
        }
        if seeded > 0 || !state_path.exists() {
            persist(&state_path, &store)?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&requests_path)
            .map_err(io_err(format!("opening {}", requests_path.display())))?;
        tracing::info!(
            dir = %dir.display(),
            opportunities = store.opportunities.len(),
            seeded,
            "lever emulator state loaded"
        );
        Ok(Self {
            api_key: cfg.api_key,
            state_path,
            requests_path,
            limiter: TokenBucket::new(cfg.rate_per_s, cfg.burst),
            store: Mutex::new(store),
            fault: Mutex::new(None),
            lost_replies: Mutex::new(0.0),
            stats: Mutex::new(EmulatorStats::default()),
            log: Mutex::new(log),
            paths: Mutex::new(BTreeMap::new()),
            oauth: Mutex::new(None),
        })
    }

    /// Applies `f` to a copy of the state, persists the copy, then swaps it
    /// in: the state on disk and in memory never diverge.
    fn write<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, Reply>) -> Result<T, Reply> {
        let mut guard = lock(&self.store);
        let mut next = guard.clone();
        let out = f(&mut next)?;
        persist(&self.state_path, &next).map_err(|e| {
            tracing::error!(error = %e, "lever emulator: persisting state failed");
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "could not persist state",
            )
        })?;
        *guard = next;
        Ok(out)
    }

    /// Returns `Some("basic:<fingerprint>")` when the credentials match.
    fn authenticate(&self, authorization: Option<&str>) -> Option<String> {
        let value = authorization?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        let rest = rest.trim();
        let (kind, key) = if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let user = decoded
                .split_once(':')
                .map_or(decoded.as_str(), |(u, _)| u)
                .to_owned();
            ("basic", user)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(state) = lock(&self.oauth).as_mut() {
                let now = std::time::Instant::now();
                state.access.retain(|_, until| *until > now);
                if state.access.contains_key(rest) {
                    let digest = Sha256::digest(rest.as_bytes());
                    return Some(format!("oauth:{}", &hex::encode(digest)[..12]));
                }
            }
            ("bearer", rest.to_owned())
        } else {
            return None;
        };
        if !constant_time_eq(key.as_bytes(), self.api_key.as_bytes()) {
            return None;
        }
        let digest = Sha256::digest(key.as_bytes());
        Some(format!("{kind}:{}", &hex::encode(digest)[..12]))
    }

    fn handle_v1(&self, req: Incoming) -> Reply {
        let Some(auth_user) = self.authenticate(req.authorization.as_deref()) else {
            lock(&self.stats).unauthorized += 1;
            tracing::debug!(method = %req.method, path = %req.path, "lever emulator: 401");
            return Reply::error(
                StatusCode::UNAUTHORIZED,
                "UnauthorizedError",
                "invalid or missing API key",
            );
        };
        if let Err(wait) = self.limiter.try_acquire_within(RATE_LIMIT_SLACK) {
            lock(&self.stats).rate_limited += 1;
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            tracing::debug!(method = %req.method, path = %req.path, "lever emulator: 429");
            let mut r = Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "rate limit exceeded: 10 requests per second, bursts of 20",
            );
            r.retry_after = Some(secs);
            return r;
        }
        if let Some(fault) = self.take_fault(req.method != Method::GET) {
            lock(&self.stats).faulted += 1;
            let mut r = Reply::error(
                fault.status,
                &fault
                    .status
                    .canonical_reason()
                    .unwrap_or("Error")
                    .replace(' ', ""),
                "injected fault",
            );
            r.retry_after = fault.retry_after;
            return r;
        }
        lock(&self.stats).accepted += 1;
        *lock(&self.paths)
            .entry(format!("{} {}", req.method, req.path))
            .or_insert(0) += 1;

        let query: BTreeMap<String, String> = req
            .query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let upload = req
            .content_type
            .as_deref()
            .and_then(multipart_boundary)
            .map(|b| {
                parse_upload(&req.body, &b)
                    .ok_or_else(|| "no `file` part in the multipart body".to_owned())
            });
        let body: Result<Option<Value>, String> = if let Some(upload) = &upload {
            upload
                .as_ref()
                .map(|u| Some(u.describe()))
                .map_err(Clone::clone)
        } else if req.body.iter().all(u8::is_ascii_whitespace) {
            Ok(None)
        } else {
            serde_json::from_slice(&req.body)
                .map(Some)
                .map_err(|e| format!("body is not JSON: {e}"))
        };
        let perform_as = query.get("perform_as").filter(|u| !u.is_empty()).cloned();
        let reply = match &body {
            Err(reason) => Reply::bad_request(reason.clone()),
            Ok(body) => match split_path(&req.path) {
                Some(segments) => {
                    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
                    let upload = upload.and_then(Result::ok);
                    self.route_briefing(
                        &req.method,
                        &segs,
                        &query,
                        upload.as_ref(),
                        perform_as.as_deref(),
                    )
                    .unwrap_or_else(|| {
                        self.route(
                            &req.method,
                            &segs,
                            &query,
                            body.as_ref(),
                            perform_as.as_deref(),
                        )
                    })
                }
                None => Reply::not_found(format!("no such resource: {}", req.path)),
            },
        };
        let mut reply = reply;
        if req.method == Method::POST
            && req.path.ends_with("/notes")
            && reply.status == StatusCode::CREATED
        {
            let percent = *lock(&self.lost_replies);
            let draw = (uuid::Uuid::new_v4().as_u128() % 10_000) as f64 / 100.0;
            if draw < percent {
                lock(&self.stats).lost_replies += 1;
                tracing::info!(path = %req.path, "lever emulator: note stored, reply lost on purpose");
                reply.lose = true;
            }
        }
        let record = RecordedRequest {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: req.method.to_string(),
            path: req.path,
            query,
            body: body.ok().flatten(),
            auth_user,
            perform_as,
            status: reply.status.as_u16(),
        };
        self.record(&record);
        reply
    }

    fn take_fault(&self, is_write: bool) -> Option<Fault> {
        let mut guard = lock(&self.fault);
        let fault = (*guard)?;
        if fault.writes_only && !is_write {
            return None;
        }
        if fault.remaining <= 1 {
            *guard = None;
        } else if let Some(f) = guard.as_mut() {
            f.remaining -= 1;
        }
        Some(fault)
    }

    fn record(&self, record: &RecordedRequest) {
        let mut line = match serde_json::to_string(record) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "lever emulator: serialising a request record failed");
                return;
            }
        };
        line.push('\n');
        if let Err(e) = lock(&self.log).write_all(line.as_bytes()) {
            tracing::error!(error = %e, path = %self.requests_path.display(), "lever emulator: recording a request failed");
        }
    }

    fn requests(&self) -> Result<Vec<RecordedRequest>, EmulatorError> {
        let _guard = lock(&self.log); // no half-written line is read
        let file = File::open(&self.requests_path)
            .map_err(io_err(format!("opening {}", self.requests_path.display())))?;
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_err(format!("reading {}", self.requests_path.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&line) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::warn!(line = n + 1, error = %e, "lever emulator: skipping an unreadable request record")
                }
            }
        }
        Ok(out)
    }

    fn route(
        &self,
        method: &Method,
        segs: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<&Value>,
        perform_as: Option<&str>,
    ) -> Reply {
        let m = method.clone();
        if m == Method::GET {
            if let Some(reply) = self.route_reads(segs, query) {
                return reply;
            }
        }
        match segs {
            ["opportunities"] if m == Method::GET => {
                let store = lock(&self.store);
                let bound = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
                let (start, end) = (bound("updated_at_start"), bound("updated_at_end"));
                let expand = query
                    .get("expand")
                    .is_some_and(|e| e.split(',').any(|x| x.trim() == "applications"));
                let listed: Vec<Value> = store
                    .opportunities
                    .values()
                    .filter(|o| {
                        let at = o.get("updatedAt").and_then(Value::as_i64).unwrap_or(0);
                        start.is_none_or(|s| at >= s) && end.is_none_or(|e| at < e)
                    })
                    .map(|o| {
                        if expand {
                            expand_applications(&store, o)
                        } else {
                            o.clone()
                        }
                    })
                    .collect();
                paged(&listed.iter().collect::<Vec<_>>(), query)
            }
            ["opportunities", id, "feedback", fid] if m == Method::DELETE => {
                self.delete_feedback(id, fid)
            }
            ["opportunities", id, "archived"] if m == Method::PUT => self.archive(id, body),
            ["opportunities", id] if m == Method::GET => {
                match lock(&self.store).opportunities.get(*id) {
                    Some(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
                    None => opp_not_found(id),
                }
            }
            ["opportunities", id, "notes"] if m == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return opp_not_found(id);
                }
                let notes: Vec<&Value> = store
                    .notes
                    .get(*id)
                    .map(|n| n.iter().collect())
                    .unwrap_or_default();
                paged(&notes, query)
            }
            ["opportunities", id, "notes"] if m == Method::POST => {
                self.add_note(id, body, perform_as)
            }
            ["opportunities", id, op @ ("addTags" | "removeTags")] if m == Method::POST => {
                self.change_tags(id, *op == "addTags", body)
            }
            ["opportunities", id, "stage"] if m == Method::PUT => {
                self.change_stage(id, body, perform_as)
            }
            ["opportunities", id, "feedback"] if m == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return opp_not_found(id);
                }
                let items: Vec<&Value> = store
                    .feedback
                    .get(*id)
                    .map(|n| n.iter().collect())
                    .unwrap_or_default();
                paged(&items, query)
            }
            ["opportunities", id, "feedback"] if m == Method::POST => {
                self.add_feedback(id, body, perform_as)
            }
            ["opportunities"]
            | ["opportunities", _]
            | ["opportunities", _, "feedback", _]
            | ["opportunities", _, "notes" | "addTags" | "removeTags" | "stage" | "feedback" | "archived"] => {
                Reply::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    format!("{m} is not allowed here"),
                )
            }
            _ => Reply::not_found(format!("no such resource: /{}", segs.join("/"))),
        }
    }

    /// The read-only resources besides opportunities, notes and feedback;
    /// `None` for other paths.
    fn route_reads(&self, segs: &[&str], query: &BTreeMap<String, String>) -> Option<Reply> {
        let store = lock(&self.store);
        let kind = |k: &str| store.resources.get(k);
        let by_opportunity = |k: &str, opp: &str| -> Vec<&Value> {
            kind(k)
                .map(|m| {
                    m.values()
                        .filter(|v| v.get("opportunityId").and_then(Value::as_str) == Some(opp))
                        .collect()
                })
                .unwrap_or_default()
        };
        let one = |k: &str, id: &str, what: &str| match kind(k).and_then(|m| m.get(id)) {
            Some(v) => Reply::ok(StatusCode::OK, json!({ "data": v })),
            None => Reply::not_found(format!("{what} {id:?} not found")),
        };
        let all = |k: &str| -> Vec<&Value> { store.listed(k) };
        let reply = match segs {
            ["opportunities", id] => {
                let opp = store.opportunities.get(*id)?;
                let expand = query.get("expand").map(String::as_str).unwrap_or_default();
                if !expand.split(',').any(|e| e.trim() == "applications") {
                    return None;
                }
                let opp = expand_applications(&store, opp);
                Reply::ok(StatusCode::OK, json!({ "data": opp }))
            }
            ["opportunities", id, sub @ ("applications" | "interviews" | "files")] => {
                let Some(opp) = store.opportunities.get(*id) else {
                    return Some(opp_not_found(id));
                };
                let mut items = by_opportunity(sub, id);
                if *sub == "files" {
                    if let Some(inline) = opp.get("files").and_then(Value::as_array) {
                        items.extend(inline.iter());
                    }
                }
                paged(&items, query)
            }
            ["opportunities", id, "interviews", iid] => {
                if !store.opportunities.contains_key(*id) {
                    return Some(opp_not_found(id));
                }
                match kind("interviews").and_then(|m| m.get(*iid)) {
                    Some(v)
                        if v.get("opportunityId")
                            .and_then(Value::as_str)
                            .is_none_or(|o| o == *id) =>
                    {
                        Reply::ok(StatusCode::OK, json!({ "data": v }))
                    }
                    _ => Reply::not_found(format!("interview {iid:?} not found")),
                }
            }
            ["contacts", id] => match kind("contacts").and_then(|m| m.get(*id)) {
                Some(v) => Reply::ok(StatusCode::OK, json!({ "data": v })),
                None => match store
                    .opportunities
                    .values()
                    .find(|o| o.get("contact").and_then(Value::as_str) == Some(*id))
                {
                    Some(o) => Reply::ok(
                        StatusCode::OK,
                        json!({ "data": {
                            "id": id,
                            "name": o.get("name").cloned().unwrap_or(Value::Null),
                            "headline": o.get("headline").cloned().unwrap_or(Value::Null),
                            "emails": o.get("emails").cloned().unwrap_or(json!([])),
                            "phones": o.get("phones").cloned().unwrap_or(json!([])),
                            "location": o.get("location").cloned().unwrap_or(Value::Null),
                            "isAnonymized": false,
                        }}),
                    ),
                    None => Reply::not_found(format!("contact {id:?} not found")),
                },
            },
            ["postings"] => paged(&all("postings"), query),
            ["postings", id] => one("postings", id, "posting"),
            ["postings", id, "apply"] => match kind("postings").and_then(|m| m.get(*id)) {
                Some(p) => Reply::ok(
                    StatusCode::OK,
                    json!({ "data": {
                        "id": id,
                        "text": p.get("text").cloned().unwrap_or(Value::Null),
                        "customQuestions": p.get("customQuestions").cloned().unwrap_or(json!([])),
                        "personalInformation": [],
                        "urls": [],
                        "eeoQuestions": [],
                    }}),
                ),
                None => Reply::not_found(format!("posting {id:?} not found")),
            },
            ["requisitions"] => {
                let mut items = all("requisitions");
                if let Some(code) = query.get("requisition_code") {
                    items.retain(|r| {
                        r.get("requisitionCode").and_then(Value::as_str) == Some(code.as_str())
                    });
                }
                paged(&items, query)
            }
            ["requisitions", id] => one("requisitions", id, "requisition"),
            ["stages"] => paged(&all("stages"), query),
            ["feedback_templates"] => paged(&all("feedback_templates"), query),
            ["eeo", "responses", "pii"] => {
                let start = query
                    .get("created_at_start")
                    .and_then(|v| v.parse::<i64>().ok());
                let mut items = all("eeo_responses");
                items.retain(|r| {
                    let at = r.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
                    start.is_none_or(|s| at >= s)
                });
                items.sort_by_key(|r| r.get("createdAt").and_then(Value::as_i64).unwrap_or(0));
                paged(&items, query)
            }
            _ => return None,
        };
        Some(reply)
    }

    fn add_resources(&self, kind: &str, items: Vec<Value>) -> Result<usize, Reply> {
        if !RESOURCE_KINDS.contains(&kind) {
            return Err(Reply::not_found(format!("unknown resource kind {kind:?}")));
        }
        let mut pairs = Vec::with_capacity(items.len());
        for item in items {
            pairs.push((resource_id(&item).map_err(Reply::bad_request)?, item));
        }
        let n = pairs.len();
        self.write(|s| {
            for (id, item) in pairs {
                s.put_resource(kind, id, item);
            }
            Ok(())
        })?;
        Ok(n)
    }

    fn enable_oauth(&self, body: &Value) -> Result<(), String> {
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("`{k}` (non-empty string) is required"))
        };
        let ttl = body
            .get("access_ttl_s")
            .and_then(Value::as_f64)
            .unwrap_or(3600.0);
        if !(ttl.is_finite() && ttl > 0.0) {
            return Err("`access_ttl_s` must be positive".into());
        }
        *lock(&self.oauth) = Some(OAuthState {
            client_id: text("client_id")?,
            client_secret: text("client_secret")?,
            refresh_token: text("refresh_token")?,
            access_ttl: Duration::from_secs_f64(ttl),
            rotate: body.get("rotate").and_then(Value::as_bool).unwrap_or(true),
            access: BTreeMap::new(),
            grants: 0,
        });
        Ok(())
    }

    /// `POST /oauth/token`: the refresh-token grant.
    fn token(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        let params: BTreeMap<String, String> = if content_type.is_some_and(|c| c.contains("json")) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => m
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                    .collect(),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "body is not a JSON object",
                    )
                }
            }
        } else {
            url::form_urlencoded::parse(body).into_owned().collect()
        };
        let mut guard = lock(&self.oauth);
        let Some(state) = guard.as_mut() else {
            return oauth_error(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "OAuth is not enabled on this emulator",
            );
        };
        if params.get("grant_type").map(String::as_str) != Some("refresh_token") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only refresh_token is supported",
            );
        }
        let given = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        if !constant_time_eq(given("client_id").as_bytes(), state.client_id.as_bytes())
            || !constant_time_eq(
                given("client_secret").as_bytes(),
                state.client_secret.as_bytes(),
            )
        {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        if !constant_time_eq(
            given("refresh_token").as_bytes(),
            state.refresh_token.as_bytes(),
        ) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "refresh token unknown, revoked or already used",
            );
        }
        let access = format!("emu-at-{}", uuid::Uuid::new_v4().simple());
        state
            .access
            .insert(access.clone(), std::time::Instant::now() + state.access_ttl);
        if state.rotate {
            state.refresh_token = format!("emu-rt-{}", uuid::Uuid::new_v4().simple());
        }
        state.grants += 1;
        Reply::ok(
            StatusCode::OK,
            json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": state.access_ttl.as_secs_f64(),
                "refresh_token": state.refresh_token,
                "scope": "opportunities:read:admin notes:write:admin offline_access",
            }),
        )
    }

    fn add_note(&self, id: &str, body: Option<&Value>, perform_as: Option<&str>) -> Reply {
        let Some(obj) = body.and_then(Value::as_object) else {
            return Reply::bad_request("the body must be a JSON object");
        };
        let value = match obj.get("value") {
            Some(Value::String(v)) if !v.trim().is_empty() => v.clone(),
            Some(Value::String(_)) => return Reply::bad_request("`value` must not be empty"),
            _ => return Reply::bad_request("`value` (string) is required"),
        };
        let secret = match obj.get("secret") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Reply::bad_request("`secret` must be a boolean"),
        };
        let score = match obj.get("score") {
            None | Some(Value::Null) => Value::Null,
            Some(n @ Value::Number(_)) => n.clone(),
            Some(_) => return Reply::bad_request("`score` must be a number"),
        };
        if let Some(v) = obj.get("notifyFollowers") {
            if !v.is_boolean() && !v.is_null() {
                return Reply::bad_request("`notifyFollowers` must be a boolean");
            }
        }
        let note_id = uuid::Uuid::new_v4().to_string();
        let created = now_ms();
        let note = json!({
            "id": note_id,
            "text": value,
            "fields": [{ "type": "text", "value": value }],
            "secret": secret,
            "score": score,
            "user": perform_as,
            "createdAt": created,
            "completedAt": created,
            "deletedAt": null,
        });
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            s.notes.entry(id.to_owned()).or_default().push(note);
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(
                StatusCode::CREATED,
                json!({ "data": { "noteId": note_id } }),
            ),
            Err(r) => r,
        }
    }

    fn change_tags(&self, id: &str, add: bool, body: Option<&Value>) -> Reply {
        let Some(tags) = body.and_then(|b| b.get("tags")).and_then(Value::as_array) else {
            return Reply::bad_request("`tags` (array of strings) is required");
        };
        let mut wanted = Vec::with_capacity(tags.len());
        for t in tags {
            match t.as_str() {
                Some(s) if !s.trim().is_empty() => wanted.push(s.to_owned()),
                _ => return Reply::bad_request("every tag must be a non-empty string"),
            }
        }
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            let mut current: Vec<String> = opp
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if add {
                for t in wanted {
                    if !current.contains(&t) {
                        current.push(t);
                    }
                }
            } else {
                current.retain(|t| !wanted.contains(t));
            }
            set_field(opp, "tags", json!(current));
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }

    fn change_stage(&self, id: &str, body: Option<&Value>, perform_as: Option<&str>) -> Reply {
        let stage = match body.and_then(|b| b.get("stage")) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Reply::bad_request("`stage` (a stage id) is required"),
        };
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            let now = now_ms();
            set_field(opp, "stage", json!(stage));
            set_field(opp, "updatedAt", json!(now));
            let change = json!({ "toStageId": stage, "updatedAt": now, "userId": perform_as });
            if let Some(obj) = opp.as_object_mut() {
                match obj.get_mut("stageChanges").and_then(Value::as_array_mut) {
                    Some(changes) => changes.push(change),
                    None => {
                        obj.insert("stageChanges".into(), json!([change]));
                    }
                }
            }
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }

    fn add_feedback(&self, id: &str, body: Option<&Value>, perform_as: Option<&str>) -> Reply {
        let Some(perform_as) = perform_as else {
            return Reply::bad_request("`perform_as` is required to submit feedback");
        };
        let Some(obj) = body.and_then(Value::as_object) else {
            return Reply::bad_request("the body must be a JSON object");
        };
        let Some(template) = obj
            .get("baseTemplateId")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Reply::bad_request("`baseTemplateId` (string) is required");
        };
        let Some(field_values) = obj.get("fieldValues").and_then(Value::as_array) else {
            return Reply::bad_request("`fieldValues` (array) is required");
        };
        if field_values
            .iter()
            .any(|f| f.get("id").and_then(Value::as_str).is_none())
        {
            return Reply::bad_request("every entry of `fieldValues` needs a string `id`");
        }
        let now = now_ms();
        let stored_template = lock(&self.store)
            .resources
            .get("feedback_templates")
            .and_then(|m| m.get(template))
            .cloned();
        let (text, fields) = form_fields(stored_template.as_ref(), field_values);
        let feedback = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "type": "interview",
            "text": text,
            "baseTemplateId": template,
            "panel": obj.get("panel").cloned().unwrap_or(Value::Null),
            "interview": obj.get("interview").cloned().unwrap_or(Value::Null),
            "fields": fields,
            "fieldValues": field_values,
            "user": perform_as,
            "createdAt": now,
            "completedAt": now,
            "updatedAt": now,
            "deletedAt": Value::Null,
        });
        let res = self.write(|s| {
            let Some(opp) = s.opportunities.get_mut(id) else {
                return Err(opp_not_found(id));
            };
            set_field(opp, "updatedAt", json!(now));
            s.feedback
                .entry(id.to_owned())
                .or_default()
                .push(feedback.clone());
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::CREATED, json!({ "data": feedback })),
            Err(r) => r,
        }
    }

    fn delete_feedback(&self, id: &str, feedback_id: &str) -> Reply {
        let res = self.write(|s| {
            let Some(opp) = s.opportunities.get_mut(id) else {
                return Err(opp_not_found(id));
            };
            let forms = s.feedback.entry(id.to_owned()).or_default();
            let before = forms.len();
            forms.retain(|f| f.get("id").and_then(Value::as_str) != Some(feedback_id));
            if forms.len() == before {
                return Err(Reply::not_found(format!(
                    "feedback {feedback_id:?} not found"
                )));
            }
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::NO_CONTENT, Value::Null),
            Err(r) => r,
        }
    }

    fn archive(&self, id: &str, body: Option<&Value>) -> Reply {
        let archived = match body.and_then(|b| b.get("reason")) {
            Some(Value::String(r)) if !r.trim().is_empty() => {
                json!({ "reason": r, "archivedAt": now_ms() })
            }
            Some(Value::Null) => Value::Null,
            _ => {
                return Reply::bad_request(
                    "`reason` (an archive reason id, or null to restore) is required",
                )
            }
        };
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            set_field(opp, "archived", archived.clone());
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }

    fn add_opportunities(&self, items: Vec<Value>) -> Result<usize, Reply> {
        let mut opps = Vec::with_capacity(items.len());
        for item in items {
            opps.push(normalize_opportunity(item).map_err(Reply::bad_request)?);
        }
        let n = opps.len();
        self.write(|s| {
            for opp in opps {
                s.opportunities.insert(opp_id(&opp), opp);
            }
            Ok(())
        })?;
        Ok(n)
    }

    fn set_fault(&self, body: &Value) -> Result<(), String> {
        let status = body
            .get("status")
            .and_then(Value::as_u64)
            .ok_or("`status` (number) is required")?;
        let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
        let retry_after = match body.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or("`retry_after` must be whole seconds")?),
        };
        let status = u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| *s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error())
            .ok_or("`status` must be 429 or 5xx")?;
        let count = u32::try_from(count).map_err(|_| "`count` is too large")?;
        let writes_only = body
            .get("writes_only")
            .map(|v| v.as_bool().ok_or("`writes_only` must be a boolean"))
            .transpose()?
            .unwrap_or(false);
        *lock(&self.fault) = (count > 0).then_some(Fault {
            status,
            remaining: count,
            retry_after,
            writes_only,
        });
        tracing::info!(
            status = status.as_u16(),
            count,
            "lever emulator: faults armed"
        );
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The hiring manager's briefing: files (upload, list, delete), removing a
// note, panels, résumés with `parsedData`, and opportunities by stage.

/// A file part of a `multipart/form-data` upload.
#[derive(Debug, Clone)]
struct Upload {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

impl Upload {
    /// What the request log keeps of it (never the bytes).
    fn describe(&self) -> Value {
        json!({ "file": {
            "name": self.name,
            "contentType": self.content_type,
            "size": self.bytes.len(),
            "sha256": hex::encode(Sha256::digest(&self.bytes)),
        }})
    }
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The part named `file` of a multipart body.
fn parse_upload(body: &[u8], boundary: &str) -> Option<Upload> {
    let delim = format!("--{boundary}");
    let mut at = find_bytes(body, delim.as_bytes(), 0)?;
    loop {
        let start = at + delim.len();
        if body.get(start..start + 2) == Some(b"--") {
            return None; // the closing delimiter: no file part
        }
        let head_end = find_bytes(body, b"\r\n\r\n", start)?;
        let head = String::from_utf8_lossy(&body[start..head_end]).to_string();
        let next = find_bytes(body, format!("\r\n{delim}").as_bytes(), head_end + 4)?;
        let param = |line: &str, key: &str| {
            line.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        let mut name = None;
        let mut filename = None;
        let mut content_type = "application/octet-stream".to_owned();
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = v.trim().to_owned();
            }
        }
        if name.as_deref() == Some("file") {
            return Some(Upload {
                name: filename
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| "file".into()),
                content_type,
                bytes: body[head_end + 4..next].to_vec(),
            });
        }
        at = next + 2;
    }
}

impl Shared {
    /// Where uploaded files' bytes are kept (`DIR/files/<id>`).
    fn files_dir(&self) -> PathBuf {
        self.state_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("files")
    }

    /// The briefing's routes; `None` for other requests.
    fn route_briefing(
        &self,
        method: &Method,
        segs: &[&str],
        query: &BTreeMap<String, String>,
        upload: Option<&Upload>,
        perform_as: Option<&str>,
    ) -> Option<Reply> {
        let reply = match segs {
            ["opportunities"] if *method == Method::GET && query.contains_key("stage_id") => {
                let store = lock(&self.store);
                let stage = query.get("stage_id").map(String::as_str);
                let at: Vec<&Value> = store
                    .opportunities
                    .values()
                    .filter(|o| o.get("stage").and_then(Value::as_str) == stage)
                    .collect();
                paged(&at, query)
            }
            ["opportunities", id, kind @ ("panels" | "resumes")] if *method == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return Some(opp_not_found(id));
                }
                let items: Vec<&Value> = store
                    .listed(kind)
                    .into_iter()
                    .filter(|v| v.get("opportunityId").and_then(Value::as_str) == Some(*id))
                    .collect();
                paged(&items, query)
            }
            ["opportunities", id, "files"] if *method == Method::POST => match upload {
                Some(u) => self.add_file(id, u, perform_as),
                None => {
                    Reply::bad_request("a multipart/form-data body with a `file` part is required")
                }
            },
            ["opportunities", id, "files", fid] if *method == Method::DELETE => {
                self.delete_file(id, fid)
            }
            ["opportunities", id, "notes", nid] if *method == Method::DELETE => {
                self.delete_note(id, nid)
            }
            _ => return None,
        };
        Some(reply)
    }

    fn add_file(&self, id: &str, upload: &Upload, perform_as: Option<&str>) -> Reply {
        if !lock(&self.store).opportunities.contains_key(id) {
            return opp_not_found(id);
        }
        let file_id = uuid::Uuid::new_v4().to_string();
        let dir = self.files_dir();
        let stored = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(&file_id), &upload.bytes));
        if let Err(e) = stored {
            tracing::error!(error = %e, "lever emulator: storing an uploaded file failed");
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "could not store the file",
            );
        }
        let ext = upload
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let file = json!({
            "id": file_id,
            "name": upload.name,
            "ext": ext,
            "downloadUrl": format!("/v1/opportunities/{id}/files/{file_id}/download"),
            "uploadedAt": now_ms(),
            "status": "processed",
            "size": upload.bytes.len(),
            "user": perform_as,
            "opportunityId": id,
        });
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            set_field(opp, "updatedAt", json!(now_ms()));
            s.put_resource("files", file_id.clone(), file.clone());
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::OK, json!({ "data": file })),
            Err(r) => r,
        }
    }

    fn delete_file(&self, id: &str, file_id: &str) -> Reply {
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            let owned = s
                .resources
                .get("files")
                .and_then(|m| m.get(file_id))
                .is_some_and(|f| f.get("opportunityId").and_then(Value::as_str) == Some(id));
            if !owned {
                return Err(Reply::not_found(format!("file {file_id:?} not found")));
            }
            if let Some(m) = s.resources.get_mut("files") {
                m.remove(file_id);
            }
            if let Some(o) = s.order.get_mut("files") {
                o.retain(|f| f != file_id);
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                let _ = std::fs::remove_file(self.files_dir().join(file_id));
                Reply::ok(StatusCode::NO_CONTENT, Value::Null)
            }
            Err(r) => r,
        }
    }

    fn delete_note(&self, id: &str, note_id: &str) -> Reply {
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            let notes = s.notes.entry(id.to_owned()).or_default();
            let before = notes.len();
            notes.retain(|n| n.get("id").and_then(Value::as_str) != Some(note_id));
            if notes.len() == before {
                return Err(Reply::not_found(format!("note {note_id:?} not found")));
            }
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::NO_CONTENT, Value::Null),
            Err(r) => r,
        }
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

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::ok(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// The `id` of a stored resource (a non-empty string).
fn resource_id(item: &Value) -> Result<String, String> {
    match item.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err("every resource needs a non-empty string `id`".into()),
    }
}

fn opp_not_found(id: &str) -> Reply {
    Reply::not_found(format!("opportunity {id:?} not found"))
}

fn opp_id(opp: &Value) -> String {
    opp.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn set_field(obj: &mut Value, key: &str, value: Value) {
    if let Some(o) = obj.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

/// Checks an opportunity object and fills the fields Lever always has.
/// The opportunity with its application objects in place of their ids
/// (`expand=applications`).
fn expand_applications(store: &Store, opp: &Value) -> Value {
    let mut opp = opp.clone();
    if let Some(ids) = opp.get("applications").and_then(Value::as_array).cloned() {
        let apps = store.resources.get("applications");
        let expanded: Vec<Value> = ids
            .iter()
            .map(|a| {
                a.as_str()
                    .and_then(|aid| apps.and_then(|m| m.get(aid)))
                    .cloned()
                    .unwrap_or_else(|| a.clone())
            })
            .collect();
        set_field(&mut opp, "applications", Value::Array(expanded));
    }
    opp
}

/// A submitted form's title and Lever `fields`: the template's fields, each
/// with the submitted value (`null` when not answered); without a stored
/// template, one field per submitted value.
fn form_fields(template: Option<&Value>, values: &[Value]) -> (Value, Value) {
    let value_of = |id: &str| {
        values
            .iter()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .and_then(|v| v.get("value"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match template.and_then(|t| t.get("fields").and_then(Value::as_array).map(|f| (t, f))) {
        Some((t, fields)) => {
            let filled: Vec<Value> = fields
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    let id = f.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                    set_field(&mut f, "value", value_of(&id));
                    f
                })
                .collect();
            (t.get("text").cloned().unwrap_or(Value::Null), Value::Array(filled))
        }
        None => (
            Value::Null,
            Value::Array(
                values
                    .iter()
                    .map(|v| json!({ "id": v.get("id"), "type": "unknown", "text": v.get("id"), "value": v.get("value") }))
                    .collect(),
            ),
        ),
    }
}

fn normalize_opportunity(v: Value) -> Result<Value, String> {
    let Value::Object(mut obj) = v else {
        return Err("an opportunity must be a JSON object".into());
    };
    match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err("an opportunity needs a non-empty string `id`".into()),
    }
    if let Some(tags) = obj.get("tags") {
        if !tags
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
        {
            return Err("`tags` must be an array of strings".into());
        }
    }
    let now = now_ms();
    let defaults: [(&str, Value); 8] = [
        ("name", json!("")),
        ("contact", Value::Null),
        ("emails", json!([])),
        ("links", json!([])),
        ("tags", json!([])),
        ("stage", Value::Null),
        ("stageChanges", json!([])),
        ("createdAt", json!(now)),
    ];
    for (k, d) in defaults {
        obj.entry(k.to_owned()).or_insert(d);
    }
    obj.entry("updatedAt".to_owned()).or_insert(json!(now));
    Ok(Value::Object(obj))
}

fn page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("pf1:{offset}"))
}

fn parse_page_token(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("pf1:")?
        .parse()
        .ok()
}

/// Lever's `{data, hasNext, next}` page of `items` for `limit` and `offset`.
fn paged(items: &[&Value], query: &BTreeMap<String, String>) -> Reply {
    let limit = match query.get("limit") {
        None => MAX_PAGE_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Reply::bad_request(format!(
                    "invalid `limit` {l:?}: a positive whole number"
                ))
            }
            Ok(n) => n.min(MAX_PAGE_LIMIT),
        },
    };
    let start = match query.get("offset") {
        None => 0,
        Some(t) => match parse_page_token(t) {
            Some(n) => n,
            None => return Reply::bad_request(format!("invalid `offset` token {t:?}")),
        },
    };
    let end = start.saturating_add(limit).min(items.len());
    let data: Vec<&Value> = items
        .get(start..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("data".into(), json!(data));
    let has_next = end < items.len();
    body.insert("hasNext".into(), json!(has_next));
    if has_next {
        body.insert("next".into(), json!(page_token(end)));
    }
    Reply::ok(StatusCode::OK, Value::Object(body))
}

/// `/v1/a/b%2Fc` → `["a", "b/c"]`; `None` when not under `/v1` or badly encoded.
fn split_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("/v1")?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Writes the state to a temporary file in the same folder, syncs it, and
/// renames it over `state.json`.
fn persist(path: &Path, store: &Store) -> Result<(), EmulatorError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let bytes = serde_json::to_vec_pretty(store).map_err(|e| EmulatorError::Data {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(format!(
        "creating a temporary file in {}",
        dir.display()
    )))?;
    tmp.write_all(&bytes)
        .map_err(io_err(format!("writing {}", tmp.path().display())))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err(format!("syncing {}", tmp.path().display())))?;
    tmp.persist(path).map_err(|e| EmulatorError::Io {
        context: format!("renaming onto {}", path.display()),
        source: e.error,
    })?;
    Ok(())
}

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

fn router(shared: Arc<Shared>) -> Router {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!({ "id": i })).collect()
    }

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_walks_all_items_once() {
        let all = items(250);
        let refs: Vec<&Value> = all.iter().collect();
        let mut seen = Vec::new();
        let mut offset: Option<String> = None;
        loop {
            let mut query = q(&[]);
            if let Some(o) = &offset {
                query.insert("offset".into(), o.clone());
            }
            let r = paged(&refs, &query);
            assert_eq!(r.status, StatusCode::OK);
            let data = r.body["data"].as_array().expect("data").clone();
            assert!(data.len() <= 100);
            seen.extend(data);
            if r.body["hasNext"] == json!(true) {
                offset = Some(r.body["next"].as_str().expect("next").to_owned());
            } else {
                assert!(r.body.get("next").is_none());
                break;
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn paging_limits_and_bad_tokens() {
        let all = items(5);
        let refs: Vec<&Value> = all.iter().collect();
        let r = paged(&refs, &q(&[("limit", "2")]));
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(r.body["hasNext"], json!(true));
        let r = paged(&refs, &q(&[("limit", "1000")]));
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(5));
        assert_eq!(
            paged(&refs, &q(&[("limit", "0")])).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            paged(&refs, &q(&[("limit", "x")])).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            paged(&refs, &q(&[("offset", "garbage!")])).status,
            StatusCode::BAD_REQUEST
        );
        // An offset past the end is an empty last page.
        let r = paged(&refs, &q(&[("offset", &page_token(99))]));
        assert_eq!(r.body, json!({ "data": [], "hasNext": false }));
    }

    #[test]
    fn paths_split_and_decode() {
        assert_eq!(
            split_path("/v1/opportunities/a%2Fb/notes"),
            Some(vec!["opportunities".into(), "a/b".into(), "notes".into()])
        );
        assert_eq!(split_path("/v1"), Some(vec![]));
        assert_eq!(split_path("/v2/opportunities"), None);
        assert_eq!(split_path("/v1/bad%zz"), None);
    }

    #[test]
    fn opportunities_are_checked_and_completed() {
        let o = normalize_opportunity(json!({ "id": "o1", "name": "Ada" })).expect("valid");
        assert_eq!(o["tags"], json!([]));
        assert_eq!(o["name"], json!("Ada"));
        assert!(normalize_opportunity(json!({ "name": "no id" })).is_err());
        assert!(normalize_opportunity(json!({ "id": "o", "tags": [1] })).is_err());
        assert!(normalize_opportunity(json!(["o"])).is_err());
    }

    #[test]
    fn basic_and_bearer_auth() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = EmulatorConfig {
            data_dir: dir.path().into(),
            api_key: "k1".into(),
            rate_per_s: 10.0,
            burst: 20.0,
        };
        let sh = Shared::open(cfg).expect("open");
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(sh
            .authenticate(Some(&basic("k1:")))
            .is_some_and(|u| u.starts_with("basic:")));
        assert!(sh.authenticate(Some(&basic("k1"))).is_some());
        assert!(sh.authenticate(Some(&basic("k2:"))).is_none());
        assert!(sh
            .authenticate(Some("Bearer k1"))
            .is_some_and(|u| u.starts_with("bearer:")));
        assert!(sh.authenticate(Some("Bearer k2")).is_none());
        assert!(sh.authenticate(Some("Basic %%%")).is_none());
        assert!(sh.authenticate(None).is_none());
        // The recorded identity never contains the key.
        assert!(!sh
            .authenticate(Some(&basic("k1:")))
            .unwrap_or_default()
            .contains("k1"));
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("state.json"), b"{not json").expect("write");
        let err = Shared::open(EmulatorConfig::new(dir.path()))
            .err()
            .expect("must fail");
        assert!(matches!(err, EmulatorError::Data { .. }), "{err}");
    }
}
