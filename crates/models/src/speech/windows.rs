//! Packing voice segments into windows: Whisper reads up to 30 s at once
//! and transcribes a sentence better with the sentences around it, so
//! consecutive voice segments are read together — in windows of at most
//! `span_s`, never across a pause longer than `max_gap_s` — and the window's
//! timestamps say when each piece was said. The pauses inside a window are
//! silence (zeros): the voice detector keeps only the voice.

use crate::media::vad::SpeechSegment;
use crate::media::SAMPLE_RATE;

/// Longest window by default, seconds: Whisper's 30 s less room for the
/// last timestamp.
pub const DEFAULT_WINDOW_S: f32 = 28.0;
/// Longest pause inside a window by default, seconds: sentences run on
/// across shorter pauses; a longer one (in a one-recording interview, the
/// turn to the next question) starts a new window, so no timed piece spans
/// two answers.
pub const DEFAULT_WINDOW_GAP_S: f32 = 0.6;

/// Packs a recording's voice segments, in order, into windows.
///
/// ```
/// use panelflow_models::media::vad::SpeechSegment;
/// use panelflow_models::speech::windows::Windower;
/// let seg = |start_s: f64, len_s: f64| SpeechSegment {
///     start_sample: (start_s * 16_000.0) as u64,
///     samples: vec![0.5; (len_s * 16_000.0) as usize],
/// };
/// let mut w = Windower::new(28.0, 0.6);
/// assert!(w.push(seg(0.5, 10.0)).is_none());
/// assert!(w.push(seg(11.0, 10.0)).is_none());
/// // 30.5 s from the window's start: the window closes, this one opens the next.
/// let first = w.push(seg(21.5, 9.0)).unwrap();
/// assert_eq!((first.start_s(), first.end_s()), (0.5, 21.0));
/// assert_eq!(first.samples[10 * 16_000 + 100], 0.0); // the pause is silence
/// let last = w.finish().unwrap();
/// assert_eq!(last.start_s(), 21.5);
/// ```
#[derive(Debug, Default)]
pub struct Windower {
    span: u64,
    max_gap: u64,
    open: Option<SpeechSegment>,
}

impl Windower {
    /// Windows of at most `span_s` (0: every voice segment on its own)
    /// holding no pause longer than `max_gap_s`.
    pub fn new(span_s: f32, max_gap_s: f32) -> Self {
        let samples = |s: f32| (f64::from(s.max(0.0)) * SAMPLE_RATE as f64) as u64;
        Self {
            span: samples(span_s),
            max_gap: samples(max_gap_s),
            open: None,
        }
    }

    /// The settings in a file-name-safe word (`w28-g0.6`; `alone` when
    /// segments are not packed).
    pub fn key(&self) -> String {
        if !self.packs() {
            return "alone".into();
        }
        let s = |n: u64| n as f64 / SAMPLE_RATE as f64;
        format!("w{}-g{}", s(self.span), s(self.max_gap))
    }

    /// Whether segments are packed at all.
    pub fn packs(&self) -> bool {
        self.span > 0
    }

    /// Forgets a window left open (a new recording starts).
    pub fn reset(&mut self) {
        self.open = None;
    }

    /// Adds the next voice segment; returns the window it closes, if any.
    pub fn push(&mut self, next: SpeechSegment) -> Option<SpeechSegment> {
        if !self.packs() {
            return Some(next);
        }
        let Some(mut window) = self.open.take() else {
            self.open = Some(next);
            return None;
        };
        let window_end = window.start_sample + window.samples.len() as u64;
        let next_end = next.start_sample + next.samples.len() as u64;
        let gap = next.start_sample.saturating_sub(window_end);
        if gap > self.max_gap || next_end.saturating_sub(window.start_sample) > self.span {
            self.open = Some(next);
            return Some(window);
        }
        // The voice detector pads segments, so neighbours may overlap.
        let overlap = window_end.saturating_sub(next.start_sample) as usize;
        let at = (next.start_sample.max(window_end) - window.start_sample) as usize;
        window.samples.resize(at, 0.0);
        window
            .samples
            .extend_from_slice(next.samples.get(overlap..).unwrap_or(&[]));
        self.open = Some(window);
        None
    }

    /// The window left open at the end of a recording.
    pub fn finish(&mut self) -> Option<SpeechSegment> {
        self.open.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: u64, len: usize, v: f32) -> SpeechSegment {
        SpeechSegment {
            start_sample: start,
            samples: vec![v; len],
        }
    }

    #[test]
    fn off_passes_every_segment_through() {
        let mut w = Windower::new(0.0, 2.0);
        assert_eq!(w.push(seg(0, 10, 1.0)), Some(seg(0, 10, 1.0)));
        assert_eq!(w.finish(), None);
    }

    #[test]
    fn a_long_pause_closes_the_window() {
        let mut w = Windower::new(28.0, 1.0);
        assert!(w.push(seg(0, 16_000, 1.0)).is_none());
        // 1.5 s of silence: a new window.
        let closed = w.push(seg(40_000, 16_000, 2.0)).unwrap();
        assert_eq!(closed, seg(0, 16_000, 1.0));
        assert_eq!(w.finish(), Some(seg(40_000, 16_000, 2.0)));
    }

    #[test]
    fn overlapping_neighbours_are_joined_without_repeating_audio() {
        let mut w = Windower::new(28.0, 1.0);
        assert!(w.push(seg(100, 10, 1.0)).is_none());
        assert!(w.push(seg(105, 10, 2.0)).is_none());
        let joined = w.finish().unwrap();
        assert_eq!(joined.start_sample, 100);
        // 100..110 from the first, 110..115 from the second's tail.
        assert_eq!(joined.samples.len(), 15);
        assert_eq!(joined.samples[9], 1.0);
        assert_eq!(joined.samples[10], 2.0);
    }

    #[test]
    fn windows_cover_every_voice_sample_in_order() {
        // Segments of varied lengths and pauses: every voice sample lands
        // in exactly one window, at its own time, and no window is too long.
        let mut w = Windower::new(5.0, 0.8);
        let mut segs = Vec::new();
        let mut at = 800u64;
        for i in 0..40u64 {
            let len = 4_000 + (i * 7_919 % 30_000);
            segs.push(seg(at, len as usize, (i + 1) as f32));
            at += len + (i * 3_571 % 16_000);
        }
        let mut windows: Vec<SpeechSegment> =
            segs.iter().cloned().filter_map(|s| w.push(s)).collect();
        windows.extend(w.finish());
        assert!(windows.len() > 1 && windows.len() < segs.len());
        for win in &windows {
            assert!(win.samples.len() <= 5 * 16_000);
        }
        for s in &segs {
            let win = windows
                .iter()
                .find(|x| {
                    x.start_sample <= s.start_sample
                        && s.start_sample < x.start_sample + x.samples.len() as u64
                })
                .unwrap();
            let off = (s.start_sample - win.start_sample) as usize;
            assert!(win.samples[off..off + s.samples.len()]
                .iter()
                .all(|&v| v == s.samples[0]));
        }
    }
}
