//! A whole local stack for end-to-end tests: the real Tansu broker, the
//! Lever emulator, a media server over `datasets/`, the ingest server, and
//! the dataflow — all on 127.0.0.1, all stopped when the stack is dropped.
#![allow(dead_code)]

pub mod browser;
pub mod ingest_server;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow::pipeline::{self, RunOptions, RunStats};
use panelflow_core::webhook::signature::sign_body;
use panelflow_devkit::broker::Broker;
use panelflow_devkit::dataset::{generic_webhook, load_manifest, DemoInterview};
use panelflow_devkit::emulator::{self, EmulatorConfig, EmulatorHandle};
use panelflow_devkit::media_server::MediaServer;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

pub const LEVER_KEY: &str = "e2e-lever-key";
pub const GENERIC_SECRET: &str = "e2e-generic-secret";
/// The Spark Hire and Willo secrets of a [`Stack`]'s receiver (in its
/// config, not the environment: the environment is shared by every test of
/// the binary).
pub const SPARKHIRE_SECRET: &str = "sh-secret-for-ratings";
pub const WILLO_SECRET: &str = "willo-secret-for-ratings";

pub fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

pub fn interviews() -> Vec<DemoInterview> {
    load_manifest(&datasets()).expect("datasets/manifest.json")
}

pub fn interview(id: &str) -> DemoInterview {
    interviews()
        .into_iter()
        .find(|i| i.interview_id == id)
        .unwrap_or_else(|| panic!("no interview {id}"))
}

/// Reference transcript of an interview from the manifest.
pub fn reference(id: &str) -> String {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(datasets().join("manifest.json")).unwrap())
            .unwrap();
    let it = m["interviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interview_id"] == id)
        .unwrap();
    it["reference_transcript"].as_str().unwrap().to_string()
}

/// Recordings are decoded by the `panelflow` binary this build made (the
/// running program is the test binary, which has no `decode-media`).
pub fn use_built_decoder(cfg: &mut PipelineConfig) {
    cfg.media.decoder.program = Some(PathBuf::from(env!("CARGO_BIN_EXE_panelflow")));
}

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub broker: Broker,
    pub lever: EmulatorHandle,
    pub media: MediaServer,
    pub cfg: PipelineConfig,
    pub ingest_url: String,
    ingest_stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: tokio::runtime::Runtime,
}

/// A Lever emulator under `dir` (accepting [`LEVER_KEY`]), seeded with the
/// dataset's opportunities.
pub fn dataset_lever(dir: &Path) -> EmulatorHandle {
    panelflow_devkit::dataset::seed_lever(&datasets(), dir).unwrap();
    emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        ..EmulatorConfig::new(dir)
    })
    .unwrap()
}

