//! The aggregates: interviewer and panel calibration, the bias audit, drift,
//! question consistency and interviewer language — kept up to date by
//! differential dataflow as each score, rating, decision, demographics or
//! question record arrives or is retracted, and landed in Parquet.
//!
//! ```text
//! input records (Kafka topics, or InputSession in tests and benches)
//!   ├─ input tables (Parquet, per worker) ────────────────────────────── inputs/<table>/
//!   ├─ score rows ─┬─ candidate_facts ◄─ decisions, demographics
//!   │              │      └─ bias_audit ──────────────────────────────┐
//!   │              ├─ drift ◄─ interview signals ─────────────────────┤
//!   │              └─ panel_view ◄─ ratings ──────────────────────────┤
//!   │                     └─ observations ─ reviewer_calibration ─────┤
//!   └─ questions ─┬─ question_consistency ────────────────────────────┤
//!                 └─ interviewer_language ────────────────────────────┤
//!                            exchanged to the sink worker: change logs ─┴─ changelog/<aggregate>/
//!                                 and snapshots                          snapshot/<aggregate>.parquet
//! ```
//!
//! One operator per file, each an extension trait on the collection it
//! reads, after differential dataflow's own style; each also exposes the
//! pure function that turns one group's values into rows, which the
//! from-scratch [`reference`] shares. Nothing is ever recomputed from
//! scratch in the dataflow: a change costs work proportional to the groups
//! it touches (see each operator's notes).
//!
//! [`harness`] wires the operators to their sinks for a timely worker;
//! [`runner`] is `panelflow aggregate`, reading the topics from Kafka.

pub mod bias;
pub mod calibration;
pub mod candidates;
pub mod combine;
pub mod drift;
pub mod harness;
pub mod inputs;
pub mod language;
pub mod panel;
pub mod questions;
pub mod records;
pub mod reduce_total;
pub mod reference;
pub mod runner;
pub mod sink;

use std::path::PathBuf;
use std::sync::Arc;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use self::bias::{BiasAudit, BiasConfig, BiasRow};
use self::calibration::{CalibrationRow, ReviewerCalibration};
use self::candidates::CandidateFacts;
use self::drift::{Drift, DriftRow};
use self::language::{InterviewerLanguage, LanguageRow, PhraseList, PhraseListError};
use self::panel::{PanelRow, PanelView};
use self::questions::{ConsistencyRow, QuestionConsistency};
use self::records::InputRecord;

/// The timestamps the aggregates run at: totally ordered (`u64`), which
/// lets every group operator keep only its current state
/// ([`reduce_total`]).
pub trait Time: Timestamp + Lattice + Ord + TotalOrder {}
impl<T: Timestamp + Lattice + Ord + TotalOrder> Time for T {}

/// Settings of the aggregates (the `[aggregates]` section of the config).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregateConfig {
    /// Bias audit thresholds.
    pub bias: BiasConfig,
    /// Weeks (the first with data, per model version and metric) in the
    /// drift reference window.
    pub reference_weeks: usize,
    /// Questions deviating more than this (word error rate) have strayed.
    pub stray_threshold: f64,
    /// The reviewed phrase list; the embedded one when unset.
    pub phrases_file: Option<PathBuf>,
}

impl Default for AggregateConfig {
    fn default() -> Self {
        Self {
            bias: BiasConfig::default(),
            reference_weeks: 2,
            stray_threshold: 0.25,
            phrases_file: None,
        }
    }
}

impl AggregateConfig {
    /// Loads the phrase list this config names.
    pub fn phrases(&self) -> Result<PhraseList, PhraseListError> {
        match &self.phrases_file {
            Some(path) => PhraseList::load(path),
            None => PhraseList::embedded(),
        }
    }
}

