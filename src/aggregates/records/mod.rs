//! The input records of the aggregates: what arrives on the score, rating,
//! decision, demographics and question topics (JSON, see
//! `schemas/aggregates/*.schema.json`), validated and normalised into the
//! compact, totally ordered records the differential dataflow carries.
//!
//! Every message has a `diff`: `1` (the default) inserts the record, `-1`
//! retracts an identical earlier one (a corrected score is a retraction of
//! the old message plus the new one; an erased candidate is a retraction of
//! each of their messages). Values are quantised on the way in, so that sums
//! are exact and retractions cancel exactly:
//! - AI scores (rubric scale 1–4), model confidence and transcription
//!   confidence (0–1) and sentiment (−1–1) are kept in hundredths;
//! - times become milliseconds since the epoch and the UTC week (Monday).
//!
//! ```
//! use panelflow::aggregates::records::{decode, InputRecord};
//! use panelflow_core::topics::Topic;
//! let json = br#"{"candidate_id":"c1","posting_id":"p1","reviewer_id":"r1",
//!                 "competency":"communication","rating":3,"source":"lever_feedback",
//!                 "rated_at":"2025-03-04T10:00:00Z"}"#;
//! let (record, diff) = decode(Topic::Ratings, json).unwrap();
//! assert_eq!(diff, 1);
//! let InputRecord::Rating(r) = record else { panic!() };
//! assert_eq!(r.rating, 3);
//! ```

mod decode;
mod eeo;
mod error;
mod float;
mod record;
mod sym;
mod validate;
mod week;

pub use decode::{decode, decode_json};
pub use eeo::{eeo_category, UNKNOWN_ANSWERS};
pub use error::RecordError;
pub use float::F64;
pub use record::{
    DecisionRecord, DemographicsRecord, InputRecord, QuestionRecord, RatingRecord, ScoreRecord,
    ScoreRow, SignalRow,
};
pub use sym::{IdHasher, IdMap, Sym};
pub use validate::{Validate, CENTI};
pub use week::{rfc3339, week_of, week_start};

#[cfg(test)]
mod tests;
