//! The normalized event every source produces: one `InterviewCompleted` per
//! finished interview, whatever platform it came from. Its JSON Schema is
//! `schemas/interview_completed.schema.json`; tests hold this type to it.

use serde::{Deserialize, Serialize};

/// One recorded piece of media: a whole interview, or one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaItem {
    /// Where the recording can be fetched (HTTP(S), possibly signed).
    pub url: String,
    /// The question this media answers, when the platform records per answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// The question's text, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_text: Option<String>,
    /// When a signed URL stops working (RFC 3339), when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A completed interview, normalized from any source.
///
/// ```
/// use panelflow_core::event::{InterviewCompleted, MediaItem};
/// let e = InterviewCompleted::new("generic", "int-1", "cand-1", "opp-1", vec![MediaItem {
///     url: "https://media.example/int-1.mp4".into(), question_id: None, question_text: None, expires_at: None }]);
/// assert_eq!(e.key(), "int-1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewCompleted {
    /// Schema version of this event.
    pub schema_version: u32,
    /// The platform that reported the interview (`lever`, `generic`, ...).
    pub source: String,
    /// Stable id of the interview, namespaced by its source (see
    /// [`namespaced_interview_id`]); the Kafka key and the idempotency key.
    pub interview_id: String,
    /// Lever candidate (contact) id.
    pub candidate_id: String,
    /// Lever opportunity id; notes are written here.
    pub opportunity_id: String,
    /// Recordings to analyse: one per answer, or one for the whole interview.
    pub media: Vec<MediaItem>,
    /// The platform's own event name (`candidateStageChange`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_event: Option<String>,
    /// When the platform says the event happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<String>,
    /// When panelflow accepted it (RFC 3339).
    pub received_at: String,
    /// Hex SHA-256 of the raw webhook body, for audit and de-duplication.
    pub payload_sha256: String,
    /// Follows the interview through logs, Parquet, notes and the audit trail.
    pub correlation_id: String,
    /// The interview's questions as the platform states them (in order), when
    /// its payload lists them; the context stage prefers these to the
    /// posting's and the job family's question sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionRef>,
    /// The platform's id of the resource to read again for fresh media URLs
    /// (a Willo participant key, a Spark Hire interview uuid, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// The data region the interview belongs to (the tenant's region, or the
    /// payload's `region`); an event whose region is not the deployment's is
    /// refused and dead-lettered, never processed. `None`: the deployment's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields of the platform's payload that the normalization does not map,
    /// kept as sent (`{}` when none).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub unknown_fields: serde_json::Map<String, serde_json::Value>,
}

/// A question of an interview, as a platform names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionRef {
    /// The platform's question id.
    pub id: String,
    /// The question's text, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl InterviewCompleted {
    /// Current schema version.
    pub const SCHEMA_VERSION: u32 = 1;

    /// Builds an event with a fresh receive time; the interview id is
    /// namespaced by its source ([`namespaced_interview_id`]) and the
    /// correlation id derived from both, so a redelivery keeps it.
    pub fn new(
        source: &str,
        interview_id: &str,
        candidate_id: &str,
        opportunity_id: &str,
        media: Vec<MediaItem>,
    ) -> Self {
        let interview_id = namespaced_interview_id(source, interview_id);
        Self {
            schema_version: Self::SCHEMA_VERSION,
            source: source.to_string(),
            correlation_id: correlation_id(source, &interview_id),
            interview_id,
            candidate_id: candidate_id.to_string(),
            opportunity_id: opportunity_id.to_string(),
            media,
            source_event: None,
            triggered_at: None,
            received_at: chrono::Utc::now().to_rfc3339(),
            payload_sha256: String::new(),
            questions: Vec::new(),
            source_ref: None,
            region: None,
            unknown_fields: serde_json::Map::new(),
        }
    }

    /// The Kafka key and exchange key.
    pub fn key(&self) -> &str {
        &self.interview_id
    }

    /// The interview's id as its source knows it (without the `<source>:`
    /// namespace), for asking the source about it.
    ///
    /// ```
    /// use panelflow_core::event::InterviewCompleted;
    /// let e = InterviewCompleted::new("lever", "int-9", "c", "o", vec![]);
    /// assert_eq!((e.interview_id.as_str(), e.source_id()), ("lever:int-9", "int-9"));
    /// let g = InterviewCompleted::new("generic", "x", "c", "o", vec![]);
    /// assert_eq!(g.source_id(), "x");
    /// ```
    pub fn source_id(&self) -> &str {
        self.interview_id
            .strip_prefix(self.source.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(&self.interview_id)
    }

    /// Puts the interview id in its source's namespace, for an event read
    /// from a producer that did not (any Kafka producer may write the topic).
    /// Returns whether the id changed.
    ///
    /// ```
    /// use panelflow_core::event::InterviewCompleted;
    /// let mut e = InterviewCompleted::new("generic", "x", "c", "o", vec![]);
    /// e.source = "willo".into();
    /// assert!(e.namespace_ids());
    /// assert_eq!(e.interview_id, "willo:x");
    /// assert!(!e.namespace_ids());
    /// ```
    pub fn namespace_ids(&mut self) -> bool {
        let namespaced = namespaced_interview_id(&self.source, &self.interview_id);
        let changed = namespaced != self.interview_id;
        self.interview_id = namespaced;
        changed
    }
}

