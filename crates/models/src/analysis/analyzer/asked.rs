//! What was asked and the answers to it: the role, each question's
//! competency, and the answers per question — per-answer media mapped
//! directly, a single recording cut by aligning its segments to the
//! questions (those the interviewer reads out are heard too).

use std::collections::HashSet;

use super::{r3, Analyzer, Context};
use crate::analysis::answers::{align, AlignParams, AlignSegment, Alignment, Question};
use crate::analysis::competency::{closest, without_instructions, MappedBy, Mapping};
use crate::analysis::embed::cosine;
use crate::analysis::summary::AnswerTranscript;
use crate::analysis::text;
use crate::speech::Segment;

impl Analyzer {
    /// The role of an interview: given, else the posting's, else the one
    /// whose question ids the platform sent, else the pipeline default.
    pub(super) fn role(
        &self,
        ctx: &Context<'_>,
        media_qids: &[&str],
    ) -> Option<(String, &'static str)> {
        if let Some(r) = ctx.role.filter(|r| self.roles.0.contains_key(*r)) {
            return Some((r.to_string(), "given"));
        }
        if let Some(p) = ctx.posting {
            let mut labels = p.labels.clone();
            labels.push(p.title.clone());
            if let Some((k, _)) = self.roles.by_labels(&labels) {
                return Some((k.to_string(), "posting"));
            }
        }
        let mut ids: Vec<&str> = media_qids.to_vec();
        ids.extend(ctx.questions.iter().map(|q| q.id.as_str()));
        if let Some((k, _)) = self.roles.by_questions(&ids) {
            return Some((k.to_string(), "question_ids"));
        }
        self.settings
            .default_role
            .clone()
            .filter(|r| self.roles.0.contains_key(r))
            .map(|r| (r, "default"))
    }

    /// The competency a question is judged on: bound by the pipeline, else
    /// the closest by meaning to its text, else (no text) to the answer.
    pub fn map_question(
        &mut self,
        question_id: Option<&str>,
        question: &str,
        answer: &str,
    ) -> Option<Mapping> {
        if let Some(id) = question_id
            .and_then(|q| self.bindings.get(q))
            .and_then(|c| c.first())
        {
            return Some(Mapping {
                competency: id.clone(),
                by: MappedBy::Pipeline,
                similarity: 1.0,
            });
        }
        let topic;
        let (text_in, by) = if question.trim().is_empty() {
            (answer, MappedBy::Answer)
        } else {
            topic = without_instructions(question);
            (topic.as_str(), MappedBy::Similarity)
        };
        if text_in.trim().is_empty() {
            return None;
        }
        let library = self.library.clone();
        let (competency, similarity) = closest(&library, text_in, |a, b| self.similarity(a, b))?;
        Some(Mapping {
            competency,
            by,
            similarity: r3(similarity),
        })
    }

    /// Aligns one recording's segments to the questions.
    pub fn align_segments(&mut self, segments: &[Segment], questions: &[Question]) -> Alignment {
        let seg_texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        let q_texts: Vec<&str> = questions.iter().map(|q| q.text.as_str()).collect();
        let seg_emb = self.embed(&seg_texts);
        let q_emb = self.embed(&q_texts);
        let mut sim = vec![vec![0.0; questions.len()]; segments.len()];
        let mut spoken = vec![vec![0.0; questions.len()]; segments.len()];
        for (i, s) in segments.iter().enumerate() {
            for (q, question) in questions.iter().enumerate() {
                let heard = text::content_overlap(&question.text, &s.text);
                let within = text::content_overlap(&s.text, &question.text);
                let cos = match (&seg_emb, &q_emb) {
                    (Some(a), Some(b)) => Some(cosine(&a[i], &b[q])),
                    _ => None,
                };
                sim[i][q] = cos.unwrap_or(0.5 * (heard + within));
                spoken[i][q] = if heard >= 0.6 && within >= 0.5 {
                    heard.max(within)
                } else if cos.is_some_and(|c| c >= 0.8) && within >= 0.4 {
                    cos.unwrap_or(0.0)
                } else if asks_like_interviewer(&s.text)
                    && (heard >= 0.25 || cos.is_some_and(|c| c >= 0.45))
                {
                    // Misheard, but phrased as an interviewer asks, and about this question.
                    0.65
                } else {
                    0.0
                };
            }
        }
        let segs: Vec<AlignSegment> = segments
            .iter()
            .map(|s| AlignSegment {
                start: s.start,
                end: s.end,
                words: s.text.split_whitespace().count(),
            })
            .collect();
        align(&segs, &sim, &spoken, &AlignParams::default())
    }

