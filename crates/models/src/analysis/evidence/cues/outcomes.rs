//! Outcomes and measures: result connectives, verbs of change in the past
//! and quantities (a number with a unit, a percentage, a multiple).

use super::words::is_counting_word;

/// Connectives that introduce a result.
pub(super) const RESULT_CONNECTIVES: [&str; 14] = [
    "as a result",
    "in the end",
    "the result",
    "the outcome",
    "resulted in",
    "led to",
    "which meant",
    "that meant",
    "ended up",
    "by the end",
    "turned out",
    "so that",
    "which cut",
    "which saved",
];

/// Verbs whose past tense reports a change achieved (stems: "-ed" forms
/// and irregular pasts are matched by [`is_outcome_verb`]).
const OUTCOME_VERBS: [&str; 49] = [
    "reduce", "increase", "cut", "save", "improve", "raise", "lower", "drop", "fall", "rise",
    "grow", "double", "halve", "triple", "ship", "launch", "deliver", "finish", "complete",
    "close", "sign", "win", "hit", "exceed", "beat", "recover", "resolve", "fix", "solve", "pass",
    "approve", "promote", "renew", "retain", "prevent", "avoid", "stop", "achieve", "gain", "earn",
    "shorten", "boost", "restore", "hire", "publish", "release", "adopt", "reach", "decline",
];

/// Irregular pasts of [`OUTCOME_VERBS`].
const OUTCOME_PAST: [&str; 8] = ["cut", "fell", "rose", "grew", "won", "hit", "beat", "sped"];

/// Words of quantity besides spelled-out numbers.
const QUANTITY_WORDS: [&str; 9] = [
    "percent", "half", "double", "doubled", "twice", "triple", "tripled", "halved", "dozen",
];

/// Units a count is made of.
const UNITS: [&str; 46] = [
    "percent",
    "hours",
    "hour",
    "days",
    "day",
    "weeks",
    "week",
    "months",
    "month",
    "years",
    "year",
    "minutes",
    "minute",
    "seconds",
    "dollars",
    "pounds",
    "euros",
    "people",
    "customers",
    "clients",
    "patients",
    "users",
    "orders",
    "tickets",
    "calls",
    "times",
    "projects",
    "members",
    "staff",
    "accounts",
    "sites",
    "stores",
    "shifts",
    "students",
    "cases",
    "deals",
    "teams",
    "engineers",
    "nurses",
    "points",
    "k",
    "x",
    "per",
    "million",
    "thousand",
    "hundred",
];

/// A past-tense form of a verb of change: an irregular past, or "-ed"
/// after the verb (with a final "e" dropped, a consonant doubled, or "y"
/// turned into "i").
pub fn is_outcome_verb(word: &str) -> bool {
    if OUTCOME_PAST.contains(&word) {
        return true;
    }
    let Some(stem) = word.strip_suffix("ed") else {
        return false;
    };
    let b = stem.as_bytes();
    let undoubled = if b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2] {
        &stem[..stem.len() - 1]
    } else {
        stem
    };
    let y_form = stem.strip_suffix('i').map(|s| format!("{s}y"));
    OUTCOME_VERBS.iter().any(|v| {
        let base = v.trim_end_matches('e');
        stem == base || undoubled == base || y_form.as_deref() == Some(*v)
    })
}

/// Whether a number with a unit, a percentage or a multiple is in the words.
pub(super) fn has_quantity(words: &[String]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        if QUANTITY_WORDS.contains(&w.as_str()) {
            return true;
        }
        let numeric = (is_counting_word(w) && w != "one")
            || (w == "one"
                && words
                    .get(i + 1)
                    .is_some_and(|u| UNITS.contains(&u.as_str())));
        numeric
            && words[i + 1..]
                .iter()
                .take(4)
                .any(|u| UNITS.contains(&u.as_str()))
    })
}
