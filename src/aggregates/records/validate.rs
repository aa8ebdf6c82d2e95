//! Validation of the wire messages into their normalised records.

use panelflow_core::topics::Topic;
use panelflow_core::wire::{
    DecisionMessage, DemographicsMessage, QuestionMessage, RatingMessage, ScoreMessage,
};

use super::eeo::eeo_category;
use super::error::{invalid, RecordError};
use super::record::{
    DecisionRecord, DemographicsRecord, QuestionRecord, RatingRecord, ScoreRecord,
};
use super::sym::Sym;
use super::week::week_of;

/// Quantisation of every fractional value: hundredths.
pub const CENTI: f64 = 100.0;

/// A wire message the aggregates accept: validated and normalised into its
/// record, with its diff (`1` insert, `-1` retraction).
///
/// ```
/// use panelflow::aggregates::records::Validate;
/// let m: panelflow_core::wire::DecisionMessage = serde_json::from_str(r#"{"candidate_id":"c",
///     "posting_id":"p","decision":"advance","source":"lever","decided_at":"2025-01-01T00:00:00Z"}"#).unwrap();
/// let (record, diff) = m.validate().unwrap();
/// assert!(record.advance && diff == 1);
/// ```
pub trait Validate {
    /// The normalised record.
    type Record;
    /// Validates and normalises.
    fn validate(&self) -> Result<(Self::Record, isize), RecordError>;
}

/// A checked value in hundredths.
fn centi(value: f64) -> i32 {
    (value * CENTI).round() as i32
}

impl Validate for ScoreMessage {
    type Record = ScoreRecord;

    fn validate(&self) -> Result<(ScoreRecord, isize), RecordError> {
        let at_ms = self.check().map_err(|e| invalid(Topic::Scores, e))?;
        let mut competencies: Vec<(Sym, i32, Option<i32>)> = self
            .competencies
            .iter()
            .map(|c| {
                (
                    Sym::from(c.competency.as_str()),
                    centi(c.score),
                    c.confidence.map(centi),
                )
            })
            .collect();
        competencies.sort();
        let mut flags = self.flags.clone();
        flags.sort();
        Ok((
            ScoreRecord {
                interview: Sym::from(self.interview_id.as_str()),
                candidate: Sym::from(self.candidate_id.as_str()),
                posting: Sym::from(self.posting_id.as_str()),
                family: Sym::from(self.job_family.as_str()),
                model_name: Sym::from(self.model_name.as_str()),
                model: Sym::from(self.model_version.as_str()),
                at_ms,
                week: week_of(at_ms),
                sentiment: self.sentiment.map(centi),
                transcription_confidence: self.transcription_confidence.map(centi),
                flags: Sym::from(flags.join(",")),
                competencies,
            },
            self.diff as isize,
        ))
    }
}

impl Validate for RatingMessage {
    type Record = RatingRecord;

    fn validate(&self) -> Result<(RatingRecord, isize), RecordError> {
        let at_ms = self.check().map_err(|e| invalid(Topic::Ratings, e))?;
        Ok((
            RatingRecord {
                reviewer: Sym::from(self.reviewer_id.as_str()),
                candidate: Sym::from(self.candidate_id.as_str()),
                posting: Sym::from(self.posting_id.as_str()),
                competency: Sym::from(self.competency.as_str()),
                rating: self.rating as i8,
                interview: self.interview_id.as_deref().map(Sym::from),
                source: Sym::from(self.source.as_str()),
                at_ms,
            },
            self.diff as isize,
        ))
    }
}

impl Validate for DecisionMessage {
    type Record = DecisionRecord;

    fn validate(&self) -> Result<(DecisionRecord, isize), RecordError> {
        let at_ms = self.check().map_err(|e| invalid(Topic::Decisions, e))?;
        Ok((
            DecisionRecord {
                candidate: Sym::from(self.candidate_id.as_str()),
                posting: Sym::from(self.posting_id.as_str()),
                advance: self.is_advance(),
                stage: self.stage.as_deref().map(Sym::from),
                source: Sym::from(self.source.as_str()),
                at_ms,
            },
            self.diff as isize,
        ))
    }
}

impl Validate for DemographicsMessage {
    type Record = DemographicsRecord;

    fn validate(&self) -> Result<(DemographicsRecord, isize), RecordError> {
        let at_ms = self.check().map_err(|e| invalid(Topic::Demographics, e))?;
        Ok((
            DemographicsRecord {
                candidate: Sym::from(self.candidate_id.as_str()),
                posting: Sym::from(self.posting_id.as_str()),
                sex: eeo_category(self.sex.as_deref()),
                race: eeo_category(self.race_ethnicity.as_deref()),
                at_ms,
            },
            self.diff as isize,
        ))
    }
}

impl Validate for QuestionMessage {
    type Record = QuestionRecord;

    fn validate(&self) -> Result<(QuestionRecord, isize), RecordError> {
        let at_ms = self.check().map_err(|e| invalid(Topic::Questions, e))?;
        Ok((
            QuestionRecord {
                interview: Sym::from(self.interview_id.as_str()),
                candidate: Sym::from(self.candidate_id.as_str()),
                posting: Sym::from(self.posting_id.as_str()),
                interviewer: self.interviewer_id.as_deref().map(Sym::from),
                question: Sym::from(self.question_id.as_str()),
                canonical: self.canonical_text.clone(),
                asked: self.asked_text.clone(),
                at_ms,
            },
            self.diff as isize,
        ))
    }
}
