//! Draft composition: strengths and areas for development drawn from an
//! analysed interview's scores and answers, and the candidate's decision as
//! Lever shows it.

use serde_json::Value;

use super::deny::denied_words;
use super::draft::{Draft, DraftError, DraftItem, Kind};
use panelflow_models::analysis::scoring::Score;
use panelflow_models::analysis::summary::{AnswerTranscript, Summary};

/// Most strengths and areas for development.
const MOST_STRENGTHS: usize = 4;
const MOST_AREAS: usize = 3;
/// Most words of a quote.
const QUOTE_WORDS: usize = 30;

fn trim_quote(text: &str) -> String {
    let w: Vec<&str> = text.split_whitespace().collect();
    let mut s = w
        .iter()
        .take(QUOTE_WORDS)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if w.len() > QUOTE_WORDS {
        s.push('…');
    }
    s
}

/// A usable quote: not empty, and free of denied words.
fn clean(text: &str) -> Option<String> {
    let q = trim_quote(text.trim());
    (!q.is_empty() && denied_words(&q).is_empty()).then_some(q)
}

fn feature(score: &Score, name: &str) -> f64 {
    score.features.get(name).map_or(0.0, |v| v[0])
}

/// What went well, in the candidate's second person.
fn strength_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "specific_situation" => "walked through a specific, real situation",
        "own_actions" | "own_share" => "made clear what you did yourself",
        "outcome" => "explained how it turned out",
        "measured" => "backed the result with a concrete figure",
        "reflection" => "shared what you learned from it",
        "details" => "included concrete details",
        _ => return None,
    })
}

/// What would help, in the candidate's second person.
fn development_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "specific_situation" | "generic" => {
            "walk through one specific situation rather than what you usually do"
        }
        "own_actions" | "own_share" => "say more about the part you played yourself",
        "outcome" => "describe how things turned out",
        "measured" => "add a figure that shows the result",
        "details" => "add concrete details such as the tools, people or numbers involved",
        "reflection" => "share what you learned or would do differently",
        "blame" => "focus on what you did and what you would change",
        "evasion" | "no_answer" => "answer the question directly with one example",
        "off_topic" => "keep the answer on the question that was asked",
        _ => return None,
    })
}

fn topic(score: &Score) -> String {
    score.name.to_lowercase()
}

fn answer_of<'a>(s: &'a Summary, question_id: &str) -> Option<&'a AnswerTranscript> {
    s.answers
        .iter()
        .find(|a| a.question_id.as_deref() == Some(question_id))
}

/// The quote behind a score: its evidence (the features preferred first),
/// else the answer's digest, else its first words.
fn quote_for(s: &Summary, score: &Score, prefer: &[&str]) -> Option<(String, f64)> {
    let from_evidence = prefer
        .iter()
        .flat_map(|f| score.evidence.iter().filter(move |q| q.feature == *f))
        .chain(score.evidence.iter())
        .find_map(|q| clean(&q.text).map(|t| (t, q.at)));
    from_evidence.or_else(|| {
        let a = answer_of(s, &score.question_id)?;
        a.digest
            .iter()
            .flat_map(|d| d.sentences.iter())
            .find_map(|t| clean(&t.text).map(|q| (q, t.start)))
            .or_else(|| {
                a.segments
                    .iter()
                    .find_map(|seg| clean(&seg.text).map(|q| (q, seg.start)))
            })
    })
}

fn question_of(s: &Summary, question_id: &str) -> String {
    answer_of(s, question_id)
        .and_then(|a| a.question.clone())
        .unwrap_or_else(|| "the question".to_owned())
}

