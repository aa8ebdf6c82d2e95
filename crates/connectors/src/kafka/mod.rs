//! Kafka: client configurations, topic creation and producing the
//! normalized event.
//!
//! panelflow speaks plain Kafka through librdkafka, so the same code runs
//! against the local Tansu broker, Apache Kafka, Redpanda or a managed Kafka;
//! SASL/TLS and any other librdkafka setting come through
//! [`KafkaSection::properties`], applied last so they override the defaults
//! below.
//!
//! **Tansu and the idempotent producer.** With Tansu 0.6.0 (SQLite storage),
//! an idempotent producer whose message timed out while the broker was down
//! bumps its epoch when the broker is back; the next produce with that
//! epoch panics inside Tansu's storage task, after which *every* produce on
//! that broker fails (`UnknownServerError`) until it is restarted. Measured
//! here; a fresh producer after the restart is fine, so is a non-idempotent
//! one. [`EventProducer`] therefore replaces its producer with a fresh one
//! after any failed delivery; use it (or do the same) for every producer
//! that may see a broker outage.

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod consumer;
pub mod dead_letter;
pub mod publisher;
pub mod reader;
pub mod share;

pub use admin::{ensure_aggregate_topics, ensure_topics};
mod client;
mod config;
mod error;
mod producer;

pub use client::{
    admin_config, consumer_config, producer_config, ADMIN_TIMEOUT, MESSAGE_TIMEOUT_MS,
};
pub use config::{delay_label, KafkaSection, RetryTier, TopicNames, DEFAULT_MAX_MESSAGE_BYTES};
pub use error::KafkaIoError;
pub use producer::{event_key, produce_event, produce_json, produce_json_with, EventProducer};

#[cfg(test)]
mod tests;
