//! The pipeline's source — each worker's consumer, polled by a thread of its
//! own ([`panelflow_connectors::kafka::consumer`]), read into the dataflow
//! by the source operator — and the offset-commit half of the commit
//! protocol (see [`crate::pipeline`]).
//!
//! A worker reads the event topic and its retry topics. Each message is
//! stamped with the wall-clock time; its offset and size are remembered
//! under that time and count as in flight until committed, which is what
//! the poller's pause/resume bound reads. A message larger than
//! `[kafka] max_event_bytes`, or not an `InterviewCompleted`, is refused
//! with a dead letter (cut to fit the broker) and goes no further.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::{Scope, Stream};

use super::{RunOptions, RunStats};
use crate::config::PipelineConfig;
use panelflow_connectors::kafka::consumer::{
    self as kc, header, Bounds, InFlight, PipelineConsumer, PollerError,
};
use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_connectors::kafka::share::GroupShare;
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::Stage;
use panelflow_core::wire::DeadLetter;

/// Messages taken from the poller per activation at most, so the other
/// operators of the worker run between reads.
const MAX_POLL_BATCH: usize = 64;

/// An event read from Kafka, with what its headers say.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Incoming {
    /// The event.
    pub event: InterviewCompleted,
    /// Transient failures before this try (0 on the event topic).
    pub attempt: u32,
    /// Sent again by `panelflow redrive` (a failed row may be superseded).
    pub redriven: bool,
}

/// One pending message: topic, partition, offset, bytes.
type PendingMessage = (Rc<str>, i32, i64, u64);

/// Offsets read, by the time they were stamped with.
#[derive(Clone, Default)]
pub struct PendingOffsets(Rc<RefCell<BTreeMap<u64, Vec<PendingMessage>>>>);

/// What [`PendingOffsets::take_completed`] hands back: the highest offset
/// per (topic, partition), and how many messages and bytes that releases.
#[derive(Debug, Default, PartialEq)]
pub struct Completed {
    /// Highest offset per (topic, partition).
    pub highest: HashMap<(String, i32), i64>,
    /// Messages released.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl PendingOffsets {
    fn record(&self, time: u64, topic: Rc<str>, partition: i32, offset: i64, bytes: u64) {
        self.0
            .borrow_mut()
            .entry(time)
            .or_default()
            .push((topic, partition, offset, bytes));
    }

    /// Removes and returns, per (topic, partition), the highest offset among
    /// times for which `done(time)` holds.
    fn take_completed(&self, done: impl Fn(u64) -> bool) -> Completed {
        let mut pending = self.0.borrow_mut();
        let finished: Vec<u64> = pending.keys().copied().take_while(|t| done(*t)).collect();
        let mut out = Completed::default();
        for t in finished {
            for (topic, p, o, bytes) in pending.remove(&t).unwrap_or_default() {
                out.count += 1;
                out.bytes += bytes;
                let e = out.highest.entry((topic.to_string(), p)).or_insert(o);
                *e = (*e).max(o);
            }
        }
        out
    }
}

/// A worker's connection to Kafka: its consumer, the poller feeding it,
/// and what it has in flight.
pub struct Feed {
    /// The consumer (committed to from the worker thread).
    pub consumer: Arc<PipelineConsumer>,
    /// Messages from the poller.
    pub rx: Receiver<OwnedMessage>,
    /// Read and not yet committed.
    pub in_flight: Arc<InFlight>,
    /// The poller thread.
    pub poller: Option<std::thread::JoinHandle<Result<(), PollerError>>>,
    /// Tells the poller to stop (the run's shutdown, or this worker's end).
    pub stop: Arc<AtomicBool>,
}

impl Feed {
    /// Stops the poller and reports how it ended.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        self.check(true)
    }

    /// Whether the poller failed (joined when it has ended or `wait`).
    pub fn check(&mut self, wait: bool) -> anyhow::Result<()> {
        let ended = self.poller.as_ref().is_some_and(|p| p.is_finished());
        if !(ended || wait) {
            return Ok(());
        }
        match self.poller.take().map(|p| p.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(_)) => anyhow::bail!("the Kafka poller thread panicked"),
        }
    }
}

