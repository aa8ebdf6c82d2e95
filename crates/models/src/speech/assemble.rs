//! A recording's transcript from its decoded voice segments (or windows):
//! each placed at its times in the recording, in timed pieces where the
//! model gave them.

use super::batching::Decoded;
use super::{Segment, Transcript};

/// A voice segment (or window) of a recording in progress: start and end
/// (s), and its timed text once decoded.
pub(crate) type Pending = (f64, f64, Option<Vec<Segment>>);

/// A decoded voice segment (or window) from `start` to `end` in the
/// recording as transcript segments: one per timed piece where the model
/// gave times, else the whole.
pub(crate) fn place(start: f64, end: f64, decoded: Decoded) -> Vec<Segment> {
    if decoded.pieces.is_empty() {
        return vec![Segment {
            start,
            end,
            text: decoded.text,
            confidence: decoded.confidence,
        }];
    }
    decoded
        .pieces
        .into_iter()
        .map(|p| Segment {
            start: round_ms((start + p.start).min(end)),
            end: round_ms((start + p.end).min(end)),
            text: p.text,
            confidence: decoded.confidence,
        })
        .collect()
}

/// A transcript from a recording's voice segments in order (their timed
/// texts; empty texts are left out).
pub(crate) fn assemble(segments: Vec<Pending>, duration_s: f64, model: String) -> Transcript {
    let segments: Vec<Segment> = segments
        .into_iter()
        .filter_map(|(_, _, decoded)| decoded)
        .flatten()
        .filter(|s| !s.text.is_empty())
        .collect();
    Transcript::from_segments(duration_s, "en", model, segments)
}

/// Milliseconds precision for segment times.
pub(crate) fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
