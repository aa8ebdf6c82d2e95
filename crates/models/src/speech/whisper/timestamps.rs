//! Whisper's timestamp tokens (`<|0.00|>` … `<|30.00|>`, 20 ms apart): the
//! rules that keep them well formed while decoding a window, as OpenAI's
//! `ApplyTimestampRules` (which faster-whisper and CTranslate2 follow), and
//! reading a window's tokens back as timed pieces of text.
//!
//! A window's tokens read `<|t0|> text <|t1|><|t1|> text <|t2|> …`: each
//! piece of text opens and closes with a timestamp. That is what lets a
//! window of many voice segments, read with the context of all of them,
//! still say when each sentence was spoken.

use super::beam::top_tokens;

/// Seconds between two timestamp tokens.
pub const STEP_S: f64 = 0.02;
/// The latest first timestamp, in steps (1 s, OpenAI's `max_initial_timestamp`).
const MAX_INITIAL_STEPS: u32 = 50;

/// The ids that matter to the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampIds {
    /// `<|0.00|>`; every id from here on is a timestamp.
    pub begin: u32,
    /// The last timestamp (`<|30.00|>`).
    pub last: u32,
    /// `<|endoftext|>`; ids below it are text.
    pub end_of_text: u32,
}

/// What a hypothesis may emit next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Allowed {
    /// A text token.
    pub(super) text: bool,
    /// The end of text.
    pub(super) end: bool,
    /// Timestamps from..=to (ids), if any.
    pub(super) timestamps: Option<(u32, u32)>,
}

/// A piece of a window's text with its times in the window (seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedTokens {
    /// Start, seconds from the window's start.
    pub start: f64,
    /// End, seconds from the window's start.
    pub end: f64,
    /// The piece's text tokens.
    pub tokens: Vec<u32>,
}

impl TimestampIds {
    fn is_timestamp(&self, t: u32) -> bool {
        t >= self.begin
    }

    /// What may follow `tokens` (the hypothesis so far, after the prompt).
    ///
    /// The first token is a timestamp of at most 1 s; timestamps come in
    /// pairs (an end, then the next start) except the last before the end
    /// of text; a lone closing timestamp is followed by another or the end;
    /// and timestamps never go back in time.
    pub(super) fn allowed(&self, tokens: &[u32]) -> Allowed {
        let Some(&last) = tokens.last() else {
            return Allowed {
                text: false,
                end: false,
                timestamps: Some((self.begin, (self.begin + MAX_INITIAL_STEPS).min(self.last))),
            };
        };
        let last_was = self.is_timestamp(last);
        let penultimate_was = tokens.len() < 2 || self.is_timestamp(tokens[tokens.len() - 2]);
        let mut from = self.begin;
        if let Some(&latest) = tokens.iter().rev().find(|&&t| self.is_timestamp(t)) {
            // A closing timestamp may be repeated as the next opening one.
            from = if last_was && !penultimate_was {
                latest
            } else {
                latest + 1
            };
        }
        let timestamps = (from <= self.last).then_some((from, self.last));
        match (last_was, penultimate_was) {
            // After a pair (or the opening one): text or the end.
            (true, true) => Allowed {
                text: true,
                end: true,
                timestamps: None,
            },
            // After a closing timestamp: the next opening one or the end.
            (true, false) => Allowed {
                text: false,
                end: true,
                timestamps,
            },
            _ => Allowed {
                text: true,
                end: true,
                timestamps,
            },
        }
    }

    /// The `k` best next tokens of one row under the rules, with their
    /// log-probabilities (normalised over what the rules allow). `text_ok`
    /// says which text tokens transcription may emit at all. As in OpenAI's
    /// rules, when the timestamps together are likelier than the best text
    /// token (or the end), only a timestamp may come.
    pub(super) fn top(
        &self,
        logits: &[f32],
        k: usize,
        tokens: &[u32],
        text_ok: impl Fn(usize) -> bool,
    ) -> Vec<(u32, f64)> {
        let rule = self.allowed(tokens);
        let may = |i: usize| {
            let t = i as u32;
            if t < self.end_of_text {
                rule.text && text_ok(i)
            } else if t == self.end_of_text {
                rule.end
            } else if t >= self.begin {
                rule.timestamps.is_some_and(|(a, b)| a <= t && t <= b)
            } else {
                false
            }
        };
        if let Some((a, b)) = rule.timestamps {
            if rule.text || rule.end {
                // log Σ exp over the allowed timestamps vs the best other
                // allowed token: the shared normaliser cancels.
                let stamps =
                    &logits[(a as usize).min(logits.len())..=(b as usize).min(logits.len() - 1)];
                let top = stamps.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let stamp_mass = if top.is_finite() {
                    f64::from(top)
                        + stamps
                            .iter()
                            .map(|&v| f64::from(v - top).exp())
                            .sum::<f64>()
                            .ln()
                } else {
                    f64::NEG_INFINITY
                };
                let best_other = (0..(self.end_of_text as usize + 1).min(logits.len()))
                    .filter(|&i| may(i))
                    .map(|i| logits[i])
                    .fold(f32::NEG_INFINITY, f32::max);
                if stamp_mass > f64::from(best_other) {
                    return top_tokens(logits, k, |i| i as u32 >= a && i as u32 <= b);
                }
            }
        }
        top_tokens(logits, k, may)
    }

