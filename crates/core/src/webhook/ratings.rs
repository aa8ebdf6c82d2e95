//! Human ratings carried by the interview platforms' webhooks — Spark Hire's
//! `InterviewRated` and Willo's `new_score` — normalised to the aggregates'
//! [`RatingMessage`]s (`schemas/aggregates/rating.schema.json`), which the
//! receiver publishes to `[kafka] ratings_topic` for the calibration
//! aggregates.
//!
//! Both platforms rate on five stars; the aggregates keep Lever's four-point
//! scorecard scale, so a rating `r` of `1..=scale` becomes
//! `round(1 + (r − 1) · 3 / (scale − 1))` (five stars: 1, 2, 3, 3, 4 — the
//! top and bottom of both scales meet). A rating outside `1..=scale` is a
//! malformed payload.
//!
//! A rating names its reviewer (the platform user who gave it); the payload
//! may hold one per reviewer (`ratings` / `scores`, each with its user) or a
//! single one with a `rated_by` / `scored_by` user. Where a platform sends a
//! rating without saying who gave it, the reviewer is `<source>:unattributed`
//! so the rating still counts towards the candidate's panel view but
//! forms no interviewer's calibration of its own.
//!
//! The posting is the Lever posting the platform's ATS integration stored
//! (`lever_posting_id`, `leverPostingId`, `posting_id`, `postingId` beside
//! the opportunity id), else
//! [`UNASSIGNED_POSTING`],
//! as for AI scores whose posting is unknown.

use serde_json::{Map, Value};

use super::generic::optional_id;
use super::provider::{first_id, first_text, first_time, objects, optional_object};
use super::SourceError;
use crate::wire::{RatingMessage, RATING_MAX, RATING_MIN, UNASSIGNED_POSTING};

/// Keys under which a platform may carry the Lever posting id.
pub const POSTING_KEYS: [&str; 4] = [
    "lever_posting_id",
    "leverPostingId",
    "posting_id",
    "postingId",
];

/// The stars of the platforms' rating scale.
pub const PLATFORM_SCALE: i64 = 5;

/// Maps a rating on `1..=scale` onto the rubric's `1..=4`.
///
/// ```
/// use panelflow_core::webhook::ratings::to_rubric_scale;
/// let five: Vec<_> = (1..=5).map(|r| to_rubric_scale(r as f64, 5).unwrap()).collect();
/// assert_eq!(five, vec![1, 2, 3, 3, 4]);
/// assert_eq!(to_rubric_scale(3.0, 4), Some(3));
/// assert_eq!(to_rubric_scale(0.0, 5), None);
/// assert_eq!(to_rubric_scale(6.0, 5), None);
/// ```
pub fn to_rubric_scale(rating: f64, scale: i64) -> Option<i64> {
    if !rating.is_finite() || scale < 2 || rating < 1.0 || rating > scale as f64 {
        return None;
    }
    let span = (RATING_MAX - RATING_MIN) as f64;
    let mapped = 1.0 + (rating - 1.0) * span / (scale - 1) as f64;
    // Half up, with a little slack for decimal ratings such as 2.5 stars.
    Some(((mapped + 1e-9).round() as i64).clamp(RATING_MIN, RATING_MAX))
}

/// Who and what a platform's rating is about.
#[derive(Debug, Clone)]
pub struct RatedInterview {
    /// `sparkhire`, `willo`.
    pub source: &'static str,
    /// The interview's id in panelflow (`<source>:<platform id>`).
    pub interview_id: String,
    /// Candidate id (the Lever contact, else the opportunity).
    pub candidate_id: String,
    /// The Lever posting, or [`UNASSIGNED_POSTING`].
    pub posting_id: String,
    /// The event's time, for ratings that carry none of their own.
    pub event_time: Option<String>,
}

