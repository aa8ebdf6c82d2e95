//! panelflow's core: the data that crosses its boundaries, and the pure
//! rules about it. No I/O — no network, no files, no models — so everything
//! here is tested in milliseconds.
//!
//! - [`event`]: the normalized `InterviewCompleted` event every source produces;
//! - [`webhook`]: the platforms' webhooks, verified and normalized (one module each);
//! - [`wire`]: the aggregates' input messages and the dead-letter record;
//! - [`topics`]: every Kafka topic's default name;
//! - [`outcome`]: stages, outcomes and flag severities as types;
//! - [`writeback`]: the rollout phase, its write-back rules and the plan of what
//!   one result writes to Lever;
//! - [`paths`]: the set-up cache folder; [`time`]: times as messages write them;
//! - [`redact`]: URLs as errors and logs may show them (no query, no credentials).

// Every public item is documented (the build fails otherwise).
#![deny(missing_docs)]

pub mod event;
pub mod outcome;
pub mod paths;
pub mod redact;
pub mod time;
pub mod topics;
pub mod webhook;
pub mod wire;
pub mod writeback;
