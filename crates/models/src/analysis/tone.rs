//! Vocal tone: speaking rate, pauses, pitch (F0 by a YIN estimator) and
//! loudness from the audio, fillers and hedges from the words — per answer,
//! with the flags they raise and the figures that raised them.
//!
//! The audio side works per voice segment as the transcriber streams them
//! ([`SegmentAudio::measure`]): each segment leaves a few sums and its
//! pauses, never its samples, so memory stays bounded however long the
//! recording. An answer's figures merge the sums of its segments.

use serde::{Deserialize, Serialize};

use super::text;

/// Audio sample rate the measures assume (the transcriber's).
const RATE: f64 = crate::media::SAMPLE_RATE as f64;
/// Analysis frame: 40 ms.
const FRAME: usize = 640;
/// Hop between frames: 20 ms.
const HOP: usize = 320;
/// Lowest F0 searched, Hz.
const F0_MIN: f64 = 70.0;
/// Highest F0 searched, Hz.
const F0_MAX: f64 = 400.0;
/// YIN's absolute threshold on the cumulative-mean-normalised difference.
const YIN_THRESHOLD: f32 = 0.2;
/// A frame is silent below this many dB under the segment's loud frames.
const SILENCE_BELOW_PEAK_DB: f64 = 30.0;
/// ... or below this absolute level, dBFS.
const SILENCE_FLOOR_DBFS: f64 = -55.0;
/// Shortest silent run inside a segment counted as a pause, seconds.
const MIN_PAUSE_S: f64 = 0.25;

/// Acoustic sums of one voice segment; segments of an answer merge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentAudio {
    /// Segment start, seconds from the start of the media.
    pub start: f64,
    /// Segment end, seconds.
    pub end: f64,
    /// First non-silent frame's time (speech onset), seconds.
    pub speech_start: f64,
    /// Last non-silent frame's end, seconds.
    pub speech_end: f64,
    /// Frames that are not silent.
    pub active_frames: u32,
    /// Frames with a pitch (measured on every other frame).
    pub voiced_frames: u32,
    /// Sum of F0 in semitones above 100 Hz, over voiced frames.
    pub st_sum: f64,
    /// Sum of squares of the same.
    pub st_sq: f64,
    /// Sum of frame loudness in dBFS, over active frames.
    pub db_sum: f64,
    /// Sum of squares of the same.
    pub db_sq: f64,
    /// Silent runs inside the segment of at least 0.25 s, as (start, end) seconds.
    pub pauses: Vec<(f64, f64)>,
}

/// Seconds per analysis hop.
pub fn hop_s() -> f64 {
    HOP as f64 / RATE
}

impl SegmentAudio {
    /// Measures one voice segment of 16 kHz mono audio starting at `start_s`.
    ///
    /// ```
    /// use panelflow_models::analysis::tone::SegmentAudio;
    /// // One second of a 150 Hz tone.
    /// let x: Vec<f32> = (0..16_000).map(|i| (i as f32 * 150.0 * std::f32::consts::TAU / 16_000.0).sin() * 0.3).collect();
    /// let m = SegmentAudio::measure(2.0, &x);
    /// let f0 = 100.0 * 2f64.powf(m.st_sum / m.voiced_frames as f64 / 12.0);
    /// assert!((f0 - 150.0).abs() < 3.0, "{f0}");
    /// assert!(m.voiced_frames > 20);
    /// ```
    pub fn measure(start_s: f64, samples: &[f32]) -> Self {
        let end = start_s + samples.len() as f64 / RATE;
        let mut out = SegmentAudio {
            start: start_s,
            end,
            speech_start: end,
            speech_end: start_s,
            ..Default::default()
        };
        if samples.len() < FRAME {
            return out;
        }
        let frames = (samples.len() - FRAME) / HOP + 1;
        let db: Vec<f64> = (0..frames)
            .map(|f| {
                let w = &samples[f * HOP..f * HOP + FRAME];
                let power =
                    w.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() / FRAME as f64;
                10.0 * (power + 1e-12).log10()
            })
            .collect();
        let mut sorted = db.clone();
        sorted.sort_by(f64::total_cmp);
        let loud = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
        let threshold = (loud - SILENCE_BELOW_PEAK_DB).max(SILENCE_FLOOR_DBFS);
        let mut run_start: Option<usize> = None;
        let frame_time = |f: usize| start_s + (f * HOP) as f64 / RATE;
        let mut yin = Yin::new();
        for (f, &level) in db.iter().enumerate() {
            let active = level > threshold;
            if active {
                out.active_frames += 1;
                out.db_sum += level;
                out.db_sq += level * level;
                let t = frame_time(f);
                out.speech_start = out.speech_start.min(t);
                out.speech_end = out.speech_end.max(t + FRAME as f64 / RATE);
                // Pitch on every other frame (40 ms apart) is plenty for its mean and spread.
                let pitched = if f % 2 == 0 {
                    yin.pitch(&samples[f * HOP..f * HOP + FRAME])
                } else {
                    None
                };
                if let Some(f0) = pitched {
                    let st = 12.0 * (f0 / 100.0).log2();
                    out.voiced_frames += 1;
                    out.st_sum += st;
                    out.st_sq += st * st;
                }
                if let Some(s) = run_start.take() {
                    out.push_pause(frame_time(s), t);
                }
            } else if run_start.is_none() && out.active_frames > 0 {
                run_start = Some(f);
            }
        }
        out
    }

