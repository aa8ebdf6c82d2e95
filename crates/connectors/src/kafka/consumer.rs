//! The pipeline's consumer: static group membership, bounded prefetch, and a
//! poller thread that keeps polling whatever the workers are doing.
//!
//! **Why static membership.** Tansu 0.6.0 keeps a SIGKILLed member in its
//! group until a later join evicts it for a missed heartbeat; evicting the
//! *leader* between a follower's JoinGroup and SyncGroup lets that
//! follower's empty SyncGroup form the group with no assignment at all —
//! every member then heartbeats happily with no partitions, for as long as
//! nobody joins or leaves (measured: a restarted `run` idle for minutes in
//! one of three kills). With `group.instance.id` (KIP-345) a restarted
//! worker is the *same* member: Tansu finds it by its instance id and hands
//! back its assignment (6.3 s on Tansu, every time, its join and sync
//! pauses included), and Apache Kafka does the same without a rebalance
//! while `session.timeout.ms` has not passed (after that, the survivors
//! take its partitions over). The instance id is `PREFIX-pP-wW`: the prefix
//! from `[kafka] instance_id` or `PANELFLOW_INSTANCE_ID`, else the host
//! name, so separate `run` processes of one group never share one (Kafka
//! would fence the older).
//!
//! **Why a poller thread.** librdkafka must be polled at least every
//! `max.poll.interval.ms` or the member leaves its group. A worker thread
//! can spend minutes in one transcription or one Lever back-off, so each
//! worker's consumer is polled by a thread of its own ([`spawn_poller`]),
//! which hands messages to the worker through a channel and pauses the
//! consumer's partitions while the worker's read-but-uncommitted messages
//! ([`InFlight`]) are over the bound ([`Bounds`]), resuming below it. Only
//! partitions that have delivered a message are paused: a pause while a
//! partition is still starting (its offset being fetched or reset) can leave
//! it never fetched after the resume (librdkafka #2190, #5591).
//!
//! **Delayed retry topics.** A message on a retry topic carries the time it
//! is due ([`DUE_HEADER`]); one read before then is sought back to and its
//! partition paused until then (each retry topic has one delay, so its
//! messages are due in order).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::client::consumer_config;
use super::config::KafkaSection;
use super::error::KafkaIoError;
use super::share::{GroupShare, Partition};
use crate::metrics;

/// Header of a retried message: when it is due, ms since the epoch.
pub const DUE_HEADER: &str = "panelflow-due-ms";
/// Header of a retried message: attempts made so far (1 after the first failure).
pub const ATTEMPT_HEADER: &str = "panelflow-attempt";
/// Header of a retried message: the last failure, for people reading the topic.
pub const ERROR_HEADER: &str = "panelflow-last-error";
/// Header of a message sent again by `panelflow redrive`: the dead letter's
/// `topic/partition/offset`.
pub const REDRIVE_HEADER: &str = "panelflow-redrive-of";
/// Header naming the interview of a message (its key is the opportunity).
pub const INTERVIEW_HEADER: &str = "panelflow-interview-id";

/// How much may be read and not yet committed, per consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Messages.
    pub max_events: u64,
    /// Bytes (keys and payloads).
    pub max_bytes: u64,
}

impl Bounds {
    /// Whether `count` messages of `bytes` bytes are at or over the bound.
    ///
    /// ```
    /// use panelflow_connectors::kafka::consumer::Bounds;
    /// let b = Bounds { max_events: 10, max_bytes: 1000 };
    /// assert!(!b.reached(9, 999));
    /// assert!(b.reached(10, 0));
    /// assert!(b.reached(1, 1000));
    /// ```
    pub fn reached(&self, count: u64, bytes: u64) -> bool {
        count >= self.max_events.max(1) || bytes >= self.max_bytes.max(1)
    }
}

/// Messages (and their bytes) read by one consumer and not yet committed;
/// the process-wide gauges follow every change.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicI64,
    bytes: AtomicI64,
}

impl InFlight {
    /// One message of `bytes` read.
    pub fn read(&self, bytes: u64) {
        let b = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.count.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(b, Ordering::SeqCst);
        metrics::IN_FLIGHT_EVENTS.inc();
        metrics::IN_FLIGHT_BYTES.add(b);
    }

    /// `count` messages of `bytes` in all committed (or given up).
    pub fn done(&self, count: u64, bytes: u64) {
        let c = i64::try_from(count).unwrap_or(i64::MAX);
        let b = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.count.fetch_sub(c, Ordering::SeqCst);
        self.bytes.fetch_sub(b, Ordering::SeqCst);
        metrics::IN_FLIGHT_EVENTS.sub(c);
        metrics::IN_FLIGHT_BYTES.sub(b);
    }

