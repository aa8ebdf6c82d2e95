//! The land stage: finished interviews held under their time and written
//! as one batch — dead letters, the events of interviews that wait for
//! another try on a retry topic, the AI scores for the aggregates, the audit
//! log, then Parquet (segments, responses and scores, then the interviews
//! rows that mark the keys done) — once the time is complete (or the batch
//! full or old). A time's capability is released only once all its rows
//! are durable, which is what lets the source commit its offsets.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

use panelflow_connectors::kafka::consumer as kc;
use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_connectors::metrics;
use panelflow_connectors::parquet::{AnalysisRows, Key, ParquetSink};
use panelflow_connectors::store::audit::AuditLog;
use panelflow_core::outcome::Outcome;

use super::admit::Ledger;
use super::interview::{Processed, Retry};
use super::RunStats;
use crate::config::PipelineConfig;

/// Rows written per Parquet batch at most before a time is complete.
const FLUSH_ROWS: usize = 32;
/// Longest a processed interview waits for its batch to fill.
const FLUSH_AGE: Duration = Duration::from_secs(5);
/// Days of written keys a starting worker preloads (bounded memory and
/// reads, whatever the dataset's size).
pub const ADMISSION_DAYS: u32 = 7;

/// The sinks a worker writes to.
pub struct Sinks {
    /// The Parquet dataset.
    pub parquet: ParquetSink,
    /// The dead-letter topic.
    pub dead_letters: Rc<DeadLetterSink>,
    /// The JSON-lines audit log.
    pub audit: AuditLog,
    /// Topic of the AI scores for the aggregates (empty: not published).
    pub scores_topic: String,
}

impl Sinks {
    /// Opens the sinks; returns them with the keys (interview id, pipeline
    /// version) written in the last [`ADMISSION_DAYS`] days, each with
    /// whether all its rows are `failed` — admission skips them before doing
    /// their work, but lets a failed one through when it is redriven (older
    /// ones are caught by the Parquet sink's key index when they land).
    pub fn open(cfg: &PipelineConfig) -> anyhow::Result<(Self, HashMap<Key, bool>)> {
        let parquet = ParquetSink::open_for(&cfg.sinks.parquet_dir, &cfg.governance)?;
        let written = parquet.recent_key_outcomes(ADMISSION_DAYS)?;
        let dead_letters = Rc::new(DeadLetterSink::new(&cfg.kafka)?);
        let audit = AuditLog::open(&cfg.governance.audit_dir)?;
        let sinks = Self {
            parquet,
            dead_letters,
            audit,
            scores_topic: cfg.kafka.scores_topic.clone(),
        };
        Ok((sinks, written))
    }

