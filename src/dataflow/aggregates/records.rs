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
//! use panelflow::dataflow::aggregates::records::{decode, InputRecord, Topic};
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

/// Lowest rubric score and human rating.
pub const RATING_MIN: i64 = 1;
/// Highest rubric score and human rating.
pub const RATING_MAX: i64 = 4;
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
/// use panelflow::dataflow::aggregates::records::Sym;
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
/// use panelflow::dataflow::aggregates::records::{IdHasher, Sym};
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
/// use panelflow::dataflow::aggregates::records::{IdMap, Sym};
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
/// use panelflow::dataflow::aggregates::records::F64;
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

/// The input topics of the aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// AI scores: one message per interview and model version.
    Scores,
    /// Human ratings: one message per reviewer, candidate, posting and competency.
    Ratings,
    /// Decisions: stage advances and archives.
    Decisions,
    /// Self-reported demographics (EEO survey).
    Demographics,
    /// Questions as spoken in recordings, with their canonical text.
    Questions,
}

impl Topic {
    /// All topics.
    pub const ALL: [Topic; 5] = [
        Topic::Scores,
        Topic::Ratings,
        Topic::Decisions,
        Topic::Demographics,
        Topic::Questions,
    ];

    /// The topic's default Kafka name.
    pub fn default_name(self) -> &'static str {
        match self {
            Topic::Scores => "panelflow.scores",
            Topic::Ratings => "panelflow.ratings",
            Topic::Decisions => "panelflow.decisions",
            Topic::Demographics => "panelflow.demographics",
            Topic::Questions => "panelflow.questions",
        }
    }

    /// The JSON Schema of its messages, under `schemas/aggregates/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Topic::Scores => "score.schema.json",
            Topic::Ratings => "rating.schema.json",
            Topic::Decisions => "decision.schema.json",
            Topic::Demographics => "demographics.schema.json",
            Topic::Questions => "question.schema.json",
        }
    }
}

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

fn field_err(topic: Topic, field: &'static str, reason: impl Into<String>) -> RecordError {
    RecordError::Field {
        topic,
        field,
        reason: reason.into(),
    }
}

fn default_diff() -> i64 {
    1
}

// ---------------------------------------------------------------------------
// JSON messages.

/// One competency's AI score inside a [`ScoreMessage`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompetencyScore {
    /// Competency name from the rubric.
    pub competency: Sym,
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
    pub interview_id: Sym,
    /// Candidate id.
    pub candidate_id: Sym,
    /// Posting (requisition) id.
    pub posting_id: Sym,
    /// Job family of the posting (Lever team / department).
    pub job_family: Sym,
    /// Name of the scoring model.
    pub model_name: Sym,
    /// Version of the scoring model (unique across names, e.g. `rubric@2.1`).
    pub model_version: Sym,
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

impl ScoreMessage {
    /// The message the analysis publishes for an analysed interview: its
    /// rubric scores under model `panelflow-rubric`, version `rubric@<pipeline
    /// version>`; `None` when the analysis scored nothing. The posting is
    /// [`UNASSIGNED_POSTING`] when unknown, the job family `unknown`.
    ///
    /// ```
    /// use panelflow::analysis::summary::{PipelineRef, Summary};
    /// use panelflow::dataflow::aggregates::records::ScoreMessage;
    /// let event = panelflow::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
    /// let pipeline = PipelineRef { name: "p".into(), version: "7".into(), config_hash: "h".into() };
    /// let mut summary = Summary::build(&event, &pipeline, vec![], vec![]);
    /// assert!(ScoreMessage::from_summary(&summary).is_none());
    /// summary.scores = vec![serde_json::from_value(serde_json::json!({
    ///     "competency": "craft", "name": "Craft", "question_id": "q1", "score": 3,
    ///     "criteria_share": 1.0, "criteria_met": [], "evidence": [], "adjustments": [],
    ///     "confidence": 0.8, "low_confidence": false, "weight": 1.0})).unwrap()];
    /// let m = ScoreMessage::from_summary(&summary).unwrap();
    /// assert_eq!(m.model_version.as_str(), "rubric@7");
    /// assert_eq!(m.competencies[0].score, 3.0);
    /// assert!(m.validate().is_ok());
    /// ```
    pub fn from_summary(summary: &crate::analysis::summary::Summary) -> Option<ScoreMessage> {
        if summary.scores.is_empty() {
            return None;
        }
        let finite = |x: f64| x.is_finite().then_some(x);
        Some(ScoreMessage {
            diff: 1,
            interview_id: summary.interview_id.as_str().into(),
            candidate_id: summary.candidate_id.as_str().into(),
            posting_id: summary
                .posting_id
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or(UNASSIGNED_POSTING)
                .into(),
            job_family: summary
                .analysis
                .job_family
                .as_deref()
                .filter(|f| !f.is_empty())
                .unwrap_or("unknown")
                .into(),
            model_name: "panelflow-rubric".into(),
            model_version: format!("rubric@{}", summary.pipeline.version).into(),
            scored_at: summary.analysis_completion_time.clone(),
            sentiment: finite(summary.sentiment_score).map(|x| x.clamp(-1.0, 1.0)),
            transcription_confidence: finite(summary.transcription_confidence)
                .map(|x| x.clamp(0.0, 1.0)),
            flags: summary
                .flags
                .iter()
                .filter(|f| f.severity == "review")
                .map(|f| f.name.clone())
                .collect(),
            competencies: summary
                .scores
                .iter()
                .map(|c| CompetencyScore {
                    competency: c.competency.as_str().into(),
                    score: f64::from(c.score),
                    confidence: finite(c.confidence).map(|x| x.clamp(0.0, 1.0)),
                })
                .collect(),
        })
    }
}

