//! Wiring for one timely worker: the aggregates over a collection of input
//! records, the input tables written by every worker, and each aggregate's
//! change log and snapshot kept by the sink worker ([`sink_worker`]: the
//! last one, as worker 0 holds the heaviest groups of the aggregates).
//!
//! Each sink holds a capability for the times whose changes it has applied
//! but not yet written, so a probe after the sinks passes a time only once
//! that time's changes are durable in the change logs (and its input rows in
//! the input tables): the latency a probe measures is arrival → change log.
//!
//! ```
//! use differential_dataflow::input::Input;
//! use panelflow::aggregates::harness::{build, SinkOptions};
//! use panelflow::aggregates::records::{InputRecord, RatingRecord};
//! use panelflow::aggregates::{language::PhraseList, AggregateConfig};
//!
//! timely::execute_directly(|worker| {
//!     let (mut input, tables, probe) = worker.dataflow::<u64, _, _>(|scope| {
//!         let (input, records) = scope.new_collection::<InputRecord, isize>();
//!         let phrases = std::sync::Arc::new(PhraseList::embedded().unwrap());
//!         let (tables, probe) = build(records, &AggregateConfig::default(), phrases, &SinkOptions::in_memory(), 0);
//!         (input, tables, probe)
//!     });
//!     let rating = |reviewer: &str, rating| InputRecord::Rating(RatingRecord { reviewer: reviewer.into(),
//!         candidate: "c".into(), posting: "p".into(), competency: "k".into(), rating, interview: None,
//!         source: "lever_feedback".into(), at_ms: 0 });
//!     input.insert(rating("r1", 2));
//!     input.insert(rating("r2", 4));
//!     input.advance_to(1);
//!     input.flush();
//!     worker.step_while(|| probe.less_than(input.time()));
//!     let panel = tables.panel.borrow().snapshot.rows();
//!     assert_eq!(panel[0].ratings, "r1=2;r2=4");
//! });
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::{ExchangeData, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::generic::{InputHandleCore, OutputBuilderSession};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::{Capability, Probe};
use timely::dataflow::Stream;
use timely::progress::frontier::MutableAntichain;

use super::bias::BiasRow;
use super::calibration::CalibrationRow;
use super::drift::DriftRow;
use super::language::{LanguageRow, PhraseList};
use super::panel::PanelRow;
use super::questions::ConsistencyRow;
use super::records::InputRecord;
use super::{aggregates, AggregateConfig};
use panelflow_connectors::parquet::aggregates::{
    AggregatesSinkError, ChangeLog, Layout, Snapshot, TableRow,
};

pub use super::inputs::InputLogs;
pub use super::sink::TimedSink;

/// The worker that keeps the aggregates' change logs and snapshots among
/// `peers`: the last one. The group operators spread their keys by hash,
/// but a few keys (the `overall` bias scope, each model version's drift)
/// carry much of the work and worker 0 holds them in the bench's load; the
/// sinks go to the other end.
///
/// ```
/// use panelflow::aggregates::harness::sink_worker;
/// assert_eq!(sink_worker(1), 0);
/// assert_eq!(sink_worker(2), 1);
/// ```
pub fn sink_worker(peers: usize) -> usize {
    peers.saturating_sub(1)
}

/// Where and how often the sinks write.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// The dataset's folder; `None` keeps everything in memory (tests).
    pub layout: Option<Layout>,
    /// Longest a change waits before its change-log file is written;
    /// zero writes one file per completed time.
    pub changelog_flush: Duration,
    /// How often the snapshots are rewritten (and at the end).
    pub snapshot_interval: Duration,
    /// Whether the input tables are written.
    pub write_inputs: bool,
    /// Whether files and folders are fsynced before a time counts as written.
    pub durable: bool,
}

impl SinkOptions {
    /// No files: the snapshots live in memory only.
    pub fn in_memory() -> Self {
        Self {
            layout: None,
            changelog_flush: Duration::ZERO,
            snapshot_interval: Duration::from_secs(3600),
            write_inputs: false,
            durable: false,
        }
    }

    /// Files under `root`: change logs within a second, snapshots every 5 s.
    pub fn files(root: &std::path::Path) -> Self {
        Self {
            layout: Some(Layout::new(root)),
            changelog_flush: Duration::from_secs(1),
            snapshot_interval: Duration::from_secs(5),
            write_inputs: true,
            durable: true,
        }
    }
}

