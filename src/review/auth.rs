//! Who may use the review page, and what each role sees.
//!
//! - Users are configured with a salted, slow hash of their token
//!   (`token_hash`: `pbkdf2-sha256$<iterations>$<salt>$<hash>`, made by
//!   [`hash_token`] / `panelflow hash-token`) or the name of an environment
//!   variable holding the token (`token_env`): no plain token is ever
//!   written in a file. An unsalted `token_sha256` is refused at start.
//!   Verified tokens are remembered in memory for a few minutes (by their
//!   SHA-256), so API clients do not pay the slow hash on every request.
//! - Signing in with a token gives a session cookie: `payload.mac`, where the
//!   payload (user, issue and expiry times, nonce, a fingerprint of the
//!   user's token hash) is HMAC-SHA256-signed with a server secret
//!   (`PANELFLOW_REVIEW_SECRET`, at least [`MIN_SECRET_BYTES`] bytes — a
//!   shorter one is refused at start — or a random one per process). The
//!   cookie is `HttpOnly`, `SameSite=Strict` and `Secure` (unless
//!   `[review] secure_cookie = false`, for plain-http development).
//!   `Authorization: Bearer TOKEN` is accepted too (API clients).
//! - Sessions can be ended before they expire: signing out revokes the
//!   session (its nonce); "sign out everywhere" and an admin's revocation
//!   move the user's revocation epoch, which ends every session issued
//!   before it; changing a user's token ends their sessions (the
//!   fingerprint no longer matches). Revocations are kept in a file beside
//!   the queue ([`Revocations`]), shared by every server on that folder.
//! - Sign-in is rate-limited ([`SignInLimiter`]): after
//!   [`MAX_FAILURES`] failed attempts from one address it is locked out for a
//!   while that doubles with each lock-out, and a burst of failures from
//!   everywhere locks sign-in for everyone for a minute.
//! - Forms carry a CSRF token derived from the session's nonce, so a form
//!   from another site cannot act with the cookie.
//! - A role's [`RolePolicy`] says whether it sees scores and flags and may
//!   decide; [`RolePolicy::redact_summary`] removes what it may not see
//!   before anything is rendered or sent.
//!
//! ```
//! use panelflow::review::auth::{hash_token_with, Authenticator, Role};
//! let mut section = panelflow::review::ReviewSection::default();
//! section.users.push(panelflow::review::auth::ReviewUser {
//!     name: "rita".into(), role: Role::Recruiter, groups: vec!["pilot".into()],
//!     token_hash: Some(hash_token_with("rita-token", 100_000)), token_sha256: None, token_env: None,
//! });
//! let auth = Authenticator::new(&section, b"a-session-secret-of-32-bytes-min".to_vec()).unwrap();
//! let who = auth.by_token("rita-token").unwrap();
//! assert!(who.policy.see_scores);
//! assert!(auth.by_token("wrong").is_none());
//! let session = auth.issue_session(&who);
//! let (again, nonce) = auth.verify_session(&session.cookie_value).unwrap();
//! assert_eq!(again.name, "rita");
//! assert!(auth.check_csrf(&nonce, &session.csrf));
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ReviewSection;

/// Environment variable holding the session-signing secret.
pub const SECRET_ENV: &str = "PANELFLOW_REVIEW_SECRET";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "panelflow_session";
/// Shortest session-signing secret accepted (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// PBKDF2-HMAC-SHA256 iterations of [`hash_token`] (OWASP's figure).
pub const TOKEN_HASH_ITERATIONS: u32 = 600_000;
/// Fewest iterations a configured `token_hash` may use.
pub const MIN_TOKEN_HASH_ITERATIONS: u32 = 100_000;
/// Failed sign-ins from one address before it is locked out.
pub const MAX_FAILURES: u32 = 5;
/// How long a verified token is remembered (so API calls skip the slow hash).
const VERIFIED_TTL: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

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

/// The roles of the review page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reviews and decides; sees scores and flags.
    Recruiter,
    /// Reads summaries; by default sees flags but no scores and does not decide.
    HiringManager,
    /// Everything.
    Admin,
    /// Reads everything, decides nothing.
    Auditor,
}

