//! The analysis on the answer's own text: the same answer with the words
//! as written before it was spoken, as if speech recognition were perfect.
//! Set beside the figures on the transcript, it tells what the analysis
//! loses from what the speech model loses.

use serde::Serialize;

use crate::analysis::text;
use crate::speech::{mean_confidence, Segment, Transcript};

/// The answer's own text as a transcript: one segment per sentence, the
/// sentences spread over the time the transcript spans in proportion to
/// their length, each with the transcript's mean confidence (so that only
/// the words differ from the transcript the analysis saw).
///
/// ```
/// use panelflow_models::analysis::eval::answers::reference_transcript;
/// use panelflow_models::speech::{Segment, Transcript};
/// let heard = Transcript {
///     duration_s: 10.0,
///     language: "en".into(),
///     model: "m".into(),
///     segments: vec![Segment { start: 1.0, end: 9.0, text: "I shipped it in to weeks".into(), confidence: 0.8 }],
///     text: "I shipped it in to weeks".into(),
/// };
/// let own = reference_transcript(&heard, "I shipped it. It took two weeks.");
/// assert_eq!(own.segments.len(), 2);
/// assert_eq!(own.segments[0].start, 1.0);
/// assert_eq!(own.segments[1].end, 9.0);
/// assert_eq!(own.text, "I shipped it. It took two weeks.");
/// assert!(own.segments.iter().all(|s| (s.confidence - 0.8).abs() < 1e-9));
/// ```
pub fn reference_transcript(heard: &Transcript, own_text: &str) -> Transcript {
    let (from, to) = match (heard.segments.first(), heard.segments.last()) {
        (Some(a), Some(b)) if b.end > a.start => (a.start, b.end),
        _ => (0.0, heard.duration_s.max(0.0)),
    };
    let confidence = if heard.segments.iter().any(|s| s.end > s.start) {
        mean_confidence(&heard.segments)
    } else {
        1.0
    };
    let sentences: Vec<&str> = text::sentences(own_text)
        .into_iter()
        .map(|(a, b)| &own_text[a..b])
        .collect();
    let chars: usize = sentences.iter().map(|s| s.len()).sum::<usize>().max(1);
    let mut at = from;
    let segments: Vec<Segment> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let end = if i + 1 == sentences.len() {
                to
            } else {
                at + (to - from) * s.len() as f64 / chars as f64
            };
            let seg = Segment {
                start: at,
                end,
                text: (*s).to_string(),
                confidence,
            };
            at = end;
            seg
        })
        .collect();
    Transcript::from_segments(
        heard.duration_s,
        &heard.language,
        format!("{} (the answer's own text)", heard.model),
        segments,
    )
}

/// One answer analysed on its own text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OnOwnText {
    /// Score given (None: not scored).
    pub score: Option<u8>,
    /// Expected level.
    pub level: Option<f64>,
    /// Key facts found in the digest.
    pub key_facts_kept: usize,
    /// Uncertainty flagged.
    pub uncertain_found: bool,
    /// The evidence features and their contributions to the score (beside
    /// the transcript's: which evidence the speech model changed).
    pub features: std::collections::BTreeMap<String, [f64; 2]>,
}

/// The split's figures with the answers' own texts in place of the
/// transcripts: the analysis's share of the losses.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OwnTextFigures {
    /// ρ of the expected level.
    pub spearman: f64,
    /// Pairwise accuracy within questions.
    pub pairwise: f64,
    /// Mean absolute error of the score.
    pub mae: f64,
    /// Recall of key facts in the digests.
    pub key_fact_recall: f64,
    /// Uncertainty flag precision.
    pub uncertain_precision: f64,
    /// Uncertainty flag recall.
    pub uncertain_recall: f64,
}
