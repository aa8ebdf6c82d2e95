//! Signed session cookies: issuing, verifying and revoking sessions (an
//! `impl` of [`Authenticator`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::authenticator::Authenticator;
use super::roles::Principal;
use super::sessions::{Session, SessionPayload};
use super::token::{ct_eq, TokenHash};

type HmacSha256 = Hmac<Sha256>;

impl Authenticator {
    pub(super) fn mac(&self, label: &str, data: &str) -> Vec<u8> {
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
}
