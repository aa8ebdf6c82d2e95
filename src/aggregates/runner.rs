//! `panelflow aggregate --config FILE`: the aggregates as their own timely
//! dataflow, reading the score, rating, decision, demographics and question
//! topics from Kafka and writing the Parquet dataset.
//!
//! Each worker reads its share of the topics' partitions (partition `p` of
//! every topic goes to worker `p mod workers`, counting the workers of every
//! process) from the beginning: the
//! topics are the source of truth and the aggregates' state is rebuilt from
//! them at every start, so the output folder's `inputs/`, `changelog/` and
//! `snapshot/` — derived data — are replaced when the runner starts. Records
//! are stamped with the wall clock (ms, rounded to `epoch_ms`); messages that
//! are not valid records go to the dead-letter topic with the reason.
//!
//! # A timely cluster
//! The aggregates need a global exchange by key (a bias scope, a reviewer,
//! a model version gathers records from every partition), so they scale as
//! one timely dataflow over several processes rather than as independent
//! consumers: `panelflow aggregate -n 2 -p 0 --hostfile hosts.txt` on one
//! machine and `-p 1` on the other (or `[cluster] hosts` in the file and
//! `-p` alone). Process 0 clears the derived output before the cluster
//! connects, so no worker writes before it is gone; every worker writes its
//! input rows and the last worker the aggregates' change logs and
//! snapshots, all under one `[output] dir` — an `s3://` URL when the
//! processes run on different machines.
//!
//! ```toml
//! [kafka]
//! brokers = "127.0.0.1:19092"
//! [topics]
//! scores = "panelflow.scores"          # … ratings, decisions, demographics, questions, dead_letter
//! [output]
//! dir = "out/aggregates"
//! changelog_flush_ms = 1000
//! snapshot_interval_ms = 5000
//! [aggregates]
//! reference_weeks = 2
//! bias = { impact_threshold = 0.8, small_share = 0.02 }
//! [cluster]
//! hosts = ["10.0.0.1:2101", "10.0.0.2:2101"]   # process i listens on hosts[i]
//! ```
//!
//! ```
//! let cfg: panelflow::aggregates::runner::RunnerConfig =
//!     toml::from_str("[output]\ndir = \"/tmp/agg\"\n[aggregates]\nreference_weeks = 3\n").unwrap();
//! assert_eq!(cfg.aggregates.reference_weeks, 3);
//! assert_eq!(cfg.topics.scores, "panelflow.scores");
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use differential_dataflow::AsCollection;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::harness::{build, SinkOptions};
use super::records::decode;
use super::AggregateConfig;
use panelflow_connectors::kafka::dead_letter::DeadLetterSink;
use panelflow_connectors::kafka::{ensure_aggregate_topics, KafkaSection, TopicNames};
use panelflow_connectors::parquet::aggregates::{Layout, CHANGELOG_DIR, INPUTS_DIR, SNAPSHOT_DIR};
use panelflow_connectors::parquet::storage;
use panelflow_core::outcome::Stage;
use panelflow_core::topics::Topic;

use crate::source::{kafka_source, refused, stamp_ms, Decoded, SourceOptions};

/// Most messages a source reads per activation.
const MAX_POLL_BATCH: usize = 4096;

/// Where and how often the runner writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// The dataset's folder.
    pub dir: PathBuf,
    /// Longest a change waits for its change-log file.
    pub changelog_flush_ms: u64,
    /// How often snapshots are rewritten.
    pub snapshot_interval_ms: u64,
    /// Granularity of the dataflow's times.
    pub epoch_ms: u64,
    /// Whether files are fsynced.
    pub durable: bool,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("out/aggregates"),
            changelog_flush_ms: 1000,
            snapshot_interval_ms: 5000,
            epoch_ms: 100,
            durable: true,
        }
    }
}

/// The runner's configuration file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerConfig {
    /// Kafka connection (`brokers`, `properties`; `PANELFLOW_BROKERS` overrides `brokers`).
    pub kafka: KafkaSection,
    /// Topic names.
    pub topics: TopicNames,
    /// Output.
    pub output: OutputSection,
    /// The aggregates' settings.
    pub aggregates: AggregateConfig,
    /// The timely cluster, when the aggregates run on several processes.
    pub cluster: ClusterSection,
}

/// `[cluster]`: the processes of a timely cluster.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// `host:port` of each process, in process order (empty: one process).
    pub hosts: Vec<String>,
}

