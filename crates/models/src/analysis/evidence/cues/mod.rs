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

mod actions;
mod outcomes;
mod red_flags;
mod reflection;
mod situation;
mod words;

pub use self::actions::is_action_verb;
pub use self::outcomes::is_outcome_verb;
pub use self::words::{is_past, sentence_words};

use self::actions::{acts_of, coordinated_acts};
use self::outcomes::{has_quantity, RESULT_CONNECTIVES};
use self::red_flags::{DEROGATORY, DEROGATORY_ALONE, DISOWN, OTHERS, REFUSAL};
use self::reflection::{MILD_HEDGES, REFLECTION, STRONG_HEDGES};
use self::situation::{name_count, number_runs, CALENDAR, HABITUAL, TIME_ANCHORS};
use self::words::{count_runs, has_run, negated_before, without_intensifiers};

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
    /// A generic "you" as the subject ("you need to…", "you start with the basics").
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
/// assert!(cues("I'd rather not say, to be fair.").refusal);
/// assert_eq!(cues("Every Monday I check the totals against Salesforce.").own_actions, 1);
/// ```
pub fn cues(sentence: &str) -> SentenceCues {
    let words = sentence_words(sentence);
    let has = |p: &str| has_run(&words, p);
    // Refusals and hedges are heard through intensifiers: "I don't really
    // know" is "I don't know", "pretty much everyone" is "everyone".
    let plain = without_intensifiers(&words);
    let past = words.iter().any(|w| is_past(w));
    let (own_actions, hypothetical) = acts_of(&words, "i");
    let (team_actions, _) = acts_of(&words, "we");
    let (own_more, team_more) = coordinated_acts(sentence);
    let (own_actions, team_actions) = (own_actions + own_more, team_actions + team_more);
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
        refusal: REFUSAL.iter().any(|p| has_run(&plain, p)),
        strong_hedges: STRONG_HEDGES.iter().map(|p| count_runs(&plain, p)).sum(),
        mild_hedges: MILD_HEDGES.iter().map(|p| count_runs(&words, p)).sum(),
        numbers: number_runs(&words),
        names: name_count(sentence),
    }
}

#[cfg(test)]
mod tests;
