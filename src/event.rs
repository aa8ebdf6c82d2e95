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
/// use panelflow::event::{InterviewCompleted, MediaItem};
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
    /// Stable id of the interview; the Kafka key and the idempotency key.
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
}

impl InterviewCompleted {
    /// Current schema version.
    pub const SCHEMA_VERSION: u32 = 1;

    /// Builds an event with a fresh receive time; the correlation id is
    /// derived from source and interview id so a redelivery keeps it.
    pub fn new(
        source: &str,
        interview_id: &str,
        candidate_id: &str,
        opportunity_id: &str,
        media: Vec<MediaItem>,
    ) -> Self {
        Self {
            schema_version: Self::SCHEMA_VERSION,
            source: source.to_string(),
            interview_id: interview_id.to_string(),
            candidate_id: candidate_id.to_string(),
            opportunity_id: opportunity_id.to_string(),
            media,
            source_event: None,
            triggered_at: None,
            received_at: chrono::Utc::now().to_rfc3339(),
            payload_sha256: String::new(),
            correlation_id: correlation_id(source, interview_id),
        }
    }

    /// The Kafka key and exchange key.
    pub fn key(&self) -> &str {
        &self.interview_id
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
    fn correlation_id_is_stable_per_interview() {
        assert_eq!(correlation_id("lever", "a"), correlation_id("lever", "a"));
        assert_ne!(correlation_id("lever", "a"), correlation_id("lever", "b"));
        assert_ne!(correlation_id("lever", "a"), correlation_id("willo", "a"));
    }

    #[test]
    fn round_trips_through_json() {
        let e = InterviewCompleted::new("generic", "i", "c", "o", vec![]);
        let back: InterviewCompleted =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
