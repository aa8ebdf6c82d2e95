//! panelflow's development kit: what the tests, the benchmarks and the demo
//! run beside the engine — never part of the production binary.
//!
//! - [`emulator`]: a Lever API emulator that follows the documented shapes and
//!   records what it received;
//! - [`broker`]: the local Tansu Kafka broker, started and stopped;
//! - [`media_server`]: a folder served over HTTP with byte ranges;
//! - [`simulate`]: a simulated hiring funnel for the aggregates;
//! - [`chaos`]: the chaos run (kills, outages, lost replies) and the backlog measure;
//! - [`dataset`]: the bundled dataset's interviews as webhooks and events;
//! - [`s3`]: a local S3-compatible server (moto) and DuckDB reading through it;
//! - [`paths`]: where set-up put the broker and the Python tools.
//!
//! Its binary, `panelflow-dev`, serves the emulator, the broker and the media
//! server from the command line and runs the simulator.

// Every public item is documented (the build fails otherwise).
#![deny(missing_docs)]

pub mod broker;
pub mod chaos;
pub mod dataset;
pub mod emulator;
pub mod media_server;
pub mod paths;
pub mod s3;
pub mod simulate;
