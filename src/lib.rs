//! panelflow's engine: a streaming analytics engine for recorded one-way
//! video interviews, built on the workspace's crates — `panelflow-core`
//! (events, webhooks, wire messages, write-back plans), `panelflow-models`
//! (media, speech, analysis) and `panelflow-connectors` (Kafka, Lever,
//! Parquet, the stores).
//!
//! The tree follows the data's way through the engine:
//! - [`ingest`]: the webhook receiver and the Lever poller, into Kafka;
//! - [`pipeline`]: the timely dataflow of `panelflow run`, one stage after another;
//! - [`isolated_decode`]: untrusted recordings decoded in a child process under limits;
//! - [`source`]: the one Kafka → timely source, for the pipeline and the aggregates;
//! - [`aggregates`]: calibration, bias and drift as differential dataflows;
//! - [`writeback`]: what each rollout phase writes to Lever, and the note's text;
//! - [`review`]: the recruiters' review page, and feedback drafts for candidates;
//! - [`briefing`]: the hiring manager's debrief briefing, attached in Lever;
//! - [`ops`]: erasure, export, explanation and backfill;
//! - [`metrics`]: the `/metrics` endpoint of `run` and `ingest`;
//! - [`config`]: the pipeline file, composed of every part's section;
//! - [`limits`]: the concurrency and time limits of the HTTP servers;
//! - [`cli`]: the subcommands of the `panelflow` binary;
//! - [`cores`]: workers × threads from the cores present.

// Every public item is documented (the build fails otherwise).
#![deny(missing_docs)]

pub mod aggregates;
pub mod briefing;
pub mod cli;
pub mod config;
pub mod cores;
pub mod ingest;
pub mod isolated_decode;
pub mod limits;
pub mod metrics;
pub mod ops;
pub mod pipeline;
pub mod review;
pub mod source;
pub mod writeback;