fn joined(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

/// The draft of one analysed interview.
pub fn compose(summary: &Summary) -> Result<Draft, DraftError> {
    let mut by_level: Vec<&Score> = summary.scores.iter().collect();
    by_level.sort_by(|a, b| b.level.total_cmp(&a.level));
    let mut used: Vec<String> = Vec::new();
    let mut items = Vec::new();

    // Strengths: the strongest answers, each with what made it strong.
    for score in by_level.iter().filter(|s| s.score >= 3) {
        if items.len() >= MOST_STRENGTHS || used.contains(&score.question_id) {
            continue;
        }
        let mut why: Vec<&str> = score
            .criteria_met
            .iter()
            .filter_map(|c| strength_words(c))
            .collect();
        why.dedup();
        why.truncate(2);
        if why.is_empty() {
            why.push("gave a clear, relevant example");
        }
        let Some((quote, at)) = quote_for(
            summary,
            score,
            &["measured", "outcome", "own_actions", "reflection"],
        ) else {
            continue;
        };
        used.push(score.question_id.clone());
        items.push(DraftItem {
            kind: Kind::Strength,
            sentence: format!("When talking about {}, you {}.", topic(score), joined(&why)),
            question: question_of(summary, &score.question_id),
            question_id: Some(score.question_id.clone()),
            quote: Some(quote),
            at: Some(at),
        });
    }
    // More strengths from answers rich in facts, when the scores gave too few.
    for a in &summary.answers {
        let strengths = items.iter().filter(|i| i.kind == Kind::Strength).count();
        if strengths >= 2 {
            break;
        }
        let Some(qid) = a.question_id.clone() else {
            continue;
        };
        if !a.answered || used.contains(&qid) {
            continue;
        }
        let Some(digest) = &a.digest else { continue };
        if digest.key_facts.len() < 2 {
            continue;
        }
        let Some((quote, at)) = digest
            .sentences
            .iter()
            .find_map(|t| clean(&t.text).map(|q| (q, t.start)))
        else {
            continue;
        };
        used.push(qid.clone());
        items.push(DraftItem {
            kind: Kind::Strength,
            sentence: "You answered with concrete, specific facts.".to_owned(),
            question: a.question.clone().unwrap_or_else(|| "the question".into()),
            question_id: Some(qid),
            quote: Some(quote),
            at: Some(at),
        });
    }

    // Areas for development: the weakest answers, with what would help.
    let mut areas = 0;
    let mut weakest: Vec<&Score> = by_level.clone();
    weakest.sort_by(|a, b| a.level.total_cmp(&b.level));
    for score in weakest {
        if areas >= MOST_AREAS {
            break;
        }
        let mut help: Vec<&str> = Vec::new();
        for c in &score.criteria_missing {
            if feature(score, c) >= 0.5 || c == "no_answer" {
                help.extend(development_words(c));
            }
        }
        for f in [
            "specific_situation",
            "own_actions",
            "outcome",
            "measured",
            "details",
        ] {
            if feature(score, f) < 0.34 {
                help.extend(development_words(f));
            }
        }
        help.dedup();
        help.truncate(2);
        if help.is_empty() || (score.score >= 3 && areas > 0) {
            continue;
        }
        let (quote, at) = match quote_for(summary, score, &["generic", "blame", "evasion"]) {
            Some((q, at)) => (Some(q), Some(at)),
            None => (None, None),
        };
        let lead = if score.score >= 3 {
            format!(
                "Your answer on {} was good; to make it stronger,",
                topic(score)
            )
        } else {
            format!("In your answer on {}, it would help to", topic(score))
        };
        items.push(DraftItem {
            kind: Kind::Development,
            sentence: format!("{lead} {}.", joined(&help)),
            question: question_of(summary, &score.question_id),
            question_id: Some(score.question_id.clone()),
            quote,
            at,
        });
        areas += 1;
    }
    for a in summary.answers.iter().filter(|a| !a.answered) {
        if areas >= MOST_AREAS {
            break;
        }
        let Some(question) = a.question.clone() else {
            continue;
        };
        items.push(DraftItem {
            kind: Kind::Development,
            sentence:
                "This question was left without an answer; a short, specific example would help."
                    .to_owned(),
            question,
            question_id: a.question_id.clone(),
            quote: None,
            at: None,
        });
        areas += 1;
    }
    let strengths = items.iter().filter(|i| i.kind == Kind::Strength).count();
    if strengths < 2 || areas < 1 {
        return Err(DraftError::TooLittle { strengths, areas });
    }
    // Nothing denied may pass, whatever the sources held.
    items.retain(|i| denied_words(&i.line()).is_empty());
    Ok(Draft {
        interview_id: summary.interview_id.clone(),
        items,
    })
}

/// The candidate's decision as Lever shows it, if there is one: archived
/// (with the reason), or advanced (a stage change after the interview was
/// analysed).
pub fn decision(opportunity: &Value, analysed_at_ms: i64) -> Option<String> {
    if let Some(archived) = opportunity.get("archived").filter(|a| !a.is_null()) {
        let reason = archived
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Some(format!("archived ({reason})"));
    }
    let advanced = opportunity
        .get("stageChanges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("updatedAt").and_then(Value::as_i64).unwrap_or(0) > analysed_at_ms);
    advanced.then(|| "advanced".to_owned())
}
