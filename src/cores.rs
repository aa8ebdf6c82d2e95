//! How many workers and threads to use when the user does not say: the
//! rule `transcribe`, `run` and `aggregate` share.

/// CPU cores this process may use (`available_parallelism`: cgroup quotas
/// and affinity count), at least 1.
///
/// ```
/// assert!(panelflow::cores::cores() >= 1);
/// ```
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// Workers × threads for the speech model when the user named neither or
/// one of them: **one worker per core, one ONNX thread each** — measured on
/// 2 cores, 2 workers × 1 thread transcribed 3.15× faster-whisper's
/// throughput where 1 × 2 reached 2.12–2.35×: a worker's decoder and its
/// audio front end are sequential, so separate workers keep every core busy
/// where intra-op threads wait on each other. A given `workers` gets the
/// cores divided among them as threads; a given `threads` gets as many
/// workers as fit the cores.
///
/// ```
/// use panelflow::cores::split_cores;
/// assert_eq!(split_cores(2, None, None), (2, 1));
/// assert_eq!(split_cores(8, Some(2), None), (2, 4));
/// assert_eq!(split_cores(8, None, Some(2)), (4, 2));
/// assert_eq!(split_cores(2, Some(3), Some(3)), (3, 3), "what the user says goes");
/// assert_eq!(split_cores(1, None, Some(4)), (1, 4));
/// ```
pub fn split_cores(cores: usize, workers: Option<usize>, threads: Option<usize>) -> (usize, usize) {
    let cores = cores.max(1);
    match (workers, threads) {
        (Some(w), Some(t)) => (w.max(1), t.max(1)),
        (Some(w), None) => (w.max(1), (cores / w.max(1)).max(1)),
        (None, Some(t)) => ((cores / t.max(1)).max(1), t.max(1)),
        (None, None) => (cores, 1),
    }
}
