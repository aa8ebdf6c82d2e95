//! Topic creation: the one place topics are created, for the pipeline
//! ([`ensure_topics`]) and for the aggregator ([`ensure_aggregate_topics`]).
//!
//! Topics that exist are left as they are. A topic the aggregates rebuild
//! from is created without retention ([`AGGREGATE_INPUT_RETENTION`]), and
//! one that exists with a retention is warned about. The replication factor
//! is `min(3, brokers in the cluster)`.

use std::sync::Arc;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::client::{admin_config, ADMIN_TIMEOUT};
use super::config::{KafkaSection, TopicNames};
use super::error::KafkaIoError;
use panelflow_core::topics::Topic;

/// The retention the aggregates' input topics are created with: none
/// (`retention.ms = -1`). `panelflow aggregate` rebuilds every aggregate
/// from these topics when it starts, so a record that expired would
/// silently leave the audits; an erased candidate's records are cancelled
/// there by the retractions `panelflow erase` publishes.
pub const AGGREGATE_INPUT_RETENTION: (&str, &str) = ("retention.ms", "-1");

/// One topic to have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    name: String,
    partitions: i32,
    /// An input the aggregates rebuild from: kept forever.
    kept: bool,
    /// Warn when it exists with fewer partitions than `partitions`.
    check_partitions: bool,
}

/// Creates the pipeline's topics when missing: the event topic (with
/// `partitions` partitions, warned about when it has fewer), the dead-letter
/// topic, the retry topics, and the aggregates' input topics the section names (scores,
/// ratings, decisions, demographics; an empty name is skipped).
pub async fn ensure_topics(kafka: &KafkaSection) -> Result<(), KafkaIoError> {
    let partitions = kafka.partitions.max(1);
    let mut wanted = vec![
        Wanted {
            name: kafka.topic.clone(),
            partitions,
            kept: false,
            check_partitions: true,
        },
        Wanted {
            name: kafka.dead_letter_topic.clone(),
            partitions,
            kept: false,
            check_partitions: false,
        },
    ];
    for tier in kafka.retry_tiers() {
        wanted.push(Wanted {
            name: tier.topic,
            partitions,
            kept: false,
            check_partitions: false,
        });
    }
    for input in [
        &kafka.scores_topic,
        &kafka.ratings_topic,
        &kafka.decisions_topic,
        &kafka.demographics_topic,
    ] {
        if !input.is_empty() {
            wanted.push(Wanted {
                name: input.clone(),
                partitions,
                kept: true,
                check_partitions: false,
            });
        }
    }
    create_missing(kafka, &wanted).await
}

/// Creates the aggregator's topics when missing: every input topic named by
/// `topics` and its dead-letter topic, with `topics.partitions` partitions.
pub async fn ensure_aggregate_topics(
    kafka: &KafkaSection,
    topics: &TopicNames,
) -> Result<(), KafkaIoError> {
    let partitions = topics.partitions.max(1);
    let mut wanted: Vec<Wanted> = Topic::ALL
        .iter()
        .map(|t| Wanted {
            name: topics.name(*t).to_string(),
            partitions,
            kept: true,
            check_partitions: false,
        })
        .collect();
    wanted.push(Wanted {
        name: topics.dead_letter.clone(),
        partitions,
        kept: false,
        check_partitions: false,
    });
    create_missing(kafka, &wanted).await
}

async fn create_missing(kafka: &KafkaSection, wanted: &[Wanted]) -> Result<(), KafkaIoError> {
    let brokers = || kafka.brokers.clone();
    let admin: AdminClient<DefaultClientContext> =
        admin_config(kafka)
            .create()
            .map_err(|source| KafkaIoError::Client {
                brokers: brokers(),
                source,
            })?;
    let admin = Arc::new(admin);

    // Metadata is a blocking call in librdkafka; keep it off the runtime's threads.
    let probe = admin.clone();
    let (broker_count, existing) = tokio::task::spawn_blocking(move || {
        probe.inner().fetch_metadata(None, ADMIN_TIMEOUT).map(|md| {
            let topics: Vec<(String, usize)> = md
                .topics()
                .iter()
                .map(|t| (t.name().to_string(), t.partitions().len()))
                .collect();
            (md.brokers().len(), topics)
        })
    })
    .await
    .map_err(|e| KafkaIoError::Join(e.to_string()))?
    .map_err(|source| KafkaIoError::Metadata {
        brokers: brokers(),
        source,
    })?;

    let replication = i32::try_from(broker_count.clamp(1, 3)).unwrap_or(1);
    let mut missing = Vec::new();
    let mut kept_present = Vec::new();
    for w in wanted {
        match existing.iter().find(|(t, n)| *t == w.name && *n > 0) {
            Some((_, n)) => {
                if w.check_partitions && (*n as i64) < i64::from(w.partitions) {
                    tracing::warn!(
                        topic = %w.name,
                        have = n,
                        configured = w.partitions,
                        "topic has fewer partitions than configured; leaving it as is"
                    );
                }
                if w.kept {
                    kept_present.push(w.name.clone());
                }
            }
            None => {
                let topic =
                    NewTopic::new(&w.name, w.partitions, TopicReplication::Fixed(replication));
                missing.push(if w.kept {
                    topic.set(AGGREGATE_INPUT_RETENTION.0, AGGREGATE_INPUT_RETENTION.1)
                } else {
                    topic
                });
            }
        }
    }
    warn_on_expiring_inputs(&admin, &kept_present).await;
    if missing.is_empty() {
        return Ok(());
    }
    let opts = AdminOptions::new()
        .operation_timeout(Some(ADMIN_TIMEOUT))
        .request_timeout(Some(ADMIN_TIMEOUT));
    let results = admin
        .create_topics(missing.iter(), &opts)
        .await
        .map_err(|source| KafkaIoError::Admin {
            brokers: brokers(),
            source,
        })?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic = %topic, replication, "created topic"),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %topic, "topic already exists")
            }
            Err((topic, code)) => return Err(KafkaIoError::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// Warns about input topics that existed before and expire their records:
/// the aggregator rebuilds from the topics at every start, so what expired
/// would be missing from the audits after a restart. Best effort: a broker
/// that cannot describe configs is only logged.
async fn warn_on_expiring_inputs(admin: &AdminClient<DefaultClientContext>, inputs: &[String]) {
    use rdkafka::admin::{ConfigResourceResult, ResourceSpecifier};
    if inputs.is_empty() {
        return;
    }
    let present: Vec<ResourceSpecifier<'_>> =
        inputs.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let opts = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
    let described: Vec<ConfigResourceResult> =
        match admin.describe_configs(present.iter(), &opts).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "cannot describe the input topics' configs");
                return;
            }
        };
    for resource in described.into_iter().flatten() {
        let retention = resource
            .get(AGGREGATE_INPUT_RETENTION.0)
            .and_then(|entry| entry.value.clone());
        if let Some(ms) = retention
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|ms| *ms >= 0)
        {
            tracing::warn!(
                topic = ?resource.specifier,
                retention_ms = ms,
                "an aggregates input topic expires records: the aggregates are rebuilt from it at every start, \
                 so records past its retention would be missing after a restart (set retention.ms=-1)"
            );
        }
    }
}
