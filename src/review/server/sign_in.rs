//! Sign-in and sessions: the sign-in form, signing in and out, and an
//! admin ending a user's sessions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::caller::{cookie, form, ClientIp};
use super::responses::{html, json_response, redirect, Failure};
use super::state::AppState;
use crate::review::auth::SESSION_COOKIE;
use crate::review::page;

pub(super) async fn login_form() -> Response {
    html(StatusCode::OK, page::login_page(None))
}

pub(super) async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Response {
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

pub(super) async fn logout(
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
pub(super) async fn revoke_user(
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
    if c.who.role != crate::review::auth::Role::Admin {
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
