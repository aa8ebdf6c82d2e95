//! Demux and decode a recording to mono `f32` at its own sample rate, chunk
//! by chunk. Symphonia reads WAV, FLAC, MP3, MP4/AAC and Matroska/WebM;
//! Opus packets (which symphonia does not decode) go to libopus.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::MediaError;

/// Opus always decodes at 48 kHz.
const OPUS_RATE: u32 = 48_000;
/// Largest Opus frame: 120 ms at 48 kHz.
const OPUS_MAX_FRAME: usize = 5760;
/// Packets that fail to decode before the whole file is called corrupt.
const MAX_BAD_PACKETS: usize = 8;

enum Codec {
    Symphonia(Box<dyn Decoder>),
    Opus {
        decoder: opus::Decoder,
        channels: usize,
        pre_skip: usize,
        buf: Vec<f32>,
    },
}

/// Lowest sample rate a container may declare (8 kHz).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest sample rate a container may declare (192 kHz).
pub const MAX_SAMPLE_RATE: u32 = 192_000;

/// A streaming decoder yielding mono chunks at [`AudioDecoder::sample_rate`].
///
/// ```no_run
/// let mut dec = panelflow_models::media::decode::AudioDecoder::open("datasets/real/jfk.flac".as_ref()).unwrap();
/// let mut total = 0;
/// while let Some(chunk) = dec.next_chunk().unwrap() { total += chunk.len(); }
/// assert!(total > 0);
/// ```
pub struct AudioDecoder {
    format: Box<dyn FormatReader>,
    codec: Codec,
    track_id: u32,
    sample_rate: u32,
    channels: usize,
    declared_frames: Option<u64>,
    decoded_frames: u64,
    bad_packets: usize,
    last_error: Option<String>,
}