/// The source whose ids are not prefixed: the generic webhook, whose ids
/// are whatever its sender chose (and the dataset's).
pub const UNPREFIXED_SOURCE: &str = "generic";

/// An interview id in its source's namespace, so that two sources can never
/// name the same interview (the duplicate key, erasure and export all follow
/// interview ids):
///
/// - every source but [`UNPREFIXED_SOURCE`] has ids `<source>:<id>`; an id
///   already so prefixed is kept;
/// - the generic source keeps ids without a `:` as they are, and prefixes
///   any id holding a `:` with `generic:` (unless it already starts so), so
///   a generic sender cannot name another source's interview
///   (`willo:<key>` becomes `generic:willo:<key>`).
///
/// Every `:`-bearing id therefore starts with its true source, and ids
/// without one belong to the generic source only.
///
/// ```
/// use panelflow_core::event::namespaced_interview_id as ns;
/// assert_eq!(ns("lever", "int-9"), "lever:int-9");
/// assert_eq!(ns("willo", "willo:ptc_1"), "willo:ptc_1");
/// assert_eq!(ns("generic", "support-02"), "support-02");
/// assert_eq!(ns("generic", "willo:ptc_1"), "generic:willo:ptc_1");
/// assert_eq!(ns("generic", "generic:a:b"), "generic:a:b");
/// ```
pub fn namespaced_interview_id(source: &str, interview_id: &str) -> String {
    let own_prefix = interview_id
        .strip_prefix(source)
        .is_some_and(|rest| rest.starts_with(':'));
    if own_prefix || (source == UNPREFIXED_SOURCE && !interview_id.contains(':')) {
        interview_id.to_string()
    } else {
        format!("{source}:{interview_id}")
    }
}

/// Deterministic correlation id: UUID v5 of `source/interview_id`, so the
/// same interview delivered twice carries the same id everywhere.
pub fn correlation_id(source: &str, interview_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("panelflow:{source}/{interview_id}").as_bytes(),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_numbers_read_back_bit_for_bit() {
        // Found by fuzzing: without serde_json's float_roundtrip the last
        // digit of such a number changed on the way through the topic.
        let mut e = InterviewCompleted::new("hirevue", "HV-1", "c", "o", vec![]);
        e.unknown_fields
            .insert("order".into(), serde_json::json!(2.6666666666666657e49));
        let back: InterviewCompleted =
            serde_json::from_slice(&serde_json::to_vec(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn correlation_id_is_stable_per_interview() {
        assert_eq!(correlation_id("lever", "a"), correlation_id("lever", "a"));
        assert_ne!(correlation_id("lever", "a"), correlation_id("lever", "b"));
        assert_ne!(correlation_id("lever", "a"), correlation_id("willo", "a"));
    }

    #[test]
    fn events_without_the_newer_fields_still_parse() {
        let old = r#"{"schema_version":1,"source":"generic","interview_id":"i","candidate_id":"c",
            "opportunity_id":"o","media":[],"received_at":"2024-01-01T00:00:00+00:00",
            "payload_sha256":"","correlation_id":"x"}"#;
        let e: InterviewCompleted = serde_json::from_str(old).unwrap();
        assert!(e.questions.is_empty() && e.source_ref.is_none() && e.unknown_fields.is_empty());
        // Empty newer fields are not written, so older readers see the same shape.
        let text = serde_json::to_string(&e).unwrap();
        assert!(!text.contains("questions") && !text.contains("unknown_fields"));
    }

    #[test]
    fn namespaces_never_overlap() {
        let sources = [
            "generic",
            "lever",
            "willo",
            "sparkhire",
            "hirevue",
            "hireflix",
        ];
        let raw = [
            "x",
            "willo:x",
            "lever:x",
            "generic:x",
            "a:b",
            "generic:willo:x",
        ];
        let mut seen = std::collections::HashMap::new();
        for s in sources {
            for r in raw {
                let id = namespaced_interview_id(s, r);
                // Idempotent: a namespaced id stays as it is.
                assert_eq!(namespaced_interview_id(s, &id), id);
                if let Some(other) = seen.insert(id.clone(), s) {
                    assert_eq!(other, s, "{id} claimed by {other} and {s}");
                }
            }
        }
    }

    #[test]
    fn round_trips_through_json() {
        let e = InterviewCompleted::new("generic", "i", "c", "o", vec![]);
        let back: InterviewCompleted =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
