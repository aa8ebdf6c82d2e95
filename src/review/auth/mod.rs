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

mod authenticator;
mod config;
mod csrf;
mod limiter;
mod roles;
mod session_signing;
mod sessions;
mod token;

pub use self::authenticator::Authenticator;
pub use self::config::{AuthError, ReviewUser, MIN_SECRET_BYTES, SECRET_ENV, SESSION_COOKIE};
pub use self::limiter::{SignInLimiter, MAX_FAILURES};
pub use self::roles::{Principal, Role, RoleOverrides, RolePolicy, RolesSection};
pub use self::sessions::{Revocations, Session};
pub use self::token::{
    hash_token, hash_token_with, token_sha256, MIN_TOKEN_HASH_ITERATIONS, TOKEN_HASH_ITERATIONS,
};

#[cfg(test)]
mod tests;
