//! Backfill: selecting stored events, replaying them at the configured
//! rate, through a newer pipeline version on Tansu.

use super::*;

#[test]
fn backfill_selects_stored_events_and_replays_them_at_the_configured_rate() {
    let d = Deployment::new();
    populate(&d);
    let sink = ParquetSink::open_for(&d.cfg.sinks.parquet_dir, &d.cfg.governance).expect("sink");
    // A newer version already did Bob's interview.
    let done = interview("iv-bob-1", BOB, "pilot@2", "2024-05-04T10:00:00Z");
    sink.write_batch(&[done], &[]).expect("v2 row");
    let since = at("2024-05-01T10:30:00Z");
    let sel = backfill::select_from(&sink, since, &["post-eng".into()], "pilot@2").expect("select");
    let ids: Vec<&str> = sel
        .replays
        .iter()
        .map(|r| r.interview_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["iv-alice-2"],
        "received since the date, not yet done by pilot@2"
    );
    assert_eq!(sel.already_done, 1);
    let ev = &sel.replays[0].event;
    assert_eq!(ev["unknown_fields"]["backfill"], true);
    assert_eq!(
        ev["media"][0]["url"], "https://media.example/iv-alice-2.mp4",
        "the original event, decrypted"
    );
    // Every interview since the start, at 300 per minute (one per 200 ms).
    let sel =
        backfill::select_from(&sink, at("2024-01-01T00:00:00Z"), &[], "pilot@3").expect("select");
    assert_eq!(sel.replays.len(), 3);
    let start = std::time::Instant::now();
    let mut times = Vec::new();
    let n = backfill::replay(&sel.replays, 300.0, 1, |_| {
        times.push(start.elapsed());
        Ok(())
    })
    .expect("replay");
    assert_eq!(n, 3);
    assert!(
        times[2] - times[0] >= Duration::from_millis(380),
        "{times:?}"
    );

    // Rediscovery: Bob's stored skills match a posting asking for Kubernetes.
    let found =
        backfill::rediscover(&sink, &["kubernetes".into(), "rust".into()], 1).expect("rediscover");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].opportunity_id, "opp-iv-bob-1");
    assert_eq!(found[0].matched, ["kubernetes"]);
}

/// Every message of a topic with its backfill header and timestamp (ms).
fn topic_messages(brokers: &str, topic: &str) -> Vec<(Value, Option<String>, i64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("governance-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for p in meta.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .expect("watermarks");
        expected += high - low;
        list.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&list).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (out.len() as i64) < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let header = m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == backfill::BACKFILL_HEADER)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
            let payload =
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null);
            out.push((payload, header, m.timestamp().to_millis().unwrap_or(0)));
        }
    }
    out
}

