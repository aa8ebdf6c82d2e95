//! The word lists and tokenizing the cue detectors share: the past tense,
//! number words, runs of words and negation.

use crate::analysis::text;

/// Irregular past-tense forms common in work stories.
const IRREGULAR_PAST: [&str; 76] = [
    "was",
    "were",
    "had",
    "did",
    "made",
    "took",
    "went",
    "got",
    "gave",
    "found",
    "told",
    "led",
    "ran",
    "built",
    "wrote",
    "set",
    "put",
    "brought",
    "kept",
    "left",
    "met",
    "sent",
    "spent",
    "thought",
    "knew",
    "saw",
    "came",
    "began",
    "chose",
    "drove",
    "fell",
    "felt",
    "fought",
    "grew",
    "held",
    "lost",
    "paid",
    "rose",
    "said",
    "sold",
    "stood",
    "taught",
    "understood",
    "won",
    "caught",
    "dealt",
    "meant",
    "sat",
    "spoke",
    "stuck",
    "threw",
    "broke",
    "bought",
    "became",
    "forgot",
    "hid",
    "hit",
    "let",
    "lent",
    "shut",
    "sought",
    "split",
    "struck",
    "swore",
    "undid",
    "withdrew",
    "woke",
    "wore",
    "overcame",
    "rebuilt",
    "sped",
    "rang",
    "drew",
    "flew",
    "shook",
    "slept",
];

/// Words ending in "-ed" that are not past-tense verbs.
const ED_NOT_PAST: [&str; 15] = [
    "need", "bed", "red", "shed", "seed", "speed", "feed", "indeed", "hundred", "bleed", "breed",
    "greed", "weed", "wed", "sled",
];

/// Number words that count something (as [`text::words`] spells digits
/// out): every word of a spelled number but "zero".
pub(super) fn is_counting_word(w: &str) -> bool {
    w != "zero" && crate::analysis::numbers::is_number_word(w)
}

/// How many times the phrase occurs as a run of words.
pub(super) fn count_runs(words: &[String], phrase: &str) -> usize {
    let p: Vec<&str> = phrase.split(' ').collect();
    if p.is_empty() || words.len() < p.len() {
        return 0;
    }
    words
        .windows(p.len())
        .filter(|w| w.iter().zip(&p).all(|(a, b)| a == b))
        .count()
}

/// Whether the word list holds the phrase (space-separated words) as a run.
pub(super) fn has_run(words: &[String], phrase: &str) -> bool {
    count_runs(words, phrase) > 0
}

/// A past-tense verb form: irregular, or a regular "-ed" form.
pub fn is_past(word: &str) -> bool {
    IRREGULAR_PAST.contains(&word)
        || (word.len() > 4 && word.ends_with("ed") && !ED_NOT_PAST.contains(&word))
}

/// A negation within the three words before `i`.
pub(super) fn negated_before(words: &[String], i: usize) -> bool {
    words[i.saturating_sub(3)..i]
        .iter()
        .any(|w| matches!(w.as_str(), "not" | "never" | "no" | "without") || w.ends_with("n't"))
}

/// Normalised words of a sentence: lower case, numbers spelled out,
/// typographic apostrophes made plain.
pub fn sentence_words(sentence: &str) -> Vec<String> {
    text::norm_words(&sentence.replace(['\u{2019}', '\u{2018}'], "'"))
}

/// Adverbs that intensify or soften without changing what is said.
const INTENSIFIERS: [&str; 6] = ["really", "just", "honestly", "actually", "truly", "simply"];

/// The words without intensifiers ("really", "just", …) and "pretty much",
/// so that a phrase list need not spell each variant.
pub(super) fn without_intensifiers(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "pretty" && words.get(i + 1).is_some_and(|n| n == "much") {
            i += 2;
            continue;
        }
        if !INTENSIFIERS.contains(&w) {
            out.push(words[i].clone());
        }
        i += 1;
    }
    out
}
