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

pub use admin::{ensure_aggregate_topics, ensure_topics};

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

use serde::{Deserialize, Serialize};

use panelflow_core::event::InterviewCompleted;
use panelflow_core::topics::{self, Topic};

/// `[kafka]`: the connection and the pipeline's topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// `bootstrap.servers`; `PANELFLOW_BROKERS` overrides.
    pub brokers: String,
    /// Topic of normalized `InterviewCompleted` events.
    pub topic: String,
    /// Topic for events that could not be processed, with the reason.
    pub dead_letter_topic: String,
    /// Topic the analysis publishes its AI scores to, one message per
    /// analysed interview (`schemas/aggregates/score.schema.json`), read by
    /// the aggregates; empty: not published.
    pub scores_topic: String,
    /// Topic of human ratings (`schemas/aggregates/rating.schema.json`):
    /// the platforms' rating webhooks and the Lever poller's scorecards.
    pub ratings_topic: String,
    /// Topic of decisions (stage advances, archives) from the Lever poller.
    pub decisions_topic: String,
    /// Topic of self-reported demographics (Lever's EEO answers) from the
    /// Lever poller; only the aggregates read it.
    pub demographics_topic: String,
    /// Consumer group of `panelflow run`.
    pub group_id: String,
    /// Partitions to create when the topic is missing.
    pub partitions: i32,
    /// Delays of the retry topics, seconds: an interview whose failure is
    /// transient (Lever 429/5xx or time-out, a media host time-out, the
    /// broker) waits on `TOPIC.retry.<delay>` (`1m`, `10m`, `1h` by default)
    /// for each in turn, then fails for good (a `failed` row and a dead
    /// letter naming the last failure).
    pub retry_delays_s: Vec<u64>,
    /// Messages one worker may have read and not yet committed; past this
    /// its partitions are paused until commits bring it below.
    pub max_in_flight_events: u64,
    /// Bytes (keys and payloads) one worker may have read and not yet committed.
    pub max_in_flight_bytes: u64,
    /// The largest message the broker takes (`message.max.bytes`); dead
    /// letters are cut to fit under it.
    pub max_message_bytes: usize,
    /// Events larger than this are refused at the source with a dead letter
    /// (ingest's body limit sits below it).
    pub max_event_bytes: usize,
    /// Prefix of the consumers' `group.instance.id` (static membership):
    /// stable for one `run` process across restarts, distinct between
    /// processes. Empty: `PANELFLOW_INSTANCE_ID`, else the host name.
    pub instance_id: Option<String>,
    /// Extra librdkafka properties (SASL, TLS, ...), passed through as is.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".into(),
            topic: topics::INTERVIEWS.into(),
            dead_letter_topic: topics::DEAD_LETTER.into(),
            scores_topic: Topic::Scores.default_name().into(),
            ratings_topic: Topic::Ratings.default_name().into(),
            decisions_topic: Topic::Decisions.default_name().into(),
            demographics_topic: Topic::Demographics.default_name().into(),
            group_id: "panelflow".into(),
            partitions: 4,
            retry_delays_s: vec![60, 600, 3600],
            max_in_flight_events: 32,
            max_in_flight_bytes: 8 << 20,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_event_bytes: 768 << 10,
            instance_id: None,
            properties: BTreeMap::new(),
        }
    }
}

/// The broker's default largest message (Apache Kafka's `message.max.bytes`
/// is 1 048 588; librdkafka's producer refuses more than 1 000 000).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// A retry tier: its topic and delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTier {
    /// `TOPIC.retry.<label>`.
    pub topic: String,
    /// `1m`, `10m`, `1h`, `30s`.
    pub label: String,
    /// How long a message waits there.
    pub delay: Duration,
}

