//! CSRF tokens: derived from the session's nonce, so a form from another
//! site cannot act with the cookie (an `impl` of [`Authenticator`]).

use super::authenticator::Authenticator;
use super::token::ct_eq;

impl Authenticator {
    /// The CSRF token of the session with `nonce`.
    pub fn csrf_token(&self, nonce: &str) -> String {
        hex::encode(&self.mac("csrf", nonce)[..16])
    }

    /// Whether `token` is the CSRF token of the session with `nonce`.
    pub fn check_csrf(&self, nonce: &str, token: &str) -> bool {
        ct_eq(self.csrf_token(nonce).as_bytes(), token.trim().as_bytes())
    }
}