    /// Writes one time's results: dead letters first (flushed), the AI
    /// scores for the aggregates, the audit log, then Parquet segments,
    /// responses and scores, then the interviews rows that mark the keys
    /// as done.
    pub fn write(&self, batch: &[Processed]) -> anyhow::Result<()> {
        for p in batch {
            if let Some(retry) = &p.retry {
                self.send_retry(retry)?;
            } else if let Some(dl) = &p.dead_letter {
                self.dead_letters.send(dl)?;
            }
        }
        // The AI scores for the aggregates, acknowledged before the rows that
        // mark the interviews done: a crash in between sends them again, and
        // the aggregates' input drops a record it already holds.
        if !self.scores_topic.is_empty() {
            for p in batch {
                if let Some(m) = &p.score_message {
                    let payload = serde_json::to_vec(m)?;
                    self.dead_letters.send_to(
                        &self.scores_topic,
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
        self.audit.append(&events)?;
        self.parquet.write_audit(&events)?;
        // An interview waiting on a retry topic has no rows yet.
        let landed = || batch.iter().filter(|p| p.retry.is_none());
        let interviews: Vec<_> = landed().map(|p| p.interview.clone()).collect();
        let segments: Vec<_> = landed().flat_map(|p| p.segments.iter().cloned()).collect();
        let analysis = AnalysisRows {
            responses: landed()
                .flat_map(|p| p.analysis.responses.iter().cloned())
                .collect(),
            scores: landed()
                .flat_map(|p| p.analysis.scores.iter().cloned())
                .collect(),
        };
        if !interviews.is_empty() {
            self.parquet
                .write_batch_with(&interviews, &segments, &analysis)?;
        }
        Ok(())
    }

    /// Puts a retried interview's event on its retry topic (keyed by its
    /// opportunity, with its due time and attempt count in headers) and
    /// waits for the broker's acknowledgement.
    fn send_retry(&self, retry: &Retry) -> anyhow::Result<()> {
        let payload = serde_json::to_vec(&retry.event)?;
        let due = retry.due_ms.to_string();
        let attempt = retry.attempt.to_string();
        let error = retry.error.to_string();
        let error = if error.len() > 1024 {
            let mut end = 1024;
            while !error.is_char_boundary(end) {
                end -= 1;
            }
            &error[..end]
        } else {
            &error
        };
        self.dead_letters.send_with_headers(
            &retry.topic,
            panelflow_connectors::kafka::event_key(&retry.event),
            &payload,
            &retry.event.interview_id,
            &[
                (kc::DUE_HEADER, &due),
                (kc::ATTEMPT_HEADER, &attempt),
                (kc::ERROR_HEADER, error),
                (kc::INTERVIEW_HEADER, &retry.event.interview_id),
            ],
        )?;
        metrics::RETRIES
            .with_label_values(&[retry.tier.as_str(), retry.error.stage.as_str()])
            .inc();
        tracing::info!(interview_id = %retry.event.interview_id, attempt = retry.attempt, tier = %retry.tier, error = %retry.error, "interview sent to a retry topic");
        Ok(())
    }
}

/// Results of one time, waiting to be written.
struct Pending {
    cap: Capability<u64>,
    done: Vec<Processed>,
    first_done_at: Option<Instant>,
}

/// The land operator; its output is `(interview id, outcome)` per interview
/// once it is written.
pub fn land<'scope>(
    results: Stream<'scope, u64, Vec<Processed>>,
    sinks: Sinks,
    ledger: Rc<RefCell<Ledger>>,
    stats: Arc<RunStats>,
) -> Stream<'scope, u64, Vec<(String, Outcome)>> {
    let scope = results.scope();
    results.unary_frontier::<CapacityContainerBuilder<Vec<(String, Outcome)>>, _, _, _>(
        Pipeline,
        "Land",
        move |_cap, info| {
            let activator = scope.activator_for(info.address);
            let mut stash: BTreeMap<u64, Pending> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(&time) = cap.least() else { return };
                    let pending = stash.entry(time).or_insert_with(|| Pending {
                        cap: cap.delayed(&time, output.output_index()),
                        done: Vec::new(),
                        first_done_at: None,
                    });
                    for container in data {
                        if !container.is_empty() {
                            pending.first_done_at.get_or_insert_with(Instant::now);
                        }
                        pending.done.append(container);
                    }
                });
                // Write what is due; release the times that are complete and written.
                let mut retry = false;
                stash.retain(|time, pending| {
                    let closed = !frontier.less_equal(time);
                    let due = closed
                        || pending.done.len() >= FLUSH_ROWS
                        || pending.first_done_at.is_some_and(|t| t.elapsed() >= FLUSH_AGE);
                    if !pending.done.is_empty() && due {
                        match sinks.write(&pending.done) {
                            Ok(()) => {
                                let mut session = output.session(&pending.cap);
                                let mut ledger = ledger.borrow_mut();
                                for p in pending.done.drain(..) {
                                    let key = p.interview.key();
                                    if p.retry.is_some() {
                                        stats.retried.fetch_add(1, Ordering::Relaxed);
                                        metrics::OUTCOMES.with_label_values(&["retried"]).inc();
                                        ledger.finished(&key, None);
                                        continue;
                                    }
                                    let failed = p.interview.outcome == Outcome::Failed;
                                    let counter = if failed {
                                        &stats.failed
                                    } else {
                                        &stats.transcribed
                                    };
                                    counter.fetch_add(1, Ordering::Relaxed);
                                    metrics::OUTCOMES
                                        .with_label_values(&[p.interview.outcome.as_str()])
                                        .inc();
                                    ledger.finished(&key, Some(failed));
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
                if retry || stash.values().any(|p| !p.done.is_empty()) {
                    activator.activate_after(Duration::from_millis(if retry { 1000 } else { 200 }));
                }
            }
        },
    )
}
