//! The interview platforms' APIs (`[context.providers.<source>]`): the
//! interview of an event's `source_ref`, with fresh media URLs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use panelflow_core::event::{InterviewCompleted, MediaItem};

use super::ProviderApiSection;

/// Time-out of a platform API call.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// A platform API, ready to call.
struct ProviderApi {
    section: ProviderApiSection,
    key: Option<String>,
}

/// The platforms' APIs of a process, by source, with their keys read from
/// the environment once.
pub(crate) struct Providers {
    apis: HashMap<String, ProviderApi>,
    http: Option<reqwest::blocking::Client>,
}

impl Providers {
    /// The APIs `sections` name (those with a URL); their keys are read now.
    pub(crate) fn new(sections: &std::collections::BTreeMap<String, ProviderApiSection>) -> Self {
        let apis: HashMap<String, ProviderApi> = sections
            .iter()
            .filter(|(_, p)| !p.url.trim().is_empty())
            .map(|(name, p)| {
                let key = (!p.api_key_env.is_empty())
                    .then(|| std::env::var(&p.api_key_env).ok())
                    .flatten()
                    .filter(|k| !k.is_empty());
                if key.is_none() && !p.api_key_env.is_empty() {
                    tracing::warn!(source = %name, env = %p.api_key_env, "no API key for the platform's API");
                }
                (name.clone(), ProviderApi { section: p.clone(), key })
            })
            .collect();
        let http = if apis.is_empty() {
            None
        } else {
            reqwest::blocking::Client::builder()
                .timeout(PROVIDER_TIMEOUT)
                .user_agent(concat!("panelflow/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the platform API client"))
                .ok()
        };
        Self { apis, http }
    }

    /// Whether `source` has an API configured.
    pub(crate) fn has(&self, source: &str) -> bool {
        self.apis.contains_key(source)
    }

    /// The sources with an API.
    pub(crate) fn names(&self) -> Vec<&String> {
        self.apis.keys().collect()
    }

    /// The media of the event's interview as the platform's API returns it;
    /// `calls` counts the requests sent.
    pub(crate) fn media(
        &self,
        event: &InterviewCompleted,
        calls: &AtomicU64,
    ) -> Result<Vec<MediaItem>, String> {
        let api = self
            .apis
            .get(&event.source)
            .ok_or_else(|| format!("no API configured for `{}`", event.source))?;
        let reference = event
            .source_ref
            .as_deref()
            .ok_or_else(|| "the event carries no `source_ref`".to_string())?;
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        calls.fetch_add(1, Ordering::Relaxed);
        let object = call_provider(http, api, reference)?;
        let media = panelflow_core::webhook::refresh::media_from_api(&event.source, &object)
            .ok_or_else(|| format!("no reader for `{}` API answers", event.source))?
            .map_err(|e| e.to_string())?;
        tracing::info!(source = %event.source, media = media.len(), "media read from the platform's API");
        Ok(media)
    }
}

/// Calls a platform's API for one interview and returns the object at its
/// pointer.
fn call_provider(
    http: &reqwest::blocking::Client,
    api: &ProviderApi,
    reference: &str,
) -> Result<Value, String> {
    let s = &api.section;
    let encoded: String = url::form_urlencoded::byte_serialize(reference.as_bytes()).collect();
    let url = s.url.replace("{ref}", &encoded);
    let method = s.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let mut req = match method.as_str() {
        "GET" => http.get(&url),
        "POST" => {
            let escaped = serde_json::to_string(reference).map_err(|e| e.to_string())?;
            let inner = escaped.trim_matches('"');
            let body = s.body.as_deref().unwrap_or("{}").replace("{ref}", inner);
            http.post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
        }
        other => return Err(format!("unsupported method {other}")),
    };
    req = req.header(reqwest::header::ACCEPT, "application/json");
    if let Some(key) = &api.key {
        req = match s.auth.as_str() {
            "basic" => req.basic_auth(key, Some("")),
            "bearer" => req.bearer_auth(key),
            "x-api-key" => req.header("X-API-KEY", key),
            _ => req.header(reqwest::header::AUTHORIZATION, key),
        };
    }
    // reqwest's message names the URL: its query may hold a key or the
    // candidate's reference.
    let resp = req
        .send()
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body: Value = resp
        .json()
        .map_err(|e| format!("answer is not JSON: {}", e.without_url()))?;
    match s.pointer.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => body
            .pointer(p)
            .cloned()
            .ok_or_else(|| format!("no `{p}` in the answer")),
        None => Ok(body),
    }
}
