//! Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on ONNX Runtime:
//! the `tokenizers` crate reads the model's `tokenizer.json` offline, the
//! model gives token states, and an embedding is their attention-masked mean,
//! L2-normalised (so a dot product is the cosine similarity).
//!
//! The files come from registry packages at set-up
//! (`scripts/setup.d/20-analysis-models.sh`), never from a hub.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;

use super::AnalysisError;
use crate::onnx::{file_sha256, open_session};
use crate::speech::moonshine::ModelInfo;

/// Size of an embedding.
pub const DIM: usize = 384;
/// Longest input in tokens (the model was trained on 256 at most).
const MAX_TOKENS: usize = 256;
/// Texts per model call.
const BATCH: usize = 16;
/// Embeddings remembered (questions, prototypes and rubric concepts repeat
/// across interviews).
const CACHE_LIMIT: usize = 4096;

/// A loaded sentence-embedding model.
pub struct Embedder {
    session: Session,
    tokenizer: tokenizers::Tokenizer,
    info: ModelInfo,
    cache: HashMap<String, Vec<f32>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// The model folder inside the set-up cache (`models/minilm`).
    pub fn default_dir() -> PathBuf {
        crate::onnx::models_dir().join("minilm")
    }

    /// Whether the model's files are installed in `dir`.
    pub fn installed(dir: &Path) -> bool {
        dir.join("model.onnx").is_file() && dir.join("tokenizer.json").is_file()
    }

    /// Loads `dir/model.onnx` and `dir/tokenizer.json`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, AnalysisError> {
        let model = dir.join("model.onnx");
        let session = open_session(&model, threads)?;
        let tok_path = dir.join("tokenizer.json");
        let model_err = |path: &Path, reason: String| AnalysisError::Model {
            path: path.display().to_string(),
            reason,
        };
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| model_err(&tok_path, e.to_string()))?;
        // The file pads every input to 128 tokens; pad per batch instead, and
        // allow the model's trained length.
        tokenizer.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| model_err(&tok_path, e.to_string()))?;
        let manifest: Option<serde_json::Value> =
            std::fs::read_to_string(dir.join("manifest.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        let sha256 = match manifest
            .as_ref()
            .and_then(|m| m["files"]["model.onnx"]["sha256"].as_str())
        {
            Some(s) => s.to_string(),
            None => file_sha256(&model).map_err(|e| model_err(&model, e.to_string()))?,
        };
        let version = manifest
            .as_ref()
            .and_then(|m| m["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Ok(Self {
            session,
            tokenizer,
            info: ModelInfo {
                name: "all-MiniLM-L6-v2-int8".into(),
                version,
                sha256,
            },
            cache: HashMap::new(),
        })
    }

    /// The model's provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Embeds each text (unit length, [`DIM`] values); an empty text gives
    /// the embedding of an empty sentence.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.cache.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(BATCH) {
            let vectors = self.run(chunk)?;
            if self.cache.len() + vectors.len() > CACHE_LIMIT {
                self.cache.clear();
            }
            for (t, v) in chunk.iter().zip(vectors) {
                self.cache.insert((*t).to_string(), v);
            }
        }
        Ok(texts
            .iter()
            .map(|t| {
                self.cache
                    .get(*t)
                    .cloned()
                    .unwrap_or_else(|| vec![0.0; DIM])
            })
            .collect())
    }

    /// Embeds one text.
    pub fn embed_one(&mut self, text: &str) -> Result<Vec<f32>, AnalysisError> {
        Ok(self.embed(&[text])?.pop().unwrap_or_else(|| vec![0.0; DIM]))
    }

    fn run(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let inference = |e: ort::Error| AnalysisError::Inference(e.to_string());
        let encodings = self
            .tokenizer
            .encode_batch(
                texts.iter().map(|t| (*t).to_string()).collect::<Vec<_>>(),
                true,
            )
            .map_err(|e| AnalysisError::Inference(format!("tokenizer: {e}")))?;
        let batch = encodings.len();
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = vec![0i64; batch * len];
        let mut mask = vec![0i64; batch * len];
        let types = vec![0i64; batch * len];
        for (b, e) in encodings.iter().enumerate() {
            for (j, (&id, &m)) in e
                .get_ids()
                .iter()
                .zip(e.get_attention_mask())
                .enumerate()
                .take(len)
            {
                ids[b * len + j] = i64::from(id);
                mask[b * len + j] = i64::from(m);
            }
        }
        let input_ids = Tensor::from_array(([batch, len], ids)).map_err(inference)?;
        let attention = Tensor::from_array(([batch, len], mask.clone())).map_err(inference)?;
        let token_types = Tensor::from_array(([batch, len], types)).map_err(inference)?;
        let out = self
            .session
            .run(ort::inputs![
                "input_ids" => input_ids,
                "attention_mask" => attention,
                "token_type_ids" => token_types
            ])
            .map_err(inference)?;
        let hidden = out
            .get("last_hidden_state")
            .ok_or_else(|| AnalysisError::Inference("model gave no last_hidden_state".into()))?;
        let (shape, data) = hidden.try_extract_tensor::<f32>().map_err(inference)?;
        let dim = shape.last().copied().unwrap_or(0) as usize;
        if dim == 0 || data.len() < batch * len * dim {
            return Err(AnalysisError::Inference(format!(
                "unexpected output shape {shape:?}"
            )));
        }
        let mut vectors = Vec::with_capacity(batch);
        for b in 0..batch {
            let mut v = vec![0f32; dim];
            let mut count = 0f32;
            for j in 0..len {
                if mask[b * len + j] == 0 {
                    continue;
                }
                count += 1.0;
                let row = &data[(b * len + j) * dim..(b * len + j + 1) * dim];
                v.iter_mut().zip(row).for_each(|(a, x)| *a += x);
            }
            if count > 0.0 {
                v.iter_mut().for_each(|a| *a /= count);
            }
            normalize(&mut v);
            vectors.push(v);
        }
        Ok(vectors)
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// The normalised mean of several unit vectors (a prototype).
pub fn centroid(vectors: &[Vec<f32>]) -> Vec<f32> {
    let dim = vectors.first().map(Vec::len).unwrap_or(DIM);
    let mut c = vec![0f32; dim];
    for v in vectors {
        c.iter_mut().zip(v).for_each(|(a, x)| *a += x);
    }
    normalize(&mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centroid_is_unit_length() {
        let c = centroid(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!((cosine(&c, &c) - 1.0).abs() < 1e-6);
        assert!((cosine(&c, &[1.0, 0.0]) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }
}
