//! Linguistic cues of one sentence, by general means: tense, who acts (the
//! first person, a team, a generic "you"), modality, numbers, names and a
//! few closed word classes of English (habitual adverbs, result
//! connectives, hedges, refusals, derogatory words about people).
//!
//! The word lists are general English, written from grammar and
//! structured-interviewing practice, and grown on the development split
//! only (never on the frozen test split). They are short on purpose: a cue
//! only has to be heard; its weight in a score is fitted
//! ([`super::super::scoring`]).

use crate::analysis::text;

/// What one sentence shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SentenceCues {
    /// A clause in the past tense (a narrated event).
    pub past: bool,
    /// "I" doing something (any tense, not a state, a wish, a hedge or a
    /// hypothetical): "I rebuilt…", "I check…", "I've trained…".
    pub own_actions: usize,
    /// "we" doing something.
    pub team_actions: usize,
    /// "I" with a modal or a habit adverb: "I would…", "I always…".
    pub hypothetical: usize,
    /// A generic "you" as the subject ("you need to…", "you break it down").
    pub generic_you: bool,
    /// A time or place that pins down one occasion ("last spring", "at my previous job").
    pub time_anchor: bool,
    /// Habitual, hypothetical or self-descriptive ("I always…", "I'm a…").
    pub habitual: bool,
    /// States a result ("as a result", "we cut…", "it was delivered").
    pub outcome: bool,
    /// Holds a quantity (a number with a unit, a percentage, a multiple).
    pub quantity: bool,
    /// Looks back and draws a lesson ("I learned", "since then", "next time").
    pub reflection: bool,
    /// Puts the fault on others with derogatory words or disowns it.
    pub blame: bool,
    /// Declines or dodges the question ("I'd rather not", "I can't think of one").
    pub refusal: bool,
    /// Strong hedges about one's own answer ("I'm not sure", "I don't know", "I guess").
    pub strong_hedges: usize,
    /// Mild hedges ("maybe", "probably", "kind of").
    pub mild_hedges: usize,
    /// Numbers said (a run of number words counts once).
    pub numbers: usize,
    /// Capitalised names not opening the sentence (an employer, a tool, a place).
    pub names: usize,
}

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

