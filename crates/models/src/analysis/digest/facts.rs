//! Key-fact extraction: quantities, names, results and actions in a
//! sentence.

use crate::analysis::evidence::cues::{is_action_verb, is_outcome_verb, sentence_words};
use crate::analysis::numbers::is_number_word;
use crate::analysis::text;

/// Most words of a result phrase.
const RESULT_WORDS: usize = 8;

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

/// Parts of the day a clock time is said with.
const PARTS_OF_DAY: [&str; 4] = ["morning", "afternoon", "evening", "night"];

/// The end of a part of the day said right after word `at`: "in the
/// morning", "at night".
fn part_of_day_after(words: &[text::Word], at: usize) -> Option<usize> {
    let norm = |i: usize| words.get(i).map_or("", |w| w.norm.as_str());
    match (norm(at + 1), norm(at + 2), norm(at + 3)) {
        ("in", "the", p) if PARTS_OF_DAY.contains(&p) => Some(at + 3),
        ("at", "night", _) => Some(at + 2),
        _ => None,
    }
}

/// Quantities and times in a sentence, as transcribed: a number with what
/// it counts ("ninety servers", "forty percent", "3 weeks"), a range ("from
/// thirty one seconds to nine"), a time ("every Monday morning", "for a
/// week", "within four days").
pub(super) fn quantities(sentence: &str) -> Vec<String> {
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
        // "every Friday afternoon", "for a month", "within two hours", "at nine at night".
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
        // A frequency: "twice in one night", "once a week".
        if matches!(w, "once" | "twice") {
            let mut j = i + 1;
            if matches!(norm(j), "a" | "an" | "in" | "per" | "every" | "each") {
                j += 1;
            }
            while j < words.len() && is_number_word(norm(j)) {
                j += 1;
            }
            if TIME_WORDS.contains(&norm(j)) {
                out.push(phrase(i, j));
                covered = j + 1;
                i = j + 1;
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
        // A range: "from thirty one seconds to nine", "between six and eight in the evening".
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
        // A time of day: "at six in the morning", "at nine at night".
        if end == j {
            if let Some(e) = part_of_day_after(&words, end) {
                end = e;
            }
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
pub(super) fn names(sentence: &str) -> Vec<String> {
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
    // Interjections and titles said alone are no names ("Ah", "Mr").
    const NOT_ALONE: [&str; 10] = ["Ah", "Oh", "Um", "Uh", "Er", "Mr", "Mrs", "Ms", "Dr", "Hmm"];
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
            if name.len() >= 2 && !NOT_ALONE.contains(&name.as_str()) && !out.contains(&name) {
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
pub(super) fn results(sentence: &str) -> Vec<String> {
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
pub(super) fn actions(sentence: &str) -> Vec<String> {
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
        // The action, then the ones joined to it: "I sorted the orders, drafted a checklist, and trained…".
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
