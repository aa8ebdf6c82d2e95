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
//!                                 exchanged to worker 0: change logs ─┴─ changelog/<aggregate>/
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
pub mod drift;
pub mod harness;
pub mod inputs;
pub mod language;
pub mod panel;
pub mod questions;
pub mod records;
pub mod reference;
pub mod runner;

use std::path::PathBuf;
use std::sync::Arc;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use self::bias::{BiasAudit, BiasConfig, BiasRow};
use self::calibration::{CalibrationRow, ReviewerCalibration};
use self::candidates::CandidateFacts;
use self::drift::{Drift, DriftRow};
use self::language::{InterviewerLanguage, LanguageRow, PhraseList, PhraseListError};
use self::panel::{PanelRow, PanelView};
use self::questions::{ConsistencyRow, QuestionConsistency};
use self::records::InputRecord;

/// The timestamps the aggregates run at.
pub trait Time: Timestamp + Lattice + Ord {}
impl<T: Timestamp + Lattice + Ord> Time for T {}

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

/// A record's typed pieces: a score message is one [`records::ScoreRow`]
/// per competency plus its [`records::SignalRow`].
#[derive(Clone, Debug)]
enum Piece {
    Score(records::ScoreRow),
    Signal(records::SignalRow),
    Rating(records::RatingRecord),
    Decision(records::DecisionRecord),
    Demographics(records::DemographicsRecord),
    Question(records::QuestionRecord),
}

impl Piece {
    fn of(record: InputRecord) -> Vec<Piece> {
        match record {
            InputRecord::Score(s) => {
                let mut out: Vec<Piece> = s.rows().map(Piece::Score).collect();
                out.push(Piece::Signal(s.signal()));
                out
            }
            InputRecord::Rating(r) => vec![Piece::Rating(r)],
            InputRecord::Decision(d) => vec![Piece::Decision(d)],
            InputRecord::Demographics(d) => vec![Piece::Demographics(d)],
            InputRecord::Question(q) => vec![Piece::Question(q)],
        }
    }

    fn index(&self) -> u64 {
        match self {
            Piece::Score(_) => 0,
            Piece::Signal(_) => 1,
            Piece::Rating(_) => 2,
            Piece::Decision(_) => 3,
            Piece::Demographics(_) => 4,
            Piece::Question(_) => 5,
        }
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

    // Each record is split into its typed pieces once and routed (moved, not
    // cloned) to the operator that reads that type.
    let parts = inputs
        .flat_map(Piece::of)
        .inner
        .partition(6, |(piece, t, r)| (piece.index(), (piece, t, r)));
    let mut parts = parts.into_iter();
    let mut next = || parts.next().expect("six partitions");
    let scores = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Score(x) = p {
                Some((x, t, r))
            } else {
                None
            }
        })
        .as_collection();
    let signals = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Signal(x) = p {
                Some((x, t, r))
            } else {
                None
            }
        })
        .as_collection();
    let ratings = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Rating(x) = p {
                Some((x, t, r))
            } else {
                None
            }
        })
        .as_collection();
    let decisions = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Decision(x) = p {
                Some((x, t, r))
            } else {
                None
            }
        })
        .as_collection();
    let demographics = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Demographics(x) = p {
                Some((x, t, r))
            } else {
                None
            }
        })
        .as_collection();
    let questions = next()
        .flat_map(|(p, t, r)| {
            if let Piece::Question(x) = p {
                Some((x, t, r))
            } else {
                None
            }
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
