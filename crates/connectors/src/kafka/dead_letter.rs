//! The dead-letter topic: one record per event that could not be processed
//! (missing, corrupt or refused media, ...), with the stage and the reason,
//! keyed by interview id.
//!
//! [`DeadLetterSink::send`] blocks until the broker acknowledged the record
//! (or the time-out passed), so it can be called from timely worker threads,
//! where there is no async runtime, before the event's offset is committed.

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

use std::sync::mpsc::{sync_channel, SyncSender, TryRecvError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::client::{producer_config, MESSAGE_TIMEOUT_MS};
use super::config::KafkaSection;
use crate::metrics;
use panelflow_core::wire::DeadLetter;

/// Errors writing a dead letter.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The producer could not be created.
    #[error("cannot create the dead-letter producer for {brokers}: {source}")]
    Client {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The record could not be serialized.
    #[error("cannot serialize dead letter for {interview_id}: {source}")]
    Serialize {
        /// The interview.
        interview_id: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The broker refused the record or did not acknowledge it in time.
    #[error("dead letter for {interview_id} not acknowledged on {topic}: {source}")]
    Delivery {
        /// The interview.
        interview_id: String,
        /// The topic.
        topic: String,
        /// librdkafka's error.
        source: KafkaError,
    },
}

type Ack = Result<(i32, i64), KafkaError>;

/// Producer context that hands each delivery report to the sender waiting for it.
struct AckContext;

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Box<SyncSender<Ack>>;

    fn delivery(&self, result: &DeliveryResult<'_>, tx: Self::DeliveryOpaque) {
        let ack = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.clone()),
        };
        // The waiting sender may have given up (time-out); nothing to do then.
        let _ = tx.try_send(ack);
    }
}

type AckProducer = BaseProducer<AckContext>;

/// A blocking, acknowledged producer for the dead-letter topic — and, through
/// [`send_to`](Self::send_to), for the dataflow's other side topics (the AI
/// scores for the aggregates), so one producer and one recovery path serve
/// every record that must be acknowledged before its interview is marked
/// done. `Send + Sync`: share one per process (`Arc`) or make one per worker.
///
/// Idempotent, and like [`crate::kafka::EventProducer`] it replaces
/// its producer after a failed delivery (Tansu 0.6.0 breaks on the epoch bump
/// an idempotent producer performs after a time-out; see
/// [`crate::kafka`]).
pub struct DeadLetterSink {
    config: rdkafka::ClientConfig,
    brokers: String,
    producer: RwLock<(u64, Arc<AckProducer>)>,
    topic: String,
    timeout: Duration,
    max_bytes: usize,
}

/// Room kept under the broker's limit for the key, headers and the record's
/// own framing.
const FRAMING_ROOM: usize = 4096;
/// Longest text kept of one field of a cut dead letter.
const KEPT_TEXT: usize = 512;
/// Fields of an event a cut dead letter always keeps (ids and provenance).
const KEPT_FIELDS: &[&str] = &[
    "schema_version",
    "source",
    "interview_id",
    "candidate_id",
    "opportunity_id",
    "correlation_id",
    "source_ref",
    "source_event",
    "region",
    "received_at",
    "triggered_at",
    "payload_sha256",
];

