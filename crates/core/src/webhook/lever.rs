//! Lever's webhooks.
//!
//! Body (sample: `schemas/webhooks/lever.json`, schema:
//! `schemas/webhook_lever.schema.json`):
//!
//! ```json
//! { "triggeredAt": 1700000000000, "event": "candidateStageChange",
//!   "token": "…", "signature": "<hex>",
//!   "data": { "opportunityId": "…", "candidateId": "…", … } }
//! ```
//!
//! `signature` is the hex HMAC-SHA256, keyed by the webhook's signature token
//! (`PANELFLOW_LEVER_SECRET`), of `token + triggeredAt` — the decimal
//! milliseconds exactly as sent. Checks run in this order:
//!
//! 1. the body is one JSON object (else `Malformed`);
//! 2. `token`, `triggeredAt` and `signature` are present (else
//!    `Unauthorized`: there is nothing to verify) and of the right types (else
//!    `Malformed`), and the signature matches (else `Unauthorized`);
//! 3. `triggeredAt` is at most `max_age_s` old and at most
//!    [`FUTURE_SKEW_S`](super::generic::FUTURE_SKEW_S) ahead (else `Stale`:
//!    Lever's signature covers only the token and the time, so a replayed body
//!    is refused by its age);
//! 4. `event` is one of [`ACTED_ON`] (else `Ignore` → 204); a
//!    `candidateStageChange` triggers analysis only when it moves to one of
//!    the configured stages (`lever.trigger_stages`: stage ids, or names
//!    when the payload carries `toStageName`; none configured = every stage
//!    change), else `Ignore`;
//! 5. `data` holds `opportunityId` and `candidateId` (or `contactId`), and
//!    any media links are http(s) (else `Malformed`).
//!
//! Lever's signature covers the token and the time only, never `data`, so:
//!
//! - the receiver remembers every accepted `token` for the age window plus
//!   the skew ([`LeverSource`]'s [`replay_key`](WebhookSource::replay_key)),
//!   in a store every replica shares: a token is accepted once, whatever
//!   body comes with it the second time;
//! - the body's ids are **hints**: the receiver reads the opportunity from
//!   Lever's API and takes the candidate (the opportunity's `contact`) from
//!   there, refusing a delivery whose hints Lever contradicts (see
//!   `panelflow::ingest`); media links in the body are never used (checked
//!   for form, then dropped): the dataflow's context stage finds the
//!   recordings through Lever's API.
//!
//! The interview id is `lever:` + `data.interviewId` when the event carries
//! one, else `lever:<opportunityId>:<event>`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::generic::{
    check_fresh, json_type, media_items, optional_id, parse_object, payload_sha256, require_id,
    require_object, timestamp_ms, unauthorized,
};
use super::signature;
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::InterviewCompleted;

/// The source's name: its route `/webhooks/lever` and its secret
/// `PANELFLOW_LEVER_SECRET`.
pub const SOURCE: &str = "lever";

/// The Lever events panelflow acts on; any other well-signed event is
/// answered 204.
pub const ACTED_ON: [&str; 4] = [
    "interviewCreated",
    "interviewUpdated",
    "candidateStageChange",
    "applicationCreated",
];

/// Lever's webhooks, for the HTTP dispatcher.
#[derive(Debug, Clone, Default)]
pub struct LeverSource {
    /// Stage ids (or names) whose `candidateStageChange` triggers analysis;
    /// empty = every stage change.
    pub trigger_stages: Vec<String>,
}

