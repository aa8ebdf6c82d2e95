//! The timely dataflow of `panelflow run`: one operator per stage, each in
//! its own file, the data going one way.
//!
//! ```text
//! source     Kafka (per worker: its share of the partitions)
//! admit      exchange by interview id; keys written or on their way are duplicates
//! context    residency, Lever, the platform's API: media, question set, posting
//! media      the recordings fetched to temporary files
//! speech     the transcriber, segments of several interviews batched
//! analyse    the summary object and its rows
//! writeback  the phase's plan: Lever now, or the review queue
//! land       dead letters, AI scores, audit log, Parquet ─► probe
//! worker loop: offsets of every time the probe has passed are committed
//! ```
//!
//! The commit protocol is timely's progress tracking: each polled message is
//! stamped with a time, its offset is remembered under that time, and only
//! when the probe after the sinks has passed the time — every worker has
//! written that time's notes, dead letters and Parquet files — is the offset
//! committed. A crash before that replays the message, and the idempotent
//! sinks (Parquet keys, correlation ids in notes) write nothing twice.
//!
//! [`Processor`] runs the same stages one after the other without a
//! dataflow (tests, benchmarks, tools).

pub mod admit;
pub mod analyse;
pub mod context;
pub mod identity;
pub mod interview;
pub mod land;
pub mod media;
pub mod processor;
pub mod questions;
pub mod resolve;
pub mod rows;
pub mod scores;
pub mod source;
pub mod speech;
pub mod stage;
pub mod writeback;

pub use interview::Processed;
pub use processor::Processor;

use interview::{Flow, Interview, StageError};
use panelflow_core::outcome::Stage;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;

use crate::config::PipelineConfig;
use admit::Admission;
use panelflow_connectors::kafka::share::GroupShare;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::lever::ratelimit::TokenBucket;
use resolve::LeverContext;

/// Counters of a running dataflow, shared by all workers of the process.
#[derive(Debug, Default)]
pub struct RunStats {
    /// Messages read from Kafka.
    pub consumed: AtomicU64,
    /// Messages that were not a valid event (dead-lettered at the source).
    pub malformed: AtomicU64,
    /// Interviews analysed and written.
    pub transcribed: AtomicU64,
    /// Interviews that failed a stage (failed row + dead letter).
    pub failed: AtomicU64,
    /// Interviews sent to a retry topic after a transient failure.
    pub retried: AtomicU64,
    /// Events skipped because their key was already written.
    pub duplicates: AtomicU64,
    /// Lever notes written or found already present.
    pub noted: AtomicU64,
    /// Offsets committed.
    pub committed: AtomicU64,
}

impl RunStats {
    /// A plain snapshot.
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "consumed": self.consumed.load(Ordering::Relaxed),
            "malformed": self.malformed.load(Ordering::Relaxed),
            "transcribed": self.transcribed.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "retried": self.retried.load(Ordering::Relaxed),
            "duplicates": self.duplicates.load(Ordering::Relaxed),
            "noted": self.noted.load(Ordering::Relaxed),
            "committed": self.committed.load(Ordering::Relaxed),
        })
    }
}

/// How `run` is started and stopped.
#[derive(Clone)]
pub struct RunOptions {
    /// Timely configuration: threads, processes (`-w`, `-n`, `-p`, `-h`).
    pub timely_args: Vec<String>,
    /// Set to stop: sources stop reading, in-flight work drains, offsets are
    /// committed, workers exit.
    pub shutdown: Arc<AtomicBool>,
    /// Counters, readable while running.
    pub stats: Arc<RunStats>,
    /// Granularity of the times that group offsets and Parquet batches.
    pub epoch: Duration,
}

impl RunOptions {
    /// `workers` threads in this process.
    pub fn workers(workers: usize) -> Self {
        Self {
            timely_args: vec!["-w".into(), workers.max(1).to_string()],
            shutdown: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(RunStats::default()),
            epoch: Duration::from_millis(500),
        }
    }
}

/// Runs the dataflow until `opts.shutdown` is set (or forever).
pub fn run(cfg: PipelineConfig, opts: RunOptions) -> anyhow::Result<()> {
    // The topics the dataflow reads and writes, retry tiers included: a
    // retry or dead letter produced to a missing topic could never land.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))
        .context("creating the pipeline's topics")?;
    // One token bucket, one Lever client (one OAuth session) and one context
    // cache for every worker of the process: Lever's limit is per key. The
    // runners of one group share the key, so the bucket holds this
    // process's share of the budget: its share of the group's partitions
    // (nothing until the group assigns it some).
    let limiter = Arc::new(TokenBucket::closed());
    let share = {
        let limiter = limiter.clone();
        let (rate, burst) = (cfg.lever.rate_per_s, cfg.lever.burst);
        Arc::new(GroupShare::new(move |fraction| {
            limiter.rescale(rate * fraction, burst * fraction);
            panelflow_connectors::metrics::LEVER_BUDGET_SHARE.set(fraction);
        }))
    };
    // Fail fast on configuration problems before starting workers.
    let lever = cfg.lever.client(limiter)?;
    let context = Arc::new(LeverContext::new(&cfg, lever.clone()));
    panelflow_models::onnx::init()?;
    panelflow_connectors::parquet::storage::ensure_dir(&cfg.sinks.parquet_dir)
        .with_context(|| format!("creating {}", cfg.sinks.parquet_dir.display()))?;

    let config = timely::Config::from_args(opts.timely_args.clone().into_iter())
        .map_err(|e| anyhow::anyhow!("timely arguments {:?}: {e}", opts.timely_args))?;
    let cfg = Arc::new(cfg);
    let guards = timely::execute(config, move |worker| {
        if let Err(e) = run_worker(
            worker,
            &cfg,
            &opts,
            lever.clone(),
            context.clone(),
            share.clone(),
        ) {
            tracing::error!(worker = worker.index(), error = %format!("{e:#}"), "worker stopped");
            opts.shutdown.store(true, Ordering::SeqCst);
            return Err(format!("{e:#}"));
        }
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    for result in guards.join() {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => anyhow::bail!("worker failed: {e}"),
            Err(e) => anyhow::bail!("worker panicked: {e}"),
        }
    }
    Ok(())
}

/// A flow that a stage panicked on: a going interview fails for good with
/// the panic's message; failures and finished ones pass as they were.
/// One stage between two others: `run` on each batch, on the worker's own
/// flows (no exchange), and a panic fails the interview at that stage.
fn step<'scope, T, U>(
    input: timely::dataflow::Stream<'scope, u64, Vec<Flow<T>>>,
    stage: Stage,
    batch: usize,
    run: impl FnMut(Vec<Flow<T>>) -> Vec<Flow<U>> + 'static,
) -> timely::dataflow::Stream<'scope, u64, Vec<Flow<U>>>
where
    T: Clone + 'static,
    U: Clone + 'static,
{
    stage::stage(
        input,
        stage.as_str(),
        Pipeline,
        batch,
        run,
        move |f, m: &str| panicked(f, stage, m),
    )
}

