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

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use panelflow_core::topics::Topic;
use panelflow_core::wire::{
    DecisionMessage, DemographicsMessage, Invalid, QuestionMessage, RatingMessage, ScoreMessage,
};

/// Quantisation of every fractional value: hundredths.
pub const CENTI: f64 = 100.0;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

// ---------------------------------------------------------------------------
// Sym: an interned string, eight bytes.

type Registry = std::sync::RwLock<std::collections::HashMap<u64, &'static str>>;

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn sym_hash(s: &str) -> u64 {
    // SipHash-1-3 with fixed keys: the same string has the same id in every
    // thread and process of a build, so ids exchange between timely workers.
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// An identifier or label (candidate, posting, model version, category, …)
/// interned as a 64-bit hash of the string: eight bytes to copy, compare and
/// hash, which is what the arrangements do most. The string is kept in a
/// process-wide registry (never freed: ids are few next to the records that
/// repeat them) and sent as the string when records cross processes.
///
/// Equality is the string's (up to a 64-bit hash collision, which is logged);
/// the *order* is the ids' — arbitrary but the same everywhere — so code that
/// shows things in name order sorts by [`Sym::as_str`].
///
/// ```
/// use panelflow::aggregates::records::Sym;
/// let a = Sym::from("cand-0001");
/// let b = Sym::from(String::from("cand-0001"));
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "cand-0001");
/// assert_ne!(a, Sym::from("cand-0002"));
/// assert_eq!(serde_json::to_string(&a).unwrap(), "\"cand-0001\"");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sym(u64);

/// Hashes [`Sym`] ids (already well-mixed 64-bit hashes) with one
/// multiply-rotate per word (FxHash's step) instead of SipHash: the group
/// operators look a key up per update.
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use panelflow::aggregates::records::{IdHasher, Sym};
/// let hash = |s: &Sym| { let mut h = IdHasher::default(); s.hash(&mut h); h.finish() };
/// assert_eq!(hash(&Sym::from("a")), hash(&Sym::from("a")));
/// assert_ne!(hash(&Sym::from("a")), hash(&Sym::from("b")));
/// ```
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Sym`; folds other keys' bytes in, FxHash-style.
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A `HashMap` keyed by ids ([`Sym`]s, or tuples of them) hashed cheaply
/// with [`IdHasher`].
///
/// ```
/// use panelflow::aggregates::records::{IdMap, Sym};
/// let key: (Sym, Sym) = ("p".into(), "c".into());
/// let mut m: IdMap<(Sym, Sym), i64> = IdMap::default();
/// *m.entry(key.clone()).or_default() += 2;
/// assert_eq!(m[&key], 2);
/// ```
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

thread_local! {
    /// This thread's copy of the registry entries it has looked up: the
    /// shared registry's lock is taken once per id and thread, not per look-up.
    static LOCAL: std::cell::RefCell<IdMap<u64, &'static str>> = Default::default();
}

impl Sym {
    /// The string.
    pub fn as_str(&self) -> &'static str {
        LOCAL.with(|local| {
            if let Some(s) = local.borrow().get(&self.0) {
                return *s;
            }
            let found = {
                let map = registry().read().unwrap_or_else(|p| p.into_inner());
                map.get(&self.0).copied()
            };
            match found {
                Some(s) => {
                    local.borrow_mut().insert(self.0, s);
                    s
                }
                None => "",
            }
        })
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Self {
        let id = sym_hash(s);
        {
            let map = registry().read().unwrap_or_else(|p| p.into_inner());
            if let Some(known) = map.get(&id) {
                if *known != s {
                    tracing::error!(
                        a = *known,
                        b = s,
                        "64-bit id collision between two identifiers"
                    );
                }
                return Sym(id);
            }
        }
        let mut map = registry().write().unwrap_or_else(|p| p.into_inner());
        map.entry(id)
            .or_insert_with(|| Box::leak(s.to_string().into_boxed_str()));
        Sym(id)
    }
}

impl From<String> for Sym {
    fn from(s: String) -> Self {
        Sym::from(s.as_str())
    }
}

impl Default for Sym {
    fn default() -> Self {
        Sym::from("")
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0)
    }
}
impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Sym::from(s.as_ref()))
    }
}

// ---------------------------------------------------------------------------
// F64: a totally ordered float for output rows.

/// An `f64` with a total order (`f64::total_cmp`), so rows holding figures
/// can live in differential collections. Equality is bitwise.
///
/// ```
/// use panelflow::aggregates::records::F64;
/// assert!(F64(0.5) < F64(0.75));
/// assert_eq!(F64(1.0), F64(1.0));
/// ```
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for F64 {}
impl PartialOrd for F64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for F64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Hash for F64 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

// ---------------------------------------------------------------------------
// Topics and errors.

