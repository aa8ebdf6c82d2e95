//! Streaming resampling to 16 kHz mono with rubato's FFT resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{MediaError, SAMPLE_RATE};

/// Input frames per resampler call.
const CHUNK: usize = 1024;

/// Feeds arbitrary-sized mono chunks at `from_rate` and returns 16 kHz audio,
/// with the resampler's start-up delay trimmed so timestamps stay exact.
///
/// ```
/// use panelflow_models::media::resample::To16k;
/// let mut r = To16k::new(48_000).unwrap();
/// let mut out = r.push(&vec![0.0; 48_000]).unwrap();
/// out.extend(r.finish().unwrap());
/// assert_eq!(out.len(), 16_000);
/// ```
pub struct To16k {
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    to_trim: usize,
    frames_in: u64,
    frames_out: u64,
    ratio: f64,
}

impl To16k {
    /// A resampler from `from_rate`; a pass-through at 16 kHz.
    pub fn new(from_rate: u32) -> Result<Self, MediaError> {
        let ratio = SAMPLE_RATE as f64 / from_rate as f64;
        if from_rate == SAMPLE_RATE {
            return Ok(Self::passthrough());
        }
        let inner = Fft::<f32>::new(
            from_rate as usize,
            SAMPLE_RATE as usize,
            CHUNK,
            1,
            FixedSync::Input,
        )
        .map_err(|e| MediaError::NotAudio(format!("cannot resample from {from_rate} Hz: {e}")))?;
        let to_trim = inner.output_delay();
        let out_buf = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            inner: Some(inner),
            pending: Vec::new(),
            out_buf,
            to_trim,
            frames_in: 0,
            frames_out: 0,
            ratio,
        })
    }

    fn passthrough() -> Self {
        Self {
            inner: None,
            pending: Vec::new(),
            out_buf: Vec::new(),
            to_trim: 0,
            frames_in: 0,
            frames_out: 0,
            ratio: 1.0,
        }
    }

    /// Resamples what can be resampled now; keeps the remainder.
    pub fn push(&mut self, mono: &[f32]) -> Result<Vec<f32>, MediaError> {
        self.frames_in += mono.len() as u64;
        let Some(inner) = self.inner.as_mut() else {
            self.frames_out += mono.len() as u64;
            return Ok(mono.to_vec());
        };
        self.pending.extend_from_slice(mono);
        let mut out = Vec::with_capacity((mono.len() as f64 * self.ratio) as usize + 16);
        let mut offset = 0;
        while self.pending.len() - offset >= CHUNK {
            let input = InterleavedSlice::new(&self.pending[offset..offset + CHUNK], 1, CHUNK)
                .map_err(|e| MediaError::Corrupt(format!("resampler input: {e}")))?;
            let frames = self.out_buf.len();
            let mut output = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames)
                .map_err(|e| MediaError::Corrupt(format!("resampler output: {e}")))?;
            let (_, written) = inner
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| MediaError::Corrupt(format!("resampler: {e}")))?;
            out.extend_from_slice(&self.out_buf[..written]);
            offset += CHUNK;
        }
        self.pending.drain(..offset);
        Ok(self.trim(out))
    }

    /// Flushes the tail: the output then holds exactly `input * 16000 / rate` frames.
    pub fn finish(&mut self) -> Result<Vec<f32>, MediaError> {
        let expected = (self.frames_in as f64 * self.ratio).round() as u64;
        let Some(inner) = self.inner.as_mut() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut remaining = std::mem::take(&mut self.pending);
        // Push the partial tail, then silence, until the delay line is drained.
        let mut guard = 0;
        while self.frames_out + (out.len().saturating_sub(self.to_trim)) as u64 <= expected
            && guard < 64
        {
            guard += 1;
            let partial = remaining.len().min(CHUNK);
            let mut block = vec![0.0f32; CHUNK];
            block[..partial].copy_from_slice(&remaining[..partial]);
            remaining.drain(..partial);
            let input = InterleavedSlice::new(&block, 1, CHUNK)
                .map_err(|e| MediaError::Corrupt(format!("resampler input: {e}")))?;
            let frames = self.out_buf.len();
            let mut output = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames)
                .map_err(|e| MediaError::Corrupt(format!("resampler output: {e}")))?;
            let indexing = Indexing {
                partial_len: Some(partial),
                ..Default::default()
            };
            let (_, written) = inner
                .process_into_buffer(&input, &mut output, Some(&indexing))
                .map_err(|e| MediaError::Corrupt(format!("resampler: {e}")))?;
            out.extend_from_slice(&self.out_buf[..written]);
        }
        let mut out = self.trim(out);
        let keep = expected.saturating_sub(self.frames_out - out.len() as u64) as usize;
        let excess = out.len().saturating_sub(keep);
        out.truncate(out.len() - excess);
        self.frames_out -= excess as u64;
        Ok(out)
    }

    fn trim(&mut self, mut out: Vec<f32>) -> Vec<f32> {
        if self.to_trim > 0 {
            let n = self.to_trim.min(out.len());
            out.drain(..n);
            self.to_trim -= n;
        }
        self.frames_out += out.len() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_length_and_timing_at_44k1() {
        // A 1 kHz tone burst starting at 0.5 s must still start at 0.5 s.
        let rate = 44_100;
        let mut input = vec![0.0f32; rate as usize * 2];
        for (i, s) in input.iter_mut().enumerate().skip(rate as usize / 2) {
            *s = (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / rate as f32).sin();
        }
        let mut r = To16k::new(rate).unwrap();
        let mut out = Vec::new();
        for chunk in input.chunks(3000) {
            out.extend(r.push(chunk).unwrap());
        }
        out.extend(r.finish().unwrap());
        assert_eq!(out.len(), 32_000);
        let onset = out.iter().position(|s| s.abs() > 0.5).unwrap();
        assert!((7_990..8_030).contains(&onset), "onset at {onset}");
    }
}
