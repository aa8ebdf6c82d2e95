//! Recording links found in free text: a Zoom cloud recording, a video file
//! on a web server, a link pasted into a Lever note, an e-mail forwarded to
//! Lever's e-mail dropbox. Such an interview is one recording whose
//! questions were asked out loud; the analysis cuts it into answers.
//!
//! Used by the generic source (`data.text`, `data.emailBody`, `data.html`
//! instead of `data.mediaUrl`) and by the context stage (Lever interview
//! notes, opportunity links and notes).
//!
//! A link counts as a recording when its path ends in a media extension
//! ([`MEDIA_EXTENSIONS`]) or it is a Zoom cloud recording
//! (`https://<sub>.zoom.us/rec/{share,play,download}/…`).
//!
//! ```
//! use panelflow_core::webhook::recording_link::find_recording_links;
//! let mail = "Hi! Here is the recording: <a href=\"https://cdn.example.com/r/42.mp4?sig=a&amp;x=1\">watch</a>.\n\
//!             Zoom: https://acme.zoom.us/rec/share/AbC-123.xyz, and my profile https://linkedin.com/in/x.";
//! assert_eq!(find_recording_links(mail), vec![
//!     "https://cdn.example.com/r/42.mp4?sig=a&x=1".to_string(),
//!     "https://acme.zoom.us/rec/share/AbC-123.xyz".to_string(),
//! ]);
//! ```

use url::Url;

/// File extensions of recordings (matched on the URL path, case-insensitively).
pub const MEDIA_EXTENSIONS: [&str; 10] = [
    ".mp4", ".m4a", ".webm", ".mkv", ".mp3", ".wav", ".flac", ".ogg", ".mov", ".opus",
];

/// Longest text scanned (a larger e-mail body is cut here).
pub const MAX_TEXT_BYTES: usize = 512 * 1024;

/// Characters that end a URL in running text or markup.
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\' | '^'
        )
}

/// Whether `url` is a recording: a media file or a Zoom cloud recording.
pub fn is_recording_link(url: &Url) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let path = url.path().to_ascii_lowercase();
    if MEDIA_EXTENSIONS.iter().any(|ext| path.ends_with(ext)) {
        return true;
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let zoom = host == "zoom.us" || host.ends_with(".zoom.us");
    zoom && ["/rec/share/", "/rec/play/", "/rec/download/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The distinct recording links in `text` (plain text or HTML), in order of
/// appearance. `&amp;` in markup is decoded; trailing punctuation is not part
/// of a link.
pub fn find_recording_links(text: &str) -> Vec<String> {
    let mut cut = text.len().min(MAX_TEXT_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = &text[..cut];
    // ASCII lower-casing keeps byte offsets, so positions carry over.
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(found) = find_scheme(&lower[pos..]) {
        let start = pos + found;
        let candidate = &text[start..];
        let end = candidate.find(ends_url).unwrap_or(candidate.len());
        let raw = candidate[..end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?'])
            .replace("&amp;", "&");
        pos = start + end.max(1);
        if let Ok(url) = Url::parse(&raw) {
            if is_recording_link(&url) {
                let s = url.to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Where the next `http://` or `https://` starts in lower-cased text.
fn find_scheme(lower: &str) -> Option<usize> {
    match (lower.find("https://"), lower.find("http://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Recording links in every string of a JSON value (a Lever interview's
/// `note` and `location`, an opportunity's `links`), in document order.
pub fn find_in_json(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut out, 0);
    out
}

fn collect(value: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
    if depth > 16 {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            for link in find_recording_links(s) {
                if !out.contains(&link) {
                    out.push(link);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out, depth + 1)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, out, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_files_and_zoom_recordings_count() {
        let yes = [
            "https://m.example/a.MP4",
            "http://m.example/x/y.webm?token=1#t=3",
            "https://us02web.zoom.us/rec/share/abc",
            "https://zoom.us/rec/download/abc?access_token=x",
        ];
        for u in yes {
            assert!(is_recording_link(&Url::parse(u).unwrap()), "{u}");
        }
        let no = [
            "https://zoom.us/j/123456",
            "https://m.example/a.mp4.html",
            "ftp://m.example/a.mp4",
            "https://linkedin.com/in/someone",
            "https://evilzoom.us/rec/share/x",
        ];
        for u in no {
            assert!(!is_recording_link(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn links_are_cut_at_markup_and_punctuation() {
        let text = "See (https://a.example/v.mp4), then <https://b.example/w.webm>; \
                    HTTPS://C.EXAMPLE/Z.MOV. Again https://a.example/v.mp4!";
        assert_eq!(
            find_recording_links(text),
            vec![
                "https://a.example/v.mp4",
                "https://b.example/w.webm",
                "https://c.example/Z.MOV"
            ]
        );
        assert!(find_recording_links("no links here").is_empty());
        assert!(find_recording_links("https://").is_empty());
    }

    #[test]
    fn json_strings_are_searched_in_order() {
        let interview = json!({"note": "Recording: https://r.example/1.mp4",
            "location": "https://acme.zoom.us/rec/play/xyz", "panel": 3,
            "more": [{"x": "https://r.example/1.mp4"}]});
        assert_eq!(find_in_json(&interview).len(), 2);
    }

    #[test]
    fn huge_and_multibyte_text_is_safe() {
        let big = "é".repeat(MAX_TEXT_BYTES) + " https://r.example/1.mp4";
        assert!(find_recording_links(&big).is_empty());
        assert_eq!(find_recording_links("ü https://r.example/ü.mp4").len(), 1);
    }
}