    fn push_pause(&mut self, from: f64, to: f64) {
        if to - from >= MIN_PAUSE_S {
            self.pauses.push((round3(from), round3(to)));
        }
    }

    /// Seconds of non-silent audio.
    pub fn active_s(&self) -> f64 {
        f64::from(self.active_frames) * hop_s()
    }
}

/// YIN pitch estimation on 16 kHz frames, decimated to 8 kHz.
struct Yin {
    buf: Vec<f32>,
    diff: Vec<f32>,
}

impl Yin {
    fn new() -> Self {
        Self {
            buf: Vec::with_capacity(FRAME / 2),
            diff: Vec::new(),
        }
    }

    /// F0 of a 40 ms frame in Hz, or `None` when unvoiced.
    fn pitch(&mut self, frame: &[f32]) -> Option<f64> {
        let rate = RATE / 2.0;
        self.buf.clear();
        self.buf
            .extend(frame.chunks_exact(2).map(|p| 0.5 * (p[0] + p[1])));
        let n = self.buf.len();
        let tau_min = (rate / F0_MAX).floor() as usize;
        let tau_max = ((rate / F0_MIN).ceil() as usize).min(n / 2);
        let width = n - tau_max;
        if tau_min < 2 || tau_max <= tau_min + 2 {
            return None;
        }
        self.diff.clear();
        self.diff.resize(tau_max + 1, 0.0);
        let x = &self.buf;
        for tau in 1..=tau_max {
            let (a, b) = (&x[..width], &x[tau..tau + width]);
            self.diff[tau] = a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum();
        }
        // Cumulative mean normalised difference.
        let mut running = 0.0f32;
        let mut cmnd = vec![1.0f32; tau_max + 1];
        for (tau, (c, &d)) in cmnd.iter_mut().zip(&self.diff).enumerate().skip(1) {
            running += d;
            *c = if running > 0.0 {
                d * tau as f32 / running
            } else {
                1.0
            };
        }
        let mut tau = tau_min;
        let mut found = None;
        while tau < tau_max {
            if cmnd[tau] < YIN_THRESHOLD {
                while tau + 1 < tau_max && cmnd[tau + 1] < cmnd[tau] {
                    tau += 1;
                }
                found = Some(tau);
                break;
            }
            tau += 1;
        }
        let tau = found?;
        // Parabolic interpolation around the minimum.
        let (y0, y1, y2) = (cmnd[tau - 1], cmnd[tau], cmnd[(tau + 1).min(tau_max)]);
        let denom = y0 - 2.0 * y1 + y2;
        let shift = if denom.abs() > 1e-9 {
            0.5 * (y0 - y2) / denom
        } else {
            0.0
        };
        let period = tau as f64 + f64::from(shift.clamp(-1.0, 1.0));
        (period > 0.0).then(|| rate / period)
    }
}

