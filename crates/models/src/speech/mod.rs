//! Speech: where audio becomes text. [`model`] is the speech model a
//! transcriber runs, [`moonshine`] (the default) or [`whisper`] (`[speech]
//! model = "whisper-base"`), each an encoder and a decoder with greedy
//! decoding, batched (many segments per decoder call); [`batching`] holds
//! what they share. [`tokenizer`] turns Moonshine's token ids into text,
//! [`transcriber`] streams files through decode → resample → voice activity
//! → model ([`windows`] packs voice segments into the windows Whisper reads
//! with timestamps), and [`parallel`] runs transcription on several timely
//! workers.

mod assemble;
pub mod batching;
pub mod model;
pub mod moonshine;
pub mod parallel;
pub mod tokenizer;
pub mod transcriber;
pub mod whisper;
pub mod windows;

use serde::{Deserialize, Serialize};

pub use crate::error::SpeechError;

/// The speech model used when `[speech] model` is not set. Moonshine base:
/// about 3.5 times Whisper base's throughput here. Whisper base, reading
/// voice segments together in windows, gets fewer words wrong and keeps more
/// key facts on the development split, but places answer boundaries worse
/// in one-recording interviews (README, Quality). A pipeline that wants
/// Whisper says `model = "whisper-base"`.
pub const DEFAULT_MODEL: &str = "moonshine-base-en";

/// `[speech]`: the speech model and voice activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechSection {
    /// Folder of the converted models; empty = the set-up cache.
    pub models_dir: Option<std::path::PathBuf>,
    /// The speech model: a folder of the models folder (`whisper-base`
    /// or `moonshine-base-en`, both installed by the set-up).
    pub model: String,
    /// Hypotheses Whisper keeps per segment (beam search; 1 = greedy).
    /// Moonshine always decodes greedily.
    pub beams: usize,
    /// ONNX Runtime intra-op threads per session (0 = runtime default).
    pub threads: usize,
    /// Longest voice segment sent to the model, seconds.
    pub max_segment_s: f32,
    /// Whisper reads consecutive voice segments together in windows of at
    /// most this many seconds, with timestamps: a sentence is transcribed
    /// with the sentences around it (0: each voice segment alone).
    pub window_s: f32,
    /// The longest pause inside such a window, seconds.
    pub window_gap_s: f32,
    /// Interviews a worker transcribes together, their voice segments
    /// sharing decoder batches (more: throughput; fewer: latency).
    pub batch_interviews: usize,
}

impl Default for SpeechSection {
    fn default() -> Self {
        Self {
            models_dir: None,
            model: DEFAULT_MODEL.into(),
            beams: whisper::DEFAULT_BEAMS,
            threads: 1,
            max_segment_s: 20.0,
            window_s: windows::DEFAULT_WINDOW_S,
            window_gap_s: windows::DEFAULT_WINDOW_GAP_S,
            batch_interviews: 4,
        }
    }
}

impl SpeechSection {
    /// The models folder in effect: `models_dir`, else the set-up cache's
    /// ([`crate::onnx::models_dir`]).
    pub fn models_dir(&self) -> std::path::PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(crate::onnx::models_dir)
    }
}

/// A transcribed stretch of speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, seconds from the start of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Text.
    pub text: String,
    /// Mean token probability of the greedy decode, 0..1.
    pub confidence: f64,
}

/// A whole recording's transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Length of the audio, seconds.
    pub duration_s: f64,
    /// Language of the model.
    pub language: String,
    /// Model name and version.
    pub model: String,
    /// Timed segments.
    pub segments: Vec<Segment>,
    /// All segments' text joined.
    pub text: String,
}

/// The mean confidence of segments, weighted by their length (0 when they
/// span no time).
///
/// ```
/// use panelflow_models::speech::{mean_confidence, Segment};
/// let s = |start: f64, end: f64, confidence: f64| Segment { start, end, text: String::new(), confidence };
/// assert!((mean_confidence(&[s(0.0, 3.0, 0.9), s(3.0, 4.0, 0.5)]) - 0.8).abs() < 1e-12);
/// assert_eq!(mean_confidence(&[]), 0.0);
/// ```
pub fn mean_confidence<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> f64 {
    let (weighted, span) = segments.into_iter().fold((0.0, 0.0), |(w, s), seg| {
        let len = (seg.end - seg.start).max(0.0);
        (w + seg.confidence * len, s + len)
    });
    if span > 0.0 {
        weighted / span
    } else {
        0.0
    }
}

impl Transcript {
    /// A transcript of these segments, its text their texts joined.
    ///
    /// ```
    /// use panelflow_models::speech::{Segment, Transcript};
    /// let s = |text: &str| Segment { start: 0.0, end: 1.0, text: text.into(), confidence: 0.9 };
    /// let t = Transcript::from_segments(2.0, "en", "m".into(), vec![s("I built it."), s("It shipped.")]);
    /// assert_eq!(t.text, "I built it. It shipped.");
    /// ```
    pub fn from_segments(
        duration_s: f64,
        language: &str,
        model: String,
        segments: Vec<Segment>,
    ) -> Self {
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            duration_s,
            language: language.to_string(),
            model,
            segments,
            text,
        }
    }

    /// Number of words in the transcript.
    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }

    /// Speaking rate over the whole recording.
    pub fn words_per_minute(&self) -> f64 {
        if self.duration_s <= 0.0 {
            return 0.0;
        }
        self.word_count() as f64 * 60.0 / self.duration_s
    }
}
