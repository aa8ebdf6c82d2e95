//! Whisper base (English transcription) on ONNX Runtime: the encoder with
//! its log-mel front end over a 30 s window, the cross-attention keys and
//! values computed once per segment, and a decoder with a key/value cache,
//! decoded by beam search (five beams by default, as faster-whisper) under
//! Whisper's prompt `<|startoftranscript|><|en|><|transcribe|>`, with
//! timestamps where the transcriber reads windows of several voice segments
//! ([`timestamps`]: the text comes back in timed pieces), else with
//! `<|notimestamps|>` after it.
//!
//! The graphs come from the set-up's conversion of the PyPI CTranslate2
//! files (`scripts/convert_whisper.py`). Every segment is zero-padded to the
//! 30 s window the model was trained on, so all rows of a decoder call have
//! the same 1500 encoder frames and batching needs no attention mask; a
//! segment's tokens are those of decoding it alone (float decoder weights).
//! As for Moonshine, the caches stay ONNX Runtime values between steps and
//! finished rows leave the batch once a quarter of it has finished.
//!
//! Tokens Whisper may not emit in transcription (language and task tokens,
//! the non-speech symbols its `config.json` lists, and timestamps but under
//! their rules) are never chosen; a blank or an end of text is not accepted
//! as the first token.

mod beam;
mod decode;
mod reread;
mod session;
pub mod timestamps;
mod vocab;

pub use self::session::{Whisper, DEFAULT_BEAMS};
pub use self::timestamps::{TimedTokens, TimestampIds, STEP_S};
pub use self::vocab::ByteLevelVocab;

#[cfg(test)]
mod tests;