fn cut_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `letter`, cut to serialize within `max_bytes`: when it is larger, its
/// event keeps only its ids and provenance ([`KEPT_FIELDS`], each cut to
/// 512 bytes), the count of its media, and a `panelflow_truncated` object
/// saying how large the letter was and which fields were dropped; the
/// reason is cut to 4 KiB. A letter that fits is returned as it is.
///
/// ```
/// use panelflow_connectors::kafka::dead_letter::fit;
/// use panelflow_core::{event::InterviewCompleted, outcome::Stage, wire::DeadLetter};
/// let mut e = InterviewCompleted::new("generic", "int-1", "cand-1", "opp-1", vec![]);
/// e.unknown_fields.insert("blob".into(), "x".repeat(900 * 1024).into());
/// let letter = DeadLetter::new(&e, Stage::DecodeEvent, "too large");
/// let cut = fit(&letter, 64 * 1024);
/// assert!(serde_json::to_vec(&cut).unwrap().len() <= 64 * 1024);
/// assert_eq!(cut.event["interview_id"], "int-1");
/// let dropped = cut.event["panelflow_truncated"]["dropped"].as_array().unwrap();
/// assert!(dropped.iter().any(|f| f == "unknown_fields"), "{dropped:?}");
/// ```
pub fn fit(letter: &DeadLetter, max_bytes: usize) -> DeadLetter {
    let size = serde_json::to_vec(letter).map(|v| v.len()).unwrap_or(0);
    if size <= max_bytes {
        return letter.clone();
    }
    let mut cut = letter.clone();
    cut.reason = cut_text(&letter.reason, 4096);
    let mut kept = serde_json::Map::new();
    let mut dropped = Vec::new();
    match &letter.event {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if KEPT_FIELDS.contains(&k.as_str()) {
                    let v = match v {
                        serde_json::Value::String(s) => {
                            serde_json::Value::String(cut_text(s, KEPT_TEXT))
                        }
                        other if other.to_string().len() <= KEPT_TEXT => other.clone(),
                        _ => {
                            dropped.push(k.clone());
                            continue;
                        }
                    };
                    kept.insert(k.clone(), v);
                } else {
                    dropped.push(k.clone());
                }
            }
            if let Some(media) = map.get("media").and_then(serde_json::Value::as_array) {
                kept.insert("media_count".into(), media.len().into());
            }
        }
        serde_json::Value::String(raw) => {
            kept.insert("payload_prefix".into(), cut_text(raw, KEPT_TEXT).into());
            dropped.push("payload".into());
        }
        _ => dropped.push("event".into()),
    }
    dropped.sort();
    kept.insert(
        "panelflow_truncated".into(),
        serde_json::json!({
            "original_bytes": size,
            "limit_bytes": max_bytes,
            "dropped": dropped,
            "note": "cut to fit the broker's message size: ids and reason kept, large fields dropped",
        }),
    );
    cut.event = serde_json::Value::Object(kept);
    cut
}

impl std::fmt::Debug for DeadLetterSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterSink")
            .field("topic", &self.topic)
            .finish()
    }
}

impl DeadLetterSink {
    /// A producer for `kafka.dead_letter_topic` (idempotent, `acks=all`).
    pub fn new(kafka: &KafkaSection) -> Result<Self, DeadLetterError> {
        let config = producer_config(kafka);
        let producer = Self::create(&config, &kafka.brokers)?;
        Ok(Self {
            config,
            brokers: kafka.brokers.clone(),
            producer: RwLock::new((0, Arc::new(producer))),
            topic: kafka.dead_letter_topic.clone(),
            timeout: Duration::from_millis(MESSAGE_TIMEOUT_MS + 2000),
            max_bytes: kafka
                .max_message_bytes
                .saturating_sub(FRAMING_ROOM)
                .max(1024),
        })
    }

    fn create(
        config: &rdkafka::ClientConfig,
        brokers: &str,
    ) -> Result<AckProducer, DeadLetterError> {
        config
            .create_with_context(AckContext)
            .map_err(|source| DeadLetterError::Client {
                brokers: brokers.to_string(),
                source,
            })
    }