impl Role {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Recruiter => "recruiter",
            Role::HiringManager => "hiring_manager",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// The built-in policy of the role.
    pub fn default_policy(self) -> RolePolicy {
        let (see_scores, see_flags, can_decide) = match self {
            Role::Recruiter => (true, true, true),
            Role::HiringManager => (false, true, false),
            Role::Admin => (true, true, true),
            Role::Auditor => (true, true, false),
        };
        RolePolicy {
            see_scores,
            see_flags,
            can_decide,
        }
    }
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
    /// base64>$<hash base64>` (see [`hash_token`]).
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

/// `[review.roles.<role>]`: overrides of a role's built-in policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleOverrides {
    /// Whether the role sees rubric scores (and the calibration figures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see_scores: Option<bool>,
    /// Whether the role sees sentiment, tone and red flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see_flags: Option<bool>,
    /// Whether the role may approve, edit or reject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_decide: Option<bool>,
}

/// `[review.roles]`: per-role overrides.
///
/// ```
/// let cfg: panelflow::config::PipelineConfig = toml::from_str(r#"
/// [review.roles.hiring_manager]
/// see_flags = false
/// "#).unwrap();
/// let p = cfg.review.roles.policy(panelflow::review::auth::Role::HiringManager);
/// assert!(!p.see_flags && !p.see_scores && !p.can_decide);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolesSection {
    /// `recruiter`.
    pub recruiter: RoleOverrides,
    /// `hiring_manager`.
    pub hiring_manager: RoleOverrides,
    /// `admin`.
    pub admin: RoleOverrides,
    /// `auditor`.
    pub auditor: RoleOverrides,
}

impl RolesSection {
    /// The effective policy of a role: its built-in one with the overrides.
    pub fn policy(&self, role: Role) -> RolePolicy {
        let o = match role {
            Role::Recruiter => &self.recruiter,
            Role::HiringManager => &self.hiring_manager,
            Role::Admin => &self.admin,
            Role::Auditor => &self.auditor,
        };
        let d = role.default_policy();
        RolePolicy {
            see_scores: o.see_scores.unwrap_or(d.see_scores),
            see_flags: o.see_flags.unwrap_or(d.see_flags),
            can_decide: o.can_decide.unwrap_or(d.can_decide),
        }
    }
}

/// What a role may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RolePolicy {
    /// Sees rubric scores, the overall score and the calibration figures.
    pub see_scores: bool,
    /// Sees sentiment, tone and red flags.
    pub see_flags: bool,
    /// May approve, edit or reject.
    pub can_decide: bool,
}

/// Summary keys that hold scores.
const SCORE_KEYS: [&str; 2] = ["scores", "overall_score"];
/// Summary keys that hold sentiment, tone and flags.
const FLAG_KEYS: [&str; 3] = ["flags", "sentiment", "sentiment_score"];
/// Per-answer keys that hold sentiment, tone and flags.
const ANSWER_FLAG_KEYS: [&str; 3] = ["flags", "sentiment", "tone"];

impl RolePolicy {
    /// The summary with what this role may not see removed (server side:
    /// a role without `see_scores` never receives a score).
    ///
    /// ```
    /// use panelflow::review::auth::Role;
    /// let s = serde_json::json!({"scores": [{"score": 4}], "overall_score": 4.0,
    ///     "flags": [{"name": "long_silences"}], "answers": [{"text": "hi", "tone": {}}]});
    /// let hm = Role::HiringManager.default_policy().redact_summary(&s);
    /// assert!(hm.get("scores").is_none() && hm.get("overall_score").is_none());
    /// assert!(hm.get("flags").is_some());
    /// ```
    pub fn redact_summary(&self, summary: &Value) -> Value {
        let mut s = summary.clone();
        let Some(obj) = s.as_object_mut() else {
            return s;
        };
        if !self.see_scores {
            for k in SCORE_KEYS {
                obj.remove(k);
            }
            // Strengths and concerns are the scores said in words.
            if let Some(h) = obj.get_mut("highlights").and_then(Value::as_object_mut) {
                h.remove("strengths");
                h.remove("concerns");
            }
            if let Some(answers) = obj.get_mut("answers").and_then(Value::as_array_mut) {
                for a in answers.iter_mut().filter_map(Value::as_object_mut) {
                    a.remove("mapping");
                }
            }
            // The first lines name strengths and concerns too.
            obj.remove("interview_transcript_summary");
        }
        if !self.see_flags {
            for k in FLAG_KEYS {
                obj.remove(k);
            }
            if let Some(h) = obj.get_mut("highlights").and_then(Value::as_object_mut) {
                h.remove("red_flags");
            }
            if let Some(answers) = obj.get_mut("answers").and_then(Value::as_array_mut) {
                for a in answers.iter_mut().filter_map(Value::as_object_mut) {
                    for k in ANSWER_FLAG_KEYS {
                        a.remove(k);
                    }
                }
            }
        }
        s
    }