/// Thresholds of the tone flags (`[analysis.tone]` in a pipeline file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ToneThresholds {
    /// Above this many words per minute: `very_fast_pace`.
    pub fast_wpm: f64,
    /// Below this: `slow_pace`.
    pub slow_wpm: f64,
    /// A pause at least this long (s) counts as long.
    pub long_pause_s: f64,
    /// Share of an answer's span in pauses above which it has `long_silences`.
    pub max_pause_ratio: f64,
}

impl Default for ToneThresholds {
    fn default() -> Self {
        Self {
            fast_wpm: 200.0,
            slow_wpm: 105.0,
            long_pause_s: 2.0,
            max_pause_ratio: 0.4,
        }
    }
}

/// Fillers: sounds and phrases that fill a silence.
const FILLERS: [&str; 10] = [
    "um", "uh", "erm", "er", "uhm", "umm", "hmm", "ah", "you know", "i mean",
];
/// Strong hedges: the speaker says they do not know.
const STRONG_HEDGES: [&str; 9] = [
    "not sure",
    "don't know",
    "do not know",
    "no idea",
    "i guess",
    "hard to say",
    "not really sure",
    "can't remember",
    "cannot remember",
];
/// Mild hedges: softeners (each counts half).
const MILD_HEDGES: [&str; 8] = [
    "maybe",
    "perhaps",
    "probably",
    "i think",
    "kind of",
    "sort of",
    "might",
    "i suppose",
];

/// Fillers and hedges found in a text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disfluency {
    /// Filler count.
    pub fillers: usize,
    /// Strong hedge count.
    pub strong_hedges: usize,
    /// Mild hedge count.
    pub mild_hedges: usize,
    /// The phrases found, in order.
    pub phrases: Vec<String>,
}

impl Disfluency {
    /// Hedge weight: strong hedges count one, mild ones half.
    pub fn hedge_weight(&self) -> f64 {
        self.strong_hedges as f64 + 0.5 * self.mild_hedges as f64
    }

    /// Whether any hedge was found.
    pub fn hedged(&self) -> bool {
        self.strong_hedges + self.mild_hedges > 0
    }
}

/// Counts fillers and hedges (on normalised words, phrases matched whole).
///
/// ```
/// use panelflow_models::analysis::tone::disfluency;
/// let d = disfluency("Um, I am not sure. Maybe a second shift?");
/// assert_eq!((d.fillers, d.strong_hedges, d.mild_hedges), (1, 1, 1));
/// ```
pub fn disfluency(text_in: &str) -> Disfluency {
    let words: Vec<String> = text::norm_words(&text_in.replace("’", "'"));
    let mut d = Disfluency::default();
    let mut i = 0;
    'outer: while i < words.len() {
        for (list, kind) in [
            (&STRONG_HEDGES[..], 1),
            (&MILD_HEDGES[..], 2),
            (&FILLERS[..], 0),
        ] {
            for phrase in list {
                let p: Vec<&str> = phrase.split(' ').collect();
                if i + p.len() <= words.len()
                    && words[i..i + p.len()].iter().zip(&p).all(|(a, b)| a == b)
                {
                    match kind {
                        0 => d.fillers += 1,
                        1 => d.strong_hedges += 1,
                        _ => d.mild_hedges += 1,
                    }
                    d.phrases.push((*phrase).to_string());
                    i += p.len();
                    continue 'outer;
                }
            }
        }
        i += 1;
    }
    d
}

/// The tone of one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tone {
    /// Words (numbers spelled out) per minute of the answer's speech span.
    pub words_per_minute: f64,
    /// Seconds from the first to the last sound of the answer.
    pub span_s: f64,
    /// Seconds of sound (not silence).
    pub speech_s: f64,
    /// Share of the span that is silence, 0..1.
    pub pause_ratio: f64,
    /// Pauses at least `long_pause_s` long.
    pub long_pauses: usize,
    /// Longest pause, seconds.
    pub longest_pause_s: f64,
    /// Median-ish pitch level (mean F0 in semitones, given in Hz), when voiced audio was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitch_hz: Option<f64>,
    /// Pitch variability: standard deviation of F0 in semitones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitch_variability_st: Option<f64>,
    /// Mean loudness of the speech, dBFS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_dbfs: Option<f64>,
    /// Loudness variability: standard deviation of frame loudness, dB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_variability_db: Option<f64>,
    /// Fillers ("um", "uh", "you know").
    pub fillers: usize,
    /// Hedges ("I'm not sure", "maybe").
    pub hedges: usize,
    /// Fillers per 100 words.
    pub fillers_per_100_words: f64,
    /// The filler and hedge phrases heard.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub phrases: Vec<String>,
    /// Whether the figures come from the audio (else from transcript times only).
    pub from_audio: bool,
}

