//! The aggregates: interviewer and panel calibration, the bias audit, drift,
//! question consistency and interviewer language — kept up to date by
//! differential dataflow as each score, rating, decision, demographics or
//! question record arrives or is retracted, and landed in Parquet.
//!
//! ```text
//! input records (Kafka topics, or InputSession in tests and benches)
//!   ├─ input tables (Parquet, per worker) ────────────────────────────── inputs/<table>/
//!   ├─ score rows ─┬─ candidate_facts ◄─ decisions, demographics
//!   │              │      └─ bias_audit ──────────────────────────────┐
//!   │              ├─ drift ◄─ interview signals ─────────────────────┤
//!   │              └─ panel_view ◄─ ratings ──────────────────────────┤
//!   │                     └─ observations ─ reviewer_calibration ─────┤
//!   └─ questions ─┬─ question_consistency ────────────────────────────┤
//!                 └─ interviewer_language ────────────────────────────┤
//!                            exchanged to the sink worker: change logs ─┴─ changelog/<aggregate>/
//!                                 and snapshots                          snapshot/<aggregate>.parquet
//! ```
//!
//! One operator per file, each an extension trait on the collection it
//! reads, after differential dataflow's own style; each also exposes the
//! pure function that turns one group's values into rows, which the
//! from-scratch [`reference`] shares. Nothing is ever recomputed from
//! scratch in the dataflow: a change costs work proportional to the groups
//! it touches (see each operator's notes).
//!
//! [`harness`] wires the operators to their sinks for a timely worker;
//! [`runner`] is `panelflow aggregate`, reading the topics from Kafka.

pub mod bias;
pub mod calibration;
pub mod candidates;
pub mod combine;
pub mod drift;
pub mod harness;
pub mod inputs;
pub mod language;
pub mod panel;
pub mod questions;
pub mod records;
pub mod reduce_total;
pub mod reference;
pub mod runner;
pub mod sink;
pub mod time;

mod graph;

pub use graph::{aggregates, AggregateConfig, Outputs};
pub use time::Time;
