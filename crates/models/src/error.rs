//! The errors of the audio and speech models: one leaf module, so the
//! media, speech and ONNX Runtime modules share them without importing one
//! another.

/// Why a recording could not be turned into audio.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Longer than the configured cap.
    #[error("media too long: more than {limit_s} s of audio")]
    TooLong {
        /// The cap in seconds.
        limit_s: f64,
    },
    /// Not a container or codec we can read.
    #[error("not audio: {0}")]
    NotAudio(String),
    /// A container with no audio track.
    #[error("no audio track in the file")]
    NoAudioTrack,
    /// The stream ends early or is corrupt.
    #[error("corrupt or truncated audio: {0}")]
    Corrupt(String),
    /// Local I/O.
    #[error("media I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Voice-activity model failure.
    #[error("voice activity model: {0}")]
    Vad(String),
    /// The container declares a sample rate outside what is decoded (8–192 kHz).
    #[error("unsupported sample rate: {rate} Hz (accepted: {min}–{max} Hz)")]
    SampleRate {
        /// The declared rate.
        rate: u32,
        /// Lowest accepted.
        min: u32,
        /// Highest accepted.
        max: u32,
    },
    /// The media made the decoder pass a limit it runs under (memory, CPU
    /// time or wall-clock time, when it decodes in a child process): a
    /// property of the file, so a retry fails the same way.
    #[error("the media made the decoder exceed its {0}")]
    DecoderLimit(String),
}

impl MediaError {
    /// A short, stable code for Parquet's `failure_reason` and dashboards.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::TooLong { .. } => "media_too_long",
            MediaError::NotAudio(_) => "media_not_audio",
            MediaError::NoAudioTrack => "media_no_audio_track",
            MediaError::Corrupt(_) => "media_corrupt",
            MediaError::Io(_) => "media_io",
            MediaError::Vad(_) => "media_vad",
            MediaError::SampleRate { .. } => "media_sample_rate",
            MediaError::DecoderLimit(_) => "media_decoder_limit",
        }
    }
}

/// Errors of the speech stage.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// ONNX Runtime could not be loaded.
    #[error("ONNX Runtime library {path}: {reason} (run the set-up: bash scripts/setup.sh)")]
    Runtime {
        /// The library path tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// A model file is missing or invalid.
    #[error("model {path}: {reason} (run the set-up: bash scripts/setup.sh)")]
    Model {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Inference failed.
    #[error("inference: {0}")]
    Inference(String),
    /// The media could not be read.
    #[error(transparent)]
    Media(#[from] MediaError),
}
