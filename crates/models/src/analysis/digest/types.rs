//! What a digest holds: its sentences and its key facts.

use serde::{Deserialize, Serialize};

use crate::analysis::evidence::sentences::TimedSentence;

/// What kind of fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A number with its unit ("forty percent", "three weeks", "12 nurses").
    Quantity,
    /// A tool, method or skill of the vocabulary.
    Tool,
    /// A name: an employer, a client, a product, a place.
    Name,
    /// A result achieved ("cut the backlog to zero").
    Result,
    /// Something the candidate did ("added a second sign-off for price changes").
    Action,
}

/// One key fact and when it was said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFact {
    /// What kind.
    pub kind: FactKind,
    /// The words as transcribed.
    pub text: String,
    /// Seconds on the media's timeline.
    pub at: f64,
}

/// One answer's digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// One or two sentences, in the order said.
    pub sentences: Vec<TimedSentence>,
    /// The key facts, in the order said.
    pub key_facts: Vec<KeyFact>,
}

impl Digest {
    /// The digest's words, for search and for checking what it holds.
    pub fn text(&self) -> String {
        self.sentences
            .iter()
            .map(|s| s.text.as_str())
            .chain(self.key_facts.iter().map(|f| f.text.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