/// One aggregate's sink state (kept by the sink worker).
pub struct Table<R: TableRow> {
    /// The current rows.
    pub snapshot: Snapshot<R>,
    changelog: Option<ChangeLog<R>>,
    write_snapshots: bool,
    interval: Duration,
    last_write: Option<Instant>,
    dirty: bool,
    /// Last time applied.
    pub time: u64,
    /// Changes applied so far.
    pub changes: u64,
}

impl<R: TableRow> Table<R> {
    /// The sink state of `R` for `opts`.
    pub fn new(opts: &SinkOptions, worker: usize) -> Self {
        let layout = opts
            .layout
            .clone()
            .unwrap_or_else(|| Layout::new(std::path::Path::new(".")));
        Self {
            snapshot: Snapshot::new(&layout),
            changelog: opts
                .layout
                .as_ref()
                .map(|l| ChangeLog::new(l, worker, opts.durable)),
            write_snapshots: opts.layout.is_some(),
            interval: opts.snapshot_interval,
            last_write: None,
            dirty: false,
            time: 0,
            changes: 0,
        }
    }
}

impl<R: TableRow> TimedSink<R> for Table<R> {
    fn apply(&mut self, time: u64, updates: Vec<(R, isize)>) {
        self.time = time;
        for (row, diff) in updates {
            if let Some(log) = self.changelog.as_mut() {
                log.push(&row, time, diff);
            }
            self.snapshot.apply(row, diff);
            self.changes += 1;
            self.dirty = true;
        }
    }
    fn pending(&self) -> bool {
        self.changelog.as_ref().is_some_and(|l| l.pending() > 0)
    }
    fn flush(&mut self) -> Result<(), AggregatesSinkError> {
        if let Some(log) = self.changelog.as_mut() {
            log.flush()?;
        }
        Ok(())
    }
    fn snapshot(&mut self, force: bool) -> Result<(), AggregatesSinkError> {
        if !self.write_snapshots || !self.dirty && self.last_write.is_some() {
            return Ok(());
        }
        let due = self.last_write.is_none_or(|t| t.elapsed() >= self.interval);
        if force || due {
            self.snapshot.write(self.time)?;
            self.last_write = Some(Instant::now());
            self.dirty = false;
        }
        Ok(())
    }
    fn wants_ticks(&self) -> bool {
        self.write_snapshots && self.dirty
    }
}

/// Every aggregate's sink state (filled on the sink worker only).
#[derive(Clone)]
pub struct Tables {
    /// `bias_audit`.
    pub bias: Rc<RefCell<Table<BiasRow>>>,
    /// `reviewer_calibration`.
    pub calibration: Rc<RefCell<Table<CalibrationRow>>>,
    /// `panel_view`.
    pub panel: Rc<RefCell<Table<PanelRow>>>,
    /// `drift`.
    pub drift: Rc<RefCell<Table<DriftRow>>>,
    /// `question_consistency`.
    pub questions: Rc<RefCell<Table<ConsistencyRow>>>,
    /// `interviewer_language`.
    pub language: Rc<RefCell<Table<LanguageRow>>>,
}

impl Tables {
    fn new(opts: &SinkOptions, worker: usize) -> Self {
        Self {
            bias: Rc::new(RefCell::new(Table::new(opts, worker))),
            calibration: Rc::new(RefCell::new(Table::new(opts, worker))),
            panel: Rc::new(RefCell::new(Table::new(opts, worker))),
            drift: Rc::new(RefCell::new(Table::new(opts, worker))),
            questions: Rc::new(RefCell::new(Table::new(opts, worker))),
            language: Rc::new(RefCell::new(Table::new(opts, worker))),
        }
    }

    /// Changes applied, all aggregates together.
    pub fn changes(&self) -> u64 {
        self.bias.borrow().changes
            + self.calibration.borrow().changes
            + self.panel.borrow().changes
            + self.drift.borrow().changes
            + self.questions.borrow().changes
            + self.language.borrow().changes
    }
}

type Input<D, P> = InputHandleCore<u64, Vec<(D, u64, isize)>, P>;
type Output<'a> = OutputBuilderSession<'a, u64, CapacityContainerBuilder<Vec<()>>>;

