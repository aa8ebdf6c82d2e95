//! HireVue's webhooks (`POST /webhooks/hirevue`).
//!
//! HireVue notifies a subscribed URL when a candidate finishes an on-demand
//! interview (`interviewFinished`); every other event is answered 204.
//! Sample: `schemas/webhooks/hirevue.json`, schema:
//! `schemas/webhook_hirevue.schema.json`:
//!
//! ```json
//! { "event": "interviewFinished", "eventTime": "2025-03-01T10:00:00Z",
//!   "details": { "interviewId": "…", "positionId": "…",
//!                "externalIds": { "leverOpportunityId": "…", "leverContactId": "…" },
//!                "questions": [ { "id": "…", "text": "…", "order": 1 } ],
//!                "responses": [ { "questionId": "…", "videoUrl": "https://…", "videoUrlExpiresAt": "…" } ] } }
//! ```
//!
//! - The interview id is `hirevue:<interviewId>`; `source_ref` is the
//!   interview id.
//! - Media: one item per `responses[]` entry (its question text from
//!   `questions`), or `recordingUrl` as one recording. A delivery with no
//!   media at all is accepted when it names the interview: the context stage
//!   then reads the interview from HireVue's API (`[context.providers.hirevue]`).
//! - The platform's question list (`questions`, by `order`) becomes the
//!   event's `questions`, so a single recording is cut into answers by them.
//! - Lever ids: `details.externalIds`, `details.candidate`, then `details`
//!   (a candidate's `externalId` is taken as the opportunity id).
//! - `eventTime`, when present, is checked for freshness.
//! - Authentication: no signature scheme of HireVue's is published to us;
//!   the shared secret `PANELFLOW_HIREVUE_SECRET` is checked as an
//!   `X-Panelflow-Signature` HMAC header or a secret path token
//!   `/webhooks/hirevue/<secret>` (see [`provider`](super::provider)).

use serde_json::{Map, Value};

use super::generic::{
    media_url, optional_id, parse_object, payload_sha256, require_id, require_object,
};
use super::pii::unmapped;
use super::provider::{
    answer_media, check_event_time, first_id, first_text, first_time, lever_ids, objects,
    optional_array, optional_object, verify_shared_secret,
};
use super::{SourceError, Verdict, WebhookRequest, WebhookSource};
use crate::event::{InterviewCompleted, MediaItem, QuestionRef};

/// The source's name: its route and its secret `PANELFLOW_HIREVUE_SECRET`.
pub const SOURCE: &str = "hirevue";

/// The HireVue event panelflow acts on.
pub const ACTED_ON: &str = "interviewFinished";

/// HireVue's webhooks, for the HTTP dispatcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct HireVueSource;

impl WebhookSource for HireVueSource {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn handle(&self, req: &WebhookRequest<'_>, secret: &[u8]) -> Result<Verdict, SourceError> {
        verify_shared_secret(req, secret)?;
        parse(req.body, req.max_age_s, req.now)
    }
}

