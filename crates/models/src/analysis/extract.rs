//! The extractive summary: qualifications (skills, years, scope),
//! motivations and red flags, each a quote from the answers, and a few
//! sentences a recruiter reads first ("Candidate discussed six years of
//! experience with Python, Go and Kubernetes…").

use serde::{Deserialize, Serialize};

use super::text;

/// A sentence quoted from an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The question it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// Where the answer starts (seconds in its media), to jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    /// The sentence, as transcribed.
    pub text: String,
}

/// A red flag with its quote or reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedFlag {
    /// The flag (`hedging_on_core_question`, `no_answer`, `negativity_about_employer`, `off_topic_answer`).
    pub kind: String,
    /// The question concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// A quote, or what is missing.
    pub text: String,
}

/// The extractive summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Highlights {
    /// Sentences about skills, years and scope.
    pub qualifications: Vec<Quote>,
    /// Sentences about why the candidate wants the role.
    pub motivations: Vec<Quote>,
    /// What a recruiter should look at.
    pub red_flags: Vec<RedFlag>,
}

/// What the summariser knows of one answer.
#[derive(Debug, Clone)]
pub struct AnswerView<'a> {
    /// Question id.
    pub question_id: Option<&'a str>,
    /// Question text.
    pub question: Option<&'a str>,
    /// Answer start.
    pub start: Option<f64>,
    /// Answer text.
    pub text: &'a str,
}

/// Most qualification quotes kept.
const MAX_QUALIFICATIONS: usize = 3;
/// Most motivation quotes kept.
const MAX_MOTIVATIONS: usize = 2;

const ROLE_CUES: [&str; 10] = [
    "i am a",
    "i have been",
    "as a",
    "as an",
    "i have worked",
    "i have spent",
    "i spent",
    "i worked",
    "i run",
    "i build",
];
const MOTIVE_CUES: [&str; 12] = [
    "i want",
    "i would like",
    "i like",
    "i love",
    "excited",
    "believe in",
    "proud to",
    "i would be",
    "looking for",
    "passionate",
    "i enjoy",
    "drawn to",
];

/// "six years" / "5 years" phrases in a text, as written.
pub fn years_phrases(text_in: &str) -> Vec<String> {
    let words = text::words(text_in);
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if (w.norm == "years" || w.norm == "year") && i > 0 {
            // Walk back over number words ("twenty five", "5").
            let mut j = i;
            while j > 0 && is_number_word(&words[j - 1].norm) && i - j < 3 {
                j -= 1;
            }
            if j < i {
                let phrase = &text_in[words[j].start..w.end];
                let phrase = phrase
                    .trim_end_matches(|c: char| !c.is_alphanumeric())
                    .to_string();
                if !out.contains(&phrase) {
                    out.push(phrase);
                }
            }
        }
    }
    out
}

fn is_number_word(w: &str) -> bool {
    const N: [&str; 28] = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "a",
        "few",
        "several",
        "many",
        "couple",
    ];
    N.contains(&w) || w.chars().all(|c| c.is_ascii_digit())
}

fn has_cue(sentence: &str, cues: &[&str]) -> bool {
    let words = text::norm_words(sentence);
    let joined = format!(" {} ", words.join(" "));
    cues.iter().any(|c| joined.contains(&format!(" {c} ")))
}