/// How the aggregates' dataflow is laid out: worker threads per process,
/// and the processes of a cluster.
///
/// ```
/// use panelflow::aggregates::runner::Topology;
/// let one = Topology::process(2);
/// assert_eq!((one.workers, one.peers()), (2, 2));
/// let cluster = Topology { workers: 1, process: 1, hosts: vec!["127.0.0.1:2101".into(), "127.0.0.1:2102".into()] };
/// assert_eq!(cluster.peers(), 2);
/// assert!(cluster.timely_config().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Worker threads in this process.
    pub workers: usize,
    /// This process's index among `hosts`.
    pub process: usize,
    /// Every process's `host:port` (empty or one: a single process).
    pub hosts: Vec<String>,
}

impl Topology {
    /// One process with `workers` threads.
    pub fn process(workers: usize) -> Self {
        Self {
            workers: workers.max(1),
            process: 0,
            hosts: Vec::new(),
        }
    }

    /// Processes in the cluster.
    pub fn processes(&self) -> usize {
        self.hosts.len().max(1)
    }

    /// Workers in the whole cluster.
    pub fn peers(&self) -> usize {
        self.workers.max(1) * self.processes()
    }

    /// The timely configuration.
    pub fn timely_config(&self) -> anyhow::Result<timely::Config> {
        if self.hosts.len() <= 1 {
            return Ok(timely::Config::process(self.workers.max(1)));
        }
        anyhow::ensure!(
            self.process < self.hosts.len(),
            "process {} of a cluster of {}",
            self.process,
            self.hosts.len()
        );
        Ok(timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: self.workers.max(1),
                process: self.process,
                addresses: self.hosts.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        })
    }
}

impl RunnerConfig {
    /// Reads a config file (embedded defaults without one); `PANELFLOW_BROKERS` overrides the brokers.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut cfg: RunnerConfig = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => RunnerConfig::default(),
        };
        if let Ok(b) = std::env::var("PANELFLOW_BROKERS") {
            cfg.kafka.brokers = b;
        }
        Ok(cfg)
    }

    fn sink_options(&self) -> SinkOptions {
        SinkOptions {
            layout: Some(Layout::new(&self.output.dir)),
            changelog_flush: Duration::from_millis(self.output.changelog_flush_ms),
            snapshot_interval: Duration::from_millis(self.output.snapshot_interval_ms),
            write_inputs: true,
            durable: self.output.durable,
        }
    }
}

/// Counters of a running aggregator.
#[derive(Debug, Default)]
pub struct RunnerStats {
    /// Messages read.
    pub consumed: AtomicU64,
    /// Messages dead-lettered.
    pub malformed: AtomicU64,
    /// Messages dropped as redeliveries: an insert of a record already held,
    /// or a retraction of one not held (see [`Redeliveries`]).
    pub redelivered: AtomicU64,
}

/// The records a worker holds, to drop redeliveries at the input.
///
/// Producers send at least once (a pipeline that crashes after sending a
/// record and before marking its interview done sends it again; platforms
/// retry webhooks), and a record is a fact that holds or not: an insert of a
/// record already held and a retraction of one not held are redeliveries.
/// Records of one key always reach the same worker (partition `p` → worker
/// `p mod workers`), so a per-worker set suffices. Memory: one hash per held
/// record.
///
/// ```
/// use panelflow::aggregates::runner::Redeliveries;
/// let mut seen = Redeliveries::default();
/// assert!(seen.admit(&"a", 1));
/// assert!(!seen.admit(&"a", 1), "sent twice");
/// assert!(seen.admit(&"a", -1));
/// assert!(!seen.admit(&"a", -1), "retracted twice");
/// assert!(seen.admit(&"a", 1), "inserted again after its retraction");
/// ```
#[derive(Debug, Default)]
pub struct Redeliveries {
    held: std::collections::HashSet<u64>,
}

impl Redeliveries {
    /// Whether an update (`diff` ±1) of `record` changes what is held;
    /// records the change when it does.
    pub fn admit<R: std::hash::Hash>(&mut self, record: &R, diff: isize) -> bool {
        use std::hash::BuildHasher;
        // A fixed hasher: the same record hashes the same in every process.
        let key =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(record);
        if diff > 0 {
            self.held.insert(key)
        } else {
            self.held.remove(&key)
        }
    }
}

/// Runs the aggregator with `workers` threads. With `catch_up`, each worker
/// stops once it has read every message its partitions held when it started
/// and everything is written (the demo, tests, batch use); with `deadline`,
/// fails past it. Otherwise runs until killed.
pub fn run(
    cfg: &RunnerConfig,
    workers: usize,
    catch_up: bool,
    deadline: Option<Duration>,
) -> anyhow::Result<Arc<RunnerStats>> {
    run_on(cfg, &Topology::process(workers), catch_up, deadline)
}

