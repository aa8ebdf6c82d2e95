//! The model's shared types and constants: the loaded model, its
//! provenance, batch limits, and a segment's encoded and decoded forms.

use ort::session::Session;

use crate::speech::tokenizer::Tokenizer;
use crate::speech::SpeechError;

/// Start-of-transcript token.
pub(super) const BOS: i64 = 1;
/// End-of-transcript token.
pub(super) const EOS: u32 = 2;
/// Tokens per second of audio the decoder may produce at most (the model
/// card's bound: speech rarely exceeds ~4 tokens/s).
pub(super) const MAX_TOKENS_PER_SECOND: f64 = 6.5;
/// Shortest input the encoder's convolutions accept; shorter clips are
/// padded with silence.
pub(super) const MIN_SAMPLES: usize = 4_000;
/// Attention bias of a padded encoder frame (its softmax weight is 0).
pub(super) const MASKED: f32 = -1e9;
/// Name of the decoder input that format-2 models add.
pub(super) const BIAS_INPUT: &str = "encoder_attention_bias";

/// Provenance of the loaded model, written on every output row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// `moonshine-base-en`.
    pub name: String,
    /// Where the weights came from (registry package and version).
    pub version: String,
    /// SHA-256 of the decoder file (the encoder's is in the manifest).
    pub sha256: String,
}

/// How many segments share one decoder call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Segments per decoder call at most.
    pub max_segments: usize,
    /// Encoder frames (about 41.6 per second of audio) per call at most,
    /// counted as rows × the longest row: bounds the cross-attention cache
    /// (about 27 KB per frame) and so the memory a batch holds.
    pub max_frames: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        // 16 segments of ~10 s: the per-segment cost of a step stops falling
        // beyond ~16 rows on 2 cores, and the cache stays near 180 MB.
        Self {
            max_segments: 16,
            max_frames: 16 * 420,
        }
    }
}

/// A loaded Moonshine model.
pub struct Moonshine {
    pub(super) encoder: Session,
    pub(super) decoder: Session,
    pub(super) layers: usize,
    pub(super) heads: usize,
    pub(super) head_dim: usize,
    pub(super) hidden: usize,
    /// Format 2: the decoder takes [`BIAS_INPUT`] and caches the encoder key
    /// transposed; segments can share a call.
    pub(super) batched: bool,
    pub(super) names: Names,
    pub(super) limits: BatchLimits,
    pub(super) tokenizer: Tokenizer,
    pub(super) info: ModelInfo,
}

/// The decoder's input and output names, built once.
pub(super) struct Names {
    /// Per layer: past decoder key, value, encoder key, value.
    pub(super) past: Vec<[String; 4]>,
    /// Per layer: present decoder key, value, encoder key, value.
    pub(super) present: Vec<[String; 4]>,
}

/// The text of one segment and its mean token probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Token ids, without BOS/EOS.
    pub tokens: Vec<u32>,
    /// Decoded text.
    pub text: String,
    /// Mean probability of the chosen tokens.
    pub confidence: f64,
}

/// A segment run through the encoder, waiting for the decoder.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `frames × hidden` encoder states, row-major.
    pub(super) states: Vec<f32>,
    pub(super) frames: usize,
    pub(super) max_tokens: usize,
}

impl Encoded {
    /// Encoder frames of the segment.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

/// One segment's progress in a batch.
pub(super) struct Row {
    /// Index into the caller's segments.
    pub(super) item: usize,
    pub(super) max_tokens: usize,
    pub(super) frames: usize,
    pub(super) tokens: Vec<u32>,
    pub(super) log_prob_sum: f64,
    pub(super) done: bool,
}

pub(super) fn inference(e: ort::Error) -> SpeechError {
    SpeechError::Inference(e.to_string())
}
