//! What the interview-platform sources (Willo, Spark Hire, HireVue,
//! Hireflix) share: authenticating platforms that publish no signature
//! scheme, finding the Lever ids a platform carries for its ATS, building
//! media items. (Keeping unmapped fields without personal data is
//! [`pii`](super::pii); reading a platform's API answer again for fresh
//! media URLs is [`refresh`](super::refresh).)
//!
//! # Shared-secret authentication
//!
//! A platform without a signature scheme of its own (Willo, Spark Hire and
//! HireVue publish none) is authenticated by the source's secret
//! (`PANELFLOW_<SOURCE>_SECRET`) in one of two ways, whichever the platform
//! (or a relay in front of it) can do:
//!
//! 1. **HMAC header** — `X-Panelflow-Signature: sha256=<hex HMAC-SHA256 of
//!    the raw body>` keyed by the secret (as the generic source);
//! 2. **secret path token** — the webhook URL registered with the platform is
//!    `https://…/webhooks/<source>/<secret>`: the last path segment must equal
//!    the secret (compared in constant time). A path token authenticates
//!    nothing about the body and puts the secret in URLs (and in proxies'
//!    logs), so the receiver refuses it unless the source is listed in
//!    `[ingest] path_token_sources`; such deliveries have no signed time
//!    and are protected from replays by the remembered body hashes only.
//!
//! A request with a header is judged by the header alone (a wrong header is
//! 401 even when the path token is right).
//!
//! # Lever ids
//!
//! Platforms know the Lever opportunity only when the ATS integration stored
//! it at invitation time. The sources look for it, in the objects each one
//! documents, under [`OPPORTUNITY_KEYS`]; the contact under
//! [`CONTACT_KEYS`]. A platform payload without an opportunity id is
//! malformed (400): panelflow cannot say where the note goes. Without a
//! contact id the candidate id is the opportunity id (Lever's own webhooks
//! do the same: `candidateId` is the opportunity's id).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::generic::{json_type, media_url, optional_id, optional_string, optional_time};
use super::signature;
use super::{SourceError, WebhookRequest};
use crate::event::{MediaItem, QuestionRef};

/// Keys under which a platform may carry the Lever opportunity id.
pub const OPPORTUNITY_KEYS: [&str; 4] = [
    "leverOpportunityId",
    "lever_opportunity_id",
    "opportunityId",
    "opportunity_id",
];

/// Keys under which a platform may carry the Lever contact (candidate) id.
pub const CONTACT_KEYS: [&str; 6] = [
    "leverContactId",
    "lever_contact_id",
    "leverCandidateId",
    "lever_candidate_id",
    "contactId",
    "candidateId",
];

/// How a shared-secret request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedSecretAuth {
    /// `X-Panelflow-Signature` body HMAC.
    Header,
    /// The secret as the last path segment.
    PathToken,
}

/// Authenticates a request to a source without its own signature scheme
/// (see the module docs).
pub fn verify_shared_secret(
    req: &WebhookRequest<'_>,
    secret: &[u8],
) -> Result<SharedSecretAuth, SourceError> {
    if secret.is_empty() {
        return Err(SourceError::Unauthorized("no secret configured".into()));
    }
    if let Some(header) = req.header(super::generic::SIGNATURE_HEADER) {
        signature::verify_body_hmac(req.body, header, secret)
            .map_err(super::generic::unauthorized)?;
        return Ok(SharedSecretAuth::Header);
    }
    match req.path_token {
        Some(token) if constant_time_eq(token.as_bytes(), secret) => {
            Ok(SharedSecretAuth::PathToken)
        }
        Some(_) => Err(SourceError::Unauthorized(
            "the path token does not match".into(),
        )),
        None => Err(SourceError::Unauthorized(
            "missing X-Panelflow-Signature header or secret path token".into(),
        )),
    }
}

/// Compares two secrets in time independent of where they differ (both are
/// hashed first, so the length does not leak either).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Verifies a base64 HMAC-SHA256 of the raw body (Hireflix's scheme), in
/// constant time.
pub fn verify_base64_body_hmac(
    body: &[u8],
    header: &str,
    secret: &[u8],
) -> Result<(), SourceError> {
    use base64::Engine as _;
    if secret.is_empty() {
        return Err(SourceError::Unauthorized("no secret configured".into()));
    }
    let expected = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|e| SourceError::Unauthorized(format!("signature is not base64: {e}")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| SourceError::Unauthorized("unusable secret".into()))?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SourceError::Unauthorized("signature does not match".into()))
}