/// `1m` for 60 s, `10m`, `1h`, `90s`.
///
/// ```
/// use panelflow_connectors::kafka::delay_label;
/// assert_eq!(delay_label(60), "1m");
/// assert_eq!(delay_label(3600), "1h");
/// assert_eq!(delay_label(45), "45s");
/// ```
pub fn delay_label(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

impl KafkaSection {
    /// The retry tiers, in order.
    pub fn retry_tiers(&self) -> Vec<RetryTier> {
        self.retry_delays_s
            .iter()
            .map(|s| {
                let label = delay_label(*s);
                RetryTier {
                    topic: format!("{}.retry.{label}", self.topic),
                    label,
                    delay: Duration::from_secs(*s),
                }
            })
            .collect()
    }

    /// The topics `panelflow run` reads: the event topic and its retry topics.
    pub fn input_topics(&self) -> Vec<String> {
        let mut t = vec![self.topic.clone()];
        t.extend(self.retry_tiers().into_iter().map(|r| r.topic));
        t
    }
}

/// `[topics]` of `panelflow aggregate`: the names of the aggregates' topics.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicNames {
    /// AI scores.
    pub scores: String,
    /// Human ratings.
    pub ratings: String,
    /// Decisions.
    pub decisions: String,
    /// Demographics.
    pub demographics: String,
    /// Asked questions.
    pub questions: String,
    /// Where invalid messages go.
    pub dead_letter: String,
    /// Partitions of a topic created by `panelflow`.
    pub partitions: i32,
}

impl Default for TopicNames {
    fn default() -> Self {
        Self {
            scores: Topic::Scores.default_name().into(),
            ratings: Topic::Ratings.default_name().into(),
            decisions: Topic::Decisions.default_name().into(),
            demographics: Topic::Demographics.default_name().into(),
            questions: Topic::Questions.default_name().into(),
            dead_letter: topics::AGGREGATES_DEAD_LETTER.into(),
            partitions: 4,
        }
    }
}

impl TopicNames {
    /// The name of a topic.
    pub fn name(&self, t: Topic) -> &str {
        match t {
            Topic::Scores => &self.scores,
            Topic::Ratings => &self.ratings,
            Topic::Decisions => &self.decisions,
            Topic::Demographics => &self.demographics,
            Topic::Questions => &self.questions,
        }
    }
}

/// How long the producer tries to deliver one message before giving up
/// (so a dead broker is answered with 503 within seconds).
pub const MESSAGE_TIMEOUT_MS: u64 = 5000;

/// Time-out of metadata and admin requests.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

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

fn base_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &kafka.brokers);
    cfg
}

fn with_properties(mut cfg: ClientConfig, kafka: &KafkaSection) -> ClientConfig {
    for (k, v) in &kafka.properties {
        cfg.set(k, v);
    }
    cfg
}

/// The producer's configuration: idempotent (`enable.idempotence=true`, which
/// implies `acks=all` and bounded in-flight requests), `message.timeout.ms`
/// = [`MESSAGE_TIMEOUT_MS`], then the pass-through `properties`.
pub fn producer_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = base_config(kafka);
    cfg.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", MESSAGE_TIMEOUT_MS.to_string())
        .set("linger.ms", "5")
        // Reconnect within a second once a broker is back (the default backs
        // off to 10 s, longer than a message's whole time-out).
        .set("reconnect.backoff.max.ms", "1000")
        // Tansu does not create topics on demand; never ask it to.
        .set("allow.auto.create.topics", "false");
    with_properties(cfg, kafka)
}

/// The consumer's configuration: the pipeline's group id, no auto commit
/// (offsets are committed after the sinks are durable), earliest offset for
/// a new group, and `roundrobin` assignment, which spreads the topic's
/// partitions evenly over every consumer of the group (timely workers and
/// processes); then the pass-through `properties`.
pub fn consumer_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = base_config(kafka);
    cfg.set("group.id", &kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "roundrobin")
        .set("allow.auto.create.topics", "false");
    with_properties(cfg, kafka)
}

/// The admin client's configuration (bootstrap and pass-through properties).
pub fn admin_config(kafka: &KafkaSection) -> ClientConfig {
    with_properties(base_config(kafka), kafka)
}

