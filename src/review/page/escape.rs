//! Escaping and formatting for the page: HTML text, link path segments,
//! times.

use std::fmt::Write as _;

use serde_json::Value;

/// Escapes text for HTML content and quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The strings of the array at `key` of `v`, HTML-escaped (none when absent).
pub(super) fn escaped_strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(esc)
        .collect()
}

/// Percent-encodes an id for one path segment of a link.
///
/// ```
/// assert_eq!(panelflow::review::page::path_segment("generic:a b/c"), "generic%3Aa%20b%2Fc");
/// ```
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `m:ss` (or `h:mm:ss`) of a time in seconds.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A waiting time for people: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn waited(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {:02} min", s / 3600, (s / 60) % 60),
        _ => format!("{} d {} h", s / 86400, (s / 3600) % 24),
    }
}
