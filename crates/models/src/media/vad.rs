//! Voice activity with the Silero VAD model: 16 kHz audio is scored in
//! 32 ms windows and split into speech segments at pauses, so the speech
//! model never spends compute on silence and long recordings stream.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{DynValue, Tensor};

use super::{MediaError, SAMPLE_RATE};

/// Samples per scored window at 16 kHz.
pub const WINDOW: usize = 512;
/// Samples of the previous window the model sees as context.
const CONTEXT: usize = 64;

/// Tuning of the segmenter.
#[derive(Debug, Clone, Copy)]
pub struct VadParams {
    /// Probability that starts speech.
    pub threshold: f32,
    /// Silence this long (s) ends a segment.
    pub min_silence_s: f32,
    /// Segments shorter than this (s) are dropped as noise.
    pub min_speech_s: f32,
    /// Padding added on both sides (s).
    pub pad_s: f32,
    /// Longest segment (s); longer speech is split at its quietest pause.
    pub max_segment_s: f32,
}

impl Default for VadParams {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            min_silence_s: 0.3,
            min_speech_s: 0.25,
            pad_s: 0.15,
            max_segment_s: 20.0,
        }
    }
}

/// A stretch of speech with its audio.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechSegment {
    /// First sample, counted from the start of the recording.
    pub start_sample: u64,
    /// The audio (16 kHz mono).
    pub samples: Vec<f32>,
}

impl SpeechSegment {
    /// Start in seconds.
    pub fn start_s(&self) -> f64 {
        self.start_sample as f64 / SAMPLE_RATE as f64
    }
    /// End in seconds.
    pub fn end_s(&self) -> f64 {
        (self.start_sample + self.samples.len() as u64) as f64 / SAMPLE_RATE as f64
    }
}

/// The Silero model with its recurrent state.
pub struct SileroVad {
    session: Session,
    state: Vec<f32>,
    context: Vec<f32>,
}

impl SileroVad {
    /// Default location inside the set-up cache.
    pub fn default_path() -> PathBuf {
        crate::onnx::models_dir()
            .join("silero-vad")
            .join("silero_vad.onnx")
    }

    /// Loads the model.
    pub fn load(path: &Path) -> Result<Self, MediaError> {
        let session =
            crate::onnx::open_session(path, 1).map_err(|e| MediaError::Vad(e.to_string()))?;
        Ok(Self {
            session,
            state: vec![0.0; 2 * 128],
            context: vec![0.0; CONTEXT],
        })
    }

    /// Clears the state for a new recording.
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(|s| *s = 0.0);
        self.context.iter_mut().for_each(|s| *s = 0.0);
    }

    /// Speech probability of one 512-sample window.
    pub fn score(&mut self, window: &[f32]) -> Result<f32, MediaError> {
        let err = |e: ort::Error| MediaError::Vad(e.to_string());
        let mut input = Vec::with_capacity(CONTEXT + WINDOW);
        input.extend_from_slice(&self.context);
        input.extend_from_slice(window);
        input.resize(CONTEXT + WINDOW, 0.0);
        self.context
            .copy_from_slice(&input[input.len() - CONTEXT..]);
        let x = Tensor::from_array(([1usize, CONTEXT + WINDOW], input)).map_err(err)?;
        let state = Tensor::from_array(([2usize, 1, 128], self.state.clone())).map_err(err)?;
        let sr = Tensor::from_array(((), vec![SAMPLE_RATE as i64])).map_err(err)?;
        let mut out = self
            .session
            .run(ort::inputs!["input" => x, "state" => state, "sr" => sr])
            .map_err(err)?;
        let prob = {
            let (_, p) = out["output"].try_extract_tensor::<f32>().map_err(err)?;
            p.first().copied().unwrap_or(0.0)
        };
        let new_state: DynValue = out
            .remove("stateN")
            .ok_or_else(|| MediaError::Vad("no stateN".into()))?;
        let (_, s) = new_state.try_extract_tensor::<f32>().map_err(err)?;
        if s.len() == self.state.len() {
            self.state.copy_from_slice(s);
        }
        Ok(prob)
    }
}

/// Streams 16 kHz audio into speech segments. Holds only the audio of the
/// segment in progress (bounded by `max_segment_s`).
pub struct Segmenter {
    vad: SileroVad,
    params: VadParams,
    /// Audio not yet scored.
    unscored: Vec<f32>,
    /// Audio kept for the segment in progress, starting at `buf_start`.
    buf: Vec<f32>,
    buf_start: u64,
    /// Next window's first sample.
    pos: u64,
    speech_start: Option<u64>,
    silence_start: Option<u64>,
    /// Quietest window inside the current segment: (prob, sample).
    quietest: Option<(f32, u64)>,
    last_end: u64,
}

