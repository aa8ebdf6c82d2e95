//! Kafka → aggregate runner → Parquet, read by DuckDB and the audit report.

use super::*;

#[test]
fn kafka_topics_to_parquet_snapshots_and_audit_report() {
    use panelflow::aggregates::runner::{run, RunnerConfig};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let dir = tempfile::tempdir().unwrap();
    let mut broker = panelflow_devkit::broker::Broker::start(&dir.path().join("broker"), None)
        .expect("Tansu broker (run bash scripts/setup.sh)");
    let sim = SimConfig {
        candidates: 300,
        seed: 5,
        bias: Some(parse_bias("sex=female:0.4", 0.0).unwrap()),
        ..SimConfig::default()
    };
    let messages = generate(&sim);
    let sent = panelflow_devkit::simulate::produce(&broker.bootstrap(), &messages, &|t| {
        t.default_name().to_string()
    })
    .unwrap();
    assert_eq!(sent.per_topic.values().sum::<usize>(), messages.len());
    // One message that is not a valid rating: dead-lettered, not a crash.
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    producer
        .send(
            BaseRecord::to(Topic::Ratings.default_name())
                .key("bad")
                .payload(r#"{"reviewer_id":"r","rating":9}"#),
        )
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    // Redeliveries, as a producer that crashed after sending sends again:
    // score inserts whose records are never retracted, sent a second time.
    let retracted: std::collections::HashSet<String> = messages
        .iter()
        .filter_map(|m| match m {
            panelflow_devkit::simulate::Message::Score(s) if s.diff < 0 => Some(
                serde_json::to_string(&panelflow_core::wire::ScoreMessage {
                    diff: 1,
                    ..s.clone()
                })
                .unwrap(),
            ),
            _ => None,
        })
        .collect();
    let again: Vec<_> = messages
        .iter()
        .filter(|m| match m {
            panelflow_devkit::simulate::Message::Score(s) => {
                s.diff > 0 && !retracted.contains(&serde_json::to_string(s).unwrap())
            }
            _ => false,
        })
        .take(40)
        .cloned()
        .collect();
    assert_eq!(again.len(), 40);
    panelflow_devkit::simulate::produce(&broker.bootstrap(), &again, &|t| {
        t.default_name().to_string()
    })
    .unwrap();

    let mut cfg = RunnerConfig::default();
    cfg.kafka.brokers = broker.bootstrap();
    cfg.output.dir = dir.path().join("aggregates");
    cfg.output.durable = false;
    let stats = run(&cfg, 2, true, Some(Duration::from_secs(120))).unwrap();
    assert_eq!(
        stats.consumed.load(std::sync::atomic::Ordering::Relaxed) as usize,
        messages.len() + 1 + again.len()
    );
    assert_eq!(
        stats.redelivered.load(std::sync::atomic::Ordering::Relaxed) as usize,
        again.len(),
        "every redelivery dropped, nothing else"
    );
    assert_eq!(
        stats.malformed.load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let layout = Layout::new(&cfg.output.dir);
    for t in crate::support::SNAPSHOT_TABLES {
        assert!(layout.snapshot_file(t).exists(), "snapshot of {t}");
    }
    // DuckDB: the snapshot equals the SQL over the input tables both workers wrote,
    // and the change log consolidates to the snapshot.
    let inputs = cfg.output.dir.join("inputs");
    let snapshot = |t: &str| {
        format!(
            "select * exclude (as_of_time) from read_parquet('{}')",
            layout.snapshot_file(t).display()
        )
    };
    let duck = duckdb(&[
        ("expected", sql("bias_audit", &inputs, &cfg.aggregates)),
        ("snapshot", snapshot("bias_audit")),
        ("calibration_expected", sql("reviewer_calibration", &inputs, &cfg.aggregates)),
        ("calibration_snapshot", snapshot("reviewer_calibration")),
        (
            "log_minus_snapshot",
            format!(
                "(select * exclude (time, diff) from read_parquet('{}') group by all having sum(diff) > 0) except all ({})",
                layout.changelog_glob("bias_audit"),
                snapshot("bias_audit")
            ),
        ),
    ]);
    assert!(duck["snapshot"].len() > 20);
    // Compare the two DuckDB results with each other, column by column.
    let key = |v: &Value| {
        format!(
            "{}|{}|{}|{}",
            v["scope_kind"], v["scope"], v["dimension"], v["category"]
        )
    };
    let expected: BTreeMap<String, &Value> = duck["expected"].iter().map(|v| (key(v), v)).collect();
    let snap: BTreeMap<String, &Value> = duck["snapshot"].iter().map(|v| (key(v), v)).collect();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        snap.keys().collect::<Vec<_>>()
    );
    for (k, e) in &expected {
        for c in BiasRow::columns() {
            let (a, b) = (&e[c.name], &snap[k][c.name]);
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= TOLERANCE,
                _ => a == b,
            };
            assert!(same, "{k} {}: SQL {a}, snapshot {b}", c.name);
        }
    }
    assert_eq!(
        duck["calibration_expected"].len(),
        duck["calibration_snapshot"].len()
    );
    assert!(
        duck["log_minus_snapshot"].is_empty(),
        "{:?}",
        duck["log_minus_snapshot"]
    );

    // The audit, through the binary.
    let html = dir.path().join("audit.html");
    let out = crate::support::succeeded(
        std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args([
                "audit",
                &cfg.output.dir.display().to_string(),
                "--html",
                &html.display().to_string(),
            ])
            .output()
            .unwrap(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("overall overall · sex"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("female") && l.contains("FLAG selection")),
        "{text}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.matches("<svg").count() >= 4,
        "impact, leniency and PSI plots"
    );
    assert!(page.contains("0.8"));
    broker.stop().unwrap();
}
