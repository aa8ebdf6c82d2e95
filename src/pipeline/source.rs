//! The pipeline's source — the Kafka source operator ([`crate::source`])
//! reading `InterviewCompleted` events — and the offset-commit half of the
//! commit protocol (see [`crate::pipeline`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::{Scope, Stream};

use super::{RunOptions, RunStats};
use crate::config::PipelineConfig;
use crate::source::{kafka_source, refused, stamp_epochs, Decoded, SourceOptions};
use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::Stage;

/// Messages read per activation at most, so one busy partition cannot
/// starve the rest of the worker.
const MAX_POLL_BATCH: usize = 256;

/// Offsets read, by the time they were stamped with: `time → (partition, offset)`.
#[derive(Clone, Default)]
pub struct PendingOffsets(Rc<RefCell<OffsetsByTime>>);

/// `(partition, offset)` pairs under the time they were stamped with.
type OffsetsByTime = BTreeMap<u64, Vec<(i32, i64)>>;

impl PendingOffsets {
    fn record(&self, time: u64, partition: i32, offset: i64) {
        self.0
            .borrow_mut()
            .entry(time)
            .or_default()
            .push((partition, offset));
    }

    /// Removes and returns, per partition, the highest offset among times
    /// for which `done(time)` holds.
    fn take_completed(&self, done: impl Fn(u64) -> bool) -> HashMap<i32, i64> {
        let mut pending = self.0.borrow_mut();
        let finished: Vec<u64> = pending.keys().copied().take_while(|t| done(*t)).collect();
        let mut highest: HashMap<i32, i64> = HashMap::new();
        for t in finished {
            for (p, o) in pending.remove(&t).unwrap_or_default() {
                let e = highest.entry(p).or_insert(o);
                *e = (*e).max(o);
            }
        }
        highest
    }
}

/// A consumer in the pipeline's group, subscribed to its topic.
pub fn subscribe(cfg: &PipelineConfig) -> anyhow::Result<BaseConsumer> {
    let mut client = panelflow_connectors::kafka::consumer_config(&cfg.kafka);
    // Each stage handles a few interviews per activation, so the source
    // polls between them; the poll interval (which is also the
    // rebalance time-out a restarted worker may wait for a crashed member)
    // only has to cover one long recording.
    // A crashed worker's partitions move to the survivors within seconds.
    for (key, value) in [
        ("max.poll.interval.ms", "300000"),
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "2000"),
    ] {
        if !cfg.kafka.properties.contains_key(key) {
            client.set(key, value);
        }
    }
    let consumer: BaseConsumer = client.create()?;
    consumer.subscribe(&[&cfg.kafka.topic])?;
    Ok(consumer)
}

/// The source operator: polls this worker's consumer, stamps each event
/// with the current (wall-clock) time, records its offset as pending, and
/// dead-letters messages that are not a valid event.
pub fn events<'scope>(
    scope: Scope<'scope, u64>,
    consumer: Arc<BaseConsumer>,
    pending: PendingOffsets,
    dead_letters: Rc<DeadLetterSink>,
    opts: &RunOptions,
) -> Stream<'scope, u64, Vec<InterviewCompleted>> {
    let source_opts = SourceOptions {
        name: "KafkaSource",
        max_batch: MAX_POLL_BATCH,
        idle: Duration::from_millis(25),
        stamp: stamp_epochs,
        epoch_ms: opts.epoch.as_millis() as u64,
        shutdown: opts.shutdown.clone(),
        target: None,
        stop_on_dead_letter_failure: true,
    };
    let stats = opts.stats.clone();
    let decode_event = move |message: &BorrowedMessage<'_>, _now: u64| {
        stats.consumed.fetch_add(1, Ordering::Relaxed);
        let payload = message.payload().unwrap_or_default();
        match serde_json::from_slice::<InterviewCompleted>(payload) {
            Ok(mut event) => {
                // Any producer may write the topic: its ids go in their
                // source's namespace, as the receiver's do.
                event.namespace_ids();
                Decoded::Item(event)
            }
            Err(e) => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                Decoded::Refused(refused(
                    message,
                    "kafka",
                    Stage::DecodeEvent,
                    format!("not a valid InterviewCompleted event: {e}"),
                ))
            }
        }
    };
    kafka_source(
        scope,
        consumer,
        dead_letters,
        source_opts,
        decode_event,
        move |time, partition, offset| pending.record(time, partition, offset),
    )
}

/// Commits, per partition, the offsets of all times the probe has passed.
pub fn commit_completed(
    consumer: &BaseConsumer,
    pending: &PendingOffsets,
    probe: &ProbeHandle<u64>,
    stats: &RunStats,
) {
    let completed = pending.take_completed(|t| !probe.less_equal(&t));
    if completed.is_empty() {
        return;
    }
    let topic = match consumer.subscription() {
        Ok(list) => list.elements().first().map(|e| e.topic().to_string()),
        Err(_) => None,
    };
    let Some(topic) = topic else { return };
    let mut list = TopicPartitionList::new();
    for (partition, offset) in &completed {
        if let Err(e) = list.add_partition_offset(&topic, *partition, Offset::Offset(offset + 1)) {
            tracing::warn!(error = %e, "building the commit list");
        }
    }
    match consumer.commit(&list, CommitMode::Sync) {
        Ok(()) => {
            stats
                .committed
                .fetch_add(completed.len() as u64, Ordering::Relaxed);
            tracing::debug!(?completed, "offsets committed");
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
        p.record(1, 0, 10);
        p.record(1, 0, 12);
        p.record(2, 1, 5);
        p.record(3, 0, 13);
        let done = p.take_completed(|t| t < 3);
        assert_eq!(done.get(&0), Some(&12));
        assert_eq!(done.get(&1), Some(&5));
        let rest = p.take_completed(|_| true);
        assert_eq!(rest.get(&0), Some(&13));
    }
}
