//! The subcommands behind the `panelflow` binary, kept in the library so the
//! tests and benches drive exactly what users run.

pub mod analyze;
pub mod audit;
pub mod backfill;
pub mod demo;
pub mod erase;
pub mod eval;
pub mod explain;
pub mod export;
pub mod run;
pub mod serve;
pub mod simulate;
pub mod transcribe;
