//! panelflow: a streaming analytics engine for recorded one-way video
//! interviews.
//!
//! The tree follows the data's way through the engine:
//! - [`sources`]: webhook receivers (one module per platform) and Kafka;
//! - [`media`]: fetch, decode, resample and voice activity: bytes become 16 kHz speech;
//! - [`speech`]: the ONNX speech model: audio becomes a timed transcript;
//! - [`analysis`]: the summary object made from a transcript;
//! - [`dataflow`]: the timely graph that ties it together, with its commit protocol;
//! - [`sinks`]: Parquet, Lever write-back and the dead-letter topic;
//! - [`lever`]: the Lever API client and the emulator the tests run against;
//! - [`writeback`]: what each rollout phase writes to Lever, written once;
//! - [`review`]: the review queue and the recruiters' page;
//! - [`governance`]: audit log, residency, PII at rest, erasure, export;
//! - [`services`]: starting the local broker and friends for the demo and tests.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod dataflow;
pub mod event;
pub mod governance;
pub mod lever;
pub mod media;
pub mod paths;
pub mod review;
pub mod services;
pub mod sinks;
pub mod sources;
pub mod speech;
pub mod writeback;
