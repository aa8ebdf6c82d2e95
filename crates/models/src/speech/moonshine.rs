//! The Moonshine base (English) speech model on ONNX Runtime: an encoder
//! over raw 16 kHz samples and a merged decoder with a key/value cache,
//! decoded greedily.
//!
//! Decoding is batched: many segments (of one recording or of several) go
//! through each decoder call together. The set-up's conversion
//! (`scripts/convert_moonshine.py`, model format 2) gives the decoder an
//! `encoder_attention_bias` input, so segments of different lengths share a
//! call (padded encoder frames get exactly zero attention), and keeps the
//! cross-attention key cache in the layout the attention reads
//! (`[batch, heads, head_dim, frames]`, pre-scaled), so a step no longer
//! re-transposes every encoder frame. Each segment's tokens are those of
//! decoding it alone: rows of a batch never mix (the decoder's weights are
//! float, and its activations are not quantised per batch).
//!
//! The key/value caches stay ONNX Runtime values from one step to the next:
//! a step's `present.*` outputs are fed back as the next step's `past.*`
//! inputs without a copy through Rust memory. Rows whose segment has ended
//! are dropped from the batch (and the padding no remaining row needs is cut
//! off) once a quarter of the rows have ended.
//!
//! A model folder of the older format (no bias input) still loads; it
//! decodes one segment per call.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};

use super::tokenizer::Tokenizer;
use super::SpeechError;
use crate::onnx::{file_sha256, open_session};

/// Start-of-transcript token.
const BOS: i64 = 1;
/// End-of-transcript token.
const EOS: u32 = 2;
/// Tokens per second of audio the decoder may produce at most (the model
/// card's bound: speech rarely exceeds ~4 tokens/s).
const MAX_TOKENS_PER_SECOND: f64 = 6.5;
/// Shortest input the encoder's convolutions accept; shorter clips are
/// padded with silence.
const MIN_SAMPLES: usize = 4_000;
/// Attention bias of a padded encoder frame (its softmax weight is 0).
const MASKED: f32 = -1e9;
/// Name of the decoder input that format-2 models add.
const BIAS_INPUT: &str = "encoder_attention_bias";

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

/// A loaded Moonshine model.
pub struct Moonshine {
    encoder: Session,
    decoder: Session,
    layers: usize,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    /// Format 2: the decoder takes [`BIAS_INPUT`] and caches the encoder key
    /// transposed; segments can share a call.
    batched: bool,
    names: Names,
    limits: BatchLimits,
    tokenizer: Tokenizer,
    info: ModelInfo,
}

/// The decoder's input and output names, built once.
struct Names {
    /// Per layer: past decoder key, value, encoder key, value.
    past: Vec<[String; 4]>,
    /// Per layer: present decoder key, value, encoder key, value.
    present: Vec<[String; 4]>,
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
}

/// A segment run through the encoder, waiting for the decoder.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `frames × hidden` encoder states, row-major.
    states: Vec<f32>,
    frames: usize,
    max_tokens: usize,
}

impl Encoded {
    /// Encoder frames of the segment.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

/// One segment's progress in a batch.
struct Row {
    /// Index into the caller's segments.
    item: usize,
    max_tokens: usize,
    frames: usize,
    tokens: Vec<u32>,
    log_prob_sum: f64,
    done: bool,
}

fn inference(e: ort::Error) -> SpeechError {
    SpeechError::Inference(e.to_string())
}

impl Moonshine {
    /// Files the model folder must hold.
    pub const FILES: [&'static str; 3] = [
        "encoder_model.onnx",
        "decoder_model_merged.onnx",
        "tokenizer.json",
    ];