impl RatedInterview {
    /// The interview a platform's rating is about: its posting looked up in
    /// `places` (object, path prefix; see [`RatedInterview::posting_in`]),
    /// the event's time kept for ratings that carry none.
    pub fn new(
        source: &'static str,
        interview_id: String,
        candidate_id: String,
        places: &[(&Map<String, Value>, &str)],
        event_time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Self, SourceError> {
        Ok(Self {
            source,
            interview_id,
            candidate_id,
            posting_id: Self::posting_in(places)?,
            event_time: event_time.map(|t| t.to_rfc3339()),
        })
    }

    /// The posting id found in `places` (object, path prefix), else
    /// [`UNASSIGNED_POSTING`].
    pub fn posting_in(places: &[(&Map<String, Value>, &str)]) -> Result<String, SourceError> {
        for (obj, prefix) in places {
            if let Some(p) = first_id(obj, &POSTING_KEYS, prefix)? {
                return Ok(p);
            }
        }
        Ok(UNASSIGNED_POSTING.to_string())
    }
}

/// Field names of one platform's rating objects.
#[derive(Debug, Clone, Copy)]
pub struct RatingFields {
    /// The list of per-reviewer ratings (`ratings`, `scores`).
    pub list: &'static str,
    /// The single rating (`rating`, `score`).
    pub single: &'static str,
    /// The single rating's reviewer (`rated_by`, `scored_by`).
    pub single_by: &'static str,
    /// The single rating's time.
    pub single_at: &'static [&'static str],
}

/// The reviewer of a rating object: a user object (`{uuid|key|id|email}`) or
/// an id under one of `keys`.
fn reviewer(
    obj: &Map<String, Value>,
    keys: &[&str],
    prefix: &str,
) -> Result<Option<String>, SourceError> {
    for k in keys {
        match obj.get(*k) {
            Some(Value::Object(user)) => {
                let path = format!("{prefix}{k}.");
                if let Some(id) = first_id(user, &["uuid", "key", "id", "email"], &path)? {
                    return Ok(Some(id));
                }
            }
            Some(_) => {
                if let Some(id) = optional_id(obj, k, prefix)? {
                    return Ok(Some(id));
                }
            }
            None => {}
        }
    }
    Ok(None)
}

fn number(obj: &Map<String, Value>, field: &str, prefix: &str) -> Result<Option<f64>, SourceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
            SourceError::Malformed(format!("`{prefix}{field}` must be a number, got {s:?}"))
        }),
        Some(other) => Err(SourceError::Malformed(format!(
            "`{prefix}{field}` must be a number, got {}",
            super::generic::json_type(other)
        ))),
    }
}

fn scaled(value: f64, path: &str) -> Result<i64, SourceError> {
    to_rubric_scale(value, PLATFORM_SCALE).ok_or_else(|| {
        SourceError::Malformed(format!(
            "`{path}` must be a rating from 1 to {PLATFORM_SCALE}, got {value}"
        ))
    })
}

/// The ratings in a platform's interview object `data` (at `prefix`): one
/// per entry of `fields.list`, else the single `fields.single` rating.
/// At least one rating is required.
pub fn ratings_of(
    data: &Map<String, Value>,
    prefix: &str,
    fields: RatingFields,
    about: &RatedInterview,
) -> Result<Vec<RatingMessage>, SourceError> {
    let message =
        |reviewer_id: String, competency: String, rating: i64, at: Option<String>| RatingMessage {
            diff: 1,
            reviewer_id,
            candidate_id: about.candidate_id.as_str().into(),
            posting_id: about.posting_id.as_str().into(),
            interview_id: Some(about.interview_id.as_str().into()),
            competency,
            rating,
            source: about.source.into(),
            rated_at: at
                .or_else(|| about.event_time.clone())
                .unwrap_or_else(|| chrono::Utc::now().to_rfc3339()),
        };
    let unattributed = || format!("{}:unattributed", about.source);
    let mut out = Vec::new();
    let list_path = format!("{prefix}{}", fields.list);
    let list = super::provider::optional_array(data, fields.list, prefix)?;
    for (item, path) in objects(list, &list_path)? {
        let value_field = ["rating", "score", "value"]
            .into_iter()
            .find(|f| item.get(*f).is_some_and(|v| !v.is_null()))
            .ok_or_else(|| {
                SourceError::Malformed(format!("`{path}rating` (or `score`) is required"))
            })?;
        let Some(value) = number(item, value_field, &path)? else {
            continue;
        };
        let rating = scaled(value, &format!("{path}{value_field}"))?;
        let who = reviewer(
            item,
            &[
                "user",
                "user_uuid",
                "user_key",
                "reviewer",
                "rated_by",
                "scored_by",
                "user_email",
            ],
            &path,
        )?
        .unwrap_or_else(unattributed);
        let competency = competency_of(item, &path)?;
        let at = first_time(
            item,
            &["rated_at", "scored_at", "created_at", "created"],
            &path,
        )?;
        out.push(message(who, competency, rating, at));
    }
    if out.is_empty() {
        if let Some(value) = number(data, fields.single, prefix)? {
            let rating = scaled(value, &format!("{prefix}{}", fields.single))?;
            let who = reviewer(data, &[fields.single_by], prefix)?.unwrap_or_else(unattributed);
            let at = first_time(data, fields.single_at, prefix)?;
            out.push(message(who, "overall".into(), rating, at));
        }
    }
    if out.is_empty() {
        return Err(SourceError::Malformed(format!(
            "no rating: `{list_path}` is empty and `{prefix}{}` is absent",
            fields.single
        )));
    }
    Ok(out)
}

