//! Rubric scores. A pipeline file defines, per job family, the question set
//! and the competencies: which question each is judged on, the concepts a
//! recruiter wants to hear, whether a STAR story (situation, action, result)
//! is expected, and a weight. Each answer is scored on Lever's scorecard scale
//! (1–4) with its evidence (criteria met, quotes) and a confidence made of the
//! transcription confidence, the answer's length and the score's margin.
//!
//! ```toml
//! [rubrics.software_engineering]
//! title = "Backend Software Engineer"
//! match = ["software_engineering", "engineer"]
//! skills = ["Python", "Go", "Kubernetes"]
//! questions = [{ id = "swe-q1", text = "Tell us about yourself." }]
//!
//! [[rubrics.software_engineering.competencies]]
//! id = "experience"
//! name = "Relevant experience"
//! questions = ["swe-q1"]
//! concepts = ["years of experience|years", "python|go|kubernetes"]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::answers::Question;
use super::text::{self, stem};

/// The built-in rubric set (`dataflows/rubrics.toml`), used when a pipeline
/// file defines no `[rubrics.*]` of its own.
pub const BUILTIN_RUBRICS: &str = include_str!("../../../../dataflows/rubrics.toml");

/// Rubrics per job family; a pipeline file that defines `[rubrics.*]`
/// replaces the built-in set as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rubrics(pub BTreeMap<String, Family>);

impl Default for Rubrics {
    fn default() -> Self {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            rubrics: BTreeMap<String, Family>,
        }
        match toml::from_str::<File>(BUILTIN_RUBRICS) {
            Ok(f) => Rubrics(f.rubrics),
            Err(e) => {
                tracing::error!(error = %e, "the built-in rubric set does not parse");
                Rubrics(BTreeMap::new())
            }
        }
    }
}

impl Rubrics {
    /// The family whose question ids cover most of `question_ids` (at least one).
    pub fn by_questions(&self, question_ids: &[&str]) -> Option<(&str, &Family)> {
        self.0
            .iter()
            .map(|(k, f)| {
                (
                    k,
                    f,
                    question_ids
                        .iter()
                        .filter(|q| f.questions.iter().any(|x| x.id == **q))
                        .count(),
                )
            })
            .filter(|(_, _, n)| *n > 0)
            .max_by_key(|(_, _, n)| *n)
            .map(|(k, f, _)| (k.as_str(), f))
    }

    /// The family whose name or `match` terms appear among posting labels or title.
    pub fn by_labels(&self, labels: &[String]) -> Option<(&str, &Family)> {
        let lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
        self.0
            .iter()
            .map(|(k, f)| {
                let hits = std::iter::once(k.to_lowercase())
                    .chain(f.r#match.iter().map(|m| m.to_lowercase()))
                    .filter(|term| lower.iter().any(|l| l == term || l.contains(term.as_str())))
                    .count();
                (k, f, hits)
            })
            .filter(|(_, _, n)| *n > 0)
            .max_by_key(|(_, _, n)| *n)
            .map(|(k, f, _)| (k.as_str(), f))
    }
}

/// One job family's rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Family {
    /// Human title.
    pub title: String,
    /// Posting tags, categories or title words that select this family.
    pub r#match: Vec<String>,
    /// Skills the family asks for (besides those in the posting).
    pub skills: Vec<String>,
    /// The question set, in interview order.
    pub questions: Vec<Question>,
    /// Competencies scored.
    pub competencies: Vec<Competency>,
}

/// One competency, judged on one or more questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Competency {
    /// Stable id.
    pub id: String,
    /// Name on the scorecard.
    pub name: String,
    /// Question ids it is judged on.
    pub questions: Vec<String>,
    /// Concepts to hear; `a|b|c` are alternatives (stems match: "escalat"
    /// hears "escalated"). Each concept heard is one criterion met.
    pub concepts: Vec<String>,
    /// How many concepts make a full answer (0 = all of them); more are
    /// reported but add nothing.
    pub concepts_needed: usize,
    /// Expect a STAR story: situation, action (first person) and a result.
    pub star: bool,
    /// Expect a measured result (a number or percentage).
    pub measured_result: bool,
    /// Fewest words of a complete answer.
    pub min_words: usize,
    /// Weight in the overall score.
    pub weight: f64,
    /// Core to the role: hedging here is a red flag.
    pub core: bool,
}

