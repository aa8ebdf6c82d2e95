//! The speech model a transcriber runs: Whisper base or Moonshine base,
//! told apart by the files of its folder (`[speech] model` names the
//! folder). Both encode a voice segment once and decode segments in
//! batches; this is the one place the transcriber meets either.

use std::path::Path;

use crate::error::SpeechError;
use crate::speech::batching::{BatchLimits, Decoded, Encoded, ModelInfo};
use crate::speech::moonshine::Moonshine;
use crate::speech::whisper::Whisper;

/// The speech models the set-up installs (folders of the models folder).
pub const KNOWN: [&str; 2] = ["moonshine-base-en", "whisper-base"];

/// A loaded speech model.
pub enum SpeechModel {
    /// Moonshine base (English): the encoder reads the segment's own length.
    Moonshine(Moonshine),
    /// Whisper base: every segment is read in a 30 s window.
    Whisper(Whisper),
}

impl SpeechModel {
    /// Loads the model in `dir`: Whisper where the folder holds its
    /// `cross_kv.onnx`, else Moonshine.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        if !dir.is_dir() {
            return Err(SpeechError::Model {
                path: dir.display().to_string(),
                reason: format!(
                    "no such speech model folder ([speech] model names one of {})",
                    KNOWN.join(", ")
                ),
            });
        }
        if dir.join("cross_kv.onnx").exists() {
            Whisper::load(dir, threads).map(Self::Whisper)
        } else {
            Moonshine::load(dir, threads).map(Self::Moonshine)
        }
    }

    /// Runs the encoder over one voice segment.
    pub fn encode(&mut self, samples: &[f32]) -> Result<Encoded, SpeechError> {
        match self {
            Self::Moonshine(m) => m.encode(samples),
            Self::Whisper(w) => w.encode(samples),
        }
    }

    /// Decodes encoded segments in batches, one result per segment in order.
    pub fn decode_batch(&mut self, encoded: &[Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        match self {
            Self::Moonshine(m) => m.decode_batch(encoded),
            Self::Whisper(w) => w.decode_batch(encoded),
        }
    }

    /// Transcribes one segment of 16 kHz mono audio on its own.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Decoded, SpeechError> {
        let encoded = self.encode(samples)?;
        self.decode_batch(std::slice::from_ref(&encoded))?
            .pop()
            .ok_or_else(|| SpeechError::Inference("decoder returned nothing".into()))
    }

    /// The model's provenance.
    pub fn info(&self) -> &ModelInfo {
        match self {
            Self::Moonshine(m) => m.info(),
            Self::Whisper(w) => w.info(),
        }
    }

    /// How segments are grouped into decoder calls.
    pub fn batch_limits(&self) -> BatchLimits {
        match self {
            Self::Moonshine(m) => m.batch_limits(),
            Self::Whisper(w) => w.batch_limits(),
        }
    }

    /// Sets how segments are grouped into decoder calls.
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        match self {
            Self::Moonshine(m) => m.set_batch_limits(limits),
            Self::Whisper(w) => w.set_batch_limits(limits),
        }
    }

    /// Sets Whisper's hypotheses per segment (Moonshine decodes greedily).
    pub fn set_beams(&mut self, beams: usize) {
        if let Self::Whisper(w) = self {
            w.set_beams(beams);
        }
    }

    /// The model and its decoding setting: `moonshine-base-en`,
    /// `whisper-base-beam5`, `whisper-base-beam5-timed` (windows read with
    /// timestamps).
    pub fn key(&self) -> String {
        match self {
            Self::Moonshine(m) => m.info().name.clone(),
            Self::Whisper(w) if w.timestamps() => {
                format!("{}-beam{}-timed", w.info().name, w.beams())
            }
            Self::Whisper(w) => format!("{}-beam{}", w.info().name, w.beams()),
        }
    }

    /// Whether the model can say when each piece of a segment was spoken
    /// (and so read windows of several voice segments): Whisper can.
    pub fn reads_timestamps(&self) -> bool {
        matches!(self, Self::Whisper(_))
    }

    /// Reads segments with timestamps where the model can (see
    /// [`Self::reads_timestamps`]).
    pub fn set_timestamps(&mut self, on: bool) {
        if let Self::Whisper(w) = self {
            w.set_timestamps(on);
        }
    }

    /// The longest voice segment the model reads whole, seconds: Moonshine
    /// has no limit of its own; Whisper its 30 s window, less a margin for
    /// the voice detector's last frame.
    pub fn longest_segment_s(&self) -> f32 {
        match self {
            Self::Moonshine(_) => f32::INFINITY,
            Self::Whisper(_) => 29.0,
        }
    }
}
