//! Message emission: to Kafka or to a JSON-lines file.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use panelflow_connectors::kafka::{
    ensure_aggregate_topics, producer_config, KafkaSection, TopicNames,
};

use panelflow_core::topics::Topic;

use super::config::demo_population;
use super::message::Message;
use super::population::generate;

/// What `simulate` sent.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Messages per topic.
    pub per_topic: std::collections::BTreeMap<String, usize>,
    /// Retractions among them.
    pub retractions: usize,
}

/// Sends `messages` to their topics (named by `topic_name`), keyed by
/// candidate, creating the topics when missing.
pub fn produce(
    brokers: &str,
    messages: &[Message],
    topic_name: &dyn Fn(Topic) -> String,
) -> anyhow::Result<Sent> {
    let kafka = KafkaSection {
        brokers: brokers.into(),
        ..Default::default()
    };
    let topics = TopicNames {
        scores: topic_name(Topic::Scores),
        ratings: topic_name(Topic::Ratings),
        decisions: topic_name(Topic::Decisions),
        demographics: topic_name(Topic::Demographics),
        questions: topic_name(Topic::Questions),
        ..TopicNames::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(ensure_aggregate_topics(&kafka, &topics))?;
    let producer: FutureProducer = producer_config(&kafka)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("Kafka producer")?;
    let mut sent = Sent::default();
    rt.block_on(async {
        let mut pending = Vec::with_capacity(1024);
        for m in messages {
            let topic = topic_name(m.topic());
            let payload = serde_json::to_vec(&m.to_json())?;
            let record = FutureRecord::to(&topic).key(m.key()).payload(&payload);
            let delivery = producer
                .send_result(record)
                .map_err(|(e, _)| anyhow::anyhow!("queueing a message: {e}"))?;
            pending.push(delivery);
            *sent.per_topic.entry(topic).or_default() += 1;
            if m.diff() < 0 {
                sent.retractions += 1;
            }
            if pending.len() >= 1000 {
                for d in pending.drain(..) {
                    d.await
                        .context("delivery cancelled")?
                        .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))?;
                }
            }
        }
        for d in pending.drain(..) {
            d.await
                .context("delivery cancelled")?
                .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))?;
        }
        anyhow::Ok(())
    })?;
    producer.flush(Duration::from_secs(10))?;
    Ok(sent)
}

/// Writes `messages` as JSON lines `{topic, key, message}`.
pub fn write_jsonl(path: &Path, messages: &[Message]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for m in messages {
        let line = serde_json::json!({ "topic": m.topic().default_name(), "key": m.key(), "message": m.to_json() });
        writeln!(f, "{line}")?;
    }
    f.flush()?;
    Ok(())
}

/// Generates the [`demo_population`] and sends it to the aggregates'
/// topics (default names) on `brokers`; returns the messages sent.
pub fn send_demo_population(brokers: &str) -> anyhow::Result<usize> {
    let messages = generate(&demo_population());
    produce(brokers, &messages, &|t| t.default_name().to_string())?;
    Ok(messages.len())
}