/// Why a message was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON of the expected shape.
    #[error("{topic:?} message is not valid: {source}")]
    Json {
        /// The topic.
        topic: Topic,
        /// The parser's reason.
        #[source]
        source: serde_json::Error,
    },
    /// A field is out of range or empty.
    #[error("{topic:?} message: {field} {reason}")]
    Field {
        /// The topic.
        topic: Topic,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(topic: Topic, e: Invalid) -> RecordError {
    RecordError::Field {
        topic,
        field: e.field,
        reason: e.reason,
    }
}

// ---------------------------------------------------------------------------
// JSON messages.

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

// ---------------------------------------------------------------------------
// Validation.

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

/// Monday (UTC) of the week holding `ms`, in days since the epoch.
///
/// ```
/// use panelflow::aggregates::records::{week_of, week_start};
/// // 2025-03-06 is a Thursday; its week starts on Monday 2025-03-03.
/// let ms = chrono::DateTime::parse_from_rfc3339("2025-03-06T12:00:00Z").unwrap().timestamp_millis();
/// assert_eq!(week_start(week_of(ms)), "2025-03-03");
/// ```
pub fn week_of(ms: i64) -> i32 {
    let days = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays.
    (days - (days + 3).rem_euclid(7)) as i32
}

/// `YYYY-MM-DD` of a day number.
pub fn week_start(days: i32) -> String {
    chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub use panelflow_core::time::rfc3339_ms as rfc3339;

/// A checked value in hundredths.
fn centi(value: f64) -> i32 {
    (value * CENTI).round() as i32
}

/// Answers that mean "unknown" in an EEO field (compared in lower case).
pub const UNKNOWN_ANSWERS: [&str; 8] = [
    "",
    "unknown",
    "decline",
    "declined",
    "decline to self-identify",
    "decline_to_self_identify",
    "prefer not to say",
    "prefer_not_to_say",
];

/// Normalises an EEO answer: trimmed, lower case, `None` when unknown.
///
/// ```
/// use panelflow::aggregates::records::eeo_category;
/// assert_eq!(eeo_category(Some(" Female ")).as_deref(), Some("female"));
/// assert_eq!(eeo_category(Some("Decline to self-identify")), None);
/// assert_eq!(eeo_category(None), None);
/// ```
pub fn eeo_category(answer: Option<&str>) -> Option<Sym> {
    let a = answer?.trim().to_lowercase();
    if UNKNOWN_ANSWERS.contains(&a.as_str()) {
        None
    } else {
        Some(Sym::from(a))
    }
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

/// [`decode`] for a message already parsed as JSON (what the simulator and
/// the tests hold).
///
/// ```
/// use panelflow::aggregates::records::decode_json;
/// use panelflow_devkit::simulate::{generate, SimConfig};
/// let messages = generate(&SimConfig { candidates: 20, ..SimConfig::default() });
/// assert!(messages.iter().all(|m| decode_json(m.topic(), &m.to_json()).is_ok()));
/// ```
pub fn decode_json(
    topic: Topic,
    message: &serde_json::Value,
) -> Result<(InputRecord, isize), RecordError> {
    let payload =
        serde_json::to_vec(message).map_err(|source| RecordError::Json { topic, source })?;
    decode(topic, &payload)
}

/// Decodes and validates one message of `topic`: the record and its diff.
pub fn decode(topic: Topic, payload: &[u8]) -> Result<(InputRecord, isize), RecordError> {
    let json = |source| RecordError::Json { topic, source };
    Ok(match topic {
        Topic::Scores => {
            let (r, d) = serde_json::from_slice::<ScoreMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Score(r), d)
        }
        Topic::Ratings => {
            let (r, d) = serde_json::from_slice::<RatingMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Rating(r), d)
        }
        Topic::Decisions => {
            let (r, d) = serde_json::from_slice::<DecisionMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Decision(r), d)
        }
        Topic::Demographics => {
            let (r, d) = serde_json::from_slice::<DemographicsMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Demographics(r), d)
        }
        Topic::Questions => {
            let (r, d) = serde_json::from_slice::<QuestionMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Question(r), d)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syms_are_interned_and_sent_as_strings() {
        let short = Sym::from("abc");
        let long = Sym::from("abc".repeat(20).as_str());
        assert_ne!(short, long);
        assert_eq!(long.as_str(), "abc".repeat(20));
        assert_eq!(Sym::from(String::from("abc")), short);
        let json = serde_json::to_string(&long).unwrap();
        let back: Sym = serde_json::from_str(&json).unwrap();
        assert_eq!(back, long);
    }

    #[test]
    fn weeks_start_on_monday() {
        for (day, monday) in [
            ("2025-03-03", "2025-03-03"),
            ("2025-03-09", "2025-03-03"),
            ("2025-03-10", "2025-03-10"),
        ] {
            let ms = chrono::DateTime::parse_from_rfc3339(&format!("{day}T23:59:59Z"))
                .unwrap()
                .timestamp_millis();
            assert_eq!(week_start(week_of(ms)), monday, "{day}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let bad = br#"{"reviewer_id":"r","candidate_id":"c","posting_id":"p","competency":"x","rating":5,"source":"s","rated_at":"2025-01-01T00:00:00Z"}"#;
        assert!(matches!(
            decode(Topic::Ratings, bad),
            Err(RecordError::Field {
                field: "rating",
                ..
            })
        ));
        let bad_diff = br#"{"diff":2,"reviewer_id":"r","candidate_id":"c","posting_id":"p","competency":"x","rating":3,"source":"s","rated_at":"2025-01-01T00:00:00Z"}"#;
        assert!(decode(Topic::Ratings, bad_diff).is_err());
        assert!(decode(Topic::Scores, b"{}").is_err());
    }
}
