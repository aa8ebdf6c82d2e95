//! The clients' configurations (producer, consumer, admin) and their time-outs.

use std::time::Duration;

use rdkafka::ClientConfig;

use super::config::KafkaSection;

/// How long the producer tries to deliver one message before giving up
/// (so a dead broker is answered with 503 within seconds).
pub const MESSAGE_TIMEOUT_MS: u64 = 5000;

/// Time-out of metadata and admin requests.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

fn base_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &kafka.brokers);
    cfg
}

fn with_properties(mut cfg: ClientConfig, kafka: &KafkaSection) -> ClientConfig {
    for (k, v) in &kafka.properties {
        cfg.set(k, v);
    }
    cfg
}

/// The producer's configuration: idempotent (`enable.idempotence=true`, which
/// implies `acks=all` and bounded in-flight requests), `message.timeout.ms`
/// = [`MESSAGE_TIMEOUT_MS`], then the pass-through `properties`.
pub fn producer_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = base_config(kafka);
    cfg.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", MESSAGE_TIMEOUT_MS.to_string())
        .set("linger.ms", "5")
        // Reconnect within a second once a broker is back (the default backs
        // off to 10 s, longer than a message's whole time-out).
        .set("reconnect.backoff.max.ms", "1000")
        // Tansu does not create topics on demand; never ask it to.
        .set("allow.auto.create.topics", "false");
    with_properties(cfg, kafka)
}

/// The consumer's configuration: the pipeline's group id, no auto commit
/// (offsets are committed after the sinks are durable), earliest offset for
/// a new group, and `roundrobin` assignment, which spreads the topic's
/// partitions evenly over every consumer of the group (timely workers and
/// processes); then the pass-through `properties`.
pub fn consumer_config(kafka: &KafkaSection) -> ClientConfig {
    let mut cfg = base_config(kafka);
    cfg.set("group.id", &kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "roundrobin")
        .set("allow.auto.create.topics", "false");
    with_properties(cfg, kafka)
}

/// The admin client's configuration (bootstrap and pass-through properties).
pub fn admin_config(kafka: &KafkaSection) -> ClientConfig {
    with_properties(base_config(kafka), kafka)
}
