//! Who is asking: the signed-in caller (bearer token or session cookie),
//! the client's address, and small request helpers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use panelflow_core::writeback::Phase;

use super::responses::Failure;
use super::state::ReviewApp;
use crate::review::auth::{Principal, SESSION_COOKIE};

/// Who is asking: the principal and, for a cookie session, its nonce.
pub(super) struct Caller {
    pub(super) who: Principal,
    /// `Some` for a cookie session (forms must carry its CSRF token).
    pub(super) nonce: Option<String>,
    pub(super) csrf: String,
}

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

/// The client's address, when the server was started with connection info.
pub(super) struct ClientIp(pub(super) Option<IpAddr>);

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
    pub(super) async fn caller(
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
    pub(super) async fn reader(
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

    /// Pilot phase: results only for the pilot group.
    pub(super) fn may_see_results(&self, who: &Principal) -> Result<(), Failure> {
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
}

pub(super) async fn blocking<T: Send + 'static>(
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

pub(super) fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
