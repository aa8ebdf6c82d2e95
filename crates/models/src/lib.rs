//! panelflow's models: audio in, transcript and analysis out.
//!
//! - [`onnx`]: ONNX Runtime, loaded once from the set-up cache, and the models folder;
//! - [`media`]: decode, resample to 16 kHz and find the voice (Silero VAD);
//! - [`speech`]: the Moonshine model and the streaming transcriber;
//! - [`analysis`]: the summary object made from a transcript and its audio;
//! - [`error`]: the errors of media and speech.

// Every public item is documented (the build fails otherwise).
#![deny(missing_docs)]

pub mod analysis;
pub mod error;
pub mod media;
pub mod onnx;
pub mod speech;
