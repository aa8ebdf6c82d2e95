//! A whole run's logs, Parquet files, audit log and dead letters searched
//! for the dataset's personal data and signed-URL query strings.

use super::*;

/// `panelflow ingest` and `panelflow run` as users start them, with debug
/// logs: webhooks carrying the dataset's candidates' names and e-mails and
/// signed media URLs (one good, one missing, one behind the metadata
/// address). Afterwards no log line, Parquet value, audit line or
/// dead-letter reason holds a name, an e-mail, a phone number or a query
/// string; the forbidden media failed without a request and without a note.
#[test]
fn logs_and_parquet_hold_no_pii_or_signed_query_strings() {
    let stack = support::Stack::start();
    let media_port = url::Url::parse(&stack.media.url("x"))
        .unwrap()
        .port()
        .unwrap();
    let mut cfg = stack.cfg.clone();
    cfg.kafka.topic = "pii.completed".into();
    cfg.kafka.dead_letter_topic = "pii.deadletter".into();
    cfg.kafka.group_id = "panelflow-pii".into();
    cfg.ingest.state_dir = stack.dir.path().join("pii-ingest");
    cfg.sinks.parquet_dir = stack.dir.path().join("pii-parquet");
    cfg.governance.audit_dir = stack.dir.path().join("pii-audit");
    // The SSRF guard on, the media server reachable by exception only.
    cfg.media.allow_private_networks = false;
    cfg.media.allowed_addresses = vec!["127.0.0.1".parse().unwrap()];
    cfg.media.allowed_ports = vec![80, 443, media_port];
    let port = free_port();
    let config = stack.dir.path().join("pii.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let mut ingest = Child::start(
        &["ingest", "--listen", &format!("127.0.0.1:{port}")],
        &config,
        stack.dir.path().join("ingest.log"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{base}/healthz"))
        .ok()
        .and_then(|r| r.json::<Value>().ok())
        .is_some_and(|h| h["ready"] == true)
    {
        assert!(Instant::now() < deadline, "ingest:\n{}", ingest.text());
        std::thread::sleep(Duration::from_millis(200));
    }

    let opps: Vec<Value> = serde_json::from_slice(
        &std::fs::read(support::datasets().join("lever_opportunities.json")).unwrap(),
    )
    .unwrap();
    let person = |opp: &str| opps.iter().find(|o| o["id"] == opp).cloned().unwrap();
    let query = |n: u32, email: &str| {
        format!(
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQSIG{n}&X-Amz-Signature=qsig{n}deadbeef&response-content-disposition=attachment%3Bfilename%3D{}",
            email.replace('@', "%40")
        )
    };
    let good = support::interview("swe-01");
    let missing = support::interview("sales-01");
    let forbidden = support::interview("data-01");
    let mut sent = Vec::new();
    for (n, it, url) in [
        (
            1,
            &good,
            format!("{}{}", stack.media.url(&good.media[0].0), ""),
        ),
        (
            2,
            &missing,
            stack.media.url("interviews/no-such-recording.mp4"),
        ),
        (
            3,
            &forbidden,
            "http://169.254.169.254/latest/meta-data/recording.mp4".to_string(),
        ),
    ] {
        let p = person(&it.opportunity_id);
        let email = p["emails"][0].as_str().unwrap();
        let body = json!({"timestamp": now_ms(), "event": "interviewCompleted", "data": {
            "candidateId": it.candidate_id, "opportunityId": it.opportunity_id,
            "interviewId": format!("pii-{}", it.interview_id),
            "mediaUrl": format!("{url}{}", query(n, email)),
            "candidateName": p["name"], "email": email, "phone": p["phones"][0]["value"],
            "candidate": {"name": p["name"], "emails": p["emails"]},
            "note": format!("Recording for {} ({email})", p["name"].as_str().unwrap()),
        }});
        let raw = serde_json::to_vec(&body).unwrap();
        let r = reqwest::blocking::Client::new()
            .post(format!("{base}/webhooks/generic"))
            .header("content-type", "application/json")
            .header(
                "x-panelflow-signature",
                sign_body(&raw, support::GENERIC_SECRET.as_bytes()),
            )
            .body(raw)
            .send()
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().unwrap_or_default());
        sent.push(format!("pii-{}", it.interview_id));
    }

    let mut run = Child::start(
        &["run", "--workers", "1"],
        &config,
        stack.dir.path().join("run.log"),
    );
    let rows = || {
        panelflow_connectors::parquet::ParquetSink::open(&cfg.sinks.parquet_dir)
            .and_then(|s| s.read_interviews())
            .map(|r| r.len())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while rows() < 3 {
        assert!(Instant::now() < deadline, "run:\n{}", run.text());
        assert!(
            run.child.try_wait().unwrap().is_none(),
            "run exited:\n{}",
            run.text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Let the audit table and the dead letters land, then stop both.
    std::thread::sleep(Duration::from_secs(2));
    run.stop();
    ingest.stop();

    // What each interview became.
    let root = cfg.sinks.parquet_dir.display().to_string();
    let outcomes = support::duckdb_json(&format!(
        "select interview_id, outcome, failure_reason from read_parquet('{root}/interviews/**/*.parquet', hive_partitioning=true) order by interview_id"
    ));
    let outcome = |id: &str| {
        outcomes
            .iter()
            .find(|r| r["interview_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {id}: {outcomes:?}"))
    };
    assert_eq!(
        outcome("pii-swe-01")["outcome"],
        "transcribed",
        "{outcomes:?}"
    );
    let m = outcome("pii-sales-01");
    assert_eq!(m["outcome"], "failed");
    assert!(m["failure_reason"].as_str().unwrap().contains("404"), "{m}");
    let f = outcome("pii-data-01");
    assert_eq!(f["outcome"], "failed");
    assert!(
        f["failure_reason"]
            .as_str()
            .unwrap()
            .contains("media_forbidden_address"),
        "{f}"
    );
    assert!(
        stack.lever.notes(&forbidden.opportunity_id).is_empty(),
        "no note for refused media"
    );
    assert!(stack.lever.notes(&missing.opportunity_id).is_empty());

    // Everything written, as text: logs, every Parquet table, the audit log,
    // the dead letters' reasons.
    let mut haystacks: Vec<(String, String)> = vec![
        ("ingest log".into(), ingest.text()),
        ("run log".into(), run.text()),
    ];
    assert!(haystacks[1].1.contains("DEBUG"), "debug logs were on");
    let tables: BTreeSet<String> = walk(&cfg.sinks.parquet_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .filter_map(|p| {
            p.strip_prefix(&cfg.sinks.parquet_dir)
                .ok()
                .and_then(|r| r.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
        })
        .collect();
    assert!(
        tables.contains("interviews") && tables.contains("audit"),
        "{tables:?}"
    );
    for t in &tables {
        let rows = support::duckdb_json(&format!(
            "select * from read_parquet('{root}/{t}/**/*.parquet', union_by_name=true)"
        ));
        haystacks.push((
            format!("parquet {t}"),
            serde_json::to_string(&rows).unwrap(),
        ));
    }
    haystacks.push((
        "audit.jsonl".into(),
        std::fs::read_to_string(cfg.governance.audit_dir.join("audit.jsonl")).unwrap_or_default(),
    ));
    let reasons: Vec<Value> = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.dead_letter_topic)
        .into_iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    eprintln!("dead-letter reasons: {reasons:?}");
    haystacks.push((
        "dead-letter reasons".into(),
        serde_json::to_string(&reasons).unwrap(),
    ));
    let mut needles = dataset_pii();
    needles.extend(
        [
            "X-Amz-Signature",
            "X-Amz-Credential",
            "qsig1",
            "qsig2",
            "qsig3",
            "AKIAQSIG",
        ]
        .map(String::from),
    );
    // The control: the event topic must carry the signed URL (the pipeline
    // fetches it), so the search does find a needle where one is.
    let events =
        serde_json::to_string(&support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic)).unwrap();
    assert!(
        events.contains("qsig1deadbeef"),
        "the control needle is on the topic"
    );
    let mut found = Vec::new();
    for (what, text) in &haystacks {
        eprintln!("searched {what}: {} bytes", text.len());
        assert!(!text.is_empty(), "{what} is empty");
        for n in &needles {
            if let Some(at) = text.find(n.as_str()) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let to = (at + n.len() + 80).min(text.len());
                let to = (to..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(text.len());
                found.push(format!("{what}: {n:?} in …{}…", &text[from..to]));
            }
        }
    }
    assert!(
        found.is_empty(),
        "personal data or signed query strings written:\n{}",
        found.join("\n")
    );
}