    /// Whether a review reason may be shown (flag reasons need `see_flags`,
    /// confidence reasons `see_scores`).
    pub fn may_see_reason(&self, reason: &str) -> bool {
        if reason.starts_with("flag:") || reason.contains("sentiment") {
            return self.see_flags;
        }
        if reason.contains("confidence") || reason.contains("score") {
            return self.see_scores;
        }
        true
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Groups.
    pub groups: Vec<String>,
    /// What the role may see and do.
    pub policy: RolePolicy,
}

impl Principal {
    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// A new session: the cookie's value and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// Value of the [`SESSION_COOKIE`] cookie.
    pub cookie_value: String,
    /// The token forms of this session must carry.
    pub csrf: String,
}

#[derive(Serialize, Deserialize)]
struct SessionPayload {
    u: String,
    /// Issued at (Unix milliseconds).
    #[serde(default)]
    iat: i64,
    exp: i64,
    n: String,
    /// Fingerprint of the user's token hash when issued.
    #[serde(default)]
    k: String,
}

/// A parsed `token_hash`.
#[derive(Clone)]
struct TokenHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: [u8; 32],
    /// The configured text (fingerprinted into sessions).
    text: String,
}

fn pbkdf2_sha256(token: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(token.as_bytes(), salt, iterations, &mut out);
    out
}

impl TokenHash {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let parts: Vec<&str> = text.split('$').collect();
        let [scheme, iterations, salt, hash] = parts.as_slice() else {
            return Err("token_hash is not `pbkdf2-sha256$<iterations>$<salt>$<hash>`".into());
        };
        if *scheme != "pbkdf2-sha256" {
            return Err(format!("token_hash scheme {scheme:?} is not pbkdf2-sha256"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| "token_hash iterations are not a number".to_string())?;
        if iterations < MIN_TOKEN_HASH_ITERATIONS {
            return Err(format!(
                "token_hash uses {iterations} iterations; at least {MIN_TOKEN_HASH_ITERATIONS} are required"
            ));
        }
        let salt = STANDARD_NO_PAD
            .decode(salt.trim_end_matches('='))
            .map_err(|_| "token_hash salt is not base64".to_string())?;
        if salt.len() < 16 {
            return Err("token_hash salt is shorter than 16 bytes".into());
        }
        let hash = STANDARD_NO_PAD
            .decode(hash.trim_end_matches('='))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| "token_hash hash is not 32 bytes of base64".to_string())?;
        Ok(Self {
            iterations,
            salt,
            hash,
            text: text.to_string(),
        })
    }

    fn matches(&self, token: &str) -> bool {
        ct_eq(
            &pbkdf2_sha256(token, &self.salt, self.iterations),
            &self.hash,
        )
    }
}

/// The `token_hash` of a token, with a fresh random salt and
/// [`TOKEN_HASH_ITERATIONS`] iterations (`panelflow hash-token`).
pub fn hash_token(token: &str) -> String {
    hash_token_with(token, TOKEN_HASH_ITERATIONS)
}

