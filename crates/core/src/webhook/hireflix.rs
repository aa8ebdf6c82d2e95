//! Hireflix's webhooks (`POST /webhooks/hireflix`).
//!
//! Hireflix sends `interview.create`, `interview.finish`,
//! `interview.status-change`, `interview.delete` and
//! `interview.score-updated` as `{ event, data }`; panelflow acts on
//! `interview.finish` and answers the others 204. Sample:
//! `schemas/webhooks/hireflix.json`, schema:
//! `schemas/webhook_hireflix.schema.json`:
//!
//! ```json
//! { "event": "interview.finish",
//!   "data": { "id": "68ff…", "position": { "id": "…", "name": "…" }, "externalId": "<Lever opportunity id>",
//!             "candidate": { "name": "…", "email": "…" },
//!             "steps": [ { "id": "…", "title": "…", "answers": [ { "id": "…", "url": { "mp4": "https://…", "hls": "…" } } ] } ] } }
//! ```
//!
//! - Signature (Hireflix's own scheme): header `x-hireflix-signature` is the
//!   base64 HMAC-SHA256 of the raw body keyed by the webhook's secret key
//!   (`PANELFLOW_HIREFLIX_SECRET`), compared in constant time; missing or
//!   wrong → 401. Hireflix signs no timestamp, so a replayed delivery cannot
//!   be told by age: the receiver remembers its body hash for
//!   `[ingest] unsigned_replay_window_s`, erased interviews stay tombstoned,
//!   and within the dataflow it is the same interview id, written once.
//! - The interview id is `hireflix:<data.id>`; `source_ref` is `data.id`.
//! - One media item per answer of each step (`steps[].answers[]`), with the
//!   step's id and title as the question; the answer's `url` may be a string
//!   or `{mp4, hls}` (the MP4 is used: an HLS playlist is not a file).
//! - Lever ids: `data.externalId` (the ATS id Hireflix keeps) is the
//!   opportunity; then `data.metadata`, `data.candidate`, `data`.

use serde_json::{Map, Value};

use super::generic::{
    json_type, optional_id, parse_object, payload_sha256, require_id, require_object,
};
use super::pii::unmapped;
use super::provider::{
    answer_media, first_id, first_text, first_time, lever_ids, objects, optional_array,
    optional_object, questions_of, verify_base64_body_hmac,
};
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::{InterviewCompleted, MediaItem};

/// The source's name: its route and its secret `PANELFLOW_HIREFLIX_SECRET`.
pub const SOURCE: &str = "hireflix";

/// The header carrying Hireflix's signature.
pub const SIGNATURE_HEADER: &str = "x-hireflix-signature";

/// The Hireflix event panelflow acts on.
pub const ACTED_ON: &str = "interview.finish";

/// Hireflix's webhooks, for the HTTP dispatcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct HireflixSource;

impl WebhookSource for HireflixSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        let header = req.header(SIGNATURE_HEADER).ok_or_else(|| {
            SourceError::Unauthorized("missing x-hireflix-signature header".into())
        })?;
        verify_base64_body_hmac(req.body, header, secret)?;
        parse(req.body, req.now)
    }

    fn replay_key(&self, req: &WebhookRequest<'_>) -> super::ReplayKey {
        // Hireflix signs no time: its body hashes are kept for the longer window.
        super::ReplayKey::body(SOURCE, req.body, false)
    }
}

