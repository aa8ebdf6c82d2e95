//! A blocking client for Lever's REST API (`https://api.lever.co/v1`).
//!
//! It is called from timely worker threads, never from inside an async
//! runtime. Every request:
//! - waits for a token from the shared [`TokenBucket`] (Lever allows 10
//!   requests per second with bursts of 20 per API key);
//! - is retried on `429` and `5xx` with exponential back-off and jitter,
//!   honouring `Retry-After`, up to [`ClientOptions::max_attempts`];
//! - fails at once on any other `4xx`, with the body Lever sent.
//!
//! Notes are written with [`LeverClient::ensure_note`], which looks for a
//! marker (the correlation id) in the opportunity's notes before it writes,
//! so a replayed event never writes a second note.
//!
//! ```no_run
//! use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient, NoteOutcome};
//!
//! let client = LeverClient::new(
//!     "https://api.lever.co/v1",
//!     LeverAuth::ApiKey("my-key".into()),
//!     ClientOptions::default(),
//! )?;
//! let marker = "panelflow-correlation-id: 0b7c…";
//! let text = format!("Summary…\n{marker}");
//! match client.ensure_note("opp-1", marker, &text, true, None)? {
//!     NoteOutcome::Created(id) => println!("wrote note {id}"),
//!     NoteOutcome::AlreadyPresent(id) => println!("note {id} was already there"),
//! }
//! # Ok::<(), panelflow_connectors::lever::client::LeverError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

use super::ratelimit::TokenBucket;
use crate::breaker::Breaker;
use crate::metrics;

mod files;

/// Longest single back-off sleep (also caps `Retry-After`).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Most bytes of an error body kept in [`LeverError::Status`].
const MAX_ERROR_BODY: usize = 2048;
/// Page size asked for when listing (Lever's maximum).
const PAGE_LIMIT: &str = "100";
/// Safety stop for paging loops.
const MAX_PAGES: usize = 10_000;

/// How the client authenticates.
#[derive(Clone)]
pub enum LeverAuth {
    /// HTTP Basic with the API key as user name and an empty password.
    ApiKey(String),
    /// An OAuth access token, sent as `Authorization: Bearer …`.
    Bearer(String),
    /// OAuth 2.0 with the refresh-token grant: access tokens are obtained
    /// and renewed by the shared session (and renewed at once when Lever
    /// answers 401 to one).
    OAuth(Arc<super::oauth::OAuthSession>),
}

impl fmt::Debug for LeverAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        match self {
            LeverAuth::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            LeverAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            LeverAuth::OAuth(s) => write!(f, "OAuth({s:?})"),
        }
    }
}

/// Tuning of a [`LeverClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Attempts per request when Lever answers 429 or 5xx (at least 1).
    pub max_attempts: u32,
    /// Time-out of one HTTP attempt, connect to last byte.
    pub timeout: Duration,
    /// The rate limiter shared by every client of the process.
    pub limiter: Arc<TokenBucket>,
    /// First back-off; doubled at each further attempt (with jitter, capped
    /// at 60 s) unless Lever sends `Retry-After`.
    pub base_backoff: Duration,
    /// The circuit breaker shared by every clone of the client: open after
    /// [`BREAKER_THRESHOLD`] failed attempts in a row (429, 5xx, no
    /// answer), calls then fail at once for [`BREAKER_COOL_DOWN`].
    pub breaker: Arc<Breaker>,
}

/// Failed attempts in a row that open the Lever circuit.
pub const BREAKER_THRESHOLD: u32 = 5;
/// How long the Lever circuit stays open before one trial call.
pub const BREAKER_COOL_DOWN: Duration = Duration::from_secs(20);

