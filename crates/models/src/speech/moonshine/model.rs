//! The loaded model, its decoder's names and its constants.

use ort::session::Session;

use crate::speech::batching::{BatchLimits, ModelInfo};
use crate::speech::tokenizer::Tokenizer;

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