/// The base64 HMAC-SHA256 of `body` (for tests and load generators).
pub fn sign_base64_body(body: &[u8], secret: &[u8]) -> String {
    use base64::Engine as _;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The Lever ids in the first of `places` (object, its path for messages)
/// that holds them: `(opportunity id, contact id or the opportunity id)`.
pub fn lever_ids(places: &[(&Map<String, Value>, &str)]) -> Result<(String, String), SourceError> {
    let mut opportunity = None;
    let mut contact = None;
    for (obj, prefix) in places {
        for k in OPPORTUNITY_KEYS {
            if opportunity.is_none() {
                opportunity = optional_id(obj, k, prefix)?;
            }
        }
        for k in CONTACT_KEYS {
            if contact.is_none() {
                contact = optional_id(obj, k, prefix)?;
            }
        }
    }
    let where_: Vec<String> = places
        .iter()
        .map(|(_, p)| format!("`{}`", p.trim_end_matches('.')))
        .collect();
    let opportunity = opportunity.ok_or_else(|| {
        SourceError::Malformed(format!(
            "no Lever opportunity id ({}) in {}",
            OPPORTUNITY_KEYS[0],
            where_.join(" or ")
        ))
    })?;
    let contact = contact.unwrap_or_else(|| opportunity.clone());
    Ok((opportunity, contact))
}

/// An optional nested object (absent or null → `None`).
pub fn optional_object<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<Option<&'a Map<String, Value>>, SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be an object, got {}",
            json_type(other)
        ))),
    }
}

/// An optional array (absent or null → empty).
pub fn optional_array<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<&'a [Value], SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be an array, got {}",
            json_type(other)
        ))),
    }
}

/// Objects of an array, each with its path for messages (`responses[2].`).
pub type PathedObjects<'a> = Vec<(&'a Map<String, Value>, String)>;

/// Each element of an array as an object, with its path.
pub fn objects<'a>(items: &'a [Value], path: &str) -> Result<PathedObjects<'a>, SourceError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok((m, format!("{path}[{i}]."))),
            other => Err(SourceError::Malformed(format!(
                "`{path}[{i}]` must be an object, got {}",
                json_type(other)
            ))),
        })
        .collect()
}

