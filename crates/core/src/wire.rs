//! The messages of the aggregates' input topics (JSON, see
//! `schemas/aggregates/*.schema.json`) and the dead-letter record, as they
//! travel on Kafka: plain ids, times as RFC 3339 text. The aggregates
//! validate and intern them into their own compact records.
//!
//! Every message has a `diff`: `1` (the default) inserts the record, `-1`
//! retracts an identical earlier one.
//!
//! ```
//! use panelflow_core::wire::RatingMessage;
//! let m: RatingMessage = serde_json::from_str(r#"{"candidate_id":"c1","posting_id":"p1",
//!     "reviewer_id":"r1","competency":"communication","rating":3,"source":"lever_feedback",
//!     "rated_at":"2025-03-04T10:00:00Z"}"#).unwrap();
//! assert_eq!((m.diff, m.rating), (1, 3));
//! ```

use serde::{Deserialize, Serialize};

/// Lowest rubric score and human rating.
pub const RATING_MIN: i64 = 1;
/// Highest rubric score and human rating.
pub const RATING_MAX: i64 = 4;

fn default_diff() -> i64 {
    1
}

/// One competency's AI score inside a [`ScoreMessage`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompetencyScore {
    /// Competency name from the rubric.
    pub competency: String,
    /// Rubric score, 1–4 (quantised to 0.01).
    pub score: f64,
    /// The model's confidence in the score, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// The AI scores of one interview by one model version (`score.schema.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Interview id.
    pub interview_id: String,
    /// Candidate id.
    pub candidate_id: String,
    /// Posting (requisition) id.
    pub posting_id: String,
    /// Job family of the posting (Lever team / department).
    pub job_family: String,
    /// Name of the scoring model.
    pub model_name: String,
    /// Version of the scoring model (unique across names, e.g. `rubric@2.1`).
    pub model_version: String,
    /// When the interview was scored (RFC 3339).
    pub scored_at: String,
    /// Interview-level text sentiment, −1–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
    /// Interview-level transcription confidence, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_confidence: Option<f64>,
    /// Flags raised by the analysis (`low_confidence`, `short_answer`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Per-competency scores.
    pub competencies: Vec<CompetencyScore>,
}

/// Posting id of interviews whose posting the context stage did not find.
pub const UNASSIGNED_POSTING: &str = "unassigned";

/// A human rating (`rating.schema.json`): a Lever scorecard field, a Spark
/// Hire `InterviewRated` or a Willo `new_score`, per reviewer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RatingMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Reviewer or panelist id.
    pub reviewer_id: String,
    /// Candidate id.
    pub candidate_id: String,
    /// Posting id.
    pub posting_id: String,
    /// Interview id, when the rating is of one recorded interview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interview_id: Option<String>,
    /// Competency rated.
    pub competency: String,
    /// Rating, 1–4 (Lever's scorecard scale: strong no … strong yes).
    pub rating: i64,
    /// `lever_feedback`, `sparkhire`, `willo`, …
    pub source: String,
    /// When it was given (RFC 3339).
    pub rated_at: String,
}

/// A decision on a candidate for a posting (`decision.schema.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecisionMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Candidate id.
    pub candidate_id: String,
    /// Posting id.
    pub posting_id: String,
    /// `advance` (selected for the next step) or `archive`.
    pub decision: String,
    /// The stage moved to, or the archive reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// `lever`, `panelflow_triage`, …
    pub source: String,
    /// When it was made (RFC 3339).
    pub decided_at: String,
}

/// Self-reported demographics of a candidate (`demographics.schema.json`).
/// Kept apart from the analysis: only the aggregates read them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DemographicsMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Candidate id.
    pub candidate_id: String,
    /// The application (posting) whose EEO survey it came from.
    pub posting_id: String,
    /// Sex as self-reported; absent, empty or a decline means unknown.
    #[serde(default)]
    pub sex: Option<String>,
    /// Race/ethnicity as self-reported; absent, empty or a decline means unknown.
    #[serde(default)]
    pub race_ethnicity: Option<String>,
    /// When it was collected (RFC 3339).
    pub collected_at: String,
}

/// A question as asked in a recording (`question.schema.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuestionMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Interview id.
    pub interview_id: String,
    /// Candidate id.
    pub candidate_id: String,
    /// Posting id.
    pub posting_id: String,
    /// Who asked (interviewer id), when known.
    #[serde(default)]
    pub interviewer_id: Option<String>,
    /// Question id in the posting's question set.
    pub question_id: String,
    /// The question's canonical text.
    pub canonical_text: String,
    /// The question as transcribed from the recording.
    pub asked_text: String,
    /// When it was asked (RFC 3339).
    pub asked_at: String,
}

/// One dead-letter record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The interview's id (the Kafka key).
    pub interview_id: String,
    /// The interview's correlation id.
    pub correlation_id: String,
    /// The platform that reported it.
    pub source: String,
    /// The stage that failed (`context`, `media`, `speech`, ...).
    pub stage: crate::outcome::Stage,
    /// Why, in one line (`media_expired`, `not audio: ...`).
    pub reason: String,
    /// The event as it was consumed.
    pub event: serde_json::Value,
    /// When it failed (RFC 3339).
    pub failed_at: String,
}

