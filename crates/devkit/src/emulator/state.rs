//! The shared state every handler works on: the store of Lever records
//! (persisted as `state.json`), the counters, the armed faults and the
//! OAuth client, behind their locks. It imports no sibling file.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use panelflow_connectors::lever::ratelimit::TokenBucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Counts since the emulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorStats {
    /// `/v1` requests that passed auth, rate limit and fault injection.
    pub accepted: u64,
    /// Refused with 401.
    pub unauthorized: u64,
    /// Refused with 429 by the rate limiter.
    pub rate_limited: u64,
    /// Failed on purpose by an injected fault.
    pub faulted: u64,
    /// Notes stored whose reply was then dropped on purpose (a lost reply).
    #[serde(default)]
    pub lost_replies: u64,
}

/// The persisted state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Store {
    pub(super) opportunities: BTreeMap<String, Value>,
    pub(super) notes: BTreeMap<String, Vec<Value>>,
    pub(super) feedback: BTreeMap<String, Vec<Value>>,
    /// Other read-only resources by kind (`postings`, `contacts`, ...) and id.
    #[serde(default)]
    pub(super) resources: BTreeMap<String, BTreeMap<String, Value>>,
    /// Ids per resource kind in the order they were added: listings follow
    /// it (Lever lists stages in pipeline order).
    #[serde(default)]
    pub(super) order: BTreeMap<String, Vec<String>>,
}

impl Store {
    /// Stores a resource; a new id goes to the end of its kind's order.
    pub(super) fn put_resource(&mut self, kind: &str, id: String, item: Value) -> bool {
        let stored = self.resources.entry(kind.to_string()).or_default();
        let new = stored.insert(id.clone(), item).is_none();
        if new {
            self.order.entry(kind.to_string()).or_default().push(id);
        }
        new
    }

    /// A kind's resources in the order they were added.
    pub(super) fn listed(&self, kind: &str) -> Vec<&Value> {
        let Some(stored) = self.resources.get(kind) else {
            return Vec::new();
        };
        let ordered = self.order.get(kind).map(Vec::as_slice).unwrap_or_default();
        let mut out: Vec<&Value> = ordered.iter().filter_map(|id| stored.get(id)).collect();
        if out.len() < stored.len() {
            // State written before the order was kept: the rest by id.
            let known: std::collections::BTreeSet<&String> = ordered.iter().collect();
            out.extend(
                stored
                    .iter()
                    .filter(|(id, _)| !known.contains(id))
                    .map(|(_, v)| v),
            );
        }
        out
    }
}

/// The kinds of read-only resources the emulator stores besides opportunities.
pub const RESOURCE_KINDS: [&str; 11] = [
    "postings",
    "applications",
    "contacts",
    "requisitions",
    "interviews",
    "files",
    "stages",
    "feedback_templates",
    "eeo_responses",
    "panels",
    "resumes",
];

/// The OAuth client the token endpoint accepts, and the tokens it issued.
#[derive(Debug, Clone)]
pub(super) struct OAuthState {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) refresh_token: String,
    pub(super) access_ttl: Duration,
    pub(super) rotate: bool,
    pub(super) access: BTreeMap<String, std::time::Instant>,
    pub(super) grants: u64,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Fault {
    pub(super) status: StatusCode,
    pub(super) remaining: u32,
    pub(super) retry_after: Option<u64>,
    /// Only writes (POST, PUT, DELETE) fail; reads pass.
    pub(super) writes_only: bool,
}

/// Everything the handlers share.
pub(super) struct Shared {
    pub(super) api_key: String,
    pub(super) state_path: PathBuf,
    pub(super) requests_path: PathBuf,
    pub(super) limiter: TokenBucket,
    pub(super) store: Mutex<Store>,
    pub(super) fault: Mutex<Option<Fault>>,
    /// Percent of note writes whose reply is lost.
    pub(super) lost_replies: Mutex<f64>,
    pub(super) stats: Mutex<EmulatorStats>,
    pub(super) log: Mutex<File>,
    pub(super) paths: Mutex<BTreeMap<String, u64>>,
    pub(super) oauth: Mutex<Option<OAuthState>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent (writes are swapped in whole), so a
    // poisoned lock is taken over rather than propagating a panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
