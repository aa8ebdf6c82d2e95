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

#[test]
fn coordinated_actions_keep_their_subject() {
    let c = cues("I proposed a shared calendar, set it up with the office manager, and checked in after a month.");
    assert_eq!(c.own_actions, 3);
    let c = cues(
        "I divided the volunteers into pairs, did the rota myself, and we opened on the Saturday.",
    );
    assert_eq!((c.own_actions, c.team_actions), (2, 1));
    // Someone else's actions, and a clause led by a noun, are not the candidate's.
    assert_eq!(
        cues("I asked the vendor, they checked it and replied.").own_actions,
        1
    );
    assert_eq!(cues("I wrote it, the team reviewed it.").own_actions, 1);
    assert_eq!(cues("I was tired and stopped early.").own_actions, 1);
}

#[test]
fn refusals_and_hedges_are_heard_through_intensifiers() {
    assert_eq!(cues("Honestly, I'm really not sure.").strong_hedges, 1);
    assert!(cues("Sorry, I can't really remember.").refusal);
    assert!(cues("Well, I get along with pretty much everyone at work.").refusal);
    assert!(cues("Can we just skip this?").refusal);
    // "much" alone is not an intensifier.
    assert!(!cues("I was pretty tired but I did much of it.").refusal);
}