fn panicked<T, U>(flow: Flow<T>, stage: Stage, message: &str) -> Flow<U> {
    match flow {
        Flow::Going(interview, _) => Flow::Failed(interview, StageError::panicked(stage, message)),
        Flow::Failed(interview, error) => Flow::Failed(interview, error),
        Flow::Done(done) => Flow::Done(done),
    }
}

/// Interview ids containing this panic in the analysis stage, in builds
/// with the `dev` feature only: the test hook that proves a panic is
/// isolated to its interview.
#[cfg(feature = "dev")]
pub const TEST_PANIC_MARKER: &str = "panelflow-test-panic";

fn run_worker(
    worker: &mut timely::worker::Worker,
    cfg: &Arc<PipelineConfig>,
    opts: &RunOptions,
    lever: Option<LeverClient>,
    context: Arc<LeverContext>,
    share: Arc<GroupShare>,
) -> anyhow::Result<()> {
    let index = worker.index();
    // The poller stops with the run: it watches the run's shutdown flag
    // itself (a flag swapped in after it started would never reach it).
    let mut feed = source::connect(cfg, index, opts.shutdown.clone(), Some(share))
        .context("Kafka consumer")?;
    let rx = std::mem::replace(&mut feed.rx, std::sync::mpsc::channel().1);
    let processor = Processor::with_context(cfg, lever, context).context("loading models")?;
    let who = processor.identity();
    let Processor {
        batch,
        context: mut context_stage,
        mut media,
        mut speech,
        mut analyse,
        mut writeback,
        ..
    } = processor;
    let (sinks, written) = land::Sinks::open(cfg).context("opening sinks")?;
    let dead_letters = sinks.dead_letters.clone();
    let pending = source::PendingOffsets::default();
    let admission = Admission::new(&cfg.pipeline.version, written);
    let ledger = admission.ledger();
    let noted = opts.stats.clone();

    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let events = source::events(scope, rx, pending.clone(), dead_letters, cfg, opts);
        let admitted = admit::admit(events, admission, opts.stats.clone());
        let contexts = stage::stage(
            admitted,
            "context",
            Pipeline,
            batch,
            move |i| context_stage.run(i),
            |i: Interview, m: &str| Flow::Failed(i, StageError::panicked(Stage::Context, m)),
        );
        let fetched = step(contexts, Stage::Media, batch, move |f| media.run(f));
        let transcribed = step(fetched, Stage::Speech, batch, move |f| speech.run(f));
        let analysed = step(transcribed, Stage::Analysis, batch, move |f| analyse.run(f));
        let done = stage::stage(
            analysed,
            "writeback",
            Pipeline,
            batch,
            move |f| {
                let done = writeback.run(f);
                let notes = done
                    .iter()
                    .filter(|p| p.interview.lever_note_id.is_some())
                    .count();
                noted.noted.fetch_add(notes as u64, Ordering::Relaxed);
                done
            },
            move |f: Flow<analyse::Analysed>, m: &str| match f {
                Flow::Done(done) => *done,
                Flow::Going(i, _) | Flow::Failed(i, _) => {
                    let err = StageError::panicked(Stage::LeverWrite, m);
                    let mut failed = rows::failed(&who, &i.event, &err, i.elapsed_ms());
                    failed.audit = i.audit;
                    failed
                }
            },
        );
        land::land(done, sinks, ledger, opts.stats.clone()).probe_with(&probe);
    });
    tracing::info!(worker = index, "worker running");

    let mut draining = false;
    loop {
        worker.step_or_park(Some(Duration::from_millis(50)));
        source::commit_completed(
            &feed.consumer,
            &pending,
            &probe,
            &opts.stats,
            &feed.in_flight,
        );
        if let Err(e) = feed.check(false) {
            opts.shutdown.store(true, Ordering::SeqCst);
            return Err(e.context("Kafka consumer"));
        }
        if opts.shutdown.load(Ordering::SeqCst) && !draining {
            draining = true;
            tracing::info!(worker = index, "draining");
        }
        if probe.done() {
            break;
        }
    }
    source::commit_completed(
        &feed.consumer,
        &pending,
        &probe,
        &opts.stats,
        &feed.in_flight,
    );
    feed.stop()?;
    tracing::info!(worker = index, "worker done");
    Ok(())
}