    /// Answers per question from the media transcripts. Per-answer media
    /// report the questions they lack as unanswered only when the question
    /// list was given (`explicit`), not guessed from the job family.
    pub(super) fn answers(
        &mut self,
        media: Vec<AnswerTranscript>,
        questions: &[Question],
        explicit: bool,
    ) -> (Vec<AnswerTranscript>, &'static str) {
        let text_of = |id: &str| {
            questions
                .iter()
                .find(|q| q.id == id)
                .map(|q| q.text.clone())
        };
        let all_ids = !media.is_empty() && media.iter().all(|m| m.question_id.is_some());
        if all_ids {
            let mut out: Vec<AnswerTranscript> = media
                .into_iter()
                .map(|mut m| {
                    if m.question.is_none() {
                        m.question = m.question_id.as_deref().and_then(text_of);
                    }
                    finish_answer(&mut m, 1.0);
                    m
                })
                .collect();
            let seen: HashSet<String> = out.iter().filter_map(|a| a.question_id.clone()).collect();
            for q in questions
                .iter()
                .filter(|q| explicit && !seen.contains(&q.id))
            {
                out.push(unanswered(q, usize::MAX, 0.9));
            }
            // Question order, then anything else.
            out.sort_by_key(|a| {
                a.question_id
                    .as_deref()
                    .and_then(|id| questions.iter().position(|q| q.id == id))
                    .unwrap_or(usize::MAX)
            });
            return (out, "per_answer_media");
        }
        if media.len() == 1 && questions.len() >= 2 {
            let Some(m) = media.into_iter().next() else {
                return (Vec::new(), "aligned");
            };
            let alignment = self.align_segments(&m.segments, questions);
            let mut out = Vec::with_capacity(questions.len());
            for (q, aligned) in questions.iter().zip(alignment.questions) {
                if aligned.answer.is_empty() {
                    out.push(unanswered(q, m.media_index, aligned.confidence));
                    continue;
                }
                let segments: Vec<Segment> = aligned
                    .answer
                    .iter()
                    .filter_map(|&i| m.segments.get(i).cloned())
                    .collect();
                let mut a = AnswerTranscript {
                    media_index: m.media_index,
                    question_id: Some(q.id.clone()),
                    question: Some(q.text.clone()),
                    duration_s: 0.0,
                    text: segments
                        .iter()
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    segments,
                    ..AnswerTranscript::unanalysed(m.media_index)
                };
                finish_answer(&mut a, aligned.confidence);
                out.push(a);
            }
            return (out, "aligned");
        }
        if media.len() >= 2 && !questions.is_empty() {
            // Several files without question ids: in question order.
            let out = media
                .into_iter()
                .enumerate()
                .map(|(i, mut m)| {
                    if let Some(q) = questions.get(i) {
                        m.question_id = Some(q.id.clone());
                        m.question = Some(q.text.clone());
                    }
                    finish_answer(&mut m, if i < questions.len() { 0.8 } else { 0.5 });
                    m
                })
                .collect();
            return (out, "per_answer_media");
        }
        let out = media
            .into_iter()
            .map(|mut m| {
                if let Some(q) = questions.first() {
                    m.question_id.get_or_insert_with(|| q.id.clone());
                    m.question.get_or_insert_with(|| q.text.clone());
                }
                finish_answer(&mut m, 1.0);
                m
            })
            .collect();
        (out, "whole_recording")
    }
}

fn unanswered(q: &Question, media_index: usize, confidence: f64) -> AnswerTranscript {
    AnswerTranscript {
        question_id: Some(q.id.clone()),
        question: Some(q.text.clone()),
        answered: false,
        alignment_confidence: Some(r3(confidence)),
        ..AnswerTranscript::unanalysed(if media_index == usize::MAX {
            0
        } else {
            media_index
        })
    }
}

/// Start, end, alignment confidence and (for a cut-out answer) duration
/// from the answer's segments.
fn finish_answer(a: &mut AnswerTranscript, alignment_confidence: f64) {
    a.start = a.segments.first().map(|s| s.start);
    a.end = a.segments.last().map(|s| s.end);
    if let (Some(s), Some(e), true) = (a.start, a.end, a.duration_s == 0.0) {
        a.duration_s = r3((e - s).max(0.0));
    }
    a.answered = !a.text.trim().is_empty();
    a.alignment_confidence = Some(r3(alignment_confidence));
}

/// Whether a segment opens the way interview questions do ("Tell us about…",
/// "Describe…", "How do you…", "Why…").
fn asks_like_interviewer(text_in: &str) -> bool {
    const OPENINGS: [&str; 14] = [
        "tell us",
        "tell me",
        "describe",
        "how do you",
        "how would you",
        "why do you",
        "why are you",
        "why did you",
        "what was",
        "what is your",
        "can you",
        "could you",
        "walk us",
        "walk me",
    ];
    let words = text::norm_words(text_in);
    let start = words.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
    OPENINGS.iter().any(|o| start.starts_with(o))
}

/// Questions an interviewer reads out in a recording that came without a
/// question set: short segments phrased as interview questions ("Tell us
/// about…", "How do you…?"), each taken as asked, in order.
pub(super) fn heard_questions(segments: &[Segment]) -> Vec<Question> {
    segments
        .iter()
        .filter(|s| {
            let words = s.text.split_whitespace().count();
            (4..=30).contains(&words) && asks_like_interviewer(&s.text)
        })
        .enumerate()
        .map(|(i, s)| Question::new(format!("asked-{}", i + 1), s.text.trim()))
        .collect()
}