impl Default for ClientOptions {
    /// 6 attempts, 30 s time-out, Lever's documented 10 req/s burst 20,
    /// 500 ms first back-off.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            timeout: Duration::from_secs(30),
            limiter: Arc::new(TokenBucket::lever_default()),
            base_backoff: Duration::from_millis(500),
            breaker: Arc::new(Breaker::new("lever", BREAKER_THRESHOLD, BREAKER_COOL_DOWN)),
        }
    }
}

/// What went wrong talking to Lever. Every variant names the request.
#[derive(Debug, thiserror::Error)]
pub enum LeverError {
    /// The base URL is unusable.
    #[error("invalid Lever base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("building the Lever HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// A caller passed an argument the client refuses.
    #[error("Lever {method} {path}: invalid argument: {reason}")]
    InvalidArgument {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// No HTTP answer (connection refused, time-out, broken body).
    #[error("Lever {method} {path}: transport error after {attempts} attempt(s): {source}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Lever refused the request (a 4xx other than 429, or an unexpected
    /// status); not retried. The message leaves Lever's answer out (it may
    /// echo what was sent about a candidate): it reaches failure reasons,
    /// dead letters and logs; `body` is for the caller to inspect.
    #[error("Lever {method} {path}: HTTP {status}")]
    Status {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// HTTP status code.
        status: u16,
        /// Response body (truncated to 2 KiB).
        body: String,
    },
    /// Lever kept answering 429 or 5xx.
    #[error("Lever {method} {path}: still HTTP {status} after {attempts} attempt(s)")]
    RetriesExhausted {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// The last status received.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No OAuth access token could be obtained.
    #[error("Lever {method} {path}: {source}")]
    Auth {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// Why.
        #[source]
        source: super::oauth::OAuthError,
    },
    /// The circuit breaker is open: Lever failed too often just now, so the
    /// call was not made.
    #[error("Lever {method} {path}: not called, the circuit is open after repeated failures")]
    CircuitOpen {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
    },
    /// A 2xx answer whose body is not the documented shape.
    #[error("Lever {method} {path}: unexpected response: {reason}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Request path below the base URL.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl LeverError {
    /// The HTTP status Lever answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            LeverError::Status { status, .. } | LeverError::RetriesExhausted { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether a write that failed this way may have taken effect anyway
    /// (no answer, or a 500/502/504 that a proxy may have sent after Lever
    /// stored it): look again before writing again.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            // No answer, or a 2xx whose body could not be read.
            LeverError::Transport { .. } | LeverError::Decode { .. } => true,
            LeverError::RetriesExhausted { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }

    /// True for errors that a later retry (e.g. a replay of the event) may
    /// cure: transport failures, exhausted retries on 429/5xx and an open
    /// circuit.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LeverError::Transport { .. }
                | LeverError::RetriesExhausted { .. }
                | LeverError::CircuitOpen { .. }
                | LeverError::Auth {
                    source: super::oauth::OAuthError::Transport { .. },
                    ..
                }
        )
    }
}

/// A note on an opportunity, as read back from Lever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Lever's note id.
    pub id: String,
    /// The note's text: its `fields[].value` strings joined by newlines, or
    /// else its `value` or `text`.
    pub value_text: String,
}

impl Note {
    /// Reads Lever's note object. `None` when it has no string `id`.
    pub fn from_lever(obj: &Value) -> Option<Note> {
        let id = obj.get("id")?.as_str()?.to_owned();
        let from_fields: Vec<&str> = obj
            .get("fields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.get("value").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let value_text = if !from_fields.is_empty() {
            from_fields.join("\n")
        } else {
            obj.get("value")
                .and_then(Value::as_str)
                .or_else(|| obj.get("text").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned()
        };
        Some(Note { id, value_text })
    }
}

/// What [`LeverClient::ensure_note`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteOutcome {
    /// A new note was written; its id.
    Created(String),
    /// A note carrying the marker was already there; its id. Nothing written.
    AlreadyPresent(String),
}