/// Measures an answer's tone from its words, its transcript segments'
/// times and (when available) the audio of its voice segments.
pub fn measure_answer(
    text_in: &str,
    segment_times: &[(f64, f64)],
    audio: &[&SegmentAudio],
) -> (Tone, Disfluency) {
    let words = text::norm_words(text_in).len();
    let d = disfluency(text_in);
    let mut tone = Tone {
        fillers: d.fillers,
        hedges: d.strong_hedges + d.mild_hedges,
        phrases: d.phrases.clone(),
        ..Default::default()
    };
    if words > 0 {
        tone.fillers_per_100_words = round2(d.fillers as f64 * 100.0 / words as f64);
    }
    let mut pauses: Vec<f64> = Vec::new();
    let with_sound: Vec<&&SegmentAudio> = audio.iter().filter(|a| a.active_frames > 0).collect();
    if !with_sound.is_empty() {
        tone.from_audio = true;
        let first = with_sound
            .iter()
            .map(|a| a.speech_start)
            .fold(f64::INFINITY, f64::min);
        let last = with_sound
            .iter()
            .map(|a| a.speech_end)
            .fold(f64::NEG_INFINITY, f64::max);
        tone.span_s = (last - first).max(0.0);
        tone.speech_s = with_sound
            .iter()
            .map(|a| a.active_s())
            .sum::<f64>()
            .min(tone.span_s);
        let mut ordered = with_sound.clone();
        ordered.sort_by(|a, b| a.speech_start.total_cmp(&b.speech_start));
        for pair in ordered.windows(2) {
            pauses.push((pair[1].speech_start - pair[0].speech_end).max(0.0));
        }
        for a in &ordered {
            pauses.extend(a.pauses.iter().map(|(s, e)| e - s));
        }
        let voiced: u32 = with_sound.iter().map(|a| a.voiced_frames).sum();
        if voiced >= 5 {
            let n = f64::from(voiced);
            let sum: f64 = with_sound.iter().map(|a| a.st_sum).sum();
            let sq: f64 = with_sound.iter().map(|a| a.st_sq).sum();
            let mean = sum / n;
            tone.pitch_hz = Some(round1(100.0 * 2f64.powf(mean / 12.0)));
            tone.pitch_variability_st = Some(round2((sq / n - mean * mean).max(0.0).sqrt()));
        }
        let active: u32 = with_sound.iter().map(|a| a.active_frames).sum();
        if active >= 5 {
            let n = f64::from(active);
            let sum: f64 = with_sound.iter().map(|a| a.db_sum).sum();
            let sq: f64 = with_sound.iter().map(|a| a.db_sq).sum();
            let mean = sum / n;
            tone.loudness_dbfs = Some(round1(mean));
            tone.loudness_variability_db = Some(round2((sq / n - mean * mean).max(0.0).sqrt()));
        }
    } else if let (Some(first), Some(last)) = (segment_times.first(), segment_times.last()) {
        tone.span_s = (last.1 - first.0).max(0.0);
        for pair in segment_times.windows(2) {
            pauses.push((pair[1].0 - pair[0].1).max(0.0));
        }
        let pause_total: f64 = pauses.iter().sum();
        tone.speech_s = (tone.span_s - pause_total).max(0.0);
    }
    if tone.span_s > 0.0 {
        tone.pause_ratio = round3((1.0 - tone.speech_s / tone.span_s).clamp(0.0, 1.0));
        tone.words_per_minute = round1(words as f64 * 60.0 / tone.span_s);
    }
    tone.longest_pause_s = round2(pauses.iter().copied().fold(0.0, f64::max));
    tone.span_s = round2(tone.span_s);
    tone.speech_s = round2(tone.speech_s);
    (tone, d)
}