/// [`hash_token`] with a chosen number of iterations (tests; at least
/// [`MIN_TOKEN_HASH_ITERATIONS`] to be accepted).
pub fn hash_token_with(token: &str, iterations: u32) -> String {
    let mut salt = Vec::with_capacity(16);
    salt.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let hash = pbkdf2_sha256(token, &salt, iterations);
    format!(
        "pbkdf2-sha256${iterations}${}${}",
        STANDARD_NO_PAD.encode(&salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// Hex SHA-256 of a token (what the refused `token_sha256` held; used as
/// the key of the in-memory cache of verified tokens).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality in time independent of where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RevocationState {
    /// Revoked session nonces and their sessions' expiry (Unix seconds).
    #[serde(default)]
    revoked: HashMap<String, i64>,
    /// Per user: sessions issued before this time (Unix milliseconds) are ended.
    #[serde(default)]
    not_before: HashMap<String, i64>,
}

/// Revoked sessions, in a small JSON file every review server on the same
/// queue folder shares (rewritten atomically under a lock file).
#[derive(Debug)]
pub struct Revocations {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Revocations {
    /// The revocations kept in `path` (created on the first revocation).
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> RevocationState {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut RevocationState)) -> std::io::Result<()> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.read();
        let now = chrono::Utc::now().timestamp();
        state.revoked.retain(|_, exp| *exp >= now);
        f(&mut state);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".sessions-")
            .tempfile_in(dir)?;
        std::io::Write::write_all(&mut tmp, &serde_json::to_vec(&state).unwrap_or_default())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    fn is_revoked(&self, payload: &SessionPayload) -> bool {
        let state = self.read();
        state.revoked.contains_key(&payload.n)
            || state
                .not_before
                .get(&payload.u)
                .is_some_and(|t| payload.iat < *t)
    }
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    first: Option<Instant>,
    locked_until: Option<Instant>,
    lockouts: u32,
}

/// Failed sign-ins per address and overall (see the module docs).
#[derive(Debug)]
pub struct SignInLimiter {
    per_ip: Mutex<HashMap<IpAddr, Failures>>,
    global: Mutex<(Instant, u32, Option<Instant>)>,
    window: Duration,
    global_max: u32,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        Self {
            per_ip: Mutex::new(HashMap::new()),
            global: Mutex::new((Instant::now(), 0, None)),
            window: Duration::from_secs(15 * 60),
            global_max: 100,
        }
    }
}

impl SignInLimiter {
    /// `Err(wait)` while sign-in from `ip` is locked out.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        {
            let g = self.global.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(until) = g.2.filter(|u| *u > now) {
                return Err(until - now);
            }
        }
        let Some(ip) = ip else { return Ok(()) };
        let map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: Option<IpAddr>) {
        let now = Instant::now();
        {
            let mut g = self.global.lock().unwrap_or_else(|p| p.into_inner());
            if now.duration_since(g.0) > Duration::from_secs(60) {
                *g = (now, 0, g.2);
            }
            g.1 += 1;
            if g.1 > self.global_max {
                tracing::warn!("too many failed sign-ins overall: sign-in locked for a minute");
                g.2 = Some(now + Duration::from_secs(60));
                g.1 = 0;
            }
        }
        let Some(ip) = ip else { return };
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
        }
        let f = map.entry(ip).or_default();
        if f.first.is_none_or(|t| now.duration_since(t) > self.window) {
            f.first = Some(now);
            f.count = 0;
        }
        f.count += 1;
        if f.count >= MAX_FAILURES {
            let minutes = 1u64 << f.lockouts.min(6);
            f.locked_until = Some(now + Duration::from_secs(60 * minutes));
            f.lockouts += 1;
            f.count = 0;
            f.first = None;
            tracing::warn!(%ip, minutes, "sign-in locked out after repeated failures");
        }
    }

    /// Forgets the failures of `ip` after a good sign-in.
    pub fn succeeded(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = map.get_mut(&ip) {
                f.count = 0;
                f.first = None;
            }
        }
    }
}

/// Checks tokens and sessions against the configured users.
pub struct Authenticator {
    users: Vec<(ReviewUser, TokenHash)>,
    roles: RolesSection,
    secret: Vec<u8>,
    ttl: Duration,
    verified: Mutex<HashMap<[u8; 32], (usize, Instant)>>,
    revocations: Option<Revocations>,
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