impl AudioDecoder {
    /// Opens a file, probes its container and picks the first audio track.
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        // Demuxers can panic on hostile input; that must fail one file, not the worker.
        guard(|| Self::open_unguarded(path, true))
    }

    /// Opens a file without the checks of stated sizes that run before the
    /// demuxer ([`mp4_tables`](super::mp4_tables),
    /// [`flac_blocks`](super::flac_blocks)). Only for testing what stands
    /// behind them: the engine's child decoder and its memory limit.
    pub fn open_without_prechecks(path: &Path) -> Result<Self, MediaError> {
        guard(|| Self::open_unguarded(path, false))
    }

    fn open_unguarded(path: &Path, prechecks: bool) -> Result<Self, MediaError> {
        let mut file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Err(MediaError::NotAudio("empty file".into()));
        }
        // Before the demuxer allocates tables and strings by the counts and
        // lengths the file states.
        if prechecks {
            super::mp4_tables::check(&mut file)?;
            super::flac_blocks::check(&mut file)?;
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| MediaError::NotAudio(format!("unrecognised container ({e})")))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| {
                t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some()
            })
            .or_else(|| {
                format
                    .tracks()
                    .iter()
                    .find(|t| t.codec_params.codec == CODEC_TYPE_OPUS)
            })
            .ok_or(MediaError::NoAudioTrack)?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let channels = params.channels.map(|c| c.count()).unwrap_or(1).max(1);
        let (codec, sample_rate) = if params.codec == CODEC_TYPE_OPUS {
            (open_opus(&params)?, OPUS_RATE)
        } else {
            let rate = params.sample_rate.ok_or(MediaError::NoAudioTrack)?;
            // Checked before a decoder or resampler is built for it: a header
            // claiming 1 Hz or 4 GHz is refused, not allocated for.
            if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
                return Err(MediaError::SampleRate {
                    rate,
                    min: MIN_SAMPLE_RATE,
                    max: MAX_SAMPLE_RATE,
                });
            }
            let dec = symphonia::default::get_codecs()
                .make(&params, &DecoderOptions::default())
                .map_err(|e| MediaError::NotAudio(format!("unsupported codec ({e})")))?;
            (Codec::Symphonia(dec), rate)
        };
        Ok(Self {
            format,
            codec,
            track_id,
            sample_rate,
            channels,
            declared_frames: params.n_frames,
            decoded_frames: 0,
            bad_packets: 0,
            last_error: None,
        })
    }

    /// Sample rate of the chunks this decoder yields.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels of the track as the container states them (the chunks are
    /// mixed down to one).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Duration the container declares, if it does.
    pub fn declared_duration_s(&self) -> Option<f64> {
        self.declared_frames
            .map(|n| n as f64 / self.sample_rate as f64)
    }

    /// The next chunk of mono samples, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, MediaError> {
        guard(|| self.next_chunk_unguarded())
    }

    fn next_chunk_unguarded(&mut self) -> Result<Option<Vec<f32>>, MediaError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return self.finish().map(|()| None);
                }
                Err(SymError::ResetRequired) => return self.finish().map(|()| None),
                Err(e) => {
                    if self.decoded_frames == 0 {
                        return Err(MediaError::Corrupt(format!("cannot read packets ({e})")));
                    }
                    return Err(MediaError::Corrupt(format!(
                        "stream breaks off after {:.1} s ({e})",
                        self.decoded_frames as f64 / self.sample_rate as f64
                    )));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            match self.decode_packet(&packet) {
                Ok(mono) if mono.is_empty() => continue,
                Ok(mono) => {
                    self.decoded_frames += mono.len() as u64;
                    return Ok(Some(mono));
                }
                Err(reason) => {
                    self.bad_packets += 1;
                    self.last_error = Some(reason);
                    if self.bad_packets > MAX_BAD_PACKETS {
                        return Err(MediaError::Corrupt(format!(
                            "{} packets failed to decode (last: {})",
                            self.bad_packets,
                            self.last_error.as_deref().unwrap_or("?")
                        )));
                    }
                }
            }
        }
    }

    fn finish(&self) -> Result<(), MediaError> {
        if self.decoded_frames == 0 {
            return Err(match &self.last_error {
                Some(e) => MediaError::Corrupt(format!("no packet decoded ({e})")),
                None => MediaError::Corrupt("no audio in the stream".into()),
            });
        }
        if let Some(declared) = self.declared_frames {
            // Encoders pad and trim a little; a real truncation loses far more.
            if declared > 0 && (self.decoded_frames as f64) < 0.9 * declared as f64 {
                return Err(MediaError::Corrupt(format!(
                    "truncated: {:.1} s decoded of {:.1} s declared",
                    self.decoded_frames as f64 / self.sample_rate as f64,
                    declared as f64 / self.sample_rate as f64
                )));
            }
        }
        Ok(())
    }

    fn decode_packet(&mut self, packet: &Packet) -> Result<Vec<f32>, String> {
        match &mut self.codec {
            Codec::Symphonia(dec) => {
                let decoded = dec.decode(packet).map_err(|e| e.to_string())?;
                let spec = *decoded.spec();
                let channels = spec.channels.count().max(1);
                let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
                buf.copy_interleaved_ref(decoded);
                Ok(mix_to_mono(buf.samples(), channels))
            }
            Codec::Opus {
                decoder,
                channels,
                pre_skip,
                buf,
            } => {
                let n = decoder
                    .decode_float(&packet.data, buf, false)
                    .map_err(|e| format!("opus: {e}"))?;
                let mut mono = mix_to_mono(&buf[..n * *channels], *channels);
                if *pre_skip > 0 {
                    let skip = (*pre_skip).min(mono.len());
                    mono.drain(..skip);
                    *pre_skip -= skip;
                }
                Ok(mono)
            }
        }
    }
}

/// Runs decoder code, turning a panic inside a demuxer or codec into a
/// `Corrupt` error.
fn guard<T>(f: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    install_quiet_hook();
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    match result {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "decoder failure".into());
            Err(MediaError::Corrupt(format!("malformed stream ({what})")))
        }
    }
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A panic inside [`guard`] is an expected, reported failure of one file:
/// keep it out of stderr (it is logged at debug level instead).
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) {
                tracing::debug!(%info, "decoder panic caught");
            } else {
                previous(info);
            }
        }));
    });
}

/// Averages interleaved frames to one channel.
fn mix_to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|f| f.iter().sum::<f32>() / channels as f32)
        .collect()
}

