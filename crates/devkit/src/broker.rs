//! The local Kafka broker for development, the demo and the tests: Tansu
//! (built by set-up into the cache folder, see
//! [`crate::paths::tansu_binary`]) with SQLite storage.
//!
//! ```text
//! tansu broker --listener-url tcp://127.0.0.1:PORT \
//!              --advertised-listener-url tcp://127.0.0.1:PORT \
//!              --storage-engine sqlite://tansu.db    # run in DIR
//! ```
//!
//! Known behaviour (measured with rdkafka 0.39): topics are not auto-created
//! (use [`panelflow_connectors::kafka::ensure_topics`]); the first consumer-group
//! join takes 3–5 s; a final commit with nothing new returns `NoOffset`.
//! The `memory://` engine is never used (it loses committed positions).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

/// How long [`Broker::start`] waits for the broker to answer metadata.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors starting or stopping the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The Tansu binary is not where set-up puts it.
    #[error("tansu binary not found at {0} (run the set-up script, or set PANELFLOW_TANSU)")]
    Missing(PathBuf),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The broker exited before answering.
    #[error("tansu exited with {status} before it was ready; log {log}:\n{tail}")]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// The broker did not answer metadata in time.
    #[error("tansu on {bootstrap} did not answer metadata within {waited:?}; log {log}:\n{tail}")]
    NotReady {
        /// `host:port`.
        bootstrap: String,
        /// How long it was given.
        waited: Duration,
        /// The log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BrokerError {
    let what = what.into();
    move |source| BrokerError::Io { what, source }
}

/// A Tansu broker child process on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct Broker {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16, BrokerError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("cannot bind a free port"))?;
    Ok(l.local_addr()
        .map_err(io("cannot read the bound port"))?
        .port())
}

/// Waits until a Kafka cluster at `bootstrap` answers a metadata request.
pub fn wait_for_metadata(bootstrap: &str, timeout: Duration) -> Result<(), String> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "panelflow-probe")
        .set("log_level", "3")
        .create()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match client.fetch_metadata(None, Duration::from_millis(1000)) {
            Ok(md) if !md.brokers().is_empty() => return Ok(()),
            Ok(_) => last = "metadata lists no broker".into(),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

impl Broker {
    /// Starts Tansu with its SQLite database and log in `dir` (created if
    /// needed) on `port` (a free one when `None`), and waits until it answers
    /// metadata (up to [`READY_TIMEOUT`]).
    pub fn start(dir: &Path, port: Option<u16>) -> Result<Self, BrokerError> {
        Self::start_with(&crate::paths::tansu_binary(), dir, port)
    }

    /// Like [`Broker::start`] with an explicit binary.
    pub fn start_with(binary: &Path, dir: &Path, port: Option<u16>) -> Result<Self, BrokerError> {
        if !binary.is_file() {
            return Err(BrokerError::Missing(binary.to_path_buf()));
        }
        std::fs::create_dir_all(dir)
            .map_err(io(format!("cannot create broker folder {}", dir.display())))?;
        let dir = dir.canonicalize().map_err(io(format!(
            "cannot resolve broker folder {}",
            dir.display()
        )))?;
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut broker = Self {
            binary: binary.to_path_buf(),
            dir,
            port,
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding `tansu.db` and `tansu.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The broker's log file (stdout and stderr, appended across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("tansu.log")
    }

    /// The storage engine URL passed to Tansu. Tansu resolves the path after
    /// `sqlite://` against its working directory (an absolute path gets the
    /// working directory prepended), so the broker runs in [`Broker::dir`]
    /// and the URL names the file relative to it.
    pub fn storage_url(&self) -> String {
        "sqlite://tansu.db".to_string()
    }

    /// The child's process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the child process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn log_tail(&self) -> String {
        let Ok(mut f) = File::open(self.log_path()) else {
            return String::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(4000)));
        let mut s = String::new();
        let _ = f.read_to_string(&mut s);
        s
    }

    fn spawn(&mut self) -> Result<(), BrokerError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io(format!("cannot open {}", self.log_path().display())))?;
        let log_err = log
            .try_clone()
            .map_err(io("cannot duplicate the log handle"))?;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.binary)
            .arg("broker")
            .arg("--listener-url")
            .arg(&url)
            .arg("--advertised-listener-url")
            .arg(&url)
            .arg("--storage-engine")
            .arg(self.storage_url())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io(format!("cannot start {}", self.binary.display())))?;
        tracing::info!(pid = child.id(), bootstrap = %self.bootstrap(), dir = %self.dir.display(),
            "starting tansu");
        self.child = Some(child);
        self.wait_ready(READY_TIMEOUT)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), BrokerError> {
        let deadline = Instant::now() + timeout;
        let bootstrap = self.bootstrap();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(BrokerError::Exited {
                        status,
                        log: self.log_path(),
                        tail: self.log_tail(),
                    });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let _ = self.kill();
                return Err(BrokerError::NotReady {
                    bootstrap,
                    waited: timeout,
                    log: self.log_path(),
                    tail: self.log_tail(),
                });
            }
            // Short probes, so a crashed child is noticed quickly.
            if wait_for_metadata(&bootstrap, left.min(Duration::from_secs(2))).is_ok() {
                tracing::info!(bootstrap = %bootstrap, "tansu ready");
                return Ok(());
            }
        }
    }

    /// Kills the broker at once (SIGKILL: a crash, for crash tests) and reaps it.
    pub fn kill(&mut self) -> Result<(), BrokerError> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            child.wait().map_err(io("cannot reap tansu"))?;
        }
        Ok(())
    }

    /// Stops the broker: SIGTERM, up to 5 s to exit, then SIGKILL.
    pub fn stop(&mut self) -> Result<(), BrokerError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                tracing::info!(port = self.port, "tansu stopped");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill()
    }

    /// Stops the broker if running and starts it again on the same port with
    /// the same database (for crash and recovery tests).
    pub fn restart(&mut self) -> Result<(), BrokerError> {
        self.stop()?;
        // The port was ours a moment ago; give the kernel a moment to release it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.spawn()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
