//! Transcription over several timely workers in this process, the way the
//! dataflow runs it: each worker owns its models (a [`Transcriber`]) and
//! transcribes the recordings routed to it, batching their segments; here
//! the workers claim files from a shared counter, so a long file does not
//! leave the others idle behind it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::sync::Mutex;
use std::time::Instant;

use super::transcriber::{StageTimes, Transcriber, TranscriberOptions};
use super::{SpeechError, Transcript};

/// What [`transcribe_files`] did.
#[derive(Debug)]
pub struct Run {
    /// One result per file, in the order of the files.
    pub results: Vec<Result<Transcript, SpeechError>>,
    /// Seconds the slowest worker spent loading its models (part of the
    /// wall time, before any audio is read).
    pub load_s: f64,
    /// Seconds per stage, summed over the workers.
    pub stages: StageTimes,
}

/// Transcribes `files` on `workers` timely worker threads (at least one),
/// each with `opts.threads` ONNX Runtime threads per session. An error is
/// returned only when a worker cannot load its models.
pub fn transcribe_files(
    opts: &TranscriberOptions,
    files: &[PathBuf],
    workers: usize,
) -> Result<Run, SpeechError> {
    // Load the runtime once before the threads start, for a clear error.
    super::runtime::init()?;
    let files = Arc::new(files.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let opts = Arc::new(opts.clone());
    let load_s = Arc::new(Mutex::new(0f64));
    let shared = (
        Arc::clone(&files),
        next,
        opts,
        Arc::clone(&load_s),
        Arc::new(Mutex::new(())),
    );
    let guards = timely::execute(timely::Config::process(workers.max(1)), move |worker| {
        let (files, next, opts, load_s, loading) =
            (&shared.0, &shared.1, &shared.2, &shared.3, &shared.4);
        let started = Instant::now();
        // One worker loads at a time: loading briefly holds the model files
        // two or three times over, and those peaks should not add up.
        let mut transcriber = {
            let _one_at_a_time = loading.lock();
            Transcriber::load(opts)?
        };
        if let Ok(mut slowest) = load_s.lock() {
            *slowest = slowest.max(started.elapsed().as_secs_f64());
        }
        let claimed = std::iter::from_fn(|| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            files.get(i).map(|p| (i, p.as_path()))
        });
        let mut out = Vec::new();
        transcriber.transcribe_many(claimed, |i, r| out.push((i, r)));
        tracing::debug!(worker = worker.index(), files = out.len(), "worker done");
        Ok::<_, SpeechError>((out, transcriber.stage_times()))
    })
    .map_err(|e| SpeechError::Inference(format!("timely workers: {e}")))?;
    let mut results: Vec<Option<Result<Transcript, SpeechError>>> =
        (0..files.len()).map(|_| None).collect();
    let mut stages = StageTimes::default();
    for joined in guards.join() {
        let (worker, times) =
            joined.map_err(|e| SpeechError::Inference(format!("timely worker: {e}")))??;
        stages.media_s += times.media_s;
        stages.vad_s += times.vad_s;
        stages.encoder_s += times.encoder_s;
        stages.decoder_s += times.decoder_s;
        for (i, r) in worker {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    let results = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(SpeechError::Inference(
                    "no worker transcribed the file".into(),
                ))
            })
        })
        .collect();
    let load_s = load_s.lock().map(|l| *l).unwrap_or(0.0);
    Ok(Run {
        results,
        load_s,
        stages,
    })
}
