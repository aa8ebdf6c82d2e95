//! The analyse operator: events exchanged by interview id, processed as
//! they arrive, their rows held under the event's time and written to
//! Parquet as one batch once the input frontier has passed that time.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::Capability;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::Stream;

use super::process::{Processed, Processor, OUTCOME_FAILED};
use super::RunStats;
use crate::config::PipelineConfig;
use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_connectors::parquet::ParquetSink;
use panelflow_core::event::InterviewCompleted;

/// The sinks a worker writes to.
pub struct Sinks {
    /// The Parquet dataset.
    pub parquet: ParquetSink,
    /// The dead-letter topic.
    pub dead_letters: Rc<DeadLetterSink>,
    /// Keys (interview id, pipeline version) already written.
    pub written: HashSet<(String, String)>,
    /// The JSON-lines audit log.
    pub audit: panelflow_connectors::store::audit::AuditLog,
    /// Topic of the AI scores for the aggregates (empty: not published).
    pub scores_topic: String,
}

impl Sinks {
    /// Opens the sinks and loads the keys already written.
    pub fn open(cfg: &PipelineConfig) -> anyhow::Result<Self> {
        let parquet = ParquetSink::open_for(&cfg.sinks.parquet_dir, &cfg.governance)?;
        let written = parquet.existing_keys()?;
        let dead_letters = Rc::new(DeadLetterSink::new(&cfg.kafka)?);
        let audit = panelflow_connectors::store::audit::AuditLog::open(&cfg.governance.audit_dir)?;
        Ok(Self {
            parquet,
            dead_letters,
            written,
            audit,
            scores_topic: cfg.kafka.scores_topic.clone(),
        })
    }
}

/// Stable routing hash of an interview id.
pub fn route(interview_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    interview_id.hash(&mut h);
    h.finish()
}

/// Rows written per Parquet batch at most before a time is complete.
const FLUSH_ROWS: usize = 32;
/// Longest a processed interview waits for its batch to fill.
const FLUSH_AGE: Duration = Duration::from_secs(5);

/// Events of one time: queued, then processed, then written.
struct Pending {
    cap: Capability<u64>,
    queue: VecDeque<InterviewCompleted>,
    done: Vec<Processed>,
    first_done_at: Option<Instant>,
}