impl NoteOutcome {
    /// The note's id either way.
    pub fn note_id(&self) -> &str {
        match self {
            NoteOutcome::Created(id) | NoteOutcome::AlreadyPresent(id) => id,
        }
    }
}

/// One page of a `{data, hasNext, next}` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's objects.
    pub data: Vec<Value>,
    /// The opaque token for the next page, when `hasNext` is true.
    pub next: Option<String>,
}

impl Page {
    /// Parses Lever's paged envelope. `hasNext: true` without a string
    /// `next` is an error (it would loop or stop silently).
    pub fn parse(body: &Value) -> Result<Page, String> {
        let data = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| "no `data` array in a paged response".to_owned())?
            .clone();
        let has_next = body
            .get("hasNext")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = if has_next {
            match body.get("next") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => return Err("`hasNext` is true but `next` is missing".to_owned()),
            }
        } else {
            None
        };
        Ok(Page { data, next })
    }
}

/// A blocking Lever API client. Cheap to clone; clones share the connection
/// pool and the rate limiter.
#[derive(Clone)]
pub struct LeverClient {
    http: Client,
    base: Url,
    auth: LeverAuth,
    opts: ClientOptions,
}

impl fmt::Debug for LeverClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeverClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .field("opts", &self.opts)
            .finish()
    }
}

/// A request being made: method, path segments below the base, query, body.
struct Call<'a> {
    method: Method,
    segments: &'a [&'a str],
    query: Vec<(&'a str, String)>,
    body: Option<Value>,
}

impl Call<'_> {
    /// The path for messages: `/opportunities/ID/notes`.
    fn path(&self) -> String {
        let mut p = String::new();
        for s in self.segments {
            p.push('/');
            p.push_str(s);
        }
        p
    }

    /// Whether repeating it after an ambiguous failure is harmless.
    fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::PUT | Method::DELETE | Method::HEAD
        )
    }
}

