//! [`Sym`], an interned string, and the hasher for maps keyed by it.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------
// Sym: an interned string, eight bytes.

type Registry = std::sync::RwLock<std::collections::HashMap<u64, &'static str>>;

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn sym_hash(s: &str) -> u64 {
    // SipHash-1-3 with fixed keys: the same string has the same id in every
    // thread and process of a build, so ids exchange between timely workers.
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// An identifier or label (candidate, posting, model version, category, …)
/// interned as a 64-bit hash of the string: eight bytes to copy, compare and
/// hash, which is what the arrangements do most. The string is kept in a
/// process-wide registry (never freed: ids are few next to the records that
/// repeat them) and sent as the string when records cross processes.
///
/// Equality is the string's (up to a 64-bit hash collision, which is logged);
/// the *order* is the ids' — arbitrary but the same everywhere — so code that
/// shows things in name order sorts by [`Sym::as_str`].
///
/// ```
/// use panelflow::aggregates::records::Sym;
/// let a = Sym::from("cand-0001");
/// let b = Sym::from(String::from("cand-0001"));
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "cand-0001");
/// assert_ne!(a, Sym::from("cand-0002"));
/// assert_eq!(serde_json::to_string(&a).unwrap(), "\"cand-0001\"");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sym(u64);

/// Hashes [`Sym`] ids (already well-mixed 64-bit hashes) with one
/// multiply-rotate per word (FxHash's step) instead of SipHash: the group
/// operators look a key up per update.
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use panelflow::aggregates::records::{IdHasher, Sym};
/// let hash = |s: &Sym| { let mut h = IdHasher::default(); s.hash(&mut h); h.finish() };
/// assert_eq!(hash(&Sym::from("a")), hash(&Sym::from("a")));
/// assert_ne!(hash(&Sym::from("a")), hash(&Sym::from("b")));
/// ```
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Sym`; folds other keys' bytes in, FxHash-style.
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A `HashMap` keyed by ids ([`Sym`]s, or tuples of them) hashed cheaply
/// with [`IdHasher`].
///
/// ```
/// use panelflow::aggregates::records::{IdMap, Sym};
/// let key: (Sym, Sym) = ("p".into(), "c".into());
/// let mut m: IdMap<(Sym, Sym), i64> = IdMap::default();
/// *m.entry(key.clone()).or_default() += 2;
/// assert_eq!(m[&key], 2);
/// ```
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

thread_local! {
    /// This thread's copy of the registry entries it has looked up: the
    /// shared registry's lock is taken once per id and thread, not per look-up.
    static LOCAL: std::cell::RefCell<IdMap<u64, &'static str>> = Default::default();
}

impl Sym {
    /// The string.
    pub fn as_str(&self) -> &'static str {
        LOCAL.with(|local| {
            if let Some(s) = local.borrow().get(&self.0) {
                return *s;
            }
            let found = {
                let map = registry().read().unwrap_or_else(|p| p.into_inner());
                map.get(&self.0).copied()
            };
            match found {
                Some(s) => {
                    local.borrow_mut().insert(self.0, s);
                    s
                }
                None => "",
            }
        })
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Self {
        let id = sym_hash(s);
        {
            let map = registry().read().unwrap_or_else(|p| p.into_inner());
            if let Some(known) = map.get(&id) {
                if *known != s {
                    tracing::error!(
                        a = *known,
                        b = s,
                        "64-bit id collision between two identifiers"
                    );
                }
                return Sym(id);
            }
        }
        let mut map = registry().write().unwrap_or_else(|p| p.into_inner());
        map.entry(id)
            .or_insert_with(|| Box::leak(s.to_string().into_boxed_str()));
        Sym(id)
    }
}

impl From<String> for Sym {
    fn from(s: String) -> Self {
        Sym::from(s.as_str())
    }
}

impl Default for Sym {
    fn default() -> Self {
        Sym::from("")
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0)
    }
}
impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Sym::from(s.as_ref()))
    }
}
