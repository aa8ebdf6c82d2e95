//! Spark Hire's webhooks (`POST /webhooks/sparkhire`).
//!
//! Spark Hire POSTs the changed object to the URL registered for an event
//! (`POST /v1.0/webhooks {url, event}`; events `InterviewCreated`,
//! `InterviewAccepted`, `InterviewCompleted`, `InterviewDeleted`,
//! `InterviewExpired`, `InterviewRescheduled`, `InterviewReset`,
//! `InterviewRated`, `JobCreated`, `JobUpdated`, `JobDeleted`). panelflow
//! acts on `InterviewCompleted` and answers every other event 204. Sample:
//! `schemas/webhooks/sparkhire.json`, schema:
//! `schemas/webhook_sparkhire.schema.json`:
//!
//! ```json
//! { "event": "InterviewCompleted", "created_at": "2025-03-01T10:00:00Z",
//!   "data": { "uuid": "…", "type": "one_way", "status": "completed", "job_uuid": "…",
//!             "metadata": { "lever_opportunity_id": "…" },
//!             "questions": [ { "uuid": "…", "position": 1, "title": "…",
//!                              "response": { "video_url": "https://…", "video_url_expires_at": "…" } } ] } }
//! ```
//!
//! - The interview id is `sparkhire:<uuid>`; `source_ref` is the uuid
//!   (`GET /v1.0/interviews/{uuid}` returns the interview again).
//! - One media item per question answered, in `position` order, with the
//!   question's uuid and title; at least one is required.
//! - Lever ids: `data.metadata`, then `data`.
//! - `created_at` (the event's time), when present, is checked for freshness.
//! - Authentication: Spark Hire publishes no signature scheme; the shared
//!   secret `PANELFLOW_SPARKHIRE_SECRET` is checked as an
//!   `X-Panelflow-Signature` HMAC header or a secret path token
//!   `/webhooks/sparkhire/<secret>` (see [`provider`](super::provider)).

use serde_json::{Map, Value};

use super::generic::{parse_object, payload_sha256, require_id, require_object};
use super::http::{SourceError, Verdict, WebhookRequest, WebhookSource};
use super::provider::{
    answer_media, check_event_time, first_id, first_text, first_time, lever_ids, objects,
    optional_array, optional_object, questions_of, unmapped, verify_shared_secret,
};
use crate::event::{InterviewCompleted, MediaItem};

/// The source's name: its route and its secret `PANELFLOW_SPARKHIRE_SECRET`.
pub const SOURCE: &str = "sparkhire";

/// The Spark Hire event panelflow acts on.
pub const ACTED_ON: &str = "InterviewCompleted";

/// Spark Hire's webhooks, for the HTTP dispatcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct SparkHireSource;

impl WebhookSource for SparkHireSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        verify_shared_secret(req, secret)?;
        parse(req.body, req.max_age_s, req.now)
    }
}

