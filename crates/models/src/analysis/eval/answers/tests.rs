use super::metrics::summarise;
use super::*;

fn result(q: &str, label: u8, level: f64, words: usize) -> AnswerResult {
    AnswerResult {
        answer_id: format!("{q}{label}{words}"),
        question_id: q.into(),
        competency: None,
        label,
        score: Some(level.round() as u8),
        level: Some(level),
        confidence: Some(0.5),
        words,
        reference_words: 10,
        word_errors: usize::from(label),
        uncertain_expected: Some(label == 1),
        uncertain_found: label == 1,
        key_facts: vec![("x".into(), label > 2)],
        key_facts_lead: 0,
        key_facts_transcript: 1,
        key_facts_heard_not_kept: Vec::new(),
        kind: None,
        features: Default::default(),
        own_text: OnOwnText {
            score: Some(label),
            level: Some(f64::from(label)),
            key_facts_kept: 1,
            uncertain_found: false,
            features: Default::default(),
        },
        voice: Some(if q == "a" { "v1" } else { "v2" }.into()),
    }
}

#[test]
fn the_summary_figures_of_a_perfect_scorer() {
    let mut r = SplitReport {
        details: vec![
            result("a", 1, 1.1, 90),
            result("a", 4, 3.9, 20),
            result("b", 2, 2.0, 50),
            result("b", 3, 3.0, 40),
        ],
        ..Default::default()
    };
    summarise(&mut r);
    assert_eq!(r.coverage, 1.0);
    assert!((r.spearman - 1.0).abs() < 1e-9);
    assert_eq!(r.pairwise, 1.0);
    assert_eq!(r.pairwise_length, 0.0, "length orders these pairs wrong");
    assert_eq!((r.uncertain.precision(), r.uncertain.recall()), (1.0, 1.0));
    assert_eq!(r.key_fact_recall, 0.5);
    // 1 + 4 + 2 + 3 word errors over 4 × 10 words.
    assert!((r.wer - 0.25).abs() < 1e-12);
    assert_eq!(r.reliability[2].n, 4);
    // On their own texts every answer scores its label and keeps its fact;
    // the flag finds none of the one uncertain answer.
    let own = &r.own_text;
    assert!((own.spearman - 1.0).abs() < 1e-9);
    assert_eq!(
        (own.pairwise, own.mae, own.key_fact_recall),
        (1.0, 0.0, 1.0)
    );
    assert_eq!(own.uncertain_recall, 0.0);
    // Per voice: question a's answers in v1 (labels 1 and 4: one fact,
    // kept), b's in v2; every level sits within 0.1 of its own text's.
    let v: Vec<(&str, usize)> = r
        .by_voice
        .iter()
        .map(|v| (v.voice.as_str(), v.answers))
        .collect();
    assert_eq!(v, [("v1", 2), ("v2", 2)]);
    assert_eq!(r.by_voice[0].key_fact_recall, 0.5);
    assert!((r.by_voice[0].wer - 0.25).abs() < 1e-12);
    assert!(r.by_voice.iter().all(|v| v.level_shift.abs() <= 0.1 + 1e-9));
}