    /// Messages and bytes now.
    pub fn now(&self) -> (u64, u64) {
        let c = self.count.load(Ordering::SeqCst).max(0) as u64;
        let b = self.bytes.load(Ordering::SeqCst).max(0) as u64;
        (c, b)
    }
}

/// The consumer's context: rebalances logged and counted, lag per partition
/// from librdkafka's statistics, fatal errors (a fenced instance id) flagged.
#[derive(Debug, Default)]
pub struct GroupContext {
    fatal: AtomicBool,
    /// The process's share of the group, and this consumer's name in it.
    share: Option<(Arc<GroupShare>, String)>,
}

impl GroupContext {
    /// A context that reports this consumer's (`name`) assignments to the
    /// process's `share` of the group.
    pub fn sharing(share: Arc<GroupShare>, name: impl Into<String>) -> Self {
        Self {
            fatal: AtomicBool::new(false),
            share: Some((share, name.into())),
        }
    }

    /// Whether librdkafka reported a fatal error (e.g. another process took
    /// this consumer's `group.instance.id`).
    pub fn fatal(&self) -> bool {
        self.fatal.load(Ordering::SeqCst)
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        for (name, topic) in &statistics.topics {
            for (partition, p) in &topic.partitions {
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                metrics::CONSUMER_LAG
                    .with_label_values(&[name.as_str(), &partition.to_string()])
                    .set(p.consumer_lag);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let KafkaError::MessageConsumptionFatal(_) = error {
            self.fatal.store(true, Ordering::SeqCst);
        }
        if matches!(
            error.rdkafka_error_code(),
            Some(rdkafka::types::RDKafkaErrorCode::Fatal)
        ) {
            self.fatal.store(true, Ordering::SeqCst);
        }
        tracing::warn!(error = %error, reason, "Kafka client error");
    }
}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Some((share, name)) = &self.share {
            match rebalance {
                Rebalance::Assign(tpl) => {
                    count_subscribed_partitions(consumer, share);
                    share.assign(name, partitions_of(tpl));
                }
                Rebalance::Revoke(tpl) => share.revoke(name, partitions_of(tpl)),
                Rebalance::Error(_) => {}
            }
        }
        let (kind, detail) = match rebalance {
            Rebalance::Assign(tpl) => ("assign", format!("{} partition(s)", tpl.count())),
            Rebalance::Revoke(tpl) => ("revoke", format!("{} partition(s)", tpl.count())),
            Rebalance::Error(e) => ("error", e.to_string()),
        };
        metrics::REBALANCES.with_label_values(&[kind]).inc();
        tracing::info!(kind, detail, "consumer group rebalance");
    }
}

/// The partitions of a list.
fn partitions_of(tpl: &TopicPartitionList) -> Vec<Partition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

/// Tells `share` how many partitions each subscribed topic has (read from
/// the broker's metadata once per topic): the share counts every partition
/// of the group, not only this consumer's.
fn count_subscribed_partitions(consumer: &BaseConsumer<GroupContext>, share: &GroupShare) {
    let topics: Vec<String> = match consumer.subscription() {
        Ok(tpl) => tpl
            .elements()
            .iter()
            .map(|e| e.topic().to_owned())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the consumer's subscription");
            return;
        }
    };
    for topic in topics {
        if share.knows_topic(&topic) {
            continue;
        }
        match consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)) {
            Ok(md) => {
                let n: usize = md.topics().iter().map(|t| t.partitions().len()).sum();
                if n > 0 {
                    share.set_topic_partitions(&topic, n);
                }
            }
            Err(e) => tracing::warn!(topic, error = %e, "reading a topic's partition count"),
        }
    }
}

/// The pipeline's consumer type.
pub type PipelineConsumer = BaseConsumer<GroupContext>;

