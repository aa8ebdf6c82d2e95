//! The Moonshine base (English) speech model on ONNX Runtime: an encoder
//! over raw 16 kHz samples and a merged decoder with a key/value cache,
//! decoded greedily one token at a time.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};

use super::runtime::{file_sha256, open_session};
use super::tokenizer::Tokenizer;
use super::SpeechError;

/// Start-of-transcript token.
const BOS: i64 = 1;
/// End-of-transcript token.
const EOS: u32 = 2;
/// Tokens per second of audio the decoder may produce at most (the model
/// card's bound: speech rarely exceeds ~4 tokens/s).
const MAX_TOKENS_PER_SECOND: f64 = 6.5;

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

/// A loaded Moonshine model.
pub struct Moonshine {
    encoder: Session,
    decoder: Session,
    layers: usize,
    heads: usize,
    head_dim: usize,
    tokenizer: Tokenizer,
    info: ModelInfo,
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

impl Moonshine {
    /// Files the model folder must hold.
    pub const FILES: [&'static str; 3] = ["encoder_model.onnx", "decoder_model_merged.onnx", "tokenizer.json"];

    /// Loads `dir/{encoder_model.onnx, decoder_model_merged.onnx, tokenizer.json}`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        let encoder = open_session(&dir.join("encoder_model.onnx"), threads)?;
        let decoder_path = dir.join("decoder_model_merged.onnx");
        let decoder = open_session(&decoder_path, threads)?;
        let tokenizer = Tokenizer::load(&dir.join("tokenizer.json"))?;
        let layers = decoder
            .inputs()
            .iter()
            .filter(|i| i.name().starts_with("past_key_values.") && i.name().ends_with(".decoder.key"))
            .count();
        if layers == 0 {
            return Err(SpeechError::Model {
                path: decoder_path.display().to_string(),
                reason: "no past_key_values inputs: not a merged Moonshine decoder".into(),
            });
        }
        let manifest = read_manifest(dir);
        let sha256 = manifest
            .as_ref()
            .and_then(|m| m["files"]["decoder_model_merged.onnx"]["sha256"].as_str().map(str::to_string))
            .map(Ok)
            .unwrap_or_else(|| file_sha256(&decoder_path))
            .map_err(|e| SpeechError::Model { path: decoder_path.display().to_string(), reason: e.to_string() })?;
        let version = manifest
            .as_ref()
            .and_then(|m| m["source"].as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Ok(Self {
            encoder,
            decoder,
            layers,
            heads: 8,
            head_dim: 52,
            tokenizer,
            info: ModelInfo { name: "moonshine-base-en".into(), version, sha256 },
        })
    }

    /// The default model folder inside the set-up cache.
    pub fn default_dir() -> PathBuf {
        crate::paths::models_dir().join("moonshine-base-en")
    }

    /// The model's provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Transcribes one segment of 16 kHz mono audio (up to ~30 s).
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Decoded, SpeechError> {
        let inference = |e: ort::Error| SpeechError::Inference(e.to_string());
        // The encoder's convolutions need a minimum length; pad very short clips.
        let mut audio = samples.to_vec();
        if audio.len() < 4_000 {
            audio.resize(4_000, 0.0);
        }
        let n = audio.len();
        let input = Tensor::from_array(([1usize, n], audio)).map_err(inference)?;
        let hidden: DynValue = {
            let mut out = self.encoder.run(ort::inputs!["input_values" => input]).map_err(inference)?;
            out.remove("last_hidden_state")
                .ok_or_else(|| SpeechError::Inference("encoder gave no last_hidden_state".into()))?
        };

        let max_tokens = ((n as f64 / 16_000.0) * MAX_TOKENS_PER_SECOND).ceil() as usize + 4;
        let (h, d) = (self.heads, self.head_dim);
        let empty = || Tensor::<f32>::from_array(([1usize, h, 0, d], Vec::<f32>::new()));
        let mut decoder_kv: Vec<DynValue> = Vec::with_capacity(self.layers * 2);
        let mut encoder_kv: Vec<DynValue> = Vec::with_capacity(self.layers * 2);
        for _ in 0..self.layers * 2 {
            decoder_kv.push(empty().map_err(inference)?.into_dyn());
            encoder_kv.push(empty().map_err(inference)?.into_dyn());
        }

        let mut tokens: Vec<u32> = Vec::new();
        let mut log_prob_sum = 0.0f64;
        let mut last = BOS;
        for step in 0..max_tokens {
            let ids = Tensor::from_array(([1usize, 1], vec![last])).map_err(inference)?;
            let use_cache = Tensor::from_array(([1usize], vec![step > 0])).map_err(inference)?;
            let mut feeds: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::with_capacity(4 + self.layers * 4);
            feeds.push(("input_ids".into(), ids.into()));
            feeds.push(("encoder_hidden_states".into(), (&hidden).into()));
            feeds.push(("use_cache_branch".into(), use_cache.into()));
            for layer in 0..self.layers {
                feeds.push((format!("past_key_values.{layer}.decoder.key").into(), (&decoder_kv[2 * layer]).into()));
                feeds.push((format!("past_key_values.{layer}.decoder.value").into(), (&decoder_kv[2 * layer + 1]).into()));
                feeds.push((format!("past_key_values.{layer}.encoder.key").into(), (&encoder_kv[2 * layer]).into()));
                feeds.push((format!("past_key_values.{layer}.encoder.value").into(), (&encoder_kv[2 * layer + 1]).into()));
            }
            let mut out = self.decoder.run(feeds).map_err(inference)?;
            let (next, prob) = {
                let logits = out
                    .get("logits")
                    .ok_or_else(|| SpeechError::Inference("decoder gave no logits".into()))?;
                let (shape, data) = logits.try_extract_tensor::<f32>().map_err(inference)?;
                let vocab = *shape.last().unwrap_or(&0) as usize;
                if vocab == 0 || data.len() < vocab {
                    return Err(SpeechError::Inference("empty logits".into()));
                }
                argmax_with_prob(&data[data.len() - vocab..])
            };
            let mut new_decoder_kv = Vec::with_capacity(self.layers * 2);
            for layer in 0..self.layers {
                for kind in ["key", "value"] {
                    let value = out
                        .remove(format!("present.{layer}.decoder.{kind}"))
                        .ok_or_else(|| SpeechError::Inference(format!("no present.{layer}.decoder.{kind}")))?;
                    new_decoder_kv.push(value);
                }
                if step == 0 {
                    for (i, kind) in ["key", "value"].iter().enumerate() {
                        let value = out
                            .remove(format!("present.{layer}.encoder.{kind}"))
                            .ok_or_else(|| SpeechError::Inference(format!("no present.{layer}.encoder.{kind}")))?;
                        encoder_kv[2 * layer + i] = value;
                    }
                }
            }
            drop(out);
            decoder_kv = new_decoder_kv;
            if next == EOS {
                break;
            }
            log_prob_sum += (prob.max(1e-12) as f64).ln();
            tokens.push(next);
            last = next as i64;
        }
        let confidence = if tokens.is_empty() { 0.0 } else { (log_prob_sum / tokens.len() as f64).exp() };
        let text = self.tokenizer.decode(&tokens);
        Ok(Decoded { tokens, text, confidence })
    }
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
}
