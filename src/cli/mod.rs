//! The subcommands behind the `panelflow` binary, kept in the library so the
//! tests and benches drive exactly what users run. One file per command.

pub mod analyze;
pub mod audit;
pub mod backfill;
pub mod brief;
#[cfg(feature = "dev")]
pub mod demo;
pub mod erase;
pub mod eval;
pub mod explain;
pub mod export;
pub mod poll_lever;
pub mod redrive;
pub mod run;
pub mod serve;
pub mod transcribe;

use std::path::{Path, PathBuf};

/// The project's `datasets/` folder: `$PANELFLOW_DATASETS`, else the one
/// next to `Cargo.toml` in a checkout.
///
/// ```
/// assert!(panelflow::cli::datasets_dir().ends_with("datasets"));
/// ```
pub fn datasets_dir() -> PathBuf {
    std::env::var_os("PANELFLOW_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
}
