//! The general evidence of one answer: features that hold for any answer to
//! any question, each in 0..1, with the sentences (and their times) that
//! showed it.
//!
//! | feature | what it measures | how |
//! | --- | --- | --- |
//! | `anchor_fit` | the answer reads like the competency's strong anchors, not its weak ones | sentence-embedding similarity to the four behavioural anchors |
//! | `specific_situation` | one real past occasion rather than generalities | sentences in the past tense, a time or place pinned down |
//! | `generic` | habits, hypotheticals, self-description instead of an example | "I always…", "I would…", "I'm a…", a generic "you" (on questions that ask for an example) |
//! | `own_actions` | what the candidate did themselves | "I" + an action verb, any tense (a "we" counts half) |
//! | `own_share` | how much of the answer is about their own actions | share of sentences with one |
//! | `outcome` | a result is stated | result connectives, verbs of change in the past |
//! | `measured` | the result is measured | a quantity in a result sentence (half: anywhere) |
//! | `reflection` | a lesson drawn or a lasting change | "I learned", "since then", "next time" |
//! | `details` | concrete details | numbers and names (employers, tools, places) |
//! | `blame` | the fault put on others with derogatory words, or disowned | "lazy", "not my fault" about people |
//! | `evasion` | the question declined or dodged | "I'd rather not", "I can't think of one" |
//! | `off_topic` | about something else: private life, or nothing near the question and its competency | similarity to a private-life prototype; to the question and to the competency's anchors |
//!
//! Hedging (a candidate unsure of their own answer) is measured too, but it lowers the
//! score's confidence, never the score (see [`Hedging`]). Voice (pace,
//! pauses, pitch, fillers) and sentiment are not evidence at all.

pub mod cues;
pub mod sentences;

use serde::{Deserialize, Serialize};

use self::cues::{cues, SentenceCues};
use self::sentences::TimedSentence;
use crate::analysis::text;

/// Number of features.
pub const FEATURES: usize = 12;

/// Feature names, in the order of [`Features::values`].
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "anchor_fit",
    "specific_situation",
    "generic",
    "own_actions",
    "own_share",
    "outcome",
    "measured",
    "reflection",
    "details",
    "blame",
    "evasion",
    "off_topic",
];

/// Whether each feature may only raise (+1) or only lower (−1) a score:
/// the scoring model is monotone in every feature.
pub const FEATURE_SIGNS: [f64; FEATURES] = [
    1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0,
];

/// The features of one answer, each in 0..1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Closer to the strong anchors than the weak ones.
    pub anchor_fit: f64,
    /// One real past occasion.
    pub specific_situation: f64,
    /// Share of habitual, hypothetical or self-describing sentences.
    pub generic: f64,
    /// The candidate's own actions (a count, saturating).
    pub own_actions: f64,
    /// Share of sentences with an own action.
    pub own_share: f64,
    /// A result stated.
    pub outcome: f64,
    /// A measured result.
    pub measured: f64,
    /// A lesson drawn.
    pub reflection: f64,
    /// Concrete details: numbers and names.
    pub details: f64,
    /// Fault put on others.
    pub blame: f64,
    /// The question declined or dodged.
    pub evasion: f64,
    /// About something else.
    pub off_topic: f64,
}

impl Features {
    /// The values in [`FEATURE_NAMES`] order.
    pub fn values(&self) -> [f64; FEATURES] {
        [
            self.anchor_fit,
            self.specific_situation,
            self.generic,
            self.own_actions,
            self.own_share,
            self.outcome,
            self.measured,
            self.reflection,
            self.details,
            self.blame,
            self.evasion,
            self.off_topic,
        ]
    }

    /// Features from values in [`FEATURE_NAMES`] order.
    pub fn from_values(v: [f64; FEATURES]) -> Self {
        Self {
            anchor_fit: v[0],
            specific_situation: v[1],
            generic: v[2],
            own_actions: v[3],
            own_share: v[4],
            outcome: v[5],
            measured: v[6],
            reflection: v[7],
            details: v[8],
            blame: v[9],
            evasion: v[10],
            off_topic: v[11],
        }
    }
}

/// How much the candidate hedged their own answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hedging {
    /// "I'm not sure", "I don't know", "I guess", …
    pub strong: usize,
    /// "maybe", "probably", "kind of", …
    pub mild: usize,
    /// The first sentence that hedged, with its time.
    pub quote: Option<TimedSentence>,
}

