//! Reading the rest of a window: Whisper learned on 30 s cuts of long
//! audio, where the last sentence is often cut off, so it may end a window's
//! text early, at a timestamp well before the voice ends, leaving the rest
//! for a next window that, here, never comes. As OpenAI's long-form
//! transcription moves its window on to the last timestamp, the rest is
//! read again from there, and its pieces join the window's.

use crate::error::SpeechError;
use crate::speech::batching::{decode_in_groups, Decoded, Encoded, Piece};

use super::session::Whisper;

/// Voice left after a window's last timestamp that is read again, seconds.
const REST_MIN_S: f64 = 1.0;
/// A reading must move on at least this far to be followed by another.
const MIN_PROGRESS_S: f64 = 0.5;
/// Readings of the rest of one window at most.
const MAX_REREADS: usize = 6;

impl Whisper {
    /// Reads again, from its last timestamp, the rest of every window whose
    /// text ended early; merges what it finds into `decoded` (same order as
    /// `encoded`). Each window's result is still what decoding it alone gives.
    pub(super) fn read_the_rest(
        &mut self,
        encoded: &[Encoded],
        decoded: &mut [Decoded],
    ) -> Result<(), SpeechError> {
        // Per window being read again: its index, where the last reading
        // started (s) and that reading's tokens.
        let mut open: Vec<(usize, f64, Vec<u32>)> = decoded
            .iter()
            .enumerate()
            .map(|(i, d)| (i, 0.0, d.tokens.clone()))
            .collect();
        for _ in 0..MAX_REREADS {
            let mut again: Vec<(usize, f64)> = Vec::new();
            let mut rests: Vec<Encoded> = Vec::new();
            for (i, from, tokens) in &open {
                let Some(audio) = encoded.get(*i).and_then(|e| e.audio.as_deref()) else {
                    continue;
                };
                let total = audio.len() as f64 / 16_000.0;
                let covered = from + self.stamps.covered(tokens, total - from);
                if total - covered < REST_MIN_S || covered < from + MIN_PROGRESS_S {
                    continue;
                }
                let at = ((covered * 16_000.0) as usize).min(audio.len());
                rests.push(self.encode(&audio[at..])?);
                again.push((*i, covered));
            }
            if rests.is_empty() {
                break;
            }
            let limits = self.limits;
            let more = decode_in_groups(&rests, limits, |items| self.decode_group(items))?;
            open = Vec::with_capacity(again.len());
            for ((i, from), d) in again.into_iter().zip(more) {
                if let Some(whole) = decoded.get_mut(i) {
                    join(whole, &d, from);
                }
                open.push((i, from, d.tokens));
            }
        }
        Ok(())
    }
}

/// Adds a later reading (starting `from` seconds into the window) to a
/// window's result: its pieces, shifted; its text; the confidence averaged
/// over the tokens of both.
fn join(whole: &mut Decoded, later: &Decoded, from: f64) {
    if later.pieces.is_empty() {
        return;
    }
    let (a, b) = (whole.tokens.len() as f64, later.tokens.len() as f64);
    if a + b > 0.0 {
        whole.confidence = (whole.confidence * a + later.confidence * b) / (a + b);
    }
    whole.tokens.extend_from_slice(&later.tokens);
    whole.pieces.extend(later.pieces.iter().map(|p| Piece {
        start: p.start + from,
        end: p.end + from,
        text: p.text.clone(),
    }));
    whole.text = Piece::joined(&whole.pieces);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(start: f64, end: f64, text: &str) -> Piece {
        Piece {
            start,
            end,
            text: text.into(),
        }
    }

    #[test]
    fn a_later_reading_joins_shifted_and_weighs_the_confidence_by_tokens() {
        let mut whole = Decoded {
            tokens: vec![1, 2, 3],
            text: "first".into(),
            confidence: 0.9,
            pieces: vec![piece(0.0, 4.0, "first")],
        };
        let later = Decoded {
            tokens: vec![4],
            text: "second".into(),
            confidence: 0.5,
            pieces: vec![piece(0.2, 1.4, "second")],
        };
        join(&mut whole, &later, 4.0);
        assert_eq!(whole.text, "first second");
        assert_eq!(whole.pieces[1], piece(4.2, 5.4, "second"));
        assert!((whole.confidence - 0.8).abs() < 1e-12);
        // Nothing read: nothing changes.
        let before = whole.clone();
        join(
            &mut whole,
            &Decoded {
                pieces: Vec::new(),
                ..later
            },
            6.0,
        );
        assert_eq!(whole, before);
    }
}
