//! What may be said about a URL in an error, a log line, a dead-letter
//! reason or a Parquet column: its scheme, host, port and path — never its
//! query string (signed media URLs carry their signature and often the
//! candidate's name or e-mail there), its fragment, or credentials. Every
//! error and log line that names a URL goes through [`url`] or, for text
//! that may hold URLs (a library's error message), [`urls_in`].

/// The URL without credentials, query or fragment (`?…` becomes `?…`
/// elided as `?<redacted>` so a reader sees there was one). Text that does
/// not parse as a URL is cut at the first `?` or `#` and any `user@` is
/// dropped.
///
/// ```
/// use panelflow_core::redact;
/// assert_eq!(
///     redact::url("https://ann:pw@cdn.example/v/1.mp4?X-Amz-Signature=abc&email=a%40b.c#t=3"),
///     "https://cdn.example/v/1.mp4?<redacted>"
/// );
/// assert_eq!(redact::url("http://m.example:8080/a.wav"), "http://m.example:8080/a.wav");
/// assert_eq!(redact::url("not a url?secret=1"), "not a url?<redacted>");
/// ```
pub fn url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.has_host() => {
            let had_query = u.query().is_some() || u.fragment().is_some();
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?<redacted>");
            }
            s
        }
        _ => {
            let cut = text.find(['?', '#']);
            let (head, had) = match cut {
                Some(i) => (&text[..i], true),
                None => (text, false),
            };
            // `scheme://user:pw@host/…` → `scheme://host/…`.
            let head = match head.split_once("://") {
                Some((scheme, rest)) => {
                    let auth_end = rest.find('/').unwrap_or(rest.len());
                    match rest[..auth_end].rfind('@') {
                        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                        None => head.to_string(),
                    }
                }
                None => head.to_string(),
            };
            if had {
                format!("{head}?<redacted>")
            } else {
                head
            }
        }
    }
}

/// `text` with every `http://` or `https://` URL in it passed through
/// [`url`] (a URL ends at whitespace, a quote, `)`, `>` or `]`).
///
/// ```
/// use panelflow_core::redact::urls_in;
/// assert_eq!(
///     urls_in("error sending request for url (https://cdn.example/a.mp4?sig=s3cr3t): timed out"),
///     "error sending request for url (https://cdn.example/a.mp4?<redacted>): timed out"
/// );
/// assert_eq!(urls_in("no url here"), "no url here");
/// ```
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["http://", "https://", "HTTP://", "HTTPS://"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min();
        let Some(start) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ']' | '<'))
            .unwrap_or(tail.len());
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_after_the_path_survives() {
        for (raw, want) in [
            (
                "https://x.example/p?token=abc",
                "https://x.example/p?<redacted>",
            ),
            ("https://x.example/p#frag", "https://x.example/p?<redacted>"),
            ("https://u@x.example/p", "https://x.example/p"),
            ("http://[::1]:9/x?a=b", "http://[::1]:9/x?<redacted>"),
            ("https://x.example/", "https://x.example/"),
            ("ftp://u:p@h/x?y", "ftp://h/x?<redacted>"),
        ] {
            assert_eq!(url(raw), want, "{raw}");
        }
    }

    #[test]
    fn several_urls_in_text() {
        let t = "a https://h/1?s=1 and \"http://u:p@h/2?e=x@y.z\" done";
        let r = urls_in(t);
        assert_eq!(
            r,
            "a https://h/1?<redacted> and \"http://h/2?<redacted>\" done"
        );
        assert!(!r.contains("s=1") && !r.contains("x@y.z") && !r.contains("u:p"));
    }
}
