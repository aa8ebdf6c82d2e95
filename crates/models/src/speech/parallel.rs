//! Transcription over several timely workers in this process: each worker
//! owns its models (a [`Transcriber`]); the workers share the *voice
//! segments*, not just the files. A worker claims the next file, reads it
//! (decode, resample, voice activity) and puts its segments in a shared
//! pool; every worker takes batches of segments from the pool, encodes and
//! decodes them, and files the texts under their recording. So one long
//! recording keeps every worker busy (its reader helps decode whenever the
//! pool is full), and many short ones share decoder batches across workers.
//!
//! The pool is bounded: a reader that finds it full decodes a batch before
//! reading on, so memory stays that of a few batches however long the
//! recordings are. Segment times come from the one reader of each file, so
//! the transcript is the same whatever the number of workers.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::assemble::{assemble, place, round_ms, Pending};
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
    /// Voice segments each worker decoded (whichever worker read them).
    pub decoded_by_worker: Vec<usize>,
}

/// A voice segment waiting in the pool: (file, segment index, 16 kHz audio).
type Job = (usize, usize, Vec<f32>);

/// One recording's progress.
#[derive(Default)]
struct FileProgress {
    segments: Vec<Pending>,
    /// Segments in the pool or being decoded.
    outstanding: usize,
    /// All its audio has been read.
    read: bool,
    duration_s: f64,
    error: Option<SpeechError>,
    result: Option<Result<Transcript, SpeechError>>,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    files: Vec<FileProgress>,
    /// Workers reading a file now.
    readers: usize,
}

/// The segments shared by the workers, and the files' progress.
struct Pool {
    state: Mutex<PoolState>,
    changed: Condvar,
    next_file: AtomicUsize,
    files: Vec<PathBuf>,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claim_file(&self) -> Option<usize> {
        let i = self.next_file.fetch_add(1, Ordering::Relaxed);
        (i < self.files.len()).then_some(i)
    }

