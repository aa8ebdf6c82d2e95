//! The webhook corpus on a real receiver: forged, replayed, stale and
//! future signatures per source, oversized and nested JSON, a slow upload.

use super::*;

/// One request of the corpus.
struct Delivery {
    path: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

fn sample(source: &str) -> Value {
    let path = support::datasets().join(format!("../schemas/webhooks/{source}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn rfc3339(offset_s: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_s)).to_rfc3339()
}

/// What the cases of one run share: the last valid delivery per source.
#[derive(Default)]
struct Deliveries {
    last_valid: BTreeMap<String, Delivery>,
    lever_token: String,
    lever_at: i64,
}

impl Clone for Delivery {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
        }
    }
}

fn signed(source: &str, body: &Value, key: &str) -> Delivery {
    let raw = serde_json::to_vec(body).unwrap();
    let headers = if source == "hireflix" {
        vec![(
            "x-hireflix-signature",
            sign_base64_body(&raw, key.as_bytes()),
        )]
    } else {
        vec![("x-panelflow-signature", sign_body(&raw, key.as_bytes()))]
    };
    Delivery {
        path: format!("/webhooks/{source}"),
        body: raw,
        headers,
    }
}

/// A platform body for `source` whose time is `offset_s` from now (`None`:
/// without a time), naming opportunity `opp` and contact `cand`.
fn platform_body(source: &str, tag: &str, offset_s: Option<i64>, opp: &str, cand: &str) -> Value {
    let mut v = sample(source);
    let time_field = match source {
        "generic" => "timestamp",
        "willo" => "timestamp",
        "sparkhire" => "created_at",
        "hirevue" => "eventTime",
        _ => "",
    };
    match source {
        "generic" => {
            v["data"]["interviewId"] = json!(format!("sec-{tag}"));
            v["data"]["opportunityId"] = json!(opp);
            v["data"]["candidateId"] = json!(cand);
        }
        "willo" => {
            v["data"]["key"] = json!(format!("sec-{tag}"));
            v["data"]["metadata"] = json!({"lever_opportunity_id": opp, "lever_contact_id": cand});
        }
        "sparkhire" => {
            v["data"]["uuid"] = json!(format!("sec-{tag}"));
            v["data"]["metadata"] = json!({"lever_opportunity_id": opp, "lever_contact_id": cand});
        }
        "hirevue" => {
            v["details"]["interviewId"] = json!(format!("sec-{tag}"));
            v["details"]["externalIds"] =
                json!({"leverOpportunityId": opp, "leverContactId": cand});
        }
        "hireflix" => {
            v["data"]["id"] = json!(format!("sec-{tag}"));
            v["data"]["externalId"] = json!(opp);
        }
        _ => unreachable!(),
    }
    if !time_field.is_empty() {
        let o = v.as_object_mut().unwrap();
        match offset_s {
            None => {
                o.remove(time_field);
            }
            Some(s) if source == "generic" => {
                o.insert(time_field.into(), json!(now_ms() + s * 1000));
            }
            Some(s) => {
                o.insert(time_field.into(), json!(rfc3339(s)));
            }
        }
    }
    v
}

fn lever_delivery(token: &str, at_ms: i64, key: &str, data: Value) -> Delivery {
    Delivery {
        path: "/webhooks/lever".into(),
        body: signed_body("interviewCreated", at_ms, token, key.as_bytes(), data).into_bytes(),
        headers: vec![],
    }
}

fn fresh_token() -> String {
    format!("tok-{}", uuid::Uuid::new_v4().simple())
}

/// The request of one corpus case (`None` for the cases run by hand).
fn delivery(case: &str, d: &mut Deliveries) -> Option<Delivery> {
    let (source, what) = case.split_once('/').expect("source/case");
    let (swe, sales) = (support::interview("swe-01"), support::interview("sales-01"));
    let key = secret(source);
    let out = match (source, what) {
        (_, "redelivered") => d
            .last_valid
            .get(source)
            .cloned()
            .expect("a valid delivery first"),
        ("lever", "valid") => {
            d.lever_token = fresh_token();
            d.lever_at = now_ms();
            lever_delivery(
                &d.lever_token,
                d.lever_at,
                key,
                json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id,
                       "interviewId": "sec-lever-1"}),
            )
        }
        ("lever", "replayed-token-other-body") => lever_delivery(
            &d.lever_token,
            d.lever_at,
            key,
            // A real opportunity and its real contact: only the replay store refuses it.
            json!({"opportunityId": sales.opportunity_id, "candidateId": sales.candidate_id,
                   "interviewId": "sec-lever-replayed",
                   "mediaUrl": "http://169.254.169.254/latest/meta-data/"}),
        ),
        ("lever", "forged") => lever_delivery(
            &fresh_token(),
            now_ms(),
            "not-the-key",
            json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id}),
        ),
        ("lever", "stale") | ("lever", "future") => lever_delivery(
            &fresh_token(),
            now_ms() + if what == "stale" { -301_000 } else { 120_000 },
            key,
            json!({"opportunityId": swe.opportunity_id, "candidateId": swe.candidate_id}),
        ),
        ("lever", "other-candidate") => lever_delivery(
            &fresh_token(),
            now_ms(),
            key,
            json!({"opportunityId": swe.opportunity_id, "candidateId": sales.candidate_id,
                   "interviewId": "sec-lever-other"}),
        ),
        ("lever", "unknown-opportunity") => lever_delivery(
            &fresh_token(),
            now_ms(),
            key,
            json!({"opportunityId": "no-such-opportunity", "candidateId": swe.candidate_id}),
        ),
        (_, "valid") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-1"),
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "forged") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-forged"),
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            "not-the-key",
        ),
        (_, "stale") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-stale"),
                Some(-301),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "future") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-future"),
                Some(120),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        (_, "no-time") => signed(
            source,
            &platform_body(
                source,
                &format!("{source}-untimed"),
                None,
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        ("generic", "other-namespace") => {
            let mut v = platform_body(
                "generic",
                "x",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            );
            v["data"]["interviewId"] = json!("willo:sec-willo-1");
            signed("generic", &v, key)
        }
        ("generic", "erased") => signed(
            "generic",
            &platform_body(
                "generic",
                "erased",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            ),
            key,
        ),
        ("generic", "oversized") => {
            let mut v = platform_body(
                "generic",
                "big",
                Some(0),
                &swe.opportunity_id,
                &swe.candidate_id,
            );
            v["data"]["padding"] = json!("x".repeat(300 << 10));
            signed("generic", &v, key)
        }
        ("generic", "deeply-nested") => {
            let depth = 100_000;
            let raw = format!(
                "{{\"timestamp\":{},\"data\":{}{}}}",
                now_ms(),
                "[".repeat(depth),
                "]".repeat(depth)
            )
            .into_bytes();
            Delivery {
                path: "/webhooks/generic".into(),
                headers: vec![("x-panelflow-signature", sign_body(&raw, key.as_bytes()))],
                body: raw,
            }
        }
        ("willo", "path-token") => {
            let mut dl = signed(
                "willo",
                &platform_body(
                    "willo",
                    "path",
                    Some(0),
                    &swe.opportunity_id,
                    &swe.candidate_id,
                ),
                key,
            );
            dl.headers.clear();
            dl.path = format!("/webhooks/willo/{key}");
            dl
        }
        ("generic", "slow-upload") | ("generic", "over-concurrency") => return None,
        other => panic!("no corpus case {other:?}"),
    };
    if what == "valid" {
        d.last_valid.insert(source.to_string(), out.clone());
    }
    Some(out)
}