fn open_opus(params: &CodecParameters) -> Result<Codec, MediaError> {
    let head = params.extra_data.as_deref().unwrap_or(&[]);
    // OpusHead: magic(8) version(1) channels(1) pre_skip(2, LE) ...
    let (head_channels, pre_skip) = if head.len() >= 12 && &head[..8] == b"OpusHead" {
        (
            Some(head[9] as usize),
            u16::from_le_bytes([head[10], head[11]]) as usize,
        )
    } else {
        (None, 0)
    };
    let channels = params
        .channels
        .map(|c| c.count())
        .or(head_channels)
        .unwrap_or(1)
        .clamp(1, 2);
    let layout = if channels == 2 {
        opus::Channels::Stereo
    } else {
        opus::Channels::Mono
    };
    let decoder = opus::Decoder::new(OPUS_RATE, layout)
        .map_err(|e| MediaError::NotAudio(format!("opus decoder: {e}")))?;
    Ok(Codec::Opus {
        decoder,
        channels,
        pre_skip,
        buf: vec![0.0; OPUS_MAX_FRAME * channels],
    })
}

/// Decodes a whole file to mono at its own rate (tests and short clips).
pub fn decode_all(path: &Path) -> Result<(Vec<f32>, u32), MediaError> {
    let mut dec = AudioDecoder::open(path)?;
    let mut out = Vec::new();
    while let Some(chunk) = dec.next_chunk()? {
        out.extend_from_slice(&chunk);
    }
    Ok((out, dec.sample_rate()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets")
            .join(p)
    }

    #[test]
    fn decodes_the_jfk_flac() {
        let (samples, rate) = decode_all(&dataset("real/jfk.flac")).unwrap();
        assert_eq!(rate, 44_100, "the clip is stored at 44.1 kHz");
        let secs = samples.len() as f64 / rate as f64;
        assert!((10.9..11.1).contains(&secs), "{secs}");
    }

    /// A PCM WAV file of `frames` silent 16-bit mono frames declaring `rate`.
    fn wav(rate: u32, frames: u32) -> Vec<u8> {
        let data = frames * 2;
        let mut w = Vec::new();
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(36 + data).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&1u16.to_le_bytes()); // PCM
        w.extend_from_slice(&1u16.to_le_bytes()); // mono
        w.extend_from_slice(&rate.to_le_bytes());
        w.extend_from_slice(&(rate * 2).to_le_bytes());
        w.extend_from_slice(&2u16.to_le_bytes());
        w.extend_from_slice(&16u16.to_le_bytes());
        w.extend_from_slice(b"data");
        w.extend_from_slice(&data.to_le_bytes());
        w.resize(w.len() + data as usize, 0);
        w
    }

    #[test]
    fn sample_rates_outside_8_to_192_khz_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (rate, ok) in [
            (4, false),
            (7_999, false),
            (8_000, true),
            (192_000, true),
            (1_000_000, false),
        ] {
            let p = dir.path().join(format!("r{rate}.wav"));
            std::fs::write(&p, wav(rate, 800)).unwrap();
            match AudioDecoder::open(&p) {
                Ok(d) => {
                    assert!(ok, "{rate} Hz accepted");
                    assert_eq!(d.sample_rate(), rate);
                }
                Err(e) => {
                    assert!(!ok, "{rate} Hz refused: {e}");
                    assert_eq!(e.code(), "media_sample_rate", "{rate}: {e}");
                    assert!(e.to_string().contains(&format!("{rate} Hz")), "{e}");
                }
            }
        }
    }

    #[test]
    fn text_is_not_audio() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.webm");
        std::fs::write(&p, b"hello, this is not a video at all").unwrap();
        let err = AudioDecoder::open(&p).err().unwrap();
        assert!(matches!(err, MediaError::NotAudio(_)), "{err}");
    }

    #[test]
    fn dataset_bad_files_fail_cleanly() {
        for (file, code) in [
            ("bad/corrupt.mp4", "media_corrupt"),
            ("bad/not_audio.webm", "media_not_audio"),
            ("bad/no_audio.mp4", "media_no_audio_track"),
            ("bad/truncated.webm", "media_corrupt"),
        ] {
            let err = decode_all(&dataset(file))
                .err()
                .unwrap_or_else(|| panic!("{file} decoded"));
            assert_eq!(err.code(), code, "{file}: {err}");
        }
    }

    #[test]
    fn truncated_flac_is_reported() {
        let bytes = std::fs::read(dataset("real/jfk.flac")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.flac");
        std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
        let Err(err) = decode_all(&p) else {
            panic!("a third of a file must not pass")
        };
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    }
}
