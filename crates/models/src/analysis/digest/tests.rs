use super::facts::{actions, names, quantities, results};
use super::*;
use crate::analysis::evidence::sentences::TimedSentence;
use crate::analysis::skills::SkillLexicon;

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
        quantities("Load times fell from thirty one seconds to nine."),
        ["from thirty one seconds to nine"]
    );
    assert_eq!(
        quantities("I check it every Monday morning, for a week."),
        ["every Monday morning", "for a week"]
    );
}

#[test]
fn times_of_day_and_frequencies_are_facts() {
    assert_eq!(
        quantities("The alarm went off at five in the morning."),
        ["at five in the morning"]
    );
    assert_eq!(
        quantities("It failed at ten at night, again."),
        ["at ten at night"]
    );
    assert_eq!(
        quantities("The pager woke us twice in one week."),
        ["twice in one week"]
    );
    assert_eq!(quantities("We met once a month."), ["once a month"]);
    // A lone number is still no fact.
    assert!(quantities("Number nine in the queue.").is_empty());
}

#[test]
fn names_skip_sentence_openers_and_pronouns() {
    assert_eq!(
        names("I moved to Contoso Health in Denver."),
        ["Contoso Health", "Denver"]
    );
    assert!(names("Then I called her.").is_empty());
    assert!(names("I sorted the boxes, Who packed the most?").is_empty());
    // Interjections and bare titles are no names; a title with its name is.
    assert!(names("Well, Ah, it went fine.").is_empty());
    assert_eq!(names("So I called Mr Okafor."), ["Mr Okafor"]);
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
        actions(
            "Afterwards I wrote the summary, and we added a second sign-off for price changes."
        ),
        [
            "wrote the summary",
            "added a second sign-off for price changes"
        ]
    );
    assert_eq!(
        actions(
            "I sorted the orders into three piles, drafted a checklist, and trained a new starter."
        ),
        [
            "sorted the orders into three piles",
            "drafted a checklist",
            "trained a new starter"
        ]
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