/// Produces one event as JSON to `topic`, keyed by its opportunity id (so
/// every event of one opportunity lands in one partition, read by one
/// consumer: one writer per opportunity) with its interview id in the
/// [`consumer::INTERVIEW_HEADER`] header, and waits for the broker's
/// acknowledgement (all in-sync replicas). Returns the partition and offset
/// it landed at.
///
/// One event is one message, so a failure leaves nothing half-written; a
/// time-out can still mean the broker stored it (the caller's retry then
/// duplicates it, which the dataflow's idempotent sinks absorb).
pub async fn produce_event(
    producer: &FutureProducer,
    topic: &str,
    event: &InterviewCompleted,
) -> Result<(i32, i64), KafkaIoError> {
    let headers = [(consumer::INTERVIEW_HEADER, event.interview_id.as_str())];
    produce_json_with(producer, topic, event_key(event), event, &headers).await
}

/// The Kafka key of an event: its opportunity id (its interview id when it
/// names none).
///
/// ```
/// use panelflow_core::event::InterviewCompleted;
/// let e = InterviewCompleted::new("generic", "int-1", "cand-1", "opp-1", vec![]);
/// assert_eq!(panelflow_connectors::kafka::event_key(&e), "opp-1");
/// ```
pub fn event_key(event: &InterviewCompleted) -> &str {
    if event.opportunity_id.is_empty() {
        &event.interview_id
    } else {
        &event.opportunity_id
    }
}

/// Produces one record as JSON to `topic` under `key` and waits for the
/// broker's acknowledgement; what [`produce_event`] does for any record
/// (the aggregates' ratings, decisions and demographics).
pub async fn produce_json<T: serde::Serialize + ?Sized>(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &T,
) -> Result<(i32, i64), KafkaIoError> {
    produce_json_with(producer, topic, key, value, &[]).await
}

/// [`produce_json`] with headers.
pub async fn produce_json_with<T: serde::Serialize + ?Sized>(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &T,
    headers: &[(&str, &str)],
) -> Result<(i32, i64), KafkaIoError> {
    let payload = serde_json::to_vec(value).map_err(|source| KafkaIoError::Serialize {
        key: key.to_string(),
        source,
    })?;
    let mut owned = rdkafka::message::OwnedHeaders::new();
    for (k, v) in headers {
        owned = owned.insert(rdkafka::message::Header {
            key: k,
            value: Some(v.as_bytes()),
        });
    }
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(&payload)
        .headers(owned);
    // Queue time-out: how long to wait for room in a full local queue.
    let send = producer.send(record, Duration::from_secs(1));
    // librdkafka always answers within message.timeout.ms; the outer bound
    // only guards against a wedged client.
    let outer = Duration::from_millis(MESSAGE_TIMEOUT_MS * 2 + 1000);
    match tokio::time::timeout(outer, send).await {
        Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
        Ok(Err((source, _msg))) => Err(KafkaIoError::Delivery {
            key: key.to_string(),
            topic: topic.to_string(),
            source,
        }),
        Err(_) => Err(KafkaIoError::Delivery {
            key: key.to_string(),
            topic: topic.to_string(),
            source: KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut),
        }),
    }
}

/// The receiver's producer: an idempotent [`FutureProducer`] that is replaced
/// by a fresh one (new producer id, no epoch bump) after any failed delivery,
/// see the module docs. Cheap to share (`Arc`).
pub struct EventProducer {
    config: ClientConfig,
    brokers: String,
    current: RwLock<(u64, Arc<FutureProducer>)>,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer")
            .field("brokers", &self.brokers)
            .finish()
    }
}

impl EventProducer {
    /// A producer with [`producer_config`].
    pub fn new(kafka: &KafkaSection) -> Result<Self, KafkaIoError> {
        let config = producer_config(kafka);
        let producer: FutureProducer = config.create().map_err(|source| KafkaIoError::Client {
            brokers: kafka.brokers.clone(),
            source,
        })?;
        Ok(Self {
            config,
            brokers: kafka.brokers.clone(),
            current: RwLock::new((0, Arc::new(producer))),
        })
    }

    /// The producer in use now, with its generation.
    pub fn current(&self) -> (u64, Arc<FutureProducer>) {
        let guard = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (guard.0, guard.1.clone())
    }

