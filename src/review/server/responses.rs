//! Responses: HTML and JSON bodies behind the security headers, redirects,
//! the static files, and refusals ([`Failure`]) rendered as either.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::headers::{secure_headers, secure_headers_with_media};
use crate::review::auth::Principal;
use crate::review::page;
use panelflow_connectors::store::queue::ReviewError;

pub(super) fn html_with_media(
    status: StatusCode,
    body: String,
    media_origins: &[String],
) -> Response {
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

pub(super) fn html(status: StatusCode, body: String) -> Response {
    secure_headers(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    secure_headers((status, axum::Json(body.clone())).into_response())
}

pub(super) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(r)
}

pub(super) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        page::stylesheet(),
    )
        .into_response()
}

pub(super) async fn js() -> Response {
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
pub(super) struct Failure {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl Failure {
    pub(super) fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
        }
    }

    pub(super) fn locked_out(wait: Duration) -> Self {
        Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            format!(
                "Too many failed sign-ins; try again in {} s.",
                wait.as_secs().max(1)
            ),
        )
    }

    pub(super) fn render(self, as_json: bool, who: Option<(&Principal, &str)>) -> Response {
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
