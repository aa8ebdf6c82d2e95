//! The digest of one answer, what a recruiter reads in seconds: one or two
//! sentences chosen for their content (what was done, what came of it),
//! and the key facts — quantities, durations, tools, organisations,
//! results — each with the moment it was said, so the player seeks to it.

use serde::{Deserialize, Serialize};

use super::evidence::cues::{cues, is_action_verb, is_outcome_verb, sentence_words};
use super::evidence::sentences::TimedSentence;
use super::skills::SkillLexicon;
use super::text;

/// Most sentences in a digest.
const DIGEST_SENTENCES: usize = 2;
/// Most key facts per answer.
const MAX_FACTS: usize = 14;
/// Most action facts per answer.
const MAX_ACTIONS: usize = 6;
/// Most words of a result phrase.
const RESULT_WORDS: usize = 8;

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
    /// Something the candidate did ("added a canary stage for config changes").
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

/// How much a sentence tells: results, quantities, own actions, a real
/// occasion and a lesson count; habits and bare hedges do not.
fn content_weight(sentence: &str) -> f64 {
    let c = cues(sentence);
    let words = sentence_words(sentence).len();
    if words < 4 {
        return -5.0;
    }
    let mut w = 0.0;
    w += if c.outcome { 2.0 } else { 0.0 };
    w += if c.quantity { 1.5 } else { 0.0 };
    w += 1.2 * (c.own_actions.min(2) as f64) + 0.5 * (c.team_actions.min(2) as f64);
    w += if c.time_anchor { 0.5 } else { 0.0 };
    w += if c.reflection { 1.0 } else { 0.0 };
    w -= if c.habitual { 1.0 } else { 0.0 };
    w -= 0.8 * c.strong_hedges as f64;
    // Facts a recruiter wants: numbers, times and names.
    w += 0.6 * (quantities(sentence).len() + c.names).min(4) as f64;
    // Very long sentences make poor quotes.
    w -= ((words as f64 - 35.0) / 20.0).max(0.0);
    w
}

/// Number words (as [`text::words`] spells digits out), "point" for decimals.
fn is_number_word(w: &str) -> bool {
    matches!(
        w,
        "one"
            | "two"
            | "three"
            | "four"
            | "five"
            | "six"
            | "seven"
            | "eight"
            | "nine"
            | "ten"
            | "eleven"
            | "twelve"
            | "thirteen"
            | "fourteen"
            | "fifteen"
            | "sixteen"
            | "seventeen"
            | "eighteen"
            | "nineteen"
            | "twenty"
            | "thirty"
            | "forty"
            | "fifty"
            | "sixty"
            | "seventy"
            | "eighty"
            | "ninety"
            | "hundred"
            | "thousand"
            | "million"
            | "billion"
            | "half"
            | "dozen"
            | "zero"
    )
}

/// Words that end a noun phrase after a number.
fn ends_phrase(w: &str) -> bool {
    text::is_stopword(w) && !matches!(w, "of" | "a" | "per" | "percent")
        || matches!(
            w,
            "because"
                | "so"
                | "but"
                | "which"
                | "who"
                | "when"
                | "while"
                | "after"
                | "before"
                | "until"
        )
}

/// Words that time a fact: a weekday, a part of the day, a unit of time.
const TIME_WORDS: [&str; 23] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "morning",
    "evening",
    "night",
    "afternoon",
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "hour",
    "minute",
    "shift",
    "weekend",
    "days",
    "weeks",
    "months",
];

