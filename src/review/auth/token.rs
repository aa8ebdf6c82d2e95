//! Token hashing: the salted, slow PBKDF2-SHA256 `token_hash` of a user's
//! token, and equality in constant time.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// PBKDF2-HMAC-SHA256 iterations of [`hash_token`] (OWASP's figure).
pub const TOKEN_HASH_ITERATIONS: u32 = 600_000;
/// Fewest iterations a configured `token_hash` may use.
pub const MIN_TOKEN_HASH_ITERATIONS: u32 = 100_000;

/// A parsed `token_hash`.
#[derive(Clone)]
pub(super) struct TokenHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: [u8; 32],
    /// The configured text (fingerprinted into sessions).
    pub(super) text: String,
}

fn pbkdf2_sha256(token: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(token.as_bytes(), salt, iterations, &mut out);
    out
}

impl TokenHash {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
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

    pub(super) fn matches(&self, token: &str) -> bool {
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

/// Equality in time independent of where the inputs differ: the one
/// implementation, shared with the webhook signature checks.
pub(super) use panelflow_core::webhook::provider::constant_time_eq as ct_eq;