/// The aggregates' outputs, one collection per table.
pub struct Outputs<'scope, T: Time> {
    /// `bias_audit`.
    pub bias: VecCollection<'scope, T, BiasRow>,
    /// `reviewer_calibration`.
    pub calibration: VecCollection<'scope, T, CalibrationRow>,
    /// `panel_view`.
    pub panel: VecCollection<'scope, T, PanelRow>,
    /// `drift`.
    pub drift: VecCollection<'scope, T, DriftRow>,
    /// `question_consistency`.
    pub questions: VecCollection<'scope, T, ConsistencyRow>,
    /// `interviewer_language`.
    pub language: VecCollection<'scope, T, LanguageRow>,
}

/// A score message's pieces: one [`records::ScoreRow`] per competency and
/// its [`records::SignalRow`].
#[derive(Clone, Debug)]
enum ScorePiece {
    Row(records::ScoreRow),
    Signal(records::SignalRow),
}

/// The partition of a record's type.
fn kind(record: &InputRecord) -> u64 {
    match record {
        InputRecord::Score(_) => 0,
        InputRecord::Rating(_) => 1,
        InputRecord::Decision(_) => 2,
        InputRecord::Demographics(_) => 3,
        InputRecord::Question(_) => 4,
    }
}

/// Builds every aggregate over a collection of input records.
pub fn aggregates<'scope, T: Time>(
    inputs: VecCollection<'scope, T, InputRecord>,
    cfg: &AggregateConfig,
    phrases: Arc<PhraseList>,
) -> Outputs<'scope, T> {
    use differential_dataflow::AsCollection;
    use timely::dataflow::operators::vec::{Map, Partition};

    // Each record is routed (moved, not cloned) by type to the operators
    // that read it; a score message is split into its rows and signals.
    let mut parts = inputs
        .inner
        .partition(5, |(r, t, d)| (kind(&r), (r, t, d)))
        .into_iter();
    let mut next = || parts.next().expect("five partitions");
    let score_records = next();
    macro_rules! typed {
        ($stream:expr, $variant:path) => {
            $stream
                .flat_map(|(r, t, d)| {
                    if let $variant(x) = r {
                        Some((x, t, d))
                    } else {
                        None
                    }
                })
                .as_collection()
        };
    }
    let ratings = typed!(next(), InputRecord::Rating);
    let decisions = typed!(next(), InputRecord::Decision);
    let demographics = typed!(next(), InputRecord::Demographics);
    let questions = typed!(next(), InputRecord::Question);
    let mut pieces = score_records
        .flat_map(|(r, t, d)| {
            let mut out = Vec::new();
            if let InputRecord::Score(s) = r {
                out.reserve(s.competencies.len() + 1);
                out.extend(s.rows().map(|row| (ScorePiece::Row(row), t.clone(), d)));
                out.push((ScorePiece::Signal(s.signal()), t, d));
            }
            out
        })
        .partition(2, |(p, t, d)| match p {
            ScorePiece::Row(_) => (0, (p, t, d)),
            ScorePiece::Signal(_) => (1, (p, t, d)),
        })
        .into_iter();
    let mut next = || pieces.next().expect("two partitions");
    let scores = next()
        .flat_map(|(p, t, d)| match p {
            ScorePiece::Row(x) => Some((x, t, d)),
            ScorePiece::Signal(_) => None,
        })
        .as_collection();
    let signals = next()
        .flat_map(|(p, t, d)| match p {
            ScorePiece::Signal(x) => Some((x, t, d)),
            ScorePiece::Row(_) => None,
        })
        .as_collection();

    let bias = scores
        .clone()
        .candidate_facts(decisions, demographics)
        .bias_audit(cfg.bias);
    let drift = scores.clone().drift(signals, cfg.reference_weeks);
    let (panel, observations) = ratings.panel_view(scores);
    let calibration = observations.reviewer_calibration();
    let consistency = questions.clone().question_consistency(cfg.stray_threshold);
    let language = questions.interviewer_language(phrases);
    Outputs {
        bias,
        calibration,
        panel,
        drift,
        questions: consistency,
        language,
    }
}