impl DeadLetter {
    /// A record for `event` failing at `stage` now.
    pub fn new(
        event: &crate::event::InterviewCompleted,
        stage: crate::outcome::Stage,
        reason: &str,
    ) -> Self {
        Self {
            interview_id: event.interview_id.clone(),
            correlation_id: event.correlation_id.clone(),
            source: event.source.clone(),
            stage,
            reason: reason.to_string(),
            event: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
            failed_at: chrono::Utc::now().to_rfc3339(),
        }
    }
}

/// Why a message is not valid: the field, and what is wrong with it.
///
/// ```
/// use panelflow_core::wire::RatingMessage;
/// let m: RatingMessage = serde_json::from_str(r#"{"reviewer_id":"r","candidate_id":"c","posting_id":"p",
///     "competency":"x","rating":5,"source":"s","rated_at":"2025-01-01T00:00:00Z"}"#).unwrap();
/// let e = m.check().unwrap_err();
/// assert_eq!((e.field, e.to_string().as_str()), ("rating", "rating 5 is outside 1–4"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct Invalid {
    /// The field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_diff(diff: i64) -> Result<(), Invalid> {
    match diff {
        1 | -1 => Ok(()),
        _ => Err(invalid("diff", format!("{diff} is neither 1 nor -1"))),
    }
}

fn non_empty(field: &'static str, s: &str) -> Result<(), Invalid> {
    if s.trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    Ok(())
}

fn in_range(field: &'static str, value: f64, lo: f64, hi: f64) -> Result<(), Invalid> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(invalid(field, format!("{value} is outside {lo}–{hi}")));
    }
    Ok(())
}

/// An RFC 3339 time in ms since the epoch.
fn time_ms(field: &'static str, s: &str) -> Result<i64, Invalid> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| invalid(field, format!("{s:?} is not an RFC 3339 time: {e}")))
}

impl ScoreMessage {
    /// Checks the message (diff ±1, ids present, scores 1–4, confidences
    /// 0–1, sentiment −1–1) and returns `scored_at` in ms since the epoch.
    pub fn check(&self) -> Result<i64, Invalid> {
        check_diff(self.diff)?;
        for (f, v) in [
            ("interview_id", &self.interview_id),
            ("candidate_id", &self.candidate_id),
            ("posting_id", &self.posting_id),
            ("job_family", &self.job_family),
            ("model_version", &self.model_version),
        ] {
            non_empty(f, v)?;
        }
        let at = time_ms("scored_at", &self.scored_at)?;
        if self.competencies.is_empty() {
            return Err(invalid("competencies", "is empty"));
        }
        for c in &self.competencies {
            non_empty("competencies.competency", &c.competency)?;
            in_range(
                "competencies.score",
                c.score,
                RATING_MIN as f64,
                RATING_MAX as f64,
            )?;
            if let Some(v) = c.confidence {
                in_range("competencies.confidence", v, 0.0, 1.0)?;
            }
        }
        if let Some(v) = self.sentiment {
            in_range("sentiment", v, -1.0, 1.0)?;
        }
        if let Some(v) = self.transcription_confidence {
            in_range("transcription_confidence", v, 0.0, 1.0)?;
        }
        Ok(at)
    }
}

impl RatingMessage {
    /// Checks the message (diff ±1, ids present, rating 1–4) and returns
    /// `rated_at` in ms since the epoch.
    pub fn check(&self) -> Result<i64, Invalid> {
        check_diff(self.diff)?;
        for (f, v) in [
            ("reviewer_id", &self.reviewer_id),
            ("candidate_id", &self.candidate_id),
            ("posting_id", &self.posting_id),
            ("competency", &self.competency),
        ] {
            non_empty(f, v)?;
        }
        if !(RATING_MIN..=RATING_MAX).contains(&self.rating) {
            return Err(invalid("rating", format!("{} is outside 1–4", self.rating)));
        }
        time_ms("rated_at", &self.rated_at)
    }
}

impl DecisionMessage {
    /// Checks the message (diff ±1, ids present, `advance` or `archive`)
    /// and returns `decided_at` in ms since the epoch.
    pub fn check(&self) -> Result<i64, Invalid> {
        check_diff(self.diff)?;
        non_empty("candidate_id", &self.candidate_id)?;
        non_empty("posting_id", &self.posting_id)?;
        if !matches!(self.decision.as_str(), "advance" | "archive") {
            return Err(invalid(
                "decision",
                format!("{:?} is neither advance nor archive", self.decision),
            ));
        }
        time_ms("decided_at", &self.decided_at)
    }

    /// Whether it is an advance (selected for the next step); else an archive.
    pub fn is_advance(&self) -> bool {
        self.decision == "advance"
    }
}

impl DemographicsMessage {
    /// Checks the message (diff ±1, candidate present) and returns
    /// `collected_at` in ms since the epoch.
    pub fn check(&self) -> Result<i64, Invalid> {
        check_diff(self.diff)?;
        non_empty("candidate_id", &self.candidate_id)?;
        time_ms("collected_at", &self.collected_at)
    }
}

impl QuestionMessage {
    /// Checks the message (diff ±1, interview and question present) and
    /// returns `asked_at` in ms since the epoch.
    pub fn check(&self) -> Result<i64, Invalid> {
        check_diff(self.diff)?;
        non_empty("interview_id", &self.interview_id)?;
        non_empty("question_id", &self.question_id)?;
        time_ms("asked_at", &self.asked_at)
    }
}
