//! The ONNX sessions: loading the model folder (encoder, decoder,
//! tokenizer, manifest) and the model's settings.

use std::path::{Path, PathBuf};

use crate::onnx::open_session;
use crate::speech::tokenizer::Tokenizer;
use crate::speech::SpeechError;

use crate::speech::batching::{BatchLimits, ModelInfo};

use super::model::{Moonshine, Names, BIAS_INPUT};

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
        let info = ModelInfo::from_folder(dir, "moonshine-base-en", "decoder_model_merged.onnx")?;
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
            info,
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
        self.limits = limits.at_least_one();
    }
}
