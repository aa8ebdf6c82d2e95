//! Sealing one value: encrypting with the active key, opening with
//! whichever key of the ring sealed it.

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::error::CryptoError;
use super::format::{NONCE_LEN, PREFIX};
use super::ring::PiiKeys;

impl PiiKeys {
    /// Encrypts one value with the active key.
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> Result<String, CryptoError> {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ct.len());
        blob.extend_from_slice(nonce.as_slice());
        blob.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}:{}", key.id, B64.encode(blob)))
    }

    /// Decrypts one value (a value without the prefix is returned as it is:
    /// data written before encryption was turned on).
    pub fn decrypt(&self, value: &str, aad: &[u8]) -> Result<String, CryptoError> {
        self.decrypt_in("?", "?", value, aad)
    }

    /// [`Self::decrypt`] with the table and column named in errors.
    pub fn decrypt_in(
        &self,
        table: &str,
        column: &str,
        value: &str,
        aad: &[u8],
    ) -> Result<String, CryptoError> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let malformed = |reason: &str| CryptoError::Malformed {
            table: table.to_string(),
            column: column.to_string(),
            reason: reason.to_string(),
        };
        let (id, b64) = rest.split_once(':').ok_or_else(|| malformed("no key id"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey {
                table: table.to_string(),
                column: column.to_string(),
                key_id: id.to_string(),
                have: self.key_ids().join(","),
            })?;
        let blob = B64.decode(b64).map_err(|_| malformed("not base64"))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(malformed("too short"));
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let pt = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Decrypt {
                table: table.to_string(),
                column: column.to_string(),
                key_id: id.to_string(),
            })?;
        String::from_utf8(pt).map_err(|_| malformed("plaintext is not UTF-8"))
    }
}
