//! What a recruiter reads first: strengths and concerns drawn from the
//! scores (each with the quote and the moment behind it), and the red
//! flags — unanswered, evasive and blaming answers.

use serde::{Deserialize, Serialize};

use super::scoring::Score;

/// Most strengths and concerns listed.
const MOST_POINTS: usize = 3;

/// One strength or concern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The competency, when the point comes from a score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competency: Option<String>,
    /// The question concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// What it is, in words (never a number: the pilot phase hides scores).
    pub text: String,
    /// The sentence behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// When that sentence was said, seconds on its media's timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
}

/// Kinds of red flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedFlagKind {
    /// Nothing was said for a question that was asked.
    NoAnswer,
    /// The question was declined or dodged.
    Evasive,
    /// The answer is about something else.
    OffTopic,
    /// The fault was put on others with derogatory words.
    Blaming,
}

impl RedFlagKind {
    /// The flag name used in `flags` and the note.
    pub fn as_str(self) -> &'static str {
        match self {
            RedFlagKind::NoAnswer => "no_answer",
            RedFlagKind::Evasive => "evasive_answer",
            RedFlagKind::OffTopic => "off_topic_answer",
            RedFlagKind::Blaming => "blames_others",
        }
    }
}

/// A red flag with its quote or reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedFlag {
    /// What kind.
    pub kind: RedFlagKind,
    /// The question concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// A quote, or what is missing.
    pub text: String,
    /// When the quote was said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
}

/// Strengths, concerns and red flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Highlights {
    /// The strongest competencies shown, with evidence.
    #[serde(default)]
    pub strengths: Vec<Point>,
    /// The weakest, with what was missing.
    #[serde(default)]
    pub concerns: Vec<Point>,
    /// What a recruiter should look at.
    #[serde(default)]
    pub red_flags: Vec<RedFlag>,
}

/// Plain words for a feature that raised or lowered a score.
fn feature_words(feature: &str, raised: bool) -> &'static str {
    match (feature, raised) {
        ("off_topic", _) => "not about the question asked",
        ("own_share", true) => "mostly about their own actions",
        ("own_share", false) => "little about their own actions",
        ("details", true) => "concrete details",
        ("details", false) => "few concrete details",
        ("anchor_fit", true) => "close to the strong behavioural anchor",
        ("anchor_fit", false) => "close to the weak behavioural anchor",
        ("specific_situation", true) => "a specific situation",
        ("specific_situation", false) => "no specific situation",
        ("generic", _) => "talks in generalities rather than an example",
        ("own_actions", true) => "what they did themselves",
        ("own_actions", false) => "little of what they did themselves",
        ("outcome", true) => "a stated outcome",
        ("outcome", false) => "no outcome",
        ("measured", true) => "a measured result",
        ("measured", false) => "no measured result",
        ("reflection", true) => "what they learned",
        ("reflection", false) => "no lesson drawn",
        ("blame", _) => "puts the fault on others",
        ("evasion", _) => "declines or dodges the question",
        ("no_answer", _) => "no answer given",
        _ => "other evidence",
    }
}

/// The features a score lacked that would have raised it, in plain words.
fn missing_words(score: &Score) -> Vec<&'static str> {
    let value = |name: &str| score.features.get(name).map_or(0.0, |v| v[0]);
    let mut out = Vec::new();
    for name in [
        "specific_situation",
        "own_actions",
        "outcome",
        "measured",
        "details",
    ] {
        if value(name) < 0.34 {
            out.push(feature_words(name, false));
        }
    }
    if score.criteria_missing.iter().any(|c| c == "no_answer") {
        return vec![feature_words("no_answer", false)];
    }
    // A feature that lowered the score is named only when it is marked
    // (a slight pull is not a concern worth a recruiter's time).
    for lowered in score.criteria_missing.iter().filter(|c| value(c) >= 0.5) {
        let w = feature_words(lowered, false);
        if !out.contains(&w) {
            out.insert(0, w);
        }
    }
    out.truncate(3);
    out
}

