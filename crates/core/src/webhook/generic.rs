//! The generic source: any system that can POST a recording link.
//!
//! Body (sample: `schemas/webhooks/generic.json`, schema:
//! `schemas/webhook_generic.schema.json`):
//!
//! ```json
//! { "event": "interviewCompleted", "timestamp": 1700000000000,
//!   "data": { "candidateId": "c", "opportunityId": "o", "interviewId": "i",
//!             "mediaUrl": "https://media.example/i.mp4" } }
//! ```
//!
//! `data.mediaUrl` may be replaced (or complemented) by `data.media: [{ url,
//! questionId, questionText, expiresAt }]`, one item per answer. Without
//! either, recording links found in `data.text`, `data.emailBody` or
//! `data.html` (a Zoom recording pasted in a message, an e-mail forwarded by
//! a mail relay such as the one in front of Lever's e-mail dropbox) are the
//! media: one recording each, questions asked out loud (see
//! [`recording_link`](super::recording_link)). Other fields of `data` are
//! kept in the event's `unknown_fields`. `event` is
//! optional (absent, `interviewCompleted` or `interview.completed` are acted
//! on; anything else is well-signed but ignored → 204). `timestamp` (ms since
//! the epoch) is optional; when present it is checked like Lever's
//! `triggeredAt` and stale deliveries are refused.
//!
//! Signature: header `X-Panelflow-Signature: sha256=<hex HMAC-SHA256 of the raw
//! body>` keyed by `PANELFLOW_GENERIC_SECRET` (a shared-secret HMAC: this is the
//! scheme for any platform that publishes none of its own).
//!
//! The field helpers every source uses to normalize its payload (ids, media
//! links, timestamps) live in [`fields`](super::fields) and are re-exported
//! here.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use super::fields::{
    check_fresh, json_type, media_url, optional_id, optional_string, optional_time, parse_object,
    payload_sha256, require_id, require_object, timestamp_ms, unauthorized, FUTURE_SKEW_S,
    MAX_ID_LEN,
};
use super::signature;
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::{InterviewCompleted, MediaItem};

/// The source's name: its route `/webhooks/generic` and its secret
/// `PANELFLOW_GENERIC_SECRET`.
pub const SOURCE: &str = "generic";

/// The header carrying the body signature (matched case-insensitively).
pub const SIGNATURE_HEADER: &str = "x-panelflow-signature";

/// Event names the generic source acts on (when `event` is present at all).
pub const ACTED_ON: [&str; 2] = ["interviewCompleted", "interview.completed"];

/// Free-text fields searched for recording links when no media is named.
pub const TEXT_FIELDS: [&str; 3] = ["text", "emailBody", "html"];

/// The generic source, for the HTTP dispatcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenericSource;

impl WebhookSource for GenericSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        parse(
            req.body,
            req.header(SIGNATURE_HEADER),
            secret,
            req.max_age_s,
            req.now,
        )
    }
}

