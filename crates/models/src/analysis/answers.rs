//! Answers per question. Per-answer media map directly; a single recording
//! is cut into answers by an in-order alignment of its transcript segments
//! to the question list: a dynamic programme over (segment, question) that
//! rewards each segment's similarity to its question (sentence embeddings,
//! else word overlap), boundaries at long pauses and spoken questions, and
//! charges for questions skipped.

use serde::{Deserialize, Serialize};

/// A question of the interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Question id.
    pub id: String,
    /// Question text.
    pub text: String,
    /// Competencies a recruiter bound to it (else mapped by meaning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub competencies: Vec<String>,
}

impl Question {
    /// A question with no competency bound.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
            competencies: Vec::new(),
        }
    }
}

/// One transcript segment as the alignment sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignSegment {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Words in it.
    pub words: usize,
}

/// Tuning of the alignment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlignParams {
    /// Weight of a segment's (relative) similarity to its question.
    pub similarity_weight: f64,
    /// Weight of a boundary's pause evidence.
    pub pause_weight: f64,
    /// A pause this long (s) is neutral evidence for a boundary.
    pub pause_pivot_s: f64,
    /// Pause length (s) over which the evidence goes from −1 to +1.
    pub pause_scale_s: f64,
    /// Cost of each question skipped (left unanswered).
    pub skip_cost: f64,
    /// Bonus of a segment that is the question itself, spoken.
    pub spoken_question_bonus: f64,
}

impl Default for AlignParams {
    fn default() -> Self {
        Self {
            similarity_weight: 4.0,
            pause_weight: 0.8,
            pause_pivot_s: 0.4,
            pause_scale_s: 0.3,
            skip_cost: 0.6,
            spoken_question_bonus: 4.0,
        }
    }
}

/// Similarity at or above which a segment is taken for the question spoken.
pub const SPOKEN_QUESTION_SIMILARITY: f64 = 0.6;

/// What the alignment decided for one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// Segments of the answer (indices, in order).
    pub answer: Vec<usize>,
    /// Segments in which the question itself was heard.
    pub asked: Vec<usize>,
    /// Confidence in the assignment, 0..1.
    pub confidence: f64,
}

/// The alignment of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// One entry per question, in question order.
    pub questions: Vec<Aligned>,
    /// Total score per segment (for comparing question sets).
    pub score_per_segment: f64,
}