impl LeverClient {
    /// A client for the API under `base_url` (e.g. `https://api.lever.co/v1`
    /// or an emulator's `http://127.0.0.1:PORT/v1`).
    pub fn new(base_url: &str, auth: LeverAuth, opts: ClientOptions) -> Result<Self, LeverError> {
        let invalid = |reason: String| LeverError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {:?} is not http(s)",
                base.scheme()
            )));
        }
        if base.cannot_be_a_base() {
            return Err(invalid("cannot be a base URL".into()));
        }
        let http = Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("panelflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(LeverError::Build)?;
        let opts = ClientOptions {
            max_attempts: opts.max_attempts.max(1),
            ..opts
        };
        Ok(Self {
            http,
            base,
            auth,
            opts,
        })
    }

    /// The API base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The shared rate limiter.
    pub fn limiter(&self) -> &Arc<TokenBucket> {
        &self.opts.limiter
    }

    fn url(&self, call: &Call<'_>) -> Result<Url, LeverError> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| LeverError::InvalidBaseUrl {
                    url: self.base.to_string(),
                    reason: "cannot be a base URL".into(),
                })?;
            segs.pop_if_empty();
            // Each segment is percent-encoded, so an id cannot escape its place.
            segs.extend(call.segments.iter().copied());
        }
        if !call.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .opts
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(MAX_BACKOFF);
        // "Equal jitter": half fixed, half random, so concurrent clients spread out.
        let half = capped / 2;
        half + half.mul_f64(jitter_fraction())
    }

    /// Sends one call with limiter, retries and error mapping; returns the
    /// parsed JSON body (`Null` for an empty body).
    fn execute(&self, call: Call<'_>) -> Result<Value, LeverError> {
        self.execute_with(call, None)
    }

    /// [`execute`](Self::execute), with `raw` (content type and bytes, e.g.
    /// a multipart upload) as the body in place of JSON.
    fn execute_with(
        &self,
        call: Call<'_>,
        raw: Option<(&str, &[u8])>,
    ) -> Result<Value, LeverError> {
        let path = call.path();
        let method_s = call.method.to_string();
        for_each_segment_check(&call, &method_s, &path)?;
        let url = self.url(&call)?;
        let max = self.opts.max_attempts;
        let mut attempt = 0u32;
        // An OAuth token refused with 401 is renewed and the call repeated once.
        let mut reauthorized = false;
        loop {
            attempt += 1;
            let oauth_token = match &self.auth {
                LeverAuth::OAuth(session) => {
                    Some(session.access_token().map_err(|source| LeverError::Auth {
                        method: method_s.clone(),
                        path: path.clone(),
                        source,
                    })?)
                }
                _ => None,
            };
            if !self.opts.breaker.allow() {
                metrics::LEVER_CALLS
                    .with_label_values(&[method_s.as_str(), "circuit_open"])
                    .inc();
                return Err(LeverError::CircuitOpen {
                    method: method_s,
                    path,
                });
            }
            self.opts.limiter.acquire();
            let mut req = self
                .http
                .request(call.method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            req = match (&self.auth, &oauth_token) {
                (LeverAuth::ApiKey(key), _) => req.basic_auth(key, Some("")),
                (LeverAuth::Bearer(token), _) | (LeverAuth::OAuth(_), Some(token)) => {
                    req.bearer_auth(token)
                }
                (LeverAuth::OAuth(_), None) => req,
            };
            if let Some(body) = &call.body {
                req = req.json(body);
            }
            if let Some((content_type, bytes)) = raw {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes.to_vec());
            }
            let started = std::time::Instant::now();
            let resp = match req.send() {
                Ok(r) => r,
                Err(e) => {
                    self.opts.breaker.failure();
                    metrics::LEVER_CALLS
                        .with_label_values(&[method_s.as_str(), "transport"])
                        .inc();
                    // Retry only when the request surely did not take effect
                    // (no connection), or when repeating it is harmless.
                    let retryable = e.is_connect() || (call.idempotent() && e.is_timeout());
                    if retryable && attempt < max {
                        let wait = self.backoff(attempt);
                        tracing::warn!(method = %method_s, %path, attempt, error = %panelflow_core::redact::urls_in(&e.to_string()), wait_ms = wait.as_millis() as u64, "Lever request failed; retrying");
                        std::thread::sleep(wait);
                        continue;
                    }
                    return Err(LeverError::Transport {
                        method: method_s,
                        path,
                        attempts: attempt,
                        // The URL's query may name the acting user; errors name the path.
                        source: e.without_url(),
                    });
                }
            };
            let status = resp.status();
            tracing::debug!(method = %method_s, %path, status = status.as_u16(), attempt, ms = started.elapsed().as_millis() as u64, "Lever response");
            metrics::LEVER_CALLS
                .with_label_values(&[method_s.as_str(), status.as_str()])
                .inc();
            // 429 is Lever pacing us (Retry-After is honoured), not Lever unwell.
            if status.is_server_error() {
                self.opts.breaker.failure();
            } else if status != StatusCode::TOO_MANY_REQUESTS {
                self.opts.breaker.success();
            }
            if status.is_success() {
                return read_json(resp, &method_s, &path, attempt);
            }
            if status == StatusCode::UNAUTHORIZED && !reauthorized {
                if let (LeverAuth::OAuth(session), Some(token)) = (&self.auth, &oauth_token) {
                    tracing::info!(method = %method_s, %path, "Lever refused the access token; refreshing it");
                    session.invalidate(token);
                    reauthorized = true;
                    attempt -= 1;
                    continue;
                }
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                // A write answered 500/502/504 may have been stored: the
                // caller looks again before writing again, never blindly.
                let ambiguous = !call.idempotent() && matches!(status.as_u16(), 500 | 502 | 504);
                if attempt >= max || ambiguous {
                    tracing::warn!(method = %method_s, %path, status = status.as_u16(), attempts = attempt, "Lever retries exhausted");
                    return Err(LeverError::RetriesExhausted {
                        method: method_s,
                        path,
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
                let wait = retry_after(resp.headers()).unwrap_or_else(|| self.backoff(attempt));
                tracing::warn!(method = %method_s, %path, status = status.as_u16(), attempt, wait_ms = wait.as_millis() as u64, "Lever asked to back off; retrying");
                drop(resp);
                std::thread::sleep(wait);
                continue;
            }
            let body = read_error_body(resp);
            return Err(LeverError::Status {
                method: method_s,
                path,
                status: status.as_u16(),
                body,
            });
        }
    }

    /// Follows `{data, hasNext, next}` paging from the first page to the
    /// last and returns every object.
    fn get_all(&self, segments: &[&str]) -> Result<Vec<Value>, LeverError> {
        self.get_all_with(segments, &[])
    }

    /// [`get_all`](Self::get_all) with extra query parameters (filters).
    fn get_all_with(
        &self,
        segments: &[&str],
        filters: &[(&str, &str)],
    ) -> Result<Vec<Value>, LeverError> {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, String)> =
                filters.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            query.push(("limit", PAGE_LIMIT.to_owned()));
            if let Some(o) = &offset {
                query.push(("offset", o.clone()));
            }
            let call = Call {
                method: Method::GET,
                segments,
                query,
                body: None,
            };
            let path = call.path();
            let body = self.execute(call)?;
            let page = Page::parse(&body).map_err(|reason| LeverError::Decode {
                method: "GET".into(),
                path: path.clone(),
                reason,
            })?;
            out.extend(page.data);
            match page.next {
                None => return Ok(out),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(LeverError::Decode {
                            method: "GET".into(),
                            path,
                            reason: format!("paging token {next:?} repeated"),
                        });
                    }
                    offset = Some(next);
                }
            }
        }
        Err(LeverError::Decode {
            method: "GET".into(),
            path: format!("/{}", segments.join("/")),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// `GET /opportunities/:id`: the opportunity object (the `data` field).
    pub fn get_opportunity(&self, id: &str) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::GET,
            segments: &["opportunities", id],
            query: vec![],
            body: None,
        };
        let path = call.path();
        take_data(self.execute(call)?, "GET", &path)
    }

    /// `GET /opportunities`, every page.
    pub fn list_opportunities(&self) -> Result<Vec<Value>, LeverError> {
        self.get_all(&["opportunities"])
    }

    /// `GET` one object below the base, e.g. `["postings", id]` or
    /// `["opportunities", id]` with `[("expand", "applications")]`; returns
    /// its `data` field. Each segment is one path segment (ids cannot
    /// escape their place).
    pub fn get_object(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::GET,
            segments,
            query: query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            body: None,
        };
        let path = call.path();
        take_data(self.execute(call)?, "GET", &path)
    }

    /// `GET` a paged listing below the base, following `next` to the last
    /// page, with optional filters (e.g. `[("requisition_code", "ENG-1")]`).
    pub fn list(
        &self,
        segments: &[&str],
        filters: &[(&str, &str)],
    ) -> Result<Vec<Value>, LeverError> {
        self.get_all_with(segments, filters)
    }

    /// `GET /opportunities/:id/notes`, every page.
    pub fn list_notes(&self, opportunity_id: &str) -> Result<Vec<Note>, LeverError> {
        let segments = ["opportunities", opportunity_id, "notes"];
        let raw = self.get_all(&segments)?;
        raw.iter()
            .map(|n| {
                Note::from_lever(n).ok_or_else(|| LeverError::Decode {
                    method: "GET".into(),
                    path: format!("/opportunities/{opportunity_id}/notes"),
                    reason: "a note without a string `id`".into(),
                })
            })
            .collect()
    }

    /// `POST /opportunities/:id/notes[?perform_as=USER]` with
    /// `{ value, secret, notifyFollowers: false }`; returns the new note's id.
    ///
    /// Not idempotent by itself: use [`ensure_note`](Self::ensure_note) for
    /// anything that may be replayed.
    pub fn add_note(
        &self,
        opportunity_id: &str,
        value: &str,
        secret: bool,
        perform_as: Option<&str>,
    ) -> Result<String, LeverError> {
        let call = Call {
            method: Method::POST,
            segments: &["opportunities", opportunity_id, "notes"],
            query: perform_as_query(perform_as),
            body: Some(json!({ "value": value, "secret": secret, "notifyFollowers": false })),
        };
        let path = call.path();
        let data = take_data(self.execute(call)?, "POST", &path)?;
        match data.get("noteId") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(LeverError::Decode {
                method: "POST".into(),
                path,
                reason: "no string `data.noteId`".into(),
            }),
        }
    }

    /// Writes a note unless one carrying `marker` is already on the
    /// opportunity. `marker` (e.g. `panelflow-correlation-id: <uuid>`) is
    /// appended to `value` on its own line if `value` does not contain it, so
    /// the note can always be found again.
    pub fn ensure_note(
        &self,
        opportunity_id: &str,
        marker: &str,
        value: &str,
        secret: bool,
        perform_as: Option<&str>,
    ) -> Result<NoteOutcome, LeverError> {
        if marker.trim().is_empty() {
            return Err(LeverError::InvalidArgument {
                method: "POST".into(),
                path: format!("/opportunities/{opportunity_id}/notes"),
                reason: "empty note marker".into(),
            });
        }
        if let Some(existing) = self
            .list_notes(opportunity_id)?
            .into_iter()
            .find(|n| n.value_text.contains(marker))
        {
            tracing::info!(opportunity_id, note_id = %existing.id, "Lever note already present; not writing again");
            return Ok(NoteOutcome::AlreadyPresent(existing.id));
        }
        let written = if value.contains(marker) {
            self.add_note(opportunity_id, value, secret, perform_as)
        } else {
            let with_marker = format!("{}\n{marker}", value.trim_end());
            self.add_note(opportunity_id, &with_marker, secret, perform_as)
        };
        let id = match written {
            Ok(id) => id,
            // The reply was lost (or a proxy answered 5xx): the note may be
            // there. Look again before saying the write failed.
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(opportunity_id, error = %e, "Lever note reply lost; looking again");
                match self
                    .list_notes(opportunity_id)?
                    .into_iter()
                    .find(|n| n.value_text.contains(marker))
                {
                    Some(found) => {
                        tracing::info!(opportunity_id, note_id = %found.id, "the note was stored; its reply was lost");
                        return Ok(NoteOutcome::Created(found.id));
                    }
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        tracing::info!(opportunity_id, note_id = %id, "Lever note written");
        Ok(NoteOutcome::Created(id))
    }

    /// `POST /opportunities/:id/addTags` with `{ tags }`; returns the updated
    /// opportunity. Tags are a set in Lever, so repeating it is harmless.
    pub fn add_tags(&self, opportunity_id: &str, tags: &[String]) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "addTags"],
            vec![],
            json!({ "tags": tags }),
        )
    }

    /// `POST /opportunities/:id/removeTags` with `{ tags }`; returns the
    /// updated opportunity.
    pub fn remove_tags(&self, opportunity_id: &str, tags: &[String]) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "removeTags"],
            vec![],
            json!({ "tags": tags }),
        )
    }

    /// `PUT /opportunities/:id/stage[?perform_as=USER]` with `{ stage }`;
    /// returns the updated opportunity.
    pub fn change_stage(
        &self,
        opportunity_id: &str,
        stage_id: &str,
        perform_as: Option<&str>,
    ) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::PUT,
            segments: &["opportunities", opportunity_id, "stage"],
            query: perform_as_query(perform_as),
            body: Some(json!({ "stage": stage_id })),
        };
        let path = call.path();
        take_data(self.execute(call)?, "PUT", &path)
    }

    /// `POST /opportunities/:id/feedback?perform_as=USER` with a scorecard
    /// body (`{ baseTemplateId, panel, interview, fieldValues: [{id, value}] }`);
    /// returns the created feedback.
    pub fn add_feedback(
        &self,
        opportunity_id: &str,
        perform_as: &str,
        body: Value,
    ) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "feedback"],
            perform_as_query(Some(perform_as)),
            body,
        )
    }

    /// `GET /opportunities/:id/feedback`, every page.
    pub fn list_feedback(&self, opportunity_id: &str) -> Result<Vec<Value>, LeverError> {
        self.get_all(&["opportunities", opportunity_id, "feedback"])
    }

    fn post_data(
        &self,
        segments: &[&str],
        query: Vec<(&str, String)>,
        body: Value,
    ) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::POST,
            segments,
            query,
            body: Some(body),
        };
        let path = call.path();
        take_data(self.execute(call)?, "POST", &path)
    }
}

