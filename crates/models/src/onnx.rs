//! Loads ONNX Runtime once per process from the library set-up installed
//! (the `onnxruntime` wheel's shared library), never from a download.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::builder::{GraphOptimizationLevel, PrepackedWeights};
use ort::session::Session;

use crate::error::SpeechError;

/// Version of ONNX Runtime that set-up installs from the PyPI wheel.
pub const ORT_VERSION: &str = "1.32.0";

static INIT: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// Initializes ONNX Runtime from [`onnxruntime_library`]; a
/// no-op after the first call.
pub fn init() -> Result<&'static ort::environment::Environment, SpeechError> {
    let result = INIT.get_or_init(|| {
        let path = onnxruntime_library();
        if !path.exists() {
            return Err(format!("{} does not exist", path.display()));
        }
        let builder = ort::init_from(&path).map_err(|e| e.to_string())?;
        let env = builder
            .with_name("panelflow")
            .build()
            .map_err(|e| e.to_string())?;
        Ok((path, env))
    });
    match result {
        Ok((_, env)) => Ok(env),
        Err(reason) => Err(SpeechError::Runtime {
            path: onnxruntime_library().display().to_string(),
            reason: reason.clone(),
        }),
    }
}

/// Pre-packed weights shared by every session of the process: workers that
/// load the same model keep one packed copy of its matrices, not one each.
static PREPACKED: OnceLock<PrepackedWeights> = OnceLock::new();

/// Opens a model file as a CPU session with `threads` intra-op threads.
///
/// Settings, measured on 2 cores (`benches/asr_compare.sh`): weights are
/// pre-packed (without, a batched decoder step takes ~1.6x as long) and the
/// packed copies are shared between sessions of the same model; with more
/// than one intra-op thread the threads do not spin between operators (on
/// a busy machine a spinning pool made a decoder step ~1.5x slower and
/// cost ~1.8x the CPU). For throughput, prefer more workers with one thread
/// each over more threads per session: the decoder's ~1,200 small
/// operators per step leave a thread pool mostly waiting.
pub fn open_session(path: &Path, threads: usize) -> Result<Session, SpeechError> {
    let env = init()?;
    if !path.exists() {
        return Err(SpeechError::Model {
            path: path.display().to_string(),
            reason: "missing".into(),
        });
    }
    let model_err = |e: String| SpeechError::Model {
        path: path.display().to_string(),
        reason: e,
    };
    let mut builder = Session::builder(env)
        .map_err(|e| model_err(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| model_err(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| model_err(e.to_string()))?;
    if threads > 0 {
        builder = builder
            .with_intra_threads(threads)
            .map_err(|e| model_err(e.to_string()))?;
    }
    if threads != 1 {
        builder = builder
            .with_config_entry("session.intra_op.allow_spinning", "0")
            .map_err(|e| model_err(e.to_string()))?;
    }
    let prepacked = PREPACKED.get_or_init(PrepackedWeights::new);
    builder = builder
        .with_prepacked_weights(prepacked)
        .map_err(|e| model_err(e.to_string()))?;
    builder
        .commit_from_file(path)
        .map_err(|e| model_err(e.to_string()))
}

/// Hex SHA-256 of a file (model provenance on every output row).
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The ONNX Runtime shared library: `$ORT_DYLIB_PATH`, else the one inside
/// the set-up virtualenv's `onnxruntime` wheel.
pub fn onnxruntime_library() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    let lib = panelflow_core::paths::cache_dir().join("venv").join("lib");
    // The venv's python3.X folder name depends on the interpreter set-up used.
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for entry in entries.flatten() {
            let candidate = entry
                .path()
                .join("site-packages/onnxruntime/capi")
                .join(format!("libonnxruntime.so.{ORT_VERSION}"));
            if candidate.exists() {
                return candidate;
            }
        }
    }
    lib.join(format!(
        "python3/site-packages/onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}"
    ))
}

/// Folder holding the converted models (`moonshine-base-en/`, `silero-vad/`,
/// `minilm/`): `$PANELFLOW_MODELS`, else `<cache>/models`.
///
/// ```
/// let dir = panelflow_models::onnx::models_dir();
/// assert!(dir.ends_with("models") || std::env::var_os("PANELFLOW_MODELS").is_some());
/// ```
pub fn models_dir() -> PathBuf {
    std::env::var_os("PANELFLOW_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| panelflow_core::paths::cache_dir().join("models"))
}
