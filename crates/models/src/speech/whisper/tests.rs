use super::beam::{repeats, top_tokens, Hypothesis, Search};

#[test]
fn a_loop_is_caught_and_a_repeated_phrase_is_not() {
    let phrase: Vec<u32> = (1..=9).collect();
    let looped: Vec<u32> = [5, 6]
        .into_iter()
        .chain(phrase.iter().copied().cycle().take(27))
        .collect();
    assert!(repeats(&looped));
    // Twice is how people speak ("very, very"); three short repeats too.
    let twice: Vec<u32> = phrase.iter().copied().cycle().take(18).collect();
    assert!(!repeats(&twice));
    assert!(!repeats(&[3, 4, 3, 4, 3, 4]));
}

#[test]
fn top_tokens_skip_suppressed_ones_and_normalise_over_the_allowed() {
    // Ids: 0 text, 1 text, 2 end of text, 3 a timestamp (not allowed).
    let logits = [1.0, 3.0, 2.0, 9.0];
    let top = top_tokens(&logits, 2, |i| i != 3);
    assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
    let norm = (1f64.exp() + 3f64.exp() + 2f64.exp()).ln();
    assert!((top[0].1 - (3.0 - norm)).abs() < 1e-9);
    assert!(top_tokens(&logits, 2, |_| false).is_empty());
}

#[test]
fn one_beam_is_greedy_and_ends_when_the_end_is_likeliest() {
    let mut s = Search::new(0, 10, 1);
    // Token 7 best, then the end of text (id 2) best.
    assert_eq!(s.step(&[(0, 7, -0.1), (0, 2, -2.0)], 2), Some(vec![0]));
    assert_eq!(s.step(&[(0, 2, -0.2), (0, 5, -1.0)], 2), None);
    assert!(s.done);
    assert_eq!(s.best().tokens, [7]);
}

#[test]
fn beams_keep_the_best_continuations_and_the_answer_is_the_best_mean() {
    let mut s = Search::new(0, 10, 2);
    // First step: one parent; two continuations survive.
    assert_eq!(
        s.step(&[(0, 4, -0.5), (0, 5, -0.7), (0, 6, -3.0)], 2),
        Some(vec![0, 0])
    );
    // Beam 1 (token 5) now leads: both new beams continue it; beam 0 ends
    // (finished, not the best candidate).
    let parents = s.step(&[(1, 8, -0.1), (1, 9, -0.2), (0, 2, -0.35)], 2);
    assert_eq!(parents, Some(vec![1, 1]));
    assert_eq!(s.finished.len(), 1);
    // The end is now the best candidate: done.
    assert_eq!(s.step(&[(0, 2, -0.05), (1, 2, -0.3)], 2), None);
    let best = s.best();
    assert_eq!(best.tokens, [5, 8]);
    assert!((best.log_prob - (-0.7 - 0.1 - 0.05)).abs() < 1e-9);
    assert_eq!(
        Hypothesis {
            tokens: vec![1, 2],
            log_prob: -1.0
        }
        .mean(),
        -0.5
    );
}

#[test]
fn a_segment_at_its_token_limit_finishes() {
    let mut s = Search::new(0, 2, 1);
    assert!(s.step(&[(0, 7, -0.1)], 2).is_some());
    assert_eq!(s.step(&[(0, 8, -0.1)], 2), None);
    assert_eq!(s.best().tokens, [7, 8]);
}
