//! The JSON field helpers every webhook source uses to normalize its
//! payload (ids, media links, timestamps), and the constants they use.
//! [`generic`](super::generic) re-exports them, so every
//! `webhook::generic::…` path keeps working.
//!
//! This module also holds the field helpers every source uses to normalize
//! its payload (ids, media links, timestamps), so all sources refuse the same
//! things with the same kind of reason.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::signature::SignatureError;
use super::SourceError;

/// How far in the future a timestamp may lie (clock skew) before it is refused.
pub const FUTURE_SKEW_S: i64 = 60;

/// Longest id accepted from a payload.
pub const MAX_ID_LEN: usize = 256;

/// Maps a signature failure to `Unauthorized`.
pub fn unauthorized(e: SignatureError) -> SourceError {
    SourceError::Unauthorized(e.to_string())
}

/// Hex SHA-256 of the raw body.
pub fn payload_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Parses a body that must be one JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, SourceError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(SourceError::Malformed(format!(
            "body must be a JSON object, got {}",
            json_type(&other)
        ))),
        Err(e) => Err(SourceError::Malformed(format!(
            "body is not valid JSON: {e}"
        ))),
    }
}

/// The JSON type's name, for error messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required nested object `prefix + field`.
pub fn require_object<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<&'a Map<String, Value>, SourceError> {
    match obj.get(field) {
        Some(Value::Object(m)) => Ok(m),
        None | Some(Value::Null) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` is required"
        ))),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be an object, got {}",
            json_type(other)
        ))),
    }
}

/// An optional id: absent or null → `None`; otherwise it must be a valid id.
pub fn optional_id(
    obj: &Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => validate_id(s, field, prefix).map(Some),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be a string, got {}",
            json_type(other)
        ))),
    }
}

/// A required id: a non-empty string of at most [`MAX_ID_LEN`] characters
/// without control characters.
pub fn require_id(
    obj: &Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<String, SourceError> {
    optional_id(obj, field, prefix)?
        .ok_or_else(|| SourceError::Malformed(format!("`{prefix}{field}` is required")))
}

fn validate_id(s: &str, field: &str, prefix: &str) -> Result<String, SourceError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must not be empty"
        )));
    }
    if t.chars().count() > MAX_ID_LEN {
        return Err(SourceError::Malformed(format!(
            "`{prefix}{field}` is longer than {MAX_ID_LEN} characters"
        )));
    }
    if t.chars().any(char::is_control) {
        return Err(SourceError::Malformed(format!(
            "`{prefix}{field}` contains control characters"
        )));
    }
    Ok(t.to_string())
}

/// An optional free-text string field (question text, ...).
pub fn optional_string(
    obj: &Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be a string, got {}",
            json_type(other)
        ))),
    }
}

/// Checks a media link: an absolute `http` or `https` URL with a host.
/// (Whether the host may be fetched — private addresses and so on — is the
/// media stage's decision at fetch time, not the receiver's.)
pub fn media_url(raw: &str, path: &str) -> Result<String, SourceError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(SourceError::Malformed(format!(
            "`{path}` must not be empty"
        )));
    }
    let parsed = url::Url::parse(trimmed)
        .map_err(|e| SourceError::Malformed(format!("`{path}` is not a valid URL: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(SourceError::Malformed(format!(
                "`{path}` must be an http(s) URL, got scheme `{other}`"
            )))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(SourceError::Malformed(format!("`{path}` has no host")));
    }
    Ok(parsed.to_string())
}

/// An optional RFC 3339 time (`expiresAt`), normalized to RFC 3339 in UTC.
pub fn optional_time(
    obj: &Map<String, Value>,
    field: &str,
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc).to_rfc3339()))
            .map_err(|e| {
                SourceError::Malformed(format!("`{prefix}{field}` is not an RFC 3339 time: {e}"))
            }),
        Some(Value::Number(_)) => {
            let (ms, _) = timestamp_ms(&obj[field], &format!("{prefix}{field}"))?;
            ms_to_time(ms, &format!("{prefix}{field}")).map(|t| Some(t.to_rfc3339()))
        }
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be an RFC 3339 string, got {}",
            json_type(other)
        ))),
    }
}

/// A millisecond timestamp: a JSON integer or a string of decimal digits.
/// Returns the value and its decimal text exactly as sent (what Lever signs).
pub fn timestamp_ms(v: &Value, path: &str) -> Result<(i64, String), SourceError> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(ms) => Ok((ms, n.to_string())),
            None => Err(SourceError::Malformed(format!(
                "`{path}` must be an integer number of milliseconds, got {n}"
            ))),
        },
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<i64>()
            .map(|ms| (ms, s.clone()))
            .map_err(|e| SourceError::Malformed(format!("`{path}` is out of range: {e}"))),
        other => Err(SourceError::Malformed(format!(
            "`{path}` must be an integer number of milliseconds, got {}",
            json_type(other)
        ))),
    }
}

fn ms_to_time(ms: i64, path: &str) -> Result<DateTime<Utc>, SourceError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| SourceError::Malformed(format!("`{path}` is not a valid time: {ms}")))
}

/// Refuses a timestamp older than `max_age_s` or more than
/// [`FUTURE_SKEW_S`] in the future; returns it as a time otherwise.
pub fn check_fresh(
    ms: i64,
    max_age_s: u64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SourceError> {
    let at = ms_to_time(ms, "timestamp")?;
    let age_s = (now - at).num_seconds();
    let max_age = i64::try_from(max_age_s).unwrap_or(i64::MAX);
    if age_s > max_age || age_s < -FUTURE_SKEW_S {
        return Err(SourceError::Stale { age_s });
    }
    Ok(at)
}
