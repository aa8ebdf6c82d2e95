//! OAuth 2.0 for Lever: the refresh-token grant.
//!
//! Lever's OAuth apps receive a refresh token when a customer authorizes
//! them; access tokens live one hour. [`OAuthSession`] trades the refresh
//! token for an access token at the token endpoint (Lever's is
//! `https://auth.lever.co/oauth/token`; configurable, so tests use the
//! emulator's `/oauth/token`):
//!
//! ```text
//! POST <token_url>   (application/x-www-form-urlencoded)
//! grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…
//! → 200 { access_token, token_type: "Bearer", expires_in, refresh_token?, scope? }
//! ```
//!
//! - One session is shared by every worker of a process (clone the
//!   [`LeverClient`](super::client::LeverClient)): a refresh happens once,
//!   under a lock, however many threads need a token at the same moment.
//! - A token is refreshed [`EXPIRY_MARGIN`] before it expires, and at once
//!   when Lever answers 401 to it ([`OAuthSession::invalidate`]).
//! - When the server rotates the refresh token, the new one replaces the old
//!   (and is written to `refresh_token_file` when one is configured, so a
//!   restart does not present a spent token).
//!
//! Tokens never appear in logs or `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Lever's production token endpoint.
pub const LEVER_TOKEN_URL: &str = "https://auth.lever.co/oauth/token";
/// A token this close to its expiry is refreshed before use.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint states none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// How to obtain access tokens.
#[derive(Clone)]
pub struct OAuthConfig {
    /// The token endpoint.
    pub token_url: String,
    /// The OAuth app's client id.
    pub client_id: String,
    /// The OAuth app's client secret.
    pub client_secret: String,
    /// The refresh token the customer's authorization produced.
    pub refresh_token: String,
    /// Optional `audience` parameter (Lever's sandbox and production differ).
    pub audience: Option<String>,
    /// Where a rotated refresh token is written (and read from at start when
    /// present), so a restart uses the newest one.
    pub refresh_token_file: Option<PathBuf>,
    /// Time-out of one token request.
    pub timeout: Duration,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("refresh_token_file", &self.refresh_token_file)
            .finish()
    }
}

/// Why no access token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The configuration is incomplete.
    #[error("OAuth configuration: {0}")]
    Config(String),
    /// The token endpoint could not be reached.
    #[error("OAuth token endpoint {url}: {source}")]
    Transport {
        /// The token endpoint.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint refused the refresh token or answered badly.
    #[error("OAuth token endpoint {url}: HTTP {status}: {body}")]
    Refused {
        /// The token endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error body (OAuth `error`/`error_description`), truncated.
        body: String,
    },
    /// A 2xx answer without an access token.
    #[error("OAuth token endpoint {url}: unexpected response: {reason}")]
    Decode {
        /// The token endpoint.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

struct Token {
    value: String,
    expires: Instant,
}

struct State {
    access: Option<Token>,
    refresh_token: String,
}

/// Access tokens for one Lever authorization, shared by every thread.
pub struct OAuthSession {
    cfg: OAuthConfig,
    http: reqwest::blocking::Client,
    state: Mutex<State>,
    refreshes: AtomicU64,
}

impl fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSession")
            .field("token_url", &self.cfg.token_url)
            .field("refreshes", &self.refreshes())
            .finish_non_exhaustive()
    }
}

impl OAuthSession {
    /// A session that will refresh on first use. A newer refresh token in
    /// `refresh_token_file` takes precedence over the configured one.
    pub fn new(cfg: OAuthConfig) -> Result<Self, OAuthError> {
        for (name, value) in [
            ("token_url", &cfg.token_url),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
        ] {
            if value.trim().is_empty() {
                return Err(OAuthError::Config(format!("`{name}` is empty")));
            }
        }
        let mut refresh_token = cfg.refresh_token.clone();
        if let Some(path) = &cfg.refresh_token_file {
            if let Ok(saved) = std::fs::read_to_string(path) {
                let saved = saved.trim();
                if !saved.is_empty() {
                    refresh_token = saved.to_string();
                }
            }
        }
        if refresh_token.trim().is_empty() {
            return Err(OAuthError::Config("no refresh token".into()));
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(concat!("panelflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| OAuthError::Transport {
                url: cfg.token_url.clone(),
                source,
            })?;
        Ok(Self {
            cfg,
            http,
            state: Mutex::new(State {
                access: None,
                refresh_token,
            }),
            refreshes: AtomicU64::new(0),
        })
    }

    /// A valid access token: the current one, or a fresh one when it is
    /// missing or about to expire. Blocks while another thread refreshes.
    pub fn access_token(&self) -> Result<String, OAuthError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = &state.access {
            if t.expires > Instant::now() + EXPIRY_MARGIN {
                return Ok(t.value.clone());
            }
        }
        self.refresh_locked(&mut state)
    }

