//! One recording in, one timed transcript out: decode → 16 kHz → voice
//! segments → Moonshine, streaming so memory stays bounded however long the
//! recording is.

use std::path::Path;

use super::moonshine::{ModelInfo, Moonshine};
use super::{Segment, SpeechError, Transcript};
use crate::media::decode::AudioDecoder;
use crate::media::resample::To16k;
use crate::media::vad::{Segmenter, SileroVad, SpeechSegment, VadParams};
use crate::media::{MediaError, SAMPLE_RATE};

/// Options of a [`Transcriber`].
#[derive(Debug, Clone)]
pub struct TranscriberOptions {
    /// Folder of the Moonshine model.
    pub model_dir: std::path::PathBuf,
    /// The Silero VAD model file.
    pub vad_model: std::path::PathBuf,
    /// ONNX Runtime intra-op threads per session.
    pub threads: usize,
    /// Voice-activity tuning.
    pub vad: VadParams,
    /// Longest recording accepted, seconds.
    pub max_duration_s: f64,
}

impl Default for TranscriberOptions {
    fn default() -> Self {
        Self {
            model_dir: Moonshine::default_dir(),
            vad_model: SileroVad::default_path(),
            threads: 1,
            vad: VadParams::default(),
            max_duration_s: 3.0 * 3600.0,
        }
    }
}

impl TranscriberOptions {
    /// Options from a pipeline config.
    pub fn from_config(cfg: &crate::config::PipelineConfig) -> Self {
        let models = cfg.models_dir();
        Self {
            model_dir: models.join("moonshine-base-en"),
            vad_model: models.join("silero-vad").join("silero_vad.onnx"),
            threads: cfg.speech.threads,
            vad: VadParams { max_segment_s: cfg.speech.max_segment_s, ..VadParams::default() },
            max_duration_s: cfg.media.max_duration_s,
        }
    }
}

/// Loaded models, reused across files.
///
/// ```no_run
/// use panelflow::speech::transcriber::{Transcriber, TranscriberOptions};
/// let mut t = Transcriber::load(&TranscriberOptions::default()).unwrap();
/// let transcript = t.transcribe_file("datasets/real/jfk.flac".as_ref()).unwrap();
/// assert!(transcript.text.to_lowercase().contains("fellow americans"));
/// ```
pub struct Transcriber {
    asr: Moonshine,
    segmenter: Segmenter,
    max_duration_s: f64,
}

impl Transcriber {
    /// Loads the speech and voice-activity models.
    pub fn load(opts: &TranscriberOptions) -> Result<Self, SpeechError> {
        let asr = Moonshine::load(&opts.model_dir, opts.threads)?;
        let vad = SileroVad::load(&opts.vad_model)?;
        Ok(Self { asr, segmenter: Segmenter::new(vad, opts.vad), max_duration_s: opts.max_duration_s })
    }

    /// The speech model's provenance.
    pub fn model(&self) -> &ModelInfo {
        self.asr.info()
    }

    /// Transcribes a media file.
    pub fn transcribe_file(&mut self, path: &Path) -> Result<Transcript, SpeechError> {
        let mut decoder = AudioDecoder::open(path)?;
        if let Some(declared) = decoder.declared_duration_s() {
            if declared > self.max_duration_s {
                return Err(MediaError::TooLong { limit_s: self.max_duration_s }.into());
            }
        }
        let mut resampler = To16k::new(decoder.sample_rate())?;
        self.segmenter.reset();
        let mut segments = Vec::new();
        let mut total: u64 = 0;
        let limit = (self.max_duration_s * SAMPLE_RATE as f64) as u64;
        while let Some(chunk) = decoder.next_chunk()? {
            let audio = resampler.push(&chunk)?;
            total += audio.len() as u64;
            if total > limit {
                return Err(MediaError::TooLong { limit_s: self.max_duration_s }.into());
            }
            for speech in self.segmenter.push(&audio)? {
                segments.extend(self.transcribe_segment(&speech)?);
            }
        }
        let tail = resampler.finish()?;
        total += tail.len() as u64;
        let mut closing = self.segmenter.push(&tail)?;
        closing.extend(self.segmenter.finish()?);
        for speech in closing {
            segments.extend(self.transcribe_segment(&speech)?);
        }
        let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Transcript {
            duration_s: total as f64 / SAMPLE_RATE as f64,
            language: "en".into(),
            model: format!("{} ({})", self.asr.info().name, self.asr.info().version),
            segments,
            text,
        })
    }

    fn transcribe_segment(&mut self, speech: &SpeechSegment) -> Result<Option<Segment>, SpeechError> {
        let decoded = self.asr.transcribe(&speech.samples)?;
        if decoded.text.is_empty() {
            return Ok(None);
        }
        Ok(Some(Segment {
            start: round_ms(speech.start_s()),
            end: round_ms(speech.end_s()),
            text: decoded.text,
            confidence: decoded.confidence,
        }))
    }
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