impl Default for Competency {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            questions: Vec::new(),
            concepts: Vec::new(),
            concepts_needed: 0,
            star: false,
            measured_result: false,
            min_words: 20,
            weight: 1.0,
            core: true,
        }
    }
}

/// A criterion and whether it was met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// `concept:…`, `star:situation`, `star:action`, `star:result`, `measured_result`, `complete_answer`.
    pub name: String,
    /// Met or not.
    pub met: bool,
    /// The sentence that met it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// One competency's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Competency id.
    pub competency: String,
    /// Competency name.
    pub name: String,
    /// Question judged.
    pub question_id: String,
    /// Lever scorecard scale: 1 (strong no) … 4 (strong yes).
    pub score: u8,
    /// Weighted share of criteria met before adjustments, 0..1.
    pub criteria_share: f64,
    /// Criteria met (names).
    pub criteria_met: Vec<String>,
    /// Every criterion with its quote.
    pub evidence: Vec<Criterion>,
    /// What moved the score besides the criteria (hedging, negativity, no answer).
    pub adjustments: Vec<String>,
    /// 0..1: transcription confidence × answer length × score margin.
    pub confidence: f64,
    /// `confidence` below the pipeline's `low_confidence` threshold: review first.
    pub low_confidence: bool,
    /// Weight in the overall score.
    pub weight: f64,
}

/// What the scorer knows of an answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerFacts<'a> {
    /// The answer's text (empty when unanswered).
    pub text: &'a str,
    /// Transcription confidence of its segments, 0..1.
    pub transcription_confidence: f64,
    /// Whether the answer hedged (uncertain).
    pub uncertain: bool,
    /// Whether it spoke ill of an employer.
    pub negativity: bool,
    /// Whether it was judged off topic.
    pub off_topic: bool,
    /// Whether its sentiment was negative.
    pub negative_tone: bool,
    /// Confidence of the answer's boundaries, 0..1.
    pub alignment_confidence: f64,
}

/// Action words of a STAR story told in the first person.
const ACTION: [&str; 30] = [
    "i built",
    "i fixed",
    "i found",
    "i led",
    "i moved",
    "i wrote",
    "i met",
    "i mapped",
    "i joined",
    "i profiled",
    "i added",
    "i created",
    "i designed",
    "i apologized",
    "i apologised",
    "i refunded",
    "i stayed",
    "i restored",
    "i escalated",
    "i looked",
    "i analysed",
    "i analyzed",
    "i proposed",
    "i organised",
    "i organized",
    "i set",
    "i started",
    "i helped",
    "i worked",
    "i changed",
];
/// Result words.
const RESULT: [&str; 24] = [
    "as a result",
    "result",
    "dropped",
    "fell",
    "grew",
    "increased",
    "reduced",
    "saved",
    "closed",
    "renewed",
    "improved",
    "cut",
    "doubled",
    "went out on time",
    "instead of",
    "stopped losing",
    "thanked",
    "won",
    "signed",
    "lasted",
    "contract worth",
    "left us a great review",
    "on time",
    "faster",
];
/// Situation words.
const SITUATION: [&str; 16] = [
    "last year",
    "during",
    "when",
    "a customer",
    "our",
    "was about to",
    "wanted to",
    "once",
    "at my",
    "had a",
    "there was",
    "one of our",
    "a client",
    "we had",
    "slowed down",
    "could not",
];

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let p: Vec<String> = phrase.split(' ').map(stem).collect();
    let s: Vec<String> = words.iter().map(|w| stem(w)).collect();
    s.windows(p.len()).any(|w| w == p.as_slice())
}