    /// Forgets `token` (Lever refused it): the next call refreshes. A token
    /// that was already replaced by another thread is left alone.
    pub fn invalidate(&self, token: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.access.as_ref().is_some_and(|t| t.value == token) {
            state.access = None;
        }
    }

    /// How many refreshes succeeded since start.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    fn refresh_locked(&self, state: &mut State) -> Result<String, OAuthError> {
        let url = &self.cfg.token_url;
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", state.refresh_token.as_str()),
            ("client_id", self.cfg.client_id.as_str()),
            ("client_secret", self.cfg.client_secret.as_str()),
        ];
        if let Some(a) = &self.cfg.audience {
            form.push(("audience", a.as_str()));
        }
        let resp = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .map_err(|source| OAuthError::Transport {
                url: url.clone(),
                source,
            })?;
        let status = resp.status();
        let text = resp.text().map_err(|source| OAuthError::Transport {
            url: url.clone(),
            source,
        })?;
        if !status.is_success() {
            let mut body = text;
            body.truncate(body.char_indices().nth(512).map_or(body.len(), |(i, _)| i));
            tracing::warn!(status = status.as_u16(), "OAuth refresh refused");
            return Err(OAuthError::Refused {
                url: url.clone(),
                status: status.as_u16(),
                body,
            });
        }
        let token: TokenResponse = serde_json::from_str(&text).map_err(|e| OAuthError::Decode {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if token.access_token.is_empty() {
            return Err(OAuthError::Decode {
                url: url.clone(),
                reason: "empty `access_token`".into(),
            });
        }
        if let Some(kind) = &token.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(OAuthError::Decode {
                    url: url.clone(),
                    reason: format!("token type {kind:?} is not Bearer"),
                });
            }
        }
        let lifetime = token
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(1e7)))
            .unwrap_or(DEFAULT_LIFETIME);
        if let Some(rotated) = token.refresh_token.filter(|t| !t.is_empty()) {
            if rotated != state.refresh_token {
                if let Some(path) = &self.cfg.refresh_token_file {
                    if let Err(e) = save_secret(path, &rotated) {
                        tracing::error!(path = %path.display(), error = %e, "cannot save the rotated refresh token");
                    }
                }
                state.refresh_token = rotated;
            }
        }
        state.access = Some(Token {
            value: token.access_token.clone(),
            expires: Instant::now() + lifetime,
        });
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            expires_in_s = lifetime.as_secs(),
            "Lever access token refreshed"
        );
        Ok(token.access_token)
    }
}

/// Writes a secret to a file readable by its owner only, atomically.
fn save_secret(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(value.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OAuthConfig {
        OAuthConfig {
            token_url: "http://127.0.0.1:9/oauth/token".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            refresh_token: "r0".into(),
            audience: None,
            refresh_token_file: None,
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn incomplete_configs_are_refused() {
        let mut c = cfg();
        c.client_secret = " ".into();
        assert!(matches!(OAuthSession::new(c), Err(OAuthError::Config(_))));
        let mut c = cfg();
        c.refresh_token = String::new();
        assert!(matches!(OAuthSession::new(c), Err(OAuthError::Config(_))));
    }

    #[test]
    fn a_saved_refresh_token_wins_and_secrets_stay_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("refresh");
        std::fs::write(&file, "r-saved\n").unwrap();
        let mut c = cfg();
        c.refresh_token_file = Some(file);
        let s = OAuthSession::new(c.clone()).unwrap();
        assert_eq!(s.state.lock().unwrap().refresh_token, "r-saved");
        let text = format!("{c:?} {s:?}");
        assert!(
            !text.contains("secret\"") && !text.contains("r-saved"),
            "{text}"
        );
    }

    #[test]
    fn unreachable_endpoint_is_a_transport_error() {
        let s = OAuthSession::new(cfg()).unwrap();
        assert!(matches!(
            s.access_token(),
            Err(OAuthError::Transport { .. })
        ));
    }
}
