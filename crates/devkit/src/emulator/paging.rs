//! Lever's paged listings: `{data, hasNext, next}` for `limit` and the
//! opaque `offset` token.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::config::MAX_PAGE_LIMIT;
use super::reply::Reply;

pub(super) fn page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("pf1:{offset}"))
}

fn parse_page_token(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("pf1:")?
        .parse()
        .ok()
}

/// Lever's `{data, hasNext, next}` page of `items` for `limit` and `offset`.
pub(super) fn paged(items: &[&Value], query: &BTreeMap<String, String>) -> Reply {
    let limit = match query.get("limit") {
        None => MAX_PAGE_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Reply::bad_request(format!(
                    "invalid `limit` {l:?}: a positive whole number"
                ))
            }
            Ok(n) => n.min(MAX_PAGE_LIMIT),
        },
    };
    let start = match query.get("offset") {
        None => 0,
        Some(t) => match parse_page_token(t) {
            Some(n) => n,
            None => return Reply::bad_request(format!("invalid `offset` token {t:?}")),
        },
    };
    let end = start.saturating_add(limit).min(items.len());
    let data: Vec<&Value> = items
        .get(start..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("data".into(), json!(data));
    let has_next = end < items.len();
    body.insert("hasNext".into(), json!(has_next));
    if has_next {
        body.insert("next".into(), json!(page_token(end)));
    }
    Reply::ok(StatusCode::OK, Value::Object(body))
}