/// The competency a rating object rates: its `criterion` / `competency`
/// (text or `{name|text}`), else its question's key, else `overall`.
fn competency_of(item: &Map<String, Value>, path: &str) -> Result<String, SourceError> {
    if let Some(c) = first_text(item, &["competency", "criterion"], path)? {
        return Ok(slug(&c));
    }
    for k in ["competency", "criterion"] {
        if let Some(obj) = optional_object(item, k, path)? {
            if let Some(c) = first_text(obj, &["key", "name", "text"], &format!("{path}{k}."))? {
                return Ok(slug(&c));
            }
        }
    }
    if let Some(q) = optional_object(item, "question", path)? {
        if let Some(key) = first_id(q, &["key", "uuid", "id"], &format!("{path}question."))? {
            return Ok(format!("question:{key}"));
        }
    }
    Ok("overall".into())
}

/// A competency name as an id: lower case, words joined by `_`
/// (`"Problem solving"` → `problem_solving`), as the rubric names them.
///
/// ```
/// assert_eq!(panelflow_core::webhook::ratings::slug(" Problem  Solving "), "problem_solving");
/// assert_eq!(panelflow_core::webhook::ratings::slug("Culture-add"), "culture_add");
/// ```
pub fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn about() -> RatedInterview {
        RatedInterview {
            source: "willo",
            interview_id: "willo:p1".into(),
            candidate_id: "c1".into(),
            posting_id: "post-1".into(),
            event_time: Some("2025-03-01T10:00:00+00:00".into()),
        }
    }

    const FIELDS: RatingFields = RatingFields {
        list: "scores",
        single: "score",
        single_by: "scored_by",
        single_at: &["scored_at"],
    };

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn one_message_per_reviewer_and_criterion() {
        let d = data(json!({"scores": [
            {"user": {"key": "usr_1"}, "score": 5, "criterion": "Communication", "created": "2025-03-02T09:00:00Z"},
            {"user_email": "b@example.com", "score": "2", "question": {"key": "q2"}},
        ]}));
        let r = ratings_of(&d, "data.", FIELDS, &about()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].reviewer_id.as_str(), "usr_1");
        assert_eq!(r[0].competency.as_str(), "communication");
        assert_eq!(r[0].rating, 4);
        assert_eq!(r[0].rated_at, "2025-03-02T09:00:00+00:00");
        assert_eq!(r[1].reviewer_id.as_str(), "b@example.com");
        assert_eq!(r[1].competency.as_str(), "question:q2");
        assert_eq!(r[1].rating, 2);
        assert_eq!(r[1].rated_at, "2025-03-01T10:00:00+00:00");
        for m in &r {
            assert!(m.check().is_ok());
            assert_eq!(m.interview_id.as_deref(), Some("willo:p1"));
        }
    }

    #[test]
    fn a_single_rating_without_reviewer_is_unattributed() {
        let d = data(json!({"score": 1}));
        let r = ratings_of(&d, "data.", FIELDS, &about()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].reviewer_id.as_str(), "willo:unattributed");
        assert_eq!(r[0].competency.as_str(), "overall");
        assert_eq!(r[0].rating, 1);
    }

    #[test]
    fn out_of_scale_or_missing_ratings_are_malformed() {
        for bad in [
            json!({"score": 9}),
            json!({"score": "lots"}),
            json!({}),
            json!({"scores": [{"user": "u"}]}),
            json!({"scores": "x"}),
        ] {
            let err = ratings_of(&data(bad.clone()), "data.", FIELDS, &about()).unwrap_err();
            assert!(matches!(err, SourceError::Malformed(_)), "{bad}: {err:?}");
        }
    }
}