    fn principal(&self, user: &ReviewUser) -> Principal {
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

    fn mac(&self, label: &str, data: &str) -> Vec<u8> {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label.as_bytes());
        mac.update(b":");
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The fingerprint of a user's token hash carried by their sessions.
    fn fingerprint(&self, hash: &TokenHash) -> String {
        hex::encode(&self.mac("token", &hash.text)[..8])
    }

    /// A new session for `who`.
    pub fn issue_session(&self, who: &Principal) -> Session {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let now = now_ms / 1000;
        let k = self
            .users
            .iter()
            .find(|(u, _)| u.name == who.name)
            .map(|(_, h)| self.fingerprint(h))
            .unwrap_or_default();
        let payload = SessionPayload {
            u: who.name.clone(),
            iat: now_ms,
            exp: now + self.ttl.as_secs() as i64,
            n: uuid::Uuid::new_v4().simple().to_string(),
            k,
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(json);
        let sig = URL_SAFE_NO_PAD.encode(self.mac("session", &body));
        Session {
            cookie_value: format!("{body}.{sig}"),
            csrf: self.csrf_token(&payload.n),
        }
    }

    fn payload(&self, cookie_value: &str) -> Option<SessionPayload> {
        if cookie_value.len() > 4096 {
            return None;
        }
        let (body, sig) = cookie_value.split_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if !ct_eq(&sig, &self.mac("session", body)) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }

    /// The user and nonce of a valid, unexpired, unrevoked session cookie
    /// whose user is still configured with the same token.
    pub fn verify_session(&self, cookie_value: &str) -> Option<(Principal, String)> {
        let payload = self.payload(cookie_value)?;
        if payload.exp < chrono::Utc::now().timestamp() {
            return None;
        }
        let (user, hash) = self.users.iter().find(|(u, _)| u.name == payload.u)?;
        if !ct_eq(payload.k.as_bytes(), self.fingerprint(hash).as_bytes()) {
            return None;
        }
        if self
            .revocations
            .as_ref()
            .is_some_and(|r| r.is_revoked(&payload))
        {
            return None;
        }
        Some((self.principal(user), payload.n))
    }

    /// Ends the session of `cookie_value` (signing out). Without a
    /// revocation file the cookie is only cleared in the browser.
    pub fn revoke_session(&self, cookie_value: &str) -> std::io::Result<()> {
        let (Some(r), Some(p)) = (&self.revocations, self.payload(cookie_value)) else {
            return Ok(());
        };
        r.update(|s| {
            s.revoked.insert(p.n.clone(), p.exp);
        })
    }

    /// Ends every session of `user` issued until now.
    pub fn revoke_user(&self, user: &str) -> std::io::Result<()> {
        let Some(r) = &self.revocations else {
            return Ok(());
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        r.update(|s| {
            s.not_before.insert(user.to_owned(), now_ms);
        })
    }

    /// Whether `user` is configured.
    pub fn knows(&self, user: &str) -> bool {
        self.users.iter().any(|(u, _)| u.name == user)
    }

    /// The CSRF token of the session with `nonce`.
    pub fn csrf_token(&self, nonce: &str) -> String {
        hex::encode(&self.mac("csrf", nonce)[..16])
    }

    /// Whether `token` is the CSRF token of the session with `nonce`.
    pub fn check_csrf(&self, nonce: &str, token: &str) -> bool {
        ct_eq(self.csrf_token(nonce).as_bytes(), token.trim().as_bytes())
    }

    /// Lifetime of a session.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &[u8] = b"a-session-secret-of-at-least-32-b";

    fn h(token: &str) -> Option<String> {
        Some(hash_token_with(token, MIN_TOKEN_HASH_ITERATIONS))
    }

    fn section() -> ReviewSection {
        ReviewSection {
            users: vec![
                ReviewUser {
                    name: "rita".into(),
                    role: Role::Recruiter,
                    groups: vec!["pilot".into()],
                    token_hash: h("rita-token"),
                    token_sha256: None,
                    token_env: None,
                },
                ReviewUser {
                    name: "hank".into(),
                    role: Role::HiringManager,
                    groups: vec![],
                    token_hash: h("hank-token"),
                    token_sha256: None,
                    token_env: None,
                },
            ],
            ..ReviewSection::default()
        }
    }

    #[test]
    fn tokens_sign_in_their_own_user_only() {
        let auth = Authenticator::new(&section(), K.to_vec()).unwrap();
        assert_eq!(auth.by_token("rita-token").unwrap().name, "rita");
        let hank = auth.by_token(" hank-token ").unwrap();
        assert_eq!(hank.role, Role::HiringManager);
        assert!(!hank.policy.see_scores && hank.policy.see_flags && !hank.policy.can_decide);
        assert!(auth.by_token("").is_none());
        assert!(auth.by_token("rita-token2").is_none());
        assert!(auth.by_token(&token_sha256("rita-token")).is_none());
    }

    #[test]
    fn sessions_are_signed_expire_and_name_configured_users() {
        let auth = Authenticator::new(&section(), K.to_vec()).unwrap();
        let rita = auth.by_token("rita-token").unwrap();
        let s = auth.issue_session(&rita);
        let (who, nonce) = auth.verify_session(&s.cookie_value).unwrap();
        assert_eq!(who, rita);
        assert!(auth.check_csrf(&nonce, &s.csrf));
        assert!(!auth.check_csrf(&nonce, "00"));
        assert!(!auth.check_csrf("other-nonce", &s.csrf));
        // Tampered payload (another user) is refused.
        let (body, sig) = s.cookie_value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(body).unwrap())
                .unwrap()
                .replace("rita", "hank"),
        );
        assert!(auth.verify_session(&format!("{forged}.{sig}")).is_none());
        assert!(auth.verify_session("garbage").is_none());
        // Another secret does not accept it.
        let other =
            Authenticator::new(&section(), b"another-session-secret-of-32-bytes".to_vec()).unwrap();
        assert!(other.verify_session(&s.cookie_value).is_none());
        // A removed user's session ends.
        let mut fewer = section();
        fewer.users.remove(0);
        let fewer = Authenticator::new(&fewer, K.to_vec()).unwrap();
        assert!(fewer.verify_session(&s.cookie_value).is_none());
        // An expired session is refused.
        let payload = SessionPayload {
            u: "rita".into(),
            iat: 0,
            exp: chrono::Utc::now().timestamp() - 1,
            n: "n".into(),
            k: String::new(),
        };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        let sig = URL_SAFE_NO_PAD.encode(auth.mac("session", &body));
        assert!(auth.verify_session(&format!("{body}.{sig}")).is_none());
    }

    #[test]
    fn bad_user_configs_are_refused() {
        let mut s = section();
        s.users[1].token_hash = Some("abc".into());
        assert!(Authenticator::new(&s, K.to_vec()).is_err());
        // Unsalted hashes and weak ones are refused.
        let mut s = section();
        s.users[1].token_hash = None;
        s.users[1].token_sha256 = Some(token_sha256("hank-token"));
        assert!(Authenticator::new(&s, K.to_vec())
            .unwrap_err()
            .to_string()
            .contains("unsalted"));
        let mut s = section();
        s.users[1].token_hash = Some(hash_token_with("hank-token", 1000));
        assert!(Authenticator::new(&s, K.to_vec())
            .unwrap_err()
            .to_string()
            .contains("iterations"));
        let mut s = section();
        s.users[1].token_hash = None;
        assert!(Authenticator::new(&s, K.to_vec())
            .unwrap_err()
            .to_string()
            .contains("hank"));
        let mut s = section();
        s.users[1].token_hash = None;
        s.users[1].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
        // An unprovisioned user is disabled, the others still sign in.
        let auth = Authenticator::new(&s, K.to_vec()).unwrap();
        assert!(auth.by_token("rita-token").is_some());
        assert!(auth.by_token("hank-token").is_none());
        s.users.truncate(1);
        s.users[0].token_hash = None;
        s.users[0].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
        assert!(
            Authenticator::new(&s, K.to_vec()).is_err(),
            "nobody could sign in"
        );
        let mut s = section();
        s.users[1].name = "rita".into();
        assert!(Authenticator::new(&s, K.to_vec()).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        let err = Authenticator::new(&section(), b"short".to_vec()).unwrap_err();
        assert!(matches!(err, AuthError::WeakSecret(5)), "{err}");
        assert!(Authenticator::new(&section(), vec![7; MIN_SECRET_BYTES]).is_ok());
    }

    #[test]
    fn token_hashes_are_salted() {
        let (a, b) = (hash_token_with("t", 100_000), hash_token_with("t", 100_000));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(TokenHash::parse(&a).unwrap().matches("t"));
        assert!(!TokenHash::parse(&a).unwrap().matches("u"));
    }

    #[test]
    fn sessions_are_revoked_by_sign_out_epoch_and_token_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".review-sessions");
        let auth = Authenticator::new(&section(), K.to_vec())
            .unwrap()
            .with_revocations(&file);
        let rita = auth.by_token("rita-token").unwrap();
        let (one, two) = (auth.issue_session(&rita), auth.issue_session(&rita));
        auth.revoke_session(&one.cookie_value).unwrap();
        assert!(auth.verify_session(&one.cookie_value).is_none());
        assert!(auth.verify_session(&two.cookie_value).is_some());
        // Another server on the same folder sees it too.
        let other = Authenticator::new(&section(), K.to_vec())
            .unwrap()
            .with_revocations(&file);
        assert!(other.verify_session(&one.cookie_value).is_none());
        std::thread::sleep(Duration::from_millis(5));
        auth.revoke_user("rita").unwrap();
        assert!(other.verify_session(&two.cookie_value).is_none());
        // Sessions after the epoch are good; a new token for rita ends
        // the sessions issued with the old one.
        std::thread::sleep(Duration::from_millis(5));
        let four = auth.issue_session(&rita);
        assert!(auth.verify_session(&four.cookie_value).is_some());
        let mut rotated = section();
        rotated.users[0].token_hash = h("rita-new-token");
        let rotated = Authenticator::new(&rotated, K.to_vec()).unwrap();
        assert!(rotated.verify_session(&four.cookie_value).is_none());
    }