/// A human rating (`rating.schema.json`): a Lever scorecard field, a Spark
/// Hire `InterviewRated` or a Willo `new_score`, per reviewer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RatingMessage {
    /// `1` insert, `-1` retraction.
    #[serde(default = "default_diff")]
    pub diff: i64,
    /// Reviewer or panelist id.
    pub reviewer_id: Sym,
    /// Candidate id.
    pub candidate_id: Sym,
    /// Posting id.
    pub posting_id: Sym,
    /// Interview id, when the rating is of one recorded interview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interview_id: Option<Sym>,
    /// Competency rated.
    pub competency: Sym,
    /// Rating, 1–4 (Lever's scorecard scale: strong no … strong yes).
    pub rating: i64,
    /// `lever_feedback`, `sparkhire`, `willo`, …
    pub source: Sym,
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
    pub candidate_id: Sym,
    /// Posting id.
    pub posting_id: Sym,
    /// `advance` (selected for the next step) or `archive`.
    pub decision: Sym,
    /// The stage moved to, or the archive reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Sym>,
    /// `lever`, `panelflow_triage`, …
    pub source: Sym,
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
    pub candidate_id: Sym,
    /// The application (posting) whose EEO survey it came from.
    pub posting_id: Sym,
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
    pub interview_id: Sym,
    /// Candidate id.
    pub candidate_id: Sym,
    /// Posting id.
    pub posting_id: Sym,
    /// Who asked (interviewer id), when known.
    #[serde(default)]
    pub interviewer_id: Option<Sym>,
    /// Question id in the posting's question set.
    pub question_id: Sym,
    /// The question's canonical text.
    pub canonical_text: String,
    /// The question as transcribed from the recording.
    pub asked_text: String,
    /// When it was asked (RFC 3339).
    pub asked_at: String,
}

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

/// Parses an RFC 3339 time into ms since the epoch.
pub fn parse_time(topic: Topic, field: &'static str, s: &str) -> Result<i64, RecordError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| field_err(topic, field, format!("{s:?} is not an RFC 3339 time: {e}")))
}

/// Monday (UTC) of the week holding `ms`, in days since the epoch.
///
/// ```
/// use panelflow::dataflow::aggregates::records::{week_of, week_start};
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

/// RFC 3339 (UTC, ms) of a time in ms.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Quantises `value` to hundredths after checking `lo ≤ value ≤ hi`.
pub fn centi(
    topic: Topic,
    field: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
) -> Result<i32, RecordError> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(field_err(
            topic,
            field,
            format!("{value} is outside {lo}–{hi}"),
        ));
    }
    Ok((value * CENTI).round() as i32)
}

fn non_empty(topic: Topic, field: &'static str, s: &Sym) -> Result<(), RecordError> {
    if s.trim().is_empty() {
        return Err(field_err(topic, field, "is empty"));
    }
    Ok(())
}