    /// Replaces the producer of `generation` (if it is still the current
    /// one) and returns the old one.
    fn replace(&self, generation: u64) -> Option<Arc<FutureProducer>> {
        let fresh: FutureProducer = match self.config.create() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot create a fresh producer; keeping the old one");
                return None;
            }
        };
        let mut guard = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.0 != generation {
            return None;
        }
        let old = std::mem::replace(&mut *guard, (generation + 1, Arc::new(fresh)));
        tracing::info!(
            generation = generation + 1,
            "replaced the producer after a failed delivery"
        );
        Some(old.1)
    }

    /// [`produce_event`] with the current producer; after a failed delivery
    /// the producer is replaced before the error is returned.
    pub async fn produce_event(
        &self,
        topic: &str,
        event: &InterviewCompleted,
    ) -> Result<(i32, i64), KafkaIoError> {
        let (generation, producer) = self.current();
        let result = produce_event(&producer, topic, event).await;
        if let Err(KafkaIoError::Delivery { .. }) = &result {
            drop(producer);
            if let Some(old) = self.replace(generation) {
                tokio::task::spawn_blocking(move || drop(old));
            }
        }
        result
    }

    /// [`produce_json`] with the current producer, replaced after a failed
    /// delivery like [`EventProducer::produce_event`].
    pub async fn produce_json<T: serde::Serialize + ?Sized>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
    ) -> Result<(i32, i64), KafkaIoError> {
        let (generation, producer) = self.current();
        let result = produce_json(&producer, topic, key, value).await;
        if let Err(KafkaIoError::Delivery { .. }) = &result {
            drop(producer);
            if let Some(old) = self.replace(generation) {
                // Dropping a producer purges and flushes (up to 500 ms): do it
                // off the runtime's threads.
                tokio::task::spawn_blocking(move || drop(old));
            }
        }
        result
    }

    /// Waits for anything still in flight (at shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.current().1.flush(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::Message;

    #[test]
    fn configs_have_the_promised_settings_and_pass_through() {
        let mut k = KafkaSection::default();
        k.properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        k.properties.insert("acks".into(), "all".into());
        let p = producer_config(&k);
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("message.timeout.ms"), Some("5000"));
        assert_eq!(p.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(p.get("bootstrap.servers"), Some(k.brokers.as_str()));
        let c = consumer_config(&k);
        assert_eq!(c.get("group.id"), Some("panelflow"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(c.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
    }

    /// Fast check against librdkafka's mock cluster (the real broker is
    /// exercised by `tests/ingest.rs`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn produce_is_keyed_and_acknowledged_on_mock_cluster() {
        let mock = MockCluster::new(1).unwrap();
        let k = KafkaSection {
            brokers: mock.bootstrap_servers(),
            topic: "t.events".into(),
            dead_letter_topic: "t.dead".into(),
            scores_topic: "t.scores".into(),
            ratings_topic: "t.ratings".into(),
            decisions_topic: "t.decisions".into(),
            demographics_topic: "t.demographics".into(),
            partitions: 3,
            ..KafkaSection::default()
        };
        // The mock broker has no CreateTopics API: create them its way, and
        // check that ensure_topics finds them and asks for nothing.
        for t in [
            "events",
            "dead",
            "scores",
            "ratings",
            "decisions",
            "demographics",
        ] {
            mock.create_topic(&format!("t.{t}"), 3, 1).unwrap();
        }
        for tier in k.retry_tiers() {
            mock.create_topic(&tier.topic, 3, 1).unwrap();
        }
        ensure_topics(&k).await.unwrap();

        let producer: FutureProducer = producer_config(&k).create().unwrap();
        let e = InterviewCompleted::new("generic", "int-42", "c", "o", vec![]);
        let (partition, offset) = produce_event(&producer, &k.topic, &e).await.unwrap();
        assert!((0..3).contains(&partition));
        assert!(offset >= 0);

        let consumer: BaseConsumer = consumer_config(&k)
            .set("group.id", "mock-test")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(&k.topic, partition, rdkafka::Offset::Offset(offset))
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "message not read back"
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                assert_eq!(m.key(), Some(&b"o"[..]), "keyed by opportunity");
                assert_eq!(
                    consumer::header(&m, consumer::INTERVIEW_HEADER).as_deref(),
                    Some("int-42")
                );
                let back: InterviewCompleted =
                    serde_json::from_slice(m.payload().unwrap()).unwrap();
                assert_eq!(back, e);
                break;
            }
        }
    }
}
