//! Spark Hire's webhooks (`POST /webhooks/sparkhire`).
//!
//! Spark Hire POSTs the changed object to the URL registered for an event
//! (`POST /v1.0/webhooks {url, event}`; events `InterviewCreated`,
//! `InterviewAccepted`, `InterviewCompleted`, `InterviewDeleted`,
//! `InterviewExpired`, `InterviewRescheduled`, `InterviewReset`,
//! `InterviewRated`, `JobCreated`, `JobUpdated`, `JobDeleted`). panelflow
//! acts on `InterviewCompleted` (the interview to analyse) and
//! `InterviewRated` (the evaluators' star ratings, published as human
//! ratings for the calibration aggregates, see [`ratings`](super::ratings):
//! `data.ratings[]` per evaluator `{user_uuid|user, rating, created_at}`,
//! else `data.rating` by `data.rated_by`), and answers every other event
//! 204. Sample:
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
use super::pii::unmapped;
use super::provider::{
    answer_media, check_event_time, first_id, first_text, first_time, lever_ids, objects,
    optional_array, optional_object, questions_of, verify_shared_secret,
};
use super::ratings::{ratings_of, RatedInterview, RatingFields};
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::{InterviewCompleted, MediaItem};

/// The source's name: its route and its secret `PANELFLOW_SPARKHIRE_SECRET`.
pub const SOURCE: &str = "sparkhire";

/// The Spark Hire event panelflow analyses.
pub const ACTED_ON: &str = "InterviewCompleted";

/// The Spark Hire event whose ratings feed the calibration aggregates.
pub const RATED: &str = "InterviewRated";

/// Where an `InterviewRated` interview holds its evaluators' ratings.
const RATING_FIELDS: RatingFields = RatingFields {
    list: "ratings",
    single: "rating",
    single_by: "rated_by",
    single_at: &["rated_at", "updated_at"],
};

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
    if event_name != ACTED_ON && event_name != RATED {
        return Ok(Verdict::Ignore {
            reason: format!(
                "panelflow acts on the Spark Hire events `{ACTED_ON}` and `{RATED}` only"
            ),
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
    let interview_id = format!("{SOURCE}:{uuid}");
    if event_name == RATED {
        let about = RatedInterview::new(SOURCE, interview_id, candidate_id, &places, triggered_at)?;
        return Ok(Verdict::Ratings(ratings_of(
            data,
            "data.",
            RATING_FIELDS,
            &about,
        )?));
    }
    let media = interview_media(data, "data.")?;
    if media.is_empty() {
        return Err(SourceError::Malformed(
            "`data.questions` holds no answered question (`response.video_url`)".into(),
        ));
    }
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
    use crate::webhook::test_support::{self, now, reason};
    use serde_json::json;

    fn sample() -> Value {
        test_support::sample("sparkhire")
    }

    fn run(v: &Value) -> Result<Verdict, SourceError> {
        parse(&serde_json::to_vec(v).unwrap(), 300, now())
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
    fn interview_rated_becomes_one_rating_per_evaluator() {
        let mut v = sample();
        v["event"] = json!("InterviewRated");
        v["data"]["metadata"]["lever_posting_id"] = json!("post-9");
        v["data"]["ratings"] = json!([
            {"user_uuid": "ev-1", "rating": 5, "created_at": "2025-03-01T09:30:00Z"},
            {"user": {"uuid": "ev-2", "email": "e2@example.com"}, "rating": 2},
        ]);
        let Verdict::Ratings(r) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].reviewer_id.as_str(), "ev-1");
        assert_eq!(r[0].rating, 4);
        assert_eq!(r[1].reviewer_id.as_str(), "ev-2");
        assert_eq!(r[1].rating, 2);
        for m in &r {
            assert_eq!(m.source.as_str(), "sparkhire");
            assert_eq!(m.posting_id.as_str(), "post-9");
            assert_eq!(
                m.candidate_id.as_str(),
                "267fe680-1f20-5aa8-98db-74c734fba18b"
            );
            assert_eq!(m.competency.as_str(), "overall");
            assert!(m.interview_id.as_ref().unwrap().starts_with("sparkhire:"));
            assert!(m.check().is_ok());
        }
        // The interview's own `rating` by `rated_by` when no list is sent.
        v["data"]["ratings"] = json!([]);
        v["data"]["rating"] = json!(3);
        v["data"]["rated_by"] = json!({"uuid": "ev-3"});
        let Verdict::Ratings(r) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.len(), r[0].reviewer_id.as_str(), r[0].rating),
            (1, "ev-3", 3)
        );
        // A rating off the five-star scale is refused.
        v["data"]["rating"] = json!(7);
        assert!(reason(run(&v)).contains("from 1 to 5"));
    }

    #[test]
    fn other_events_are_ignored() {
        for name in ["InterviewCreated", "InterviewExpired", "JobUpdated"] {
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
