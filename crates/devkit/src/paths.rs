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

/// The virtualenv of the object-storage tools (set-up's
/// `scripts/setup.d/30-object-store.sh`): `moto` in server mode (an
/// S3-compatible server), `boto3`, and DuckDB with its `httpfs` extension
/// from PyPI, pinned together.
///
/// ```
/// assert!(panelflow_devkit::paths::s3_venv_dir().ends_with("s3venv"));
/// ```
pub fn s3_venv_dir() -> PathBuf {
    cache_dir().join("s3venv")
}