struct Pending<D> {
    cap: Capability<u64>,
    updates: Vec<(D, isize)>,
}

/// A sink operator: applies each completed time's updates to `sink` in
/// time order, writes them within `flush_after`, and holds a capability
/// until they are written. `gather` gathers the stream on the sink worker
/// ([`sink_worker`]); otherwise each worker keeps its own updates.
pub fn sink_stream<'scope, D, S>(
    stream: Stream<'scope, u64, Vec<(D, u64, isize)>>,
    name: &str,
    sink: Rc<RefCell<S>>,
    flush_after: Duration,
    gather: bool,
) -> Stream<'scope, u64, Vec<()>>
where
    D: ExchangeData,
    S: TimedSink<D> + 'static,
{
    let scope = stream.scope();
    let scope_index = scope.index();
    let logic = move |cap: Capability<u64>,
                      info: timely::dataflow::operators::generic::OperatorInfo| {
        drop(cap);
        let activator = scope.activator_for(info.address);
        let mut stash: BTreeMap<u64, Pending<D>> = BTreeMap::new();
        let mut held: Option<Capability<u64>> = None;
        let mut oldest_unwritten: Option<Instant> = None;
        let mut finished = false;
        // When the delayed activation asked for last is due: one at a time,
        // so idle sinks do not pile timers up in the worker.
        let mut wake_at: Option<Instant> = None;
        move |(input, frontier): (&mut Input<D, _>, &MutableAntichain<u64>),
              _output: &mut Output<'_>| {
            let now = Instant::now();
            if wake_at.is_some_and(|w| w <= now) {
                wake_at = None;
            }
            input.for_each_stamp(|cap, data| {
                for batch in data {
                    for (d, t, r) in batch.drain(..) {
                        let entry = stash.entry(t).or_insert_with(|| Pending {
                            cap: cap.delayed(&t, 0),
                            updates: Vec::new(),
                        });
                        entry.updates.push((d, r));
                    }
                }
            });
            // Apply every completed time, in order.
            let done: Vec<u64> = stash
                .keys()
                .copied()
                .take_while(|t| !frontier.less_equal(t))
                .collect();
            let mut s = sink.borrow_mut();
            for t in done {
                if let Some(p) = stash.remove(&t) {
                    s.apply(t, p.updates);
                    if s.pending() {
                        oldest_unwritten.get_or_insert_with(Instant::now);
                        if held.is_none() {
                            held = Some(p.cap);
                        }
                    }
                }
            }
            let closing = frontier.is_empty();
            let due = oldest_unwritten.is_some_and(|t| t.elapsed() >= flush_after);
            if s.pending() && (due || closing) {
                match s.flush() {
                    Ok(()) => {
                        held = None;
                        oldest_unwritten = None;
                    }
                    Err(e) => tracing::error!(error = %e, "aggregates sink write failed; retrying"),
                }
            } else if !s.pending() {
                held = None;
                oldest_unwritten = None;
            }
            if closing && !finished && stash.is_empty() && !s.pending() {
                finished = true;
                if let Err(e) = s.snapshot(true) {
                    tracing::error!(error = %e, "final snapshot failed");
                }
            } else if let Err(e) = s.snapshot(false) {
                tracing::error!(error = %e, "snapshot failed");
            }
            let due_at = if let Some(t) = oldest_unwritten {
                Some(t + flush_after.max(Duration::from_millis(1)))
            } else if !closing && s.wants_ticks() {
                // Keep the snapshots' interval ticking while one waits.
                Some(now + Duration::from_millis(500))
            } else {
                None
            };
            if let Some(at) = due_at {
                if wake_at.is_none_or(|w| w > at) {
                    activator.activate_after(at.saturating_duration_since(now));
                    wake_at = Some(at);
                }
            }
            let _ = &held;
        }
    };
    // Worker 0 gathers the aggregates; input tables stay on their worker.
    let target = if gather {
        sink_worker(scope.peers()) as u64
    } else {
        scope_index as u64
    };
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Exchange::new(move |_: &(D, u64, isize)| target),
        name,
        logic,
    )
}

