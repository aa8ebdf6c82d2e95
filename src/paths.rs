//! Where panelflow finds what set-up installed: the ONNX Runtime library, the
//! models, the broker binary and the Python tools. One cache folder, found
//! without any variable to export by hand.

use std::path::{Path, PathBuf};

/// Version of ONNX Runtime that set-up installs from the PyPI wheel.
pub const ORT_VERSION: &str = "1.32.0";

/// The cache folder: `$PANELFLOW_HOME`, else `$XDG_CACHE_HOME/panelflow`,
/// else `~/.cache/panelflow`.
///
/// ```
/// let home = panelflow::paths::cache_dir();
/// assert!(home.ends_with("panelflow") || std::env::var_os("PANELFLOW_HOME").is_some());
/// ```
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PANELFLOW_HOME") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("panelflow");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("panelflow")
}

/// The Python virtualenv that set-up fills (onnxruntime, duckdb, ...).
pub fn venv_dir() -> PathBuf {
    cache_dir().join("venv")
}

/// The virtualenv's Python interpreter.
pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// The ONNX Runtime shared library: `$ORT_DYLIB_PATH`, else the one inside
/// the set-up virtualenv's `onnxruntime` wheel.
pub fn onnxruntime_library() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    let lib = venv_dir().join("lib");
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

/// Folder holding the converted models (`moonshine-base-en/`, `silero-vad/`).
pub fn models_dir() -> PathBuf {
    std::env::var_os("PANELFLOW_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("models"))
}

/// The Tansu broker binary that set-up builds.
pub fn tansu_binary() -> PathBuf {
    std::env::var_os("PANELFLOW_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("tansu").join("bin").join("tansu"))
}

/// The project's `datasets/` folder (next to `Cargo.toml` in a checkout).
pub fn datasets_dir() -> PathBuf {
    std::env::var_os("PANELFLOW_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
}
