//! The timely dataflow of `panelflow run`.
//!
//! ```text
//! kafka_source (per worker: its share of the partitions)
//!   └─ exchange by interview id ─► analyse (context → media → speech → summary → Lever note)
//!                                    └─ on frontier: Parquet batch ─► probe
//! worker loop: offsets of every time the probe has passed are committed
//! ```
//!
//! The commit protocol is timely's progress tracking: each polled message is
//! stamped with a time, its offset is remembered under that time, and only
//! when the probe after the sinks has passed the time — every worker has
//! written that time's notes, dead letters and Parquet files — is the offset
//! committed. A crash before that replays the message, and the idempotent
//! sinks (Parquet keys, correlation ids in notes) write nothing twice.

pub mod aggregates;
pub mod analyse;
pub mod kafka_source;
pub mod process;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;

use crate::config::PipelineConfig;
use crate::lever::client::{ClientOptions, LeverAuth, LeverClient};
use crate::lever::ratelimit::TokenBucket;

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

/// Builds a Lever client from the config — OAuth 2.0 when `[lever.oauth]`
/// is present, else Basic auth with the API key — or `None` when notes are
/// off and no credentials are set. Clones of the client share its token
/// bucket and OAuth session: build it once per process.
pub fn lever_client(
    cfg: &PipelineConfig,
    limiter: Arc<TokenBucket>,
) -> anyhow::Result<Option<LeverClient>> {
    let opts = ClientOptions {
        max_attempts: cfg.lever.max_attempts,
        limiter: limiter.clone(),
        ..ClientOptions::default()
    };
    if let Some(oauth) = &cfg.lever.oauth {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .with_context(|| format!("[lever.oauth] needs ${name}"))
        };
        let refresh_token = match env(&oauth.refresh_token_env) {
            Ok(t) => t,
            // A token saved by an earlier run is enough.
            Err(e)
                if oauth
                    .refresh_token_file
                    .as_ref()
                    .is_some_and(|f| f.is_file()) =>
            {
                tracing::debug!(error = %e, "using the saved refresh token");
                String::new()
            }
            Err(e) => return Err(e),
        };
        let session = crate::lever::oauth::OAuthSession::new(crate::lever::oauth::OAuthConfig {
            token_url: oauth.token_url.clone(),
            client_id: env(&oauth.client_id_env)?,
            client_secret: env(&oauth.client_secret_env)?,
            refresh_token,
            audience: oauth.audience.clone(),
            refresh_token_file: oauth.refresh_token_file.clone(),
            timeout: Duration::from_secs(30),
        })
        .context("Lever OAuth")?;
        let client = LeverClient::new(
            &cfg.lever.base_url,
            LeverAuth::OAuth(Arc::new(session)),
            opts,
        )
        .with_context(|| format!("Lever client for {}", cfg.lever.base_url))?;
        return Ok(Some(client));
    }
    let key = std::env::var(&cfg.lever.api_key_env)
        .ok()
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        if cfg.lever.write_notes {
            anyhow::bail!(
                "Lever notes are on but ${} is not set (set it, or write_notes = false in [lever])",
                cfg.lever.api_key_env
            );
        }
        return Ok(None);
    };
    let client = LeverClient::new(&cfg.lever.base_url, LeverAuth::ApiKey(key), opts)
        .with_context(|| format!("Lever client for {}", cfg.lever.base_url))?;
    Ok(Some(client))
}

/// Runs the dataflow until `opts.shutdown` is set (or forever).
pub fn run(cfg: PipelineConfig, opts: RunOptions) -> anyhow::Result<()> {
    // One token bucket, one Lever client (one OAuth session) and one context
    // cache for every worker of the process: Lever's limit is per key.
    let limiter = Arc::new(TokenBucket::new(cfg.lever.rate_per_s, cfg.lever.burst));
    // Fail fast on configuration problems before starting workers.
    let lever = lever_client(&cfg, limiter)?;
    let context = Arc::new(crate::lever::context::LeverContext::new(
        &cfg,
        lever.clone(),
    ));
    crate::speech::runtime::init()?;
    std::fs::create_dir_all(&cfg.sinks.parquet_dir)
        .with_context(|| format!("creating {}", cfg.sinks.parquet_dir.display()))?;

    let config = timely::Config::from_args(opts.timely_args.clone().into_iter())
        .map_err(|e| anyhow::anyhow!("timely arguments {:?}: {e}", opts.timely_args))?;
    let cfg = Arc::new(cfg);
    let guards = timely::execute(config, move |worker| {
        if let Err(e) = run_worker(worker, &cfg, &opts, lever.clone(), context.clone()) {
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

fn run_worker(
    worker: &mut timely::worker::Worker,
    cfg: &Arc<PipelineConfig>,
    opts: &RunOptions,
    lever: Option<LeverClient>,
    context: Arc<crate::lever::context::LeverContext>,
) -> anyhow::Result<()> {
    let index = worker.index();
    let consumer = Arc::new(kafka_source::subscribe(cfg).context("Kafka consumer")?);
    let processor = process::Processor::new(cfg, lever)
        .context("loading models")?
        .with_context(context);
    let sinks = analyse::Sinks::open(cfg).context("opening sinks")?;
    let pending = kafka_source::PendingOffsets::default();

    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let events = kafka_source::kafka_source(
            scope,
            consumer.clone(),
            pending.clone(),
            sinks.dead_letters.clone(),
            opts.clone(),
        );
        analyse::analyse(events, processor, sinks, opts.stats.clone()).probe_with(&probe);
    });
    tracing::info!(worker = index, "worker running");

    let mut draining = false;
    loop {
        worker.step_or_park(Some(Duration::from_millis(50)));
        kafka_source::commit_completed(&consumer, &pending, &probe, &opts.stats);
        if opts.shutdown.load(Ordering::SeqCst) && !draining {
            draining = true;
            tracing::info!(worker = index, "draining");
        }
        if probe.done() {
            break;
        }
    }
    kafka_source::commit_completed(&consumer, &pending, &probe, &opts.stats);
    tracing::info!(worker = index, "worker done");
    Ok(())
}
