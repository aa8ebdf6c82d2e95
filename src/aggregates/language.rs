//! `interviewer_language`: phrases that should not be asked (age, family,
//! origin, health, …), found in the questions as spoken, with quotes.
//!
//! The phrases come from a reviewed list (`datasets/interviewer_language.json`,
//! embedded as the default; `phrases_file` in the config points elsewhere).
//! Text and phrases are normalised alike ([`panelflow_models::analysis::wer::normalize`]:
//! lower case, no punctuation, numbers spelled out) and a phrase matches
//! where its words appear contiguously. Each hit is a row with the sentence
//! it was found in as the quote; retracting the question retracts its hits.
//!
//! ```
//! use panelflow::aggregates::language::PhraseList;
//! let list = PhraseList::embedded().unwrap();
//! let hits = list.find("Thanks for joining. How old are you, by the way? Tell me about your last project.");
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].category, "age");
//! assert_eq!(hits[0].quote, "How old are you, by the way?");
//! ```

use std::path::Path;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::records::{QuestionRecord, Sym};
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};
use panelflow_models::analysis::wer::normalize;

/// The reviewed list shipped with panelflow.
pub const EMBEDDED_LIST: &str = include_str!("../../datasets/interviewer_language.json");

/// Errors loading a phrase list.
#[derive(Debug, thiserror::Error)]
pub enum PhraseListError {
    /// The file could not be read.
    #[error("cannot read phrase list {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The JSON is not a phrase list.
    #[error("invalid phrase list: {0}")]
    Parse(#[from] serde_json::Error),
    /// The list has no phrase, or an empty one.
    #[error("invalid phrase list: {0}")]
    Invalid(String),
}

/// One reviewed phrase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrase {
    /// `age`, `family`, `origin`, `health`, `religion`, …
    pub category: String,
    /// The phrase.
    pub phrase: String,
    /// Why it should not be asked.
    pub reason: String,
}

/// The file's shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseFile {
    /// Version of the list.
    pub version: String,
    /// Who reviewed it, and how.
    pub reviewed_by: String,
    /// When (YYYY-MM-DD).
    pub reviewed_at: String,
    /// Notes on scope and matching.
    #[serde(default)]
    pub notes: String,
    /// The phrases.
    pub phrases: Vec<Phrase>,
}

/// A phrase found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Its category.
    pub category: String,
    /// The phrase.
    pub phrase: String,
    /// The sentence it was found in.
    pub quote: String,
}

/// A loaded phrase list, ready to match.
#[derive(Clone, Debug)]
pub struct PhraseList {
    /// The list's version.
    pub version: String,
    phrases: Vec<(Phrase, Vec<String>)>,
}

impl PhraseList {
    /// Parses a list.
    pub fn parse(json: &str) -> Result<Self, PhraseListError> {
        let file: PhraseFile = serde_json::from_str(json)?;
        if file.phrases.is_empty() {
            return Err(PhraseListError::Invalid("no phrases".into()));
        }
        let mut phrases = Vec::new();
        for p in file.phrases {
            let words = normalize(&p.phrase);
            if words.is_empty() {
                return Err(PhraseListError::Invalid(format!(
                    "phrase {:?} has no words",
                    p.phrase
                )));
            }
            phrases.push((p, words));
        }
        Ok(Self {
            version: file.version,
            phrases,
        })
    }

    /// The list shipped with panelflow.
    pub fn embedded() -> Result<Self, PhraseListError> {
        Self::parse(EMBEDDED_LIST)
    }

    /// Loads a list from a file.
    pub fn load(path: &Path) -> Result<Self, PhraseListError> {
        let text = std::fs::read_to_string(path).map_err(|source| PhraseListError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Number of phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// Whether empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The phrases found in `text`, each once per sentence, in list order.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        for sentence in sentences(text) {
            let words = normalize(sentence);
            for (p, needle) in &self.phrases {
                if words.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    hits.push(Hit {
                        category: p.category.clone(),
                        phrase: p.phrase.clone(),
                        quote: sentence.to_string(),
                    });
                }
            }
        }
        hits
    }
}

/// Splits text into sentences at `.`, `?` and `!` (kept), trimmed.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '?' | '!') {
            let s = text[start..i + c.len_utf8()].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + c.len_utf8();
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// One row of the `interviewer_language` table: a phrase found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LanguageRow {
    /// Posting.
    pub posting: Sym,
    /// Interviewer, when known.
    pub interviewer: Option<Sym>,
    /// Interview.
    pub interview: Sym,
    /// Candidate.
    pub candidate: Sym,
    /// Question id.
    pub question: Sym,
    /// Category of the phrase.
    pub category: String,
    /// The phrase.
    pub phrase: String,
    /// The sentence it was found in.
    pub quote: String,
    /// When the question was asked (ms since the epoch).
    pub asked_at_ms: i64,
}

impl TableRow for LanguageRow {
    const TABLE: &'static str = "interviewer_language";
    const KEY: &'static [&'static str] = &["interview_id", "question_id", "phrase", "quote"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("posting_id", Utf8, false),
            Column::new("interviewer_id", Utf8, true),
            Column::new("interview_id", Utf8, false),
            Column::new("candidate_id", Utf8, false),
            Column::new("question_id", Utf8, false),
            Column::new("category", Utf8, false),
            Column::new("phrase", Utf8, false),
            Column::new("quote", Utf8, false),
            Column::new("asked_at", Utf8, false),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(&self.posting);
        out.opt_str(self.interviewer.as_deref());
        out.str(&self.interview);
        out.str(&self.candidate);
        out.str(&self.question);
        out.str(&self.category);
        out.str(&self.phrase);
        out.str(&self.quote);
        out.str(&super::records::rfc3339(self.asked_at_ms));
    }
}

/// The rows of one asked question.
pub fn language_rows(list: &PhraseList, q: &QuestionRecord) -> Vec<LanguageRow> {
    list.find(&q.asked)
        .into_iter()
        .map(|h| LanguageRow {
            posting: q.posting.clone(),
            interviewer: q.interviewer.clone(),
            interview: q.interview.clone(),
            candidate: q.candidate.clone(),
            question: q.question.clone(),
            category: h.category,
            phrase: h.phrase,
            quote: h.quote,
            asked_at_ms: q.at_ms,
        })
        .collect()
}

/// The `interviewer_language` operator.
pub trait InterviewerLanguage<'scope, T: Time> {
    /// The listed phrases found in the asked questions.
    fn interviewer_language(self, list: Arc<PhraseList>) -> VecCollection<'scope, T, LanguageRow>;
}

impl<'scope, T: Time> InterviewerLanguage<'scope, T> for VecCollection<'scope, T, QuestionRecord> {
    fn interviewer_language(self, list: Arc<PhraseList>) -> VecCollection<'scope, T, LanguageRow> {
        self.flat_map(move |q| language_rows(&list, &q))
            .consolidate()
    }
}
