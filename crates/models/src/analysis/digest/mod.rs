//! The digest of one answer, what a recruiter reads in seconds: one or two
//! sentences chosen for their content (what was done, what came of it),
//! and the key facts — quantities, durations, tools, organisations,
//! results — each with the moment it was said, so the player seeks to it.

mod facts;
mod select;
mod types;

pub use self::select::digest;
pub use self::types::{Digest, FactKind, KeyFact};

#[cfg(test)]
mod tests;