impl LeverSource {
    /// The source for `[lever] trigger_stages` (blank entries dropped).
    ///
    /// ```
    /// let s = panelflow_core::webhook::lever::LeverSource::new(&[" st-1 ".into(), "".into()]);
    /// assert_eq!(s.trigger_stages, vec!["st-1".to_string()]);
    /// ```
    pub fn new(trigger_stages: &[String]) -> Self {
        Self {
            trigger_stages: trigger_stages
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

impl WebhookSource for LeverSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        parse_with_stages(
            req.body,
            secret,
            req.max_age_s,
            req.now,
            &self.trigger_stages,
        )
    }

    fn replay_key(&self, req: &WebhookRequest<'_>) -> super::ReplayKey {
        match parse_object(req.body)
            .ok()
            .and_then(|root| root.get("token").and_then(Value::as_str).map(str::to_owned))
        {
            Some(token) => super::ReplayKey {
                key: format!("{SOURCE}:token:{token}"),
                signed_time: true,
            },
            None => super::ReplayKey::body(SOURCE, req.body, true),
        }
    }
}

fn signed_field<'a>(
    root: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a Value, SourceError> {
    match root.get(field) {
        None | Some(Value::Null) => Err(SourceError::Unauthorized(format!(
            "missing `{field}`: cannot verify the webhook"
        ))),
        Some(v) => Ok(v),
    }
}

fn signed_str<'a>(
    root: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, SourceError> {
    match signed_field(root, field)? {
        Value::String(s) => Ok(s),
        other => Err(SourceError::Malformed(format!(
            "`{field}` must be a string, got {}",
            json_type(other)
        ))),
    }
}

/// Verifies, parses and normalizes a Lever webhook (see the module docs for
/// the order of checks); every stage change triggers analysis.
pub fn parse(
    body: &[u8],
    secret: &[u8],
    max_age_s: u64,
    now: DateTime<Utc>,
) -> Result<Verdict, SourceError> {
    parse_with_stages(body, secret, max_age_s, now, &[])
}

/// [`parse`], acting on `candidateStageChange` only into `trigger_stages`
/// (ids, or names when the payload names the stage; empty = any stage).
pub fn parse_with_stages(
    body: &[u8],
    secret: &[u8],
    max_age_s: u64,
    now: DateTime<Utc>,
    trigger_stages: &[String],
) -> Result<Verdict, SourceError> {
    let root = parse_object(body)?;

    let token = signed_str(&root, "token")?;
    let signature_hex = signed_str(&root, "signature")?;
    let (triggered_ms, triggered_text) =
        timestamp_ms(signed_field(&root, "triggeredAt")?, "triggeredAt")?;
    signature::verify_lever(token, &triggered_text, signature_hex, secret).map_err(unauthorized)?;

    let triggered_at = check_fresh(triggered_ms, max_age_s, now)?;

    let event_name = match root.get("event") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        None | Some(Value::Null) => {
            return Err(SourceError::Malformed("`event` is required".into()))
        }
        Some(Value::String(_)) => {
            return Err(SourceError::Malformed("`event` must not be empty".into()))
        }
        Some(other) => {
            return Err(SourceError::Malformed(format!(
                "`event` must be a string, got {}",
                json_type(other)
            )))
        }
    };
    if !ACTED_ON.contains(&event_name.as_str()) {
        return Ok(Verdict::Ignore {
            reason: format!("panelflow acts on Lever events {ACTED_ON:?} only"),
            event: event_name,
        });
    }

    let data = require_object(&root, "data", "")?;
    if event_name == "candidateStageChange" && !trigger_stages.is_empty() {
        let to_id = optional_id(data, "toStageId", "data.")?;
        let to_name = super::generic::optional_string(data, "toStageName", "data.")?;
        let hit = trigger_stages.iter().any(|t| {
            to_id.as_deref() == Some(t.as_str())
                || to_name
                    .as_deref()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(t))
        });
        if !hit {
            return Ok(Verdict::Ignore {
                reason: "the stage moved to is not one of `lever.trigger_stages`".into(),
                event: event_name,
            });
        }
    }
    let opportunity_id = require_id(data, "opportunityId", "data.")?;
    let candidate_id = match optional_id(data, "candidateId", "data.")? {
        Some(id) => id,
        None => optional_id(data, "contactId", "data.")?.ok_or_else(|| {
            SourceError::Malformed("`data.candidateId` (or `data.contactId`) is required".into())
        })?,
    };
    let interview_id = match optional_id(data, "interviewId", "data.")? {
        Some(id) => id,
        None => format!("{opportunity_id}:{event_name}"),
    };
    // Checked for form (a malformed body is still 400), never used: Lever
    // does not sign `data`, so recordings come from Lever's API.
    let _hinted_media = media_items(data, "data.")?;

    let mut event = InterviewCompleted::new(
        SOURCE,
        &interview_id,
        &candidate_id,
        &opportunity_id,
        Vec::new(),
    );
    event.unknown_fields = super::pii::unmapped(
        data,
        &[
            "opportunityId",
            "candidateId",
            "contactId",
            "interviewId",
            "mediaUrl",
            "recordingUrl",
            "media",
            "mediaExpiresAt",
        ],
    );
    event.source_event = Some(event_name);
    event.triggered_at = Some(triggered_at.to_rfc3339());
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    Ok(Verdict::Accept(event))
}

