//! What the decoder child writes and the engine reads.
//!
//! Standard output: a header — the magic `PFD1`, the output sample rate
//! (u32), the source's sample rate (u32) and channels (u16), whether the
//! container declares a duration (u8) and that duration in seconds (f64) —
//! then frames, each a sample count (u32, at least 1) followed by that many
//! mono `f32` samples, and a count of 0 at the end. All little-endian.
//!
//! Standard error: when decoding fails, one line `ERROR_PREFIX` + the
//! error as JSON ([`WireError`]), and the exit status [`EXIT_MEDIA_ERROR`].
//! Anything else there (an allocation failure's message, a panic) is read
//! by the engine to name what happened.

use std::io::{self, Read, Write};

use panelflow_models::media::MediaError;
use serde::{Deserialize, Serialize};

/// First bytes of the child's output (and the protocol's version).
pub const MAGIC: [u8; 4] = *b"PFD1";

/// What starts the child's error line on standard error.
pub const ERROR_PREFIX: &str = "panelflow-decode-error: ";

/// The child's exit status when the media could not be decoded.
pub const EXIT_MEDIA_ERROR: i32 = 2;

/// Most samples one frame may hold (16 s at 16 kHz, four times more than
/// the child sends): bounds what a confused child can make the engine
/// allocate.
pub const MAX_FRAME_SAMPLES: u32 = 1 << 18;

/// What the child tells before the audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// Sample rate of the frames.
    pub rate: u32,
    /// Sample rate of the recording's audio track.
    pub source_rate: u32,
    /// Channels of the recording's audio track (the frames are mono).
    pub channels: u16,
    /// Duration the container declares, seconds.
    pub declared_s: Option<f64>,
}

/// One frame of the child's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Mono samples.
    Chunk(Vec<f32>),
    /// The audio is complete.
    End,
}

/// Writes the header.
pub fn write_header(w: &mut impl Write, h: &Header) -> io::Result<()> {
    w.write_all(&MAGIC)?;
    w.write_all(&h.rate.to_le_bytes())?;
    w.write_all(&h.source_rate.to_le_bytes())?;
    w.write_all(&h.channels.to_le_bytes())?;
    w.write_all(&[u8::from(h.declared_s.is_some())])?;
    w.write_all(&h.declared_s.unwrap_or(0.0).to_le_bytes())
}

/// Reads the header; `InvalidData` when the magic is not there (the
/// program is not a panelflow decoder).
pub fn read_header(r: &mut impl Read) -> io::Result<Header> {
    let mut b = [0u8; 23];
    r.read_exact(&mut b[..4])?;
    if b[..4] != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the decoder's output does not start with its header",
        ));
    }
    r.read_exact(&mut b[4..])?;
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut f = [0u8; 8];
    f.copy_from_slice(&b[15..23]);
    Ok(Header {
        rate: u32_at(4),
        source_rate: u32_at(8),
        channels: u16::from_le_bytes([b[12], b[13]]),
        declared_s: (b[14] != 0).then(|| f64::from_le_bytes(f)),
    })
}

/// Writes a chunk of samples (nothing for an empty one; long chunks as
/// several frames).
pub fn write_chunk(w: &mut impl Write, samples: &[f32]) -> io::Result<()> {
    for part in samples.chunks(MAX_FRAME_SAMPLES as usize / 4) {
        w.write_all(&(part.len() as u32).to_le_bytes())?;
        let mut bytes = Vec::with_capacity(part.len() * 4);
        for s in part {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        w.write_all(&bytes)?;
    }
    Ok(())
}

/// Writes the end of the audio.
pub fn write_end(w: &mut impl Write) -> io::Result<()> {
    w.write_all(&0u32.to_le_bytes())
}

/// Reads the next frame.
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut n = [0u8; 4];
    r.read_exact(&mut n)?;
    let n = u32::from_le_bytes(n);
    if n == 0 {
        return Ok(Frame::End);
    }
    if n > MAX_FRAME_SAMPLES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {n} samples from the decoder"),
        ));
    }
    let mut bytes = vec![0u8; n as usize * 4];
    r.read_exact(&mut bytes)?;
    Ok(Frame::Chunk(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    ))
}

/// A [`MediaError`] as the child reports it, so the engine raises the same
/// error it would have raised decoding in its own process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum WireError {
    /// [`MediaError::TooLong`].
    MediaTooLong {
        /// The cap.
        limit_s: f64,
    },
    /// [`MediaError::NotAudio`].
    MediaNotAudio {
        /// Why.
        detail: String,
    },
    /// [`MediaError::NoAudioTrack`].
    MediaNoAudioTrack,
    /// [`MediaError::Corrupt`].
    MediaCorrupt {
        /// Why.
        detail: String,
    },
    /// [`MediaError::Io`].
    MediaIo {
        /// Why.
        detail: String,
    },
    /// [`MediaError::Vad`].
    MediaVad {
        /// Why.
        detail: String,
    },
    /// [`MediaError::SampleRate`].
    MediaSampleRate {
        /// The declared rate.
        rate: u32,
        /// Lowest accepted.
        min: u32,
        /// Highest accepted.
        max: u32,
    },
    /// [`MediaError::DecoderLimit`].
    MediaDecoderLimit {
        /// The limit.
        detail: String,
    },
}