    /// Loads `dir/{encoder_model.onnx, decoder_model_merged.onnx, tokenizer.json}`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        let encoder = open_session(&dir.join("encoder_model.onnx"), threads)?;
        let decoder_path = dir.join("decoder_model_merged.onnx");
        let decoder = open_session(&decoder_path, threads)?;
        let tokenizer = Tokenizer::load(&dir.join("tokenizer.json"))?;
        let layers = decoder
            .inputs()
            .iter()
            .filter(|i| {
                i.name().starts_with("past_key_values.") && i.name().ends_with(".decoder.key")
            })
            .count();
        if layers == 0 {
            return Err(SpeechError::Model {
                path: decoder_path.display().to_string(),
                reason: "no past_key_values inputs: not a merged Moonshine decoder".into(),
            });
        }
        let batched = decoder.inputs().iter().any(|i| i.name() == BIAS_INPUT);
        if !batched {
            tracing::warn!(
                dir = %dir.display(),
                "Moonshine model of the older format: decoding one segment at a time (re-run bash scripts/setup.sh)"
            );
        }
        let manifest = read_manifest(dir);
        let sha256 = manifest
            .as_ref()
            .and_then(|m| {
                m["files"]["decoder_model_merged.onnx"]["sha256"]
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
        let names = Names {
            past: (0..layers)
                .map(|l| {
                    [
                        "decoder.key",
                        "decoder.value",
                        "encoder.key",
                        "encoder.value",
                    ]
                    .map(|k| format!("past_key_values.{l}.{k}"))
                })
                .collect(),
            present: (0..layers)
                .map(|l| {
                    [
                        "decoder.key",
                        "decoder.value",
                        "encoder.key",
                        "encoder.value",
                    ]
                    .map(|k| format!("present.{l}.{k}"))
                })
                .collect(),
        };
        Ok(Self {
            encoder,
            decoder,
            layers,
            heads: 8,
            head_dim: 52,
            hidden: 416,
            batched,
            names,
            limits: BatchLimits::default(),
            tokenizer,
            info: ModelInfo {
                name: "moonshine-base-en".into(),
                version,
                sha256,
            },
        })
    }

    /// The default model folder inside the set-up cache.
    pub fn default_dir() -> PathBuf {
        crate::onnx::models_dir().join("moonshine-base-en")
    }

    /// The model's provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Whether segments can share a decoder call (a format-2 model).
    pub fn supports_batching(&self) -> bool {
        self.batched
    }

    /// How segments are grouped into decoder calls.
    pub fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets how segments are grouped into decoder calls (at least one
    /// segment per call).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.limits = BatchLimits {
            max_segments: limits.max_segments.max(1),
            max_frames: limits.max_frames.max(1),
        };
    }

    /// Transcribes one segment of 16 kHz mono audio (up to ~30 s), decoded
    /// on its own.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Decoded, SpeechError> {
        let encoded = self.encode(samples)?;
        let mut out = self.decode_group(&[&encoded])?;
        out.pop()
            .ok_or_else(|| SpeechError::Inference("decoder returned nothing".into()))
    }