/// Parses and normalizes an authenticated HireVue delivery.
pub fn parse(
    body: &[u8],
    max_age_s: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verdict, SourceError> {
    let root = parse_object(body)?;
    let event_name = require_id(&root, "event", "")?;
    if event_name != ACTED_ON {
        return Ok(Verdict::Ignore {
            reason: format!("panelflow acts on the HireVue event `{ACTED_ON}` only"),
            event: event_name,
        });
    }
    let triggered_at = check_event_time(&root, &["eventTime"], max_age_s, now)?;
    let details = require_object(&root, "details", "")?;
    let interview = require_id(details, "interviewId", "details.")?;
    let candidate = optional_object(details, "candidate", "details.")?;
    // A candidate's `externalId` (the ATS id HireVue keeps) is the opportunity.
    let mut external = Map::new();
    if let Some(c) = candidate {
        if let Some(ext) = optional_id(c, "externalId", "details.candidate.")? {
            external.insert("opportunityId".into(), Value::String(ext));
        }
    }
    let mut places: Vec<(&Map<String, Value>, &str)> = Vec::new();
    if let Some(m) = optional_object(details, "externalIds", "details.")? {
        places.push((m, "details.externalIds."));
    }
    if let Some(c) = candidate {
        places.push((c, "details.candidate."));
    }
    places.push((&external, "details.candidate.externalId"));
    places.push((details, "details."));
    let (opportunity_id, candidate_id) = lever_ids(&places)?;
    let questions = question_list(details, "details.")?;
    let mut media = interview_media(details, "details.")?;
    for m in &mut media {
        if m.question_text.is_none() {
            m.question_text = m
                .question_id
                .as_ref()
                .and_then(|id| questions.iter().find(|q| &q.id == id))
                .and_then(|q| q.text.clone());
        }
    }
    let interview_id = format!("{SOURCE}:{interview}");
    let mut event =
        InterviewCompleted::new(SOURCE, &interview_id, &candidate_id, &opportunity_id, media);
    event.questions = questions;
    event.source_ref = Some(interview);
    event.source_event = Some(event_name);
    event.triggered_at = triggered_at.map(|t| t.to_rfc3339());
    event.received_at = now.to_rfc3339();
    event.payload_sha256 = payload_sha256(body);
    event.unknown_fields = unmapped(
        details,
        &[
            "interviewId",
            "externalIds",
            "questions",
            "responses",
            "recordingUrl",
            "candidate",
        ],
    );
    Ok(Verdict::Accept(event))
}

/// The question list of a HireVue interview object, by `order`.
pub fn question_list(
    obj: &Map<String, Value>,
    prefix: &str,
) -> Result<Vec<QuestionRef>, SourceError> {
    let path = format!("{prefix}questions");
    let mut out: Vec<(i64, QuestionRef)> = Vec::new();
    for (i, (q, p)) in objects(optional_array(obj, "questions", prefix)?, &path)?
        .into_iter()
        .enumerate()
    {
        let Some(id) = first_id(q, &["id", "questionId"], &p)? else {
            return Err(SourceError::Malformed(format!("`{p}id` is required")));
        };
        let order = q.get("order").and_then(Value::as_i64).unwrap_or(i as i64);
        out.push((
            order,
            QuestionRef {
                id,
                text: first_text(q, &["text", "title"], &p)?,
            },
        ));
    }
    out.sort_by_key(|(o, _)| *o);
    Ok(out.into_iter().map(|(_, q)| q).collect())
}

/// The media of a HireVue interview object: `responses[]` (one per answer)
/// or `recordingUrl` (one recording).
pub fn interview_media(
    obj: &Map<String, Value>,
    prefix: &str,
) -> Result<Vec<MediaItem>, SourceError> {
    let path = format!("{prefix}responses");
    let mut media = Vec::new();
    for (r, p) in objects(optional_array(obj, "responses", prefix)?, &path)? {
        let Some(url) = first_text(r, &["videoUrl", "mediaUrl"], &p)? else {
            continue;
        };
        media.push(answer_media(
            &url,
            &format!("{p}videoUrl"),
            first_id(r, &["questionId"], &p)?,
            first_text(r, &["questionText"], &p)?,
            first_time(r, &["videoUrlExpiresAt", "expiresAt"], &p)?,
        )?);
    }
    if media.is_empty() {
        if let Some(url) = first_text(obj, &["recordingUrl"], prefix)? {
            media.push(MediaItem {
                url: media_url(&url, &format!("{prefix}recordingUrl"))?,
                question_id: None,
                question_text: None,
                expires_at: first_time(obj, &["recordingUrlExpiresAt"], prefix)?,
            });
        }
    }
    Ok(media)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::test_support::{self, now, reason};
    use serde_json::json;

    fn sample() -> Value {
        test_support::sample("hirevue")
    }

    fn run(v: &Value) -> Result<Verdict, SourceError> {
        parse(&serde_json::to_vec(v).unwrap(), 300, now())
    }

    #[test]
    fn sample_is_one_event_with_question_texts_filled_in() {
        let Verdict::Accept(e) = run(&sample()).unwrap() else {
            panic!()
        };
        assert!(e.interview_id.starts_with("hirevue:"));
        assert_eq!(e.media.len(), 3);
        assert!(e.media.iter().all(|m| m.question_text.is_some()));
        assert_eq!(e.questions.len(), 3);
        assert!(e.unknown_fields.contains_key("positionId"));
    }

    #[test]
    fn a_single_recording_or_none_at_all() {
        let mut v = sample();
        v["details"]["responses"] = json!([]);
        v["details"]["recordingUrl"] = json!("https://media.hirevue.example/r/1.mp4");
        let Verdict::Accept(e) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(e.media.len(), 1);
        assert!(e.media[0].question_id.is_none());
        assert_eq!(e.questions.len(), 3, "questions asked out loud still known");
        v["details"].as_object_mut().unwrap().remove("recordingUrl");
        let Verdict::Accept(e) = run(&v).unwrap() else {
            panic!()
        };
        assert!(
            e.media.is_empty(),
            "the context stage reads the interview from HireVue"
        );
        assert!(e.source_ref.is_some());
    }

    #[test]
    fn external_id_of_the_candidate_is_the_opportunity() {
        let mut v = sample();
        v["details"].as_object_mut().unwrap().remove("externalIds");
        v["details"]["candidate"]["externalId"] = json!("opp-77");
        let Verdict::Accept(e) = run(&v).unwrap() else {
            panic!()
        };
        assert_eq!(e.opportunity_id, "opp-77");
    }

    #[test]
    fn other_events_and_malformed_ones() {
        let mut v = sample();
        v["event"] = json!("interviewStarted");
        assert!(matches!(run(&v), Ok(Verdict::Ignore { .. })));
        let mut v = sample();
        v["details"].as_object_mut().unwrap().remove("interviewId");
        assert!(reason(run(&v)).contains("details.interviewId"));
        let mut v = sample();
        v["details"]["questions"] = json!([{"text": "no id"}]);
        assert!(reason(run(&v)).contains("id` is required"));
        let mut v = sample();
        v["details"]["responses"][0]["videoUrl"] = json!("file:///x.mp4");
        assert!(reason(run(&v)).contains("http(s)"));
    }
}
