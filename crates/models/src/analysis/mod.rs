//! Analysis: where a timed transcript (and its audio's tone) becomes the
//! summary object recruiters read and analysts query.
//!
//! - [`summary`] is the object; [`analyzer`] fills it: [`answers`] per
//!   question, [`skills`] against the requisition ([`posting`]),
//!   [`sentiment`], vocal [`tone`], the extractive summary ([`extract`]) and
//!   [`rubric`] scores; [`embed`] runs the sentence-embedding model.
//! - [`eval`] measures it all against the annotated `datasets/`; [`wer`]
//!   measures transcription.

pub mod analyzer;
pub mod answers;
pub mod embed;
pub mod eval;
pub mod extract;
pub mod posting;
pub mod rubric;
pub mod sentiment;
pub mod skills;
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
/// let analysis: panelflow_models::analysis::AnalysisSection =
///     toml::from_str("low_confidence = 0.6\n").unwrap();
/// assert_eq!(analysis.low_confidence, 0.6);
/// assert!(analysis.enabled);
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
    /// Job family when nothing else tells (a key of `[rubrics]`).
    pub default_family: Option<String>,
    /// Scores with a confidence below this are marked `low_confidence`.
    pub low_confidence: f64,
    /// An answer whose similarity to its question is below this is off topic.
    pub off_topic_similarity: f64,
    /// Tone flag thresholds.
    pub tone: tone::ToneThresholds,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        Self {
            enabled: true,
            embeddings: EmbeddingsMode::Auto,
            skills_file: None,
            default_family: None,
            low_confidence: 0.5,
            off_topic_similarity: 0.1,
            tone: tone::ToneThresholds::default(),
        }
    }
}