/// Builds the operator; its output is `(interview id, outcome)` per event.
///
/// A few events (`[speech] batch_interviews`) are processed per activation,
/// their segments sharing decoder batches, so the worker keeps polling Kafka
/// and exchanging data between transcriptions; results are written in
/// batches (when their time is complete, or every [`FLUSH_ROWS`] rows or
/// [`FLUSH_AGE`]), and a time's capability is released only once all its
/// rows are durable — which is what lets the source commit its offsets.
pub fn analyse<'scope>(
    events: Stream<'scope, u64, Vec<InterviewCompleted>>,
    mut processor: Processor,
    mut sinks: Sinks,
    stats: Arc<RunStats>,
) -> Stream<'scope, u64, Vec<(String, String)>> {
    let version = processor.pipeline().version.clone();
    let batch_interviews = processor.batch_interviews();
    let events_scope = events.scope();
    let exchange = Exchange::new(|e: &InterviewCompleted| route(&e.interview_id));
    events.unary_frontier::<CapacityContainerBuilder<Vec<(String, String)>>, _, _, _>(exchange, "Analyse", move |_cap, info| {
        let activator = events_scope.activator_for(info.address);
        let mut stash: BTreeMap<u64, Pending> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                let pending = stash.entry(time).or_insert_with(|| Pending {
                    cap: cap.delayed(&time, output.output_index()),
                    queue: VecDeque::new(),
                    done: Vec::new(),
                    first_done_at: None,
                });
                for batch in data {
                    pending.queue.extend(batch.drain(..));
                }
            });

            // Process a few events together, oldest times first: their
            // voice segments share the speech model's batches. Each result
            // goes back to its own time.
            let mut batch: Vec<(u64, InterviewCompleted)> = Vec::with_capacity(batch_interviews);
            for (time, pending) in stash.iter_mut() {
                while batch.len() < batch_interviews {
                    let Some(event) = pending.queue.pop_front() else { break };
                    let key = (event.interview_id.clone(), version.clone());
                    if sinks.written.contains(&key) || batch.iter().any(|(_, e)| e.interview_id == event.interview_id) {
                        stats.duplicates.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(interview_id = %event.interview_id, "already written; skipped");
                    } else {
                        batch.push((*time, event));
                    }
                }
                if batch.len() >= batch_interviews {
                    break;
                }
            }
            if !batch.is_empty() {
                let (times, events): (Vec<u64>, Vec<InterviewCompleted>) = batch.into_iter().unzip();
                for (time, processed) in times.into_iter().zip(processor.process_batch(&events)) {
                    if processed.interview.lever_note_id.is_some() {
                        stats.noted.fetch_add(1, Ordering::Relaxed);
                    }
                    sinks.written.insert((processed.interview.interview_id.clone(), version.clone()));
                    if let Some(pending) = stash.get_mut(&time) {
                        pending.first_done_at.get_or_insert_with(Instant::now);
                        pending.done.push(processed);
                    }
                }
            }

            // Write what is due; release the times that are complete and written.
            let mut retry = false;
            stash.retain(|time, pending| {
                let closed = !frontier.less_equal(time) && pending.queue.is_empty();
                let due = closed
                    || pending.done.len() >= FLUSH_ROWS
                    || pending.first_done_at.is_some_and(|t| t.elapsed() >= FLUSH_AGE);
                if !pending.done.is_empty() && due {
                    match write_batch(&sinks, &pending.done) {
                        Ok(()) => {
                            let mut session = output.session(&pending.cap);
                            for p in pending.done.drain(..) {
                                let counter = if p.interview.outcome == OUTCOME_FAILED { &stats.failed } else { &stats.transcribed };
                                counter.fetch_add(1, Ordering::Relaxed);
                                session.give((p.interview.interview_id, p.interview.outcome));
                            }
                            pending.first_done_at = None;
                        }
                        Err(e) => {
                            // Keep the capability: nothing of this time is
                            // committed until every sink has it.
                            tracing::error!(error = %format!("{e:#}"), "sink write failed; retrying");
                            retry = true;
                        }
                    }
                }
                !(closed && pending.done.is_empty())
            });
            if stash.values().any(|p| !p.queue.is_empty()) {
                activator.activate();
            } else if retry || stash.values().any(|p| !p.done.is_empty()) {
                activator.activate_after(Duration::from_millis(if retry { 1000 } else { 200 }));
            }
        }
    })
}

/// Writes one time's results: dead letters first (flushed), the AI scores
/// for the aggregates, the audit log, then Parquet
/// segments, responses and scores, then the interviews rows that mark the
/// keys as done.
fn write_batch(sinks: &Sinks, batch: &[Processed]) -> anyhow::Result<()> {
    for p in batch {
        if let Some(dl) = &p.dead_letter {
            sinks.dead_letters.send(dl)?;
        }
    }
    // The AI scores for the aggregates, acknowledged before the rows that
    // mark the interviews done: a crash in between sends them again, and
    // the aggregates' input drops a record it already holds.
    if !sinks.scores_topic.is_empty() {
        for p in batch {
            if let Some(m) = &p.score_message {
                let payload = serde_json::to_vec(m)?;
                sinks.dead_letters.send_to(
                    &sinks.scores_topic,
                    m.candidate_id.as_str(),
                    &payload,
                    &p.interview.interview_id,
                )?;
            }
        }
    }
    // The story before the rows that mark the interviews done: a crash in
    // between replays them, and the log then tells both runs.
    let events: Vec<_> = batch.iter().flat_map(|p| p.audit.iter().cloned()).collect();
    sinks.audit.append(&events)?;
    sinks.parquet.write_audit(&events)?;
    let interviews: Vec<_> = batch.iter().map(|p| p.interview.clone()).collect();
    let segments: Vec<_> = batch
        .iter()
        .flat_map(|p| p.segments.iter().cloned())
        .collect();
    let analysis = panelflow_connectors::parquet::AnalysisRows {
        responses: batch
            .iter()
            .flat_map(|p| p.analysis.responses.iter().cloned())
            .collect(),
        scores: batch
            .iter()
            .flat_map(|p| p.analysis.scores.iter().cloned())
            .collect(),
    };
    sinks
        .parquet
        .write_batch_with(&interviews, &segments, &analysis)?;
    Ok(())
}
