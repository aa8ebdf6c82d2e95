//! The one Kafka → timely source operator, shared by the interview pipeline
//! and the aggregates: it polls a consumer, stamps each message with the
//! wall clock, hands it to a decoder, and dead-letters what the decoder
//! refuses.
//!
//! What differs between its users is a parameter: how times are stamped,
//! how many messages an activation reads, what a message decodes to (and
//! the counters the decoder keeps), what happens to an offset once read
//! (the pipeline remembers it for the commit protocol), whether a failed
//! dead letter stops the source (the pipeline must not commit past it), and
//! when the source is done (shut down, or caught up with a known number of
//! messages).

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::BaseConsumer;
use rdkafka::message::{BorrowedMessage, Message};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, Stream};

use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_core::wire::DeadLetter;

/// What the decoder made of one message.
#[derive(Debug)]
pub enum Decoded<T> {
    /// Give this downstream.
    Item(T),
    /// Nothing to give (a redelivery, a message of another topic).
    Skip,
    /// Refused: this dead letter says why.
    Refused(DeadLetter),
}

/// How a source reads.
#[derive(Clone)]
pub struct SourceOptions {
    /// The operator's name.
    pub name: &'static str,
    /// Messages read per activation at most, so one busy partition cannot
    /// starve the rest of the worker.
    pub max_batch: usize,
    /// Pause before the next activation.
    pub idle: Duration,
    /// The time of a message read at `now_ms` (ms since the epoch).
    pub stamp: fn(now_ms: u64, epoch_ms: u64) -> u64,
    /// The granularity `stamp` rounds to, ms.
    pub epoch_ms: u64,
    /// Set to stop reading.
    pub shutdown: Arc<AtomicBool>,
    /// Stop once this many messages are read (a catch-up run), if set.
    pub target: Option<u64>,
    /// Whether a dead letter the broker did not acknowledge stops the
    /// source (the pipeline: the message must not be committed) or is only
    /// logged (the aggregates: nothing is committed, a restart reads again).
    pub stop_on_dead_letter_failure: bool,
}

/// Times in units of `epoch_ms` (the pipeline's: a time groups offsets
/// and Parquet batches).
pub fn stamp_epochs(now_ms: u64, epoch_ms: u64) -> u64 {
    now_ms / epoch_ms.max(1)
}

/// Times in ms, rounded down to `epoch_ms` (the aggregates': logical time
/// is the wall clock).
pub fn stamp_ms(now_ms: u64, epoch_ms: u64) -> u64 {
    let epoch = epoch_ms.max(1);
    now_ms / epoch * epoch
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The source operator over `consumer`. `decode` sees each message with the
/// time it is stamped with; `on_read` is told the time, partition and offset
/// of every message it has seen (including refused ones, once their dead
/// letter is acknowledged).
pub fn kafka_source<'scope, T, D, R>(
    scope: Scope<'scope, u64>,
    consumer: Arc<BaseConsumer>,
    dead_letters: Rc<DeadLetterSink>,
    opts: SourceOptions,
    mut decode: D,
    mut on_read: R,
) -> Stream<'scope, u64, Vec<T>>
where
    T: Clone + 'static,
    D: FnMut(&BorrowedMessage<'_>, u64) -> Decoded<T> + 'static,
    R: FnMut(u64, i32, i64) + 'static,
{
    source::<_, CapacityContainerBuilder<Vec<T>>, _, _>(scope, opts.name, move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let mut read = 0u64;
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let caught_up = opts.target.is_some_and(|t| read >= t);
            if opts.shutdown.load(Ordering::SeqCst) || caught_up {
                tracing::debug!(source = opts.name, read, "source done");
                cap = None;
                return;
            }
            // All workers stamp by the same clock, so an idle worker does
            // not hold back the frontier (and everyone's progress).
            let now = (opts.stamp)(now_ms(), opts.epoch_ms).max(*c.time());
            c.downgrade(&now);
            let mut stop = false;
            let mut session = output.session(&*c);
            for _ in 0..opts.max_batch {
                let message = match consumer.poll(Duration::ZERO) {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(source = opts.name, error = %e, "Kafka poll error (will retry)");
                        break;
                    }
                    Some(Ok(m)) => m,
                };
                read += 1;
                match decode(&message, now) {
                    Decoded::Item(item) => session.give(item),
                    Decoded::Skip => {}
                    Decoded::Refused(letter) => {
                        if let Err(e) = dead_letters.send(&letter) {
                            let (partition, offset) = (message.partition(), message.offset());
                            if opts.stop_on_dead_letter_failure {
                                // Without the dead letter the message must not be
                                // committed: stop here and let a restart replay it.
                                tracing::error!(error = %e, partition, offset, "dead letter failed; stopping the source");
                                stop = true;
                                break;
                            }
                            tracing::error!(error = %e, partition, offset, "dead letter failed");
                        }
                    }
                }
                on_read(now, message.partition(), message.offset());
            }
            drop(session);
            if stop {
                cap = None;
                return;
            }
            activator.activate_after(opts.idle);
        }
    })
}

/// The dead letter of a message that is not what its topic carries: its
/// key as the interview id, its payload as text, the reason.
pub fn refused(
    message: &BorrowedMessage<'_>,
    source: &str,
    stage: panelflow_core::outcome::Stage,
    reason: String,
) -> DeadLetter {
    DeadLetter {
        interview_id: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default(),
        correlation_id: String::new(),
        source: source.to_string(),
        stage,
        reason,
        event: serde_json::Value::String(
            String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
        ),
        failed_at: chrono::Utc::now().to_rfc3339(),
    }
}
