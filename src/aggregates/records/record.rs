//! The normalised records the differential dataflow carries.

use serde::{Deserialize, Serialize};

use super::sym::Sym;

// ---------------------------------------------------------------------------
// Normalised records.

/// A validated AI score message: values in hundredths, time in ms.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScoreRecord {
    /// Interview id.
    pub interview: Sym,
    /// Candidate id.
    pub candidate: Sym,
    /// Posting id.
    pub posting: Sym,
    /// Job family.
    pub family: Sym,
    /// Model name.
    pub model_name: Sym,
    /// Model version (the drift and bias scope).
    pub model: Sym,
    /// Scored at, ms since the epoch.
    pub at_ms: i64,
    /// Monday of the week scored, days since the epoch.
    pub week: i32,
    /// Sentiment in hundredths (−100–100).
    pub sentiment: Option<i32>,
    /// Transcription confidence in hundredths (0–100).
    pub transcription_confidence: Option<i32>,
    /// Flags, joined with `,`.
    pub flags: Sym,
    /// `(competency, score in hundredths (100–400), confidence in hundredths)`.
    pub competencies: Vec<(Sym, i32, Option<i32>)>,
}

/// One competency score: the unit the score aggregates count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScoreRow {
    /// Candidate id.
    pub candidate: Sym,
    /// Posting id.
    pub posting: Sym,
    /// Job family.
    pub family: Sym,
    /// Model version.
    pub model: Sym,
    /// Competency.
    pub competency: Sym,
    /// Monday of the week scored, days since the epoch.
    pub week: i32,
    /// Score in hundredths (100–400).
    pub centi: i32,
}

/// The interview-level signals of a score message, for drift.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SignalRow {
    /// Model version.
    pub model: Sym,
    /// Monday of the week scored, days since the epoch.
    pub week: i32,
    /// Sentiment in hundredths.
    pub sentiment: Option<i32>,
    /// Transcription confidence in hundredths.
    pub transcription_confidence: Option<i32>,
}

impl ScoreRecord {
    /// The competency score rows.
    pub fn rows(&self) -> impl Iterator<Item = ScoreRow> + '_ {
        self.competencies
            .iter()
            .map(move |(competency, centi, _)| ScoreRow {
                candidate: self.candidate.clone(),
                posting: self.posting.clone(),
                family: self.family.clone(),
                model: self.model.clone(),
                competency: competency.clone(),
                week: self.week,
                centi: *centi,
            })
    }

    /// The interview-level signals.
    pub fn signal(&self) -> SignalRow {
        SignalRow {
            model: self.model.clone(),
            week: self.week,
            sentiment: self.sentiment,
            transcription_confidence: self.transcription_confidence,
        }
    }
}

/// A validated rating.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RatingRecord {
    /// Reviewer id.
    pub reviewer: Sym,
    /// Candidate id.
    pub candidate: Sym,
    /// Posting id.
    pub posting: Sym,
    /// Competency.
    pub competency: Sym,
    /// Rating 1–4.
    pub rating: i8,
    /// Interview id, if any.
    pub interview: Option<Sym>,
    /// Source system.
    pub source: Sym,
    /// Rated at, ms since the epoch.
    pub at_ms: i64,
}

/// A validated decision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Candidate id.
    pub candidate: Sym,
    /// Posting id.
    pub posting: Sym,
    /// Whether the candidate was advanced (selected); otherwise archived.
    pub advance: bool,
    /// Stage or archive reason.
    pub stage: Option<Sym>,
    /// Source system.
    pub source: Sym,
    /// Decided at, ms since the epoch.
    pub at_ms: i64,
}

/// Validated demographics; `None` is unknown.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DemographicsRecord {
    /// Candidate id.
    pub candidate: Sym,
    /// Posting whose survey it came from.
    pub posting: Sym,
    /// Sex, normalised to lower case; `None` when unknown or declined.
    pub sex: Option<Sym>,
    /// Race/ethnicity, normalised to lower case; `None` when unknown or declined.
    pub race: Option<Sym>,
    /// Collected at, ms since the epoch.
    pub at_ms: i64,
}

/// A validated asked question.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QuestionRecord {
    /// Interview id.
    pub interview: Sym,
    /// Candidate id.
    pub candidate: Sym,
    /// Posting id.
    pub posting: Sym,
    /// Interviewer, when known.
    pub interviewer: Option<Sym>,
    /// Question id.
    pub question: Sym,
    /// Canonical text.
    pub canonical: String,
    /// As transcribed.
    pub asked: String,
    /// Asked at, ms since the epoch.
    pub at_ms: i64,
}

/// Any validated input record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InputRecord {
    /// AI scores of one interview.
    Score(ScoreRecord),
    /// A human rating.
    Rating(RatingRecord),
    /// A decision.
    Decision(DecisionRecord),
    /// Demographics.
    Demographics(DemographicsRecord),
    /// An asked question.
    Question(QuestionRecord),
}

impl InputRecord {
    /// The candidate the record is about.
    pub fn candidate(&self) -> &Sym {
        match self {
            InputRecord::Score(r) => &r.candidate,
            InputRecord::Rating(r) => &r.candidate,
            InputRecord::Decision(r) => &r.candidate,
            InputRecord::Demographics(r) => &r.candidate,
            InputRecord::Question(r) => &r.candidate,
        }
    }
}