/// Verifies, parses and normalizes a generic webhook.
///
/// The signature is checked on the raw bytes first (a bad or missing
/// signature is `Unauthorized` whatever the body holds), then the JSON.
pub fn parse(
    body: &[u8],
    signature_header: Option<&str>,
    secret: &[u8],
    max_age_s: u64,
    now: DateTime<Utc>,
) -> Result<Verdict, SourceError> {
    let header = signature_header
        .ok_or_else(|| SourceError::Unauthorized("missing X-Panelflow-Signature header".into()))?;
    signature::verify_body_hmac(body, header, secret).map_err(unauthorized)?;

    let root = parse_object(body)?;
    let triggered_at = match root.get("timestamp") {
        None | Some(Value::Null) => {
            return Err(SourceError::Unauthorized(
                "missing `timestamp`: a signed time is required (replay protection)".into(),
            ))
        }
        Some(v) => {
            let (ms, _) = timestamp_ms(v, "timestamp")?;
            Some(check_fresh(ms, max_age_s, now)?)
        }
    };
    let event_name = match root.get("event") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(SourceError::Malformed("`event` must be a string".into())),
    };
    if let Some(name) = &event_name {
        if !ACTED_ON.contains(&name.as_str()) {
            return Ok(Verdict::Ignore {
                event: name.clone(),
                reason: format!("the generic source acts on {ACTED_ON:?} only"),
            });
        }
    }
    let data = require_object(&root, "data", "")?;
    let interview_id = require_id(data, "interviewId", "data.")?;
    let candidate_id = require_id(data, "candidateId", "data.")?;
    let opportunity_id = require_id(data, "opportunityId", "data.")?;
    let mut media = media_items(data, "data.")?;
    if media.is_empty() {
        for field in TEXT_FIELDS {
            if let Some(text) = optional_string(data, field, "data.")? {
                for url in super::recording_link::find_recording_links(&text) {
                    if !media.iter().any(|m| m.url == url) {
                        media.push(MediaItem {
                            url,
                            question_id: None,
                            question_text: None,
                            expires_at: None,
                        });
                    }
                }
            }
        }
    }
    if media.is_empty() {
        return Err(SourceError::Malformed(
            "`data.mediaUrl`, a non-empty `data.media`, or a recording link in `data.text`, `data.emailBody` or `data.html` is required".into(),
        ));
    }

    let mut event =
        InterviewCompleted::new(SOURCE, &interview_id, &candidate_id, &opportunity_id, media);
    event.unknown_fields = super::pii::unmapped(
        data,
        &[
            "interviewId",
            "candidateId",
            "opportunityId",
            "mediaUrl",
            "recordingUrl",
            "media",
            "mediaExpiresAt",
            "text",
            "emailBody",
            "html",
        ],
    );
    event.source_event = event_name;
    event.triggered_at = triggered_at.map(|t| t.to_rfc3339());
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    Ok(Verdict::Accept(event))
}

