//! Webhook signatures: HMAC-SHA256, compared in constant time.
//!
//! Two schemes are implemented:
//! - **Lever**: `signature` = hex HMAC-SHA256 keyed by the webhook's signature
//!   token over `token + triggeredAt` (string concatenation, no separator),
//!   both fields taken from the body itself;
//! - **body HMAC** (the generic source, and any platform without a scheme of
//!   its own): header `X-Panelflow-Signature: sha256=<hex HMAC-SHA256 of the
//!   raw body>`.
//!
//! Verification goes through `hmac`'s `verify_slice`, which compares in
//! constant time; a signature is never compared with `==`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a body-HMAC header value.
pub const BODY_SIGNATURE_PREFIX: &str = "sha256=";

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is not of the expected form (not hex, wrong prefix, wrong length).
    #[error("signature is not well-formed: {0}")]
    Malformed(String),
    /// The signature is well-formed but does not match the content and key.
    #[error("signature does not match")]
    Mismatch,
    /// No key is configured (panelflow fails closed).
    #[error("no signing key configured")]
    NoKey,
}

fn mac(key: &[u8]) -> Result<HmacSha256, SignatureError> {
    if key.is_empty() {
        return Err(SignatureError::NoKey);
    }
    // HMAC accepts keys of any length; this cannot fail for a non-empty key.
    HmacSha256::new_from_slice(key).map_err(|_| SignatureError::NoKey)
}

fn decode_sha256_hex(signature_hex: &str) -> Result<Vec<u8>, SignatureError> {
    let trimmed = signature_hex.trim();
    let bytes =
        hex::decode(trimmed).map_err(|e| SignatureError::Malformed(format!("not hex: {e}")))?;
    if bytes.len() != 32 {
        return Err(SignatureError::Malformed(format!(
            "expected 32 bytes (64 hex digits), got {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Lever's signature of a webhook: lowercase hex HMAC-SHA256 keyed by `key`
/// over `token + triggered_at`.
///
/// ```
/// use panelflow_core::webhook::signature::{sign_lever, verify_lever};
/// let sig = sign_lever("tok", "1700000000000", b"key");
/// assert!(verify_lever("tok", "1700000000000", &sig, b"key").is_ok());
/// ```
pub fn sign_lever(token: &str, triggered_at: &str, key: &[u8]) -> String {
    // An empty key yields a signature nobody can verify (verification fails closed).
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    m.update(token.as_bytes());
    m.update(triggered_at.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Verifies Lever's signature: `signature_hex` must be the hex HMAC-SHA256,
/// keyed by `key` (the webhook's signature token), of `token + triggered_at`
/// where `triggered_at` is the decimal milliseconds exactly as sent.
pub fn verify_lever(
    token: &str,
    triggered_at: &str,
    signature_hex: &str,
    key: &[u8],
) -> Result<(), SignatureError> {
    let mut m = mac(key)?;
    let expected = decode_sha256_hex(signature_hex)?;
    m.update(token.as_bytes());
    m.update(triggered_at.as_bytes());
    m.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value for a body HMAC: `sha256=<hex HMAC-SHA256 of body>`.
///
/// ```
/// use panelflow_core::webhook::signature::{sign_body, verify_body_hmac};
/// let header = sign_body(br#"{"data":{}}"#, b"secret");
/// assert!(header.starts_with("sha256="));
/// assert!(verify_body_hmac(br#"{"data":{}}"#, &header, b"secret").is_ok());
/// ```
pub fn sign_body(body: &[u8], key: &[u8]) -> String {
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    m.update(body);
    format!(
        "{BODY_SIGNATURE_PREFIX}{}",
        hex::encode(m.finalize().into_bytes())
    )
}

/// Verifies a body HMAC header (`sha256=<hex>`; the prefix is matched
/// case-insensitively) against the raw body.
pub fn verify_body_hmac(body: &[u8], header_value: &str, key: &[u8]) -> Result<(), SignatureError> {
    let mut m = mac(key)?;
    let value = header_value.trim();
    let hex_part = match value.split_once('=') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sha256") => rest,
        _ => {
            return Err(SignatureError::Malformed(format!(
                "expected `{BODY_SIGNATURE_PREFIX}<hex>`"
            )))
        }
    };
    let expected = decode_sha256_hex(hex_part)?;
    m.update(body);
    m.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python:
    // hmac.new(b'lever-signature-token', b'9f3c2a1b-token1700000000000', sha256).hexdigest()
    const LEVER_VECTOR: &str = "edecbbab04a710a55bc92d9d8f5a00c9512ae4cdc0da72525b987ab73fa4347c";
    // hmac.new(b'generic-secret', b'{"data":{}}', sha256).hexdigest()
    const BODY_VECTOR: &str = "20ad246aa09504d770a97d96b070e96d70219b6e74f21554f0010aeb32ca2514";

    #[test]
    fn lever_known_vector() {
        let key = b"lever-signature-token";
        assert_eq!(
            sign_lever("9f3c2a1b-token", "1700000000000", key),
            LEVER_VECTOR
        );
        assert_eq!(
            verify_lever("9f3c2a1b-token", "1700000000000", LEVER_VECTOR, key),
            Ok(())
        );
        // Uppercase hex is the same signature.
        assert_eq!(
            verify_lever(
                "9f3c2a1b-token",
                "1700000000000",
                &LEVER_VECTOR.to_uppercase(),
                key
            ),
            Ok(())
        );
    }

    #[test]
    fn lever_refuses_any_change() {
        let key = b"lever-signature-token";
        assert_eq!(
            verify_lever("9f3c2a1b-token", "1700000000001", LEVER_VECTOR, key),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_lever("9f3c2a1b-tokem", "1700000000000", LEVER_VECTOR, key),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_lever("9f3c2a1b-token", "1700000000000", LEVER_VECTOR, b"other"),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify_lever("9f3c2a1b-token", "1700000000000", "zz", key),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_lever("9f3c2a1b-token", "1700000000000", &LEVER_VECTOR[..62], key),
            Err(SignatureError::Malformed(_))
        ));
        assert_eq!(
            verify_lever("9f3c2a1b-token", "1700000000000", LEVER_VECTOR, b""),
            Err(SignatureError::NoKey)
        );
    }

    #[test]
    fn body_known_vector() {
        let header = format!("sha256={BODY_VECTOR}");
        assert_eq!(sign_body(br#"{"data":{}}"#, b"generic-secret"), header);
        assert_eq!(
            verify_body_hmac(br#"{"data":{}}"#, &header, b"generic-secret"),
            Ok(())
        );
        assert_eq!(
            verify_body_hmac(
                br#"{"data":{}}"#,
                &format!("SHA256={BODY_VECTOR}"),
                b"generic-secret"
            ),
            Ok(())
        );
    }

    #[test]
    fn body_refuses_tampering_and_bad_headers() {
        let header = sign_body(b"payload", b"k");
        assert_eq!(
            verify_body_hmac(b"payload ", &header, b"k"),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify_body_hmac(b"payload", BODY_VECTOR, b"k"),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_body_hmac(b"payload", "sha1=abcd", b"k"),
            Err(SignatureError::Malformed(_))
        ));
        assert_eq!(
            verify_body_hmac(b"payload", &header, b""),
            Err(SignatureError::NoKey)
        );
    }
}
