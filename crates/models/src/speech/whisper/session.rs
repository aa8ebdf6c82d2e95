//! Loading the Whisper folder: the three graphs, the vocabulary, the
//! tokens it may emit, and the manifest's provenance.

use std::path::{Path, PathBuf};

use ort::session::Session;

use crate::error::SpeechError;
use crate::onnx::open_session;
use crate::speech::batching::{BatchLimits, ModelInfo};

use super::timestamps::TimestampIds;
use super::vocab::ByteLevelVocab;

/// Hypotheses kept per segment by default: faster-whisper's and
/// CTranslate2's default beam, which the development split supports
/// (README, Quality).
pub const DEFAULT_BEAMS: usize = 5;

/// A loaded Whisper model.
pub struct Whisper {
    pub(super) encoder: Session,
    pub(super) cross: Session,
    pub(super) decoder: Session,
    pub(super) layers: usize,
    pub(super) heads: usize,
    pub(super) head_dim: usize,
    pub(super) hidden: usize,
    /// `<|startoftranscript|><|en|><|transcribe|><|notimestamps|>`; a
    /// window read with timestamps leaves out the last token.
    pub(super) prompt: Vec<i64>,
    pub(super) end_of_text: u32,
    /// The timestamp tokens.
    pub(super) stamps: TimestampIds,
    /// Whether segments are read with timestamps (windows of several voice
    /// segments, [`Whisper::set_timestamps`]).
    pub(super) timestamps: bool,
    /// Per token id: whether transcription may emit it.
    pub(super) allowed: Vec<bool>,
    /// Ids not accepted as a segment's first token (a blank, the end).
    pub(super) not_first: Vec<u32>,
    pub(super) names: Names,
    /// Hypotheses kept per segment (1: greedy).
    pub(super) beams: usize,
    pub(super) limits: BatchLimits,
    pub(super) vocab: ByteLevelVocab,
    pub(super) info: ModelInfo,
}

/// The decoder's input and output names, built once.
pub(super) struct Names {
    /// Per layer: past key, past value, cross key, cross value.
    pub(super) inputs: Vec<[String; 4]>,
    /// Per layer: present key, present value.
    pub(super) present: Vec<[String; 2]>,
}

impl Whisper {
    /// Files the model folder must hold.
    pub const FILES: [&'static str; 5] = [
        "encoder.onnx",
        "cross_kv.onnx",
        "decoder.onnx",
        "vocabulary.json",
        "config.json",
    ];

    /// Loads a folder written by `scripts/convert_whisper.py`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        let model_err = |file: &str, reason: String| SpeechError::Model {
            path: dir.join(file).display().to_string(),
            reason,
        };
        let encoder = open_session(&dir.join("encoder.onnx"), threads)?;
        let cross = open_session(&dir.join("cross_kv.onnx"), threads)?;
        let decoder_path = dir.join("decoder.onnx");
        let decoder = open_session(&decoder_path, threads)?;
        let vocab = ByteLevelVocab::load(&dir.join("vocabulary.json"))?;
        let layers = decoder
            .inputs()
            .iter()
            .filter(|i| i.name().starts_with("past.") && i.name().ends_with(".key"))
            .count();
        if layers == 0 {
            return Err(model_err(
                "decoder.onnx",
                "no past.*.key inputs: not a converted Whisper decoder".into(),
            ));
        }
        let id = |token: &str| {
            vocab
                .id(token)
                .ok_or_else(|| model_err("vocabulary.json", format!("no {token} token")))
        };
        let end_of_text = id("<|endoftext|>")?;
        let begin = id("<|0.00|>")?;
        let last = vocab.len().saturating_sub(1) as u32;
        if last <= begin {
            return Err(model_err("vocabulary.json", "no timestamp tokens".into()));
        }
        let stamps = TimestampIds {
            begin,
            last,
            end_of_text,
        };
        let prompt = [
            "<|startoftranscript|>",
            "<|en|>",
            "<|transcribe|>",
            "<|notimestamps|>",
        ]
        .iter()
        .map(|t| id(t).map(i64::from))
        .collect::<Result<Vec<_>, _>>()?;
        let config: serde_json::Value = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| model_err("config.json", e))?;
        let ids = |key: &str| -> Vec<u32> {
            config[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64())
                        .map(|v| v as u32)
                        .collect()
                })
                .unwrap_or_default()
        };
        // Text tokens and the end of text: everything after it is a special
        // or timestamp token.
        let mut allowed: Vec<bool> = (0..vocab.len()).map(|i| i as u32 <= end_of_text).collect();
        for s in ids("suppress_ids") {
            if let Some(a) = allowed.get_mut(s as usize) {
                *a = false;
            }
        }
        let mut not_first = ids("suppress_ids_begin");
        if not_first.is_empty() {
            not_first = vec![end_of_text];
        }
        let info = ModelInfo::from_folder(dir, "whisper-base", "decoder.onnx")?;
        let names = Names {
            inputs: (0..layers)
                .map(|l| {
                    [
                        format!("past.{l}.key"),
                        format!("past.{l}.value"),
                        format!("cross.{l}.key"),
                        format!("cross.{l}.value"),
                    ]
                })
                .collect(),
            present: (0..layers)
                .map(|l| [format!("present.{l}.key"), format!("present.{l}.value")])
                .collect(),
        };
        Ok(Self {
            encoder,
            cross,
            decoder,
            layers,
            heads: 8,
            head_dim: 64,
            hidden: 512,
            prompt,
            end_of_text,
            stamps,
            timestamps: false,
            allowed,
            not_first,
            names,
            beams: DEFAULT_BEAMS,
            limits: BatchLimits::default(),
            vocab,
            info,
        })
    }

    /// The default model folder inside the set-up cache.
    pub fn default_dir() -> PathBuf {
        crate::onnx::models_dir().join("whisper-base")
    }

    /// The model's provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Hypotheses kept per segment (1: greedy decoding).
    pub fn beams(&self) -> usize {
        self.beams
    }

    /// Sets the hypotheses kept per segment (at least one).
    pub fn set_beams(&mut self, beams: usize) {
        self.beams = beams.max(1);
    }

    /// Reads each segment with timestamps (for windows of several voice
    /// segments: the decoded text comes in timed pieces), or without.
    pub fn set_timestamps(&mut self, on: bool) {
        self.timestamps = on;
    }

    /// Whether segments are read with timestamps.
    pub fn timestamps(&self) -> bool {
        self.timestamps
    }

    /// How segments are grouped into decoder calls.
    pub fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets how segments are grouped into decoder calls (at least one
    /// segment per call; every Whisper segment counts 1500 frames).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.limits = limits.at_least_one();
    }
}
