//! Sending one call: the URL, the token bucket, the circuit breaker, auth,
//! retries with back-off on 429/5xx, and reading the answer.

use std::time::Duration;

use reqwest::blocking::Response;
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::call::{for_each_segment_check, take_data, Call};
use super::error::LeverError;
use super::options::LeverAuth;
use super::retry::{jitter_fraction, retry_after, MAX_BACKOFF};
use super::LeverClient;
use crate::metrics;

/// Most bytes of an error body kept in [`LeverError::Status`].
const MAX_ERROR_BODY: usize = 2048;

impl LeverClient {
    pub(super) fn url(&self, call: &Call<'_>) -> Result<Url, LeverError> {
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

    pub(super) fn backoff(&self, attempt: u32) -> Duration {
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
    pub(super) fn execute(&self, call: Call<'_>) -> Result<Value, LeverError> {
        self.execute_with(call, None)
    }

    /// [`execute`](Self::execute), with `raw` (content type and bytes, e.g.
    /// a multipart upload) as the body in place of JSON.
    pub(super) fn execute_with(
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

    pub(super) fn post_data(
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
