//! Speech: where audio becomes text. [`runtime`] loads ONNX Runtime from the
//! set-up cache, [`moonshine`] runs the Moonshine encoder/decoder with greedy
//! decoding (batched: many segments per decoder call), [`tokenizer`] turns
//! token ids into text, [`transcriber`] streams files through decode →
//! resample → voice activity → model, and [`parallel`] runs transcription
//! on several timely workers.

pub mod moonshine;
pub mod parallel;
pub mod runtime;
pub mod tokenizer;
pub mod transcriber;

use serde::{Deserialize, Serialize};

/// Errors of the speech stage.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// ONNX Runtime could not be loaded.
    #[error("ONNX Runtime library {path}: {reason} (run the set-up: bash scripts/setup.sh)")]
    Runtime {
        /// The library path tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// A model file is missing or invalid.
    #[error("model {path}: {reason} (run the set-up: bash scripts/setup.sh)")]
    Model {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Inference failed.
    #[error("inference: {0}")]
    Inference(String),
    /// The media could not be read.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

/// A transcribed stretch of speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, seconds from the start of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Text.
    pub text: String,
    /// Mean token probability of the greedy decode, 0..1.
    pub confidence: f64,
}

/// A whole recording's transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Length of the audio, seconds.
    pub duration_s: f64,
    /// Language of the model.
    pub language: String,
    /// Model name and version.
    pub model: String,
    /// Timed segments.
    pub segments: Vec<Segment>,
    /// All segments' text joined.
    pub text: String,
}

impl Transcript {
    /// Number of words in the transcript.
    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }

    /// Speaking rate over the whole recording.
    pub fn words_per_minute(&self) -> f64 {
        if self.duration_s <= 0.0 {
            return 0.0;
        }
        self.word_count() as f64 * 60.0 / self.duration_s
    }
}
