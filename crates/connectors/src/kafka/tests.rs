//! Unit tests of the Kafka configs and producer (one on librdkafka's mock cluster).

use super::*;
use panelflow_core::event::InterviewCompleted;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureProducer;
use rdkafka::Message;
use std::time::Duration;

#[test]
fn configs_have_the_promised_settings_and_pass_through() {
    let mut k = KafkaSection::default();
    k.properties
        .insert("security.protocol".into(), "SASL_SSL".into());
    k.properties.insert("acks".into(), "all".into());
    let p = producer_config(&k);
    assert_eq!(p.get("enable.idempotence"), Some("true"));
    assert_eq!(p.get("acks"), Some("all"));
    assert_eq!(p.get("message.timeout.ms"), Some("5000"));
    assert_eq!(p.get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(p.get("bootstrap.servers"), Some(k.brokers.as_str()));
    let c = consumer_config(&k);
    assert_eq!(c.get("group.id"), Some("panelflow"));
    assert_eq!(c.get("enable.auto.commit"), Some("false"));
    assert_eq!(c.get("auto.offset.reset"), Some("earliest"));
    assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
}

/// Fast check against librdkafka's mock cluster (the real broker is
/// exercised by `tests/ingest.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_is_keyed_and_acknowledged_on_mock_cluster() {
    let mock = MockCluster::new(1).unwrap();
    let k = KafkaSection {
        brokers: mock.bootstrap_servers(),
        topic: "t.events".into(),
        dead_letter_topic: "t.dead".into(),
        scores_topic: "t.scores".into(),
        ratings_topic: "t.ratings".into(),
        decisions_topic: "t.decisions".into(),
        demographics_topic: "t.demographics".into(),
        partitions: 3,
        ..KafkaSection::default()
    };
    // The mock broker has no CreateTopics API: create them its way, and
    // check that ensure_topics finds them and asks for nothing.
    for t in [
        "events",
        "dead",
        "scores",
        "ratings",
        "decisions",
        "demographics",
    ] {
        mock.create_topic(&format!("t.{t}"), 3, 1).unwrap();
    }
    for tier in k.retry_tiers() {
        mock.create_topic(&tier.topic, 3, 1).unwrap();
    }
    ensure_topics(&k).await.unwrap();

    let producer: FutureProducer = producer_config(&k).create().unwrap();
    let e = InterviewCompleted::new("generic", "int-42", "c", "o", vec![]);
    let (partition, offset) = produce_event(&producer, &k.topic, &e).await.unwrap();
    assert!((0..3).contains(&partition));
    assert!(offset >= 0);

    let consumer: BaseConsumer = consumer_config(&k)
        .set("group.id", "mock-test")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(&k.topic, partition, rdkafka::Offset::Offset(offset))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "message not read back"
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            assert_eq!(m.key(), Some(&b"o"[..]), "keyed by opportunity");
            assert_eq!(
                consumer::header(&m, consumer::INTERVIEW_HEADER).as_deref(),
                Some("int-42")
            );
            let back: InterviewCompleted = serde_json::from_slice(m.payload().unwrap()).unwrap();
            assert_eq!(back, e);
            break;
        }
    }
}
