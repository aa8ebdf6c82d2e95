//! Producing records: one event or any JSON record, acknowledged by the
//! broker, and the [`EventProducer`] that survives a broker outage.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

use panelflow_core::event::InterviewCompleted;

use super::client::{producer_config, MESSAGE_TIMEOUT_MS};
use super::config::KafkaSection;
use super::consumer;
use super::error::KafkaIoError;

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
