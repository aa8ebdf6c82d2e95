//! The poller: its state loaded and saved, rounds on a timer, records
//! published.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use panelflow_connectors::kafka::EventProducer;
use panelflow_connectors::lever::client::LeverClient;

use super::config::PollConfig;
use super::state::{PollState, Topic};

/// Reads Lever and publishes to the aggregates' topics.
pub struct LeverPoller {
    pub(super) client: LeverClient,
    pub(super) producer: Arc<EventProducer>,
    pub(super) cfg: PollConfig,
    pub(super) state_path: PathBuf,
    pub(super) state: PollState,
    pub(super) stages: Vec<(String, String)>,
}

impl std::fmt::Debug for LeverPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeverPoller")
            .field("state_path", &self.state_path)
            .finish()
    }
}

impl LeverPoller {
    /// A poller with its state loaded (empty on the first run).
    pub fn new(cfg: impl Into<PollConfig>, client: LeverClient) -> anyhow::Result<Self> {
        let cfg: PollConfig = cfg.into();
        let producer = Arc::new(EventProducer::new(&cfg.kafka).context("Kafka producer")?);
        let state_path = cfg.lever_poll.state_file.clone().unwrap_or_else(|| {
            cfg.sinks
                .parquet_dir
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("lever_poll")
                .join("state.json")
        });
        let state = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading the poller state {}", state_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PollState::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", state_path.display())),
        };
        Ok(Self {
            client,
            producer,
            cfg,
            state_path,
            state,
            stages: Vec::new(),
        })
    }

    /// Rounds every `interval_s` until `stop` resolves. A failed round
    /// (Lever or the broker away) is logged and tried again next time; its
    /// cursor does not move, so nothing is skipped.
    pub async fn run(&mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.round().await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "Lever poll round failed; retrying next round"
                );
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_secs(self.cfg.lever_poll.interval_s.max(1))) => {}
            }
        }
    }

    pub(super) async fn publish(&self, topic: Topic, json: &str, diff: i64) -> anyhow::Result<()> {
        let mut value: Value = serde_json::from_str(json).context("a stored record")?;
        value["diff"] = diff.into();
        let name = match topic {
            Topic::Ratings => &self.cfg.kafka.ratings_topic,
            Topic::Decisions => &self.cfg.kafka.decisions_topic,
            Topic::Demographics => &self.cfg.kafka.demographics_topic,
        };
        let key = value
            .get("candidate_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.producer
            .produce_json(name, &key, &value)
            .await
            .with_context(|| format!("publishing to {name}"))?;
        Ok(())
    }

    pub(super) fn save(&self) -> anyhow::Result<()> {
        let dir = self.state_path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = self.state_path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.state)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.state_path)
            .with_context(|| format!("replacing {}", self.state_path.display()))?;
        Ok(())
    }
}
