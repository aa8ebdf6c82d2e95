//! The subcommands behind the `panelflow` binary, kept in the library so the
//! tests and benches drive exactly what users run.

pub mod analyze;
pub mod audit;
pub mod demo;
pub mod eval;
pub mod run;
pub mod simulate;
pub mod transcribe;
