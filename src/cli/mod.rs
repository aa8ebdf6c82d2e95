//! The subcommands behind the `panelflow` binary, kept in the library so the
//! tests and benches drive exactly what users run.

pub mod demo;
pub mod run;
pub mod transcribe;