fn sink_table<'scope, R: TableRow + ExchangeData>(
    collection: VecCollection<'scope, u64, R>,
    table: Rc<RefCell<Table<R>>>,
    opts: &SinkOptions,
    probe: &ProbeHandle<u64>,
) {
    sink_stream(
        collection.inner,
        R::TABLE,
        table,
        opts.changelog_flush,
        true,
    )
    .probe_with(probe);
}

/// Builds the aggregates over `inputs` with their sinks; returns the
/// tables (filled on the sink worker) and a probe that passes a time once every
/// sink has written it.
pub fn build<'scope>(
    inputs: VecCollection<'scope, u64, InputRecord>,
    cfg: &AggregateConfig,
    phrases: Arc<PhraseList>,
    opts: &SinkOptions,
    worker: usize,
) -> (Tables, ProbeHandle<u64>) {
    let probe = ProbeHandle::new();
    let tables = Tables::new(opts, worker);
    if let (Some(layout), true) = (&opts.layout, opts.write_inputs) {
        let logs = Rc::new(RefCell::new(InputLogs::new(layout, worker, opts.durable)));
        sink_stream(
            inputs.inner.clone(),
            "InputTables",
            logs,
            opts.changelog_flush,
            false,
        )
        .probe_with(&probe);
    }
    let out = aggregates(inputs, cfg, phrases);
    sink_table(out.bias, tables.bias.clone(), opts, &probe);
    sink_table(out.calibration, tables.calibration.clone(), opts, &probe);
    sink_table(out.panel, tables.panel.clone(), opts, &probe);
    sink_table(out.drift, tables.drift.clone(), opts, &probe);
    sink_table(out.questions, tables.questions.clone(), opts, &probe);
    sink_table(out.language, tables.language.clone(), opts, &probe);
    (tables, probe)
}

impl Tables {
    /// Every aggregate's current rows (sorted), as kept on this worker.
    pub fn rows(&self) -> super::reference::AllRows {
        super::reference::AllRows {
            bias: self.bias.borrow().snapshot.rows(),
            calibration: self.calibration.borrow().snapshot.rows(),
            panel: self.panel.borrow().snapshot.rows(),
            drift: self.drift.borrow().snapshot.rows(),
            questions: self.questions.borrow().snapshot.rows(),
            language: self.language.borrow().snapshot.rows(),
        }
    }
}

/// Runs the aggregates in this process over `records` (all at time 1,
/// dealt round-robin to `workers` threads) and returns the aggregates'
/// rows once every sink has written them.
///
/// ```
/// use panelflow_devkit::simulate::{generate, SimConfig};
/// use panelflow::aggregates::{harness, records::decode_json, AggregateConfig};
/// let records: Vec<_> = generate(&SimConfig { candidates: 40, ..SimConfig::default() })
///     .iter().map(|m| decode_json(m.topic(), &m.to_json()).unwrap()).collect();
/// let rows = harness::run_batch(records, 2, &AggregateConfig::default(), &harness::SinkOptions::in_memory()).unwrap();
/// assert!(rows.bias.iter().any(|r| r.scope.kind() == "overall"));
/// ```
pub fn run_batch(
    records: Vec<(InputRecord, isize)>,
    workers: usize,
    cfg: &AggregateConfig,
    opts: &SinkOptions,
) -> anyhow::Result<super::reference::AllRows> {
    use differential_dataflow::input::Input;
    let phrases = Arc::new(cfg.phrases()?);
    let records = Arc::new(records);
    let (cfg, opts) = (cfg.clone(), opts.clone());
    let guards = timely::execute(timely::Config::process(workers.max(1)), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let (mut input, tables, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, collection) = scope.new_collection::<InputRecord, isize>();
            let (tables, probe) = build(collection, &cfg, phrases.clone(), &opts, index);
            (input, tables, probe)
        });
        input.advance_to(1);
        for (record, diff) in records.iter().skip(index).step_by(peers) {
            input.update(record.clone(), *diff);
        }
        input.advance_to(2);
        input.flush();
        drop(input);
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(5)));
        }
        (index == sink_worker(peers)).then(|| tables.rows())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    let mut out = None;
    for result in guards.join() {
        match result {
            Ok(Some(rows)) => out = Some(rows),
            Ok(None) => {}
            Err(e) => anyhow::bail!("aggregates worker panicked: {e}"),
        }
    }
    out.ok_or_else(|| anyhow::anyhow!("the sink worker returned nothing"))
}
