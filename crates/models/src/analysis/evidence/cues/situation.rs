//! Situation and specifics: a time or place that pins down one occasion,
//! habitual and self-describing phrases, numbers and names.

use super::words::is_counting_word;

/// Words that pin a story to one occasion.
pub(super) const TIME_ANCHORS: [&str; 38] = [
    "last year",
    "last month",
    "last week",
    "last quarter",
    "last spring",
    "last summer",
    "last autumn",
    "last fall",
    "last winter",
    "years ago",
    "months ago",
    "weeks ago",
    "one time",
    "one day",
    "once",
    "recently",
    "at my last",
    "at my previous",
    "in my last",
    "in my previous",
    "in my first",
    "when i was",
    "when i worked",
    "that day",
    "that week",
    "that month",
    "that year",
    "at the time",
    "back then",
    "during",
    "one morning",
    "one night",
    "one evening",
    "earlier this year",
    "this year",
    "a few months",
    "a few weeks",
    "the night before",
];

/// Month and weekday names.
pub(super) const CALENDAR: [&str; 19] = [
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "christmas",
];

/// Habitual, hypothetical and self-describing phrases.
pub(super) const HABITUAL: [&str; 45] = [
    "i always",
    "i usually",
    "i generally",
    "i normally",
    "i typically",
    "i tend to",
    "i try to",
    "i like to",
    "i believe",
    "i'm a",
    "i am a",
    "i'm very",
    "i am very",
    "i'm someone",
    "i am someone",
    "i consider myself",
    "i see myself",
    "you have to",
    "you should",
    "you need to",
    "you just",
    "it's important",
    "it is important",
    "the key is",
    "in general",
    "generally",
    "whenever",
    "every time",
    "perfectionist",
    "team player",
    "hard worker",
    "people person",
    "passionate",
    "i'm really good",
    "i'm good at",
    "i am good at",
    "i'm the kind",
    "i'm the type",
    "i'm pretty",
    "i'm open",
    "i'm great",
    "i'm excellent",
    "i'm naturally",
    "i'm known",
    "i would say",
];

/// First words that are not names when capitalised mid-sentence.
const NOT_NAMES: [&str; 5] = ["I", "I'm", "I've", "I'd", "I'll"];

/// Runs of number words ("one hundred and twenty" is one number).
pub(super) fn number_runs(words: &[String]) -> usize {
    let mut runs = 0;
    let mut inside = false;
    for w in words {
        let num = is_counting_word(w) || (inside && w == "and");
        if num && !inside {
            runs += 1;
        }
        inside = num;
    }
    runs
}

/// Capitalised tokens that do not open the sentence (names of employers,
/// tools, places), "I" and its contractions excepted.
pub(super) fn name_count(sentence: &str) -> usize {
    sentence
        .split_whitespace()
        .skip(1)
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '\''))
        .filter(|t| t.chars().next().is_some_and(char::is_uppercase) && !NOT_NAMES.contains(t))
        .count()
}
