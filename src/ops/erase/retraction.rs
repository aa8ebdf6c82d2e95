//! Retractions for the aggregates, and publishing them to Kafka.

use serde::Serialize;
use serde_json::Value;

use panelflow_connectors::kafka::TopicNames;
use panelflow_core::topics::Topic;

/// One retraction for the aggregates: a message identical to one the
/// candidate contributed, with `"diff": -1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retraction {
    /// The topic (named by the aggregates' config).
    #[serde(skip)]
    pub topic: Topic,
    /// The Kafka key (the candidate id, like the originals).
    pub key: String,
    /// The JSON message.
    pub message: Value,
}

/// Publishes retractions; returns how many were delivered.
pub type Publisher<'a> = &'a dyn Fn(&[Retraction]) -> Result<usize, String>;

/// Publishes retractions to the aggregates' topics (named by `topics`) on
/// `kafka`'s brokers, keyed by candidate; fails when no broker answers or a
/// topic is missing.
pub fn publish_retractions(
    kafka: &panelflow_connectors::kafka::KafkaSection,
    topics: &TopicNames,
    retractions: &[Retraction],
) -> Result<usize, String> {
    let mut names: Vec<&str> = retractions.iter().map(|r| topics.name(r.topic)).collect();
    names.sort_unstable();
    names.dedup();
    let p = panelflow_connectors::kafka::publisher::Publisher::connect(kafka, &names)?;
    let out: Vec<panelflow_connectors::kafka::publisher::Outgoing> = retractions
        .iter()
        .map(|r| panelflow_connectors::kafka::publisher::Outgoing {
            topic: topics.name(r.topic).to_string(),
            key: r.key.clone(),
            payload: r.message.to_string().into_bytes(),
            headers: vec![("panelflow-erasure".into(), "1".into())],
        })
        .collect();
    p.send_all(&out)
}
