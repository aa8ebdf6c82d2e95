//! Lever write-back, planned: from an analysed interview's summary and the
//! phase's rules to the [`WritePlan`](panelflow_core::writeback::WritePlan)
//! ([`plan`]), with the note's text ([`note`]). The Lever connector writes
//! a plan at most once (`panelflow_connectors::lever::writeback`).

pub mod note;
pub mod plan;

pub use plan::plan;
