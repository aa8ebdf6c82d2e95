//! Willo's webhooks (`POST /webhooks/willo`).
//!
//! Willo's Integration API V2 subscribes a target URL to one of the triggers
//! `new_response`, `stage_change`, `new_comment`, `new_score`
//! (`POST /webhooks/ {target_url, trigger}`); a `new_response` delivery
//! carries the participant — Willo's candidate — with their video
//! responses, one per answered question, as `GET /participants/{key}/`
//! returns it. Sample: `schemas/webhooks/willo.json`, schema:
//! `schemas/webhook_willo.schema.json`:
//!
//! ```json
//! { "trigger": "new_response", "timestamp": "2025-03-01T10:00:00Z",
//!   "data": { "key": "<participant key>", "interview": {"key": "…", "title": "…"},
//!             "metadata": { "lever_opportunity_id": "…", "lever_contact_id": "…" },
//!             "responses": [ { "question": {"key": "q1", "text": "…"},
//!                              "media_url": "https://…", "media_expires_at": "…" } ] } }
//! ```
//!
//! - `new_score` (a reviewer scored the participant) → human ratings for
//!   the calibration aggregates (see [`ratings`](super::ratings)):
//!   `data.scores[]` per reviewer `{user: {key|email}, score, criterion?,
//!   question?, created?}`, else `data.score` by `data.scored_by`.
//! - any other `trigger` → 204 (`Ignore`).
//! - The interview id is `willo:<participant key>` (stable across
//!   redeliveries); `source_ref` is the participant key, for reading the
//!   participant again when its signed media URLs expire.
//! - A response's question is `question` (an object `{key, text}` or the
//!   prompt text) with `question_key`; responses without `media_url` (text
//!   answers) are skipped; at least one video response is required.
//! - Lever ids: `data.metadata`, then `data` (see
//!   [`provider::lever_ids`](super::provider::lever_ids)).
//! - `timestamp`, when present, is checked for freshness like Lever's.
//! - Authentication: Willo publishes no signature scheme, so the shared
//!   secret `PANELFLOW_WILLO_SECRET` is checked as an `X-Panelflow-Signature`
//!   HMAC header or a secret path token `/webhooks/willo/<secret>` (see
//!   [`provider`](super::provider)).

use serde_json::{Map, Value};

use super::generic::{optional_id, parse_object, payload_sha256, require_id, require_object};
use super::pii::unmapped;
use super::provider::{
    answer_media, check_event_time, first_id, first_text, first_time, lever_ids, objects,
    optional_array, optional_object, questions_of, verify_shared_secret,
};
use super::ratings::{ratings_of, RatedInterview, RatingFields};
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::{InterviewCompleted, MediaItem};

/// The source's name: its route and its secret `PANELFLOW_WILLO_SECRET`.
pub const SOURCE: &str = "willo";

/// The Willo trigger panelflow analyses.
pub const ACTED_ON: &str = "new_response";

/// The Willo trigger whose scores feed the calibration aggregates.
pub const SCORED: &str = "new_score";

/// Where a `new_score` participant holds its reviewers' scores.
const SCORE_FIELDS: RatingFields = RatingFields {
    list: "scores",
    single: "score",
    single_by: "scored_by",
    single_at: &["scored_at"],
};

/// Willo's webhooks, for the HTTP dispatcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct WilloSource;

impl WebhookSource for WilloSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        verify_shared_secret(req, secret)?;
        parse(req.body, req.max_age_s, req.now)
    }
}

