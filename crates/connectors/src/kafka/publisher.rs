//! Publishing governance records to Kafka (the aggregates' retractions, the
//! backfill's replayed events) with the engine's producer settings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::config::KafkaSection;

/// How long a broker may take to answer the first metadata request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long delivery of a batch may take.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Topic name.
    pub topic: String,
    /// Key.
    pub key: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
}

/// Counts failed deliveries (the broker's answer to each message).
#[derive(Default)]
struct Deliveries {
    failed: AtomicUsize,
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::SeqCst);
            *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    }
}

/// A connected producer.
pub struct Publisher {
    producer: BaseProducer<Deliveries>,
}

impl Publisher {
    /// Connects to `kafka.brokers` and checks that a broker answers and that
    /// `topics` exist (a missing topic is an error naming it).
    pub fn connect(kafka: &KafkaSection, topics: &[&str]) -> Result<Self, String> {
        if kafka.brokers.trim().is_empty() {
            return Err("no Kafka brokers configured".into());
        }
        let producer: BaseProducer<Deliveries> = crate::kafka::producer_config(kafka)
            .create_with_context(Deliveries::default())
            .map_err(|e| format!("Kafka producer: {e}"))?;
        let meta = producer
            .client()
            .fetch_metadata(None, CONNECT_TIMEOUT)
            .map_err(|e| format!("Kafka at {} unreachable: {e}", kafka.brokers))?;
        for t in topics {
            if !meta.topics().iter().any(|m| m.name() == *t) {
                return Err(format!("topic {t} does not exist on {}", kafka.brokers));
            }
        }
        Ok(Self { producer })
    }

    /// Sends one message and waits until it is delivered.
    pub fn send_one(&self, m: &Outgoing) -> Result<(), String> {
        self.send_all(std::slice::from_ref(m)).map(|_| ())
    }

    /// Sends messages and waits until all are delivered; returns how many.
    pub fn send_all(&self, messages: &[Outgoing]) -> Result<usize, String> {
        for m in messages {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &m.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut record = BaseRecord::to(&m.topic)
                .key(&m.key)
                .payload(&m.payload)
                .headers(headers);
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        r,
                    )) => {
                        record = r;
                        self.producer.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => return Err(format!("queueing a message for {}: {e}", m.topic)),
                }
            }
            self.producer.poll(Duration::ZERO);
        }
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|e| format!("delivering {} messages: {e}", messages.len()))?;
        let ctx = self.producer.context();
        let failed = ctx.failed.swap(0, Ordering::SeqCst);
        if failed > 0 {
            let last = ctx
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_default();
            return Err(format!(
                "{failed} of {} messages not delivered: {last}",
                messages.len()
            ));
        }
        Ok(messages.len())
    }
}