/// Refuses empty path segments (an empty id would address another resource).
fn for_each_segment_check(call: &Call<'_>, method: &str, path: &str) -> Result<(), LeverError> {
    if call.segments.iter().any(|s| s.is_empty()) {
        return Err(LeverError::InvalidArgument {
            method: method.to_owned(),
            path: path.to_owned(),
            reason: "empty id in the path".into(),
        });
    }
    Ok(())
}

fn perform_as_query(perform_as: Option<&str>) -> Vec<(&'static str, String)> {
    perform_as
        .filter(|u| !u.is_empty())
        .map(|u| vec![("perform_as", u.to_owned())])
        .unwrap_or_default()
}

fn take_data(mut body: Value, method: &str, path: &str) -> Result<Value, LeverError> {
    match body.get_mut("data") {
        Some(data) => Ok(data.take()),
        None => Err(LeverError::Decode {
            method: method.to_owned(),
            path: path.to_owned(),
            reason: "no `data` field".into(),
        }),
    }
}

fn read_json(resp: Response, method: &str, path: &str, attempts: u32) -> Result<Value, LeverError> {
    let bytes = resp.bytes().map_err(|source| LeverError::Transport {
        method: method.to_owned(),
        path: path.to_owned(),
        attempts,
        source: source.without_url(),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| LeverError::Decode {
        method: method.to_owned(),
        path: path.to_owned(),
        reason: format!("body is not JSON: {e}"),
    })
}

fn read_error_body(resp: Response) -> String {
    match resp.text() {
        Ok(mut t) => {
            if t.len() > MAX_ERROR_BODY {
                let mut cut = MAX_ERROR_BODY;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t.truncate(cut);
                t.push('…');
            }
            t
        }
        Err(e) => format!("<unreadable body: {e}>"),
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, capped at 60 s.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = v.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return None;
        }
        Duration::from_secs_f64(secs.min(MAX_BACKOFF.as_secs_f64()))
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let ms = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        Duration::from_millis(ms.max(0) as u64)
    };
    Some(d.min(MAX_BACKOFF))
}