impl Segmenter {
    /// A segmenter over a loaded model.
    pub fn new(mut vad: SileroVad, params: VadParams) -> Self {
        vad.reset();
        Self {
            vad,
            params,
            unscored: Vec::new(),
            buf: Vec::new(),
            buf_start: 0,
            pos: 0,
            speech_start: None,
            silence_start: None,
            quietest: None,
            last_end: 0,
        }
    }

    /// Starts a new recording, keeping the loaded model.
    pub fn reset(&mut self) {
        self.vad.reset();
        self.unscored.clear();
        self.buf.clear();
        self.buf_start = 0;
        self.pos = 0;
        self.speech_start = None;
        self.silence_start = None;
        self.quietest = None;
        self.last_end = 0;
    }

    fn secs(&self, s: f32) -> u64 {
        (s * SAMPLE_RATE as f32) as u64
    }

    /// Feeds audio; returns the segments that closed.
    pub fn push(&mut self, audio: &[f32]) -> Result<Vec<SpeechSegment>, MediaError> {
        self.unscored.extend_from_slice(audio);
        let mut done = Vec::new();
        let mut offset = 0;
        while self.unscored.len() - offset >= WINDOW {
            let window: Vec<f32> = self.unscored[offset..offset + WINDOW].to_vec();
            offset += WINDOW;
            self.buf.extend_from_slice(&window);
            let prob = self.vad.score(&window)?;
            self.step(prob, &mut done);
            self.pos += WINDOW as u64;
        }
        self.unscored.drain(..offset);
        Ok(done)
    }

    /// Ends the recording; returns the last segment, if any.
    pub fn finish(&mut self) -> Result<Vec<SpeechSegment>, MediaError> {
        let mut done = Vec::new();
        let rest = std::mem::take(&mut self.unscored);
        self.buf.extend_from_slice(&rest);
        let end = self.pos + rest.len() as u64;
        if let Some(start) = self.speech_start.take() {
            let stop = self.silence_start.take().unwrap_or(end);
            self.emit(start, stop, end, &mut done);
        }
        Ok(done)
    }

    fn step(&mut self, prob: f32, done: &mut Vec<SpeechSegment>) {
        let p = &self.params;
        let neg = p.threshold - 0.15;
        let window_end = self.pos + WINDOW as u64;
        match self.speech_start {
            None => {
                if prob >= p.threshold {
                    self.speech_start = Some(self.pos);
                    self.silence_start = None;
                    self.quietest = None;
                } else {
                    // Keep only the padding's worth of audio before speech.
                    let keep_from = window_end.saturating_sub(self.secs(p.pad_s));
                    self.drop_before(keep_from);
                }
            }
            Some(start) => {
                if prob >= p.threshold {
                    self.silence_start = None;
                } else if prob < neg {
                    let silence = *self.silence_start.get_or_insert(self.pos);
                    if window_end - silence >= self.secs(p.min_silence_s) {
                        self.speech_start = None;
                        self.silence_start = None;
                        self.emit(start, silence, window_end, done);
                        return;
                    }
                }
                if window_end - start > self.secs(p.min_speech_s.max(2.0))
                    && self.quietest.is_none_or(|(q, _)| prob < q)
                {
                    self.quietest = Some((prob, self.pos + WINDOW as u64 / 2));
                }
                if window_end - start >= self.secs(p.max_segment_s) {
                    // Too long: cut at the quietest point seen, carry the rest on.
                    let cut = self.quietest.map(|(_, s)| s).unwrap_or(window_end);
                    self.emit_raw(start, cut, done);
                    self.speech_start = Some(cut);
                    self.silence_start = None;
                    self.quietest = None;
                }
            }
        }
    }

    /// Emits speech [start, stop) padded, bounded by what is buffered.
    fn emit(&mut self, start: u64, stop: u64, available_end: u64, done: &mut Vec<SpeechSegment>) {
        if stop.saturating_sub(start) < self.secs(self.params.min_speech_s) {
            self.drop_before(stop);
            return;
        }
        let pad = self.secs(self.params.pad_s);
        let from = start
            .saturating_sub(pad)
            .max(self.last_end)
            .max(self.buf_start);
        let to = (stop + pad)
            .min(available_end)
            .min(self.buf_start + self.buf.len() as u64);
        self.emit_raw(from, to, done);
    }

    fn emit_raw(&mut self, from: u64, to: u64, done: &mut Vec<SpeechSegment>) {
        let from = from.max(self.buf_start);
        let lo = (from - self.buf_start) as usize;
        let hi = ((to.max(from)) - self.buf_start) as usize;
        let hi = hi.min(self.buf.len());
        if hi > lo {
            done.push(SpeechSegment {
                start_sample: from,
                samples: self.buf[lo..hi].to_vec(),
            });
        }
        self.last_end = to;
        self.drop_before(to.saturating_sub(self.secs(self.params.pad_s)));
    }

    fn drop_before(&mut self, sample: u64) {
        if sample > self.buf_start {
            let n = ((sample - self.buf_start) as usize).min(self.buf.len());
            self.buf.drain(..n);
            self.buf_start += n as u64;
        }
    }
}
