//! The erasure hash: a keyed hash of a candidate id, salted by the active key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ring::PiiKeys;

impl PiiKeys {
    /// A salted, keyed hash of a candidate id (16 hex digits) for records
    /// that must not hold the id itself (the erasure's audit event). The
    /// salt is derived from the active key, so whoever holds the key ring can
    /// check whether a given id was erased; nobody else can.
    pub fn erasure_hash(&self, candidate_id: &str) -> String {
        let salt = hmac_sha256(&self.keys[0].raw, b"panelflow-erasure-salt");
        hex::encode(&hmac_sha256(&salt, candidate_id.as_bytes())[..8])
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}
