//! What a handler answers: a status and a JSON body (Lever's error shape),
//! with `Retry-After` and `WWW-Authenticate` where due, or a reply lost on
//! purpose (the connection cut after the headers).

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An answer: status, JSON body, optional `Retry-After`; `lose` cuts the
/// connection instead of sending the body (a lost reply).
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) retry_after: Option<u64>,
    pub(super) lose: bool,
}

impl Reply {
    pub(super) fn ok(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after: None,
            lose: false,
        }
    }
    pub(super) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "code": code, "message": message.into() }),
            retry_after: None,
            lose: false,
        }
    }
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "BadRequestError", message)
    }
    pub(super) fn not_found(message: impl Into<String>) -> Self {
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

pub(super) fn opp_not_found(id: &str) -> Reply {
    Reply::not_found(format!("opportunity {id:?} not found"))
}