impl Hedging {
    /// Whether the answer should be clarified before it is relied on: a
    /// strong hedge, or mild ones at more than one in twenty-five words.
    /// An answer that tells a specific, measured story is not uncertain
    /// for one stray "I don't know" inside it.
    pub fn uncertain(&self, words: usize, specific_and_measured: bool) -> bool {
        let mild_dense = self.mild as f64 > (words as f64 / 25.0).max(1.0);
        if specific_and_measured {
            self.strong >= 2
        } else {
            self.strong >= 1 || mild_dense
        }
    }
}

/// A sentence that moved a feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceQuote {
    /// The feature (a name of [`FEATURE_NAMES`]).
    pub feature: String,
    /// The sentence.
    pub text: String,
    /// When it was said, seconds on its media's timeline.
    pub at: f64,
}

/// Embedding similarities the analyzer computed for an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Similarities {
    /// Cosine similarity of the answer to its question.
    pub to_question: Option<f64>,
    /// Cosine similarity of the answer to the competency's four anchors (levels 1–4).
    pub to_anchors: Option<[f64; 4]>,
    /// Cosine similarity of the answer to [`PRIVATE_LIFE`].
    pub to_private_life: Option<f64>,
}

/// What an answer about private life instead of work sounds like (an
/// off-topic answer is closer to it than answers about work are).
pub const PRIVATE_LIFE: &str =
    "In my free time I enjoy hobbies, sports, travel, my family and my weekends.";

/// Openings of questions that ask for a past example ("Tell us about a
/// time…"): there, habits and hypotheticals stand in for the example asked.
const ASKS_FOR_AN_EXAMPLE: [&str; 11] = [
    "a time",
    "an example",
    "describe a situation",
    "describe a time",
    "tell us about a",
    "tell me about a",
    "when did you",
    "have you ever",
    "walk us through a",
    "give an example",
    "a situation",
];

/// Whether a question asks for a past example.
pub fn asks_for_an_example(question: &str) -> bool {
    let q = question.to_lowercase();
    ASKS_FOR_AN_EXAMPLE.iter().any(|p| q.contains(p))
}

/// One answer's evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The features.
    pub features: Features,
    /// The sentences behind them.
    pub quotes: Vec<EvidenceQuote>,
    /// Hedging (confidence only).
    pub hedging: Hedging,
    /// Words in the answer.
    pub words: usize,
}

/// Softmax temperature over anchor similarities.
const ANCHOR_TEMPERATURE: f64 = 0.02;

/// How far an answer is off topic, from its similarity to private life
/// (work answers sit below 0.15, answers about hobbies above 0.3) and to
/// what was asked: the question, or the nearest anchor of the competency it
/// reached (an answer about anything near them sits above 0.1). The anchors
/// count because a concrete story shares few words with a generic question
/// ("a mistake you made at work" and a story about eye drops sit near 0.05),
/// so the question alone made relevance hang on a few words, and a few
/// misheard words moved it by half the scale.
///
/// ```
/// use panelflow_models::analysis::evidence::{off_topic_of, Similarities};
/// let story = Similarities {
///     to_question: Some(0.02),
///     to_anchors: Some([0.05, 0.12, 0.20, 0.31]),
///     to_private_life: Some(-0.05),
/// };
/// assert_eq!(off_topic_of(&story), 0.0);
/// let hobby = Similarities { to_private_life: Some(0.4), ..story };
/// assert_eq!(off_topic_of(&hobby), 1.0);
/// let elsewhere = Similarities { to_anchors: Some([0.0; 4]), ..story };
/// assert!((off_topic_of(&elsewhere) - 0.8).abs() < 1e-9);
/// ```
pub fn off_topic_of(sims: &Similarities) -> f64 {
    let private = sims
        .to_private_life
        .map_or(0.0, |s| ((s - 0.15) / 0.2).clamp(0.0, 1.0));
    // Without a question nothing is taken for off topic.
    let near = sims.to_question.map(|q| {
        sims.to_anchors
            .map_or(q, |a| a.iter().copied().fold(q, f64::max))
    });
    let far = near.map_or(0.0, |s| ((0.10 - s) / 0.1).clamp(0.0, 1.0));
    private.max(far)
}