/// Counts pauses of at least `min_s` (the long ones).
pub fn count_long_pauses(
    segment_times: &[(f64, f64)],
    audio: &[&SegmentAudio],
    min_s: f64,
) -> usize {
    let mut n = 0;
    let with_sound: Vec<&&SegmentAudio> = audio.iter().filter(|a| a.active_frames > 0).collect();
    if with_sound.is_empty() {
        return segment_times
            .windows(2)
            .filter(|p| p[1].0 - p[0].1 >= min_s)
            .count();
    }
    let mut ordered = with_sound;
    ordered.sort_by(|a, b| a.speech_start.total_cmp(&b.speech_start));
    for pair in ordered.windows(2) {
        if pair[1].speech_start - pair[0].speech_end >= min_s {
            n += 1;
        }
    }
    for a in &ordered {
        n += a.pauses.iter().filter(|(s, e)| e - s >= min_s).count();
    }
    n
}

/// Transcribes one media file while measuring the tone of each voice
/// segment as the transcriber reads it; returns the transcript, the
/// measures and the seconds spent measuring.
pub fn transcribe_with_tone(
    transcriber: &mut crate::speech::transcriber::Transcriber,
    path: &std::path::Path,
) -> Result<(crate::speech::Transcript, Vec<SegmentAudio>, f64), crate::speech::SpeechError> {
    let mut secs = 0.0;
    let measured = transcriber.transcribe_file_measured(path, |speech| {
        let started = std::time::Instant::now();
        let m = SegmentAudio::measure(speech.start_s(), &speech.samples);
        secs += started.elapsed().as_secs_f64();
        m
    })?;
    Ok((measured.transcript, measured.measures, secs))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_at(f0: f32, secs: f32, amp: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| (i as f32 * f0 * std::f32::consts::TAU / 16_000.0).sin() * amp)
            .collect()
    }

    #[test]
    fn yin_follows_a_voice_like_signal() {
        // A buzz with harmonics at 220 Hz.
        let x: Vec<f32> = (0..16_000)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                (1..6)
                    .map(|h| (t * 220.0 * h as f32 * std::f32::consts::TAU).sin() / h as f32)
                    .sum::<f32>()
                    * 0.2
            })
            .collect();
        let m = SegmentAudio::measure(0.0, &x);
        let f0 = 100.0 * 2f64.powf(m.st_sum / f64::from(m.voiced_frames) / 12.0);
        assert!((f0 - 220.0).abs() < 4.0, "{f0}");
    }

    #[test]
    fn silence_inside_a_segment_is_a_pause() {
        let mut x = tone_at(150.0, 1.0, 0.3);
        x.extend(vec![0.0f32; 16_000]);
        x.extend(tone_at(150.0, 1.0, 0.3));
        let m = SegmentAudio::measure(10.0, &x);
        assert_eq!(m.pauses.len(), 1, "{:?}", m.pauses);
        let (s, e) = m.pauses[0];
        assert!(
            (s - 11.0).abs() < 0.06 && (e - 12.0).abs() < 0.06,
            "{s}..{e}"
        );
        let (tone, _) = measure_answer("one two three four", &[], &[&m]);
        assert!((tone.pause_ratio - 1.0 / 3.0).abs() < 0.05, "{tone:?}");
        assert_eq!(count_long_pauses(&[], &[&m], 0.9), 1);
        assert!(tone.longest_pause_s > 0.9);
        assert!(tone.loudness_variability_db.is_some_and(|v| v < 1.0));
    }

    #[test]
    fn without_audio_pauses_come_from_segment_times() {
        let (tone, _) = measure_answer("a b c d e f g h i j", &[(0.0, 2.0), (5.0, 6.0)], &[]);
        assert!(!tone.from_audio);
        assert_eq!(tone.longest_pause_s, 3.0);
        assert!((tone.words_per_minute - 100.0).abs() < 1e-9);
        assert!((tone.pause_ratio - 0.5).abs() < 1e-9);
    }

    #[test]
    fn hedges_and_fillers_are_whole_phrases() {
        let d = disfluency("I think the umbrella is, uh, not sure, kind of blue. You know?");
        assert_eq!(d.fillers, 2, "{d:?}");
        assert_eq!(d.strong_hedges, 1);
        assert_eq!(d.mild_hedges, 2);
        assert!(!disfluency("I umpire games").hedged());
        assert_eq!(disfluency("I don’t know").strong_hedges, 1);
    }
}