/// The first sentence of `text` containing one of `phrases`.
fn sentence_with(text_in: &str, phrases: &[&str]) -> Option<String> {
    for (a, b) in text::sentences(text_in) {
        let words = text::norm_words(&text_in[a..b]);
        if phrases.iter().any(|p| has_phrase(&words, p)) {
            return Some(text_in[a..b].trim().to_string());
        }
    }
    None
}

/// Whether a text gives a number (a digit, or a spelled-out number).
fn measured(text_in: &str) -> Option<String> {
    const NUMBERS: [&str; 14] = [
        "percent", "per cent", "hundred", "thousand", "million", "twenty", "thirty", "forty",
        "fifty", "sixty", "twelve", "ten", "hours", "minutes",
    ];
    for (a, b) in text::sentences(text_in) {
        let s = &text_in[a..b];
        if s.chars().any(|c| c.is_ascii_digit())
            || NUMBERS.iter().any(|n| has_phrase(&text::norm_words(s), n))
        {
            return Some(s.trim().to_string());
        }
    }
    None
}

/// Scores one competency on one answer.
pub fn score(
    competency: &Competency,
    question_id: &str,
    facts: &AnswerFacts<'_>,
    low_confidence: f64,
) -> Score {
    let words = text::norm_words(facts.text);
    let mut evidence = Vec::new();
    for concept in &competency.concepts {
        let alternatives: Vec<&str> = concept
            .split('|')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let quote = sentence_with(facts.text, &alternatives);
        let name = alternatives.first().copied().unwrap_or(concept);
        evidence.push(Criterion {
            name: format!("concept:{name}"),
            met: quote.is_some(),
            quote,
        });
    }
    if competency.star {
        for (name, list) in [
            ("star:situation", &SITUATION[..]),
            ("star:action", &ACTION[..]),
            ("star:result", &RESULT[..]),
        ] {
            let quote = sentence_with(facts.text, list);
            evidence.push(Criterion {
                name: name.into(),
                met: quote.is_some(),
                quote,
            });
        }
    }
    if competency.measured_result {
        let quote = measured(facts.text);
        evidence.push(Criterion {
            name: "measured_result".into(),
            met: quote.is_some(),
            quote,
        });
    }
    let complete = words.len() >= competency.min_words;
    evidence.push(Criterion {
        name: "complete_answer".into(),
        met: complete,
        quote: None,
    });

    let concepts = competency.concepts.len();
    let needed = if competency.concepts_needed == 0 {
        concepts
    } else {
        competency.concepts_needed.min(concepts)
    };
    let concepts_met = evidence[..concepts]
        .iter()
        .filter(|c| c.met)
        .count()
        .min(needed);
    let others_met = evidence[concepts..].iter().filter(|c| c.met).count();
    let total = needed + evidence.len() - concepts;
    let share = if total == 0 {
        0.0
    } else {
        (concepts_met + others_met) as f64 / total as f64
    };
    let mut raw = 1.0 + 3.0 * share;
    let mut adjustments = Vec::new();
    if words.is_empty() {
        raw = 1.0;
        adjustments.push("no answer".to_string());
    }
    if facts.uncertain {
        raw -= 1.0;
        adjustments.push("hedged (−1)".to_string());
    }
    if facts.negativity {
        raw -= 1.0;
        adjustments.push("negativity about an employer (−1)".to_string());
    }
    if facts.off_topic {
        raw -= 1.0;
        adjustments.push("off topic (−1)".to_string());
    }
    if facts.negative_tone && !facts.negativity && !facts.uncertain {
        raw -= 1.0;
        adjustments.push("negative tone (−1)".to_string());
    }
    let raw = raw.clamp(1.0, 4.0);
    let score = raw.round().clamp(1.0, 4.0) as u8;
    // Margin: 1 at a whole number, 0 half-way between two.
    let margin = if (raw - 1.0).abs() < 1e-9 || (raw - 4.0).abs() < 1e-9 {
        1.0
    } else {
        1.0 - 2.0 * (raw - raw.round()).abs()
    };
    let length = if words.is_empty() {
        1.0
    } else {
        (words.len() as f64 / competency.min_words.max(1) as f64).min(1.0)
    };
    let transcription = if words.is_empty() {
        1.0
    } else {
        facts.transcription_confidence.clamp(0.0, 1.0)
    };
    let confidence = transcription
        * (0.5 + 0.5 * length)
        * (0.6 + 0.4 * margin)
        * (0.7 + 0.3 * facts.alignment_confidence);
    let confidence = (confidence.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    Score {
        competency: competency.id.clone(),
        name: competency.name.clone(),
        question_id: question_id.to_string(),
        score,
        criteria_share: (share * 1000.0).round() / 1000.0,
        criteria_met: evidence
            .iter()
            .filter(|c| c.met)
            .map(|c| c.name.clone())
            .collect(),
        evidence,
        adjustments,
        confidence,
        low_confidence: confidence < low_confidence,
        weight: competency.weight,
    }
}

/// The weighted mean of scores (1–4), when there are any.
pub fn overall(scores: &[Score]) -> Option<f64> {
    let w: f64 = scores.iter().map(|s| s.weight).sum();
    (w > 0.0).then(|| {
        let x = scores
            .iter()
            .map(|s| s.weight * f64::from(s.score))
            .sum::<f64>()
            / w;
        (x * 100.0).round() / 100.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> AnswerFacts<'_> {
        AnswerFacts {
            text,
            transcription_confidence: 0.9,
            uncertain: false,
            negativity: false,
            off_topic: false,
            negative_tone: false,
            alignment_confidence: 1.0,
        }
    }

    #[test]
    fn builtin_rubrics_parse_and_cover_the_dataset_families() {
        let r = Rubrics::default();
        for family in [
            "software_engineering",
            "sales",
            "customer_support",
            "data_analytics",
        ] {
            let f =
                r.0.get(family)
                    .unwrap_or_else(|| panic!("{family} missing"));
            assert!(
                !f.questions.is_empty() && !f.competencies.is_empty(),
                "{family}"
            );
            for c in &f.competencies {
                for q in &c.questions {
                    assert!(
                        f.questions.iter().any(|x| &x.id == q),
                        "{family}/{}: unknown question {q}",
                        c.id
                    );
                }
            }
        }
    }

    #[test]
    fn a_star_story_with_a_number_scores_high() {
        let c = Competency {
            id: "ps".into(),
            concepts: vec!["profiled|debugged".into()],
            star: true,
            measured_result: true,
            min_words: 20,
            ..Competency::default()
        };
        let text = "Last year our checkout service slowed down every evening. I profiled the SQL queries, found a missing index and fixed it. As a result, latency dropped by 60% and we stopped losing orders.";
        let s = score(&c, "q2", &facts(text), 0.5);
        assert_eq!(s.score, 4, "{s:?}");
        assert!(s.criteria_met.contains(&"star:result".to_string()));
        assert!(!s.low_confidence);
        let hedged = AnswerFacts {
            uncertain: true,
            ..facts(text)
        };
        assert_eq!(score(&c, "q2", &hedged, 0.5).score, 3);
    }

    #[test]
    fn no_answer_scores_one_with_confidence() {
        let c = Competency {
            id: "x".into(),
            concepts: vec!["a".into()],
            ..Competency::default()
        };
        let s = score(&c, "q", &facts(""), 0.5);
        assert_eq!(s.score, 1);
        assert!(s.confidence > 0.8);
        assert_eq!(s.adjustments, ["no answer"]);
    }

    #[test]
    fn family_is_chosen_by_questions_or_labels() {
        let r = Rubrics::default();
        assert_eq!(
            r.by_questions(&["sales-q2", "x"]).map(|f| f.0),
            Some("sales")
        );
        assert_eq!(
            r.by_labels(&["Engineering".into(), "software_engineering".into()])
                .map(|f| f.0),
            Some("software_engineering")
        );
        assert!(r.by_questions(&["nope"]).is_none());
    }
}
