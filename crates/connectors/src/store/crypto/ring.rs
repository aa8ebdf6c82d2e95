//! The key ring and where it comes from: base64 keys, key files, the
//! environment, `[governance]` and the generated development key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::error::CryptoError;
use super::format::{DEFAULT_KEY_ENV, KEY_LEN};
use crate::store::GovernanceSection;

pub(super) struct KeyEntry {
    pub(super) id: String,
    pub(super) cipher: Aes256Gcm,
    pub(super) raw: [u8; KEY_LEN],
}

/// A key ring: the first key encrypts, every key decrypts.
pub struct PiiKeys {
    pub(super) keys: Vec<KeyEntry>,
    pub(super) origin: String,
}

impl fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiKeys")
            .field("key_ids", &self.key_ids())
            .field("origin", &self.origin)
            .finish()
    }
}

/// The id of a key: 8 hex digits of SHA-256 over a label and the key.
pub fn key_id(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"panelflow-pii-key-id:");
    h.update(key);
    hex::encode(&h.finalize()[..4])
}

impl PiiKeys {
    /// A new random key, base64.
    pub fn generate_base64() -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        B64.encode(key.as_slice())
    }

    /// A ring from base64 keys (the first encrypts); `origin` names the
    /// source in errors.
    pub fn from_base64(keys: &[&str], origin: &str) -> Result<Self, CryptoError> {
        let mut ring = Vec::new();
        for (n, k) in keys.iter().enumerate() {
            let bad = |reason: String| CryptoError::BadKey {
                origin: origin.to_string(),
                index: n + 1,
                reason,
            };
            let bytes = B64
                .decode(k.trim())
                .map_err(|e| bad(format!("not base64: {e}")))?;
            let raw: [u8; KEY_LEN] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("{} bytes, want {KEY_LEN}", bytes.len())))?;
            let id = key_id(&raw);
            if ring.iter().any(|e: &KeyEntry| e.id == id) {
                continue;
            }
            ring.push(KeyEntry {
                id,
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)),
                raw,
            });
        }
        if ring.is_empty() {
            return Err(CryptoError::NoKey {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            keys: ring,
            origin: origin.to_string(),
        })
    }

    /// Parses a key file's text: one base64 key per line, `#` comments.
    pub fn from_key_file_text(text: &str, origin: &str) -> Result<Self, CryptoError> {
        let keys: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        Self::from_base64(&keys, origin)
    }

    /// The key ring configured by `[governance]`, or `None` when
    /// `encrypt_pii = false`. See the module docs for the sources.
    pub fn from_config(g: &GovernanceSection) -> Result<Option<Arc<Self>>, CryptoError> {
        if !g.encrypt_pii {
            return Ok(None);
        }
        Self::load(g).map(|k| Some(Arc::new(k)))
    }

    /// The key ring named by `[governance]`, whether or not new values are
    /// encrypted (erasure hashes and reading older data need it).
    pub fn load(g: &GovernanceSection) -> Result<Self, CryptoError> {
        let env = if g.key_env.is_empty() {
            DEFAULT_KEY_ENV
        } else {
            g.key_env.as_str()
        };
        if let Ok(v) = std::env::var(env) {
            if !v.trim().is_empty() {
                let keys: Vec<&str> = v
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .collect();
                return Self::from_base64(&keys, &format!("${env}"));
            }
        }
        if let Some(path) = &g.key_file {
            return Self::read_key_file(path);
        }
        Self::default_key_file(&default_key_path())
    }

    /// Reads a key file (warns when others may read it).
    pub fn read_key_file(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read_to_string(path).map_err(|source| CryptoError::KeyFile {
            path: path.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), "PII key file is readable by group or others; chmod 600 it");
                }
            }
        }
        Self::from_key_file_text(&text, &path.display().to_string())
    }

    /// Reads `path`, generating it (mode 0600, one new key) when missing.
    /// Concurrent first calls agree on one key: the file appears whole, by a
    /// hard link that fails if another process made it first.
    pub fn default_key_file(path: &Path) -> Result<Self, CryptoError> {
        if !path.exists() {
            let io = |source| CryptoError::KeyFile {
                path: path.to_path_buf(),
                source,
            };
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(io)?;
            let mut builder = tempfile::Builder::new();
            builder.prefix(".pii-key-").suffix(".tmp");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                builder.permissions(std::fs::Permissions::from_mode(0o600));
            }
            let tmp = builder.tempfile_in(dir).map_err(io)?;
            let text = format!(
                "# panelflow PII key ring, generated {}: the first key encrypts, all decrypt.\n\
                 # Development default only: production provisions keys from a secret store.\n{}\n",
                chrono::Utc::now().to_rfc3339(),
                Self::generate_base64()
            );
            std::fs::write(tmp.path(), text).map_err(io)?;
            tmp.as_file().sync_all().map_err(io)?;
            match std::fs::hard_link(tmp.path(), path) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "generated a development PII key; production deployments set [governance] key_file or PANELFLOW_PII_KEY"
                ),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        Self::read_key_file(path)
    }

    /// Id of the key that encrypts.
    pub fn active_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Ids of every key in the ring, the active one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }
}

/// The default key file: `<cache>/keys/pii.key`.
pub fn default_key_path() -> PathBuf {
    panelflow_core::paths::cache_dir()
        .join("keys")
        .join("pii.key")
}