/// The first string of `fields` present in `obj`, as an id.
pub fn first_id(
    obj: &Map<String, Value>,
    fields: &[&str],
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    for f in fields {
        if let Some(v) = optional_id(obj, f, prefix)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The first string of `fields` present in `obj`, as free text.
pub fn first_text(
    obj: &Map<String, Value>,
    fields: &[&str],
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    for f in fields {
        if let Some(v) = optional_string(obj, f, prefix)? {
            if !v.trim().is_empty() {
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}

/// The first time of `fields` present in `obj` (RFC 3339 or epoch ms).
pub fn first_time(
    obj: &Map<String, Value>,
    fields: &[&str],
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    for f in fields {
        if let Some(v) = optional_time(obj, f, prefix)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A media item for one answer (the URL checked as the generic source does).
pub fn answer_media(
    url: &str,
    path: &str,
    question_id: Option<String>,
    question_text: Option<String>,
    expires_at: Option<String>,
) -> Result<MediaItem, SourceError> {
    Ok(MediaItem {
        url: media_url(url, path)?,
        question_id,
        question_text,
        expires_at,
    })
}

/// The platform's questions, in order, from per-answer media (deduplicated
/// by id).
pub fn questions_of(media: &[MediaItem]) -> Vec<QuestionRef> {
    let mut out: Vec<QuestionRef> = Vec::new();
    for m in media {
        if let Some(id) = &m.question_id {
            if !out.iter().any(|q| &q.id == id) {
                out.push(QuestionRef {
                    id: id.clone(),
                    text: m.question_text.clone(),
                });
            }
        }
    }
    out
}

/// A payload's event time (RFC 3339 or epoch ms) checked for freshness like
/// Lever's `triggeredAt`. The platforms that state a time in their body
/// (Willo `timestamp`, Spark Hire `created_at`, HireVue `eventTime`) must:
/// without it a delivery is `Unauthorized`, since its age — what refuses a
/// replay outside the receiver's window — cannot be told. (Always `Some`;
/// the `Option` is the event's optional `triggered_at`.)
pub fn check_event_time(
    obj: &Map<String, Value>,
    fields: &[&str],
    max_age_s: u64,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, SourceError> {
    match first_time(obj, fields, "")? {
        None => Err(SourceError::Unauthorized(format!(
            "missing `{}`: the event's time is required (replay protection)",
            fields.join("` or `")
        ))),
        Some(t) => {
            let at = DateTime::parse_from_rfc3339(&t)
                .map_err(|e| SourceError::Malformed(format!("event time: {e}")))?
                .with_timezone(&Utc);
            super::generic::check_fresh(at.timestamp_millis(), max_age_s, now).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};
    use serde_json::json;

    fn req<'a>(
        headers: &'a HeaderMap,
        body: &'a [u8],
        token: Option<&'a str>,
    ) -> WebhookRequest<'a> {
        WebhookRequest {
            headers,
            body,
            now: Utc::now(),
            max_age_s: 300,
            path_token: token,
        }
    }

    #[test]
    fn header_or_path_token() {
        let body = br#"{"x":1}"#;
        let none = HeaderMap::new();
        assert_eq!(
            verify_shared_secret(&req(&none, body, Some("s3cret")), b"s3cret"),
            Ok(SharedSecretAuth::PathToken)
        );
        assert!(verify_shared_secret(&req(&none, body, Some("s3cres")), b"s3cret").is_err());
        assert!(verify_shared_secret(&req(&none, body, None), b"s3cret").is_err());
        assert!(verify_shared_secret(&req(&none, body, Some("")), b"").is_err());
        let mut signed = HeaderMap::new();
        signed.insert(
            "x-panelflow-signature",
            HeaderValue::from_str(&signature::sign_body(body, b"s3cret")).unwrap(),
        );
        assert_eq!(
            verify_shared_secret(&req(&signed, body, None), b"s3cret"),
            Ok(SharedSecretAuth::Header)
        );
        // A wrong header is not rescued by a right path token.
        assert!(verify_shared_secret(&req(&signed, b"{}", Some("s3cret")), b"s3cret").is_err());
    }

    #[test]
    fn an_event_without_its_time_is_unauthorized() {
        let now = Utc::now();
        let none = json!({"x": 1});
        assert!(matches!(
            check_event_time(none.as_object().unwrap(), &["timestamp"], 300, now),
            Err(SourceError::Unauthorized(m)) if m.contains("timestamp")
        ));
        let fresh = json!({"timestamp": now.to_rfc3339()});
        assert!(check_event_time(fresh.as_object().unwrap(), &["timestamp"], 300, now).is_ok());
    }

    #[test]
    fn base64_body_hmac() {
        let sig = sign_base64_body(b"raw", b"k");
        assert!(verify_base64_body_hmac(b"raw", &sig, b"k").is_ok());
        assert!(verify_base64_body_hmac(b"raw ", &sig, b"k").is_err());
        assert!(verify_base64_body_hmac(b"raw", "%%%", b"k").is_err());
        assert!(verify_base64_body_hmac(b"raw", &sig, b"").is_err());
    }

    #[test]
    fn lever_ids_first_place_wins_and_contact_defaults() {
        let a = json!({"lever_opportunity_id": "o1"});
        let b = json!({"opportunityId": "o2", "contactId": "c2"});
        let (o, c) = lever_ids(&[
            (a.as_object().unwrap(), "data.metadata."),
            (b.as_object().unwrap(), "data."),
        ])
        .unwrap();
        assert_eq!((o.as_str(), c.as_str()), ("o1", "c2"));
        let (o, c) = lever_ids(&[(a.as_object().unwrap(), "m.")]).unwrap();
        assert_eq!(o, c);
        let empty = json!({});
        let err = lever_ids(&[(empty.as_object().unwrap(), "data.metadata.")]).unwrap_err();
        assert!(err.to_string().contains("data.metadata"), "{err}");
        let bad = json!({"opportunityId": 5});
        assert!(lever_ids(&[(bad.as_object().unwrap(), "d.")]).is_err());
    }

    #[test]
    fn questions_from_media_are_distinct_and_ordered() {
        let m = |q: &str| MediaItem {
            url: "https://m/x.mp4".into(),
            question_id: Some(q.into()),
            question_text: None,
            expires_at: None,
        };
        let qs = questions_of(&[m("b"), m("a"), m("b")]);
        assert_eq!(
            qs.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
    }
}