/// Quantities and times in a sentence, as transcribed: a number with what
/// it counts ("ninety servers", "forty percent", "3 weeks"), a range ("from
/// twenty two minutes to eight"), a time ("every Monday morning", "for a
/// week", "within four days").
fn quantities(sentence: &str) -> Vec<String> {
    let words = text::words(sentence);
    let norm = |i: usize| words.get(i).map_or("", |w| w.norm.as_str());
    let phrase = |a: usize, b: usize| {
        sentence[words[a].start..words[b].end]
            .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '%')
            .to_string()
    };
    let mut out: Vec<String> = Vec::new();
    let mut covered = 0usize;
    let mut i = 0;
    while i < words.len() {
        if i < covered {
            i += 1;
            continue;
        }
        let w = norm(i);
        // "every Monday morning", "for a week", "within four days", "at six in the morning".
        if matches!(w, "every" | "for" | "within" | "over" | "after" | "by") {
            let mut j = i + 1;
            if matches!(norm(j), "a" | "an" | "the" | "about" | "almost" | "nearly") {
                j += 1;
            }
            while j < words.len() && is_number_word(norm(j)) {
                j += 1;
            }
            let mut end = None;
            while j < words.len() && j <= i + 5 && TIME_WORDS.contains(&norm(j)) {
                end = Some(j);
                j += 1;
            }
            if let Some(e) = end {
                out.push(phrase(i, e));
                covered = e + 1;
                i = e + 1;
                continue;
            }
        }
        if !is_number_word(w) || w == "a" {
            i += 1;
            continue;
        }
        // The number, with "and" and "point" inside it.
        let mut start = i;
        if i >= 1
            && matches!(
                norm(i - 1),
                "from"
                    | "between"
                    | "about"
                    | "around"
                    | "over"
                    | "under"
                    | "nearly"
                    | "almost"
                    | "only"
                    | "roughly"
                    | "at"
            )
        {
            start = i - 1;
        }
        let mut j = i;
        while j + 1 < words.len()
            && (is_number_word(norm(j + 1))
                || (matches!(norm(j + 1), "and" | "point")
                    && words.get(j + 2).is_some_and(|x| is_number_word(&x.norm))))
        {
            j += 1;
        }
        // A range: "from twenty two minutes to eight", "between five and seven in the evening".
        let mut k = j + 1;
        let mut end = j;
        let mut took = 0;
        while k < words.len() && took < 4 && !ends_phrase(norm(k)) {
            end = k;
            took += 1;
            let raw = &sentence[words[k].start..words[k].end];
            k += 1;
            if raw.ends_with([',', '.', ';', ':', '!', '?']) {
                break;
            }
        }
        // No phrase ends on "of", "a" or "per".
        while end > j && matches!(norm(end), "of" | "a" | "per") {
            end -= 1;
        }
        let ranged = matches!(norm(start), "from" | "between");
        if ranged
            && matches!(norm(k), "to" | "and")
            && words.get(k + 1).is_some_and(|x| is_number_word(&x.norm))
        {
            let mut m = k + 1;
            while m + 1 < words.len() && is_number_word(norm(m + 1)) {
                m += 1;
            }
            end = m;
            if TIME_WORDS.contains(&norm(m + 1)) || norm(m + 1) == "percent" {
                end = m + 1;
            }
            if norm(end + 1) == "in"
                && norm(end + 2) == "the"
                && TIME_WORDS.contains(&norm(end + 3))
            {
                end += 3;
            }
        }
        if end > j || norm(j) == "percent" {
            out.push(phrase(start, end));
            covered = end + 1;
            i = end + 1;
        } else {
            i = j + 1;
        }
    }
    out
}

