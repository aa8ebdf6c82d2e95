//! Text sentiment per answer and overall, for information only: it never
//! changes a score, a flag or a decision (an answer about an outage that was
//! handled well is not a weaker answer for its subject). The VADER lexicon
//! model (the `vader_sentiment` crate), averaged over sentences, later
//! sentences counting more. The score is in [0, 1] (0 negative, 0.5
//! neutral, 1 positive).

use serde::{Deserialize, Serialize};

use super::text;

/// Score at or above which an answer is `positive`.
pub const POSITIVE_FROM: f64 = 0.6;
/// Score at or below which an answer is `negative`.
pub const NEGATIVE_UPTO: f64 = 0.40;
/// A sentiment label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Score ≥ [`POSITIVE_FROM`].
    Positive,
    /// In between.
    Neutral,
    /// Score ≤ [`NEGATIVE_UPTO`].
    Negative,
}

impl Label {
    /// The label of a score.
    pub fn of(score: f64) -> Self {
        if score >= POSITIVE_FROM {
            Label::Positive
        } else if score <= NEGATIVE_UPTO {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    /// `positive`, `neutral` or `negative`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }
}

/// The sentiment of a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// 0 (negative) … 1 (positive).
    pub score: f64,
    /// Label of the score.
    pub label: Label,
    /// VADER compound score (−1…1), averaged over sentences.
    pub lexicon_compound: f64,
}

/// The lexicon model.
pub struct SentimentModel {
    vader: vader_sentiment::SentimentIntensityAnalyzer<'static>,
}

impl std::fmt::Debug for SentimentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentimentModel").finish_non_exhaustive()
    }
}

impl Default for SentimentModel {
    fn default() -> Self {
        Self::new()
    }
}

impl SentimentModel {
    /// The lexicon model alone.
    pub fn new() -> Self {
        Self {
            vader: vader_sentiment::SentimentIntensityAnalyzer::new(),
        }
    }

    /// VADER compound (−1…1) of a text, averaged over its sentences by
    /// length, later sentences counting more (the last twice the first):
    /// how a story ends (its result) sets its tone.
    pub fn lexicon(&self, text_in: &str) -> f64 {
        let mut total = 0.0;
        let mut weight = 0.0;
        let spans = text::sentences(text_in);
        let n = spans.len();
        for (k, (a, b)) in spans.into_iter().enumerate() {
            let sentence = &text_in[a..b];
            let words = sentence.split_whitespace().count();
            if words == 0 {
                continue;
            }
            let scores = self.vader.polarity_scores(sentence);
            let compound = scores.get("compound").copied().unwrap_or(0.0);
            let recency = if n > 1 {
                1.0 + k as f64 / (n - 1) as f64
            } else {
                1.0
            };
            let w = (words as f64).sqrt() * recency;
            total += compound * w;
            weight += w;
        }
        if weight > 0.0 {
            total / weight
        } else {
            0.0
        }
    }

    /// The sentiment of a text.
    ///
    /// ```
    /// use panelflow_models::analysis::sentiment::{Label, SentimentModel};
    /// let m = SentimentModel::new();
    /// assert_eq!(m.score("My manager is terrible and I hate it here.").label, Label::Negative);
    /// assert_eq!(m.score("I love this team and I am proud of our great results!").label, Label::Positive);
    /// assert_eq!(m.score("I write reports in a spreadsheet.").label, Label::Neutral);
    /// ```
    pub fn score(&self, text_in: &str) -> Sentiment {
        let compound = self.lexicon(text_in);
        let score = ((compound + 1.0) / 2.0).clamp(0.0, 1.0);
        let score = (score * 1000.0).round() / 1000.0;
        Sentiment {
            score,
            label: Label::of(score),
            lexicon_compound: (compound * 1000.0).round() / 1000.0,
        }
    }
}
