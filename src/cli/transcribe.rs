//! `panelflow transcribe FILE... [--json] [--workers N] [--batch N] [--summary] [--model NAME] [--beams N] [--window-s S]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use panelflow_connectors::media::MediaSection;
use panelflow_models::speech::batching::BatchLimits;
use panelflow_models::speech::transcriber::TranscriberOptions;

/// Flags of `panelflow transcribe`.
#[derive(Debug, Clone)]
pub struct Options {
    /// One JSON object per file, one per line.
    pub json: bool,
    /// ONNX Runtime intra-op threads per session.
    pub threads: usize,
    /// Timely worker threads, each with its own models.
    pub workers: usize,
    /// Segments per decoder call at most.
    pub batch: usize,
    /// Encoder frames per decoder call at most (rows × longest row); the
    /// default when `None`.
    pub batch_frames: Option<usize>,
    /// Print a JSON line of figures on stderr at the end.
    pub summary: bool,
    /// The speech model's folder name in the models folder.
    pub model: String,
    /// Hypotheses per segment in Whisper's beam search.
    pub beams: usize,
    /// Whisper's window of voice segments read together, seconds (0: none).
    pub window_s: f32,
}

/// Transcribes the files (their segments batched together, on
/// `opts.workers` workers). Prints one JSON object per line with `--json`,
/// else the text, in the order of `files`. A file that fails prints a
/// one-line reason on stderr and the exit status is non-zero.
pub fn run(files: &[PathBuf], opts: &Options) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let topts = TranscriberOptions {
        threads: opts.threads,
        batch: BatchLimits {
            max_segments: opts.batch.max(1),
            max_frames: opts
                .batch_frames
                .unwrap_or(BatchLimits::default().max_frames)
                .max(1),
        },
        // Files are decoded in a child process under `[media.decoder]`'s
        // default limits: one hostile file fails alone.
        decoder: crate::isolated_decode::media_opener(&MediaSection::default()),
        model_dir: panelflow_models::onnx::models_dir().join(&opts.model),
        beams: opts.beams,
        window_s: opts.window_s,
        ..TranscriberOptions::default()
    };
    let run = panelflow_models::speech::parallel::transcribe_files(&topts, files, opts.workers)?;
    let wall = started.elapsed().as_secs_f64();
    let results = run.results;
    let mut failed = false;
    let mut audio_s = 0.0;
    for (file, result) in files.iter().zip(results) {
        match result {
            Ok(t) => {
                audio_s += t.duration_s;
                if opts.json {
                    println!("{}", serde_json::to_string(&t)?);
                } else {
                    println!("{}: {}", file.display(), t.text);
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
        }
    }
    tracing::info!(
        files = files.len(),
        audio_s,
        wall_s = wall,
        speed = audio_s / wall.max(1e-9),
        "transcribed"
    );
    if opts.summary {
        let figures = serde_json::json!({
            "files": files.len(),
            "audio_s": audio_s,
            "wall_s": wall,
            "load_s": run.load_s,
            "stages_s": run.stages,
            "workers": opts.workers.max(1),
            "threads": opts.threads,
            "batch": opts.batch.max(1),
        });
        eprintln!("{figures}");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
