//! Voice and sentiment never move a score; hedging lowers confidence only;
//! a specific, measured answer is never uncertain and a guess is.

use super::*;

/// Voice (pace, pauses, pitch) and sentiment never move a score: the same
/// answer with very different voice measures, and the same story told in
/// negative or positive words, score the same; voice flags are information
/// only. Hedging lowers confidence, not the score.
#[test]
fn voice_and_sentiment_never_move_a_score_and_hedging_lowers_only_confidence() {
    let mut a = analyzer();
    let question = "How do you decide what to work on when several urgent requests arrive at once?";
    let story = |lead: &str, hedge: &str| {
        vec![
            seg(0.5, 8.0, &format!("{lead} Three requests landed on one Monday: a billing bug, a sales demo and a data export.")),
            seg(8.5, 16.0, &format!("{hedge}I ranked them by customer impact and I fixed the billing bug first, because it blocked paying customers.")),
            seg(16.5, 24.0, "I told the sales lead the demo would move by a day, and we shipped the export by Wednesday."),
            seg(24.5, 30.0, "As a result no customer was billed twice, and since then I write the ranking down for everyone."),
        ]
    };
    let calm = analyse_answer(&mut a, question, story("It was a good week.", ""), vec![]);
    let grim = analyse_answer(
        &mut a,
        question,
        story(
            "It was an awful, stressful week and customers were furious.",
            "",
        ),
        vec![],
    );
    // The same words with a very different voice: long pauses and a fast pace.
    let voice = |gap: f64| -> Vec<SegmentAudio> {
        (0..4)
            .map(|k| {
                let start = 0.5 + k as f64 * (7.0 + gap);
                let samples: Vec<f32> = (0..(16_000.0 * 7.0) as usize)
                    .map(|n| 0.3 * ((n as f32) * 0.07).sin())
                    .collect();
                SegmentAudio::measure(start, &samples)
            })
            .collect()
    };
    let paused = analyse_answer(
        &mut a,
        question,
        story("It was a good week.", ""),
        voice(4.0),
    );
    let hedged = analyse_answer(
        &mut a,
        question,
        story("It was a good week.", "I guess, I'm not sure, but "),
        vec![],
    );
    let score = |s: &Summary| s.scores.first().cloned().expect("scored");
    let (c, g, p, h) = (score(&calm), score(&grim), score(&paused), score(&hedged));
    assert!(
        c.score >= 3,
        "a specific, measured prioritisation story: {c:?}"
    );
    assert!(
        calm.answers[0].sentiment.as_ref().unwrap().score
            > grim.answers[0].sentiment.as_ref().unwrap().score
    );
    // Sentiment is no input to a score; other words do change the answer's
    // embedding (its similarity to the anchors) in the third decimal.
    assert_eq!(c.score, g.score, "sentiment moved a score: {c:?} {g:?}");
    assert!(
        (c.level - g.level).abs() < 0.02,
        "sentiment moved a score: {c:?} {g:?}"
    );
    assert_eq!(
        (c.score, c.level),
        (p.score, p.level),
        "the voice moved a score"
    );
    assert!(
        paused
            .flags
            .iter()
            .filter(|f| f.name == "long_silences")
            .all(|f| f.severity == panelflow_core::outcome::Severity::Info),
        "voice flags are information only"
    );
    assert_eq!(c.score, h.score, "hedging moved the score: {h:?}");
    assert!(
        h.confidence < c.confidence,
        "hedging lowers confidence: {} vs {}",
        h.confidence,
        c.confidence
    );
    // The voice never reaches the aggregates' flags unless a pipeline opts in.
    let mut m = paused.clone();
    m.flags.push(panelflow_models::analysis::summary::Flag {
        name: "long_silences".into(),
        question_id: None,
        severity: panelflow_core::outcome::Severity::Review,
        figures: Default::default(),
        evidence: None,
    });
    let msg = panelflow::pipeline::scores::score_message(&m).unwrap();
    assert!(!msg.flags.iter().any(|f| f == "long_silences"));
    m.analysis.voice_in_decisions = true;
    let msg = panelflow::pipeline::scores::score_message(&m).unwrap();
    assert!(msg.flags.iter().any(|f| f == "long_silences"));
}

/// A specific, measured answer is never flagged uncertain; "I guess", "I
/// don't know" and "I'm not sure" answers are.
#[test]
fn a_specific_measured_answer_is_never_uncertain_and_a_guess_is() {
    let mut a = analyzer();
    let q = "Tell us about a time you improved a process at work.";
    let certain = [
        "In March I moved our stock counts from paper to handheld scanners. I trained the six people on my shift myself, and the count now takes two hours instead of five.",
        "At my previous hospital I noticed handover notes kept missing allergies. I wrote a one page checklist with the ward manager, and in three months missed allergy notes fell from nine to one.",
        "Last year I rebuilt our month end report in Python. I don't know why nobody had done it before, but it cut the close from four days to two days.",
    ];
    let guesses = [
        "I guess I would try to make things faster. I'm not sure I have a real example of that.",
        "I don't know, maybe the time we changed some tools. I think it went okay but I'm not sure what the result was.",
        "Probably something with reports, I guess. It was kind of a team thing, I don't really know what my part was.",
    ];
    for text in certain {
        let s = analyse_answer(&mut a, q, vec![seg(0.5, 14.0, text)], vec![]);
        assert!(
            !s.answers[0]
                .flags
                .iter()
                .any(|f| f == "uncertain_needs_clarification"),
            "flagged uncertain: {text}"
        );
    }
    for text in guesses {
        let s = analyse_answer(&mut a, q, vec![seg(0.5, 9.0, text)], vec![]);
        assert!(
            s.answers[0]
                .flags
                .iter()
                .any(|f| f == "uncertain_needs_clarification"),
            "not flagged uncertain: {text}"
        );
    }
}
