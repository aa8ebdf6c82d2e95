//! Who may use the review page, and what each role sees.
//!
//! - Users are configured with the SHA-256 of their token (`token_sha256`,
//!   hex) or the name of an environment variable holding the token
//!   (`token_env`): no plain token is ever written in a file.
//! - Signing in with a token gives a session cookie: `payload.mac`, where the
//!   payload (user, expiry, nonce) is HMAC-SHA256-signed with a server
//!   secret (`PANELFLOW_REVIEW_SECRET`, or a random one per process). The
//!   cookie is `HttpOnly` and `SameSite=Strict`. `Authorization: Bearer
//!   TOKEN` is accepted too (API clients).
//! - Forms carry a CSRF token derived from the session's nonce, so a form
//!   from another site cannot act with the cookie.
//! - A role's [`RolePolicy`] says whether it sees scores and flags and may
//!   decide; [`RolePolicy::redact_summary`] removes what it may not see
//!   before anything is rendered or sent.
//!
//! ```
//! use panelflow::review::auth::{token_sha256, Authenticator, Role};
//! let mut section = panelflow::review::ReviewSection::default();
//! section.users.push(panelflow::review::auth::ReviewUser {
//!     name: "rita".into(), role: Role::Recruiter, groups: vec!["pilot".into()],
//!     token_sha256: Some(token_sha256("rita-token")), token_env: None,
//! });
//! let auth = Authenticator::new(&section, b"secret".to_vec()).unwrap();
//! let who = auth.by_token("rita-token").unwrap();
//! assert!(who.policy.see_scores);
//! assert!(auth.by_token("wrong").is_none());
//! let session = auth.issue_session(&who);
//! let (again, nonce) = auth.verify_session(&session.cookie_value).unwrap();
//! assert_eq!(again.name, "rita");
//! assert!(auth.check_csrf(&nonce, &session.csrf));
//! ```

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    /// Hex SHA-256 of the user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// Environment variable holding the user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
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
    exp: i64,
    n: String,
}

