//! What a draft may not hold: the deny list ([`DENY`]) and the check that
//! every sentence cites an answer.

/// Words a draft never holds, in every form checked: scores and ratings,
/// voice and sentiment, protected characteristics, other candidates.
pub const DENY: &[&str] = &[
    "score",
    "scores",
    "scored",
    "scoring",
    "scorer",
    "scorecard",
    "rating",
    "ratings",
    "rate",
    "rates",
    "rated",
    "tone",
    "tones",
    "toned",
    "pace",
    "paces",
    "paced",
    "pacing",
    "accent",
    "accents",
    "accented",
    "sentiment",
    "sentiments",
    "age",
    "ages",
    "aged",
    "ageing",
    "aging",
    "gender",
    "genders",
    "gendered",
    "race",
    "races",
    "racial",
    "religion",
    "religions",
    "religious",
    "disability",
    "disabilities",
    "disabled",
    "pregnant",
    "pregnancy",
    "pregnancies",
    "nationality",
    "nationalities",
    "candidates",
];

/// The words of `text` that are on the deny list (lower-cased), in order.
///
/// ```
/// use panelflow::review::feedback::denied_words;
/// assert_eq!(denied_words("A strong example; we managed the stage."), Vec::<String>::new());
/// assert_eq!(denied_words("Your Score and your pacing"), vec!["score", "pacing"]);
/// ```
pub fn denied_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| DENY.contains(&w.as_str()))
        .collect()
}

/// The sentences of a draft's text that cite no answer: every line other
/// than a heading must be one sentence followed by `(Your answer to “…”…)`.
///
/// ```
/// use panelflow::review::feedback::uncited_sentences;
/// let ok = "Strengths\n- You named the tool. (Your answer to “Q”, at 0:05: “We used Rust.”)\n";
/// assert!(uncited_sentences(ok).is_empty());
/// assert_eq!(uncited_sentences("- Great job overall."), vec!["Great job overall."]);
/// ```
pub fn uncited_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line == "Strengths" || line == "Areas for development" {
            continue;
        }
        let line = line.trim_start_matches("- ");
        let (said, cited) = match line.find("(Your answer to “") {
            Some(at) if line.ends_with(')') => (&line[..at], true),
            _ => (line, false),
        };
        let sentences: Vec<&str> = said
            .split_inclusive(['.', '!', '?'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let cited_one = usize::from(cited);
        out.extend(sentences.iter().skip(cited_one).map(|s| s.to_string()));
        if !cited && sentences.is_empty() {
            out.push(line.to_owned());
        }
    }
    out
}
