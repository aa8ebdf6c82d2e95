//! Ownership and actions: who acts in a sentence ("I", "we") and whether
//! the verb is an action, a state or a hypothetical.

use super::words::{is_counting_word, is_past};

/// Verbs after "I" that are not actions: states, wishes, cognition,
/// auxiliaries and negations ("I was", "I think", "I don't").
const NOT_ACTIONS: [&str; 58] = [
    "am",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "think",
    "thought",
    "believe",
    "believed",
    "guess",
    "guessed",
    "feel",
    "felt",
    "like",
    "liked",
    "love",
    "loved",
    "want",
    "wanted",
    "hope",
    "hoped",
    "wish",
    "wished",
    "know",
    "knew",
    "mean",
    "meant",
    "suppose",
    "supposed",
    "seem",
    "seemed",
    "need",
    "needed",
    "get",
    "got",
    "tend",
    "tended",
    "do",
    "does",
    "did",
    "not",
    "never",
    "enjoy",
    "enjoyed",
    "care",
    "cared",
    "consider",
    "see",
    "saw",
    "hate",
    "hated",
    "prefer",
    "preferred",
];

/// Modals: "I" with one of these speaks of what would or could be.
const MODALS: [&str; 9] = [
    "would", "will", "can", "could", "should", "might", "must", "may", "shall",
];

/// Adverbs that may stand between "I" and the verb.
const BETWEEN: [&str; 21] = [
    "then",
    "also",
    "first",
    "quickly",
    "immediately",
    "personally",
    "finally",
    "eventually",
    "just",
    "actually",
    "really",
    "directly",
    "carefully",
    "even",
    "still",
    "later",
    "soon",
    "basically",
    "myself",
    "again",
    "only",
];

/// Adverbs that make "I" + verb a habit rather than an action.
const HABIT_ADVERBS: [&str; 7] = [
    "always",
    "usually",
    "often",
    "sometimes",
    "generally",
    "normally",
    "typically",
];

/// A past-tense verb that reports an action (not a state, a wish or an
/// auxiliary): "rebuilt", "called", not "was", "felt".
pub fn is_action_verb(word: &str) -> bool {
    is_past(word) && !NOT_ACTIONS.contains(&word)
}

/// What a subject does in a sentence: `(actions, hypotheticals)`. After
/// the subject (and up to two adverbs) comes a verb: an action unless it is
/// a state, a wish or an auxiliary ([`NOT_ACTIONS`]); a modal or a habit
/// adverb makes it hypothetical. "I've" + a past participle is an action.
pub(super) fn acts_of(words: &[String], subject: &str) -> (usize, usize) {
    let (mut acts, mut hypothetical) = (0, 0);
    for (i, w) in words.iter().enumerate() {
        let w = w.as_str();
        if subject == "i" {
            match w {
                "i've" => {
                    if words
                        .get(i + 1)
                        .is_some_and(|v| is_past(v) && !NOT_ACTIONS.contains(&v.as_str()))
                    {
                        acts += 1;
                    }
                    continue;
                }
                "i'd" | "i'll" => {
                    hypothetical += 1;
                    continue;
                }
                "i" => {}
                _ => continue,
            }
        } else if w != subject {
            continue;
        }
        let mut j = i + 1;
        let mut habit = false;
        while j < words.len()
            && j <= i + 2
            && (BETWEEN.contains(&words[j].as_str()) || HABIT_ADVERBS.contains(&words[j].as_str()))
        {
            habit |= HABIT_ADVERBS.contains(&words[j].as_str());
            j += 1;
        }
        let Some(v) = words.get(j).map(String::as_str) else {
            continue;
        };
        if MODALS.contains(&v) {
            hypothetical += 1;
            continue;
        }
        if v == "used" && words.get(j + 1).is_some_and(|t| t == "to") {
            hypothetical += 1;
            continue;
        }
        if matches!(v, "have" | "has") {
            if words.get(j + 1).is_some_and(|t| is_past(t)) {
                acts += 1;
            }
            continue;
        }
        if NOT_ACTIONS.contains(&v) || v.ends_with("n't") || is_counting_word(v) {
            continue;
        }
        if habit {
            hypothetical += 1;
        } else {
            acts += 1;
        }
    }
    (acts, hypothetical)
}

/// Pronouns that are always subjects of someone else's clause.
const OTHER_SUBJECTS: [&str; 5] = ["he", "she", "they", "he's", "she's"];

/// Actions in verb phrases coordinated with a first-person clause, whose
/// subject is not repeated: "I proposed a shared calendar, set it up with
/// the office manager, and checked in after a month" holds three of the candidate's
/// actions, where [`acts_of`] hears one. Returns `(own, team)`: the
/// coordinated past-tense actions after an "I" clause and after a "we"
/// clause. Clauses are split at commas, semicolons and "and";
/// a clause counts when it opens with a past-tense action verb and the
/// last subject named before it is "I" or "we". A clause that opens with
/// anything else (a noun, "it", a preposition) leaves the subject unknown.
pub(super) fn coordinated_acts(sentence: &str) -> (usize, usize) {
    let mut subject: Option<bool> = None; // Some(true): "I"; Some(false): "we"
    let (mut own, mut team) = (0, 0);
    for clause in sentence.split([',', ';']) {
        let mut opening = true;
        for w in super::words::sentence_words(clause) {
            let w = w.as_str();
            if w == "and" {
                opening = true;
                continue;
            }
            match w {
                "i" | "i've" | "i'd" | "i'll" | "i'm" => subject = Some(true),
                "we" | "we've" | "we'd" | "we'll" | "we're" => subject = Some(false),
                _ if OTHER_SUBJECTS.contains(&w) => subject = None,
                _ if opening && BETWEEN.contains(&w) => continue,
                // "did" opens a coordinated clause as a main verb ("…, did
                // the plans myself").
                _ if opening && (is_action_verb(w) || w == "did") => match subject {
                    Some(true) => own += 1,
                    Some(false) => team += 1,
                    None => {}
                },
                _ if opening => subject = None,
                _ => {}
            }
            opening = false;
        }
    }
    (own, team)
}
