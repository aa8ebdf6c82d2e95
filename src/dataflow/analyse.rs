//! The analyse operator: events exchanged by interview id, processed as
//! they arrive, their rows held under the event's time and written to
//! Parquet as one batch once the input frontier has passed that time.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::Stream;

use super::process::{Processed, Processor, OUTCOME_FAILED};
use super::RunStats;
use crate::config::PipelineConfig;
use crate::event::InterviewCompleted;
use crate::sinks::dead_letter::DeadLetterSink;
use crate::sinks::parquet::ParquetSink;

/// The sinks a worker writes to.
pub struct Sinks {
    /// The Parquet dataset.
    pub parquet: ParquetSink,
    /// The dead-letter topic.
    pub dead_letters: Rc<DeadLetterSink>,
    /// Keys (interview id, pipeline version) already written.
    pub written: HashSet<(String, String)>,
}

impl Sinks {
    /// Opens the sinks and loads the keys already written.
    pub fn open(cfg: &PipelineConfig) -> anyhow::Result<Self> {
        let parquet = ParquetSink::open(&cfg.sinks.parquet_dir)?;
        let written = parquet.existing_keys()?;
        let dead_letters = Rc::new(DeadLetterSink::new(&cfg.kafka)?);
        Ok(Self { parquet, dead_letters, written })
    }
}

/// Stable routing hash of an interview id.
pub fn route(interview_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    interview_id.hash(&mut h);
    h.finish()
}

/// Builds the operator; its output is `(interview id, outcome)` per event.
pub fn analyse<'scope>(
    events: Stream<'scope, u64, Vec<InterviewCompleted>>,
    mut processor: Processor,
    mut sinks: Sinks,
    stats: Arc<RunStats>,
) -> Stream<'scope, u64, Vec<(String, String)>> {
    let version = processor.pipeline().version.clone();
    let events_scope = events.scope();
    let exchange = Exchange::new(|e: &InterviewCompleted| route(&e.interview_id));
    events.unary_frontier::<CapacityContainerBuilder<Vec<(String, String)>>, _, _, _>(exchange, "Analyse", move |_cap, info| {
        let activator = events_scope.activator_for(info.address);
        let mut stash: BTreeMap<u64, (timely::dataflow::operators::Capability<u64>, Vec<Processed>)> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                for batch in data {
                    for event in batch.drain(..) {
                        let key = (event.interview_id.clone(), version.clone());
                        if sinks.written.contains(&key) {
                            stats.duplicates.fetch_add(1, Ordering::Relaxed);
                            tracing::info!(interview_id = %event.interview_id, "already written; skipped");
                            continue;
                        }
                        let processed = processor.process(&event);
                        if processed.interview.lever_note_id.is_some() {
                            stats.noted.fetch_add(1, Ordering::Relaxed);
                        }
                        sinks.written.insert(key);
                        let entry = stash.entry(time).or_insert_with(|| (cap.delayed(&time, output.output_index()), Vec::new()));
                        entry.1.push(processed);
                    }
                }
            });
            // Write every batch whose time can no longer receive events.
            let ready: Vec<u64> = stash.keys().copied().filter(|t| !frontier.less_equal(t)).collect();
            for time in ready {
                let Some((cap, batch)) = stash.remove(&time) else { continue };
                if let Err(e) = write_batch(&sinks, &batch) {
                    // Keep the capability: nothing of this time is committed
                    // until every sink has it; retry shortly.
                    tracing::error!(error = %format!("{e:#}"), "sink write failed; retrying");
                    stash.insert(time, (cap, batch));
                    activator.activate_after(std::time::Duration::from_secs(1));
                    continue;
                }
                let mut session = output.session(&cap);
                for p in batch {
                    let counter = if p.interview.outcome == OUTCOME_FAILED { &stats.failed } else { &stats.transcribed };
                    counter.fetch_add(1, Ordering::Relaxed);
                    session.give((p.interview.interview_id, p.interview.outcome));
                }
            }
        }
    })
}

/// Writes one time's results: dead letters first (flushed), then Parquet
/// segments, then the interviews rows that mark the keys as done.
fn write_batch(sinks: &Sinks, batch: &[Processed]) -> anyhow::Result<()> {
    for p in batch {
        if let Some(dl) = &p.dead_letter {
            sinks.dead_letters.send(dl)?;
        }
    }
    let interviews: Vec<_> = batch.iter().map(|p| p.interview.clone()).collect();
    let segments: Vec<_> = batch.iter().flat_map(|p| p.segments.iter().cloned()).collect();
    sinks.parquet.write_batch(&interviews, &segments)?;
    Ok(())
}