impl From<&MediaError> for WireError {
    fn from(e: &MediaError) -> Self {
        match e {
            MediaError::TooLong { limit_s } => WireError::MediaTooLong { limit_s: *limit_s },
            MediaError::NotAudio(d) => WireError::MediaNotAudio { detail: d.clone() },
            MediaError::NoAudioTrack => WireError::MediaNoAudioTrack,
            MediaError::Corrupt(d) => WireError::MediaCorrupt { detail: d.clone() },
            MediaError::Io(e) => WireError::MediaIo {
                detail: e.to_string(),
            },
            MediaError::Vad(d) => WireError::MediaVad { detail: d.clone() },
            MediaError::SampleRate { rate, min, max } => WireError::MediaSampleRate {
                rate: *rate,
                min: *min,
                max: *max,
            },
            MediaError::DecoderLimit(d) => WireError::MediaDecoderLimit { detail: d.clone() },
        }
    }
}

impl From<WireError> for MediaError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::MediaTooLong { limit_s } => MediaError::TooLong { limit_s },
            WireError::MediaNotAudio { detail } => MediaError::NotAudio(detail),
            WireError::MediaNoAudioTrack => MediaError::NoAudioTrack,
            WireError::MediaCorrupt { detail } => MediaError::Corrupt(detail),
            WireError::MediaIo { detail } => MediaError::Io(io::Error::other(detail)),
            WireError::MediaVad { detail } => MediaError::Vad(detail),
            WireError::MediaSampleRate { rate, min, max } => {
                MediaError::SampleRate { rate, min, max }
            }
            WireError::MediaDecoderLimit { detail } => MediaError::DecoderLimit(detail),
        }
    }
}

/// The error line the child writes on standard error.
pub fn error_line(e: &MediaError) -> String {
    let json = serde_json::to_string(&WireError::from(e))
        .unwrap_or_else(|_| r#"{"code":"media_corrupt","detail":"unreportable error"}"#.into());
    format!("{ERROR_PREFIX}{json}")
}

/// The error in the child's standard error, if it wrote one (its last).
pub fn parse_error(stderr: &str) -> Option<MediaError> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(ERROR_PREFIX))
        .and_then(|json| serde_json::from_str::<WireError>(json).ok())
        .map(MediaError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_frames_round_trip() {
        let h = Header {
            rate: 16_000,
            source_rate: 44_100,
            channels: 2,
            declared_s: Some(11.0),
        };
        let mut w = Vec::new();
        write_header(&mut w, &h).unwrap();
        write_chunk(&mut w, &[0.5, -0.25]).unwrap();
        write_chunk(&mut w, &[]).unwrap();
        let long: Vec<f32> = (0..MAX_FRAME_SAMPLES).map(|i| i as f32).collect();
        write_chunk(&mut w, &long).unwrap();
        write_end(&mut w).unwrap();
        let mut r = w.as_slice();
        assert_eq!(read_header(&mut r).unwrap(), h);
        assert_eq!(read_frame(&mut r).unwrap(), Frame::Chunk(vec![0.5, -0.25]));
        let mut back = Vec::new();
        while let Frame::Chunk(c) = read_frame(&mut r).unwrap() {
            back.extend(c);
        }
        assert_eq!(back, long);
        assert!(r.is_empty());
    }

    #[test]
    fn another_programs_output_and_huge_frames_are_refused() {
        let err = read_header(&mut &b"running 0 tests\n\ntest result: ok"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let huge = (MAX_FRAME_SAMPLES + 1).to_le_bytes();
        let err = read_frame(&mut &huge[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn every_media_error_crosses_as_itself() {
        let errors = [
            MediaError::TooLong { limit_s: 60.0 },
            MediaError::NotAudio("unrecognised container (x)".into()),
            MediaError::NoAudioTrack,
            MediaError::Corrupt("truncated: 1.0 s decoded of 4.0 s declared".into()),
            MediaError::Io(io::Error::other("disk")),
            MediaError::Vad("v".into()),
            MediaError::SampleRate {
                rate: 4,
                min: 8_000,
                max: 192_000,
            },
            MediaError::DecoderLimit("memory limit (1024 MiB)".into()),
        ];
        for e in errors {
            let stderr = format!("some noise\n{}\n", error_line(&e));
            let back = parse_error(&stderr).expect("parsed");
            assert_eq!((back.code(), back.to_string()), (e.code(), e.to_string()));
        }
        assert!(parse_error("memory allocation of 5 bytes failed").is_none());
    }
}
