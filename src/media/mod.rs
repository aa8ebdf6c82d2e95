//! Media: how a recording's bytes become 16 kHz mono speech.
//!
//! [`fetch`] streams a (signed) URL to a temporary file under size and time
//! caps, refusing private-network addresses; [`decode`] demuxes and decodes
//! WAV, FLAC, MP3, MP4/AAC and WebM/Opus to mono; [`resample`] brings it to
//! 16 kHz with rubato; [`vad`] splits it at pauses with the Silero model.
//! Everything streams: a long recording never sits in memory whole.

pub mod decode;
pub mod fetch;
pub mod resample;
pub mod vad;

/// Sample rate of everything downstream of [`resample`].
pub const SAMPLE_RATE: u32 = 16_000;

/// Why a recording could not be turned into audio.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The URL is not http(s) or cannot be parsed.
    #[error("media URL refused: {0}")]
    BadUrl(String),
    /// The host resolves to a loopback, private or link-local address.
    #[error("media URL refused: {host} resolves to the forbidden address {addr}")]
    ForbiddenAddress {
        /// Host name in the URL.
        host: String,
        /// The address it resolved to.
        addr: std::net::IpAddr,
    },
    /// The server answered with a non-success status.
    #[error("media fetch failed: HTTP {status} from {host}")]
    HttpStatus {
        /// HTTP status.
        status: u16,
        /// Host of the URL.
        host: String,
    },
    /// Network failure or time-out.
    #[error("media fetch failed: {0}")]
    Fetch(String),
    /// Larger than the configured cap.
    #[error("media too large: more than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
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
}

impl MediaError {
    /// A short, stable code for Parquet's `failure_reason` and dashboards.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::BadUrl(_) => "media_bad_url",
            MediaError::ForbiddenAddress { .. } => "media_forbidden_address",
            MediaError::HttpStatus { .. } => "media_http_status",
            MediaError::Fetch(_) => "media_fetch",
            MediaError::TooLarge { .. } => "media_too_large",
            MediaError::TooLong { .. } => "media_too_long",
            MediaError::NotAudio(_) => "media_not_audio",
            MediaError::NoAudioTrack => "media_no_audio_track",
            MediaError::Corrupt(_) => "media_corrupt",
            MediaError::Io(_) => "media_io",
            MediaError::Vad(_) => "media_vad",
        }
    }
}
