//! Analysis: where a timed transcript (and its audio's tone) becomes the
//! summary object recruiters read and analysts query.
//!
//! - [`summary`] is the object; [`analyzer`] fills it: answers per question
//!   ([`answers`]), each question's competency ([`competency`]), the
//!   answer's general [`evidence`] and its [`scoring`] on Lever's scale,
//!   the [`digest`] of each answer (sentences and key facts with times),
//!   [`highlights`] (strengths, concerns, red flags), [`skills`] against the
//!   requisition ([`posting`]), [`sentiment`] and vocal [`tone`] — the last
//!   two for information only; [`embed`] runs the sentence-embedding model;
//!   [`roles`] are a pipeline's own question sets.
//! - [`splits`] reads the labelled development and test splits; [`eval`]
//!   measures the analysis on them; [`wer`] measures transcription.

pub mod analyzer;
pub mod answers;
pub mod competency;
pub mod digest;
pub mod embed;
pub mod eval;
pub mod evidence;
pub mod highlights;
pub mod numbers;
pub mod posting;
pub mod roles;
pub mod scoring;
pub mod sentiment;
pub mod skills;
pub mod splits;
pub mod summary;
pub mod text;
pub mod tone;
pub mod wer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Errors of the analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A model file is missing or invalid.
    #[error("analysis model {path}: {reason} (run the set-up: bash scripts/setup.sh)")]
    Model {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A data file (skills vocabulary, questions, posting) is unreadable.
    #[error("analysis data {path}: {reason}")]
    Data {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Inference failed.
    #[error("analysis inference: {0}")]
    Inference(String),
    /// ONNX Runtime or a model could not be loaded.
    #[error(transparent)]
    Speech(#[from] crate::speech::SpeechError),
}

/// Whether to use the sentence-embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingsMode {
    /// Use it when installed; fall back to word overlap otherwise.
    #[default]
    Auto,
    /// Refuse to start without it.
    Required,
    /// Never (word overlap only).
    Off,
}

/// The `[analysis]` section of a pipeline file.
///
/// ```
/// let analysis: panelflow_models::analysis::AnalysisSection = toml::from_str(r#"
///     low_confidence = 0.6
///     [question_competencies]
///     "q_7f3a" = ["prioritization"]
///     [[competencies]]
///     id = "safe_practice"
///     name = "Safe clinical practice"
///     definition = "Follows and improves safety procedures."
///     anchors = ["Ignores them.", "Knows them in general.", "Follows them in a real case.", "Improved one."]
/// "#).unwrap();
/// assert_eq!(analysis.low_confidence, 0.6);
/// assert!(analysis.enabled && !analysis.voice_in_decisions);
/// assert_eq!(analysis.question_competencies["q_7f3a"], ["prioritization"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSection {
    /// Run the analysis (off: transcript facts only).
    pub enabled: bool,
    /// Sentence embeddings: `auto`, `required` or `off`.
    pub embeddings: EmbeddingsMode,
    /// A skills vocabulary replacing the built-in `datasets/skills.json`.
    pub skills_file: Option<PathBuf>,
    /// A role (a key of `[roles]`) when nothing else tells.
    pub default_role: Option<String>,
    /// Scores with a confidence below this are marked `low_confidence`.
    pub low_confidence: f64,
    /// An answer whose `off_topic` evidence (0..1) reaches this is flagged off topic.
    pub off_topic_threshold: f64,
    /// Competencies of this pipeline, in plain language, added to the
    /// built-in library (or replacing one of the same id).
    pub competencies: Vec<competency::Competency>,
    /// Competencies bound to question ids (others are mapped by meaning).
    pub question_competencies: competency::Bindings,
    /// A scoring model file replacing the built-in one (`panelflow eval --fit`).
    pub scoring_model: Option<PathBuf>,
    /// Let voice measures (pace, pauses, pitch, fillers) enter tags and
    /// triage rules. Off: they are shown, never used. They correlate with
    /// accent, disability and nerves; turning this on is recorded in the
    /// audit log.
    pub voice_in_decisions: bool,
    /// Tone flag thresholds.
    pub tone: tone::ToneThresholds,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        Self {
            enabled: true,
            embeddings: EmbeddingsMode::Auto,
            skills_file: None,
            default_role: None,
            low_confidence: 0.5,
            off_topic_threshold: 0.5,
            competencies: Vec::new(),
            question_competencies: competency::Bindings::new(),
            scoring_model: None,
            voice_in_decisions: false,
            tone: tone::ToneThresholds::default(),
        }
    }
}
