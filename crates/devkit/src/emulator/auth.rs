//! Who may call `/v1`: HTTP Basic with the API key as the user name, the
//! key as a bearer token, or an unexpired access token the emulator's
//! OAuth endpoint issued.

use base64::Engine as _;
use panelflow_core::webhook::provider::constant_time_eq;
use sha2::{Digest, Sha256};

use super::state::{lock, Shared};

impl Shared {
    /// Returns `Some("basic:<fingerprint>")` when the credentials match.
    pub(super) fn authenticate(&self, authorization: Option<&str>) -> Option<String> {
        let value = authorization?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        let rest = rest.trim();
        let (kind, key) = if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let user = decoded
                .split_once(':')
                .map_or(decoded.as_str(), |(u, _)| u)
                .to_owned();
            ("basic", user)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(state) = lock(&self.oauth).as_mut() {
                let now = std::time::Instant::now();
                state.access.retain(|_, until| *until > now);
                if state.access.contains_key(rest) {
                    let digest = Sha256::digest(rest.as_bytes());
                    return Some(format!("oauth:{}", &hex::encode(digest)[..12]));
                }
            }
            ("bearer", rest.to_owned())
        } else {
            return None;
        };
        if !constant_time_eq(key.as_bytes(), self.api_key.as_bytes()) {
            return None;
        }
        let digest = Sha256::digest(key.as_bytes());
        Some(format!("{kind}:{}", &hex::encode(digest)[..12]))
    }
}