/// Checks tokens and sessions against the configured users.
pub struct Authenticator {
    users: Vec<(ReviewUser, [u8; 32])>,
    roles: RolesSection,
    secret: Vec<u8>,
    ttl: Duration,
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

/// Hex SHA-256 of a token (what `token_sha256` holds).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality in time independent of where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator {
    /// The users of `section`, with sessions signed by `secret`. Fails on a
    /// user with no token (or both kinds), a malformed hash, duplicate names,
    /// or when nobody could sign in; a user whose `token_env` is unset is
    /// disabled with a warning.
    pub fn new(section: &ReviewSection, secret: Vec<u8>) -> Result<Self, AuthError> {
        let mut users: Vec<(ReviewUser, [u8; 32])> = Vec::new();
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
            let hex_hash = match (&u.token_sha256, &u.token_env) {
                (Some(h), None) => h.trim().to_ascii_lowercase(),
                (None, Some(var)) => {
                    // A user whose token is not provisioned here cannot sign
                    // in; the others can.
                    let Some(token) = std::env::var(var).ok().filter(|t| !t.is_empty()) else {
                        tracing::warn!(user = %u.name, var = %var, "review user disabled: token_env is not set");
                        continue;
                    };
                    token_sha256(&token)
                }
                (None, None) => return Err(bad("needs token_sha256 or token_env".into())),
                (Some(_), Some(_)) => {
                    return Err(bad("give token_sha256 or token_env, not both".into()))
                }
            };
            let bytes = hex::decode(&hex_hash)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| bad("token_sha256 is not 64 hex digits".into()))?;
            if users.iter().any(|(_, h)| *h == bytes) {
                return Err(bad("shares its token with another user".into()));
            }
            users.push((u.clone(), bytes));
        }
        if users.is_empty() && !section.users.is_empty() {
            return Err(AuthError::User {
                user: section
                    .users
                    .iter()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: "no user can sign in: set their token_env variables or token_sha256".into(),
            });
        }
        Ok(Self {
            users,
            roles: section.roles.clone(),
            secret,
            ttl: Duration::from_secs(section.session_ttl_s.max(60)),
        })
    }

    /// As [`new`](Self::new), with the secret from `PANELFLOW_REVIEW_SECRET`
    /// or, when unset, a random one (sessions then end with the process).
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

    /// The user holding `token`, if any (compared as hashes, in constant time).
    pub fn by_token(&self, token: &str) -> Option<Principal> {
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        let presented = Sha256::digest(token.as_bytes());
        let mut found = None;
        for (u, h) in &self.users {
            if ct_eq(&presented, h) {
                found = Some(u);
            }
        }
        found.map(|u| self.principal(u))
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

    /// A new session for `who`.
    pub fn issue_session(&self, who: &Principal) -> Session {
        let payload = SessionPayload {
            u: who.name.clone(),
            exp: chrono::Utc::now().timestamp() + self.ttl.as_secs() as i64,
            n: uuid::Uuid::new_v4().simple().to_string(),
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(json);
        let sig = URL_SAFE_NO_PAD.encode(self.mac("session", &body));
        Session {
            cookie_value: format!("{body}.{sig}"),
            csrf: self.csrf_token(&payload.n),
        }
    }

    /// The user and nonce of a valid, unexpired session cookie whose user is
    /// still configured.
    pub fn verify_session(&self, cookie_value: &str) -> Option<(Principal, String)> {
        let (body, sig) = cookie_value.split_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if !ct_eq(&sig, &self.mac("session", body)) {
            return None;
        }
        let payload: SessionPayload =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        if payload.exp < chrono::Utc::now().timestamp() {
            return None;
        }
        let user = self.users.iter().find(|(u, _)| u.name == payload.u)?;
        Some((self.principal(&user.0), payload.n))
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

    fn section() -> ReviewSection {
        ReviewSection {
            users: vec![
                ReviewUser {
                    name: "rita".into(),
                    role: Role::Recruiter,
                    groups: vec!["pilot".into()],
                    token_sha256: Some(token_sha256("rita-token")),
                    token_env: None,
                },
                ReviewUser {
                    name: "hank".into(),
                    role: Role::HiringManager,
                    groups: vec![],
                    token_sha256: Some(token_sha256("hank-token").to_uppercase()),
                    token_env: None,
                },
            ],
            ..ReviewSection::default()
        }
    }

    #[test]
    fn tokens_sign_in_their_own_user_only() {
        let auth = Authenticator::new(&section(), b"k".to_vec()).unwrap();
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
        let auth = Authenticator::new(&section(), b"k".to_vec()).unwrap();
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
        let other = Authenticator::new(&section(), b"other".to_vec()).unwrap();
        assert!(other.verify_session(&s.cookie_value).is_none());
        // A removed user's session ends.
        let mut fewer = section();
        fewer.users.remove(0);
        let fewer = Authenticator::new(&fewer, b"k".to_vec()).unwrap();
        assert!(fewer.verify_session(&s.cookie_value).is_none());
        // An expired session is refused.
        let payload = SessionPayload {
            u: "rita".into(),
            exp: chrono::Utc::now().timestamp() - 1,
            n: "n".into(),
        };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        let sig = URL_SAFE_NO_PAD.encode(auth.mac("session", &body));
        assert!(auth.verify_session(&format!("{body}.{sig}")).is_none());
    }

    #[test]
    fn bad_user_configs_are_refused() {
        let mut s = section();
        s.users[1].token_sha256 = Some("abc".into());
        assert!(Authenticator::new(&s, vec![]).is_err());
        let mut s = section();
        s.users[1].token_sha256 = None;
        assert!(Authenticator::new(&s, vec![])
            .unwrap_err()
            .to_string()
            .contains("hank"));
        let mut s = section();
        s.users[1].token_sha256 = None;
        s.users[1].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
        // An unprovisioned user is disabled, the others still sign in.
        let auth = Authenticator::new(&s, vec![]).unwrap();
        assert!(auth.by_token("rita-token").is_some());
        assert!(auth.by_token("hank-token").is_none());
        s.users.truncate(1);
        s.users[0].token_sha256 = None;
        s.users[0].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
        assert!(
            Authenticator::new(&s, vec![]).is_err(),
            "nobody could sign in"
        );
        let mut s = section();
        s.users[1].name = "rita".into();
        assert!(Authenticator::new(&s, vec![]).is_err());
        let mut s = section();
        s.users[1].token_sha256 = s.users[0].token_sha256.clone();
        assert!(Authenticator::new(&s, vec![]).is_err());
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
