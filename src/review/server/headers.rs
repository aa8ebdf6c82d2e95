//! Security headers: the CSP (its `media-src` filled in per page) and the
//! headers every response carries.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The CSP of every page; `media-src` is filled in per page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     media-src MEDIA; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn secure_headers(resp: Response) -> Response {
    secure_headers_with_media(resp, &[])
}

/// The security headers, the CSP's `media-src` naming `media_origins`
/// (`'none'` when there are none).
pub(super) fn secure_headers_with_media(mut resp: Response, media_origins: &[String]) -> Response {
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