/// The `group.instance.id` prefix: `[kafka] instance_id`, else
/// `PANELFLOW_INSTANCE_ID`, else the host name.
pub fn instance_prefix(kafka: &KafkaSection) -> String {
    if let Some(id) = kafka.instance_id.as_deref().filter(|s| !s.is_empty()) {
        return id.to_owned();
    }
    if let Ok(id) = std::env::var("PANELFLOW_INSTANCE_ID") {
        if !id.is_empty() {
            return id;
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "panelflow".into())
}

/// The pipeline consumer's configuration: [`consumer_config`], then static
/// membership (`group.instance.id` = `instance_id` when given), a 30 s
/// session, a 5-minute poll interval (the poller polls every 100 ms), a
/// small prefetch (what is fetched ahead waits in librdkafka's memory:
/// at most 1000 messages or 4 MiB), statistics every 5 s for the lag
/// gauges; the pass-through `properties` win over all of it.
pub fn pipeline_consumer_config(
    kafka: &KafkaSection,
    instance_id: Option<&str>,
) -> rdkafka::ClientConfig {
    let mut cfg = consumer_config(kafka);
    let defaults = [
        ("session.timeout.ms", "30000"),
        ("heartbeat.interval.ms", "3000"),
        ("max.poll.interval.ms", "300000"),
        ("queued.min.messages", "1000"),
        ("queued.max.messages.kbytes", "4096"),
        ("fetch.max.bytes", "4194304"),
        ("statistics.interval.ms", "5000"),
    ];
    for (k, v) in defaults {
        if !kafka.properties.contains_key(k) {
            cfg.set(k, v);
        }
    }
    if let Some(id) = instance_id {
        if !kafka.properties.contains_key("group.instance.id") {
            cfg.set("group.instance.id", id);
        }
    }
    cfg
}

/// A pipeline consumer subscribed to `topics`; its assignments go to
/// `share` when given.
pub fn subscribe(
    kafka: &KafkaSection,
    instance_id: Option<&str>,
    topics: &[String],
    share: Option<Arc<GroupShare>>,
) -> Result<PipelineConsumer, KafkaIoError> {
    let context = match share {
        Some(share) => GroupContext::sharing(share, instance_id.unwrap_or("consumer")),
        None => GroupContext::default(),
    };
    let consumer: PipelineConsumer = pipeline_consumer_config(kafka, instance_id)
        .create_with_context(context)
        .map_err(|source| KafkaIoError::Client {
            brokers: kafka.brokers.clone(),
            source,
        })?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&names)
        .map_err(|source| KafkaIoError::Client {
            brokers: kafka.brokers.clone(),
            source,
        })?;
    Ok(consumer)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The value of header `name` of a message, as text.
pub fn header<M: Message>(message: &M, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Why the poller stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    /// librdkafka reported a fatal error (e.g. this `group.instance.id` was
    /// taken by another process).
    #[error(
        "the Kafka consumer hit a fatal error (is another process using group.instance.id {0}?)"
    )]
    Fatal(String),
}

/// Polls `consumer` on a thread of its own until `shutdown` is set: each
/// message goes to `tx` (and counts in `in_flight`); partitions are paused
/// while `in_flight` is at `bounds` and resumed below it; a message of a
/// `retry_topics` topic that is not yet due is sought back to and its
/// partition paused until it is.
pub fn spawn_poller(
    consumer: Arc<PipelineConsumer>,
    in_flight: Arc<InFlight>,
    bounds: Bounds,
    retry_topics: HashSet<String>,
    shutdown: Arc<AtomicBool>,
    tx: Sender<OwnedMessage>,
    name: String,
) -> std::io::Result<std::thread::JoinHandle<Result<(), PollerError>>> {
    std::thread::Builder::new()
        .name(format!("poller-{name}"))
        .spawn(move || {
            let mut poller = Poller {
                consumer,
                in_flight,
                bounds,
                retry_topics,
                delayed: HashMap::new(),
                bound_paused: false,
                paused: HashSet::new(),
            };
            poller.run(&shutdown, &tx, &name)
        })
}

struct Poller {
    consumer: Arc<PipelineConsumer>,
    in_flight: Arc<InFlight>,
    bounds: Bounds,
    retry_topics: HashSet<String>,
    /// Retry partitions waiting for their next message to be due.
    delayed: HashMap<(String, i32), Instant>,
    bound_paused: bool,
    /// Partitions paused now (for either reason).
    paused: HashSet<(String, i32)>,
}