fn post(base: &str, d: &Delivery) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut req = client
        .post(format!("{base}{}", d.path))
        .header("content-type", "application/json")
        .body(d.body.clone());
    for (k, v) in &d.headers {
        req = req.header(*k, v);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Opens a request whose body never finishes: the headers, then one byte
/// of the promised length every 300 ms. Returns the status line the server
/// answers with, and when.
fn slow_upload(addr: SocketAddr, hold: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(
        s,
        "POST /webhooks/generic HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
    )
    .unwrap();
    let mut answer = Vec::new();
    while started.elapsed() < hold {
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
            Err(_) => {
                // Nothing yet: trickle one more byte (the server may have closed).
                if s.write_all(b" ").is_err() {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (line, started.elapsed())
}

/// A receiver of our own on `stack`'s broker and Lever: short time-out and
/// few concurrent requests (the corpus shows both).
fn start_receiver(
    rt: &tokio::runtime::Runtime,
    cfg: &PipelineConfig,
) -> (String, SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = cfg.clone();
    rt.spawn(async move {
        let _ = panelflow::ingest::serve_with_shutdown(listener, cfg, async {
            let _ = rx.await;
        })
        .await;
    });
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = reqwest::blocking::get(format!("{base}/healthz"))
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|h| h["ready"] == true);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "receiver not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    (base, addr, tx)
}

/// Every webhook line of the corpus gets its answer, and the topic holds
/// exactly the deliveries answered 202: nothing refused reaches the
/// pipeline (so nothing refused can reach Lever or Parquet).
#[test]
fn webhook_corpus_on_a_real_receiver() {
    let stack = support::Stack::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = stack.cfg.clone();
    cfg.kafka.topic = "security.completed".into();
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))
        .unwrap();
    for (s, k) in SECRETS {
        cfg.ingest.secrets.insert(s.into(), k.into());
    }
    cfg.ingest.state_dir = stack.dir.path().join("security-ingest");
    cfg.ingest.request_timeout_s = 3;
    cfg.ingest.max_concurrent_requests = 3;
    let (base, addr, stop) = start_receiver(&rt, &cfg);
    // An interview erased earlier.
    ReplayStore::open(&cfg.ingest.state_dir)
        .unwrap()
        .tombstone("sec-erased")
        .unwrap();

    let mut d = Deliveries::default();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    let mut failures = Vec::new();
    for case in corpus("webhook") {
        let (status, reply, took) = match case.input.as_str() {
            "generic/slow-upload" => {
                let (line, took) = slow_upload(addr, Duration::from_secs(20));
                let status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                (status, Value::String(line), took)
            }
            "generic/over-concurrency" => {
                // Hold every permit with slow uploads, then ask once more.
                let holders: Vec<_> = (0..cfg.ingest.max_concurrent_requests)
                    .map(|_| std::thread::spawn(move || slow_upload(addr, Duration::from_secs(20))))
                    .collect();
                std::thread::sleep(Duration::from_millis(500));
                let started = Instant::now();
                let dl = delivery("generic/valid", &mut Deliveries::default()).unwrap();
                let (status, reply) = post(&base, &dl);
                let took = started.elapsed();
                for h in holders {
                    let (line, _) = h.join().unwrap();
                    assert!(line.contains("408"), "a held upload ended with {line:?}");
                }
                (status, reply, took)
            }
            other => {
                let dl = delivery(other, &mut d).unwrap();
                let started = Instant::now();
                let (status, reply) = post(&base, &dl);
                (status, reply, started.elapsed())
            }
        };
        eprintln!(
            "line {:>3} {:<36} {status} (expected {}) {:>6} ms  {}",
            case.line,
            case.input,
            case.expected,
            took.as_millis(),
            case.reason
        );
        if status.to_string() != case.expected {
            failures.push(format!(
                "line {} {}: {status} {reply}, expected {} ({})",
                case.line, case.input, case.expected, case.reason
            ));
        }
        if status == 202 {
            if let Some(id) = reply["interviewId"].as_str() {
                accepted.insert(id.to_string());
            }
        }
        if case.input == "generic/other-namespace" {
            assert_eq!(reply["interviewId"], "generic:willo:sec-willo-1", "{reply}");
        }
        if case.input == "generic/slow-upload" {
            assert!(took < Duration::from_secs(10), "408 after {took:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The topic holds the accepted deliveries, once each, and nothing else.
    let on_topic: Vec<String> = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic)
        .iter()
        .filter_map(|e| e["interview_id"].as_str().map(str::to_string))
        .collect();
    let distinct: BTreeSet<String> = on_topic.iter().cloned().collect();
    assert_eq!(on_topic.len(), distinct.len(), "{on_topic:?}");
    assert_eq!(distinct, accepted, "only what was answered 202");
    for refused in [
        "lever:sec-lever-replayed",
        "lever:sec-lever-other",
        "sec-erased",
    ] {
        assert!(!distinct.contains(refused), "{refused} on the topic");
    }
    // The Lever delivery's candidate is Lever's, its media none of the body's.
    let events = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic);
    let lever = events
        .iter()
        .find(|e| e["interview_id"] == "lever:sec-lever-1")
        .expect("the Lever delivery");
    assert_eq!(
        lever["candidate_id"],
        support::interview("swe-01").candidate_id.as_str()
    );
    // No name or e-mail of the platforms' bodies travels on the topic.
    let text = serde_json::to_string(&events).unwrap();
    let hf = sample("hireflix");
    for pii in [
        &hf["data"]["candidate"]["name"],
        &hf["data"]["candidate"]["email"],
    ] {
        let pii = pii.as_str().unwrap();
        assert!(!text.contains(pii), "{pii} on the event topic");
    }
    // Nothing was written to Lever by the receiver.
    let writes = stack
        .lever
        .requests()
        .unwrap()
        .into_iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0);

    // /healthz without its token: no addresses, no error text.
    let bare = reqwest::blocking::get(format!("{base}/healthz"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !bare.contains("127.0.0.1") && !bare.contains("broker"),
        "{bare}"
    );
    let _ = stop.send(());
}

// ---------------------------------------------------------------------------
// SSRF
