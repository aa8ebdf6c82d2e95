//! Media: how a recording's bytes become 16 kHz mono speech.
//!
//! [`decode`] demuxes and decodes
//! WAV, FLAC, MP3, MP4/AAC and WebM/Opus to mono; [`resample`] brings it to
//! 16 kHz with rubato; [`vad`] splits it at pauses with the Silero model;
//! [`mp4_tables`] refuses MP4 sample tables and boxes that claim more than
//! they hold, and [`flac_blocks`] FLAC metadata that does;
//! [`source`] is how a caller chooses where decoding runs (in this process,
//! or in a child process the engine supplies).
//! Everything streams: a long recording never sits in memory whole.

pub mod decode;
pub mod flac_blocks;
pub mod mp4_tables;
pub mod resample;
pub mod source;
pub mod vad;

/// Sample rate of everything downstream of [`resample`].
pub const SAMPLE_RATE: u32 = 16_000;

pub use crate::error::MediaError;
