//! The aggregates' dataflow: every operator wired to its inputs, and the
//! settings they share (`[aggregates]`).

use std::path::PathBuf;
use std::sync::Arc;

use super::time::Time;
use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::bias::{BiasAudit, BiasConfig, BiasRow};
use super::calibration::{CalibrationRow, ReviewerCalibration};
use super::candidates::CandidateFacts;
use super::drift::{Drift, DriftRow};
use super::language::{InterviewerLanguage, LanguageRow, PhraseList, PhraseListError};
use super::panel::{PanelRow, PanelView};
use super::questions::{ConsistencyRow, QuestionConsistency};
use super::records::InputRecord;

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
    Row(super::records::ScoreRow),
    Signal(super::records::SignalRow),
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
