//! What every fuzz target checks, shared so that a crash reproduces the same
//! way under `cargo fuzz run` and in a plain test (`cargo test` in `fuzz/`
//! runs [`replay_corpus`] over the saved inputs on stable).

use http::{HeaderMap, HeaderValue};
use panelflow_core::event::{namespaced_interview_id, InterviewCompleted};
use panelflow_core::webhook::pii::looks_like_email;
use panelflow_core::webhook::{SourceError, Verdict, WebhookRequest, WebhookSource};
use serde_json::Value;

/// The secret every webhook target signs with.
pub const SECRET: &[u8] = b"fuzz-shared-secret-0123456789abcdef";

/// The receive time of every fuzzed delivery.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2025, 3, 1, 10, 1, 0)
        .single()
        .expect("a valid time")
}

/// How one input becomes a delivery (its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The bytes as they are, no signature header: must be refused.
    Unsigned,
    /// The bytes signed with [`SECRET`] as the source's scheme wants (for
    /// JSON objects, the time fields set to [`now`] first): reaches the parser.
    Signed,
    /// The first line is the signature header, the rest the body: forged,
    /// must be refused (a valid HMAC cannot be guessed).
    Forged,
    /// The secret as a path token (shared-secret sources): reaches the parser.
    PathToken,
}

impl Mode {
    fn of(b: u8) -> Self {
        match b % 4 {
            0 => Mode::Unsigned,
            1 => Mode::Signed,
            2 => Mode::Forged,
            _ => Mode::PathToken,
        }
    }
}

/// The time fields of each source.
fn time_field(source: &str) -> Option<&'static str> {
    match source {
        "generic" | "willo" => Some("timestamp"),
        "sparkhire" => Some("created_at"),
        "hirevue" => Some("eventTime"),
        _ => None,
    }
}

/// One fuzzed delivery to `source`: verify, parse, normalize; then the
/// invariants every accepted event keeps.
pub fn webhook(source: &dyn WebhookSource, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mode = Mode::of(mode);
    let name = source.name();
    let mut headers = HeaderMap::new();
    let mut body = rest.to_vec();
    let mut path_token = None;
    match mode {
        Mode::Unsigned => {}
        Mode::Signed => {
            if let Ok(Value::Object(mut o)) = serde_json::from_slice::<Value>(rest) {
                if name == "lever" {
                    let token = o
                        .get("token")
                        .and_then(Value::as_str)
                        .unwrap_or("fuzz-token")
                        .to_string();
                    let at = now().timestamp_millis().to_string();
                    o.insert("token".into(), Value::String(token.clone()));
                    o.insert("triggeredAt".into(), Value::String(at.clone()));
                    o.insert(
                        "signature".into(),
                        Value::String(panelflow_core::webhook::signature::sign_lever(
                            &token, &at, SECRET,
                        )),
                    );
                } else if let Some(f) = time_field(name) {
                    let t = if name == "generic" {
                        Value::from(now().timestamp_millis())
                    } else {
                        Value::String(now().to_rfc3339())
                    };
                    o.insert(f.into(), t);
                }
                body = serde_json::to_vec(&Value::Object(o)).unwrap_or_default();
            }
            let (header, value) = match name {
                "hireflix" => (
                    "x-hireflix-signature",
                    panelflow_core::webhook::provider::sign_base64_body(&body, SECRET),
                ),
                _ => (
                    "x-panelflow-signature",
                    panelflow_core::webhook::signature::sign_body(&body, SECRET),
                ),
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header, v);
            }
        }
        Mode::Forged => {
            let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            body = rest.get(split + 1..).unwrap_or_default().to_vec();
            if let Ok(v) = HeaderValue::from_bytes(&rest[..split]) {
                let header = if name == "hireflix" {
                    "x-hireflix-signature"
                } else {
                    "x-panelflow-signature"
                };
                headers.insert(header, v);
            }
        }
        Mode::PathToken => path_token = Some(String::from_utf8_lossy(SECRET).into_owned()),
    }
    let req = WebhookRequest {
        headers: &headers,
        body: &body,
        now: now(),
        max_age_s: 300,
        path_token: path_token.as_deref(),
    };
    let verdict = source.handle(&req, SECRET);
    let _ = source.replay_key(&req);
    match (&verdict, mode) {
        (Ok(Verdict::Accept(_) | Verdict::Ratings(_)), Mode::Unsigned | Mode::Forged) => {
            // Lever signs inside the body: only a body that carries a valid
            // signature of its own may pass, which the fuzzer cannot forge.
            panic!("{name}: an unsigned or forged delivery was accepted");
        }
        (Err(e), _) => {
            let status = e.status().as_u16();
            assert!(
                status == 400 || status == 401,
                "{name}: status {status} for {e}"
            );
            if let SourceError::Malformed(m) = e {
                assert!(m.len() < 4096, "{name}: a reason of {} bytes", m.len());
            }
        }
        _ => {}
    }
    if let Ok(Verdict::Accept(event)) = verdict {
        accepted(name, &event);
    }
}

