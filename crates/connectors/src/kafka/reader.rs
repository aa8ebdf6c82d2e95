//! Reading a whole topic once, from its beginning to the high watermarks
//! seen at the start: a short-lived consumer of its own with `assign()`,
//! no group membership and no commits, so it disturbs no consumer group
//! (what `panelflow redrive` reads the dead-letter topic with).

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::client::{admin_config, ADMIN_TIMEOUT};
use super::config::KafkaSection;

/// One record read from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRecord {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key, if any.
    pub key: Option<Vec<u8>>,
    /// Its payload (empty for none).
    pub payload: Vec<u8>,
    /// Its headers, in order (a header without a value has an empty one).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The broker's or the producer's timestamp, ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

impl TopicRecord {
    /// `topic/partition/offset`: where the record is.
    ///
    /// ```
    /// use panelflow_connectors::kafka::reader::TopicRecord;
    /// let r = TopicRecord { topic: "dl".into(), partition: 2, offset: 7, key: None,
    ///     payload: vec![], headers: vec![], timestamp_ms: None };
    /// assert_eq!(r.position(), "dl/2/7");
    /// ```
    pub fn position(&self) -> String {
        format!("{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

/// Errors reading a topic to its end.
#[derive(Debug, thiserror::Error)]
pub enum ReadTopicError {
    /// A Kafka call failed (client, metadata, watermarks, assignment).
    #[error("{what} ({topic} on {brokers})")]
    Kafka {
        /// What was being done.
        what: &'static str,
        /// The topic.
        topic: String,
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        source: rdkafka::error::KafkaError,
    },
    /// The topic does not exist.
    #[error("topic {topic} does not exist on {brokers}")]
    NoTopic {
        /// The topic.
        topic: String,
        /// `bootstrap.servers`.
        brokers: String,
    },
    /// Not every record up to the high watermarks arrived in time.
    #[error("read {read} of {expected} records of {topic} within {timeout:?}; the broker may be slow or unreachable")]
    Incomplete {
        /// The topic.
        topic: String,
        /// Records read.
        read: usize,
        /// Records between the low and high watermarks at the start.
        expected: i64,
        /// How long it waited.
        timeout: Duration,
    },
}

/// Reads every record of `topic`, each partition from its low to its high
/// watermark as they were when the call began (records produced meanwhile
/// are left for the next call), in partition and offset order. The
/// consumer is assigned its partitions (no `subscribe`, no group join) and
/// never commits; `kafka.properties` (SASL, TLS, …) apply.
pub fn read_to_end(
    kafka: &KafkaSection,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<TopicRecord>, ReadTopicError> {
    let fail = |what: &'static str| {
        let topic = topic.to_string();
        let brokers = kafka.brokers.clone();
        move |source| ReadTopicError::Kafka {
            what,
            topic,
            brokers,
            source,
        }
    };
    let mut config = admin_config(kafka);
    config
        .set(
            "group.id",
            format!("panelflow-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("allow.auto.create.topics", "false");
    let consumer: BaseConsumer = config.create().map_err(fail("creating a consumer"))?;
    let meta = consumer
        .fetch_metadata(Some(topic), ADMIN_TIMEOUT)
        .map_err(fail("reading metadata"))?;
    let partitions: Vec<i32> = meta
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    if partitions.is_empty() {
        return Err(ReadTopicError::NoTopic {
            topic: topic.to_string(),
            brokers: kafka.brokers.clone(),
        });
    }
    // Where each partition ends now; partitions with nothing are not read.
    let mut ends: HashMap<i32, i64> = HashMap::new();
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, ADMIN_TIMEOUT)
            .map_err(fail("reading watermarks"))?;
        if high > low {
            expected += high - low;
            ends.insert(p, high);
            list.add_partition_offset(topic, p, Offset::Offset(low))
                .map_err(fail("assigning partitions"))?;
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer
        .assign(&list)
        .map_err(fail("assigning partitions"))?;
    let deadline = Instant::now() + timeout;
    while !ends.is_empty() {
        if Instant::now() >= deadline {
            return Err(ReadTopicError::Incomplete {
                topic: topic.to_string(),
                read: out.len(),
                expected,
                timeout,
            });
        }
        let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = match polled {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(topic, error = %e, "reading the topic; going on");
                continue;
            }
        };
        let Some(&end) = ends.get(&m.partition()) else {
            continue;
        };
        if m.offset() >= end {
            ends.remove(&m.partition());
            continue;
        }
        let headers = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(TopicRecord {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().unwrap_or_default().to_vec(),
            headers,
            timestamp_ms: m.timestamp().to_millis(),
        });
        if m.offset() + 1 >= end {
            ends.remove(&m.partition());
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    #[test]
    fn reads_every_partition_to_its_end_and_stops() {
        let mock = MockCluster::new(1).expect("mock cluster");
        mock.create_topic("dl", 3, 1).expect("topic");
        mock.create_topic("empty", 2, 1).expect("topic");
        let kafka = KafkaSection {
            brokers: mock.bootstrap_servers(),
            ..KafkaSection::default()
        };
        let producer: BaseProducer = crate::kafka::producer_config(&kafka)
            .create()
            .expect("producer");
        for i in 0..7 {
            let key = format!("k{i}");
            let payload = format!("{{\"n\":{i}}}");
            producer
                .send(
                    BaseRecord::to("dl")
                        .key(&key)
                        .payload(&payload)
                        .partition(i % 3),
                )
                .map_err(|(e, _)| e)
                .expect("send");
        }
        producer.flush(Duration::from_secs(10)).expect("flush");
        let records = read_to_end(&kafka, "dl", Duration::from_secs(20)).expect("read");
        assert_eq!(records.len(), 7);
        let per_partition: Vec<usize> = (0..3)
            .map(|p| records.iter().filter(|r| r.partition == p).count())
            .collect();
        assert_eq!(per_partition, [3, 2, 2]);
        assert_eq!(records[0].position(), "dl/0/0");
        assert_eq!(records[0].key.as_deref(), Some(&b"k0"[..]));
        assert!(read_to_end(&kafka, "empty", Duration::from_secs(5))
            .expect("empty")
            .is_empty());
        let missing = read_to_end(&kafka, "no-such-topic", Duration::from_secs(5));
        assert!(missing.is_err(), "{missing:?}");
    }
}