/// Capitalised names not at the start of a sentence (an employer, a client,
/// a product): runs of capitalised words, "I" and sentence openers excluded.
fn names(sentence: &str) -> Vec<String> {
    const NOT_NAMES: [&str; 20] = [
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "OK",
        "Okay",
        "So",
        "And",
        "But",
        "Then",
        "Also",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "English",
    ];
    let tokens: Vec<(usize, &str)> = sentence
        .split_whitespace()
        .scan(0usize, |pos, tok| {
            let at = sentence[*pos..].find(tok).map_or(*pos, |p| *pos + p);
            *pos = at + tok.len();
            Some((at, tok))
        })
        .collect();
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut Vec<String>| {
        if !run.is_empty() {
            let name = run.join(" ");
            let name = name
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_string();
            if name.len() >= 2 && !out.contains(&name) {
                out.push(name);
            }
            run.clear();
        }
    };
    for (k, (_, tok)) in tokens.iter().enumerate() {
        let bare = tok.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
        let capital = bare.chars().next().is_some_and(char::is_uppercase);
        let opener = k == 0;
        // A capitalised function word ("Who", "The") after a missed full stop is no name.
        let function_word = text::is_stopword(&bare.to_lowercase());
        if capital && !opener && !NOT_NAMES.contains(&bare) && !function_word {
            run.push(bare);
            if tok.ends_with([',', '.', ';', ':', '!', '?']) {
                flush(&mut run, &mut out);
            }
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The result phrases of a sentence: from a verb of change in the past to
/// the end of its clause (at most [`RESULT_WORDS`] words).
fn results(sentence: &str) -> Vec<String> {
    let raw: Vec<&str> = sentence.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, tok) in raw.iter().enumerate() {
        let w = sentence_words(tok);
        let Some(w) = w.first() else { continue };
        if !is_outcome_verb(w) {
            continue;
        }
        let mut end = i;
        while end + 1 < raw.len()
            && end - i + 1 < RESULT_WORDS
            && !raw[end].ends_with([',', '.', ';', '!', '?'])
        {
            end += 1;
        }
        if end > i {
            let phrase = raw[i..=end]
                .join(" ")
                .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '%')
                .to_string();
            out.push(phrase);
        }
    }
    out
}

/// The actions of a sentence: after "I" or "we" (and an adverb), a verb
/// in the past tense that is an action, to the end of its clause (at most
/// [`RESULT_WORDS`] words).
fn actions(sentence: &str) -> Vec<String> {
    let raw: Vec<&str> = sentence.split_whitespace().collect();
    let norm: Vec<String> = raw
        .iter()
        .map(|t| sentence_words(t).first().cloned().unwrap_or_default())
        .collect();
    let clause_end = |from: usize| {
        let mut end = from;
        while end + 1 < raw.len()
            && end - from + 1 < RESULT_WORDS
            && !raw[end].ends_with([',', '.', ';', '!', '?'])
        {
            end += 1;
        }
        end
    };
    let phrase = |a: usize, b: usize| {
        raw[a..=b]
            .join(" ")
            .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '%')
            .to_string()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if !matches!(norm[i].as_str(), "i" | "we") {
            i += 1;
            continue;
        }
        let mut v = i + 1;
        if norm.get(v).is_some_and(|w| {
            matches!(
                w.as_str(),
                "then" | "also" | "quickly" | "immediately" | "personally" | "finally" | "just"
            )
        }) {
            v += 1;
        }
        if !norm.get(v).is_some_and(|w| is_action_verb(w)) {
            i += 1;
            continue;
        }
        // The action, then the ones joined to it: "I split the fleet, wrote a runbook, and paired…".
        loop {
            let end = clause_end(v);
            if end > v {
                out.push(phrase(v, end));
            }
            let mut next = end + 1;
            if norm.get(next).is_some_and(|w| w == "and") {
                next += 1;
            }
            if raw[end].ends_with(',') && norm.get(next).is_some_and(|w| is_action_verb(w)) {
                v = next;
            } else {
                i = end + 1;
                break;
            }
        }
    }
    out
}