/// Aligns segments to questions in order.
///
/// `sim[i][q]` is segment `i`'s similarity to question `q` (cosine, or word
/// overlap), `spoken[i][q]` how much segment `i` looks like question `q`
/// read out (0..1).
///
/// ```
/// use panelflow_models::analysis::answers::{align, AlignParams, AlignSegment};
/// let seg = |start: f64, end: f64| AlignSegment { start, end, words: 10 };
/// let segments = [seg(0.5, 5.0), seg(5.1, 9.0), seg(10.0, 14.0)];
/// let sim = vec![vec![0.5, 0.1], vec![0.4, 0.2], vec![0.1, 0.6]];
/// let spoken = vec![vec![0.0; 2]; 3];
/// let a = align(&segments, &sim, &spoken, &AlignParams::default());
/// assert_eq!(a.questions[0].answer, vec![0, 1]);
/// assert_eq!(a.questions[1].answer, vec![2]);
/// ```
pub fn align(
    segments: &[AlignSegment],
    sim: &[Vec<f64>],
    spoken: &[Vec<f64>],
    p: &AlignParams,
) -> Alignment {
    let n = segments.len();
    let m = sim.first().map(Vec::len).unwrap_or(0);
    let empty = |m: usize| Alignment {
        questions: (0..m)
            .map(|_| Aligned {
                answer: vec![],
                asked: vec![],
                confidence: 0.0,
            })
            .collect(),
        score_per_segment: 0.0,
    };
    if n == 0 || m == 0 {
        return empty(m);
    }
    let is_asked = |i: usize, q: usize| {
        spoken.get(i).and_then(|r| r.get(q)).copied().unwrap_or(0.0) >= SPOKEN_QUESTION_SIMILARITY
    };
    // Emission: relative similarity, weighted by how much the segment says.
    let emission: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let row = &sim[i];
            let mean = row.iter().sum::<f64>() / m as f64;
            let w = (segments[i].words as f64 / 8.0).clamp(0.25, 1.5);
            (0..m)
                .map(|q| {
                    let mut e = p.similarity_weight * w * (row[q] - mean);
                    if is_asked(i, q) {
                        e += p.spoken_question_bonus;
                    }
                    e
                })
                .collect()
        })
        .collect();
    let pause = |i: usize| -> f64 {
        // Evidence for a boundary just before segment i.
        if i == 0 {
            return 0.0;
        }
        let gap = segments[i].start - segments[i - 1].end;
        ((gap - p.pause_pivot_s) / p.pause_scale_s).clamp(-1.0, 1.0)
    };
    // best[i][q]: best score with segment i assigned to question q.
    let mut best = vec![vec![f64::NEG_INFINITY; m]; n];
    let mut from = vec![vec![0usize; m]; n];
    for q in 0..m {
        best[0][q] = emission[0][q] - p.skip_cost * q as f64;
        from[0][q] = q;
    }
    for i in 1..n {
        let boundary = p.pause_weight * pause(i);
        for q in 0..m {
            // Stay on q (no boundary): a long pause here costs a little,
            // unless it is the pause after the question read out.
            let after_question = is_asked(i - 1, q);
            let mut top = best[i - 1][q]
                - if after_question {
                    0.0
                } else {
                    0.5 * boundary.max(0.0)
                };
            let mut arg = q;
            for (prev, &before) in best[i - 1].iter().enumerate().take(q) {
                // A question read out is followed by its answer, not by the next question.
                let leave = if is_asked(i - 1, prev) {
                    -p.spoken_question_bonus
                } else {
                    boundary
                };
                let s = before + leave - p.skip_cost * (q - prev - 1) as f64;
                if s > top {
                    top = s;
                    arg = prev;
                }
            }
            best[i][q] = top + emission[i][q];
            from[i][q] = arg;
        }
    }
    let (mut q, mut total) = (0, f64::NEG_INFINITY);
    for (k, &score) in best[n - 1].iter().enumerate() {
        let s = score - p.skip_cost * (m - 1 - k) as f64;
        if s > total {
            total = s;
            q = k;
        }
    }
    let mut path = vec![0usize; n];
    for i in (0..n).rev() {
        path[i] = q;
        q = from[i][q];
    }
    let mut out = empty(m);
    out.score_per_segment = total / n as f64;
    for (i, &q) in path.iter().enumerate() {
        if is_asked(i, q) && out.questions[q].answer.is_empty() {
            out.questions[q].asked.push(i);
        } else {
            out.questions[q].answer.push(i);
        }
    }
    // Confidence: how clearly the segments prefer their question, and how
    // clear the boundaries are (pause evidence or a spoken question).
    for (q, a) in out.questions.iter_mut().enumerate() {
        if a.answer.is_empty() {
            // Unanswered: as sure as the neighbours' boundaries are.
            a.confidence = 0.5;
            continue;
        }
        let mut pref = 0.0;
        let mut weight = 0.0;
        for &i in &a.answer {
            let row = &sim[i];
            let z: f64 = row.iter().map(|s| (s / 0.05).exp()).sum();
            let prob = if z > 0.0 {
                (row[q] / 0.05).exp() / z
            } else {
                1.0 / m as f64
            };
            let w = segments[i].words.max(1) as f64;
            pref += prob * w;
            weight += w;
        }
        let pref = if weight > 0.0 { pref / weight } else { 0.0 };
        let first = a.asked.first().copied().unwrap_or(a.answer[0]);
        let start_clear = if !a.asked.is_empty() || first == 0 {
            1.0
        } else {
            (pause(first) + 1.0) / 2.0
        };
        let last = *a.answer.last().unwrap_or(&first);
        let end_clear = if last + 1 >= n {
            1.0
        } else {
            (pause(last + 1) + 1.0) / 2.0
        };
        let conf = 0.5 * pref + 0.25 * start_clear + 0.25 * end_clear;
        a.confidence = (conf.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64) -> AlignSegment {
        AlignSegment {
            start,
            end,
            words: 12,
        }
    }

    #[test]
    fn a_skipped_question_is_left_unanswered() {
        // Three answers to four questions; the third question gets nothing.
        let segments = [seg(0.5, 8.0), seg(9.0, 18.0), seg(19.0, 29.0)];
        let sim = vec![
            vec![0.5, 0.2, 0.2, 0.1],
            vec![0.2, 0.5, 0.2, 0.1],
            vec![0.1, 0.1, 0.15, 0.5],
        ];
        let a = align(
            &segments,
            &sim,
            &vec![vec![0.0; 4]; 3],
            &AlignParams::default(),
        );
        let got: Vec<Vec<usize>> = a.questions.iter().map(|q| q.answer.clone()).collect();
        assert_eq!(got, vec![vec![0], vec![1], vec![], vec![2]]);
    }

    #[test]
    fn pauses_decide_when_similarity_is_flat() {
        let segments = [
            seg(0.0, 3.0),
            seg(3.1, 6.0),
            seg(7.5, 10.0),
            seg(10.1, 12.0),
        ];
        let sim = vec![vec![0.3, 0.3]; 4];
        let a = align(
            &segments,
            &sim,
            &vec![vec![0.0; 2]; 4],
            &AlignParams::default(),
        );
        assert_eq!(a.questions[0].answer, vec![0, 1]);
        assert_eq!(a.questions[1].answer, vec![2, 3]);
    }

    #[test]
    fn a_spoken_question_opens_its_answer() {
        let segments = [
            seg(0.5, 3.0),
            seg(3.8, 9.0),
            seg(9.3, 12.0),
            seg(12.8, 18.0),
        ];
        let sim = vec![
            vec![0.9, 0.3],
            vec![0.4, 0.3],
            vec![0.3, 0.9],
            vec![0.3, 0.4],
        ];
        let spoken = vec![
            vec![0.95, 0.1],
            vec![0.0, 0.0],
            vec![0.1, 0.95],
            vec![0.0, 0.0],
        ];
        let a = align(&segments, &sim, &spoken, &AlignParams::default());
        assert_eq!(a.questions[0].asked, vec![0]);
        assert_eq!(a.questions[0].answer, vec![1]);
        assert_eq!(a.questions[1].asked, vec![2]);
        assert_eq!(a.questions[1].answer, vec![3]);
        assert!(a.questions.iter().all(|q| q.confidence > 0.5));
    }

    #[test]
    fn nothing_to_align() {
        let a = align(&[], &[], &[], &AlignParams::default());
        assert!(a.questions.is_empty());
    }
}