/// What an accepted event must be, whatever the body.
fn accepted(source: &str, event: &InterviewCompleted) {
    assert_eq!(event.source, source);
    assert_eq!(
        namespaced_interview_id(source, &event.interview_id),
        event.interview_id,
        "the id is in its source's namespace"
    );
    if source != "generic" {
        assert!(event.interview_id.starts_with(&format!("{source}:")));
    }
    for m in &event.media {
        let u = url::Url::parse(&m.url).expect("media URLs parse");
        assert!(matches!(u.scheme(), "http" | "https"), "{}", m.url);
    }
    if source == "lever" {
        assert!(
            event.media.is_empty(),
            "no media from Lever's unsigned data"
        );
    }
    fn no_email(v: &Value) {
        match v {
            Value::String(s) => assert!(!looks_like_email(s), "an e-mail kept: {s}"),
            Value::Array(a) => a.iter().for_each(no_email),
            Value::Object(o) => {
                for (k, v) in o {
                    assert!(!looks_like_email(k), "an e-mail kept as a key: {k}");
                    no_email(v);
                }
            }
            _ => {}
        }
    }
    no_email(&Value::Object(event.unknown_fields.clone()));
    let text = serde_json::to_vec(event).expect("the event serializes");
    let back: InterviewCompleted = serde_json::from_slice(&text).expect("and reads back");
    assert_eq!(&back, event);
}

/// Recording links found in any text are http(s) URLs.
pub fn recording_links(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for link in panelflow_core::webhook::recording_link::find_recording_links(&text) {
        let u = url::Url::parse(&link).expect("a link parses");
        assert!(matches!(u.scheme(), "http" | "https"), "{link}");
    }
}

/// A fuzzed file through the demuxer and decoder (at most 64 chunks): a
/// panic inside the demuxer is contained by the decoder's guard (an
/// `Err`); one escaping it, an abort, a hang or unbounded memory is a crash.
pub fn media_decode(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let ext = [
        "wav", "flac", "mp3", "mp4", "m4a", "webm", "mkv", "ogg", "bin",
    ][kind as usize % 9];
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let Ok(mut file) = tempfile::Builder::new()
        .prefix("pf-fuzz-")
        .suffix(&format!(".{ext}"))
        .tempfile_in(dir)
    else {
        return;
    };
    if std::io::Write::write_all(&mut file, rest).is_err() {
        return;
    }
    let Ok(mut dec) = panelflow_models::media::decode::AudioDecoder::open(file.path()) else {
        return;
    };
    assert!(dec.sample_rate() > 0);
    for _ in 0..64 {
        match dec.next_chunk() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

/// Runs `check` over every file of `dir` (a saved corpus or crash folder).
pub fn replay_corpus(dir: &std::path::Path, check: impl Fn(&[u8])) -> usize {
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                check(&bytes);
                n += 1;
            }
        }
    }
    n
}
