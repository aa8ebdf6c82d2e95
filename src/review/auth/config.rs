//! The review users' configuration: the session constants, the errors of a
//! bad configuration, and `[[review.users]]`.

use serde::{Deserialize, Serialize};

use super::roles::Role;

/// Environment variable holding the session-signing secret.
pub const SECRET_ENV: &str = "PANELFLOW_REVIEW_SECRET";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "panelflow_session";
/// Shortest session-signing secret accepted (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Errors in the review users' configuration.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A user has no way to sign in, or two ways.
    #[error("[[review.users]] {user}: {reason}")]
    User {
        /// The user's name.
        user: String,
        /// What is wrong.
        reason: String,
    },
    /// The session-signing secret is too short to resist offline guessing.
    #[error(
        "{SECRET_ENV} is {0} bytes: at least {MIN_SECRET_BYTES} are required \
         (a short secret lets anyone holding a cookie forge sessions offline)"
    )]
    WeakSecret(usize),
}

/// `[[review.users]]`: one person who may sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewUser {
    /// User name (recorded with each decision).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Groups (the pilot phase shows results to `[review] pilot_group` only).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Salted slow hash of the user's token: `pbkdf2-sha256$<iterations>$<salt
    /// base64>$<hash base64>` (see [`hash_token`](super::hash_token)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// Unsalted hex SHA-256 of a token: refused at start (use `token_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// Environment variable holding the user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

impl ReviewUser {
    /// Replaces the token hashes by `<secret>` (for the config hash).
    pub fn redact_secrets(&mut self) {
        for h in [&mut self.token_hash, &mut self.token_sha256] {
            if h.is_some() {
                *h = Some("<secret>".into());
            }
        }
    }
}
