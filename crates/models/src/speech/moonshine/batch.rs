//! Batching: segments grouped into decoder calls of similar lengths.

use crate::speech::SpeechError;

use crate::speech::batching::{decode_in_groups, BatchLimits, Decoded, Encoded};

use super::model::Moonshine;

impl Moonshine {
    /// Transcribes one segment of 16 kHz mono audio (up to ~30 s), decoded
    /// on its own.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Decoded, SpeechError> {
        let encoded = self.encode(samples)?;
        let mut out = self.decode_group(&[&encoded])?;
        out.pop()
            .ok_or_else(|| SpeechError::Inference("decoder returned nothing".into()))
    }

    /// Transcribes many segments, sharing decoder calls between them (see
    /// [`BatchLimits`]). Results are in the order of `segments`, and each
    /// is what [`Moonshine::transcribe`] gives for that segment alone.
    pub fn transcribe_batch(&mut self, segments: &[&[f32]]) -> Result<Vec<Decoded>, SpeechError> {
        let encoded = segments
            .iter()
            .map(|s| self.encode(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.decode_batch(&encoded)
    }

    /// Decodes encoded segments, grouped into calls of similar lengths.
    /// Results are in the order of `encoded`.
    pub fn decode_batch(&mut self, encoded: &[Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        let limits = self.effective_limits();
        decode_in_groups(encoded, limits, |items| self.decode_group(items))
    }

    fn effective_limits(&self) -> BatchLimits {
        if self.batched {
            self.limits
        } else {
            BatchLimits {
                max_segments: 1,
                ..self.limits
            }
        }
    }
}