    #[test]
    fn repeated_failures_lock_an_address_out() {
        let limiter = SignInLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            limiter.failed(Some(ip));
            assert!(limiter.check(Some(ip)).is_ok());
        }
        limiter.failed(Some(ip));
        let wait = limiter.check(Some(ip)).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(limiter.check(Some("192.0.2.8".parse().unwrap())).is_ok());
        // Everyone's failures together lock sign-in for all.
        for i in 0..=100u32 {
            limiter.failed(Some(IpAddr::from([
                10,
                0,
                (i / 256) as u8,
                (i % 256) as u8,
            ])));
        }
        assert!(limiter.check(Some("192.0.2.9".parse().unwrap())).is_err());
    }

    #[test]
    fn role_overrides_and_redaction() {
        let review: ReviewSection = toml::from_str(
            "[roles.hiring_manager]\nsee_scores = true\n[roles.recruiter]\nsee_flags = false\n",
        )
        .unwrap();
        assert!(review.roles.policy(Role::HiringManager).see_scores);
        let rec = review.roles.policy(Role::Recruiter);
        assert!(!rec.see_flags && rec.see_scores && rec.can_decide);
        assert!(!review.roles.policy(Role::Auditor).can_decide);
        assert!(toml::from_str::<ReviewSection>("[roles.janitor]\nsee_scores = true\n").is_err());

        let s = serde_json::json!({
            "scores": [{"competency": "craft", "score": 4}], "overall_score": 3.5,
            "flags": [{"name": "long_silences"}], "sentiment": "negative", "sentiment_score": 0.1,
            "highlights": {"strengths": [{"text": "q"}], "red_flags": [{"kind": "no_answer", "text": "t"}]},
            "answers": [{"text": "a", "flags": ["x"], "tone": {"wpm": 1}, "sentiment": {"label": "positive"}}]
        });
        let none = RolePolicy {
            see_scores: false,
            see_flags: false,
            can_decide: false,
        };
        let r = none.redact_summary(&s);
        let text = r.to_string();
        for gone in [
            "scores",
            "overall_score",
            "long_silences",
            "sentiment",
            "red_flags",
            "tone",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert!(
            r["highlights"].get("strengths").is_none(),
            "strengths are scores in words"
        );
        assert_eq!(r["answers"][0]["text"], "a");
        let all = Role::Admin.default_policy();
        assert_eq!(all.redact_summary(&s), s);
        assert!(!none.may_see_reason("flag:negativity_about_employer"));
        assert!(!none.may_see_reason("low_confidence"));
        assert!(!none.may_see_reason("extreme_sentiment"));
        assert!(none.may_see_reason("phase_review"));
    }
}
