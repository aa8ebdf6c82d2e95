//! The metrics: key facts found in a text, and the figures summarised
//! from the per-answer results.

use crate::analysis::eval::stats::{pairwise_accuracy, spearman};
use crate::analysis::eval::Prf;
use crate::analysis::{text, wer};

use super::reference::OwnTextFigures;
use super::report::{AnswerResult, Band, SplitReport, VoiceFigures};

/// Whether a key fact is in a text, allowing for the speech model's slips:
/// at least two thirds of the fact's content words (numbers spelled out;
/// all of them for a fact of one or two words) are among the text's words,
/// exactly or as a likely slip of a long word; or, for a name the model
/// split or joined ("North Wind" for "Northwind"), the letters in a row.
///
/// ```
/// use panelflow_models::analysis::eval::answers::fact_in;
/// assert!(fact_in("forty percent", "Waiting fell by 40% in May."));
/// assert!(fact_in("Kubernetes", "we ran it on Kubernetis"));
/// assert!(!fact_in("three weeks", "It took two weeks."));
/// assert!(fact_in("Northwind Payments", "at North Wind Payments when"));
/// assert!(fact_in("three point six million dollars", "about 3.6 million dollars"));
/// assert!(fact_in("a second check for refund requests", "we put in a second review for refund requests"));
/// ```
pub fn fact_in(fact: &str, text_in: &str) -> bool {
    let have = wer::normalize(text_in);
    let joined_fact: String = wer::normalize(fact).concat();
    if joined_fact.len() >= 8 && have.concat().contains(&joined_fact) {
        return true;
    }
    let all = wer::normalize(fact);
    let content: Vec<&String> = all
        .iter()
        .filter(|w| !text::is_stopword(w) || w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let want: Vec<&String> = if content.is_empty() {
        all.iter().collect()
    } else {
        content
    };
    if want.is_empty() {
        return false;
    }
    let found = want
        .iter()
        .filter(|w| {
            have.iter()
                .any(|h| h == **w || text::stem(h) == text::stem(w) || text::sounds_like(h, w))
        })
        .count();
    let needed = if want.len() <= 2 {
        want.len()
    } else {
        (2 * want.len()).div_ceil(3)
    };
    found >= needed
}

/// The figures from the per-answer results.
pub(super) fn summarise(r: &mut SplitReport) {
    let d = &r.details;
    r.answers = d.len();
    let mut qs: Vec<&str> = d.iter().map(|x| x.question_id.as_str()).collect();
    qs.sort_unstable();
    qs.dedup();
    r.questions = qs.len();
    if d.is_empty() {
        return;
    }
    let n = d.len() as f64;
    r.coverage = d.iter().filter(|x| x.score.is_some()).count() as f64 / n;
    let labels: Vec<f64> = d.iter().map(|x| f64::from(x.label)).collect();
    // An answer left unscored ranks lowest.
    let levels: Vec<f64> = d.iter().map(|x| x.level.unwrap_or(0.0)).collect();
    let scores: Vec<f64> = d.iter().map(|x| x.score.map_or(0.0, f64::from)).collect();
    let lengths: Vec<f64> = d.iter().map(|x| x.words as f64).collect();
    r.spearman = spearman(&levels, &labels);
    r.spearman_score = spearman(&scores, &labels);
    r.spearman_length = spearman(&lengths, &labels);
    let groups: Vec<&str> = d.iter().map(|x| x.question_id.as_str()).collect();
    (r.pairwise, r.pairs) = pairwise_accuracy(&groups, &labels, &levels);
    r.pairwise_length = pairwise_accuracy(&groups, &labels, &lengths).0;
    r.mae = d
        .iter()
        .map(|x| (f64::from(x.score.unwrap_or(1)) - f64::from(x.label)).abs())
        .sum::<f64>()
        / n;
    r.exact = d.iter().filter(|x| x.score == Some(x.label)).count() as f64 / n;
    let mode = (1..=4u8)
        .max_by_key(|l| d.iter().filter(|x| x.label == *l).count())
        .unwrap_or(3);
    r.mae_constant = d
        .iter()
        .map(|x| (f64::from(mode) - f64::from(x.label)).abs())
        .sum::<f64>()
        / n;
    let (mut flag, mut all) = (Prf::default(), Prf::default());
    for x in d {
        let Some(want) = x.uncertain_expected else {
            continue;
        };
        match (x.uncertain_found, want) {
            (true, true) => flag.tp += 1,
            (true, false) => flag.fp += 1,
            (false, true) => flag.r#fn += 1,
            (false, false) => {}
        }
        if want {
            all.tp += 1;
        } else {
            all.fp += 1;
        }
    }
    r.uncertain = flag;
    r.uncertain_always = all;
    let reference_words: usize = d.iter().map(|x| x.reference_words).sum();
    if reference_words > 0 {
        r.wer = d.iter().map(|x| x.word_errors).sum::<usize>() as f64 / reference_words as f64;
    }
    r.key_facts = d.iter().map(|x| x.key_facts.len()).sum();
    if r.key_facts > 0 {
        let found = d.iter().flat_map(|x| &x.key_facts).filter(|f| f.1).count();
        let lead: usize = d.iter().map(|x| x.key_facts_lead).sum();
        r.key_fact_recall = found as f64 / r.key_facts as f64;
        r.key_fact_recall_lead = lead as f64 / r.key_facts as f64;
        let heard: usize = d.iter().map(|x| x.key_facts_transcript).sum();
        r.key_fact_ceiling = heard as f64 / r.key_facts as f64;
    }
    r.own_text = own_text_figures(d, &groups, &labels);
    r.by_voice = voice_figures(d);
    r.reliability = (0..5)
        .map(|b| {
            let (from, to) = (b as f64 * 0.2, (b + 1) as f64 * 0.2);
            let inside: Vec<&AnswerResult> = d
                .iter()
                .filter(|x| {
                    x.confidence
                        .is_some_and(|c| c >= from && (c < to || (b == 4 && c <= 1.0)))
                })
                .collect();
            let m = inside.len().max(1) as f64;
            Band {
                from,
                to,
                n: inside.len(),
                mean_confidence: inside.iter().filter_map(|x| x.confidence).sum::<f64>() / m,
                exact: inside.iter().filter(|x| x.score == Some(x.label)).count() as f64 / m,
                within_one: inside
                    .iter()
                    .filter(|x| x.score.is_some_and(|s| s.abs_diff(x.label) <= 1))
                    .count() as f64
                    / m,
                same_side: inside
                    .iter()
                    .filter(|x| x.score.is_some_and(|s| (s >= 3) == (x.label >= 3)))
                    .count() as f64
                    / m,
            }
        })
        .collect();
}

/// The figures of the answers analysed on their own texts.
fn own_text_figures(d: &[AnswerResult], groups: &[&str], labels: &[f64]) -> OwnTextFigures {
    let n = d.len().max(1) as f64;
    let levels: Vec<f64> = d.iter().map(|x| x.own_text.level.unwrap_or(0.0)).collect();
    let mut flag = Prf::default();
    for x in d {
        match (x.own_text.uncertain_found, x.uncertain_expected) {
            (true, Some(true)) => flag.tp += 1,
            (true, Some(false)) => flag.fp += 1,
            (false, Some(true)) => flag.r#fn += 1,
            _ => {}
        }
    }
    let facts: usize = d.iter().map(|x| x.key_facts.len()).sum();
    let kept: usize = d.iter().map(|x| x.own_text.key_facts_kept).sum();
    OwnTextFigures {
        spearman: spearman(&levels, labels),
        pairwise: pairwise_accuracy(groups, labels, &levels).0,
        mae: d
            .iter()
            .map(|x| (f64::from(x.own_text.score.unwrap_or(1)) - f64::from(x.label)).abs())
            .sum::<f64>()
            / n,
        key_fact_recall: if facts > 0 {
            kept as f64 / facts as f64
        } else {
            0.0
        },
        uncertain_precision: flag.precision(),
        uncertain_recall: flag.recall(),
    }
}

/// The figures per voice, in the voices' order.
fn voice_figures(d: &[AnswerResult]) -> Vec<VoiceFigures> {
    let mut voices: Vec<&str> = d.iter().filter_map(|x| x.voice.as_deref()).collect();
    voices.sort_unstable();
    voices.dedup();
    voices
        .into_iter()
        .map(|voice| {
            let of: Vec<&AnswerResult> = d
                .iter()
                .filter(|x| x.voice.as_deref() == Some(voice))
                .collect();
            let share = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            let facts: usize = of.iter().map(|x| x.key_facts.len()).sum();
            let shifts: Vec<f64> = of
                .iter()
                .filter_map(|x| Some(x.level? - x.own_text.level?))
                .collect();
            VoiceFigures {
                voice: voice.to_string(),
                answers: of.len(),
                wer: share(
                    of.iter().map(|x| x.word_errors).sum(),
                    of.iter().map(|x| x.reference_words).sum(),
                ),
                key_fact_ceiling: share(of.iter().map(|x| x.key_facts_transcript).sum(), facts),
                key_fact_recall: share(
                    of.iter().flat_map(|x| &x.key_facts).filter(|f| f.1).count(),
                    facts,
                ),
                level_shift: if shifts.is_empty() {
                    0.0
                } else {
                    shifts.iter().sum::<f64>() / shifts.len() as f64
                },
            }
        })
        .collect()
}