/// A number in [0, 1) from the OS-seeded randomness of a v4 UUID.
fn jitter_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn page_parse_reads_data_and_next() {
        let p = Page::parse(&json!({"data": [{"id": "a"}], "hasNext": true, "next": "tok"}))
            .expect("page");
        assert_eq!(p.data.len(), 1);
        assert_eq!(p.next.as_deref(), Some("tok"));
        let last = Page::parse(&json!({"data": [], "hasNext": false})).expect("last page");
        assert_eq!(last.next, None);
        // `next` without `hasNext` means no further page.
        let last = Page::parse(&json!({"data": [], "next": "x"})).expect("last page");
        assert_eq!(last.next, None);
    }

    #[test]
    fn page_parse_refuses_broken_envelopes() {
        assert!(Page::parse(&json!({"hasNext": false})).is_err());
        assert!(Page::parse(&json!({"data": {}, "hasNext": false})).is_err());
        assert!(Page::parse(&json!({"data": [], "hasNext": true})).is_err());
        assert!(Page::parse(&json!({"data": [], "hasNext": true, "next": ""})).is_err());
    }

    #[test]
    fn note_text_from_fields_value_or_text() {
        let n = Note::from_lever(&json!({
            "id": "n1",
            "text": "label",
            "fields": [{"type": "text", "value": "line one"}, {"type": "score", "value": 3}, {"value": "line two"}]
        }))
        .expect("note");
        assert_eq!(
            n,
            Note {
                id: "n1".into(),
                value_text: "line one\nline two".into()
            }
        );
        let n = Note::from_lever(&json!({"id": "n2", "value": "v"})).expect("note");
        assert_eq!(n.value_text, "v");
        let n = Note::from_lever(&json!({"id": "n3", "text": "t", "fields": []})).expect("note");
        assert_eq!(n.value_text, "t");
        let n = Note::from_lever(&json!({"id": "n4"})).expect("note");
        assert_eq!(n.value_text, "");
        assert!(Note::from_lever(&json!({"id": 5})).is_none());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.25"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("100000"));
        assert_eq!(retry_after(&h), Some(MAX_BACKOFF));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO)); // in the past
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    fn client(base: &str) -> LeverClient {
        LeverClient::new(
            base,
            LeverAuth::ApiKey("k".into()),
            ClientOptions::default(),
        )
        .expect("client")
    }

    #[test]
    fn urls_encode_ids_as_single_segments() {
        let c = client("http://127.0.0.1:9/v1/");
        let call = Call {
            method: Method::POST,
            segments: &["opportunities", "a/../b?c", "notes"],
            query: vec![("perform_as", "u 1".into())],
            body: None,
        };
        let url = c.url(&call).expect("url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v1/opportunities/a%2F..%2Fb%3Fc/notes?perform_as=u+1"
        );
        let c = client("https://api.lever.co/v1");
        let call = Call {
            method: Method::GET,
            segments: &["opportunities", "x"],
            query: vec![],
            body: None,
        };
        assert_eq!(
            c.url(&call).expect("url").as_str(),
            "https://api.lever.co/v1/opportunities/x"
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in ["not a url", "ftp://example.com/v1", "mailto:x@example.com"] {
            let err =
                LeverClient::new(bad, LeverAuth::Bearer("t".into()), ClientOptions::default())
                    .expect_err(bad);
            assert!(
                matches!(err, LeverError::InvalidBaseUrl { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let opts = ClientOptions {
            base_backoff: Duration::from_millis(100),
            ..ClientOptions::default()
        };
        let c = LeverClient::new("http://127.0.0.1:9/v1", LeverAuth::ApiKey("k".into()), opts)
            .expect("client");
        for attempt in 1..=4u32 {
            let full = Duration::from_millis(100 * (1 << (attempt - 1)));
            let b = c.backoff(attempt);
            assert!(b >= full / 2 && b <= full, "attempt {attempt}: {b:?}");
        }
        assert!(c.backoff(40) <= MAX_BACKOFF);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = client("http://127.0.0.1:9/v1");
        let s = format!("{c:?}");
        assert!(!s.contains("\"k\""), "{s}");
        assert!(s.contains("redacted"));
    }

    #[test]
    fn empty_ids_and_markers_are_refused_before_any_request() {
        let c = client("http://127.0.0.1:9/v1");
        let err = c.get_opportunity("").expect_err("empty id");
        assert!(matches!(err, LeverError::InvalidArgument { .. }), "{err}");
        let err = c
            .ensure_note("opp", " ", "v", true, None)
            .expect_err("empty marker");
        assert!(matches!(err, LeverError::InvalidArgument { .. }), "{err}");
    }
}