/// Connects worker `index` (global across processes): a consumer in the
/// pipeline's group with `group.instance.id` `PREFIX-wINDEX` (static
/// membership: a restarted worker is the same member), subscribed to the
/// event and retry topics, and its poller thread (which stops once `stop`
/// is set); its assignments go to the process's `share` of the group.
pub fn connect(
    cfg: &PipelineConfig,
    index: usize,
    stop: Arc<AtomicBool>,
    share: Option<Arc<GroupShare>>,
) -> anyhow::Result<Feed> {
    let kafka = &cfg.kafka;
    let instance = format!("{}-w{index}", kc::instance_prefix(kafka));
    let topics = kafka.input_topics();
    let consumer = Arc::new(kc::subscribe(kafka, Some(&instance), &topics, share)?);
    let in_flight = Arc::new(InFlight::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let retry: HashSet<String> = kafka.retry_tiers().into_iter().map(|t| t.topic).collect();
    let poller = kc::spawn_poller(
        consumer.clone(),
        in_flight.clone(),
        Bounds {
            max_events: kafka.max_in_flight_events,
            max_bytes: kafka.max_in_flight_bytes,
        },
        retry,
        stop.clone(),
        tx,
        instance.clone(),
    )
    .context("starting the Kafka poller")?;
    tracing::info!(instance = %instance, topics = ?topics, "consumer subscribed (static membership)");
    Ok(Feed {
        consumer,
        rx,
        in_flight,
        poller: Some(poller),
        stop,
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The dead letter of a message refused at the source.
fn refused(message: &OwnedMessage, reason: String) -> DeadLetter {
    let payload = message.payload().unwrap_or_default();
    let event = serde_json::from_slice::<serde_json::Value>(payload).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(payload).into_owned())
    });
    let field = |k: &str| {
        event
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    DeadLetter {
        interview_id: field("interview_id")
            .or_else(|| header(message, kc::INTERVIEW_HEADER))
            .or_else(|| {
                message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
            })
            .unwrap_or_default(),
        correlation_id: field("correlation_id").unwrap_or_default(),
        source: field("source").unwrap_or_else(|| "kafka".into()),
        stage: Stage::DecodeEvent,
        reason,
        event,
        failed_at: chrono::Utc::now().to_rfc3339(),
    }
}

/// What a message decodes to.
fn decode(message: &OwnedMessage, max_event_bytes: usize) -> Result<Incoming, String> {
    let payload = message.payload().unwrap_or_default();
    if payload.len() > max_event_bytes {
        return Err(format!(
            "event_too_large: {} bytes, more than the {max_event_bytes}-byte limit ([kafka] max_event_bytes)",
            payload.len()
        ));
    }
    let mut event = serde_json::from_slice::<InterviewCompleted>(payload)
        .map_err(|e| format!("not a valid InterviewCompleted event: {e}"))?;
    // Any producer may write the topic: its ids go in their source's
    // namespace, as the receiver's do.
    event.namespace_ids();
    let attempt = header(message, kc::ATTEMPT_HEADER)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let redriven = header(message, kc::REDRIVE_HEADER).is_some();
    Ok(Incoming {
        event,
        attempt,
        redriven,
    })
}

/// The source operator: takes what this worker's poller read, stamps each
/// event with the current (wall-clock) time, records its offset as
/// pending, and dead-letters messages that are too large or not an event.
pub fn events<'scope>(
    scope: Scope<'scope, u64>,
    rx: Receiver<OwnedMessage>,
    pending: PendingOffsets,
    dead_letters: Rc<DeadLetterSink>,
    cfg: &PipelineConfig,
    opts: &RunOptions,
) -> Stream<'scope, u64, Vec<Incoming>> {
    let epoch_ms = (opts.epoch.as_millis() as u64).max(1);
    let shutdown = opts.shutdown.clone();
    let stats = opts.stats.clone();
    let max_event_bytes = cfg.kafka.max_event_bytes;
    let mut topics: HashMap<String, Rc<str>> = HashMap::new();
    source::<_, CapacityContainerBuilder<Vec<Incoming>>, _, _>(
        scope,
        "KafkaSource",
        move |cap, info| {
            let activator = scope.activator_for(info.address);
            let mut cap = Some(cap);
            move |output| {
                let Some(c) = cap.as_mut() else { return };
                if shutdown.load(Ordering::SeqCst) {
                    tracing::debug!("source done");
                    cap = None;
                    return;
                }
                // All workers stamp by the same clock, so an idle worker does
                // not hold back the frontier (and everyone's progress).
                let now = (now_ms() / epoch_ms).max(*c.time());
                c.downgrade(&now);
                let mut stop = false;
                let mut session = output.session(&*c);
                for _ in 0..MAX_POLL_BATCH {
                    let message = match rx.try_recv() {
                        Ok(m) => m,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            stop = true;
                            break;
                        }
                    };
                    stats.consumed.fetch_add(1, Ordering::Relaxed);
                    match decode(&message, max_event_bytes) {
                        Ok(incoming) => session.give(incoming),
                        Err(reason) => {
                            stats.malformed.fetch_add(1, Ordering::Relaxed);
                            let letter = refused(&message, reason);
                            if let Err(e) = dead_letters.send(&letter) {
                                // Without the dead letter the message must not be
                                // committed: stop here and let a restart replay it.
                                tracing::error!(error = %e, partition = message.partition(), offset = message.offset(), "dead letter failed; stopping the source");
                                stop = true;
                                break;
                            }
                        }
                    }
                    let topic = topics
                        .entry(message.topic().to_owned())
                        .or_insert_with(|| Rc::from(message.topic()))
                        .clone();
                    let bytes = message.payload().map_or(0, |p| p.len()) as u64
                        + message.key().map_or(0, |k| k.len() as u64);
                    pending.record(now, topic, message.partition(), message.offset(), bytes);
                }
                drop(session);
                if stop {
                    cap = None;
                    return;
                }
                activator.activate_after(Duration::from_millis(20));
            }
        },
    )
}

