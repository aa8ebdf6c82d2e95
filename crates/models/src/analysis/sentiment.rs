//! Text sentiment per answer and overall: the VADER lexicon model (the
//! `vader_sentiment` crate) averaged over sentences, combined with
//! sentence-embedding prototypes of positive, neutral and negative answers.
//! The score is in [0, 1] (0 negative, 0.5 neutral, 1 positive).

use serde::{Deserialize, Serialize};

use super::embed::{centroid, cosine, Embedder};
use super::{text, AnalysisError};

/// Score at or above which an answer is `positive`.
pub const POSITIVE_FROM: f64 = 0.6;
/// Score at or below which an answer is `negative`.
pub const NEGATIVE_UPTO: f64 = 0.40;
/// Softmax temperature over prototype similarities.
const TEMPERATURE: f64 = 0.04;
/// Weight of the embedding side when both are available.
const EMBEDDING_WEIGHT: f64 = 0.6;

/// What a positive answer sounds like.
const POSITIVE: [&str; 8] = [
    "I am proud of the result and I really enjoyed the work.",
    "It went very well, the customer was happy and thanked us.",
    "I love what your team builds and I would be excited to join.",
    "We had a serious problem, I fixed it, and as a result performance improved a lot.",
    "The customer was upset, I solved the issue quickly and they stayed with us.",
    "We won the deal and grew revenue by a large amount.",
    "I am passionate about this and I believe in the product.",
    "I beat my targets every year and I am really happy with my results.",
];
/// What a neutral, factual answer sounds like.
const NEUTRAL: [&str; 8] = [
    "I have worked as an analyst for five years.",
    "I use these tools every day for my work.",
    "I write tests and review the reports every week.",
    "My job includes answering emails and updating records.",
    "I check the numbers against the source system.",
    "I studied computer science and then joined a software company.",
    "I write reports in our tracking tool and attend the weekly meeting.",
    "Before that I worked in retail for a few years.",
];
/// What a negative answer sounds like.
const NEGATIVE: [&str; 7] = [
    "My manager is terrible and the company is a mess.",
    "It is stressful, I feel overwhelmed and I struggle to keep up.",
    "Honestly I don't know, nothing really works and it is frustrating.",
    "I am tired of being blamed and nobody listens to me.",
    "Customers are angry and complain all the time.",
    "I hate my job and I want to get out.",
    "I am not sure, I don't really have an example.",
];

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
    /// Embedding-prototype score (0…1), when the embedding model ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_score: Option<f64>,
}

/// The lexicon model and, once [`SentimentModel::prepare`] ran, the prototypes.
pub struct SentimentModel {
    vader: vader_sentiment::SentimentIntensityAnalyzer<'static>,
    prototypes: Option<[Vec<f32>; 3]>,
}

impl std::fmt::Debug for SentimentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentimentModel")
            .field("prototypes", &self.prototypes.is_some())
            .finish_non_exhaustive()
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
            prototypes: None,
        }
    }

    /// Embeds the prototypes (positive, neutral, negative).
    pub fn prepare(&mut self, embedder: &mut Embedder) -> Result<(), AnalysisError> {
        let mut classes = Vec::with_capacity(3);
        for set in [&POSITIVE[..], &NEUTRAL[..], &NEGATIVE[..]] {
            classes.push(centroid(&embedder.embed(set)?));
        }
        let neg = classes.pop().unwrap_or_default();
        let neu = classes.pop().unwrap_or_default();
        let pos = classes.pop().unwrap_or_default();
        self.prototypes = Some([pos, neu, neg]);
        Ok(())
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

    /// Prototype score (0…1) of an embedding: softmax over the three
    /// similarities, positive counting 1 and neutral ½.
    pub fn prototype_score(&self, embedding: &[f32]) -> Option<f64> {
        let [pos, neu, neg] = self.prototypes.as_ref()?;
        let sims = [
            cosine(embedding, pos),
            cosine(embedding, neu),
            cosine(embedding, neg),
        ];
        let max = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = sims
            .iter()
            .map(|s| ((s - max) / TEMPERATURE).exp())
            .collect();
        let z: f64 = e.iter().sum();
        Some((e[0] + 0.5 * e[1]) / z)
    }

    /// The sentiment of a text, with its embedding when there is one.
    ///
    /// ```
    /// use panelflow_models::analysis::sentiment::{Label, SentimentModel};
    /// let m = SentimentModel::new();
    /// assert_eq!(m.score("My manager is terrible and I hate it here.", None).label, Label::Negative);
    /// assert_eq!(m.score("I love this team and I am proud of our great results!", None).label, Label::Positive);
    /// assert_eq!(m.score("I write reports in a spreadsheet.", None).label, Label::Neutral);
    /// ```
    pub fn score(&self, text_in: &str, embedding: Option<&[f32]>) -> Sentiment {
        let compound = self.lexicon(text_in);
        let lexical = (compound + 1.0) / 2.0;
        let embedding_score = embedding.and_then(|e| self.prototype_score(e));
        let score = match embedding_score {
            Some(s) => (1.0 - EMBEDDING_WEIGHT) * lexical + EMBEDDING_WEIGHT * s,
            None => lexical,
        };
        let score = (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
        Sentiment {
            score,
            label: Label::of(score),
            lexicon_compound: (compound * 1000.0).round() / 1000.0,
            embedding_score: embedding_score.map(|s| (s * 1000.0).round() / 1000.0),
        }
    }
}

/// Whether a text speaks ill of an employer, manager or colleagues: a
/// sentence with a negative lexicon score that names one of them.
pub fn employer_negativity<'a>(model: &SentimentModel, text_in: &'a str) -> Vec<&'a str> {
    const WHO: [&str; 16] = [
        "manager",
        "boss",
        "company",
        "employer",
        "management",
        "leadership",
        "team",
        "colleagues",
        "coworkers",
        "nobody",
        "they",
        "leads",
        "job",
        "firm",
        "director",
        "supervisor",
    ];
    text::sentences(text_in)
        .into_iter()
        .map(|(a, b)| &text_in[a..b])
        .filter(|s| {
            let words = text::norm_words(s);
            words.iter().any(|w| WHO.contains(&w.as_str())) && model.lexicon(s) <= -0.3
        })
        .collect()
}
