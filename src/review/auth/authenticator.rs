//! The [`Authenticator`]: the configured users, checked at start, and
//! signing in by token.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::config::{AuthError, ReviewUser, MIN_SECRET_BYTES, SECRET_ENV};
use super::roles::{Principal, RolesSection};
use super::sessions::Revocations;
use super::token::{hash_token_with, TokenHash, MIN_TOKEN_HASH_ITERATIONS};
use crate::review::ReviewSection;

/// How long a verified token is remembered (so API calls skip the slow hash).
const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// Checks tokens and sessions against the configured users.
pub struct Authenticator {
    pub(super) users: Vec<(ReviewUser, TokenHash)>,
    pub(super) roles: RolesSection,
    pub(super) secret: Vec<u8>,
    pub(super) ttl: Duration,
    pub(super) verified: Mutex<HashMap<[u8; 32], (usize, Instant)>>,
    pub(super) revocations: Option<Revocations>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the token hashes.
        f.debug_struct("Authenticator")
            .field(
                "users",
                &self.users.iter().map(|(u, _)| &u.name).collect::<Vec<_>>(),
            )
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// The users of `section`, with sessions signed by `secret` (at least
    /// [`MIN_SECRET_BYTES`] bytes). Fails on a short secret, a user with no
    /// token (or both kinds), an unsalted `token_sha256`, a malformed or
    /// weak `token_hash`, duplicate names, or when nobody could sign in; a
    /// user whose `token_env` is unset is disabled with a warning.
    pub fn new(section: &ReviewSection, secret: Vec<u8>) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::WeakSecret(secret.len()));
        }
        let mut users: Vec<(ReviewUser, TokenHash)> = Vec::new();
        let mut env_tokens: Vec<String> = Vec::new();
        for u in &section.users {
            let bad = |reason: String| AuthError::User {
                user: u.name.clone(),
                reason,
            };
            if u.name.trim().is_empty() {
                return Err(bad("the name is empty".into()));
            }
            if users.iter().any(|(o, _)| o.name == u.name) {
                return Err(bad("the name is used twice".into()));
            }
            if u.token_sha256.is_some() {
                return Err(bad(
                    "token_sha256 (an unsalted hash) is no longer accepted: \
                     give token_hash (from `panelflow hash-token`) or token_env"
                        .into(),
                ));
            }
            let hash = match (&u.token_hash, &u.token_env) {
                (Some(h), None) => TokenHash::parse(h).map_err(bad)?,
                (None, Some(var)) => {
                    // A user whose token is not provisioned here cannot sign
                    // in; the others can.
                    let Some(token) = std::env::var(var).ok().filter(|t| !t.is_empty()) else {
                        tracing::warn!(user = %u.name, var = %var, "review user disabled: token_env is not set");
                        continue;
                    };
                    if env_tokens.contains(&token) {
                        return Err(bad("shares its token with another user".into()));
                    }
                    env_tokens.push(token.clone());
                    // Hashed here with a fresh salt: the plain token is not kept.
                    TokenHash::parse(&hash_token_with(&token, MIN_TOKEN_HASH_ITERATIONS))
                        .map_err(bad)?
                }
                (None, None) => return Err(bad("needs token_hash or token_env".into())),
                (Some(_), Some(_)) => {
                    return Err(bad("give token_hash or token_env, not both".into()))
                }
            };
            users.push((u.clone(), hash));
        }
        if users.is_empty() && !section.users.is_empty() {
            return Err(AuthError::User {
                user: section
                    .users
                    .iter()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: "no user can sign in: set their token_env variables or token_hash".into(),
            });
        }
        Ok(Self {
            users,
            roles: section.roles.clone(),
            secret,
            ttl: Duration::from_secs(section.session_ttl_s.max(60)),
            verified: Mutex::new(HashMap::new()),
            revocations: None,
        })
    }

    /// As [`new`](Self::new), with the secret from `PANELFLOW_REVIEW_SECRET`
    /// (refused when shorter than [`MIN_SECRET_BYTES`]) or, when unset, a
    /// random one (sessions then end with the process).
    pub fn from_env(section: &ReviewSection) -> Result<Self, AuthError> {
        let secret = match std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty()) {
            Some(s) => s.into_bytes(),
            None => {
                let mut s = Vec::with_capacity(32);
                s.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                s.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                s
            }
        };
        Self::new(section, secret)
    }

    /// Keeps revocations in `path` (shared by the servers of one queue).
    pub fn with_revocations(mut self, path: &Path) -> Self {
        self.revocations = Some(Revocations::at(path));
        self
    }

    /// Whether revocations are kept.
    pub fn has_revocations(&self) -> bool {
        self.revocations.is_some()
    }

    /// How many users may sign in.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub(super) fn principal(&self, user: &ReviewUser) -> Principal {
        Principal {
            name: user.name.clone(),
            role: user.role,
            groups: user.groups.clone(),
            policy: self.roles.policy(user.role),
        }
    }

    /// The user holding `token`, if any. Every user's salted hash is
    /// computed (the time does not say which user, if any, matched); a
    /// token verified in the last minutes is found in memory by its SHA-256.
    pub fn by_token(&self, token: &str) -> Option<Principal> {
        let token = token.trim();
        if token.is_empty() || token.len() > 1024 {
            return None;
        }
        let fast: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        {
            let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(&fast) {
                Some((i, at)) if at.elapsed() < VERIFIED_TTL => {
                    return self.users.get(*i).map(|(u, _)| self.principal(u));
                }
                Some(_) => {
                    cache.remove(&fast);
                }
                None => {}
            }
        }
        let mut found = None;
        for (i, (_, h)) in self.users.iter().enumerate() {
            if h.matches(token) {
                found = Some(i);
            }
        }
        let i = found?;
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 1000 {
            cache.retain(|_, (_, at)| at.elapsed() < VERIFIED_TTL);
        }
        cache.insert(fast, (i, Instant::now()));
        self.users.get(i).map(|(u, _)| self.principal(u))
    }

    /// Whether `user` is configured.
    pub fn knows(&self, user: &str) -> bool {
        self.users.iter().any(|(u, _)| u.name == user)
    }

    /// Lifetime of a session.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}