/// Commits, per (topic, partition), the offsets of all times the probe has
/// passed; what they release leaves `in_flight`.
pub fn commit_completed(
    consumer: &PipelineConsumer,
    pending: &PendingOffsets,
    probe: &ProbeHandle<u64>,
    stats: &RunStats,
    in_flight: &InFlight,
) {
    let completed = pending.take_completed(|t| !probe.less_equal(&t));
    if completed.count == 0 {
        return;
    }
    in_flight.done(completed.count, completed.bytes);
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in &completed.highest {
        if let Err(e) = list.add_partition_offset(topic, *partition, Offset::Offset(offset + 1)) {
            tracing::warn!(error = %e, "building the commit list");
        }
    }
    match consumer.commit(&list, CommitMode::Sync) {
        Ok(()) => {
            stats
                .committed
                .fetch_add(completed.highest.len() as u64, Ordering::Relaxed);
            tracing::debug!(highest = ?completed.highest, "offsets committed");
        }
        // A revoked partition's offsets are replayed by its new owner; the
        // sinks are idempotent, so nothing is written twice.
        Err(e) => tracing::warn!(error = %e, "offset commit failed; the events will be replayed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_completed_times_are_taken_and_the_highest_offset_wins() {
        let p = PendingOffsets::default();
        let t: Rc<str> = Rc::from("t");
        p.record(1, t.clone(), 0, 10, 5);
        p.record(1, t.clone(), 0, 12, 5);
        p.record(2, t.clone(), 1, 5, 5);
        p.record(3, t.clone(), 0, 13, 5);
        let done = p.take_completed(|t| t < 3);
        assert_eq!(done.highest.get(&("t".to_string(), 0)), Some(&12));
        assert_eq!(done.highest.get(&("t".to_string(), 1)), Some(&5));
        assert_eq!((done.count, done.bytes), (3, 15));
        let rest = p.take_completed(|_| true);
        assert_eq!(rest.highest.get(&("t".to_string(), 0)), Some(&13));
    }
}