/// [`run`] as one process of a timely cluster (or a single process):
/// returns this process's counters.
pub fn run_on(
    cfg: &RunnerConfig,
    topology: &Topology,
    catch_up: bool,
    deadline: Option<Duration>,
) -> anyhow::Result<Arc<RunnerStats>> {
    let mut kafka = cfg.kafka.clone();
    kafka.dead_letter_topic = cfg.topics.dead_letter.clone();
    kafka.partitions = cfg.topics.partitions;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(ensure_aggregate_topics(&kafka, &cfg.topics))?;
    drop(rt);

    // Derived data: rebuilt from the topics at every start, by process 0
    // only and before the cluster connects (no worker of any process runs
    // before every process has joined).
    let derived: &[&str] = if topology.process == 0 {
        &[INPUTS_DIR, CHANGELOG_DIR, SNAPSHOT_DIR]
    } else {
        &[]
    };
    for d in derived {
        let path = cfg.output.dir.join(d);
        if storage::is_dir(&path)? {
            tracing::warn!(path = %path.display(), "replacing derived output (rebuilt from the topics)");
            storage::delete_tree(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    storage::ensure_dir(&cfg.output.dir)
        .with_context(|| format!("creating {}", cfg.output.dir.display()))?;
    let phrases = Arc::new(
        cfg.aggregates
            .phrases()
            .context("loading the interviewer-language phrase list")?,
    );

    let stats = Arc::new(RunnerStats::default());
    let shutdown = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let cfg = Arc::new(cfg.clone());
    let kafka = Arc::new(kafka);
    let worker_stats = stats.clone();
    let worker_shutdown = shutdown.clone();
    tracing::info!(
        process = topology.process,
        processes = topology.processes(),
        workers = topology.workers,
        "aggregates dataflow starting"
    );
    let guards = timely::execute(
        topology.timely_config()?,
        move |worker| -> Result<(), String> {
            run_worker(
                worker,
                &cfg,
                &kafka,
                phrases.clone(),
                &worker_stats,
                &worker_shutdown,
                catch_up,
                started,
                deadline,
            )
            .map_err(|e| format!("{e:#}"))
        },
    )
    .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?;
    for result in guards.join() {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => anyhow::bail!("aggregate worker failed: {e}"),
            Err(e) => anyhow::bail!("aggregate worker panicked: {e}"),
        }
    }
    Ok(stats)
}

#[allow(clippy::too_many_arguments)]
fn run_worker(
    worker: &mut timely::worker::Worker,
    cfg: &RunnerConfig,
    kafka: &KafkaSection,
    phrases: Arc<super::language::PhraseList>,
    stats: &Arc<RunnerStats>,
    shutdown: &Arc<AtomicBool>,
    catch_up: bool,
    started: Instant,
    deadline: Option<Duration>,
) -> anyhow::Result<()> {
    let (index, peers) = (worker.index(), worker.peers());
    let consumer: BaseConsumer = panelflow_connectors::kafka::consumer_config(kafka)
        .set("group.id", format!("{}-aggregate", kafka.group_id))
        .create()
        .context("Kafka consumer")?;
    let mut by_name: HashMap<String, Topic> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    let mut target = 0u64;
    for t in Topic::ALL {
        let name = cfg.topics.name(t).to_string();
        let md = consumer
            .fetch_metadata(Some(&name), Duration::from_secs(10))
            .with_context(|| format!("metadata of {name}"))?;
        for topic in md.topics() {
            for p in topic.partitions() {
                if p.id() as usize % peers == index {
                    assignment.add_partition_offset(&name, p.id(), Offset::Beginning)?;
                    let (low, high) =
                        consumer.fetch_watermarks(&name, p.id(), Duration::from_secs(10))?;
                    target += (high - low).max(0) as u64;
                }
            }
        }
        by_name.insert(name, t);
    }
    consumer.assign(&assignment)?;
    let consumer = Arc::new(consumer);
    let dead_letters = Rc::new(DeadLetterSink::new(kafka).context("dead-letter producer")?);
    let opts = cfg.sink_options();
    let source_opts = SourceOptions {
        name: "KafkaRecords",
        max_batch: MAX_POLL_BATCH,
        idle: Duration::from_millis(5),
        stamp: stamp_ms,
        epoch_ms: cfg.output.epoch_ms.max(1),
        shutdown: shutdown.clone(),
        target: catch_up.then_some(target),
        stop_on_dead_letter_failure: false,
    };
    let source_stats = stats.clone();
    let mut redeliveries = Redeliveries::default();
    let decode_record = move |message: &rdkafka::message::BorrowedMessage<'_>, now: u64| {
        source_stats.consumed.fetch_add(1, Ordering::Relaxed);
        let Some(topic) = by_name.get(message.topic()).copied() else {
            return Decoded::Skip;
        };
        match decode(topic, message.payload().unwrap_or_default()) {
            Ok((record, diff)) if redeliveries.admit(&record, diff) => {
                Decoded::Item((record, now, diff))
            }
            Ok(_) => {
                source_stats.redelivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    "redelivered record dropped"
                );
                Decoded::Skip
            }
            Err(e) => {
                source_stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), error = %e, "invalid record; dead-lettered");
                Decoded::Refused(refused(
                    message,
                    message.topic(),
                    Stage::DecodeAggregateRecord,
                    e.to_string(),
                ))
            }
        }
    };
    let probe = worker.dataflow::<u64, _, _>(|scope| {
        let records = kafka_source(
            scope,
            consumer,
            dead_letters,
            source_opts,
            decode_record,
            |_, _, _| {},
        )
        .as_collection();
        let (_tables, probe) = build(records, &cfg.aggregates, phrases, &opts, index);
        probe
    });
    tracing::info!(worker = index, target, "aggregate worker running");
    loop {
        worker.step_or_park(Some(Duration::from_millis(20)));
        if let Some(d) = deadline {
            if started.elapsed() > d && !shutdown.load(Ordering::SeqCst) {
                shutdown.store(true, Ordering::SeqCst);
                anyhow::bail!(
                    "aggregator read {} messages, {target} expected, within {d:?}",
                    stats.consumed.load(Ordering::Relaxed)
                );
            }
        }
        if probe.done() {
            break;
        }
    }
    tracing::info!(
        worker = index,
        consumed = stats.consumed.load(Ordering::Relaxed),
        "aggregate worker done"
    );
    Ok(())
}