/// Parses and normalizes an authenticated Willo delivery.
pub fn parse(
    body: &[u8],
    max_age_s: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verdict, SourceError> {
    let root = parse_object(body)?;
    let trigger = require_id(&root, "trigger", "")?;
    if trigger != ACTED_ON && trigger != SCORED {
        return Ok(Verdict::Ignore {
            reason: format!(
                "panelflow acts on the Willo triggers `{ACTED_ON}` and `{SCORED}` only"
            ),
            event: trigger,
        });
    }
    let triggered_at = check_event_time(&root, &["timestamp"], max_age_s, now)?;
    let data = require_object(&root, "data", "")?;
    let key = require_id(data, "key", "data.")?;
    let mut places: Vec<(&Map<String, Value>, &str)> = Vec::new();
    if let Some(m) = optional_object(data, "metadata", "data.")? {
        places.push((m, "data.metadata."));
    }
    places.push((data, "data."));
    let (opportunity_id, candidate_id) = lever_ids(&places)?;
    if trigger == SCORED {
        let interview_id = format!("{SOURCE}:{key}");
        let about = RatedInterview::new(SOURCE, interview_id, candidate_id, &places, triggered_at)?;
        return Ok(Verdict::Ratings(ratings_of(
            data,
            "data.",
            SCORE_FIELDS,
            &about,
        )?));
    }
    let media = participant_media(data, "data.")?;
    if media.is_empty() {
        return Err(SourceError::Malformed(
            "`data.responses` holds no video response (`media_url`)".into(),
        ));
    }
    let interview_id = format!("{SOURCE}:{key}");
    let mut event =
        InterviewCompleted::new(SOURCE, &interview_id, &candidate_id, &opportunity_id, media);
    event.questions = questions_of(&event.media);
    event.source_ref = Some(key);
    event.source_event = Some(trigger);
    event.triggered_at = triggered_at.map(|t| t.to_rfc3339());
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    event.unknown_fields = unmapped(data, &["key", "metadata", "responses"]);
    if let Some(Value::Object(interview)) = data.get("interview") {
        if let Some(title) = interview.get("title") {
            event
                .unknown_fields
                .insert("interview_title".into(), title.clone());
        }
    }
    Ok(Verdict::Accept(event))
}

/// The video responses of a Willo participant object (`responses[]`), one
/// media item each, in the order given.
pub fn participant_media(
    participant: &Map<String, Value>,
    prefix: &str,
) -> Result<Vec<MediaItem>, SourceError> {
    let path = format!("{prefix}responses");
    let responses = optional_array(participant, "responses", prefix)?;
    let mut media = Vec::new();
    for (r, p) in objects(responses, &path)? {
        let Some(url) = first_text(r, &["media_url", "video_url"], &p)? else {
            continue; // a text answer, or a question skipped
        };
        let (question_id, question_text) = match r.get("question") {
            Some(Value::Object(q)) => (
                first_id(q, &["key", "id"], &format!("{p}question."))?,
                first_text(q, &["text", "title"], &format!("{p}question."))?,
            ),
            Some(Value::String(text)) => (None, Some(text.clone())),
            None | Some(Value::Null) => (None, None),
            Some(other) => {
                return Err(SourceError::Malformed(format!(
                    "`{p}question` must be an object or a string, got {}",
                    super::generic::json_type(other)
                )))
            }
        };
        let question_id = match question_id {
            Some(id) => Some(id),
            None => optional_id(r, "question_key", &p)?,
        };
        let expires = first_time(r, &["media_expires_at", "expires_at"], &p)?;
        media.push(answer_media(
            &url,
            &format!("{p}media_url"),
            question_id,
            question_text,
            expires,
        )?);
    }
    Ok(media)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::test_support::{self, now, reason};
    use serde_json::json;

    fn sample() -> Value {
        test_support::sample("willo")
    }

    fn run(v: &Value) -> Result<Verdict, SourceError> {
        parse(&serde_json::to_vec(v).unwrap(), 300, now())
    }

    #[test]
    fn sample_is_one_event_with_a_video_per_answer() {
        let Verdict::Accept(e) = run(&sample()).unwrap() else {
            panic!()
        };
        assert_eq!(e.source, "willo");
        assert!(e.interview_id.starts_with("willo:"));
        assert_eq!(e.media.len(), 3);
        assert!(e
            .media
            .iter()
            .all(|m| m.question_id.is_some() && m.question_text.is_some()));
        assert!(e.media[0].expires_at.is_some());
        assert_eq!(e.questions.len(), 3);
        assert_eq!(
            e.source_ref.as_deref(),
            e.interview_id.strip_prefix("willo:")
        );
        assert_ne!(e.opportunity_id, e.candidate_id);
        assert!(e.unknown_fields.contains_key("interview_title"));
        // The same delivery twice is the same interview.
        let Verdict::Accept(again) = run(&sample()).unwrap() else {
            panic!()
        };
        assert_eq!(
            (again.interview_id, again.correlation_id),
            (e.interview_id, e.correlation_id)
        );
    }

    #[test]
    fn new_score_becomes_ratings_of_the_same_interview() {
        let Verdict::Accept(e) = run(&sample()).unwrap() else {
            panic!()
        };
        let mut v = sample();
        v["trigger"] = json!("new_score");
        v["data"]["scores"] = json!([
            {"user": {"key": "usr_A"}, "score": 4, "criterion": "Empathy", "created": "2025-03-01T09:59:00Z"},
            {"user": {"email": "b@example.com"}, "score": 1, "question": {"key": "sup-q2"}},
        ]);
        let Verdict::Ratings(r) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(r.len(), 2);
        assert_eq!(
            (
                r[0].reviewer_id.as_str(),
                r[0].competency.as_str(),
                r[0].rating
            ),
            ("usr_A", "empathy", 3)
        );
        assert_eq!(
            (
                r[1].reviewer_id.as_str(),
                r[1].competency.as_str(),
                r[1].rating
            ),
            ("b@example.com", "question:sup-q2", 1)
        );
        for m in &r {
            assert_eq!(m.interview_id.as_deref(), Some(e.interview_id.as_str()));
            assert_eq!(m.candidate_id.as_str(), e.candidate_id);
            assert_eq!(m.posting_id.as_str(), "unassigned");
            assert!(m.check().is_ok());
        }
        v["data"]["scores"] = json!([{"user": {"key": "usr_A"}, "score": 0}]);
        assert!(matches!(run(&v), Err(SourceError::Malformed(_))));
    }

    #[test]
    fn other_triggers_are_ignored() {
        let mut v = sample();
        v["trigger"] = json!("stage_change");
        assert!(matches!(run(&v), Ok(Verdict::Ignore { event, .. }) if event == "stage_change"));
    }

    #[test]
    fn text_answers_are_skipped_and_plain_prompts_kept() {
        let mut v = sample();
        v["data"]["responses"] = json!([
            {"question": "Why us?", "media_url": "https://cdn.willo.example/a.mp4"},
            {"question": {"key": "q9", "text": "Salary?"}, "text_answer": "market rate"},
            {"question_key": "q3", "media_url": "https://cdn.willo.example/c.mp4"}
        ]);
        let Verdict::Accept(e) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(e.media.len(), 2);
        assert_eq!(e.media[0].question_text.as_deref(), Some("Why us?"));
        assert_eq!(e.media[1].question_id.as_deref(), Some("q3"));
    }

    #[test]
    fn malformed_reasons() {
        let mut v = sample();
        v["data"]["responses"] = json!([]);
        assert!(reason(run(&v)).contains("no video response"));
        let mut v = sample();
        v["data"].as_object_mut().unwrap().remove("metadata");
        assert!(reason(run(&v)).contains("Lever opportunity id"));
        let mut v = sample();
        v["data"]["responses"][0]["media_url"] = json!("javascript:alert(1)");
        assert!(reason(run(&v)).contains("http(s)") || reason(run(&v)).contains("URL"));
        let mut v = sample();
        v["data"]["responses"] = json!({"a": 1});
        assert!(reason(run(&v)).contains("must be an array"));
        let mut v = sample();
        v["data"]["key"] = json!("");
        assert!(reason(run(&v)).contains("data.key"));
        assert!(reason(parse(b"[]", 300, now())).contains("JSON object"));
        let mut v = sample();
        v.as_object_mut().unwrap().remove("trigger");
        assert!(reason(run(&v)).contains("trigger"));
    }

    #[test]
    fn stale_deliveries_are_refused() {
        let mut v = sample();
        v["timestamp"] = json!("2025-03-01T09:00:00Z");
        assert!(matches!(run(&v), Err(SourceError::Stale { .. })));
    }
}