impl Stack {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::start(&dir.path().join("broker"), None)
            .expect("Tansu broker (run bash scripts/setup.sh)");
        let lever = dataset_lever(&dir.path().join("lever"));
        let media = MediaServer::start(&datasets()).unwrap();
        let mut cfg = PipelineConfig::default();
        cfg.pipeline.name = "e2e".into();
        cfg.pipeline.version = "e2e-1".into();
        cfg.kafka.brokers = broker.bootstrap();
        cfg.kafka.group_id = "panelflow-e2e".into();
        cfg.lever.base_url = lever.base_url();
        cfg.sinks.parquet_dir = dir.path().join("parquet");
        cfg.review.queue_dir = dir.path().join("review");
        cfg.governance.audit_dir = dir.path().join("audit");
        cfg.ingest.state_dir = dir.path().join("ingest");
        cfg.media.allow_private_networks = true;
        use_built_decoder(&mut cfg);
        cfg.ingest
            .secrets
            .insert("generic".into(), GENERIC_SECRET.into());
        for (source, secret) in [("sparkhire", SPARKHIRE_SECRET), ("willo", WILLO_SECRET)] {
            cfg.ingest.secrets.insert(source.into(), secret.into());
        }
        // Every test of this binary uses the same key, so setting it is race-free.
        unsafe { std::env::set_var(&cfg.lever.api_key_env, LEVER_KEY) };

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))
            .expect("topics");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let ingest_url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let ingest_cfg = cfg.clone();
        rt.spawn(async move {
            let _ = panelflow::ingest::serve_with_shutdown(listener, ingest_cfg, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            dir,
            broker,
            lever,
            media,
            cfg,
            ingest_url,
            ingest_stop: Some(tx),
            rt,
        }
    }

    /// Posts a signed generic webhook; returns the HTTP status.
    pub fn post(&self, body: &Value) -> u16 {
        let raw = serde_json::to_vec(body).unwrap();
        let client = reqwest::blocking::Client::new();
        client
            .post(format!("{}/webhooks/generic", self.ingest_url))
            .header("content-type", "application/json")
            .header(
                "x-panelflow-signature",
                sign_body(&raw, GENERIC_SECRET.as_bytes()),
            )
            .body(raw)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    pub fn post_interview(&self, it: &DemoInterview) -> u16 {
        self.post(&generic_webhook(it, &self.media))
    }

    /// Starts the dataflow in this process.
    pub fn run(&self, cfg: &PipelineConfig, workers: usize) -> Running {
        let opts = RunOptions::workers(workers);
        let stats = opts.stats.clone();
        let shutdown = opts.shutdown.clone();
        let cfg = cfg.clone();
        let thread = std::thread::spawn(move || pipeline::run(cfg, opts));
        Running {
            stats,
            shutdown,
            thread: Some(thread),
        }
    }

    /// Rows of a DuckDB query over the Parquet dataset (`{interviews}` and
    /// `{segments}` stand for the tables).
    pub fn duckdb(&self, sql: &str) -> Vec<Value> {
        let root = self.cfg.sinks.parquet_dir.display().to_string();
        let sql = sql
            .replace(
                "{interviews}",
                &format!("read_parquet('{root}/interviews/**/*.parquet', hive_partitioning=true)"),
            )
            .replace(
                "{segments}",
                &format!("read_parquet('{root}/segments/**/*.parquet', hive_partitioning=true)"),
            );
        duckdb_json(&sql)
    }

    /// Every record on the dead-letter topic.
    pub fn dead_letters(&self) -> Vec<Value> {
        read_topic(&self.cfg.kafka.brokers, &self.cfg.kafka.dead_letter_topic)
    }

    /// Committed offsets of the pipeline's group vs the topic's high watermarks.
    pub fn uncommitted(&self, group: &str) -> i64 {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.cfg.kafka.brokers)
            .set("group.id", group)
            .create()
            .unwrap();
        let topic = &self.cfg.kafka.topic;
        let meta = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        let partitions: Vec<i32> = meta.topics()[0]
            .partitions()
            .iter()
            .map(|p| p.id())
            .collect();
        let mut list = TopicPartitionList::new();
        for p in &partitions {
            list.add_partition(topic, *p);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .unwrap();
        let mut lag = 0;
        for p in partitions {
            let (_, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap();
            let at = match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            };
            lag += high - at;
        }
        lag
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.ingest_stop.take() {
            let _ = tx.send(());
        }
    }
}

pub struct Running {
    pub stats: Arc<RunStats>,
    shutdown: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Waits until `done(stats)` holds; panics after `timeout`.
    pub fn wait(&self, timeout: Duration, done: impl Fn(&RunStats) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(&self.stats) {
            assert!(
                Instant::now() < deadline,
                "timed out; stats {}",
                self.stats.snapshot()
            );
            assert!(
                !self.thread.as_ref().unwrap().is_finished(),
                "dataflow stopped early; stats {}",
                self.stats.snapshot()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn processed(&self) -> u64 {
        let s = &self.stats;
        s.transcribed.load(Ordering::Relaxed)
            + s.failed.load(Ordering::Relaxed)
            + s.duplicates.load(Ordering::Relaxed)
    }

    /// Drains and stops the dataflow.
    pub fn stop(mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        let result = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("dataflow panicked");
        result.expect("dataflow failed");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The aggregates' snapshot tables, one Parquet file each.
pub const SNAPSHOT_TABLES: [&str; 6] = [
    "bias_audit",
    "reviewer_calibration",
    "panel_view",
    "drift",
    "question_consistency",
    "interviewer_language",
];

/// Runs SQL in DuckDB (the set-up virtualenv's `duckdb`), rows as JSON.
pub fn duckdb_json(sql: &str) -> Vec<Value> {
    let script = "import duckdb, json, sys\nrel = duckdb.sql(sys.argv[1])\ncols = rel.columns\nprint(json.dumps([dict(zip(cols, r)) for r in rel.fetchall()], default=str))";
    serde_json::from_slice(&run_duckdb(script, sql)).unwrap()
}

/// Runs several queries in one DuckDB process; rows as JSON per query name.
pub fn duckdb_queries(queries: &[(&str, String)]) -> std::collections::HashMap<String, Vec<Value>> {
    let script = "import duckdb, json, sys\nqs = json.loads(sys.argv[1])\nout = {}\nfor name, sql in qs:\n    rel = duckdb.sql(sql)\n    cols = rel.columns\n    out[name] = [dict(zip(cols, r)) for r in rel.fetchall()]\nprint(json.dumps(out, default=str))";
    let arg = serde_json::to_string(
        &queries
            .iter()
            .map(|(n, q)| (n.to_string(), q.clone()))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    serde_json::from_slice(&run_duckdb(script, &arg)).unwrap()
}

/// A Python script with one argument in the set-up virtualenv (which has
/// `duckdb`); its standard output.
fn run_duckdb(script: &str, arg: &str) -> Vec<u8> {
    let python = panelflow_devkit::paths::venv_python();
    assert!(
        python.exists(),
        "{} missing: run bash scripts/setup.sh",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A finished command's output, once it is known to have succeeded (else
/// the test fails with its standard error).
pub fn succeeded(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// All records of a topic, from the beginning.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Value> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for p in meta.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .unwrap();
        expected += high - low;
        list.add_partition_offset(topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (out.len() as i64) < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
            );
        }
    }
    out
}
