//! A local S3-compatible server for tests and the demo: `moto` in server
//! mode (installed by set-up into [`crate::paths::s3_venv_dir`]) on a free
//! port of 127.0.0.1, stopped when the handle is dropped; and DuckDB with
//! its `httpfs` extension (from the same virtualenv, no download at run
//! time) to read Parquet back through S3 as an analyst would.
//!
//! ```no_run
//! use panelflow_devkit::s3::S3Server;
//! let s3 = S3Server::start().unwrap();
//! s3.create_bucket("panelflow-test").unwrap();
//! // Point panelflow (object_store) at it: AWS_ENDPOINT_URL and friends.
//! for (k, v) in s3.env() { println!("{k}={v}"); }
//! let rows = s3.duckdb("select count(*) as n from read_parquet('s3://panelflow-test/x/*.parquet')").unwrap();
//! println!("{rows:?}");
//! ```

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Credentials the local server accepts (any are; these are what the
/// handle hands out).
pub const ACCESS_KEY: &str = "panelflow-test";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "panelflow-test-secret";
/// Region the handle names.
pub const REGION: &str = "us-east-1";

/// Errors starting or using the local S3 server.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// Set-up has not installed moto.
    #[error("{} is missing (run bash scripts/setup.sh)", .0.display())]
    Missing(PathBuf),
    /// Starting, reaching or asking the server failed.
    #[error("local S3 server: {0}")]
    Server(String),
}

/// A running moto S3 server on 127.0.0.1, killed on drop.
pub struct S3Server {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `moto_server` in the object-storage virtualenv.
pub fn moto_binary() -> PathBuf {
    crate::paths::s3_venv_dir().join("bin").join("moto_server")
}

/// The object-storage virtualenv's Python (DuckDB with httpfs, boto3).
pub fn python() -> PathBuf {
    crate::paths::s3_venv_dir().join("bin").join("python")
}

impl S3Server {
    /// Starts moto on a free port and waits (up to 30 s) until it answers.
    pub fn start() -> Result<Self, S3Error> {
        let bin = moto_binary();
        if !bin.is_file() {
            return Err(S3Error::Missing(bin));
        }
        let port = crate::broker::free_port().map_err(|e| S3Error::Server(e.to_string()))?;
        let dir = tempfile::tempdir().map_err(|e| S3Error::Server(e.to_string()))?;
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).map_err(|e| S3Error::Server(e.to_string()))?;
        let err = out
            .try_clone()
            .map_err(|e| S3Error::Server(e.to_string()))?;
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| S3Error::Server(format!("starting {}: {e}", bin.display())))?;
        let mut me = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if me.get("/").is_ok() {
                break;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(S3Error::Server(format!(
                    "moto exited ({status}): {}",
                    me.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(S3Error::Server(format!(
                    "moto did not answer within 30 s: {}",
                    me.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        tracing::info!(port, "moto S3 server started");
        Ok(me)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points AWS clients (panelflow's `object_store`,
    /// boto3, DuckDB's secrets below) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Makes `s3://bucket` in this process use this server (panelflow's
    /// `object_store`), without touching the environment.
    pub fn register(&self, bucket: &str) -> Result<(), S3Error> {
        use panelflow_connectors::parquet::storage;
        let env = self.env();
        let options: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let store = storage::s3_with_options(bucket, &options)
            .map_err(|e| S3Error::Server(e.to_string()))?;
        storage::register(&format!("s3://{bucket}"), store)
            .map_err(|e| S3Error::Server(e.to_string()))
    }

    /// Creates a bucket (S3 `PUT /bucket`).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let status = self.request("PUT", &format!("/{bucket}"))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(S3Error::Server(format!(
                "creating bucket {bucket}: HTTP {status}"
            )))
        }
    }

    /// Runs a DuckDB query with `httpfs` loaded and an S3 secret for this
    /// server; returns the rows as JSON objects.
    pub fn duckdb(&self, sql: &str) -> Result<Vec<Value>, S3Error> {
        let script = r#"
import json, os, sys, decimal, datetime
import duckdb, duckdb_extension_httpfs as ext
path = os.path.join(os.path.dirname(ext.__file__), "extensions", "v" + duckdb.__version__, "httpfs.duckdb_extension")
con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
con.load_extension(path)
host = os.environ["AWS_ENDPOINT_URL"].split("://", 1)[1]
con.execute(f"create secret (type s3, key_id '{os.environ['AWS_ACCESS_KEY_ID']}', secret '{os.environ['AWS_SECRET_ACCESS_KEY']}', endpoint '{host}', use_ssl false, url_style 'path', region '{os.environ['AWS_REGION']}')")
cur = con.execute(sys.argv[1])
cols = [d[0] for d in cur.description]
def conv(v):
    if isinstance(v, (decimal.Decimal,)): return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)): return v.isoformat()
    return v
print(json.dumps([{c: conv(v) for c, v in zip(cols, row)} for row in cur.fetchall()], default=str))
"#;
        let mut cmd = Command::new(python());
        cmd.args(["-c", script, sql]);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .map_err(|e| S3Error::Server(format!("running DuckDB: {e}")))?;
        if !out.status.success() {
            return Err(S3Error::Server(format!(
                "DuckDB failed on {sql:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| S3Error::Server(format!("DuckDB output: {e}")))
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn get(&self, path: &str) -> Result<u16, S3Error> {
        self.request("GET", path)
    }

    /// One plain HTTP/1.1 request without a body; the status code.
    fn request(&self, method: &str, path: &str) -> Result<u16, S3Error> {
        use std::io::Write;
        let err = |e: std::io::Error| S3Error::Server(format!("{method} {path}: {e}"));
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(err)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(err)?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .map_err(err)?;
        let mut reply = String::new();
        s.read_to_string(&mut reply).map_err(err)?;
        reply
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| S3Error::Server(format!("{method} {path}: no status in {reply:.80}")))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
