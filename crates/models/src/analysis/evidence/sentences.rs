//! Sentences of an answer with the moment each was said: the transcript's
//! segments are timed, sentences are not, so a sentence's start is placed
//! inside its segment in proportion to the characters before it. A quote
//! then seeks the player to where it was said, not to the answer's start.

use serde::{Deserialize, Serialize};

use crate::analysis::text;
use crate::speech::Segment;

/// Sentences longer than this many words are cut at segment boundaries
/// (the speech model may leave a long stretch unpunctuated).
const LONGEST_SENTENCE_WORDS: usize = 45;

/// One sentence and when it was said, seconds on its media's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedSentence {
    /// The sentence as transcribed.
    pub text: String,
    /// When it starts.
    pub start: f64,
    /// When it ends.
    pub end: f64,
}

/// The sentences of a run of segments, each timed.
///
/// ```
/// use panelflow_models::analysis::evidence::sentences::timed_sentences;
/// use panelflow_models::speech::Segment;
/// let seg = |start, end, text: &str| Segment { start, end, text: text.into(), confidence: 0.9 };
/// let s = timed_sentences(&[
///     seg(0.0, 4.0, "I joined in May. We shipped the app"),
///     seg(5.0, 7.0, "in six weeks."),
/// ]);
/// assert_eq!(s.len(), 2);
/// assert_eq!(s[0].text, "I joined in May.");
/// assert_eq!(s[0].start, 0.0);
/// assert!(s[1].start > 1.5 && s[1].start < 2.5, "{}", s[1].start);
/// assert_eq!(s[1].end, 7.0);
/// ```
pub fn timed_sentences(segments: &[Segment]) -> Vec<TimedSentence> {
    // The segments joined by spaces, each with its byte range.
    let mut joined = String::new();
    let mut spans: Vec<(usize, usize, &Segment)> = Vec::with_capacity(segments.len());
    for seg in segments {
        let t = seg.text.trim();
        if t.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        let a = joined.len();
        joined.push_str(t);
        spans.push((a, joined.len(), seg));
    }
    let time_at = |pos: usize, end: bool| -> f64 {
        for &(a, b, seg) in &spans {
            if pos <= b {
                if pos <= a {
                    return seg.start;
                }
                let share = (pos - a) as f64 / (b - a).max(1) as f64;
                let t = seg.start + share * (seg.end - seg.start).max(0.0);
                return if end && pos == b { seg.end } else { t };
            }
        }
        spans.last().map_or(0.0, |s| s.2.end)
    };
    let mut out = Vec::new();
    for (a, b) in text::sentences(&joined) {
        for (x, y) in cut_long(&joined, a, b, &spans) {
            let piece = joined[x..y].trim();
            if piece.is_empty() {
                continue;
            }
            out.push(TimedSentence {
                text: piece.to_string(),
                start: round_ms(time_at(x, false)),
                end: round_ms(time_at(y, true)),
            });
        }
    }
    out
}

/// A sentence of more than [`LONGEST_SENTENCE_WORDS`] words cut at the
/// segment boundaries inside it.
fn cut_long(
    joined: &str,
    a: usize,
    b: usize,
    spans: &[(usize, usize, &Segment)],
) -> Vec<(usize, usize)> {
    if joined[a..b].split_whitespace().count() <= LONGEST_SENTENCE_WORDS {
        return vec![(a, b)];
    }
    let mut cuts: Vec<usize> = spans
        .iter()
        .map(|s| s.0)
        .filter(|&p| p > a && p < b)
        .collect();
    cuts.push(b);
    let mut out = Vec::new();
    let mut from = a;
    for c in cuts {
        out.push((from, c));
        from = c;
    }
    out
}

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, text: &str) -> Segment {
        Segment {
            start,
            end,
            text: text.into(),
            confidence: 0.9,
        }
    }

    #[test]
    fn a_long_unpunctuated_stretch_is_cut_at_segments() {
        let long = "word ".repeat(30);
        let s = timed_sentences(&[seg(0.0, 10.0, &long), seg(12.0, 20.0, &long)]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].start, 12.0);
    }

    #[test]
    fn no_segments_no_sentences() {
        assert!(timed_sentences(&[]).is_empty());
        assert!(timed_sentences(&[seg(0.0, 1.0, "  ")]).is_empty());
    }

    #[test]
    fn later_sentences_are_later() {
        let s = timed_sentences(&[seg(10.0, 30.0, "One thing. Two things. Three things.")]);
        assert_eq!(s.len(), 3);
        assert!(s[0].start < s[1].start && s[1].start < s[2].start);
        assert_eq!(s[0].start, 10.0);
    }
}
