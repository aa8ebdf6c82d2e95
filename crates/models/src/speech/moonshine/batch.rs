//! Batching: segments grouped into decoder calls of similar lengths.

use crate::speech::SpeechError;

use super::model::{BatchLimits, Decoded, Encoded, Moonshine};

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
        let mut results: Vec<Option<Decoded>> = vec![None; encoded.len()];
        for group in plan_groups(encoded, self.effective_limits()) {
            let items: Vec<&Encoded> = group.iter().map(|&i| &encoded[i]).collect();
            let decoded = self.decode_group(&items)?;
            for (i, d) in group.into_iter().zip(decoded) {
                results[i] = Some(d);
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| SpeechError::Inference("a segment was not decoded".into())))
            .collect()
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

/// Groups segments for decoder calls: by ascending length, as many as the
/// limits allow (rows × longest row ≤ `max_frames`, at least one row).
pub(super) fn plan_groups(encoded: &[Encoded], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| encoded[i].frames);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        let longest = encoded[i].frames.max(1);
        let fits = current.len() < limits.max_segments
            && (current.len() + 1) * longest <= limits.max_frames;
        if !current.is_empty() && !fits {
            groups.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}