    /// How far into a window (seconds, at most `window_s`) its tokens
    /// account for: to the last timestamp when that closes the text, else
    /// (text cut off, or nothing read) the whole window.
    ///
    /// ```
    /// use panelflow_models::speech::whisper::TimestampIds;
    /// let ids = TimestampIds { begin: 100, last: 1600, end_of_text: 50 };
    /// assert_eq!(ids.covered(&[100, 7, 8, 220], 28.0), 2.4);
    /// assert_eq!(ids.covered(&[100, 7, 8], 28.0), 28.0);
    /// assert_eq!(ids.covered(&[], 28.0), 28.0);
    /// ```
    pub fn covered(&self, tokens: &[u32], window_s: f64) -> f64 {
        match tokens.last() {
            Some(&t) if self.is_timestamp(t) && tokens.iter().any(|&x| x < self.end_of_text) => {
                (f64::from(t - self.begin) * STEP_S).min(window_s)
            }
            _ => window_s,
        }
    }

    /// A window's tokens as timed pieces of text: each piece runs from the
    /// timestamp before it to the one after it (text after the last
    /// timestamp runs to the window's end, `window_s`); times are clamped
    /// to the window, and pieces without text are dropped.
    ///
    /// ```
    /// use panelflow_models::speech::whisper::TimestampIds;
    /// let ids = TimestampIds { begin: 100, last: 1600, end_of_text: 50 };
    /// // <|0.00|> 7 8 <|2.40|><|2.40|> 9 <|5.00|>
    /// let p = ids.pieces(&[100, 7, 8, 220, 220, 9, 350], 6.0);
    /// assert_eq!(p.len(), 2);
    /// assert_eq!((p[0].start, p[0].end, p[0].tokens.as_slice()), (0.0, 2.4, &[7, 8][..]));
    /// assert_eq!((p[1].start, p[1].end, p[1].tokens.as_slice()), (2.4, 5.0, &[9][..]));
    /// ```
    pub fn pieces(&self, tokens: &[u32], window_s: f64) -> Vec<TimedTokens> {
        let window_s = window_s.max(0.0);
        let at = |t: u32| (f64::from(t - self.begin) * STEP_S).min(window_s);
        let mut out = Vec::new();
        let mut start = 0.0;
        let mut text: Vec<u32> = Vec::new();
        for &t in tokens {
            if self.is_timestamp(t) {
                let time = at(t);
                if !text.is_empty() {
                    out.push(TimedTokens {
                        start,
                        end: time.max(start),
                        tokens: std::mem::take(&mut text),
                    });
                }
                start = time;
            } else if t < self.end_of_text {
                text.push(t);
            }
        }
        if !text.is_empty() {
            out.push(TimedTokens {
                start,
                end: window_s.max(start),
                tokens: text,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: TimestampIds = TimestampIds {
        begin: 10,
        last: 20,
        end_of_text: 5,
    };

    #[test]
    fn the_first_token_is_an_early_timestamp() {
        let a = IDS.allowed(&[]);
        assert!(!a.text && !a.end);
        assert_eq!(a.timestamps, Some((10, 20)));
        // A window's logits: text likeliest, yet a timestamp must come.
        let mut logits = vec![0.0f32; 21];
        logits[1] = 9.0;
        logits[12] = 1.0;
        let top = IDS.top(&logits, 1, &[], |_| true);
        assert_eq!(top[0].0, 12);
    }

    #[test]
    fn timestamps_pair_up_and_never_go_back() {
        // After the opening timestamp: text or the end, no timestamp.
        assert_eq!(IDS.allowed(&[12]).timestamps, None);
        // After text: a later timestamp (not the opening one again).
        let a = IDS.allowed(&[12, 1, 2]);
        assert!(a.text && a.end);
        assert_eq!(a.timestamps, Some((13, 20)));
        // After a closing timestamp: its twin or later, or the end; no text.
        let a = IDS.allowed(&[12, 1, 15]);
        assert!(!a.text && a.end);
        assert_eq!(a.timestamps, Some((15, 20)));
        // After a pair: text or the end.
        let a = IDS.allowed(&[12, 1, 15, 15]);
        assert!(a.text && a.timestamps.is_none());
        // At the last timestamp nothing later exists.
        assert_eq!(IDS.allowed(&[12, 1, 20, 20, 3]).timestamps, None);
    }

    #[test]
    fn likely_timestamps_together_win_over_the_best_text_token() {
        // Text token 1 is the single likeliest, but the eleven timestamps
        // together outweigh it: only a timestamp may come.
        let mut logits = vec![-9.0f32; 21];
        logits[1] = 2.0;
        for l in &mut logits[10..=20] {
            *l = 0.5;
        }
        let top = IDS.top(&logits, 3, &[12, 1], |_| true);
        assert!(top.iter().all(|(t, _)| *t >= 13), "{top:?}");
        // Normalised over the timestamps allowed (13..=20, equal logits).
        assert!((top[0].1 - (1.0f64 / 8.0).ln()).abs() < 1e-6);
        // With one likely text token and unlikely timestamps: text.
        let mut logits = vec![-9.0f32; 21];
        logits[1] = 2.0;
        assert_eq!(IDS.top(&logits, 1, &[12, 1], |_| true)[0].0, 1);
    }

    #[test]
    fn pieces_keep_trailing_text_and_clamp_to_the_window() {
        // <|0.04|> 1 2 <|0.20|><|0.20|> 3 (cut off)
        let p = IDS.pieces(&[12, 1, 2, 20, 20, 3], 0.1);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].start, p[0].end), (0.04, 0.1));
        assert_eq!(
            (p[1].start, p[1].end, p[1].tokens.clone()),
            (0.1, 0.1, vec![3])
        );
        assert!(IDS.pieces(&[12, 15, 15, 5], 1.0).is_empty());
    }
}