/// The whole way on the real stack: pipeline v1 on Tansu writes rows (with
/// their events), `panelflow backfill --config v2.toml` republishes them at
/// the configured rate, marked, and pipeline v2 (same consumer group, so it
/// sees only the replays) writes its rows beside v1's.
#[test]
fn backfill_replays_through_a_newer_version_on_tansu() {
    use std::sync::atomic::Ordering::Relaxed;
    const LONG: Duration = Duration::from_secs(600);
    let stack = support::Stack::start();
    let ids = ["sales-02", "swe-02"];
    for id in ids {
        assert_eq!(stack.post_interview(&support::interview(id)), 202);
    }
    let run = stack.run(&stack.cfg, 1);
    run.wait(LONG, |s| {
        s.transcribed.load(Relaxed) + s.failed.load(Relaxed) >= 2
    });
    run.stop();

    let mut v2 = stack.cfg.clone();
    v2.pipeline.version = "e2e-2".into();
    let dir = tempfile::tempdir().expect("tempdir");
    let newer = dir.path().join("newer.toml");
    std::fs::write(&newer, toml::to_string(&v2).expect("toml")).expect("write config");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args([
            "backfill",
            "--since",
            "2000-01-01",
            "--rate",
            "60",
            "--config",
        ])
        .arg(&newer)
        .output()
        .expect("panelflow backfill");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 interviews to replay"), "{stdout}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "60 per minute: the second waits a second"
    );

    let msgs = topic_messages(&stack.cfg.kafka.brokers, &stack.cfg.kafka.topic);
    let replays: Vec<&(Value, Option<String>, i64)> = msgs
        .iter()
        .filter(|(_, h, _)| h.as_deref() == Some("e2e-2"))
        .collect();
    assert_eq!(replays.len(), 2, "{msgs:?}");
    for (ev, _, _) in &replays {
        assert_eq!(ev["unknown_fields"]["backfill"], true);
        assert_eq!(ev["unknown_fields"]["backfill_from"], "e2e-1");
    }
    assert!(
        (replays[1].2 - replays[0].2).abs() >= 900,
        "rate limit: {:?}",
        (replays[0].2, replays[1].2)
    );

    let run = stack.run(&v2, 1);
    run.wait(LONG, |s| {
        s.transcribed.load(Relaxed) + s.failed.load(Relaxed) >= 2
    });
    run.stop();
    let rows = ParquetSink::open_for(&v2.sinks.parquet_dir, &v2.governance)
        .expect("sink")
        .read_interviews()
        .expect("rows");
    for id in ids {
        let mut versions: Vec<&str> = rows
            .iter()
            .filter(|r| r.interview_id == id)
            .map(|r| r.pipeline_version.as_str())
            .collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            ["e2e-1", "e2e-2"],
            "{id}: new rows beside the old"
        );
    }
    let v2_row = rows
        .iter()
        .find(|r| r.pipeline_version == "e2e-2")
        .expect("v2 row");
    assert_eq!(v2_row.outcome, "transcribed");
    assert!(v2_row
        .transcript
        .as_deref()
        .is_some_and(|t| !t.is_empty() && !t.starts_with("pfenc:")));

    // explain: the real pipeline's story of one interview, both versions.
    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "swe-02", "--config"])
        .arg(&newer)
        .output()
        .expect("panelflow explain");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for s in [
        " context ",
        " media ",
        " speech ",
        " analysis ",
        "e2e-1",
        "e2e-2",
        "moonshine",
    ] {
        assert!(text.contains(s), "`{s}` missing from:\n{text}");
    }
    assert!(
        !text.contains("Kubernetes"),
        "no transcript text in explain:\n{text}"
    );

    // Erasure on the same stack: the candidate's aggregates inputs become
    // retractions published to Tansu; their rows of both versions go.
    let cand = rows
        .iter()
        .find(|r| r.interview_id == "sales-02")
        .expect("sales-02")
        .candidate_id
        .clone();
    let agg_dir = dir.path().join("aggregates");
    let mut logs = InputLogs::new(&Layout::new(&agg_dir), 0, false);
    let decision: panelflow_core::wire::DecisionMessage = serde_json::from_value(
        json!({"candidate_id": cand, "posting_id": "post-sales", "decision": "advance",
                                      "source": "lever", "decided_at": "2024-05-02T12:00:00Z"}),
    )
    .expect("decision");
    logs.apply(
        1,
        vec![(
            InputRecord::Decision(decision.validate().expect("valid").0),
            1,
        )],
    );
    logs.flush().expect("flush");
    let topics = panelflow_connectors::kafka::TopicNames::default();
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(panelflow_connectors::kafka::ensure_aggregate_topics(
            &v2.kafka, &topics,
        ))
        .expect("aggregates topics");
    let mut targets = EraseTargets::from_config(&v2, None);
    targets.aggregates_dir = agg_dir;
    let keys = PiiKeys::load(&v2.governance).expect("keys");
    let publish = |r: &[Retraction]| erase::publish_retractions(&v2.kafka, &topics, r);
    let report = erase::erase(&targets, &keys, &cand, "test", Some(&publish)).expect("erase");
    assert_eq!(report.rows_removed["interviews"], 2, "{report:?}");
    assert_eq!(
        (report.retractions, report.retractions_published),
        (1, 1),
        "{report:?}"
    );
    let sent = topic_messages(&v2.kafka.brokers, &topics.decisions);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0["diff"], -1);
    assert_eq!(sent[0].0["candidate_id"], cand.as_str());
    let left = ParquetSink::open_for(&v2.sinks.parquet_dir, &v2.governance)
        .expect("sink")
        .read_interviews()
        .expect("rows");
    assert!(
        left.iter().all(|r| r.interview_id == "swe-02") && left.len() == 2,
        "{left:?}"
    );
}