/// Builds a signed Lever webhook body (for tests, the demo and load
/// generators): `data` is placed as is.
///
/// ```
/// use panelflow_core::webhook::lever::{signed_body, parse};
/// use panelflow_core::webhook::Verdict;
/// let now = chrono::Utc::now();
/// let body = signed_body("candidateStageChange", now.timestamp_millis(), "tok", b"key",
///     serde_json::json!({"opportunityId": "opp-1", "candidateId": "cand-1"}));
/// let verdict = parse(body.as_bytes(), b"key", 300, now).unwrap();
/// assert!(matches!(verdict, Verdict::Accept(e) if e.interview_id == "lever:opp-1:candidateStageChange"));
/// ```
pub fn signed_body(
    event: &str,
    triggered_at_ms: i64,
    token: &str,
    key: &[u8],
    data: Value,
) -> String {
    let sig = signature::sign_lever(token, &triggered_at_ms.to_string(), key);
    serde_json::json!({
        "triggeredAt": triggered_at_ms,
        "event": event,
        "token": token,
        "signature": sig,
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const KEY: &[u8] = b"lever-signature-token";
    const NOW_MS: i64 = 1_700_000_100_000;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_millis_opt(NOW_MS).unwrap()
    }

    fn body(event: &str, at: i64, data: Value) -> String {
        signed_body(event, at, "tok-123", KEY, data)
    }

    fn malformed(r: Result<Verdict, SourceError>) -> String {
        match r {
            Err(SourceError::Malformed(reason)) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn stage_change_is_accepted_with_derived_id() {
        let b = body(
            "candidateStageChange",
            NOW_MS - 5_000,
            json!({"opportunityId": "opp-1", "candidateId": "cand-1", "toStageId": "s"}),
        );
        let Verdict::Accept(e) = parse(b.as_bytes(), KEY, 300, now()).unwrap() else {
            panic!()
        };
        assert_eq!(e.source, "lever");
        assert_eq!(e.interview_id, "lever:opp-1:candidateStageChange");
        assert_eq!(e.candidate_id, "cand-1");
        assert_eq!(e.opportunity_id, "opp-1");
        assert!(e.media.is_empty());
        assert_eq!(e.source_event.as_deref(), Some("candidateStageChange"));
        assert_eq!(e.triggered_at.as_deref(), Some("2023-11-14T22:14:55+00:00"));
        assert_eq!(e.payload_sha256, payload_sha256(b.as_bytes()));
    }

    #[test]
    fn interview_event_keeps_its_id_and_media() {
        let b = body(
            "interviewCreated",
            NOW_MS,
            json!({"opportunityId": "opp-1",
            "contactId": "cont-1", "interviewId": "int-9",
            "media": [{"url": "https://m.example/a.mp4", "questionId": "q1"}]}),
        );
        let Verdict::Accept(e) = parse(b.as_bytes(), KEY, 300, now()).unwrap() else {
            panic!()
        };
        assert_eq!(e.interview_id, "lever:int-9");
        assert_eq!(e.candidate_id, "cont-1");
        assert!(e.media.is_empty(), "media in an unsigned body are not used");
    }

    #[test]
    fn the_replay_key_is_the_token_whatever_the_body() {
        let source = LeverSource::default();
        let headers = http::HeaderMap::new();
        let key = |b: &str| {
            source.replay_key(&WebhookRequest {
                headers: &headers,
                body: b.as_bytes(),
                now: now(),
                max_age_s: 300,
                path_token: None,
            })
        };
        let a = body(
            "candidateStageChange",
            NOW_MS,
            json!({"opportunityId": "o1", "candidateId": "c"}),
        );
        let b = body(
            "candidateStageChange",
            NOW_MS,
            json!({"opportunityId": "o2", "candidateId": "c"}),
        );
        assert_ne!(a, b);
        assert_eq!(key(&a), key(&b));
        assert_eq!(key(&a).key, "lever:token:tok-123");
        assert!(key(&a).signed_time);
    }

    #[test]
    fn sample_payload_verifies_after_resigning() {
        // The sample carries a placeholder signature; re-sign it with "now".
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/webhooks/lever.json"
        ))
        .unwrap();
        let mut v: Value = serde_json::from_slice(&raw).unwrap();
        let token = v["token"].as_str().unwrap().to_string();
        v["triggeredAt"] = json!(NOW_MS);
        v["signature"] = json!(signature::sign_lever(&token, &NOW_MS.to_string(), KEY));
        let b = serde_json::to_vec(&v).unwrap();
        assert!(matches!(parse(&b, KEY, 300, now()), Ok(Verdict::Accept(_))));
    }

    #[test]
    fn bad_or_missing_signature_is_unauthorized() {
        let b = body(
            "candidateStageChange",
            NOW_MS,
            json!({"opportunityId": "o", "candidateId": "c"}),
        );
        assert!(matches!(
            parse(b.as_bytes(), b"wrong", 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
        let mut v: Value = serde_json::from_str(&b).unwrap();
        v["triggeredAt"] = json!(NOW_MS + 1);
        assert!(matches!(
            parse(v.to_string().as_bytes(), KEY, 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
        v.as_object_mut().unwrap().remove("signature");
        assert!(matches!(
            parse(v.to_string().as_bytes(), KEY, 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
        assert!(matches!(
            parse(b.as_bytes(), b"", 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
    }

    #[test]
    fn stale_and_future_are_refused_after_the_signature() {
        let data = json!({"opportunityId": "o", "candidateId": "c"});
        let old = body("candidateStageChange", NOW_MS - 301_000, data.clone());
        assert!(matches!(
            parse(old.as_bytes(), KEY, 300, now()),
            Err(SourceError::Stale { age_s: 301 })
        ));
        let future = body("candidateStageChange", NOW_MS + 61_000, data.clone());
        assert!(matches!(
            parse(future.as_bytes(), KEY, 300, now()),
            Err(SourceError::Stale { .. })
        ));
        // A stale body with a wrong signature is 401, not "stale".
        assert!(matches!(
            parse(old.as_bytes(), b"x", 300, now()),
            Err(SourceError::Unauthorized(_))
        ));
    }

    #[test]
    fn stage_changes_trigger_only_into_configured_stages() {
        let stages = vec![
            "video-done".to_string(),
            "Video interview complete".to_string(),
        ];
        let run = |data: Value| {
            parse_with_stages(
                body("candidateStageChange", NOW_MS, data).as_bytes(),
                KEY,
                300,
                now(),
                &stages,
            )
        };
        let into =
            |stage: &str| json!({"opportunityId": "o", "candidateId": "c", "toStageId": stage});
        assert!(matches!(run(into("video-done")), Ok(Verdict::Accept(_))));
        match run(into("offer")).unwrap() {
            Verdict::Ignore { event, reason } => {
                assert_eq!(event, "candidateStageChange");
                assert!(reason.contains("trigger_stages"));
            }
            other => panic!("{other:?}"),
        }
        let named = json!({"opportunityId": "o", "candidateId": "c", "toStageId": "x",
            "toStageName": "video interview complete"});
        assert!(matches!(run(named), Ok(Verdict::Accept(_))));
        // Other events are not filtered by stage; the data beyond ids is kept.
        let b = body(
            "interviewCreated",
            NOW_MS,
            json!({"opportunityId": "o", "candidateId": "c", "interviewId": "i", "panelId": "p"}),
        );
        let Verdict::Accept(e) = parse_with_stages(b.as_bytes(), KEY, 300, now(), &stages).unwrap()
        else {
            panic!()
        };
        assert_eq!(e.unknown_fields.get("panelId"), Some(&json!("p")));
        assert!(!e.unknown_fields.contains_key("opportunityId"));
    }

    #[test]
    fn other_events_are_ignored() {
        let b = body(
            "candidateArchiveChange",
            NOW_MS,
            json!({"opportunityId": "o"}),
        );
        match parse(b.as_bytes(), KEY, 300, now()).unwrap() {
            Verdict::Ignore { event, .. } => assert_eq!(event, "candidateArchiveChange"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_reasons() {
        let p = |data: Value| {
            malformed(parse(
                body("interviewUpdated", NOW_MS, data).as_bytes(),
                KEY,
                300,
                now(),
            ))
        };
        assert!(p(json!({"candidateId": "c"})).contains("`data.opportunityId` is required"));
        assert!(p(json!({"opportunityId": "o"})).contains("candidateId"));
        assert!(p(json!({"opportunityId": "", "candidateId": "c"})).contains("must not be empty"));
        assert!(p(json!({"opportunityId": 7, "candidateId": "c"})).contains("must be a string"));
        assert!(p(
            json!({"opportunityId": "o", "candidateId": "c", "mediaUrl": "file:///etc/passwd"})
        )
        .contains("http(s)"));
        assert!(p(json!("x")).contains("`data` must be an object"));
        assert!(malformed(parse(b"{", KEY, 300, now())).contains("not valid JSON"));
        let mut v: Value =
            serde_json::from_str(&body("interviewUpdated", NOW_MS, json!({}))).unwrap();
        v["triggeredAt"] = json!(1.5);
        assert!(malformed(parse(v.to_string().as_bytes(), KEY, 300, now())).contains("triggeredAt"));
    }
}
