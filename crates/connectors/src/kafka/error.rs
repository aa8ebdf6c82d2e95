//! Errors talking to Kafka.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Errors talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaIoError {
    /// A client could not be created (bad configuration property, ...).
    #[error("cannot create a Kafka client for {brokers}: {source}")]
    Client {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The cluster's metadata could not be read (broker down or unreachable).
    #[error("cannot read metadata from {brokers}: {source}")]
    Metadata {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The admin request failed as a whole.
    #[error("admin request to {brokers} failed: {source}")]
    Admin {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The broker refused to create a topic.
    #[error("cannot create topic {topic}: {code}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's answer.
        code: RDKafkaErrorCode,
    },
    /// The record could not be serialized.
    #[error("cannot serialize record {key}: {source}")]
    Serialize {
        /// The record's key (an event's interview id).
        key: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The broker did not acknowledge the message in time, or refused it.
    #[error("broker did not acknowledge record {key} on {topic}: {source}")]
    Delivery {
        /// The record's key (an event's interview id).
        key: String,
        /// The topic.
        topic: String,
        /// librdkafka's error (`MessageTimedOut` when the broker is down).
        source: KafkaError,
    },
    /// A blocking task could not be joined.
    #[error("background task failed: {0}")]
    Join(String),
}