    fn files_left(&self) -> bool {
        self.next_file.load(Ordering::Relaxed) < self.files.len()
    }
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
    crate::onnx::init()?;
    let pool = Arc::new(Pool {
        state: Mutex::new(PoolState {
            files: files.iter().map(|_| FileProgress::default()).collect(),
            ..PoolState::default()
        }),
        changed: Condvar::new(),
        next_file: AtomicUsize::new(0),
        files: files.to_vec(),
    });
    let opts = Arc::new(opts.clone());
    let load_s = Arc::new(Mutex::new(0f64));
    let loading = Arc::new(Mutex::new(()));
    let shared = (Arc::clone(&pool), opts, Arc::clone(&load_s), loading);
    let guards = timely::execute(timely::Config::process(workers.max(1)), move |worker| {
        let (pool, opts, load_s, loading) = (&shared.0, &shared.1, &shared.2, &shared.3);
        let started = Instant::now();
        // One worker loads at a time: loading briefly holds the model files
        // two or three times over, and those peaks should not add up.
        let loaded = {
            let _one_at_a_time = loading.lock();
            Transcriber::load(opts)
        };
        let mut transcriber = match loaded {
            Ok(t) => t,
            Err(e) => {
                // Its files are claimed by the others; wake them to finish.
                pool.changed.notify_all();
                return Err(e);
            }
        };
        if let Ok(mut slowest) = load_s.lock() {
            *slowest = slowest.max(started.elapsed().as_secs_f64());
        }
        let decoded = work(pool, &mut transcriber);
        tracing::debug!(worker = worker.index(), decoded, "worker done");
        Ok::<_, SpeechError>((transcriber.stage_times(), decoded))
    })
    .map_err(|e| SpeechError::Inference(format!("timely workers: {e}")))?;
    let mut stages = StageTimes::default();
    let mut decoded_by_worker = Vec::new();
    let mut loaded_any = false;
    let mut load_error = None;
    for joined in guards.join() {
        match joined.map_err(|e| SpeechError::Inference(format!("timely worker: {e}")))? {
            Ok((times, decoded)) => {
                decoded_by_worker.push(decoded);
                loaded_any = true;
                stages.media_s += times.media_s;
                stages.vad_s += times.vad_s;
                stages.encoder_s += times.encoder_s;
                stages.decoder_s += times.decoder_s;
            }
            Err(e) => {
                decoded_by_worker.push(0);
                load_error = Some(e);
            }
        }
    }
    if let (false, Some(e)) = (loaded_any, load_error) {
        return Err(e);
    }
    let mut state = pool.lock();
    let results = state
        .files
        .iter_mut()
        .map(|f| {
            f.result.take().unwrap_or_else(|| {
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
        decoded_by_worker,
    })
}

/// One worker's loop: decode a batch when segments wait, else read the next
/// file, else wait for segments (or the end). Returns how many segments it
/// decoded.
fn work(pool: &Pool, t: &mut Transcriber) -> usize {
    let mut decoded = 0;
    loop {
        let n = decode_some(pool, t);
        if n > 0 {
            decoded += n;
            continue;
        }
        if let Some(file) = pool.claim_file() {
            decoded += read_into_pool(pool, t, file);
            continue;
        }
        let state = pool.lock();
        if state.queue.is_empty() && state.readers == 0 && !pool.files_left() {
            pool.changed.notify_all();
            return decoded;
        }
        if state.queue.is_empty() {
            // Woken when segments arrive or a reader finishes.
            drop(
                pool.changed
                    .wait_timeout(state, std::time::Duration::from_millis(50))
                    .map(|(g, _)| g),
            );
        }
    }
}

/// Reads one file's voice segments into the pool; decodes a batch whenever
/// the pool holds more than a few batches. Returns the segments it decoded
/// meanwhile.
fn read_into_pool(pool: &Pool, t: &mut Transcriber, file: usize) -> usize {
    pool.lock().readers += 1;
    let mut decoded = 0;
    let limits = t.speech_model().batch_limits();
    let high_water = limits.max_segments.saturating_mul(4).max(1);
    let path = pool.files[file].clone();
    let read = t.stream_voice(&path, |t, closed, last| {
        let units = t.units(closed, last, |_| {});
        {
            let mut state = pool.lock();
            let Some(progress) = state.files.get_mut(file) else {
                return Ok(false);
            };
            if progress.error.is_some() {
                return Ok(false);
            }
            let mut jobs = Vec::with_capacity(units.len());
            for speech in units {
                progress.segments.push((
                    round_ms(speech.start_s()),
                    round_ms(speech.end_s()),
                    None,
                ));
                progress.outstanding += 1;
                jobs.push((file, progress.segments.len() - 1, speech.samples));
            }
            state.queue.extend(jobs);
        }
        pool.changed.notify_all();
        while pool.lock().queue.len() > high_water {
            decoded += decode_some(pool, t);
        }
        Ok(true)
    });
    let mut state = pool.lock();
    state.readers -= 1;
    if let Some(progress) = state.files.get_mut(file) {
        progress.read = true;
        match read {
            Ok(duration_s) => progress.duration_s = duration_s,
            Err(e) => {
                progress.error.get_or_insert(e);
            }
        }
    }
    finish_if_done(&mut state, file, t);
    drop(state);
    pool.changed.notify_all();
    decoded
}

/// Takes a batch of segments from the pool (longest first, so that similar
/// lengths share the decoder call), encodes and decodes it and files the
/// texts. Returns how many it took (0: the pool was empty).
fn decode_some(pool: &Pool, t: &mut Transcriber) -> usize {
    let limits = t.speech_model().batch_limits();
    let jobs: Vec<Job> = {
        let mut state = pool.lock();
        if state.queue.is_empty() {
            return 0;
        }
        // Up to two batches' worth: the decoder groups them by length.
        let take = state
            .queue
            .len()
            .min(limits.max_segments.saturating_mul(2).max(1));
        state.queue.drain(..take).collect()
    };
    let taken = jobs.len();
    let mut owners = Vec::with_capacity(jobs.len());
    let mut encoded = Vec::with_capacity(jobs.len());
    let mut failed: Vec<((usize, usize), SpeechError)> = Vec::new();
    for (file, seg, samples) in jobs {
        match t.encode_segment(&samples) {
            Ok(e) => {
                owners.push((file, seg));
                encoded.push(e);
            }
            Err(e) => failed.push(((file, seg), e)),
        }
    }
    let decoded = if encoded.is_empty() {
        Ok(Vec::new())
    } else {
        t.decode_segments(&encoded)
    };
    let mut state = pool.lock();
    let mut touched = Vec::new();
    match decoded {
        Ok(decoded) => {
            for ((file, seg), d) in owners.into_iter().zip(decoded) {
                if let Some(progress) = state.files.get_mut(file) {
                    if let Some(s) = progress.segments.get_mut(seg) {
                        s.2 = Some(place(s.0, s.1, d));
                    }
                    progress.outstanding = progress.outstanding.saturating_sub(1);
                }
                touched.push(file);
            }
        }
        Err(e) => {
            let reason = e.to_string();
            for owner in owners {
                failed.push((owner, SpeechError::Inference(reason.clone())));
            }
        }
    }
    for ((file, _), e) in failed {
        if let Some(progress) = state.files.get_mut(file) {
            progress.error.get_or_insert(e);
            progress.outstanding = progress.outstanding.saturating_sub(1);
        }
        touched.push(file);
    }
    touched.sort_unstable();
    touched.dedup();
    for file in touched {
        finish_if_done(&mut state, file, t);
    }
    drop(state);
    pool.changed.notify_all();
    taken
}

/// Completes a file that is read and has nothing left to decode (or has
/// failed: its segments still waiting are dropped).
fn finish_if_done(state: &mut PoolState, file: usize, t: &Transcriber) {
    let Some(progress) = state.files.get_mut(file) else {
        return;
    };
    if progress.result.is_some() || !progress.read {
        return;
    }
    if let Some(e) = progress.error.take() {
        progress.result = Some(Err(e));
        progress.segments.clear();
        state.queue.retain(|(f, _, _)| *f != file);
        return;
    }
    if progress.outstanding == 0 {
        let segments = std::mem::take(&mut progress.segments);
        progress.result = Some(Ok(assemble(segments, progress.duration_s, t.model_label())));
    }
}
