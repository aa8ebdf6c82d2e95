//! A feedback draft: its items (strengths and areas for development, each
//! with its citation), its text, and why none could be made.

use serde::Serialize;

use crate::review::page::clock;

/// Which list an item of a draft belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// What went well.
    Strength,
    /// What to work on.
    Development,
}

/// One point of a draft: a sentence and the answer it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftItem {
    /// Strength or area for development.
    pub kind: Kind,
    /// The sentence (plain, kind, specific).
    pub sentence: String,
    /// The question answered.
    pub question: String,
    /// Its id, when known.
    pub question_id: Option<String>,
    /// The candidate's words behind it, when they said any.
    pub quote: Option<String>,
    /// When they were said, seconds on the recording.
    pub at: Option<f64>,
}

impl DraftItem {
    /// The item as a line of the draft: the sentence and its citation.
    pub fn line(&self) -> String {
        let cite = match (&self.quote, self.at) {
            (Some(q), Some(at)) => format!(
                "(Your answer to “{}”, at {}: “{q}”)",
                short(&self.question),
                clock(at)
            ),
            (Some(q), None) => format!("(Your answer to “{}”: “{q}”)", short(&self.question)),
            _ => format!(
                "(Your answer to “{}”: no answer was recorded)",
                short(&self.question)
            ),
        };
        format!("- {} {cite}", self.sentence)
    }
}

/// A feedback draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    /// The interview it is drawn from.
    pub interview_id: String,
    /// Two to four strengths, then one to three areas for development.
    pub items: Vec<DraftItem>,
}

impl Draft {
    /// The draft as the recruiter edits it.
    pub fn text(&self) -> String {
        let mut o = String::from("Strengths\n");
        for i in self.items.iter().filter(|i| i.kind == Kind::Strength) {
            o.push_str(&i.line());
            o.push('\n');
        }
        o.push_str("\nAreas for development\n");
        for i in self.items.iter().filter(|i| i.kind == Kind::Development) {
            o.push_str(&i.line());
            o.push('\n');
        }
        o
    }
}

fn short(question: &str) -> String {
    let w: Vec<&str> = question.split_whitespace().collect();
    let mut s = w.iter().take(12).copied().collect::<Vec<_>>().join(" ");
    if w.len() > 12 {
        s.push('…');
    }
    s
}

/// Why no draft could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// The interview has no analysis (its media failed).
    #[error("this interview has no analysis to draw feedback from")]
    NoAnalysis,
    /// Too little evidence for two strengths and one area for development.
    #[error("the answers hold too little evidence for a fair draft ({strengths} strength(s), {areas} area(s) found); write this feedback by hand")]
    TooLittle {
        /// Strengths found.
        strengths: usize,
        /// Areas found.
        areas: usize,
    },
}
