//! What the speech models share: batch limits, a segment's encoded and
//! decoded forms, a row of a batched greedy decode, and the tensor helpers
//! that decoding uses (taking rows of a cache, the likeliest token).

use std::path::Path;

use ort::value::{DynValue, Tensor};

use crate::error::SpeechError;
use crate::onnx::file_sha256;

/// Provenance of the loaded model, written on every output row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// `moonshine-base-en`.
    pub name: String,
    /// Where the weights came from (registry package and version).
    pub version: String,
    /// SHA-256 of the decoder file (the encoder's is in the manifest).
    pub sha256: String,
}

impl ModelInfo {
    /// The provenance of a converted model folder: the version is the
    /// manifest's `source`, the SHA-256 the manifest's entry for
    /// `decoder_file`, else the file's own hash.
    pub(crate) fn from_folder(
        dir: &Path,
        name: &str,
        decoder_file: &str,
    ) -> Result<Self, SpeechError> {
        let manifest: Option<serde_json::Value> =
            std::fs::read_to_string(dir.join("manifest.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        let decoder_path = dir.join(decoder_file);
        let sha256 = manifest
            .as_ref()
            .and_then(|m| {
                m["files"][decoder_file]["sha256"]
                    .as_str()
                    .map(str::to_string)
            })
            .map(Ok)
            .unwrap_or_else(|| file_sha256(&decoder_path))
            .map_err(|e| SpeechError::Model {
                path: decoder_path.display().to_string(),
                reason: e.to_string(),
            })?;
        let version = manifest
            .as_ref()
            .and_then(|m| m["source"].as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Ok(Self {
            name: name.into(),
            version,
            sha256,
        })
    }
}

/// How many segments share one decoder call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Segments per decoder call at most.
    pub max_segments: usize,
    /// Encoder frames (about 41.6 per second of audio) per call at most,
    /// counted as rows × the longest row: bounds the cross-attention cache
    /// (about 27 KB per frame) and so the memory a batch holds.
    pub max_frames: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        // 16 segments of ~10 s: the per-segment cost of a step stops falling
        // beyond ~16 rows on 2 cores, and the cache stays near 180 MB.
        Self {
            max_segments: 16,
            max_frames: 16 * 420,
        }
    }
}

impl BatchLimits {
    /// The limits with at least one segment and one frame per call.
    pub fn at_least_one(self) -> Self {
        Self {
            max_segments: self.max_segments.max(1),
            max_frames: self.max_frames.max(1),
        }
    }
}

/// Decodes `encoded` in the groups [`plan_groups`] makes, one
/// `decode_group` call each; results in the order of `encoded`.
pub(crate) fn decode_in_groups(
    encoded: &[Encoded],
    limits: BatchLimits,
    mut decode_group: impl FnMut(&[&Encoded]) -> Result<Vec<Decoded>, SpeechError>,
) -> Result<Vec<Decoded>, SpeechError> {
    let mut results: Vec<Option<Decoded>> = vec![None; encoded.len()];
    for group in plan_groups(encoded, limits) {
        let items: Vec<&Encoded> = group.iter().map(|&i| &encoded[i]).collect();
        for (i, d) in group.into_iter().zip(decode_group(&items)?) {
            results[i] = Some(d);
        }
    }
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| SpeechError::Inference("a segment was not decoded".into())))
        .collect()
}

/// The text of one segment and its mean token probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Token ids, without BOS/EOS.
    pub tokens: Vec<u32>,
    /// Decoded text.
    pub text: String,
    /// Mean probability of the chosen tokens.
    pub confidence: f64,
    /// The text in timed pieces, where the model said when (Whisper reading
    /// a window with timestamps); empty: the whole segment is one piece.
    pub pieces: Vec<Piece>,
}

/// A timed piece of a segment's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Start, seconds from the segment's start.
    pub start: f64,
    /// End, seconds from the segment's start.
    pub end: f64,
    /// The piece's text.
    pub text: String,
}

impl Piece {
    /// The pieces' texts, in order, as one text.
    pub(crate) fn joined(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A segment run through the encoder, waiting for the decoder.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `frames × hidden` encoder states, row-major.
    pub(crate) states: Vec<f32>,
    pub(crate) frames: usize,
    pub(crate) max_tokens: usize,
    /// Seconds of audio in the segment.
    pub(crate) seconds: f64,
    /// The segment's audio, where decoding may need to read part of it
    /// again (a Whisper window read with timestamps).
    pub(crate) audio: Option<Vec<f32>>,
}

impl Encoded {
    /// Encoder frames of the segment.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

/// One segment's progress in a batch.
pub(crate) struct Row {
    /// Index into the caller's segments.
    pub(crate) item: usize,
    pub(crate) max_tokens: usize,
    pub(crate) frames: usize,
    pub(crate) tokens: Vec<u32>,
    pub(crate) log_prob_sum: f64,
    pub(crate) done: bool,
}

pub(crate) fn inference(e: ort::Error) -> SpeechError {
    SpeechError::Inference(e.to_string())
}

/// Copies the rows `keep` (first axis) of a float tensor into a new one,
/// optionally keeping only the first `len` entries along `axis`.
pub(crate) fn gather_rows(
    value: &DynValue,
    keep: &[usize],
    trim: Option<(usize, usize)>,
) -> Result<DynValue, SpeechError> {
    let (shape, data) = value.try_extract_tensor::<f32>().map_err(inference)?;
    let dims: Vec<usize> = shape.iter().map(|&x| x.max(0) as usize).collect();
    if dims.is_empty() || keep.iter().any(|&r| r >= dims[0]) {
        return Err(SpeechError::Inference(format!(
            "cannot take rows {keep:?} of shape {dims:?}"
        )));
    }
    let mut new_dims = dims.clone();
    new_dims[0] = keep.len();
    let (axis, len) = match trim {
        Some((axis, len)) if axis > 0 && axis < dims.len() && len <= dims[axis] => (axis, len),
        Some(_) => {
            return Err(SpeechError::Inference(format!(
                "cannot trim shape {dims:?} as {trim:?}"
            )))
        }
        None => (dims.len() - 1, *dims.last().unwrap_or(&0)),
    };
    new_dims[axis] = len;
    let row: usize = dims[1..].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    let outer: usize = dims[1..axis].iter().product();
    let (chunk, keep_len) = (dims[axis] * inner, len * inner);
    let mut out = Vec::with_capacity(keep.len() * outer * keep_len);
    for &r in keep {
        let base = r * row;
        for o in 0..outer {
            let from = base + o * chunk;
            out.extend_from_slice(&data[from..from + keep_len]);
        }
    }
    Ok(Tensor::from_array((new_dims, out))
        .map_err(inference)?
        .into_dyn())
}

/// Index of the largest logit and its softmax probability.
pub(crate) fn argmax_with_prob(logits: &[f32]) -> (u32, f32) {
    let mut best = 0usize;
    let mut max = f32::NEG_INFINITY;
    for (i, &v) in logits.iter().enumerate() {
        if v > max {
            max = v;
            best = i;
        }
    }
    let sum: f32 = logits.iter().map(|&v| (v - max).exp()).sum();
    (best as u32, 1.0 / sum.max(1.0))
}

/// Groups segments for decoder calls: by ascending length, as many as the
/// limits allow (rows × longest row ≤ `max_frames`, at least one row).
pub(crate) fn plan_groups(encoded: &[Encoded], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| encoded[i].frames);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        let longest = encoded[i].frames.max(1);
        let fits = current.len() < limits.max_segments
            && (current.len() + 1) * longest <= limits.max_frames;
        if !current.is_empty() && !fits {
            groups.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}