    /// Transcribes many segments, sharing decoder calls between them (see
    /// [`BatchLimits`]). Results are in the order of `segments`, and each
    /// is what [`Moonshine::transcribe`] gives for that segment alone.
    pub fn transcribe_batch(&mut self, segments: &[&[f32]]) -> Result<Vec<Decoded>, SpeechError> {
        let encoded = segments
            .iter()
            .map(|s| self.encode(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.decode_batch(&encoded)
    }

    /// Runs the encoder over one segment (one segment per encoder call: the
    /// encoder has no padding mask, so segments of different lengths cannot
    /// share a call without changing their results).
    pub fn encode(&mut self, samples: &[f32]) -> Result<Encoded, SpeechError> {
        let mut audio = samples.to_vec();
        if audio.len() < MIN_SAMPLES {
            audio.resize(MIN_SAMPLES, 0.0);
        }
        let n = audio.len();
        let input = Tensor::from_array(([1usize, n], audio)).map_err(inference)?;
        let mut out = self
            .encoder
            .run(ort::inputs!["input_values" => input])
            .map_err(inference)?;
        let hidden = out
            .remove("last_hidden_state")
            .ok_or_else(|| SpeechError::Inference("encoder gave no last_hidden_state".into()))?;
        let (shape, data) = hidden.try_extract_tensor::<f32>().map_err(inference)?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims.len() != 3 || dims[0] != 1 || dims[2] as usize != self.hidden || dims[1] <= 0 {
            return Err(SpeechError::Inference(format!(
                "encoder states of shape {dims:?}"
            )));
        }
        let frames = dims[1] as usize;
        let max_tokens = ((n as f64 / 16_000.0) * MAX_TOKENS_PER_SECOND).ceil() as usize + 4;
        Ok(Encoded {
            states: data.to_vec(),
            frames,
            max_tokens,
        })
    }

    /// Decodes encoded segments, grouped into calls of similar lengths.
    /// Results are in the order of `encoded`.
    pub fn decode_batch(&mut self, encoded: &[Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        let mut results: Vec<Option<Decoded>> = vec![None; encoded.len()];
        for group in plan_groups(encoded, self.effective_limits()) {
            let items: Vec<&Encoded> = group.iter().map(|&i| &encoded[i]).collect();
            let decoded = self.decode_group(&items)?;
            for (i, d) in group.into_iter().zip(decoded) {
                results[i] = Some(d);
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| SpeechError::Inference("a segment was not decoded".into())))
            .collect()
    }

    fn effective_limits(&self) -> BatchLimits {
        if self.batched {
            self.limits
        } else {
            BatchLimits {
                max_segments: 1,
                ..self.limits
            }
        }
    }

    /// Greedy decoding of one group in lockstep.
    fn decode_group(&mut self, items: &[&Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        if !self.batched && items.len() > 1 {
            return Err(SpeechError::Inference(
                "this model decodes one segment per call".into(),
            ));
        }
        let (h, d, hid) = (self.heads, self.head_dim, self.hidden);
        let mut batch = items.len();
        let mut frames = items.iter().map(|e| e.frames).max().unwrap_or(1);
        let mut rows: Vec<Row> = items
            .iter()
            .enumerate()
            .map(|(item, e)| Row {
                item,
                max_tokens: e.max_tokens,
                frames: e.frames,
                tokens: Vec::new(),
                log_prob_sum: 0.0,
                done: e.max_tokens == 0,
            })
            .collect();

        // Encoder states padded with zeros to the longest row, and the bias
        // that hides the padding.
        let mut states = vec![0f32; batch * frames * hid];
        let mut bias = vec![0f32; batch * frames];
        for (r, e) in items.iter().enumerate() {
            states[r * frames * hid..(r * frames + e.frames) * hid]
                .copy_from_slice(&e.states[..e.frames * hid]);
            bias[r * frames + e.frames..(r + 1) * frames]
                .iter_mut()
                .for_each(|b| *b = MASKED);
        }
        let mut states = Some(
            Tensor::from_array(([batch, frames, hid], states))
                .map_err(inference)?
                .into_dyn(),
        );
        let mut bias_value = Tensor::from_array(([batch, 1, 1, frames], bias))
            .map_err(inference)?
            .into_dyn();

        let empty = |shape: [usize; 4]| {
            Tensor::<f32>::from_array((shape, Vec::<f32>::new())).map(|t| t.into_dyn())
        };
        let key_empty = if self.batched {
            [batch, h, d, 0]
        } else {
            [batch, h, 0, d]
        };
        // Per layer: decoder key, decoder value, encoder key, encoder value.
        let mut cache: Vec<[DynValue; 4]> = Vec::with_capacity(self.layers);
        for _ in 0..self.layers {
            cache.push([
                empty([batch, h, 0, d]).map_err(inference)?,
                empty([batch, h, 0, d]).map_err(inference)?,
                empty(key_empty).map_err(inference)?,
                empty([batch, h, 0, d]).map_err(inference)?,
            ]);
        }

        let mut last: Vec<i64> = vec![BOS; batch];
        let mut parked: Vec<Row> = Vec::new();
        let mut step = 0usize;
        while rows.iter().any(|r| !r.done) {
            let ids = Tensor::from_array(([batch, 1usize], last.clone())).map_err(inference)?;
            let use_cache = Tensor::from_array(([1usize], vec![step > 0])).map_err(inference)?;
            // After the first step the encoder states are unused (their keys
            // and values are cached); a one-frame placeholder fills the input.
            let placeholder;
            let states_ref: &DynValue = match &states {
                Some(s) => s,
                None => {
                    placeholder =
                        Tensor::from_array(([batch, 1usize, hid], vec![0f32; batch * hid]))
                            .map_err(inference)?
                            .into_dyn();
                    &placeholder
                }
            };
            let mut feeds: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
                Vec::with_capacity(4 + self.layers * 4);
            feeds.push(("input_ids".into(), ids.into()));
            feeds.push(("encoder_hidden_states".into(), states_ref.into()));
            feeds.push(("use_cache_branch".into(), use_cache.into()));
            if self.batched {
                feeds.push((BIAS_INPUT.into(), (&bias_value).into()));
            }
            for (names, values) in self.names.past.iter().zip(&cache) {
                for (name, value) in names.iter().zip(values) {
                    feeds.push((Cow::Borrowed(name.as_str()), value.into()));
                }
            }
            let mut out = self.decoder.run(feeds).map_err(inference)?;
            {
                let logits = out
                    .get("logits")
                    .ok_or_else(|| SpeechError::Inference("decoder gave no logits".into()))?;
                let (shape, data) = logits.try_extract_tensor::<f32>().map_err(inference)?;
                let vocab = shape.last().copied().unwrap_or(0).max(0) as usize;
                let positions = if shape.len() == 3 {
                    shape[1].max(0) as usize
                } else {
                    1
                };
                if vocab == 0 || positions == 0 || data.len() != batch * positions * vocab {
                    return Err(SpeechError::Inference(format!(
                        "logits of shape {:?}",
                        &shape[..]
                    )));
                }
                for (r, row) in rows.iter_mut().enumerate() {
                    if row.done {
                        continue;
                    }
                    let start = (r * positions + positions - 1) * vocab;
                    let (next, prob) = argmax_with_prob(&data[start..start + vocab]);
                    if next == EOS {
                        row.done = true;
                        continue;
                    }
                    row.log_prob_sum += (prob.max(1e-12) as f64).ln();
                    row.tokens.push(next);
                    last[r] = next as i64;
                    if row.tokens.len() >= row.max_tokens {
                        row.done = true;
                    }
                }
            }
            for (l, names) in self.names.present.iter().enumerate() {
                let kinds = if step == 0 { 4 } else { 2 };
                for (k, name) in names.iter().enumerate().take(kinds) {
                    cache[l][k] = out
                        .remove(name)
                        .ok_or_else(|| SpeechError::Inference(format!("no {name}")))?;
                }
            }
            drop(out);
            if step == 0 {
                states = None;
            }
            step += 1;

            // Drop finished rows once a quarter of the batch has finished.
            let finished = rows.iter().filter(|r| r.done).count();
            if self.batched && finished > 0 && finished < batch && finished * 4 >= batch {
                let keep: Vec<usize> = (0..batch).filter(|&r| !rows[r].done).collect();
                let new_frames = keep
                    .iter()
                    .map(|&r| rows[r].frames)
                    .max()
                    .unwrap_or(frames)
                    .min(frames);
                for layer in cache.iter_mut() {
                    layer[0] = gather_rows(&layer[0], &keep, None)?;
                    layer[1] = gather_rows(&layer[1], &keep, None)?;
                    layer[2] = gather_rows(&layer[2], &keep, Some((3, new_frames)))?;
                    layer[3] = gather_rows(&layer[3], &keep, Some((2, new_frames)))?;
                }
                bias_value = gather_rows(&bias_value, &keep, Some((3, new_frames)))?;
                last = keep.iter().map(|&r| last[r]).collect();
                let (kept, finished_rows): (Vec<Row>, Vec<Row>) =
                    rows.into_iter().partition(|r| !r.done);
                parked.extend(finished_rows);
                rows = kept;
                batch = rows.len();
                frames = new_frames;
            }
        }
        parked.extend(rows);
        parked.sort_by_key(|r| r.item);
        Ok(parked
            .into_iter()
            .map(|r| {
                let confidence = if r.tokens.is_empty() {
                    0.0
                } else {
                    (r.log_prob_sum / r.tokens.len() as f64).exp()
                };
                let text = self.tokenizer.decode(&r.tokens);
                Decoded {
                    tokens: r.tokens,
                    text,
                    confidence,
                }
            })
            .collect())
    }
}

/// Groups segments for decoder calls: by ascending length, as many as the
/// limits allow (rows × longest row ≤ `max_frames`, at least one row).
fn plan_groups(encoded: &[Encoded], limits: BatchLimits) -> Vec<Vec<usize>> {
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

/// Copies the rows `keep` (first axis) of a float tensor into a new one,
/// optionally keeping only the first `len` entries along `axis`.
fn gather_rows(
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
fn argmax_with_prob(logits: &[f32]) -> (u32, f32) {
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

fn read_manifest(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_probability_is_softmax() {
        let (i, p) = argmax_with_prob(&[0.0, 2.0, 0.0]);
        assert_eq!(i, 1);
        let expected = 2f32.exp() / (2.0 + 2f32.exp());
        assert!((p - expected).abs() < 1e-6);
    }

    fn encoded(frames: usize) -> Encoded {
        Encoded {
            states: Vec::new(),
            frames,
            max_tokens: 1,
        }
    }

    #[test]
    fn gathered_rows_keep_their_values_and_drop_trimmed_columns() {
        if crate::onnx::init().is_err() {
            eprintln!("ONNX Runtime not set up; skipped");
            return;
        }
        // [3 rows, 2, 4]: value = row * 100 + i * 10 + j.
        let data: Vec<f32> = (0..3)
            .flat_map(|r| {
                (0..2).flat_map(move |i| (0..4).map(move |j| (r * 100 + i * 10 + j) as f32))
            })
            .collect();
        let value = Tensor::from_array(([3usize, 2, 4], data))
            .expect("tensor")
            .into_dyn();
        let out = gather_rows(&value, &[2, 0], Some((2, 3))).expect("gather");
        let (shape, got) = out.try_extract_tensor::<f32>().expect("extract");
        assert_eq!(&shape[..], &[2, 2, 3]);
        assert_eq!(
            got,
            &[200., 201., 202., 210., 211., 212., 0., 1., 2., 10., 11., 12.]
        );
        let all = gather_rows(&value, &[1], None).expect("gather");
        let (shape, got) = all.try_extract_tensor::<f32>().expect("extract");
        assert_eq!(&shape[..], &[1, 2, 4]);
        assert_eq!(got[0], 100.0);
        assert!(gather_rows(&value, &[3], None).is_err());
        assert!(gather_rows(&value, &[0], Some((2, 5))).is_err());
    }

    #[test]
    fn groups_follow_length_and_limits() {
        let items: Vec<Encoded> = [50, 10, 400, 30, 20, 420]
            .into_iter()
            .map(encoded)
            .collect();
        let groups = plan_groups(
            &items,
            BatchLimits {
                max_segments: 3,
                max_frames: 1000,
            },
        );
        // Ascending lengths; 3 rows at most; rows × longest ≤ 1000.
        assert_eq!(groups, vec![vec![1, 4, 3], vec![0, 2], vec![5]]);
        let one = plan_groups(
            &items,
            BatchLimits {
                max_segments: 1,
                max_frames: 1,
            },
        );
        assert_eq!(one.len(), items.len());
        assert!(plan_groups(&[], BatchLimits::default()).is_empty());
    }
}