/// Parses and normalizes an authenticated Spark Hire delivery.
pub fn parse(
    body: &[u8],
    max_age_s: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verdict, SourceError> {
    let root = parse_object(body)?;
    let event_name = require_id(&root, "event", "")?;
    if event_name != ACTED_ON {
        return Ok(Verdict::Ignore {
            reason: format!("panelflow acts on the Spark Hire event `{ACTED_ON}` only"),
            event: event_name,
        });
    }
    let triggered_at = check_event_time(&root, &["created_at"], max_age_s, now)?;
    let data = require_object(&root, "data", "")?;
    let uuid = require_id(data, "uuid", "data.")?;
    let mut places: Vec<(&Map<String, Value>, &str)> = Vec::new();
    if let Some(m) = optional_object(data, "metadata", "data.")? {
        places.push((m, "data.metadata."));
    }
    places.push((data, "data."));
    let (opportunity_id, candidate_id) = lever_ids(&places)?;
    let media = interview_media(data, "data.")?;
    if media.is_empty() {
        return Err(SourceError::Malformed(
            "`data.questions` holds no answered question (`response.video_url`)".into(),
        ));
    }
    let interview_id = format!("{SOURCE}:{uuid}");
    let mut event =
        InterviewCompleted::new(SOURCE, &interview_id, &candidate_id, &opportunity_id, media);
    event.questions = questions_of(&event.media);
    event.source_ref = Some(uuid);
    event.source_event = Some(event_name);
    event.triggered_at = triggered_at.map(|t| t.to_rfc3339());
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    event.unknown_fields = unmapped(data, &["uuid", "metadata", "questions"]);
    Ok(Verdict::Accept(event))
}

/// The answers of a Spark Hire interview object (`questions[].response`),
/// one media item each, in `position` order.
pub fn interview_media(
    interview: &Map<String, Value>,
    prefix: &str,
) -> Result<Vec<MediaItem>, SourceError> {
    let path = format!("{prefix}questions");
    let questions = optional_array(interview, "questions", prefix)?;
    let mut answered: Vec<(i64, MediaItem)> = Vec::new();
    for (i, (q, p)) in objects(questions, &path)?.into_iter().enumerate() {
        let position = q
            .get("position")
            .and_then(Value::as_i64)
            .unwrap_or(i as i64 + 1);
        let Some(response) = optional_object(q, "response", &p)? else {
            continue; // not answered
        };
        let rp = format!("{p}response.");
        let Some(url) = first_text(response, &["video_url", "url"], &rp)? else {
            continue;
        };
        let question_id = first_id(q, &["uuid", "id"], &p)?;
        let question_text = first_text(q, &["title", "question", "text"], &p)?;
        let expires = first_time(response, &["video_url_expires_at", "expires_at"], &rp)?;
        answered.push((
            position,
            answer_media(
                &url,
                &format!("{rp}video_url"),
                question_id,
                question_text,
                expires,
            )?,
        ));
    }
    answered.sort_by_key(|(p, _)| *p);
    Ok(answered.into_iter().map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn now() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 10, 1, 0).unwrap()
    }

    fn sample() -> Value {
        serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/schemas/webhooks/sparkhire.json"
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn run(v: &Value) -> Result<Verdict, SourceError> {
        parse(&serde_json::to_vec(v).unwrap(), 300, now())
    }

    fn reason(r: Result<Verdict, SourceError>) -> String {
        match r {
            Err(SourceError::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn sample_is_one_event_with_answers_in_position_order() {
        let Verdict::Accept(e) = run(&sample()).unwrap() else {
            panic!()
        };
        assert_eq!(e.source, "sparkhire");
        assert!(e.interview_id.starts_with("sparkhire:"));
        assert_eq!(e.media.len(), 3);
        let texts: Vec<_> = e
            .media
            .iter()
            .map(|m| m.question_text.clone().unwrap())
            .collect();
        assert!(texts[0].starts_with("Tell us"), "{texts:?}");
        assert_eq!(e.questions.len(), 3);
        assert!(e.unknown_fields.contains_key("job_uuid"));
    }

    #[test]
    fn other_events_are_ignored() {
        for name in ["InterviewCreated", "InterviewRated", "JobUpdated"] {
            let mut v = sample();
            v["event"] = json!(name);
            assert!(matches!(run(&v), Ok(Verdict::Ignore { event, .. }) if event == name));
        }
    }

    #[test]
    fn unanswered_questions_are_skipped() {
        let mut v = sample();
        v["data"]["questions"][1]["response"] = Value::Null;
        let Verdict::Accept(e) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(e.media.len(), 2);
    }

    #[test]
    fn malformed_reasons() {
        let mut v = sample();
        v["data"]["questions"] = json!([{"uuid": "q", "title": "t"}]);
        assert!(reason(run(&v)).contains("no answered question"));
        let mut v = sample();
        v["data"]["questions"][0]["response"]["video_url"] = json!(7);
        assert!(reason(run(&v)).contains("must be a string"));
        let mut v = sample();
        v["data"].as_object_mut().unwrap().remove("uuid");
        assert!(reason(run(&v)).contains("data.uuid"));
        let mut v = sample();
        v["data"]["metadata"] = json!({});
        assert!(reason(run(&v)).contains("Lever opportunity id"));
        assert!(reason(parse(b"{", 300, now())).contains("JSON"));
    }
}
