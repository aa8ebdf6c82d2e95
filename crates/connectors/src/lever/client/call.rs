//! A request being made ([`Call`]) and the small helpers shared by the
//! per-resource calls: path checks, `perform_as`, the `data` field.

use reqwest::Method;
use serde_json::Value;

use super::error::LeverError;

/// A request being made: method, path segments below the base, query, body.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    pub(super) segments: &'a [&'a str],
    pub(super) query: Vec<(&'a str, String)>,
    pub(super) body: Option<Value>,
}

impl Call<'_> {
    /// The path for messages: `/opportunities/ID/notes`.
    pub(super) fn path(&self) -> String {
        let mut p = String::new();
        for s in self.segments {
            p.push('/');
            p.push_str(s);
        }
        p
    }

    /// Whether repeating it after an ambiguous failure is harmless.
    pub(super) fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::PUT | Method::DELETE | Method::HEAD
        )
    }
}

/// Refuses empty path segments (an empty id would address another resource).
pub(super) fn for_each_segment_check(
    call: &Call<'_>,
    method: &str,
    path: &str,
) -> Result<(), LeverError> {
    if call.segments.iter().any(|s| s.is_empty()) {
        return Err(LeverError::InvalidArgument {
            method: method.to_owned(),
            path: path.to_owned(),
            reason: "empty id in the path".into(),
        });
    }
    Ok(())
}

pub(super) fn perform_as_query(perform_as: Option<&str>) -> Vec<(&'static str, String)> {
    perform_as
        .filter(|u| !u.is_empty())
        .map(|u| vec![("perform_as", u.to_owned())])
        .unwrap_or_default()
}

pub(super) fn take_data(mut body: Value, method: &str, path: &str) -> Result<Value, LeverError> {
    match body.get_mut("data") {
        Some(data) => Ok(data.take()),
        None => Err(LeverError::Decode {
            method: method.to_owned(),
            path: path.to_owned(),
            reason: "no `data` field".into(),
        }),
    }
}