/// Picks the quotes.
pub fn highlights(
    answers: &[AnswerView<'_>],
    skills: &[String],
    red_flags: Vec<RedFlag>,
) -> Highlights {
    let skill_words: Vec<Vec<String>> = skills.iter().map(|s| text::norm_words(s)).collect();
    let mut quals: Vec<(f64, usize, Quote)> = Vec::new();
    let mut motives: Vec<(f64, usize, Quote)> = Vec::new();
    let mut order = 0;
    for a in answers {
        let motive_question = a.question.is_some_and(|q| {
            let q = q.to_lowercase();
            q.starts_with("why")
                || q.contains("why do you")
                || q.contains("why are you")
                || q.contains("motivat")
        });
        for (s, e) in text::sentences(a.text) {
            let sentence = a.text[s..e].trim();
            let words = text::norm_words(sentence);
            if words.len() < 4 {
                continue;
            }
            order += 1;
            // A sentence quoted as a red flag is no qualification or motivation.
            if red_flags.iter().any(|f| f.text.contains(sentence)) {
                continue;
            }
            let quote = Quote {
                question_id: a.question_id.map(str::to_string),
                at: a.start,
                text: sentence.to_string(),
            };
            let skill_hits = skill_words
                .iter()
                .filter(|sw| !sw.is_empty() && words.windows(sw.len()).any(|w| w == sw.as_slice()))
                .count();
            let years = !years_phrases(sentence).is_empty();
            let role = has_cue(sentence, &ROLE_CUES);
            let q =
                skill_hits as f64 + if years { 2.0 } else { 0.0 } + if role { 1.0 } else { 0.0 };
            if q >= 1.0 && !motive_question {
                quals.push((q, order, quote.clone()));
            }
            let m = if has_cue(sentence, &MOTIVE_CUES) {
                1.0
            } else {
                0.0
            } + if motive_question { 1.0 } else { 0.0 };
            if m >= 1.0 && (motive_question || has_cue(sentence, &MOTIVE_CUES)) {
                motives.push((m, order, quote));
            }
        }
    }
    let pick = |mut v: Vec<(f64, usize, Quote)>, k: usize| -> Vec<Quote> {
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut top: Vec<(usize, Quote)> = v.into_iter().take(k).map(|(_, o, q)| (o, q)).collect();
        top.sort_by_key(|(o, _)| *o);
        top.into_iter().map(|(_, q)| q).collect()
    };
    Highlights {
        qualifications: pick(quals, MAX_QUALIFICATIONS),
        motivations: pick(motives, MAX_MOTIVATIONS),
        red_flags,
    }
}

/// The few sentences on top of the note.
///
/// ```
/// use panelflow_models::analysis::extract::{highlights, summary_text, AnswerView};
/// let a = [AnswerView { question_id: Some("q1"), question: Some("Tell us about yourself."), start: Some(0.5),
///     text: "I have been a backend engineer for six years, mostly writing Python." }];
/// let h = highlights(&a, &["Python".to_string()], vec![]);
/// let s = summary_text(&a, &h, &["Python".to_string()], &[]);
/// assert!(s.starts_with("Candidate discussed six years of experience"), "{s}");
/// assert!(s.contains("Python"));
/// ```
pub fn summary_text(
    answers: &[AnswerView<'_>],
    h: &Highlights,
    skills_matched: &[String],
    skills_missing: &[String],
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let years: Vec<String> = answers
        .iter()
        .flat_map(|a| years_phrases(a.text))
        .take(1)
        .collect();
    let mut opening = String::from("Candidate discussed ");
    match (years.first(), skills_matched.is_empty()) {
        (Some(y), false) => {
            opening.push_str(&format!("{y} of experience and {}", list(skills_matched)))
        }
        (Some(y), true) => opening.push_str(&format!("{y} of experience")),
        (None, false) => opening.push_str(&list(skills_matched)),
        (None, true) => opening.push_str("their background"),
    }
    opening.push('.');
    parts.push(opening);
    if let Some(q) = h.qualifications.first() {
        parts.push(format!("Qualifications: \u{201c}{}\u{201d}", q.text));
    }
    if let Some(m) = h.motivations.first() {
        parts.push(format!("Motivation: \u{201c}{}\u{201d}", m.text));
    }
    if !skills_missing.is_empty() {
        parts.push(format!("Not mentioned: {}.", list(skills_missing)));
    }
    if h.red_flags.is_empty() {
        parts.push("No red flags.".to_string());
    } else {
        let flags: Vec<String> = h
            .red_flags
            .iter()
            .map(|f| match &f.question_id {
                Some(q) => format!("{} ({q})", f.kind.replace('_', " ")),
                None => f.kind.replace('_', " "),
            })
            .collect();
        parts.push(format!("Red flags: {}.", flags.join("; ")));
    }
    parts.join(" ")
}

fn list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_found_in_words_or_digits() {
        assert_eq!(
            years_phrases("I spent 5 years there and two years before."),
            ["5 years", "two years"]
        );
        assert_eq!(
            years_phrases("for twenty five years,"),
            ["twenty five years"]
        );
        assert!(years_phrases("years ago").is_empty());
    }

    #[test]
    fn motivation_comes_from_why_questions() {
        let a = [
            AnswerView {
                question_id: Some("q1"),
                question: Some("Tell us about you."),
                start: None,
                text: "I am a data analyst with five years of experience.",
            },
            AnswerView {
                question_id: Some("q4"),
                question: Some("Why do you want to join?"),
                start: None,
                text: "I want to build things that matter to people.",
            },
        ];
        let h = highlights(
            &a,
            &[],
            vec![RedFlag {
                kind: "no_answer".into(),
                question_id: Some("q3".into()),
                text: "x".into(),
            }],
        );
        assert_eq!(h.qualifications.len(), 1);
        assert_eq!(h.motivations[0].question_id.as_deref(), Some("q4"));
        let s = summary_text(&a, &h, &[], &["SQL".into()]);
        assert!(s.contains("Red flags: no answer (q3)."), "{s}");
        assert!(s.contains("Not mentioned: SQL."), "{s}");
    }
}
