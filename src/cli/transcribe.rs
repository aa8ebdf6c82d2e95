//! `panelflow transcribe FILE... [--json]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::speech::transcriber::{Transcriber, TranscriberOptions};

/// Transcribes each file with one loaded model. Prints one JSON object per
/// line with `--json`, else the text. A file that fails prints a one-line
/// reason on stderr and the exit status is non-zero.
pub fn run(files: &[PathBuf], json: bool, threads: usize) -> anyhow::Result<ExitCode> {
    let opts = TranscriberOptions { threads, ..TranscriberOptions::default() };
    let mut transcriber = Transcriber::load(&opts)?;
    let mut failed = false;
    for file in files {
        let started = Instant::now();
        match transcriber.transcribe_file(file) {
            Ok(t) => {
                let wall = started.elapsed().as_secs_f64();
                if json {
                    println!("{}", serde_json::to_string(&t)?);
                } else {
                    println!("{}: {}", file.display(), t.text);
                }
                tracing::info!(file = %file.display(), audio_s = t.duration_s, wall_s = wall,
                    speed = t.duration_s / wall.max(1e-9), "transcribed");
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