/// Parses and normalizes an authenticated Hireflix delivery.
pub fn parse(body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<Verdict, SourceError> {
    let root = parse_object(body)?;
    let event_name = require_id(&root, "event", "")?;
    if event_name != ACTED_ON {
        return Ok(Verdict::Ignore {
            reason: format!("panelflow acts on the Hireflix event `{ACTED_ON}` only"),
            event: event_name,
        });
    }
    let data = require_object(&root, "data", "")?;
    let id = require_id(data, "id", "data.")?;
    let mut external = Map::new();
    if let Some(ext) = optional_id(data, "externalId", "data.")? {
        external.insert("opportunityId".into(), Value::String(ext));
    }
    let metadata = optional_object(data, "metadata", "data.")?;
    let candidate = optional_object(data, "candidate", "data.")?;
    let mut places: Vec<(&Map<String, Value>, &str)> = vec![(&external, "data.externalId")];
    if let Some(m) = metadata {
        places.push((m, "data.metadata."));
    }
    if let Some(c) = candidate {
        places.push((c, "data.candidate."));
    }
    let (opportunity_id, candidate_id) = lever_ids(&places)?;
    let media = interview_media(data, "data.")?;
    if media.is_empty() {
        return Err(SourceError::Malformed(
            "`data.steps` holds no answer with a video (`answers[].url`)".into(),
        ));
    }
    let interview_id = format!("{SOURCE}:{id}");
    let mut event =
        InterviewCompleted::new(SOURCE, &interview_id, &candidate_id, &opportunity_id, media);
    event.questions = questions_of(&event.media);
    event.source_ref = Some(id);
    event.source_event = Some(event_name);
    event.triggered_at = first_time(data, &["finishedAt"], "data.")?;
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    event.unknown_fields = unmapped(data, &["id", "externalId", "metadata", "steps"]);
    Ok(Verdict::Accept(event))
}

/// The answers of a Hireflix interview object (`steps[].answers[]`), one
/// media item each, the step being the question.
pub fn interview_media(
    interview: &Map<String, Value>,
    prefix: &str,
) -> Result<Vec<MediaItem>, SourceError> {
    let path = format!("{prefix}steps");
    let mut media = Vec::new();
    for (step, sp) in objects(optional_array(interview, "steps", prefix)?, &path)? {
        let question_id = first_id(step, &["id"], &sp)?;
        let question_text = first_text(step, &["title", "question", "description"], &sp)?;
        let answers_path = format!("{sp}answers");
        for (answer, ap) in objects(optional_array(step, "answers", &sp)?, &answers_path)? {
            let url = match answer.get("url") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(u)) => {
                    first_text(u, &["mp4", "video", "original"], &format!("{ap}url."))?
                }
                Some(other) => {
                    return Err(SourceError::Malformed(format!(
                        "`{ap}url` must be a string or an object, got {}",
                        json_type(other)
                    )))
                }
            };
            let Some(url) = url else { continue };
            media.push(answer_media(
                &url,
                &format!("{ap}url"),
                question_id.clone(),
                question_text.clone(),
                first_time(answer, &["expiresAt", "urlExpiresAt"], &ap)?,
            )?);
        }
    }
    Ok(media)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::provider::sign_base64_body;
    use chrono::Utc;
    use http::{HeaderMap, HeaderValue};
    use serde_json::json;

    const KEY: &[u8] = b"hireflix-webhook-key";

    fn sample() -> Value {
        crate::webhook::test_support::sample("hireflix")
    }

    fn handle(body: &[u8], sig: Option<&str>) -> Result<Verdict, SourceError> {
        let mut headers = HeaderMap::new();
        if let Some(s) = sig {
            headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(s).unwrap());
        }
        let req = WebhookRequest {
            headers: &headers,
            body,
            now: Utc::now(),
            max_age_s: 300,
            path_token: None,
        };
        HireflixSource.handle(&req, KEY)
    }

    fn signed(v: &Value) -> Result<Verdict, SourceError> {
        let raw = serde_json::to_vec(v).unwrap();
        handle(&raw, Some(&sign_base64_body(&raw, KEY)))
    }

    #[test]
    fn sample_with_its_signature_is_one_event_with_an_answer_per_step() {
        let Verdict::Accept(e) = signed(&sample()).unwrap() else {
            panic!()
        };
        assert!(e.interview_id.starts_with("hireflix:"));
        assert_eq!(e.media.len(), 3);
        assert!(
            e.media.iter().all(|m| m.url.contains(".mp4")),
            "MP4 preferred to HLS"
        );
        assert_eq!(e.opportunity_id, sample()["data"]["externalId"]);
        assert_eq!(e.questions.len(), 3);
        assert!(e.triggered_at.is_some());
        // The candidate's name and e-mail do not travel on the event topic.
        let text = serde_json::to_string(&e).unwrap();
        for pii in ["name", "email"] {
            let v = sample()["data"]["candidate"][pii]
                .as_str()
                .unwrap()
                .to_string();
            assert!(!text.contains(&v), "{pii} {v} in {text}");
        }
    }

    #[test]
    fn the_signature_covers_the_raw_bytes() {
        let raw = serde_json::to_vec(&sample()).unwrap();
        let sig = sign_base64_body(&raw, KEY);
        let mut tampered = raw.clone();
        tampered.push(b' ');
        assert!(matches!(
            handle(&tampered, Some(&sig)),
            Err(SourceError::Unauthorized(_))
        ));
        assert!(matches!(
            handle(&raw, None),
            Err(SourceError::Unauthorized(_))
        ));
        assert!(matches!(
            handle(&raw, Some("bm90IGl0")),
            Err(SourceError::Unauthorized(_))
        ));
        // A well-signed body that is not JSON is malformed, not unauthorized.
        let junk = b"{not json";
        assert!(matches!(
            handle(junk, Some(&sign_base64_body(junk, KEY))),
            Err(SourceError::Malformed(_))
        ));
    }

    #[test]
    fn other_events_are_ignored_and_bad_ones_refused() {
        let mut v = sample();
        v["event"] = json!("interview.status-change");
        assert!(matches!(signed(&v), Ok(Verdict::Ignore { .. })));
        let mut v = sample();
        v["data"].as_object_mut().unwrap().remove("externalId");
        assert!(
            matches!(signed(&v), Err(SourceError::Malformed(m)) if m.contains("Lever opportunity id"))
        );
        let mut v = sample();
        v["data"]["steps"] = json!([{"id": "s", "answers": [{"url": 3}]}]);
        assert!(
            matches!(signed(&v), Err(SourceError::Malformed(m)) if m.contains("answers[0].url"))
        );
        let mut v = sample();
        v["data"]["steps"] = json!([{"id": "s", "answers": []}]);
        assert!(matches!(signed(&v), Err(SourceError::Malformed(m)) if m.contains("no answer")));
    }
}
