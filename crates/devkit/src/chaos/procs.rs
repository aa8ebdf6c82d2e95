//! The processes and faults a run drives: the runner (started, killed at
//! random moments and started again), `panelflow ingest`, and a media host
//! that never answers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::options::LEVER_KEY;

/// A pseudo-random number generator good enough for kill moments.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(super) fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() % 10_000) as f64 / 10_000.0
    }
}

/// A host that accepts connections and never answers.
pub(super) fn dead_host() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("dead-media-host".into())
        .spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                held.push(s); // never read, never answered
            }
        })?;
    Ok(port)
}

/// One `panelflow run` process, started again after each kill with the
/// same config and instance id.
pub(super) struct Runner {
    pub(super) bin: PathBuf,
    pub(super) config: PathBuf,
    pub(super) workers: usize,
    pub(super) logs: PathBuf,
    pub(super) starts: usize,
    pub(super) child: Option<Child>,
    /// `PANELFLOW_INSTANCE_ID` (the static member's name prefix).
    pub(super) instance: String,
    /// `PANELFLOW_METRICS_LISTEN`, when the config has no `[metrics]`.
    pub(super) metrics_listen: Option<String>,
}

impl Runner {
    /// A runner of `config` named `instance`, logging under `logs`.
    pub(super) fn new(
        bin: &Path,
        config: &Path,
        workers: usize,
        logs: &Path,
        instance: &str,
    ) -> Self {
        Self {
            bin: bin.to_path_buf(),
            config: config.to_path_buf(),
            workers,
            logs: logs.to_path_buf(),
            starts: 0,
            child: None,
            instance: instance.to_owned(),
            metrics_listen: None,
        }
    }

    pub(super) fn start(&mut self) -> anyhow::Result<Instant> {
        self.starts += 1;
        let log = std::fs::File::create(
            self.logs
                .join(format!("{}-{}.log", self.instance, self.starts)),
        )?;
        let mut command = Command::new(&self.bin);
        command
            .args(["run", "--workers", &self.workers.to_string(), "--config"])
            .arg(&self.config)
            .env("PANELFLOW_LEVER_API_KEY", LEVER_KEY)
            .env("PANELFLOW_INSTANCE_ID", &self.instance);
        if let Some(listen) = &self.metrics_listen {
            command.env("PANELFLOW_METRICS_LISTEN", listen);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting panelflow run")?;
        self.child = Some(child);
        Ok(Instant::now())
    }

    pub(super) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(super) fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(super) fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `panelflow ingest` on a free port of 127.0.0.1, killed on drop.
pub(super) struct Ingest {
    child: Child,
    /// Where the generic source's webhooks go.
    pub generic_url: String,
    /// A client for it (15 s time-out).
    pub client: reqwest::blocking::Client,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `BIN ingest --config CONFIG` on a free port, its log in `log`,
/// and waits (up to a minute) until it answers `/healthz`.
pub(super) fn start_ingest(bin: &Path, config: &Path, log: &Path) -> anyhow::Result<Ingest> {
    let port = crate::broker::free_port()?;
    let child = Command::new(bin)
        .args([
            "ingest",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("starting panelflow ingest")?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let ingest = Ingest {
        child,
        generic_url: format!("http://127.0.0.1:{port}/webhooks/generic"),
        client,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ingest
            .client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(ingest);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("ingest did not come up")
}