/// The digest of an answer's timed sentences.
///
/// ```
/// use panelflow_models::analysis::digest::{digest, FactKind};
/// use panelflow_models::analysis::evidence::sentences::TimedSentence;
/// use panelflow_models::analysis::skills::SkillLexicon;
/// let s = |t: &str, at: f64| TimedSentence { text: t.into(), start: at, end: at + 4.0 };
/// let d = digest(&[
///     s("Thanks for the question, it is a good one.", 0.5),
///     s("At Harbor Freight I rebuilt the returns process in Excel.", 3.0),
///     s("As a result refunds went out in two days instead of ten days.", 8.0),
///     s("I always try my best.", 13.0),
/// ], &SkillLexicon::builtin().unwrap());
/// assert_eq!(d.sentences.len(), 2);
/// assert_eq!(d.sentences[0].start, 3.0);
/// let facts: Vec<(&FactKind, &str, f64)> = d.key_facts.iter().map(|f| (&f.kind, f.text.as_str(), f.at)).collect();
/// assert!(facts.contains(&(&FactKind::Quantity, "two days", 8.0)), "{facts:?}");
/// assert!(facts.iter().any(|f| f.1 == "Harbor Freight" && f.2 == 3.0), "{facts:?}");
/// ```
pub fn digest(sentences: &[TimedSentence], skills: &SkillLexicon) -> Digest {
    // Sentences: the best one or two by content, in the order said.
    let mut ranked: Vec<(usize, f64)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (i, content_weight(&s.text)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = ranked
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .take(DIGEST_SENTENCES)
        .map(|(i, _)| *i)
        .collect();
    if chosen.is_empty() {
        // Nothing stands out: the longest sentence says the most.
        if let Some((i, _)) = sentences
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.text.split_whitespace().count())
        {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();

    // Key facts, in the order said.
    let mut key_facts: Vec<KeyFact> = Vec::new();
    let add = |kind: FactKind, text: String, at: f64, facts: &mut Vec<KeyFact>| {
        let key = text.to_lowercase();
        let known = facts.iter().any(|f| {
            let other = f.text.to_lowercase();
            other.contains(&key) || key.contains(&other)
        });
        if text.is_empty() || known {
            return;
        }
        facts.push(KeyFact { kind, text, at });
    };
    for s in sentences {
        for q in quantities(&s.text) {
            add(FactKind::Quantity, q, s.start, &mut key_facts);
        }
        for r in results(&s.text) {
            add(FactKind::Result, r, s.start, &mut key_facts);
        }
        for t in skills.skills_named(&s.text) {
            add(FactKind::Tool, t, s.start, &mut key_facts);
        }
        for n in names(&s.text) {
            add(FactKind::Name, n, s.start, &mut key_facts);
        }
    }
    // Actions last, the most telling sentences' first: they fill what room is left.
    let mut by_weight: Vec<&TimedSentence> = sentences.iter().collect();
    by_weight.sort_by(|a, b| content_weight(&b.text).total_cmp(&content_weight(&a.text)));
    let mut taken = 0;
    for s in by_weight {
        for act in actions(&s.text) {
            if taken < MAX_ACTIONS {
                let before = key_facts.len();
                add(FactKind::Action, act, s.start, &mut key_facts);
                taken += key_facts.len() - before;
            }
        }
    }
    // Keep the most telling kinds when there are too many, then time order.
    let rank = |k: FactKind| match k {
        FactKind::Quantity => 0,
        FactKind::Result => 1,
        FactKind::Name => 2,
        FactKind::Tool => 3,
        FactKind::Action => 4,
    };
    key_facts.sort_by_key(|f| rank(f.kind));
    key_facts.truncate(MAX_FACTS);
    key_facts.sort_by(|a, b| a.at.total_cmp(&b.at));
    Digest {
        sentences: chosen.into_iter().map(|i| sentences[i].clone()).collect(),
        key_facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_keep_their_units() {
        assert_eq!(
            quantities("We cut waiting by forty percent."),
            ["forty percent"]
        );
        assert_eq!(
            quantities("It took 3 weeks and 12 nurses."),
            ["3 weeks", "12 nurses"]
        );
        assert_eq!(quantities("Sales grew 30%."), ["30%"]);
        assert!(quantities("One of them called.").is_empty());
        assert_eq!(
            quantities("We patched ninety servers in four batches."),
            ["ninety servers", "four batches"]
        );
        assert_eq!(
            quantities("Waits fell from twenty two minutes to eight."),
            ["from twenty two minutes to eight"]
        );
        assert_eq!(
            quantities("I check it every Monday morning, for a week."),
            ["every Monday morning", "for a week"]
        );
    }

    #[test]
    fn names_skip_sentence_openers_and_pronouns() {
        assert_eq!(
            names("I moved to Contoso Health in Denver."),
            ["Contoso Health", "Denver"]
        );
        assert!(names("Then I called her.").is_empty());
        assert!(names("I compared the users, Who converted with most?").is_empty());
    }

    #[test]
    fn results_run_to_the_end_of_the_clause() {
        assert_eq!(
            results("We finally reduced the backlog to zero, which helped."),
            ["reduced the backlog to zero"]
        );
    }

    #[test]
    fn actions_are_what_i_or_we_did() {
        assert_eq!(
            actions("Afterwards I wrote the post-mortem, and we added a canary stage for config changes."),
            ["wrote the post-mortem", "added a canary stage for config changes"]
        );
        assert_eq!(
            actions("I split the fleet into four batches, wrote a runbook, and paired with a colleague."),
            ["split the fleet into four batches", "wrote a runbook", "paired with a colleague"]
        );
        assert!(actions("I was tired and I think it helped.").is_empty());
    }

    #[test]
    fn a_generic_answer_still_gets_one_sentence() {
        let s = |t: &str| TimedSentence {
            text: t.into(),
            start: 1.0,
            end: 2.0,
        };
        let d = digest(
            &[
                s("I always work hard."),
                s("I am a team player and I like people."),
            ],
            &SkillLexicon::builtin().unwrap(),
        );
        assert_eq!(d.sentences.len(), 1);
        assert!(d.key_facts.is_empty());
    }
}
