//! [`F64`], a totally ordered float for output rows.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// F64: a totally ordered float for output rows.

/// An `f64` with a total order (`f64::total_cmp`), so rows holding figures
/// can live in differential collections. Equality is bitwise.
///
/// ```
/// use panelflow::aggregates::records::F64;
/// assert!(F64(0.5) < F64(0.75));
/// assert_eq!(F64(1.0), F64(1.0));
/// ```
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for F64 {}
impl PartialOrd for F64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for F64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Hash for F64 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}