/// Options of the `aggregate` subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct AggregateArgs {
    /// Config file (TOML: [kafka], [topics], [output], [aggregates]).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder (overrides [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Timely worker threads in this process (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Timely cluster: number of processes (with --hostfile, or [cluster]
    /// hosts; without either, localhost:2101, 2102, …).
    #[arg(short = 'n', long)]
    pub processes: Option<usize>,
    /// Timely cluster: this process's index (0-based).
    #[arg(short = 'p', long, default_value_t = 0)]
    pub process: usize,
    /// Timely cluster: a file of `host:port` lines, one per process.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// Stop once every message the topics held at start is aggregated and written.
    #[arg(long)]
    pub until_caught_up: bool,
}

impl AggregateArgs {
    /// The layout these flags and `[cluster]` ask for; workers default to
    /// one per core ([`crate::cores::cores`]).
    pub fn topology(&self, cfg: &RunnerConfig) -> anyhow::Result<Topology> {
        let mut hosts = match &self.hostfile {
            Some(f) => std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
            None => cfg.cluster.hosts.clone(),
        };
        if let Some(n) = self.processes {
            if hosts.is_empty() {
                hosts = (0..n).map(|i| format!("localhost:{}", 2101 + i)).collect();
            }
            anyhow::ensure!(
                hosts.len() >= n,
                "-n {n} but only {} hosts given",
                hosts.len()
            );
            hosts.truncate(n);
        }
        anyhow::ensure!(
            self.process < hosts.len().max(1),
            "-p {} but the cluster has {} processes",
            self.process,
            hosts.len().max(1)
        );
        Ok(Topology {
            workers: self.workers.unwrap_or_else(crate::cores::cores).max(1),
            process: self.process,
            hosts,
        })
    }
}

/// Runs `panelflow aggregate`.
pub fn run_cli(args: &AggregateArgs) -> anyhow::Result<()> {
    let mut cfg = RunnerConfig::load(args.config.as_deref())?;
    if let Some(out) = &args.out {
        cfg.output.dir = out.clone();
    }
    let topology = args.topology(&cfg)?;
    eprintln!(
        "panelflow aggregate: {} → {} (process {} of {}, {} workers)",
        cfg.kafka.brokers,
        cfg.output.dir.display(),
        topology.process,
        topology.processes(),
        topology.workers
    );
    let stats = run_on(&cfg, &topology, args.until_caught_up, None)?;
    println!(
        "aggregated {} messages ({} dead-lettered, {} redeliveries dropped) into {}",
        stats.consumed.load(Ordering::Relaxed),
        stats.malformed.load(Ordering::Relaxed),
        stats.redelivered.load(Ordering::Relaxed),
        cfg.output.dir.display()
    );
    Ok(())
}
