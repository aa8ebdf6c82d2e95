//! Sentence selection: each sentence weighed by its content, the best
//! one or two kept, and the digest assembled with its key facts.

use crate::analysis::evidence::cues::{cues, sentence_words};
use crate::analysis::evidence::sentences::TimedSentence;
use crate::analysis::skills::SkillLexicon;

use super::facts::{actions, names, quantities, results};
use super::types::{Digest, FactKind, KeyFact};

/// Most sentences in a digest.
const DIGEST_SENTENCES: usize = 2;
/// Most key facts per answer.
const MAX_FACTS: usize = 14;
/// Most action facts per answer.
const MAX_ACTIONS: usize = 8;
/// How much a sentence tells: results, quantities, own actions, a real
/// occasion and a lesson count; habits and bare hedges do not.
fn content_weight(sentence: &str) -> f64 {
    let c = cues(sentence);
    let words = sentence_words(sentence).len();
    if words < 4 {
        return -5.0;
    }
    let mut w = 0.0;
    w += if c.outcome { 2.0 } else { 0.0 };
    w += if c.quantity { 1.5 } else { 0.0 };
    w += 1.2 * (c.own_actions.min(2) as f64) + 0.5 * (c.team_actions.min(2) as f64);
    w += if c.time_anchor { 0.5 } else { 0.0 };
    w += if c.reflection { 1.0 } else { 0.0 };
    w -= if c.habitual { 1.0 } else { 0.0 };
    w -= 0.8 * c.strong_hedges as f64;
    // Facts a recruiter wants: numbers, times and names.
    w += 0.6 * (quantities(sentence).len() + c.names).min(4) as f64;
    // Very long sentences make poor quotes.
    w -= ((words as f64 - 35.0) / 20.0).max(0.0);
    w
}

/// The digest of an answer's timed sentences.
///
/// ```
/// use panelflow_models::analysis::digest::{digest, FactKind};
/// use panelflow_models::analysis::evidence::sentences::TimedSentence;
/// use panelflow_models::analysis::skills::SkillLexicon;
/// let s = |t: &str, at: f64| TimedSentence { text: t.into(), start: at, end: at + 4.0 };
/// let d = digest(&[
///     s("Thanks for the question, it is a good one.", 0.5),
///     s("At Harbor Freight I rebuilt the returns process in Excel.", 3.0),
///     s("As a result refunds went out in two days instead of ten days.", 8.0),
///     s("I always try my best.", 13.0),
/// ], &SkillLexicon::builtin().unwrap());
/// assert_eq!(d.sentences.len(), 2);
/// assert_eq!(d.sentences[0].start, 3.0);
/// let facts: Vec<(&FactKind, &str, f64)> = d.key_facts.iter().map(|f| (&f.kind, f.text.as_str(), f.at)).collect();
/// // A comparison stays one fact: "two days instead of ten".
/// assert!(facts.iter().any(|f| *f.0 == FactKind::Quantity && f.1.starts_with("two days") && f.2 == 8.0), "{facts:?}");
/// assert!(facts.iter().any(|f| f.1 == "Harbor Freight" && f.2 == 3.0), "{facts:?}");
/// ```
pub fn digest(sentences: &[TimedSentence], skills: &SkillLexicon) -> Digest {
    // Sentences: the best one or two by content, in the order said.
    let mut ranked: Vec<(usize, f64)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (i, content_weight(&s.text)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = ranked
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .take(DIGEST_SENTENCES)
        .map(|(i, _)| *i)
        .collect();
    if chosen.is_empty() {
        // Nothing stands out: the longest sentence says the most.
        if let Some((i, _)) = sentences
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.text.split_whitespace().count())
        {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();

    // Key facts, in the order said.
    let mut key_facts: Vec<KeyFact> = Vec::new();
    let add = |kind: FactKind, text: String, at: f64, facts: &mut Vec<KeyFact>| {
        let key = text.to_lowercase();
        let known = facts.iter().any(|f| {
            let other = f.text.to_lowercase();
            other.contains(&key) || key.contains(&other)
        });
        if text.is_empty() || known {
            return;
        }
        facts.push(KeyFact { kind, text, at });
    };
    for s in sentences {
        for q in quantities(&s.text) {
            add(FactKind::Quantity, q, s.start, &mut key_facts);
        }
        for r in results(&s.text) {
            add(FactKind::Result, r, s.start, &mut key_facts);
        }
        for t in skills.skills_named(&s.text) {
            add(FactKind::Tool, t, s.start, &mut key_facts);
        }
        for n in names(&s.text) {
            add(FactKind::Name, n, s.start, &mut key_facts);
        }
    }
    // Actions last, the most telling sentences' first: they fill what room is left.
    let mut by_weight: Vec<&TimedSentence> = sentences.iter().collect();
    by_weight.sort_by(|a, b| content_weight(&b.text).total_cmp(&content_weight(&a.text)));
    let mut taken = 0;
    for s in by_weight {
        for act in actions(&s.text) {
            if taken < MAX_ACTIONS {
                let before = key_facts.len();
                add(FactKind::Action, act, s.start, &mut key_facts);
                taken += key_facts.len() - before;
            }
        }
    }
    // Keep the most telling kinds when there are too many, then time order.
    let rank = |k: FactKind| match k {
        FactKind::Quantity => 0,
        FactKind::Result => 1,
        FactKind::Name => 2,
        FactKind::Tool => 3,
        FactKind::Action => 4,
    };
    key_facts.sort_by_key(|f| rank(f.kind));
    key_facts.truncate(MAX_FACTS);
    key_facts.sort_by(|a, b| a.at.total_cmp(&b.at));
    Digest {
        sentences: chosen.into_iter().map(|i| sentences[i].clone()).collect(),
        key_facts,
    }
}
