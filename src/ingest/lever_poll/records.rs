//! Deriving records from what Lever returns: ids, candidate and posting,
//! demographics, ratings.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use panelflow_core::time::rfc3339_ms as rfc3339;
use panelflow_core::webhook::ratings::slug;
use panelflow_core::wire::{DemographicsMessage, RATING_MAX, RATING_MIN, UNASSIGNED_POSTING};

pub(super) fn to_json<T: Serialize>(v: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(v)?)
}

/// An id given as a string or as an object with an `id`.
pub(super) fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The candidate (contact, else the opportunity) and posting (the first
/// application's) of an opportunity listed with `expand=applications`.
pub(super) fn candidate_and_posting(opp: &Value) -> (String, String) {
    let id = opp.get("id").and_then(Value::as_str).unwrap_or_default();
    let candidate = id_of(opp.get("contact")).unwrap_or_else(|| id.to_owned());
    let posting = opp
        .get("applications")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|a| id_of(a.get("posting")))
        .unwrap_or_else(|| UNASSIGNED_POSTING.to_owned());
    (candidate, posting)
}

pub(super) fn eeo_ids(answer: &Value, opp: &str) -> (String, String) {
    let candidate = id_of(answer.get("contactId"))
        .or_else(|| id_of(answer.get("contact")))
        .or_else(|| id_of(answer.get("candidateId")))
        .unwrap_or_else(|| opp.to_owned());
    let posting = id_of(answer.get("postingId"))
        .or_else(|| id_of(answer.get("posting")))
        .unwrap_or_else(|| UNASSIGNED_POSTING.to_owned());
    (candidate, posting)
}

pub(super) fn latest_per_opportunity(answers: &[Value]) -> Vec<&Value> {
    let mut latest: BTreeMap<&str, &Value> = BTreeMap::new();
    for a in answers {
        let Some(opp) = a.get("opportunityId").and_then(Value::as_str) else {
            continue;
        };
        let at = |v: &Value| v.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
        match latest.get(opp) {
            Some(prev) if at(prev) > at(a) => {}
            _ => {
                latest.insert(opp, a);
            }
        }
    }
    latest.into_values().collect()
}

pub(super) fn demographics(
    answer: &Value,
    (candidate, posting): &(String, String),
) -> DemographicsMessage {
    let text = |k: &str| {
        answer
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    DemographicsMessage {
        diff: 1,
        candidate_id: candidate.as_str().into(),
        posting_id: posting.as_str().into(),
        sex: text("gender"),
        race_ethnicity: text("race"),
        collected_at: rfc3339(answer.get("createdAt").and_then(Value::as_i64).unwrap_or(0)),
    }
}

/// The (competency, rating) pairs of one Lever feedback field.
///
/// ```
/// use panelflow::ingest::lever_poll::field_ratings;
/// let overall = serde_json::json!({"type": "score-system", "text": "Rating", "value": "4 - Strong Hire"});
/// assert_eq!(field_ratings(&overall), vec![("overall".to_string(), 4)]);
/// let card = serde_json::json!({"type": "scorecard", "text": "Skills",
///     "scores": [{"text": "Communication"}, {"text": "Problem solving"}],
///     "value": [{"score": 3}, {"score": 1}]});
/// assert_eq!(field_ratings(&card),
///            vec![("communication".to_string(), 3), ("problem_solving".to_string(), 1)]);
/// let note = serde_json::json!({"type": "textarea", "text": "Notes", "value": "great"});
/// assert!(field_ratings(&note).is_empty());
/// ```
pub fn field_ratings(field: &Value) -> Vec<(String, i64)> {
    let kind = field
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = field.get("value");
    match kind {
        "score-system" => value
            .and_then(lever_score)
            .map(|r| vec![("overall".to_owned(), r)])
            .unwrap_or_default(),
        "score" => {
            let name = field
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("overall");
            value
                .and_then(lever_score)
                .map(|r| vec![(slug(name), r)])
                .unwrap_or_default()
        }
        "scorecard" => {
            let names = field.get("scores").and_then(Value::as_array);
            let values = value.and_then(Value::as_array);
            names
                .into_iter()
                .flatten()
                .zip(values.into_iter().flatten())
                .filter_map(|(n, v)| {
                    let name = n.get("text").and_then(Value::as_str)?;
                    let score = v.get("score").and_then(lever_score)?;
                    Some((slug(name), score))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A Lever score: 1–4 as a number, a numeric string, `"4 - Strong Hire"`,
/// or the words alone.
pub(super) fn lever_score(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?.round() as i64,
        Value::String(s) => {
            let s = s.trim();
            let lead: String = s.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = lead.parse::<i64>() {
                n
            } else {
                match s.to_lowercase().as_str() {
                    "strong hire" | "strong yes" => 4,
                    "hire" | "yes" => 3,
                    "no hire" | "no" => 2,
                    "strong no hire" | "strong no" => 1,
                    _ => return None,
                }
            }
        }
        _ => return None,
    };
    (RATING_MIN..=RATING_MAX).contains(&n).then_some(n)
}
