//! The media fetcher's SSRF guard: every spelling of a private address,
//! each redirect hop, a proxy in the environment.

use super::*;

/// A tiny HTTP server on 127.0.0.1: `/hop/<n>?to=URL` redirects to `to` (or
/// to the next hop), `/file` answers a few bytes; every request line is
/// recorded.
struct Redirector {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Redirector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(target.clone());
                let reply = if let Some(to) = target.split_once("to=").map(|(_, t)| t) {
                    let to = url::form_urlencoded::parse(format!("to={to}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else if target.starts_with("/file") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nRIFF"
                        .to_string()
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Self { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/hop?to=<to>` (URL-encoded).
    fn hop(&self, to: &str) -> String {
        let enc: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        self.url(&format!("/hop?to={enc}"))
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The production policy that lets the test reach this server only.
fn only(server: &Redirector) -> FetchPolicy {
    FetchPolicy {
        allowed_addresses: vec![server.addr.ip()],
        allowed_ports: vec![80, 443, server.addr.port()],
        ..FetchPolicy::default()
    }
}

/// Every SSRF spelling of the corpus is refused before any connection, with
/// the code the corpus names.
#[test]
fn ssrf_corpus_is_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let cases = corpus("ssrf");
    assert!(cases.len() >= 40);
    for case in &cases {
        let started = Instant::now();
        let got = match fetch(&case.input, &FetchPolicy::default(), dir.path()) {
            Ok(_) => "fetched".to_string(),
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains("6379/_FLUSHALL?"), "{text}");
                e.code().to_string()
            }
        };
        eprintln!(
            "line {:>3} {:<52} {got} ({} ms)  {}",
            case.line,
            case.input,
            started.elapsed().as_millis(),
            case.reason
        );
        if got != case.expected {
            failures.push(format!(
                "line {} {}: {got}, expected {} ({})",
                case.line, case.input, case.expected, case.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Redirects are followed by hand and each hop is checked: a chain ending
/// at the metadata service, at another loopback, or at a numeric spelling is
/// refused after the allowed hops only; a chain staying on allowed ground
/// is fetched.
#[test]
fn every_redirect_hop_is_checked() {
    let server = Redirector::start();
    let dir = tempfile::tempdir().unwrap();
    let policy = only(&server);
    let metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
    for (start, code) in [
        (server.hop(&server.hop(metadata)), "media_forbidden_address"),
        (
            // The IPv6 loopback: not the one address excepted.
            server.hop(&format!("http://[::1]:{}/file", server.addr.port())),
            "media_forbidden_address",
        ),
        (
            server.hop(&format!("http://2130706433:{}/file", server.addr.port())),
            "media_bad_url",
        ),
        (
            server.hop("http://[::ffff:a9fe:a9fe]/"),
            "media_forbidden_address",
        ),
        (
            server.hop("http://93.184.216.34:8080/x"),
            "media_forbidden_port",
        ),
    ] {
        let before = server.seen().len();
        let err = fetch(&start, &policy, dir.path()).unwrap_err();
        assert_eq!(err.code(), code, "{start}: {err}");
        let hops = server.seen().len() - before;
        assert!(hops >= 1, "the allowed first hop was asked");
        assert!(
            server
                .seen()
                .iter()
                .all(|p| p.starts_with("/hop") || p.starts_with("/file")),
            "{:?}",
            server.seen()
        );
    }
    // Staying on allowed ground works (the guard is not a wall).
    let ok = fetch(&server.hop(&server.url("/file")), &policy, dir.path()).unwrap();
    assert_eq!(ok.bytes, 4);
}

/// `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` set: the fetcher still checks
/// and connects by itself; a recording proxy sees nothing. (Run in a child
/// process: the environment is shared by every test of this binary.)
#[test]
fn a_proxy_in_the_environment_is_not_used() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    proxy.set_nonblocking(true).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let proxy_thread = std::thread::spawn(move || {
        while !stopping.load(Ordering::Relaxed) {
            match proxy.accept() {
                Ok((mut c, _)) => {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nPRXY");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let server = Redirector::start();
    let proxy_url = format!("http://{proxy_addr}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "security::ssrf::proxy_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("HTTP_PROXY", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("PANELFLOW_SECURITY_CHILD_MEDIA", server.url("/file"))
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    proxy_thread.join().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{log}");
    assert!(log.contains("1 passed"), "the child test ran:\n{log}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the proxy was used:\n{log}"
    );
    assert!(
        server.seen().iter().any(|p| p == "/file"),
        "fetched directly"
    );
}

/// The child of [`a_proxy_in_the_environment_is_not_used`].
#[test]
#[ignore = "run by a_proxy_in_the_environment_is_not_used with a proxy set"]
fn proxy_child() {
    let media = std::env::var("PANELFLOW_SECURITY_CHILD_MEDIA").expect("run by the parent test");
    assert!(std::env::var("HTTP_PROXY").is_ok());
    let dir = tempfile::tempdir().unwrap();
    for refused in [
        "http://[64:ff9b::7f00:1]/x",
        "http://[::7f00:1]/x",
        "http://127.0.0.1/x",
    ] {
        let err = fetch(refused, &FetchPolicy::default(), dir.path()).unwrap_err();
        assert_eq!(err.code(), "media_forbidden_address", "{refused}: {err}");
    }
    let u = url::Url::parse(&media).unwrap();
    let policy = FetchPolicy {
        allowed_addresses: vec![u.host_str().unwrap().parse().unwrap()],
        allowed_ports: vec![u.port().unwrap()],
        ..FetchPolicy::default()
    };
    let got = fetch(&media, &policy, dir.path()).unwrap();
    let bytes = std::fs::read(&got.file).unwrap();
    assert_eq!(bytes, b"RIFF", "the server's bytes, not the proxy's");
}

// ---------------------------------------------------------------------------
// the review page
