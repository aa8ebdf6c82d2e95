//! The receiver's shared state: config, producer, sources, replay store,
//! counters and the broker probe.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rdkafka::producer::Producer;

use panelflow_connectors::kafka;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::replay::ReplayStore;
use panelflow_core::webhook::WebhookSource;

use super::config::{check_limits, IngestConfig, IngestError};

/// Counters exposed by `/healthz`.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) accepted: AtomicU64,
    pub(super) ignored: AtomicU64,
    pub(super) unauthorized: AtomicU64,
    pub(super) malformed: AtomicU64,
    pub(super) stale: AtomicU64,
    pub(super) replayed: AtomicU64,
    pub(super) duplicate: AtomicU64,
    pub(super) erased: AtomicU64,
    pub(super) unavailable: AtomicU64,
    /// Well-signed events not acted on, per `source/event`.
    pub(super) ignored_events: std::sync::Mutex<BTreeMap<String, u64>>,
}

/// The broker as the last background probe saw it.
#[derive(Debug, Clone, Default)]
pub(super) struct Probe {
    pub(super) reachable: bool,
    pub(super) topic_present: bool,
    pub(super) error: Option<String>,
    pub(super) at: Option<chrono::DateTime<Utc>>,
}

/// The blocking Lever client, made and dropped off the async threads
/// (reqwest's blocking client must not be made or dropped in an async
/// context: it owns a runtime of its own).
pub(super) struct LeverHandle(pub(super) Option<LeverClient>);

impl Drop for LeverHandle {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = std::thread::spawn(move || drop(c));
        }
    }
}

pub(super) struct Inner {
    pub(super) cfg: IngestConfig,
    pub(super) producer: kafka::EventProducer,
    pub(super) sources: BTreeMap<&'static str, Arc<dyn WebhookSource>>,
    pub(super) topics_ready: AtomicBool,
    pub(super) counters: Counters,
    pub(super) replay: ReplayStore,
    pub(super) lever: LeverHandle,
    pub(super) probe: std::sync::Mutex<Probe>,
    pub(super) probing: AtomicBool,
}

/// Shared state of the receiver: config, the Kafka producer and the
/// registered sources. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("brokers", &self.inner.cfg.kafka.brokers)
            .field("topic", &self.inner.cfg.kafka.topic)
            .field("sources", &self.inner.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AppState {
    /// Creates the producer (it connects lazily) and registers the built-in
    /// sources (`lever`, `generic`).
    pub fn new(cfg: impl Into<IngestConfig>) -> Result<Self, IngestError> {
        Self::with_sources(cfg, Vec::new())
    }

    /// Like [`AppState::new`], plus `extra` sources (a source with the name of
    /// a built-in one replaces it).
    pub fn with_sources(
        cfg: impl Into<IngestConfig>,
        extra: Vec<Arc<dyn WebhookSource>>,
    ) -> Result<Self, IngestError> {
        let cfg: IngestConfig = cfg.into();
        check_limits(&cfg)?;
        let producer = kafka::EventProducer::new(&cfg.kafka)?;
        let replay = ReplayStore::open(&cfg.ingest.state_dir)?;
        let lever = if cfg.ingest.verify_lever {
            let section = cfg.lever.clone();
            let made = std::thread::spawn(move || {
                section.client(Arc::new(
                    panelflow_connectors::lever::ratelimit::TokenBucket::new(
                        section.rate_per_s,
                        section.burst,
                    ),
                ))
            })
            .join()
            .unwrap_or_else(|_| Ok(None));
            match made {
                Ok(Some(c)) => Some(c),
                Ok(None) => {
                    tracing::warn!(var = %cfg.lever.api_key_env, "no Lever credentials: Lever webhooks cannot be checked and are answered 503");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Lever client unavailable: Lever webhooks are answered 503");
                    None
                }
            }
        } else {
            None
        };
        let mut sources: BTreeMap<&'static str, Arc<dyn WebhookSource>> = BTreeMap::new();
        for s in [
            Arc::new(panelflow_core::webhook::lever::LeverSource::new(
                &cfg.lever_trigger_stages,
            )) as Arc<dyn WebhookSource>,
            Arc::new(panelflow_core::webhook::generic::GenericSource),
            Arc::new(panelflow_core::webhook::willo::WilloSource),
            Arc::new(panelflow_core::webhook::sparkhire::SparkHireSource),
            Arc::new(panelflow_core::webhook::hirevue::HireVueSource),
            Arc::new(panelflow_core::webhook::hireflix::HireflixSource),
        ]
        .into_iter()
        .chain(extra)
        {
            sources.insert(s.name(), s);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                producer,
                sources,
                topics_ready: AtomicBool::new(false),
                counters: Counters::default(),
                replay,
                lever: LeverHandle(lever),
                probe: std::sync::Mutex::new(Probe::default()),
                probing: AtomicBool::new(false),
            }),
        })
    }

    /// The replay store (shared with `panelflow erase` through the folder).
    pub fn replay_store(&self) -> &ReplayStore {
        &self.inner.replay
    }

    /// Probes the broker every few seconds in the background (once per
    /// state, however often it is called), so `/healthz` never waits on it.
    pub fn start_probing(&self) {
        if self.inner.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                let inner = Arc::clone(&state.inner);
                let topic = inner.cfg.kafka.topic.clone();
                let probed = tokio::task::spawn_blocking(move || {
                    let (_, producer) = inner.producer.current();
                    producer
                        .client()
                        .fetch_metadata(None, Duration::from_secs(2))
                        .map(|md| {
                            md.topics()
                                .iter()
                                .any(|t| t.name() == topic && !t.partitions().is_empty())
                        })
                })
                .await;
                let probe = match probed {
                    Ok(Ok(present)) => Probe {
                        reachable: true,
                        topic_present: present,
                        error: None,
                        at: Some(Utc::now()),
                    },
                    Ok(Err(e)) => Probe {
                        error: Some(e.to_string()),
                        at: Some(Utc::now()),
                        ..Probe::default()
                    },
                    Err(e) => Probe {
                        error: Some(e.to_string()),
                        at: Some(Utc::now()),
                        ..Probe::default()
                    },
                };
                *state.inner.probe.lock().unwrap_or_else(|p| p.into_inner()) = probe;
                if Arc::strong_count(&state.inner) <= 1 {
                    break; // the server is gone
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }

    /// The names of the registered sources.
    pub fn sources(&self) -> Vec<&'static str> {
        self.inner.sources.keys().copied().collect()
    }

    /// The config in effect.
    pub fn config(&self) -> &IngestConfig {
        &self.inner.cfg
    }

    /// Creates the topics if missing; on failure retries every 5 s in the
    /// background until it succeeds (meanwhile webhooks are answered 503).
    pub async fn prepare_topics(&self) {
        match kafka::ensure_topics(&self.inner.cfg.kafka).await {
            Ok(()) => self.inner.topics_ready.store(true, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, "cannot create topics yet; retrying in the background");
                let state = self.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        match kafka::ensure_topics(&state.inner.cfg.kafka).await {
                            Ok(()) => {
                                tracing::info!("topics ready");
                                state.inner.topics_ready.store(true, Ordering::Relaxed);
                                break;
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot create topics yet"),
                        }
                    }
                });
            }
        }
    }
}

/// How often the broker is probed for `/healthz`.
pub(super) const PROBE_EVERY: Duration = Duration::from_secs(3);
