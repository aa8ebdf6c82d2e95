//! Loading the labelled answers: each one transcribed (from the cache when
//! set) and analysed as a platform's answer, then measured.

use std::time::Instant;

use crate::analysis::analyzer::{Analyzer, Context};
use crate::analysis::eval::{cached, store, transcribe_with_tone, Transcribed};
use crate::analysis::scoring::Score;
use crate::analysis::splits::{LabelledAnswer, Split};
use crate::analysis::summary::{PipelineRef, Summary};
use crate::analysis::{text, wer, AnalysisError};
use crate::speech::transcriber::Transcriber;
use crate::speech::{Segment, Transcript};
use panelflow_core::event::InterviewCompleted;

use super::metrics::{fact_in, summarise};
use super::reference::{reference_transcript, OnOwnText};
use super::report::{AnswerResult, SplitReport};

/// A transcript of one labelled answer (from the cache when set).
pub(super) fn transcript_of(
    transcriber: &mut Transcriber,
    a: &LabelledAnswer,
    report: &mut SplitReport,
) -> Result<Transcribed, AnalysisError> {
    let t0 = Instant::now();
    let key = transcriber.model_key();
    let (t, audio, tone_s) = match cached(&a.media, &key) {
        Some(hit) => hit,
        None => {
            let fresh = transcribe_with_tone(transcriber, &a.media)?;
            store(&a.media, &key, &fresh);
            report.transcribe_s += t0.elapsed().as_secs_f64() - fresh.2;
            fresh
        }
    };
    let Some((from, to)) = a.span else {
        report.audio_s += t.duration_s;
        return Ok((t, audio, tone_s));
    };
    // An answer cut out of a longer recording: the segments said inside it.
    let inside = |s: f64, e: f64| {
        let mid = 0.5 * (s + e);
        mid >= from - 0.3 && mid <= to + 0.3
    };
    let segments: Vec<Segment> = t
        .segments
        .iter()
        .filter(|s| inside(s.start, s.end))
        .cloned()
        .collect();
    report.audio_s += to - from;
    Ok((
        Transcript::from_segments(t.duration_s, &t.language, t.model.clone(), segments),
        audio
            .into_iter()
            .filter(|x| inside(x.start, x.end))
            .collect(),
        tone_s,
    ))
}

/// Analyses one answer as a platform's answer: one media item with its
/// question id and text.
fn analyse_one(
    analyzer: &mut Analyzer,
    a: &LabelledAnswer,
    t: Transcript,
    audio: Vec<crate::analysis::tone::SegmentAudio>,
) -> Summary {
    let pipeline = PipelineRef {
        name: "eval".into(),
        version: "eval".into(),
        config_hash: String::new(),
    };
    let event = InterviewCompleted::new("eval", &a.answer_id, &a.candidate_id, "eval", vec![]);
    let mut summary = Summary::build(
        &event,
        &pipeline,
        vec![(
            Some(a.question.id.clone()),
            Some(a.question.text.clone()),
            t,
        )],
        vec![],
    );
    let ctx = Context {
        questions: std::slice::from_ref(&a.question),
        questions_from: Some("platform"),
        posting: None,
        role: None,
    };
    analyzer.analyze(&mut summary, &[audio], &ctx);
    summary
}

/// The one answer's score, its digest's text and whether it was flagged
/// uncertain.
fn judged(summary: &Summary) -> (Option<&Score>, String, bool) {
    let answer = summary.answers.first();
    let digest = answer
        .and_then(|x| x.digest.as_ref())
        .map(|d| d.text())
        .unwrap_or_default();
    let uncertain =
        answer.is_some_and(|x| x.flags.iter().any(|f| f == "uncertain_needs_clarification"));
    (summary.scores.first(), digest, uncertain)
}

/// What the analysis made of an answer's own text.
fn on_own_text(summary: &Summary, a: &LabelledAnswer) -> OnOwnText {
    let (score, digest, uncertain_found) = judged(summary);
    OnOwnText {
        score: score.map(|s| s.score),
        level: score.map(|s| s.level),
        key_facts_kept: a.key_facts.iter().filter(|f| fact_in(f, &digest)).count(),
        uncertain_found,
        features: score.map(|s| s.features.clone()).unwrap_or_default(),
    }
}

/// Measures the analysis on a split: on each answer's transcript, and on
/// its own text (the analysis's share of the losses).
pub fn evaluate_split(
    split: &Split,
    transcriber: &mut Transcriber,
    analyzer: &mut Analyzer,
) -> Result<SplitReport, AnalysisError> {
    let mut report = SplitReport {
        split: split.name.clone(),
        sha256: split.sha256.clone(),
        ..Default::default()
    };
    for a in &split.answers {
        let (t, audio, tone_s) = transcript_of(transcriber, a, &mut report)?;
        let words = text::norm_words(&t.text).len();
        let reference = wer::normalize(&a.reference_text);
        let word_errors = wer::word_errors(&reference, &wer::normalize(&t.text));
        let transcript_words: Vec<String> = t.text.split_whitespace().map(str::to_string).collect();
        let own = reference_transcript(&t, &a.reference_text);
        let t0 = Instant::now();
        let summary = analyse_one(analyzer, a, t, audio.clone());
        report.analysis_s += t0.elapsed().as_secs_f64() + tone_s;
        let own_text = on_own_text(&analyse_one(analyzer, a, own, audio), a);
        let (score, digest_text, uncertain_found) = judged(&summary);
        let budget = digest_text.split_whitespace().count();
        let lead = transcript_words
            .iter()
            .take(budget)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let facts: Vec<(String, bool)> = a
            .key_facts
            .iter()
            .map(|f| (f.clone(), fact_in(f, &digest_text)))
            .collect();
        let lead_hits = a.key_facts.iter().filter(|f| fact_in(f, &lead)).count();
        let whole = transcript_words.join(" ");
        let heard: Vec<&(String, bool)> = facts.iter().filter(|f| fact_in(&f.0, &whole)).collect();
        let transcript_hits = heard.len();
        let heard_not_kept = heard.iter().filter(|f| !f.1).map(|f| f.0.clone()).collect();
        report.details.push(AnswerResult {
            answer_id: a.answer_id.clone(),
            question_id: a.question.id.clone(),
            competency: score.map(|s| s.competency.clone()),
            label: a.label,
            score: score.map(|s| s.score),
            level: score.map(|s| s.level),
            confidence: score.map(|s| s.confidence),
            words,
            reference_words: reference.len(),
            word_errors,
            uncertain_expected: a.uncertain,
            uncertain_found,
            key_facts: facts,
            key_facts_lead: lead_hits,
            key_facts_transcript: transcript_hits,
            key_facts_heard_not_kept: heard_not_kept,
            kind: a.kind.clone(),
            features: score.map(|s| s.features.clone()).unwrap_or_default(),
            own_text,
            voice: a.voice.clone(),
        });
    }
    summarise(&mut report);
    Ok(report)
}
