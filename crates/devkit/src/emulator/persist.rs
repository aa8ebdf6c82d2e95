//! Loading the state at start (`state.json`, then the seed files
//! `opportunities.json` and `<kind>.json`), and writing it back atomically
//! after every change.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use axum::http::StatusCode;
use panelflow_connectors::lever::ratelimit::TokenBucket;
use serde_json::Value;

use super::config::{io_err, EmulatorConfig, EmulatorError};
use super::records::{normalize_opportunity, opp_id, resource_id};
use super::reply::Reply;
use super::state::{lock, EmulatorStats, Shared, Store, RESOURCE_KINDS};

impl Shared {
    pub(super) fn open(cfg: EmulatorConfig) -> Result<Self, EmulatorError> {
        if cfg.api_key.is_empty() {
            return Err(EmulatorError::EmptyApiKey);
        }
        let dir = &cfg.data_dir;
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let state_path = dir.join("state.json");
        let requests_path = dir.join("requests.jsonl");
        let seeds_path = dir.join("opportunities.json");

        let mut store = if state_path.exists() {
            let text = std::fs::read(&state_path)
                .map_err(io_err(format!("reading {}", state_path.display())))?;
            serde_json::from_slice::<Store>(&text).map_err(|e| EmulatorError::Data {
                path: state_path.clone(),
                reason: e.to_string(),
            })?
        } else {
            Store::default()
        };
        let mut seeded = 0usize;
        if seeds_path.exists() {
            let text = std::fs::read(&seeds_path)
                .map_err(io_err(format!("reading {}", seeds_path.display())))?;
            let seeds: Value = serde_json::from_slice(&text).map_err(|e| EmulatorError::Data {
                path: seeds_path.clone(),
                reason: e.to_string(),
            })?;
            let Value::Array(seeds) = seeds else {
                return Err(EmulatorError::Data {
                    path: seeds_path,
                    reason: "expected a JSON array of opportunity objects".into(),
                });
            };
            for seed in seeds {
                let opp = normalize_opportunity(seed).map_err(|reason| EmulatorError::Data {
                    path: seeds_path.clone(),
                    reason,
                })?;
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    store.opportunities.entry(opp_id(&opp))
                {
                    slot.insert(opp);
                    seeded += 1;
                }
            }
        }
        for kind in RESOURCE_KINDS {
            let path = dir.join(format!("{kind}.json"));
            if !path.exists() {
                continue;
            }
            let text =
                std::fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
            let items: Value = serde_json::from_slice(&text).map_err(|e| EmulatorError::Data {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let Value::Array(items) = items else {
                return Err(EmulatorError::Data {
                    path,
                    reason: format!("expected a JSON array of {kind}"),
                });
            };
            for item in items {
                let id = resource_id(&item).map_err(|reason| EmulatorError::Data {
                    path: path.clone(),
                    reason,
                })?;
                let held = store
                    .resources
                    .get(kind)
                    .is_some_and(|m| m.contains_key(&id));
                if !held && store.put_resource(kind, id, item) {
                    seeded += 1;
                }
            }
        }
        if seeded > 0 || !state_path.exists() {
            persist(&state_path, &store)?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&requests_path)
            .map_err(io_err(format!("opening {}", requests_path.display())))?;
        tracing::info!(
            dir = %dir.display(),
            opportunities = store.opportunities.len(),
            seeded,
            "lever emulator state loaded"
        );
        Ok(Self {
            api_key: cfg.api_key,
            state_path,
            requests_path,
            limiter: TokenBucket::new(cfg.rate_per_s, cfg.burst),
            store: Mutex::new(store),
            fault: Mutex::new(None),
            lost_replies: Mutex::new(0.0),
            stats: Mutex::new(EmulatorStats::default()),
            log: Mutex::new(log),
            paths: Mutex::new(BTreeMap::new()),
            oauth: Mutex::new(None),
        })
    }

    /// Applies `f` to a copy of the state, persists the copy, then swaps it
    /// in: the state on disk and in memory never diverge.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, Reply>,
    ) -> Result<T, Reply> {
        let mut guard = lock(&self.store);
        let mut next = guard.clone();
        let out = f(&mut next)?;
        persist(&self.state_path, &next).map_err(|e| {
            tracing::error!(error = %e, "lever emulator: persisting state failed");
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "could not persist state",
            )
        })?;
        *guard = next;
        Ok(out)
    }
}

/// Writes the state to a temporary file in the same folder, syncs it, and
/// renames it over `state.json`.
fn persist(path: &Path, store: &Store) -> Result<(), EmulatorError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let bytes = serde_json::to_vec_pretty(store).map_err(|e| EmulatorError::Data {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(format!(
        "creating a temporary file in {}",
        dir.display()
    )))?;
    tmp.write_all(&bytes)
        .map_err(io_err(format!("writing {}", tmp.path().display())))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err(format!("syncing {}", tmp.path().display())))?;
    tmp.persist(path).map_err(|e| EmulatorError::Io {
        context: format!("renaming onto {}", path.display()),
        source: e.error,
    })?;
    Ok(())
}
