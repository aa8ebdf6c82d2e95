//! The Moonshine base (English) speech model on ONNX Runtime: an encoder
//! over raw 16 kHz samples and a merged decoder with a key/value cache,
//! decoded greedily.
//!
//! Decoding is batched: many segments (of one recording or of several) go
//! through each decoder call together. The set-up's conversion
//! (`scripts/convert_moonshine.py`, model format 2) gives the decoder an
//! `encoder_attention_bias` input, so segments of different lengths share a
//! call (padded encoder frames get exactly zero attention), and keeps the
//! cross-attention key cache in the layout the attention reads
//! (`[batch, heads, head_dim, frames]`, pre-scaled), so a step no longer
//! re-transposes every encoder frame. Each segment's tokens are those of
//! decoding it alone: rows of a batch never mix (the decoder's weights are
//! float, and its activations are not quantised per batch).
//!
//! The key/value caches stay ONNX Runtime values from one step to the next:
//! a step's `present.*` outputs are fed back as the next step's `past.*`
//! inputs without a copy through Rust memory. Rows whose segment has ended
//! are dropped from the batch (and the padding no remaining row needs is cut
//! off) once a quarter of the rows have ended.
//!
//! A model folder of the older format (no bias input) still loads; it
//! decodes one segment per call.

mod batch;
mod decode;
mod model;
mod session;

pub use self::model::Moonshine;
pub use crate::speech::batching::{BatchLimits, Decoded, Encoded, ModelInfo};

#[cfg(test)]
mod tests;