/// Words ending in "-ed" that are not past-tense verbs.
const ED_NOT_PAST: [&str; 15] = [
    "need", "bed", "red", "shed", "seed", "speed", "feed", "indeed", "hundred", "bleed", "breed",
    "greed", "weed", "wed", "sled",
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

/// Words that pin a story to one occasion.
const TIME_ANCHORS: [&str; 38] = [
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
const CALENDAR: [&str; 19] = [
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
const HABITUAL: [&str; 45] = [
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

/// Connectives that introduce a result.
const RESULT_CONNECTIVES: [&str; 14] = [
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

/// Number words (as [`text::words`] spells digits out).
const NUMBER_WORDS: [&str; 33] = [
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
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "half",
    "dozen",
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

/// Looking back and drawing a lesson.
const REFLECTION: [&str; 25] = [
    "i learned",
    "i learnt",
    "i've learned",
    "i have learned",
    "taught me",
    "lesson",
    "i realized",
    "i realised",
    "since then",
    "from then on",
    "ever since",
    "now i",
    "i now",
    "these days i",
    "next time",
    "going forward",
    "in hindsight",
    "looking back",
    "do differently",
    "done differently",
    "changed how i",
    "changed the way i",
    "i make sure",
    "i started to",
    "i learned that",
];

/// People and groups a candidate may put the fault on.
const OTHERS: [&str; 27] = [
    "they",
    "he",
    "she",
    "them",
    "team",
    "colleague",
    "colleagues",
    "coworker",
    "coworkers",
    "manager",
    "managers",
    "management",
    "boss",
    "company",
    "employer",
    "everyone",
    "everybody",
    "people",
    "leadership",
    "director",
    "supervisor",
    "client",
    "customers",
    "nobody",
    "who",
    "staff",
    "department",
];

/// Derogatory words about people (blame when aimed at someone).
const DEROGATORY: [&str; 24] = [
    "lazy",
    "incompetent",
    "incompetence",
    "useless",
    "stupid",
    "idiot",
    "idiots",
    "clueless",
    "hopeless",
    "toxic",
    "impossible",
    "unprofessional",
    "careless",
    "sloppy",
    "ridiculous",
    "pathetic",
    "awful",
    "terrible",
    "horrible",
    "dumb",
    "arrogant",
    "selfish",
    "rude",
    "garbage",
];

/// Derogatory words that are blame wherever they stand.
const DEROGATORY_ALONE: [&str; 7] = [
    "lazy",
    "incompetent",
    "incompetence",
    "useless",
    "clueless",
    "garbage",
    "toxic",
];

/// Disowning phrases.
const DISOWN: [&str; 22] = [
    "not my fault",
    "wasn't my fault",
    "was not my fault",
    "their fault",
    "his fault",
    "her fault",
    "not my problem",
    "wasn't my problem",
    "not my job",
    "wasn't my job",
    "not my responsibility",
    "wasn't my responsibility",
    "wasn't on me",
    "not on me",
    "call it my mistake",
    "wasn't fair",
    "not fair",
    "their mess",
    "their problem",
    "nobody holds them",
    "impossible to work with",
    "didn't care",
];

/// Declining or dodging the question.
const REFUSAL: [&str; 35] = [
    "rather not",
    "prefer not",
    "can't think of",
    "cannot think of",
    "can't really think",
    "can't remember",
    "cannot remember",
    "don't remember",
    "don't have an example",
    "don't really have an example",
    "don't have a good example",
    "don't have one",
    "nothing comes to mind",
    "no comment",
    "skip this",
    "next question",
    "not going to answer",
    "don't make mistakes",
    "never made a mistake",
    "never really made",
    "never had a conflict",
    "never had any conflict",
    "wouldn't say i've made",
    "wouldn't say i really had",
    "wouldn't say i had",
    "not appropriate",
    "prefer to discuss",
    "rather discuss",
    "get on with pretty much everyone",
    "get on with everyone",
    "get along with everyone",
    "rather keep the peace",
    "i just let it go",
    "nothing really stands out",
    "pass on this",
];

/// Strong hedges about one's own answer.
const STRONG_HEDGES: [&str; 12] = [
    "i'm not sure",
    "i am not sure",
    "not really sure",
    "i don't know",
    "i do not know",
    "i don't really know",
    "i guess",
    "no idea",
    "i'm not certain",
    "hard to say",
    "i suppose",
    "not entirely sure",
];

/// Mild hedges.
const MILD_HEDGES: [&str; 9] = [
    "maybe", "perhaps", "probably", "kind of", "sort of", "possibly", "i think", "might",
    "somewhat",
];

/// First words that are not names when capitalised mid-sentence.
const NOT_NAMES: [&str; 5] = ["I", "I'm", "I've", "I'd", "I'll"];

/// How many times the phrase occurs as a run of words.
fn count_runs(words: &[String], phrase: &str) -> usize {
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
fn has_run(words: &[String], phrase: &str) -> bool {
    count_runs(words, phrase) > 0
}

/// A past-tense verb form: irregular, or a regular "-ed" form.
pub fn is_past(word: &str) -> bool {
    IRREGULAR_PAST.contains(&word)
        || (word.len() > 4 && word.ends_with("ed") && !ED_NOT_PAST.contains(&word))
}

/// A past-tense verb that reports an action (not a state, a wish or an
/// auxiliary): "rebuilt", "called", not "was", "felt".
pub fn is_action_verb(word: &str) -> bool {
    is_past(word) && !NOT_ACTIONS.contains(&word)
}

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

/// What a subject does in a sentence: `(actions, hypotheticals)`. After
/// the subject (and up to two adverbs) comes a verb: an action unless it is
/// a state, a wish or an auxiliary ([`NOT_ACTIONS`]); a modal or a habit
/// adverb makes it hypothetical. "I've" + a past participle is an action.
fn acts_of(words: &[String], subject: &str) -> (usize, usize) {
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
        if NOT_ACTIONS.contains(&v) || v.ends_with("n't") || NUMBER_WORDS.contains(&v) {
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

/// Whether a number with a unit, a percentage or a multiple is in the words.
fn has_quantity(words: &[String]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        if QUANTITY_WORDS.contains(&w.as_str()) {
            return true;
        }
        let numeric = (NUMBER_WORDS.contains(&w.as_str()) && w != "one")
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

/// Runs of number words ("one hundred and twenty" is one number).
fn number_runs(words: &[String]) -> usize {
    let mut runs = 0;
    let mut inside = false;
    for w in words {
        let num = NUMBER_WORDS.contains(&w.as_str()) || (inside && w == "and");
        if num && !inside {
            runs += 1;
        }
        inside = num;
    }
    runs
}

/// Capitalised tokens that do not open the sentence (names of employers,
/// tools, places), "I" and its contractions excepted.
fn name_count(sentence: &str) -> usize {
    sentence
        .split_whitespace()
        .skip(1)
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '\''))
        .filter(|t| t.chars().next().is_some_and(char::is_uppercase) && !NOT_NAMES.contains(t))
        .count()
}

/// A negation within the three words before `i`.
fn negated_before(words: &[String], i: usize) -> bool {
    words[i.saturating_sub(3)..i]
        .iter()
        .any(|w| matches!(w.as_str(), "not" | "never" | "no" | "without") || w.ends_with("n't"))
}

/// Normalised words of a sentence: lower case, numbers spelled out,
/// typographic apostrophes made plain.
pub fn sentence_words(sentence: &str) -> Vec<String> {
    text::norm_words(&sentence.replace(['\u{2019}', '\u{2018}'], "'"))
}

/// The cues of one sentence.
///
/// ```
/// use panelflow_models::analysis::evidence::cues::cues;
/// let c = cues("Last spring I rebuilt the rota and we cut overtime by thirty percent.");
/// assert!(c.past && c.time_anchor && c.outcome && c.quantity);
/// assert_eq!((c.own_actions, c.team_actions), (1, 1));
/// assert!(!c.habitual && !c.blame);
/// let g = cues("I always try to stay calm, I'm a team player.");
/// assert!(g.habitual && !g.past && g.own_actions == 0);
/// let h = cues("I guess I'm not sure, maybe it went fine.");
/// assert_eq!(h.strong_hedges, 2);
/// assert!(h.mild_hedges >= 1);
/// assert!(cues("Honestly my manager was lazy and it was their fault.").blame);
/// assert!(!cues("The customer was angry, so I listened first.").blame);
/// assert!(cues("I'd rather not talk about that.").refusal);
/// assert_eq!(cues("Every Monday I check the totals against Salesforce.").own_actions, 1);
/// ```
pub fn cues(sentence: &str) -> SentenceCues {
    let words = sentence_words(sentence);
    let has = |p: &str| has_run(&words, p);
    let past = words.iter().any(|w| is_past(w));
    let (own_actions, hypothetical) = acts_of(&words, "i");
    let (team_actions, _) = acts_of(&words, "we");
    let generic_you = words.iter().enumerate().any(|(i, w)| {
        w == "you"
            && words
                .get(i + 1)
                .is_some_and(|n| !matches!(n.as_str(), "know" | "see" | "guys" | "all"))
    });
    let time_anchor = TIME_ANCHORS.iter().any(|p| has(p))
        || words.iter().any(|w| CALENDAR.contains(&w.as_str()))
        // A year: "in 2021" is spelled "in two thousand twenty one".
        || words.windows(3).any(|w| {
            matches!(w[0].as_str(), "in" | "since" | "during")
                && ((w[1] == "two" && w[2] == "thousand") || w[1] == "nineteen")
        });
    let reflection = REFLECTION.iter().any(|p| has(p));
    // A lesson in the present ("since then I always…") is not a habit
    // claimed in place of an example.
    let habitual = !reflection && (HABITUAL.iter().any(|p| has(p)) || hypothetical > 0);
    let outcome_verb = words.iter().enumerate().any(|(i, w)| {
        is_outcome_verb(w) && !negated_before(&words, i) && i > 0 && words[i - 1] != "to"
    });
    let outcome = RESULT_CONNECTIVES.iter().any(|p| has(p)) || outcome_verb;
    // A derogatory word about someone: right after a person and a verb of
    // being ("the team was lazy", "she's impossible"), or just before a
    // person ("useless management") — not about a week, a tool or an outage.
    let about_people = |i: usize| {
        let before = &words[i.saturating_sub(4)..i];
        let person_then_is = before.iter().enumerate().any(|(k, w)| {
            OTHERS.contains(&w.as_str())
                && before[k + 1..].iter().any(|v| {
                    matches!(
                        v.as_str(),
                        "was" | "were" | "is" | "are" | "been" | "seemed" | "being"
                    )
                })
        });
        let then_person = words
            .get(i + 1)
            .is_some_and(|w| OTHERS.contains(&w.as_str()));
        person_then_is || then_person
    };
    let derogatory = words.iter().enumerate().any(|(i, w)| {
        DEROGATORY.contains(&w.as_str()) && !negated_before(&words, i) && about_people(i)
    });
    let blamed = words
        .iter()
        .enumerate()
        .any(|(i, w)| (w == "blame" || w == "blamed") && !negated_before(&words, i))
        && !words.iter().any(|w| w == "myself");
    let blame = derogatory
        || words.iter().any(|w| DEROGATORY_ALONE.contains(&w.as_str()))
        || blamed
        || DISOWN.iter().any(|p| has(p));
    SentenceCues {
        past,
        own_actions,
        team_actions,
        hypothetical,
        generic_you,
        time_anchor,
        habitual,
        outcome,
        quantity: has_quantity(&words),
        reflection,
        blame,
        refusal: REFUSAL.iter().any(|p| has(p)),
        strong_hedges: STRONG_HEDGES.iter().map(|p| count_runs(&words, p)).sum(),
        mild_hedges: MILD_HEDGES.iter().map(|p| count_runs(&words, p)).sum(),
        numbers: number_runs(&words),
        names: name_count(sentence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_and_irregular_pasts() {
        assert!(is_past("negotiated"));
        assert!(is_past("wrote"));
        assert!(!is_past("hundred"));
        assert!(!is_past("need"));
        assert!(!is_past("write"));
    }

    #[test]
    fn outcome_verbs_in_the_past() {
        for w in [
            "reduced",
            "stopped",
            "halved",
            "delivered",
            "cut",
            "grew",
            "fixed",
        ] {
            assert!(is_outcome_verb(w), "{w}");
        }
        for w in ["reduce", "walked", "thought"] {
            assert!(!is_outcome_verb(w), "{w}");
        }
    }

    #[test]
    fn own_actions_skip_adverbs_but_not_states_or_modals() {
        assert_eq!(cues("I then quickly called the supplier.").own_actions, 1);
        assert_eq!(cues("I was tired and I felt stuck.").own_actions, 0);
        assert_eq!(cues("We shipped it and I wrote the notes.").team_actions, 1);
        assert_eq!(cues("I've trained nine people.").own_actions, 1);
        let c = cues("I would call them and I always stay calm.");
        assert_eq!((c.own_actions, c.hypothetical), (0, 2));
        assert!(c.habitual);
        assert_eq!(cues("I don't know.").own_actions, 0);
    }

    #[test]
    fn quantities_need_a_unit() {
        assert!(cues("It took three weeks.").quantity);
        assert!(cues("Sales rose 40%.").quantity);
        assert!(!cues("One of them called me.").quantity);
        assert!(cues("We served one hundred customers.").quantity);
    }

    #[test]
    fn numbers_and_names_are_counted() {
        let c = cues("At Contoso I ran 120 stores for Northwind Health in 3 states.");
        assert_eq!(c.numbers, 2);
        assert_eq!(c.names, 3);
    }

    #[test]
    fn negated_blame_is_not_blame() {
        assert!(!cues("I did not blame anyone.").blame);
        assert!(cues("It wasn't my fault, the team was useless.").blame);
        assert!(!cues("I blamed myself at first.").blame);
        assert!(cues("A colleague who was impossible to work with.").blame);
        assert!(cues("My manager was honestly terrible.").blame);
        assert!(!cues("It was an awful, stressful week and customers were furious.").blame);
        assert!(!cues("The old tool was terrible, so I replaced it.").blame);
    }

    #[test]
    fn reflection_is_not_a_habit() {
        let c = cues("Since then I always add a buffer to my plans.");
        assert!(c.reflection && !c.habitual);
    }

    #[test]
    fn generic_you_is_heard() {
        assert!(cues("You need to break the problem down.").generic_you);
        assert!(!cues("It was, you know, fine.").generic_you);
    }
}