impl Poller {
    fn run(
        &mut self,
        shutdown: &AtomicBool,
        tx: &Sender<OwnedMessage>,
        name: &str,
    ) -> Result<(), PollerError> {
        let mut last_sync = Instant::now() - Duration::from_secs(1);
        while !shutdown.load(Ordering::SeqCst) {
            if self.consumer.context().fatal() {
                return Err(PollerError::Fatal(name.to_owned()));
            }
            let (count, bytes) = self.in_flight.now();
            let over = self.bounds.reached(count, bytes);
            if over != self.bound_paused || last_sync.elapsed() >= Duration::from_millis(200) {
                if over != self.bound_paused {
                    tracing::debug!(
                        consumer = name,
                        count,
                        bytes,
                        paused = over,
                        "in-flight bound"
                    );
                    if over {
                        metrics::CONSUMERS_PAUSED.inc();
                    } else {
                        metrics::CONSUMERS_PAUSED.dec();
                    }
                }
                self.bound_paused = over;
                self.sync_pauses();
                last_sync = Instant::now();
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(KafkaError::MessageConsumption(code))) => {
                    if code == rdkafka::types::RDKafkaErrorCode::PollExceeded {
                        metrics::REBALANCES
                            .with_label_values(&["poll_timeout"])
                            .inc();
                    }
                    tracing::warn!(consumer = name, error = %code, "Kafka poll error (will retry)");
                }
                Some(Err(e)) => {
                    tracing::warn!(consumer = name, error = %e, "Kafka poll error (will retry)")
                }
                Some(Ok(m)) => {
                    let topic = m.topic().to_owned();
                    let partition = m.partition();
                    if self.retry_topics.contains(&topic) {
                        let due = header(&m, DUE_HEADER)
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(0);
                        let wait = due - now_ms();
                        if wait > 0 {
                            let offset = m.offset();
                            drop(m);
                            self.delay(&topic, partition, offset, wait);
                            continue;
                        }
                    }
                    let size = m.payload_len() as u64 + m.key().map_or(0, |k| k.len() as u64);
                    self.in_flight.read(size);
                    metrics::EVENTS_IN.with_label_values(&["run", &topic]).inc();
                    if tx.send(m.detach()).is_err() {
                        // The worker is gone: nothing more to hand over.
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Seeks back to `offset` and pauses the partition for `wait_ms`.
    fn delay(&mut self, topic: &str, partition: i32, offset: i64, wait_ms: i64) {
        let key = (topic.to_owned(), partition);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::warn!(topic, partition, error = %e, "pausing a retry partition");
        }
        if let Err(e) = self.consumer.seek(
            topic,
            partition,
            Offset::Offset(offset),
            Duration::from_secs(5),
        ) {
            tracing::warn!(topic, partition, offset, error = %e, "seeking back on a retry partition");
        }
        self.paused.insert(key.clone());
        let until = Instant::now() + Duration::from_millis(wait_ms.clamp(0, 86_400_000) as u64);
        tracing::debug!(
            topic,
            partition,
            offset,
            wait_ms,
            "retry not yet due; partition paused"
        );
        self.delayed.insert(key, until);
    }

    /// The partitions with a valid position: those a message was read from.
    fn started_partitions(&self) -> HashSet<(String, i32)> {
        match self.consumer.position() {
            Ok(tpl) => tpl
                .elements()
                .iter()
                .filter(|e| matches!(e.offset(), Offset::Offset(_)))
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect(),
            Err(_) => HashSet::new(),
        }
    }

    /// Makes the paused set what it should be: every started partition
    /// while over the bound, else the retry partitions not yet due.
    fn sync_pauses(&mut self) {
        let now = Instant::now();
        self.delayed.retain(|_, until| *until > now);
        let assignment = match self.consumer.assignment() {
            Ok(a) => a,
            Err(_) => return,
        };
        let assigned: HashSet<(String, i32)> = assignment
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        // A partition no longer ours is not paused by us any more.
        self.paused.retain(|k| assigned.contains(k));
        let want: HashSet<(String, i32)> = if self.bound_paused {
            // Never a partition still starting (module doc: librdkafka #2190, #5591).
            let started = self.started_partitions();
            assigned.intersection(&started).cloned().collect()
        } else {
            self.delayed
                .keys()
                .filter(|k| assigned.contains(*k))
                .cloned()
                .collect()
        };
        let to_pause: Vec<_> = want.difference(&self.paused).cloned().collect();
        let to_resume: Vec<_> = self.paused.difference(&want).cloned().collect();
        if !to_pause.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (t, p) in &to_pause {
                tpl.add_partition(t, *p);
            }
            match self.consumer.pause(&tpl) {
                Ok(()) => self.paused.extend(to_pause),
                Err(e) => tracing::warn!(error = %e, "pausing partitions"),
            }
        }
        if !to_resume.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (t, p) in &to_resume {
                tpl.add_partition(t, *p);
            }
            match self.consumer.resume(&tpl) {
                Ok(()) => {
                    for k in &to_resume {
                        self.paused.remove(k);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "resuming partitions"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_counts_and_bounds() {
        let f = InFlight::default();
        f.read(100);
        f.read(50);
        assert_eq!(f.now(), (2, 150));
        let b = Bounds {
            max_events: 2,
            max_bytes: 1 << 20,
        };
        assert!(b.reached(f.now().0, f.now().1));
        f.done(1, 100);
        assert_eq!(f.now(), (1, 50));
        assert!(!b.reached(f.now().0, f.now().1));
    }

    #[test]
    fn static_membership_and_bounded_prefetch_are_configured() {
        let k = KafkaSection::default();
        let c = pipeline_consumer_config(&k, Some("host-p0-w1"));
        assert_eq!(c.get("group.instance.id"), Some("host-p0-w1"));
        assert_eq!(c.get("queued.max.messages.kbytes"), Some("4096"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        let mut k = KafkaSection::default();
        k.properties
            .insert("session.timeout.ms".into(), "45000".into());
        let c = pipeline_consumer_config(&k, None);
        assert_eq!(c.get("session.timeout.ms"), Some("45000"));
        assert_eq!(c.get("group.instance.id"), None);
    }
}
