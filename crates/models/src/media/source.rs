//! Where a recording's audio comes from: an [`AudioStream`] of mono chunks,
//! opened by a [`MediaOpener`].
//!
//! The transcriber reads every recording through a [`MediaOpener`], so the
//! caller chooses where demuxing and decoding happen. [`InProcess`] (the
//! default, used by the library, the fuzz target and the benches) runs the
//! [`AudioDecoder`] in the calling thread; the engine plugs in a decoder
//! that runs in a child process under memory and CPU limits, because a
//! hostile file can make a demuxer ask for gigabytes, and an allocation
//! failure aborts the whole process (no `catch_unwind` can stop an abort).

use std::path::Path;

use super::decode::AudioDecoder;
use super::MediaError;

/// Decoded mono audio, chunk by chunk, at [`AudioStream::sample_rate`].
pub trait AudioStream: Send {
    /// Sample rate of the chunks.
    fn sample_rate(&self) -> u32;

    /// Duration the container declares, if it does (checked against the
    /// duration cap before any audio is read).
    fn declared_duration_s(&self) -> Option<f64>;

    /// The next chunk of mono samples, or `None` at the end of the stream.
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, MediaError>;
}

impl AudioStream for AudioDecoder {
    fn sample_rate(&self) -> u32 {
        AudioDecoder::sample_rate(self)
    }

    fn declared_duration_s(&self) -> Option<f64> {
        AudioDecoder::declared_duration_s(self)
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, MediaError> {
        AudioDecoder::next_chunk(self)
    }
}

/// Opens recordings for decoding.
pub trait MediaOpener: Send + Sync + std::fmt::Debug {
    /// Opens the recording at `path`: its container is probed and its audio
    /// track chosen before this returns.
    fn open(&self, path: &Path) -> Result<Box<dyn AudioStream>, MediaError>;
}

/// Decodes in the calling thread with [`AudioDecoder`]: fast, but a file
/// that makes the demuxer's allocation fail aborts this process.
///
/// ```no_run
/// use panelflow_models::media::source::{InProcess, MediaOpener};
/// let mut audio = InProcess.open("datasets/real/jfk.flac".as_ref()).unwrap();
/// assert_eq!(audio.sample_rate(), 44_100);
/// assert!(audio.next_chunk().unwrap().is_some());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl MediaOpener for InProcess {
    fn open(&self, path: &Path) -> Result<Box<dyn AudioStream>, MediaError> {
        Ok(Box::new(AudioDecoder::open(path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_process_reads_what_the_decoder_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/real/jfk.flac");
        let (direct, rate) = super::super::decode::decode_all(&path).unwrap();
        let mut stream = InProcess.open(&path).unwrap();
        assert_eq!(stream.sample_rate(), rate);
        let mut through = Vec::new();
        while let Some(chunk) = stream.next_chunk().unwrap() {
            through.extend(chunk);
        }
        assert_eq!(through, direct);
    }

    #[test]
    fn in_process_reports_decoder_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mp4");
        std::fs::write(&p, b"not a video").unwrap();
        let err = InProcess.open(&p).err().unwrap();
        assert_eq!(err.code(), "media_not_audio", "{err}");
    }
}