/// The media items of a payload's `data`: `mediaUrl`, `recordingUrl` (one
/// recording each) and `media: [ "url" | { url, questionId, questionText,
/// expiresAt } ]`, in that order, duplicates by URL removed. An empty list
/// is returned when none is present (the caller decides whether that is
/// acceptable).
pub fn media_items(data: &Map<String, Value>, prefix: &str) -> Result<Vec<MediaItem>, SourceError> {
    let mut items: Vec<MediaItem> = Vec::new();
    let push = |item: MediaItem, items: &mut Vec<MediaItem>| {
        if !items.iter().any(|m| m.url == item.url) {
            items.push(item);
        }
    };
    let expires = optional_time(data, "mediaExpiresAt", prefix)?;
    for field in ["mediaUrl", "recordingUrl"] {
        match data.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let url = media_url(s, &format!("{prefix}{field}"))?;
                push(
                    MediaItem {
                        url,
                        question_id: None,
                        question_text: None,
                        expires_at: expires.clone(),
                    },
                    &mut items,
                );
            }
            Some(other) => {
                return Err(SourceError::Malformed(format!(
                    "`{prefix}{field}` must be a string, got {}",
                    json_type(other)
                )))
            }
        }
    }
    match data.get("media") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, entry) in list.iter().enumerate() {
                let path = format!("{prefix}media[{i}]");
                let item = match entry {
                    Value::String(s) => MediaItem {
                        url: media_url(s, &path)?,
                        question_id: None,
                        question_text: None,
                        expires_at: None,
                    },
                    Value::Object(m) => {
                        let inner = format!("{path}.");
                        let url = match m.get("url") {
                            Some(Value::String(s)) => media_url(s, &format!("{path}.url"))?,
                            None | Some(Value::Null) => {
                                return Err(SourceError::Malformed(format!(
                                    "`{path}.url` is required"
                                )))
                            }
                            Some(other) => {
                                return Err(SourceError::Malformed(format!(
                                    "`{path}.url` must be a string, got {}",
                                    json_type(other)
                                )))
                            }
                        };
                        MediaItem {
                            url,
                            question_id: optional_id(m, "questionId", &inner)?,
                            question_text: optional_string(m, "questionText", &inner)?,
                            expires_at: optional_time(m, "expiresAt", &inner)?,
                        }
                    }
                    other => {
                        return Err(SourceError::Malformed(format!(
                            "`{path}` must be a URL string or an object, got {}",
                            json_type(other)
                        )))
                    }
                };
                push(item, &mut items);
            }
        }
        Some(other) => {
            return Err(SourceError::Malformed(format!(
                "`{prefix}media` must be an array, got {}",
                json_type(other)
            )))
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const KEY: &[u8] = b"generic-secret";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_700_000_100_000).unwrap()
    }

    fn signed(body: &Value) -> (Vec<u8>, String) {
        let raw = serde_json::to_vec(body).unwrap();
        let sig = signature::sign_body(&raw, KEY);
        (raw, sig)
    }

    /// Runs `body`, stamped with "now" when it carries no timestamp.
    fn run(body: &Value) -> Result<Verdict, SourceError> {
        let mut body = body.clone();
        if let Some(o) = body.as_object_mut() {
            o.entry("timestamp")
                .or_insert(json!(now().timestamp_millis()));
        }
        let (raw, sig) = signed(&body);
        parse(&raw, Some(&sig), KEY, 300, now())
    }

    fn malformed_reason(r: Result<Verdict, SourceError>) -> String {
        match r {
            Err(SourceError::Malformed(reason)) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn sample_payload_is_accepted() {
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/webhooks/generic.json"
        ))
        .unwrap();
        let mut v: Value = serde_json::from_slice(&raw).unwrap();
        let at = Utc::now();
        v["timestamp"] = json!(at.timestamp_millis());
        let raw = serde_json::to_vec(&v).unwrap();
        let sig = signature::sign_body(&raw, KEY);
        match parse(&raw, Some(&sig), KEY, 300, at).unwrap() {
            Verdict::Accept(e) => {
                assert_eq!(e.source, "generic");
                assert!(!e.media.is_empty());
                assert_eq!(e.payload_sha256, payload_sha256(&raw));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_and_normalizes() {
        let body = json!({"timestamp": 1_700_000_000_000_i64, "data": {
            "candidateId": "cand-1", "opportunityId": "opp-1", "interviewId": "int-1",
            "mediaUrl": "https://media.example/int-1.mp4", "extra": {"kept": true}}});
        let (raw, sig) = signed(&body);
        let Verdict::Accept(e) = parse(&raw, Some(&sig), KEY, 300, now()).unwrap() else {
            panic!("not accepted")
        };
        assert_eq!(e.interview_id, "int-1");
        assert_eq!(e.candidate_id, "cand-1");
        assert_eq!(e.opportunity_id, "opp-1");
        assert_eq!(e.media.len(), 1);
        assert_eq!(e.media[0].url, "https://media.example/int-1.mp4");
        assert_eq!(e.triggered_at.as_deref(), Some("2023-11-14T22:13:20+00:00"));
        assert_eq!(e.payload_sha256, payload_sha256(&raw));
        assert_eq!(
            e.correlation_id,
            crate::event::correlation_id("generic", "int-1")
        );
    }

    #[test]
    fn media_list_with_questions() {
        let body = json!({"data": {"candidateId": "c", "opportunityId": "o", "interviewId": "i",
            "media": [{"url": "https://m.example/a.webm", "questionId": "q1", "questionText": "Why?"},
                      {"url": "http://m.example/b.webm", "questionId": "q2",
                       "expiresAt": "2030-01-01T00:00:00Z"}]}});
        let Verdict::Accept(e) = run(&body).unwrap() else {
            panic!()
        };
        assert_eq!(e.media.len(), 2);
        assert_eq!(e.media[0].question_id.as_deref(), Some("q1"));
        assert_eq!(e.media[0].question_text.as_deref(), Some("Why?"));
        assert_eq!(
            e.media[1].expires_at.as_deref(),
            Some("2030-01-01T00:00:00+00:00")
        );
    }

    #[test]
    fn bad_signatures_are_unauthorized() {
        let body = json!({"data": {}});
        let (raw, _) = signed(&body);
        assert!(matches!(
            parse(&raw, None, KEY, 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
        let wrong = signature::sign_body(&raw, b"other");
        assert!(matches!(
            parse(&raw, Some(&wrong), KEY, 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
        // Even a malformed body is 401 first when the signature is wrong.
        assert!(matches!(
            parse(b"not json", Some(&wrong), KEY, 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
    }

    #[test]
    fn malformed_reasons_are_precise() {
        let r = |data: Value| malformed_reason(run(&json!({ "data": data })));
        let full = |k: &str, v: Value| {
            let mut d = json!({"candidateId": "c", "opportunityId": "o", "interviewId": "i",
                "mediaUrl": "https://m.example/x.mp4"});
            d[k] = v;
            d
        };
        assert!(r(full("interviewId", json!(""))).contains("data.interviewId` must not be empty"));
        assert!(r(full("candidateId", json!(42))).contains("data.candidateId` must be a string"));
        assert!(r(full("mediaUrl", json!("ftp://x/y"))).contains("http(s)"));
        assert!(r(full("mediaUrl", json!("not a url"))).contains("not a valid URL"));
        let mut d = full("mediaUrl", Value::Null);
        d.as_object_mut().unwrap().remove("opportunityId");
        assert!(r(d).contains("data.opportunityId` is required"));
        assert!(r(full("mediaUrl", Value::Null)).contains("mediaUrl"));
        assert!(r(full("media", json!([{"questionId": "q"}])))
            .contains("data.media[0].url` is required"));
        assert!(malformed_reason(run(&json!({"nodata": 1}))).contains("`data` is required"));
        assert!(malformed_reason(run(&json!([1, 2]))).contains("JSON object"));
        let raw = b"{\"data\": ";
        let sig = signature::sign_body(raw, KEY);
        assert!(
            malformed_reason(parse(raw, Some(&sig), KEY, 300, now())).contains("not valid JSON")
        );
    }

    #[test]
    fn recording_links_in_an_email_body_are_the_media() {
        let body = json!({"data": {"candidateId": "c", "opportunityId": "o", "interviewId": "mail-1",
            "subject": "Interview recording",
            "emailBody": "Hi team, the recording is at https://acme.zoom.us/rec/share/Xy_12 and \
                          a backup at https://files.example/int/1.mp4. Thanks!"}});
        let Verdict::Accept(e) = run(&body).unwrap() else {
            panic!()
        };
        let urls: Vec<&str> = e.media.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://acme.zoom.us/rec/share/Xy_12",
                "https://files.example/int/1.mp4"
            ]
        );
        assert!(e.media.iter().all(|m| m.question_id.is_none()));
        assert_eq!(
            e.unknown_fields.get("subject"),
            Some(&json!("Interview recording"))
        );
        let none = json!({"data": {"candidateId": "c", "opportunityId": "o", "interviewId": "mail-2",
            "text": "no recording here, only https://linkedin.com/in/x"}});
        assert!(malformed_reason(run(&none)).contains("recording link"));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let data = json!({"candidateId": "c", "opportunityId": "o", "interviewId": "i",
            "mediaUrl": "https://m.example/x.mp4"});
        let old = json!({"timestamp": 1_700_000_100_000_i64 - 301_000, "data": data.clone()});
        assert!(matches!(run(&old), Err(SourceError::Stale { age_s: 301 })));
        let future = json!({"timestamp": 1_700_000_100_000_i64 + 120_000, "data": data.clone()});
        assert!(matches!(
            run(&future),
            Err(SourceError::Stale { age_s: -120 })
        ));
        let fine = json!({"timestamp": "1700000090000", "data": data});
        assert!(matches!(run(&fine), Ok(Verdict::Accept(_))));
    }

    #[test]
    fn a_delivery_without_a_signed_time_is_unauthorized() {
        let body = json!({"data": {"candidateId": "c", "opportunityId": "o", "interviewId": "i",
            "mediaUrl": "https://m.example/x.mp4"}});
        let (raw, sig) = signed(&body);
        assert!(matches!(
            parse(&raw, Some(&sig), KEY, 300, now()),
            Err(SourceError::Unauthorized(m)) if m.contains("timestamp")
        ));
    }

    #[test]
    fn ids_of_another_namespace_are_kept_in_the_generic_one() {
        let body = json!({"data": {"candidateId": "c", "opportunityId": "o",
            "interviewId": "willo:ptc_1", "mediaUrl": "https://m.example/x.mp4"}});
        let Verdict::Accept(e) = run(&body).unwrap() else {
            panic!()
        };
        assert_eq!(e.interview_id, "generic:willo:ptc_1");
    }

    #[test]
    fn other_events_are_ignored() {
        let body = json!({"event": "interviewStarted", "data": {}});
        assert!(matches!(run(&body), Ok(Verdict::Ignore { .. })));
    }
}