    fn current(&self) -> (u64, Arc<AckProducer>) {
        let guard = self.producer.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, guard.1.clone())
    }

    /// Replaces the producer of `generation` after a failed delivery.
    fn replace(&self, generation: u64) {
        let fresh = match Self::create(&self.config, &self.brokers) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot create a fresh dead-letter producer");
                return;
            }
        };
        let old = {
            let mut guard = self.producer.write().unwrap_or_else(|p| p.into_inner());
            if guard.0 != generation {
                return;
            }
            std::mem::replace(&mut *guard, (generation + 1, Arc::new(fresh)))
        };
        // Dropped outside the lock (it purges and flushes briefly).
        drop(old);
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one record keyed by its interview id and blocks until the
    /// broker acknowledged it; returns its partition and offset. A letter
    /// larger than the broker takes is cut to fit first ([`fit`]).
    pub fn send(&self, letter: &DeadLetter) -> Result<(i32, i64), DeadLetterError> {
        let letter = &fit(letter, self.max_bytes);
        let payload = serde_json::to_vec(letter).map_err(|source| DeadLetterError::Serialize {
            interview_id: letter.interview_id.clone(),
            source,
        })?;
        let at = self.send_to(
            &self.topic,
            &letter.interview_id,
            &payload,
            &letter.interview_id,
        )?;
        tracing::info!(
            interview_id = %letter.interview_id,
            correlation_id = %letter.correlation_id,
            stage = %letter.stage,
            partition = at.0,
            offset = at.1,
            "dead letter written"
        );
        metrics::DEAD_LETTERS
            .with_label_values(&[letter.stage.as_str()])
            .inc();
        Ok(at)
    }

    /// Writes one JSON record to another topic through the same
    /// acknowledged producer (e.g. the analysis's AI scores for the
    /// aggregates), blocking until the broker has it; `interview_id` names
    /// it in errors.
    pub fn send_to(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        interview_id: &str,
    ) -> Result<(i32, i64), DeadLetterError> {
        self.send_with_headers(topic, key, payload, interview_id, &[])
    }

    /// [`send_to`](Self::send_to) with headers (a retried event's due time
    /// and attempt count).
    pub fn send_with_headers(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        interview_id: &str,
        headers: &[(&str, &str)],
    ) -> Result<(i32, i64), DeadLetterError> {
        let (generation, producer) = self.current();
        let result = self.send_with(&producer, topic, key, payload, interview_id, headers);
        if matches!(result, Err(DeadLetterError::Delivery { .. })) {
            drop(producer);
            self.replace(generation);
        }
        result
    }

    fn send_with(
        &self,
        producer: &AckProducer,
        topic: &str,
        key: &str,
        payload: &[u8],
        interview_id: &str,
        headers: &[(&str, &str)],
    ) -> Result<(i32, i64), DeadLetterError> {
        let deadline = Instant::now() + self.timeout;
        let fail = |source: KafkaError| DeadLetterError::Delivery {
            interview_id: interview_id.to_owned(),
            topic: topic.to_owned(),
            source,
        };
        let (tx, rx) = sync_channel::<Ack>(1);
        let mut owned = rdkafka::message::OwnedHeaders::new();
        for (k, v) in headers {
            owned = owned.insert(rdkafka::message::Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(tx))
            .key(key)
            .payload(payload)
            .headers(owned);
        // Enqueue, making room by polling while the local queue is full.
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(fail(e)),
            }
        }
        // Serve delivery reports until ours arrives (other threads' reports
        // are routed to their own channels).
        loop {
            match rx.try_recv() {
                Ok(Ok(at)) => return Ok(at),
                Ok(Err(e)) => return Err(fail(e)),
                Err(TryRecvError::Disconnected) => {
                    return Err(fail(KafkaError::MessageProduction(RDKafkaErrorCode::Fail)))
                }
                Err(TryRecvError::Empty) => {}
            }
            if Instant::now() >= deadline {
                return Err(fail(KafkaError::MessageProduction(
                    RDKafkaErrorCode::MessageTimedOut,
                )));
            }
            producer.poll(Duration::from_millis(50));
        }
    }

    /// Waits for anything still in flight (at shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.current().1.flush(timeout)
    }
}

impl Drop for DeadLetterSink {
    fn drop(&mut self) {
        let _ = self.flush(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use panelflow_core::event::InterviewCompleted;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;

    #[test]
    fn round_trips_as_json() {
        let e = InterviewCompleted::new("generic", "int-1", "c", "o", vec![]);
        let d = DeadLetter::new(&e, panelflow_core::outcome::Stage::Media, "not audio");
        let back: DeadLetter = serde_json::from_slice(&serde_json::to_vec(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.event["interview_id"], "int-1");
    }

    #[test]
    fn sends_from_plain_threads_on_mock_cluster() {
        let mock = MockCluster::new(1).unwrap();
        mock.create_topic("dl", 2, 1).unwrap();
        let k = KafkaSection {
            brokers: mock.bootstrap_servers(),
            dead_letter_topic: "dl".into(),
            ..KafkaSection::default()
        };
        let sink = std::sync::Arc::new(DeadLetterSink::new(&k).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let e =
                        InterviewCompleted::new("generic", &format!("int-{i}"), "c", "o", vec![]);
                    sink.send(&DeadLetter::new(
                        &e,
                        panelflow_core::outcome::Stage::Media,
                        "corrupt",
                    ))
                    .unwrap()
                })
            })
            .collect();
        let acks: Vec<(i32, i64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(acks.len(), 4);

        let consumer: BaseConsumer = crate::kafka::consumer_config(&k).create().unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..2 {
            tpl.add_partition_offset("dl", p, rdkafka::Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen < 4 && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let d: DeadLetter = serde_json::from_slice(m.payload().unwrap()).unwrap();
                assert_eq!(m.key(), Some(d.interview_id.as_bytes()));
                assert_eq!(d.stage, "media");
                seen += 1;
            }
        }
        assert_eq!(seen, 4);
    }
}