fn check_diff(topic: Topic, diff: i64) -> Result<isize, RecordError> {
    match diff {
        1 | -1 => Ok(diff as isize),
        _ => Err(field_err(
            topic,
            "diff",
            format!("{diff} is neither 1 nor -1"),
        )),
    }
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
/// use panelflow::dataflow::aggregates::records::eeo_category;
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

impl ScoreMessage {
    /// Validates and normalises.
    pub fn validate(&self) -> Result<(ScoreRecord, isize), RecordError> {
        let t = Topic::Scores;
        let diff = check_diff(t, self.diff)?;
        for (f, v) in [
            ("interview_id", &self.interview_id),
            ("candidate_id", &self.candidate_id),
            ("posting_id", &self.posting_id),
            ("job_family", &self.job_family),
            ("model_version", &self.model_version),
        ] {
            non_empty(t, f, v)?;
        }
        let at_ms = parse_time(t, "scored_at", &self.scored_at)?;
        if self.competencies.is_empty() {
            return Err(field_err(t, "competencies", "is empty"));
        }
        let mut competencies = Vec::with_capacity(self.competencies.len());
        for c in &self.competencies {
            non_empty(t, "competencies.competency", &c.competency)?;
            let score = centi(
                t,
                "competencies.score",
                c.score,
                RATING_MIN as f64,
                RATING_MAX as f64,
            )?;
            let conf = c
                .confidence
                .map(|v| centi(t, "competencies.confidence", v, 0.0, 1.0))
                .transpose()?;
            competencies.push((c.competency.clone(), score, conf));
        }
        competencies.sort();
        let mut flags = self.flags.clone();
        flags.sort();
        Ok((
            ScoreRecord {
                interview: self.interview_id.clone(),
                candidate: self.candidate_id.clone(),
                posting: self.posting_id.clone(),
                family: self.job_family.clone(),
                model_name: self.model_name.clone(),
                model: self.model_version.clone(),
                at_ms,
                week: week_of(at_ms),
                sentiment: self
                    .sentiment
                    .map(|v| centi(t, "sentiment", v, -1.0, 1.0))
                    .transpose()?,
                transcription_confidence: self
                    .transcription_confidence
                    .map(|v| centi(t, "transcription_confidence", v, 0.0, 1.0))
                    .transpose()?,
                flags: Sym::from(flags.join(",")),
                competencies,
            },
            diff,
        ))
    }
}

impl RatingMessage {
    /// Validates and normalises.
    pub fn validate(&self) -> Result<(RatingRecord, isize), RecordError> {
        let t = Topic::Ratings;
        let diff = check_diff(t, self.diff)?;
        for (f, v) in [
            ("reviewer_id", &self.reviewer_id),
            ("candidate_id", &self.candidate_id),
            ("posting_id", &self.posting_id),
            ("competency", &self.competency),
        ] {
            non_empty(t, f, v)?;
        }
        if !(RATING_MIN..=RATING_MAX).contains(&self.rating) {
            return Err(field_err(
                t,
                "rating",
                format!("{} is outside 1–4", self.rating),
            ));
        }
        Ok((
            RatingRecord {
                reviewer: self.reviewer_id.clone(),
                candidate: self.candidate_id.clone(),
                posting: self.posting_id.clone(),
                competency: self.competency.clone(),
                rating: self.rating as i8,
                interview: self.interview_id.clone(),
                source: self.source.clone(),
                at_ms: parse_time(t, "rated_at", &self.rated_at)?,
            },
            diff,
        ))
    }
}

impl DecisionMessage {
    /// Validates and normalises.
    pub fn validate(&self) -> Result<(DecisionRecord, isize), RecordError> {
        let t = Topic::Decisions;
        let diff = check_diff(t, self.diff)?;
        non_empty(t, "candidate_id", &self.candidate_id)?;
        non_empty(t, "posting_id", &self.posting_id)?;
        let advance = match self.decision.as_str() {
            "advance" => true,
            "archive" => false,
            other => {
                return Err(field_err(
                    t,
                    "decision",
                    format!("{other:?} is neither advance nor archive"),
                ))
            }
        };
        Ok((
            DecisionRecord {
                candidate: self.candidate_id.clone(),
                posting: self.posting_id.clone(),
                advance,
                stage: self.stage.clone(),
                source: self.source.clone(),
                at_ms: parse_time(t, "decided_at", &self.decided_at)?,
            },
            diff,
        ))
    }
}

impl DemographicsMessage {
    /// Validates and normalises.
    pub fn validate(&self) -> Result<(DemographicsRecord, isize), RecordError> {
        let t = Topic::Demographics;
        let diff = check_diff(t, self.diff)?;
        non_empty(t, "candidate_id", &self.candidate_id)?;
        Ok((
            DemographicsRecord {
                candidate: self.candidate_id.clone(),
                posting: self.posting_id.clone(),
                sex: eeo_category(self.sex.as_deref()),
                race: eeo_category(self.race_ethnicity.as_deref()),
                at_ms: parse_time(t, "collected_at", &self.collected_at)?,
            },
            diff,
        ))
    }
}

impl QuestionMessage {
    /// Validates and normalises.
    pub fn validate(&self) -> Result<(QuestionRecord, isize), RecordError> {
        let t = Topic::Questions;
        let diff = check_diff(t, self.diff)?;
        non_empty(t, "interview_id", &self.interview_id)?;
        non_empty(t, "question_id", &self.question_id)?;
        Ok((
            QuestionRecord {
                interview: self.interview_id.clone(),
                candidate: self.candidate_id.clone(),
                posting: self.posting_id.clone(),
                interviewer: self.interviewer_id.clone(),
                question: self.question_id.clone(),
                canonical: self.canonical_text.clone(),
                asked: self.asked_text.clone(),
                at_ms: parse_time(t, "asked_at", &self.asked_at)?,
            },
            diff,
        ))
    }
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
            let ms = parse_time(Topic::Scores, "t", &format!("{day}T23:59:59Z")).unwrap();
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
