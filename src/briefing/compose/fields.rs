//! Reading a text field of Lever's JSON.

use serde_json::Value;

pub(super) fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