/// Strengths (scores of 3–4) and concerns (1–2), the strongest and the
/// weakest first, each said in words with its best quote. A competency
/// judged on several questions is told apart by its question
/// (`question_of` gives a question's text by id).
///
/// ```
/// use panelflow_models::analysis::highlights::strengths_and_concerns;
/// assert_eq!(strengths_and_concerns(&[], |_| None), (vec![], vec![]));
/// ```
pub fn strengths_and_concerns<'q>(
    scores: &[Score],
    question_of: impl Fn(&str) -> Option<&'q str>,
) -> (Vec<Point>, Vec<Point>) {
    let mut by_level: Vec<&Score> = scores.iter().collect();
    by_level.sort_by(|a, b| b.level.total_cmp(&a.level));
    let label = |s: &Score| {
        let shared = scores
            .iter()
            .filter(|x| x.competency == s.competency)
            .count()
            > 1;
        match question_of(&s.question_id).filter(|_| shared) {
            Some(q) => {
                let words: Vec<&str> = q.split_whitespace().collect();
                let short = words.iter().take(7).copied().collect::<Vec<_>>().join(" ");
                let more = if words.len() > 7 { "…" } else { "" };
                format!("{} (“{short}{more}”)", s.name)
            }
            None => s.name.clone(),
        }
    };
    let point = |s: &Score, text: String, prefer: &[&str]| {
        let quote = prefer
            .iter()
            .find_map(|f| s.evidence.iter().find(|q| q.feature == *f))
            .or_else(|| s.evidence.first());
        Point {
            competency: Some(s.competency.clone()),
            question_id: Some(s.question_id.clone()),
            text,
            quote: quote.map(|q| q.text.clone()),
            at: quote.map(|q| q.at),
        }
    };
    let strengths = by_level
        .iter()
        .filter(|s| s.score >= 3)
        .take(MOST_POINTS)
        .map(|s| {
            let why: Vec<&str> = s
                .criteria_met
                .iter()
                .filter(|c| c.as_str() != "anchor_fit")
                .take(3)
                .map(|c| feature_words(c, true))
                .collect();
            let text = if why.is_empty() {
                label(s)
            } else {
                format!("{}: {}", label(s), why.join(", "))
            };
            point(
                s,
                text,
                &["measured", "outcome", "own_actions", "reflection"],
            )
        })
        .collect();
    let concerns = by_level
        .iter()
        .rev()
        .filter(|s| s.score <= 2)
        .take(MOST_POINTS)
        .map(|s| {
            let text = format!("{}: {}", label(s), missing_words(s).join(", "));
            point(s, text, &["blame", "evasion", "generic"])
        })
        .collect();
    (strengths, concerns)
}

/// The summary's first lines: strengths, then concerns and red flags, in
/// words, each naming the question's competency. Empty when nothing was
/// scored and nothing flagged.
pub fn summary_text(highlights: &Highlights) -> String {
    let mut parts = Vec::new();
    if !highlights.strengths.is_empty() {
        let s: Vec<&str> = highlights
            .strengths
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        parts.push(format!("Strengths — {}.", s.join("; ")));
    }
    let mut concerns: Vec<String> = highlights.concerns.iter().map(|p| p.text.clone()).collect();
    for f in &highlights.red_flags {
        let what = match f.kind {
            RedFlagKind::NoAnswer => "a question left unanswered",
            RedFlagKind::Evasive => "a question declined or dodged",
            RedFlagKind::OffTopic => "an answer off the question",
            RedFlagKind::Blaming => "blames others",
        };
        if !concerns.iter().any(|c| c == what) {
            concerns.push(what.to_string());
        }
    }
    if !concerns.is_empty() {
        parts.push(format!("Concerns — {}.", concerns.join("; ")));
    }
    parts.join(" ")
}
