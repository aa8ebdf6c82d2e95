//! Where the development tools set-up installs live under the cache folder
//! ([`panelflow_core::paths::cache_dir`]).

use std::path::PathBuf;

use panelflow_core::paths::cache_dir;

/// The Python virtualenv that set-up fills (onnxruntime, duckdb, ...).
pub fn venv_dir() -> PathBuf {
    cache_dir().join("venv")
}

/// The virtualenv's Python interpreter (DuckDB for the tests and the demo's hint).
///
/// ```
/// assert!(panelflow_devkit::paths::venv_python().ends_with("venv/bin/python"));
/// ```
pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// The Tansu broker binary that set-up builds: `$PANELFLOW_TANSU`, else
/// `<cache>/tansu/bin/tansu`.
pub fn tansu_binary() -> PathBuf {
    std::env::var_os("PANELFLOW_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("tansu").join("bin").join("tansu"))
}