/// The expected anchor level (softmax over the similarities), on 0..1.
fn anchor_fit_of(sims: &[f64; 4]) -> f64 {
    let max = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = sims
        .iter()
        .map(|s| ((s - max) / ANCHOR_TEMPERATURE).exp())
        .collect();
    let z: f64 = e.iter().sum();
    let level: f64 = e
        .iter()
        .enumerate()
        .map(|(k, w)| (k as f64 + 1.0) * w)
        .sum::<f64>()
        / z;
    ((level - 1.0) / 3.0).clamp(0.0, 1.0)
}

/// The evidence of an answer from its timed sentences, its question and
/// the embedding similarities (without them, `anchor_fit` is neutral and
/// nothing is taken for off topic).
///
/// ```
/// use panelflow_models::analysis::evidence::{evidence, Similarities};
/// use panelflow_models::analysis::evidence::sentences::TimedSentence;
/// let s = |t: &str, at: f64| TimedSentence { text: t.into(), start: at, end: at + 3.0 };
/// let strong = evidence(&[
///     s("Last spring our night shift kept missing the delivery window.", 0.5),
///     s("I mapped every late order and I moved the picking to start an hour earlier.", 4.0),
///     s("As a result late deliveries fell by forty percent in six weeks.", 9.0),
///     s("Since then I check the numbers every Monday.", 13.0),
/// ], "Tell us about a problem you solved.", Similarities::default());
/// let vague = evidence(&[
///     s("I always try to solve problems calmly, I'm a team player.", 0.5),
///     s("I would probably study things and try my best.", 4.0),
/// ], "Tell us about a problem you solved.", Similarities::default());
/// let (f, g) = (strong.features, vague.features);
/// assert!(f.specific_situation > g.specific_situation);
/// assert!(f.own_actions > g.own_actions && f.outcome > g.outcome);
/// assert_eq!(f.measured, 1.0);
/// assert_eq!(f.reflection, 1.0);
/// assert!(g.generic > f.generic);
/// // Each moved feature carries the sentence that moved it, with its time.
/// let measured = strong.quotes.iter().find(|q| q.feature == "measured").unwrap();
/// assert_eq!(measured.at, 9.0);
/// ```
pub fn evidence(sentences: &[TimedSentence], question: &str, sims: Similarities) -> Evidence {
    let all: Vec<SentenceCues> = sentences.iter().map(|s| cues(&s.text)).collect();
    let text_all: String = sentences
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let words = text::norm_words(&text_all).len();
    let n = all.len().max(1) as f64;
    let example_asked = asks_for_an_example(question);
    let is_generic = |c: &SentenceCues| {
        // On a question that asks for an example, a habit, a hypothetical or
        // a generic "you" stands in for it; elsewhere ("How do you…?",
        // "Why…?") only self-description and stock phrases do.
        (c.habitual && (example_asked || c.hypothetical == 0)) || (example_asked && c.generic_you)
    };
    let mut quotes: Vec<EvidenceQuote> = Vec::new();
    let mut quote = |feature: &str, pick: &dyn Fn(&SentenceCues) -> bool| {
        if let Some((s, _)) = sentences.iter().zip(&all).find(|(_, c)| pick(c)) {
            quotes.push(EvidenceQuote {
                feature: feature.to_string(),
                text: s.text.clone(),
                at: s.start,
            });
        }
    };

    let anchor_fit = sims.to_anchors.as_ref().map_or(0.5, anchor_fit_of);
    let past_share = all.iter().filter(|c| c.past).count() as f64 / n;
    let anchored = all.iter().any(|c| c.time_anchor);
    let specific_situation = (0.7 * past_share + if anchored { 0.3 } else { 0.0 }).clamp(0.0, 1.0);
    quote("specific_situation", &|c| c.time_anchor || c.past);
    let generic = all.iter().filter(|c| is_generic(c)).count() as f64 / n;
    quote("generic", &is_generic);
    let acts: f64 = all
        .iter()
        .map(|c| c.own_actions as f64 + 0.5 * c.team_actions as f64)
        .sum();
    let own_actions = (acts / 4.0).clamp(0.0, 1.0);
    let own_share = all.iter().filter(|c| c.own_actions > 0).count() as f64 / n;
    quote("own_actions", &|c| c.own_actions > 0);
    quote("own_share", &|c| c.own_actions > 0);
    let outcomes = all.iter().filter(|c| c.outcome).count() as f64;
    let outcome = (outcomes / 2.0).clamp(0.0, 1.0);
    quote("outcome", &|c| c.outcome);
    let measured = if all.iter().any(|c| c.outcome && c.quantity) {
        1.0
    } else if all.iter().any(|c| c.quantity) {
        0.5
    } else {
        0.0
    };
    if measured == 1.0 {
        quote("measured", &|c| c.outcome && c.quantity);
    } else {
        quote("measured", &|c| c.quantity);
    }
    let reflection = if all.iter().any(|c| c.reflection) {
        1.0
    } else {
        0.0
    };
    quote("reflection", &|c| c.reflection);
    let details_seen: usize = all.iter().map(|c| c.numbers + c.names).sum();
    let details = (details_seen as f64 / 4.0).clamp(0.0, 1.0);
    quote("details", &|c| c.numbers + c.names > 0);
    let blame = if all.iter().any(|c| c.blame) {
        1.0
    } else {
        0.0
    };
    quote("blame", &|c| c.blame);
    let evasion = if all.iter().any(|c| c.refusal) {
        1.0
    } else {
        0.0
    };
    quote("evasion", &|c| c.refusal);
    let off_topic = off_topic_of(&sims);
    if off_topic > 0.0 {
        quote("off_topic", &|_| true);
    }

    let hedging = Hedging {
        strong: all.iter().map(|c| c.strong_hedges).sum(),
        mild: all.iter().map(|c| c.mild_hedges).sum(),
        quote: sentences
            .iter()
            .zip(&all)
            .find(|(_, c)| c.strong_hedges > 0)
            .or_else(|| sentences.iter().zip(&all).find(|(_, c)| c.mild_hedges > 0))
            .map(|(s, _)| s.clone()),
    };
    Evidence {
        features: Features {
            anchor_fit,
            specific_situation,
            generic,
            own_actions,
            own_share,
            outcome,
            measured,
            reflection,
            details,
            blame,
            evasion,
            off_topic,
        },
        quotes,
        hedging,
        words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> TimedSentence {
        TimedSentence {
            text: t.into(),
            start: 0.0,
            end: 1.0,
        }
    }

    #[test]
    fn features_stay_in_the_unit_interval() {
        let e = evidence(
            &[
                s("I fixed it and I fixed that and I rebuilt this and I wrote those and I called them."),
                s("As a result it dropped. It fell. It grew. It doubled."),
                s("Their fault, they were lazy, not my fault, totally useless people."),
            ],
            "q",
            Similarities {
                to_question: Some(0.99),
                to_anchors: Some([0.1, 0.2, 0.3, 0.9]),
                to_private_life: Some(0.5),
            },
        );
        for (name, v) in FEATURE_NAMES.iter().zip(e.features.values()) {
            assert!((0.0..=1.0).contains(&v), "{name} = {v}");
        }
        assert_eq!(e.features.blame, 1.0);
        assert!(e.features.anchor_fit > 0.9);
        assert_eq!(e.features.off_topic, 1.0, "an answer about private life");
    }

    #[test]
    fn anchor_fit_follows_the_closest_anchor() {
        assert!(anchor_fit_of(&[0.5, 0.2, 0.2, 0.2]) < 0.05);
        assert!(anchor_fit_of(&[0.2, 0.2, 0.2, 0.5]) > 0.95);
        let mid = anchor_fit_of(&[0.3, 0.3, 0.3, 0.3]);
        assert!((mid - 0.5).abs() < 1e-9);
    }

    #[test]
    fn hedging_counts_and_uncertainty() {
        let e = evidence(
            &[s("I guess it went okay, I'm not sure."), s("Maybe.")],
            "q",
            Similarities::default(),
        );
        assert_eq!(e.hedging.strong, 2);
        assert!(e.hedging.uncertain(e.words, false));
        let h = Hedging {
            strong: 1,
            mild: 0,
            quote: None,
        };
        assert!(
            !h.uncertain(80, true),
            "one stray hedge in a measured story"
        );
        assert!(h.uncertain(80, false));
    }

    #[test]
    fn an_empty_answer_has_no_evidence() {
        let e = evidence(&[], "Why this role?", Similarities::default());
        assert_eq!(e.words, 0);
        assert!(e.quotes.is_empty());
        assert_eq!(e.features.own_actions, 0.0);
    }
}
