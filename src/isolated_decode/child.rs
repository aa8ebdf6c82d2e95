//! The child's side: `panelflow decode-media FILE` (hidden from `--help`),
//! run by the engine under its limits. Decodes the file in-process with
//! the library's decoder, resamples it to the speech model's rate, and
//! writes it to standard output in the [`protocol`](super::protocol)'s
//! frames; a decoding error goes to standard error as one line.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use panelflow_models::media::decode::AudioDecoder;
use panelflow_models::media::resample::To16k;
use panelflow_models::media::{MediaError, SAMPLE_RATE};

use super::protocol::{self, Header, EXIT_MEDIA_ERROR};

/// Why the child stopped early.
enum Stop {
    /// The media could not be decoded.
    Media(MediaError),
    /// Standard output is gone (the engine stopped reading: enough audio,
    /// or it gave up).
    Output,
}

impl From<MediaError> for Stop {
    fn from(e: MediaError) -> Self {
        Stop::Media(e)
    }
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Self {
        Stop::Output
    }
}

/// Decodes `path` to standard output; the process's exit status.
pub fn run(path: &Path) -> ExitCode {
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(64 << 10, stdout);
    match decode(path, &mut out).and_then(|()| out.flush().map_err(Stop::from)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Media(e)) => {
            eprintln!("{}", protocol::error_line(&e));
            ExitCode::from(EXIT_MEDIA_ERROR as u8)
        }
        Err(Stop::Output) => ExitCode::from(3),
    }
}

/// Whether the checks of stated sizes before the demuxer are skipped: only
/// in a development build (`--features dev`), when the tests set
/// `PANELFLOW_DEV_SKIP_MEDIA_PRECHECKS=1` to show that the memory limit
/// alone contains a file those checks would miss. The production binary
/// never skips them.
fn skip_prechecks() -> bool {
    cfg!(feature = "dev")
        && std::env::var_os("PANELFLOW_DEV_SKIP_MEDIA_PRECHECKS").is_some_and(|v| v == "1")
}

/// Decodes `path` into `out`: what the transcriber does in-process before
/// voice activity (decode, then resample chunk by chunk), so the samples
/// are the same.
fn decode(path: &Path, out: &mut impl Write) -> Result<(), Stop> {
    let mut decoder = if skip_prechecks() {
        AudioDecoder::open_without_prechecks(path)?
    } else {
        AudioDecoder::open(path)?
    };
    protocol::write_header(
        out,
        &Header {
            rate: SAMPLE_RATE,
            source_rate: decoder.sample_rate(),
            channels: u16::try_from(decoder.channels()).unwrap_or(u16::MAX),
            declared_s: decoder.declared_duration_s(),
        },
    )?;
    // The header first: the engine refuses a recording declared too long
    // before anything else is done for it.
    out.flush()?;
    let mut resampler = To16k::new(decoder.sample_rate())?;
    while let Some(chunk) = decoder.next_chunk()? {
        protocol::write_chunk(out, &resampler.push(&chunk)?)?;
    }
    protocol::write_chunk(out, &resampler.finish()?)?;
    protocol::write_end(out)?;
    Ok(())
}
