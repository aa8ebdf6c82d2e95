//! `[kafka]`: the connection, the retry tiers and the pipeline's topic names.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use panelflow_core::topics::{self, Topic};

/// `[kafka]`: the connection and the pipeline's topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// `bootstrap.servers`; `PANELFLOW_BROKERS` overrides.
    pub brokers: String,
    /// Topic of normalized `InterviewCompleted` events.
    pub topic: String,
    /// Topic for events that could not be processed, with the reason.
    pub dead_letter_topic: String,
    /// Topic the analysis publishes its AI scores to, one message per
    /// analysed interview (`schemas/aggregates/score.schema.json`), read by
    /// the aggregates; empty: not published.
    pub scores_topic: String,
    /// Topic of human ratings (`schemas/aggregates/rating.schema.json`):
    /// the platforms' rating webhooks and the Lever poller's scorecards.
    pub ratings_topic: String,
    /// Topic of decisions (stage advances, archives) from the Lever poller.
    pub decisions_topic: String,
    /// Topic of self-reported demographics (Lever's EEO answers) from the
    /// Lever poller; only the aggregates read it.
    pub demographics_topic: String,
    /// Consumer group of `panelflow run`.
    pub group_id: String,
    /// Partitions to create when the topic is missing.
    pub partitions: i32,
    /// Delays of the retry topics, seconds: an interview whose failure is
    /// transient (Lever 429/5xx or time-out, a media host time-out, the
    /// broker) waits on `TOPIC.retry.<delay>` (`1m`, `10m`, `1h` by default)
    /// for each in turn, then fails for good (a `failed` row and a dead
    /// letter naming the last failure).
    pub retry_delays_s: Vec<u64>,
    /// Messages one worker may have read and not yet committed; past this
    /// its partitions are paused until commits bring it below (a partition
    /// that has not yet delivered a message is paused after its first
    /// prefetch, never while it is starting: see the consumer's module).
    pub max_in_flight_events: u64,
    /// Bytes (keys and payloads) one worker may have read and not yet committed.
    pub max_in_flight_bytes: u64,
    /// The largest message the broker takes (`message.max.bytes`); dead
    /// letters are cut to fit under it.
    pub max_message_bytes: usize,
    /// Events larger than this are refused at the source with a dead letter
    /// (ingest's body limit sits below it).
    pub max_event_bytes: usize,
    /// Prefix of the consumers' `group.instance.id` (static membership):
    /// stable for one `run` process across restarts, distinct between
    /// processes. Empty: `PANELFLOW_INSTANCE_ID`, else the host name.
    pub instance_id: Option<String>,
    /// Extra librdkafka properties (SASL, TLS, ...), passed through as is.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".into(),
            topic: topics::INTERVIEWS.into(),
            dead_letter_topic: topics::DEAD_LETTER.into(),
            scores_topic: Topic::Scores.default_name().into(),
            ratings_topic: Topic::Ratings.default_name().into(),
            decisions_topic: Topic::Decisions.default_name().into(),
            demographics_topic: Topic::Demographics.default_name().into(),
            group_id: "panelflow".into(),
            partitions: 4,
            retry_delays_s: vec![60, 600, 3600],
            max_in_flight_events: 32,
            max_in_flight_bytes: 8 << 20,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_event_bytes: 768 << 10,
            instance_id: None,
            properties: BTreeMap::new(),
        }
    }
}

/// The broker's default largest message (Apache Kafka's `message.max.bytes`
/// is 1 048 588; librdkafka's producer refuses more than 1 000 000).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// A retry tier: its topic and delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTier {
    /// `TOPIC.retry.<label>`.
    pub topic: String,
    /// `1m`, `10m`, `1h`, `30s`.
    pub label: String,
    /// How long a message waits there.
    pub delay: Duration,
}

/// `1m` for 60 s, `10m`, `1h`, `90s`.
///
/// ```
/// use panelflow_connectors::kafka::delay_label;
/// assert_eq!(delay_label(60), "1m");
/// assert_eq!(delay_label(3600), "1h");
/// assert_eq!(delay_label(45), "45s");
/// ```
pub fn delay_label(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

impl KafkaSection {
    /// The retry tiers, in order.
    pub fn retry_tiers(&self) -> Vec<RetryTier> {
        self.retry_delays_s
            .iter()
            .map(|s| {
                let label = delay_label(*s);
                RetryTier {
                    topic: format!("{}.retry.{label}", self.topic),
                    label,
                    delay: Duration::from_secs(*s),
                }
            })
            .collect()
    }

    /// The topics `panelflow run` reads: the event topic and its retry topics.
    pub fn input_topics(&self) -> Vec<String> {
        let mut t = vec![self.topic.clone()];
        t.extend(self.retry_tiers().into_iter().map(|r| r.topic));
        t
    }
}

/// `[topics]` of `panelflow aggregate`: the names of the aggregates' topics.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicNames {
    /// AI scores.
    pub scores: String,
    /// Human ratings.
    pub ratings: String,
    /// Decisions.
    pub decisions: String,
    /// Demographics.
    pub demographics: String,
    /// Asked questions.
    pub questions: String,
    /// Where invalid messages go.
    pub dead_letter: String,
    /// Partitions of a topic created by `panelflow`.
    pub partitions: i32,
}

impl Default for TopicNames {
    fn default() -> Self {
        Self {
            scores: Topic::Scores.default_name().into(),
            ratings: Topic::Ratings.default_name().into(),
            decisions: Topic::Decisions.default_name().into(),
            demographics: Topic::Demographics.default_name().into(),
            questions: Topic::Questions.default_name().into(),
            dead_letter: topics::AGGREGATES_DEAD_LETTER.into(),
            partitions: 4,
        }
    }
}

impl TopicNames {
    /// The name of a topic.
    pub fn name(&self, t: Topic) -> &str {
        match t {
            Topic::Scores => &self.scores,
            Topic::Ratings => &self.ratings,
            Topic::Decisions => &self.decisions,
            Topic::Demographics => &self.demographics,
            Topic::Questions => &self.questions,
        }
    }
}
