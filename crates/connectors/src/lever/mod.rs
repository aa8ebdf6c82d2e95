//! Lever: the API client (token bucket, back-off, paging, Basic or OAuth
//! auth), the context reads, the write-back of a plan, and `[lever]`.
//!
//! - [`client`]: `api.lever.co/v1` requests, retried on 429/5xx;
//! - [`context`]: what the context stage reads about an interview (the
//!   Lever objects, cached; its media, refreshed when expired; `[context]`);
//! - [`ratelimit`]: the process-wide token bucket (10 req/s, bursts of 20);
//! - [`oauth`]: the refresh-token grant;
//! - [`writeback`]: a [`WritePlan`](panelflow_core::writeback::WritePlan)
//!   written at most once.

pub mod client;
pub mod context;
pub mod oauth;
pub mod ratelimit;
pub mod writeback;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[lever]`: the Lever API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverSection {
    /// API base, e.g. `https://api.lever.co/v1`; `PANELFLOW_LEVER_URL` overrides.
    pub base_url: String,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Lever user the notes are written as (`perform_as`), if any.
    pub perform_as: Option<String>,
    /// Write notes at all (off = Parquet only).
    pub write_notes: bool,
    /// Attempts for a request answered 429/5xx before giving up.
    pub max_attempts: u32,
    /// Stages (ids, or names when the webhook carries them) whose
    /// `candidateStageChange` triggers analysis; empty = every stage change.
    /// Lever's webhook names the stage by id (`GET /stages` lists them).
    pub trigger_stages: Vec<String>,
    /// Requests per second allowed to the API key (Lever: 10). The
    /// `panelflow run` processes of one consumer group split it: each holds
    /// its share of the group's partitions. Other commands (`serve`,
    /// `brief`, `poll-lever`, `backfill`) take it whole, so while they run
    /// beside the runners on the same key, give them or the runners less.
    pub rate_per_s: f64,
    /// Burst allowed to the API key (Lever: 20), split like `rate_per_s`.
    pub burst: f64,
    /// OAuth 2.0 (refresh-token grant) instead of the API key, when present.
    pub oauth: Option<LeverOAuthSection>,
}

impl Default for LeverSection {
    fn default() -> Self {
        Self {
            base_url: "https://api.lever.co/v1".into(),
            api_key_env: "PANELFLOW_LEVER_API_KEY".into(),
            perform_as: None,
            write_notes: true,
            max_attempts: 6,
            trigger_stages: Vec::new(),
            rate_per_s: ratelimit::LEVER_RATE_PER_S,
            burst: ratelimit::LEVER_BURST,
            oauth: None,
        }
    }
}

/// `[lever.oauth]`: the refresh-token grant. Secrets come from the
/// environment, never from the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverOAuthSection {
    /// The token endpoint (Lever: `https://auth.lever.co/oauth/token`).
    pub token_url: String,
    /// Environment variable holding the client id.
    pub client_id_env: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: String,
    /// Environment variable holding the refresh token.
    pub refresh_token_env: String,
    /// Where a rotated refresh token is kept across restarts.
    pub refresh_token_file: Option<PathBuf>,
    /// The `audience` parameter, when the app needs one.
    pub audience: Option<String>,
}

impl Default for LeverOAuthSection {
    fn default() -> Self {
        Self {
            token_url: oauth::LEVER_TOKEN_URL.into(),
            client_id_env: "PANELFLOW_LEVER_CLIENT_ID".into(),
            client_secret_env: "PANELFLOW_LEVER_CLIENT_SECRET".into(),
            refresh_token_env: "PANELFLOW_LEVER_REFRESH_TOKEN".into(),
            refresh_token_file: None,
            audience: None,
        }
    }
}

/// Why a Lever client could not be built from `[lever]`.
#[derive(Debug, thiserror::Error)]
pub enum LeverSetupError {
    /// A variable `[lever.oauth]` names is not set.
    #[error("[lever.oauth] needs ${0}")]
    MissingOAuthVariable(String),
    /// The OAuth session could not be set up.
    #[error("Lever OAuth")]
    OAuth(#[source] oauth::OAuthError),
    /// The client could not be built.
    #[error("Lever client for {url}")]
    Client {
        /// `[lever] base_url`.
        url: String,
        /// Why.
        #[source]
        source: Box<client::LeverError>,
    },
    /// Notes are on, but no API key is set.
    #[error("Lever notes are on but ${0} is not set (set it, or write_notes = false in [lever])")]
    MissingApiKey(String),
}

impl LeverSection {
    /// The Lever client `[lever]` describes — OAuth 2.0 when `[lever.oauth]`
    /// is present, else Basic auth with the API key — or `None` when notes
    /// are off and no credentials are set. Clones of the client share its
    /// token bucket and OAuth session: build it once per process.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use panelflow_connectors::lever::{ratelimit::TokenBucket, LeverSection};
    /// let section = LeverSection { write_notes: false, api_key_env: "PANELFLOW_DOC_NO_KEY".into(), ..Default::default() };
    /// assert!(section.client(Arc::new(TokenBucket::lever_default())).unwrap().is_none());
    /// ```
    pub fn client(
        &self,
        limiter: std::sync::Arc<ratelimit::TokenBucket>,
    ) -> Result<Option<client::LeverClient>, LeverSetupError> {
        use client::{ClientOptions, LeverAuth, LeverClient};
        let opts = ClientOptions {
            max_attempts: self.max_attempts,
            limiter,
            ..ClientOptions::default()
        };
        let build = |auth| {
            LeverClient::new(&self.base_url, auth, opts.clone()).map_err(|source| {
                LeverSetupError::Client {
                    url: self.base_url.clone(),
                    source: Box::new(source),
                }
            })
        };
        if let Some(oauth) = &self.oauth {
            let env = |name: &str| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| LeverSetupError::MissingOAuthVariable(name.to_string()))
            };
            let refresh_token = match env(&oauth.refresh_token_env) {
                Ok(t) => t,
                // A token saved by an earlier run is enough.
                Err(e)
                    if oauth
                        .refresh_token_file
                        .as_ref()
                        .is_some_and(|f| f.is_file()) =>
                {
                    tracing::debug!(error = %e, "using the saved refresh token");
                    String::new()
                }
                Err(e) => return Err(e),
            };
            let session = oauth::OAuthSession::new(oauth::OAuthConfig {
                token_url: oauth.token_url.clone(),
                client_id: env(&oauth.client_id_env)?,
                client_secret: env(&oauth.client_secret_env)?,
                refresh_token,
                audience: oauth.audience.clone(),
                refresh_token_file: oauth.refresh_token_file.clone(),
                timeout: std::time::Duration::from_secs(30),
            })
            .map_err(LeverSetupError::OAuth)?;
            return build(LeverAuth::OAuth(std::sync::Arc::new(session))).map(Some);
        }
        let key = std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        match key {
            Some(key) => build(LeverAuth::ApiKey(key)).map(Some),
            None if self.write_notes => {
                Err(LeverSetupError::MissingApiKey(self.api_key_env.clone()))
            }
            None => Ok(None),
        }
    }
}
