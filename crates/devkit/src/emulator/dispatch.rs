//! A `/v1` request from arrival to answer: authentication, the rate limit,
//! injected faults, the body (JSON or a multipart upload), the route, a
//! note reply lost on purpose, and the request log.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::config::RATE_LIMIT_SLACK;
use super::files::{multipart_boundary, parse_upload};
use super::log::RecordedRequest;
use super::reply::Reply;
use super::state::{lock, Shared};

/// A `/v1` request handed to the synchronous core.
pub(super) struct Incoming {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Option<String>,
    pub(super) authorization: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) body: Bytes,
}

impl Shared {
    pub(super) fn handle_v1(&self, req: Incoming) -> Reply {
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
}

/// `/v1/a/b%2Fc` → `["a", "b/c"]`; `None` when not under `/v1` or badly encoded.
pub(super) fn split_path(path: &str) -> Option<Vec<String>> {
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
