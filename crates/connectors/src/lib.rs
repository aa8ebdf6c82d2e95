//! panelflow's connectors: every adapter to the world outside the process,
//! one folder each with its config section, its client and its tests.
//!
//! - [`kafka`]: client configurations, topic creation, producers and the
//!   dead-letter topic (`[kafka]`);
//! - [`lever`]: the Lever API client, OAuth, the token bucket and the
//!   write-back of a plan (`[lever]`);
//! - [`media`]: fetching recordings under size and time caps (`[media]`);
//! - [`parquet`]: the interview tables and the aggregates' tables;
//! - [`store`]: the audit log, the review queue and the PII key ring (`[governance]`);
//! - [`serve`]: an HTTP server on a thread of its own;
//! - [`metrics`]: the Prometheus metrics every part records, and their text form;
//! - [`breaker`]: a circuit breaker per dependency.

// Every public item is documented (the build fails otherwise).
#![deny(missing_docs)]

pub mod breaker;
pub mod kafka;
pub mod lever;
pub mod media;
pub mod metrics;
pub mod parquet;
pub mod serve;
pub mod store;
