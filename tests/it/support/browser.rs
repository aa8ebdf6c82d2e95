//! Headless Chromium driven through chromedriver with the W3C WebDriver
//! protocol (plain JSON over HTTP, spoken with reqwest): what a user's
//! browser does, with no test-only shortcut. Chromium and chromedriver come
//! from Debian (`chromium`, `chromium-driver`; `bash scripts/setup.sh`).
//!
//! A missing browser fails the test with a clear message; it never passes
//! silently.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(names: &[&str], env: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([
        PathBuf::from("/usr/bin"),
        PathBuf::from("/usr/lib/chromium"),
    ]) {
        for n in names {
            let c = dir.join(n);
            if c.is_file() {
                return Some(c);
            }
        }
    }
    None
}

/// A headless Chromium session; the browser and chromedriver are stopped on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port and a headless Chromium session.
    pub fn start() -> Browser {
        let chromium = find_binary(&["chromium", "chromium-browser", "google-chrome"], "CHROME_BIN")
            .unwrap_or_else(|| {
                panic!(
                    "the browser test needs Chromium, and none was found (CHROME_BIN, PATH): \
                     install the Debian packages chromium and chromium-driver (bash scripts/setup.sh)"
                )
            });
        let driver_bin = find_binary(&["chromedriver"], "CHROMEDRIVER").unwrap_or_else(|| {
            panic!(
                "the browser test needs chromedriver, and none was found (CHROMEDRIVER, PATH): \
                 install the Debian package chromium-driver (bash scripts/setup.sh)"
            )
        });
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver_bin.display()));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on {base}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                         "--window-size=1280,1024",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let v = browser.call(reqwest::Method::POST, "/session", Some(caps));
        browser.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_owned();
        browser
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = &body {
            req = req.json(b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {path} → {status}: {v}"
        );
        v["value"].clone()
    }

    fn s(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{}", self.session, path), body)
    }

    /// Navigates to `url`.
    pub fn goto(&self, url: &str) {
        self.s(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.s(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub fn source(&self) -> String {
        self.s(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Elements matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        self.s(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_owned))
        .collect()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.find_all(css).into_iter().next() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css:?} on {}:\n{}",
                self.url(),
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks an element.
    pub fn click(&self, element: &str) {
        self.s(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            None,
        );
    }

    /// Types into an element.
    pub fn type_into(&self, element: &str, text: &str) {
        self.s(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    /// An element's visible text.
    pub fn text(&self, element: &str) -> String {
        self.s(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs a script in the page and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.s(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// A PNG screenshot of the page as the browser shows it.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let png = self.s(reqwest::Method::GET, "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot")
    }

    /// The browser's cookies.
    pub fn cookies(&self) -> Vec<Value> {
        self.s(reqwest::Method::GET, "/cookie", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `cond` holds (checked every 100 ms), or panics after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        mut cond: impl FnMut(&Browser) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A static file server over a folder that honours HTTP byte ranges (as
/// recording hosts — S3, CDNs — do), so a browser's player can seek.
/// Listens on 127.0.0.1; stopped on drop.
pub struct RangeFileServer {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RangeFileServer {
    /// Serves `root` on a free 127.0.0.1 port.
    pub fn start(root: &std::path::Path) -> RangeFileServer {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (root, flag) = (root.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let root = root.clone();
                std::thread::spawn(move || serve_one(conn, &root));
            }
        });
        RangeFileServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// URL of a file under the root.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }
}

fn serve_one(mut conn: std::net::TcpStream, root: &std::path::Path) {
    use std::io::{BufRead, BufReader, Write};
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut range: Option<(u64, Option<u64>)> = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                if let Some(spec) = v.trim().strip_prefix("bytes=") {
                    let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
                    if let Ok(start) = a.trim().parse() {
                        range = Some((start, b.trim().parse().ok()));
                    }
                }
            }
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let rel = path.split('?').next().unwrap_or("").trim_start_matches('/');
    let file = root.join(rel);
    let body = if rel.contains("..") {
        None
    } else {
        std::fs::read(&file).ok()
    };
    let Some(body) = body else {
        let _ = conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let len = body.len() as u64;
    let kind = if rel.ends_with(".mp4") {
        "video/mp4"
    } else {
        "application/octet-stream"
    };
    let head_only = request.starts_with("HEAD ");
    let (status, start, end) = match range {
        Some((s, e)) if s < len => ("206 Partial Content", s, e.unwrap_or(len - 1).min(len - 1)),
        Some(_) => {
            let _ = conn.write_all(format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
            return;
        }
        None => ("200 OK", 0, len.saturating_sub(1)),
    };
    let slice = &body[start as usize..=(end as usize).min(body.len().saturating_sub(1))];
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nAccept-Ranges: bytes\r\nContent-Length: {}\r\nConnection: close\r\n",
        slice.len()
    );
    if status.starts_with("206") {
        head.push_str(&format!("Content-Range: bytes {start}-{end}/{len}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    if !head_only {
        let _ = conn.write_all(slice);
    }
}

impl Drop for RangeFileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
