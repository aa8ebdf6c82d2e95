//! Token ids → text for Moonshine's SentencePiece-style BPE vocabulary
//! (`tokenizer.json`): `▁` marks a word start, `<0xNN>` pieces are raw bytes.

use std::collections::HashMap;
use std::path::Path;

use super::SpeechError;

/// A decode-only view of a Hugging Face `tokenizer.json`.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    pieces: Vec<Option<String>>,
    special: Vec<bool>,
}

impl Tokenizer {
    /// Loads `tokenizer.json`.
    pub fn load(path: &Path) -> Result<Self, SpeechError> {
        let err = |reason: String| SpeechError::Model {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        let vocab = json["model"]["vocab"]
            .as_object()
            .ok_or_else(|| err("no model.vocab".into()))?;
        let mut map: HashMap<u32, (String, bool)> = HashMap::new();
        for (piece, id) in vocab {
            if let Some(id) = id.as_u64() {
                map.insert(id as u32, (piece.clone(), false));
            }
        }
        if let Some(added) = json["added_tokens"].as_array() {
            for t in added {
                if let (Some(id), Some(content)) = (t["id"].as_u64(), t["content"].as_str()) {
                    let special = t["special"].as_bool().unwrap_or(true);
                    map.insert(id as u32, (content.to_string(), special));
                }
            }
        }
        let size = map.keys().max().map(|m| *m as usize + 1).unwrap_or(0);
        let mut pieces = vec![None; size];
        let mut special = vec![false; size];
        for (id, (piece, is_special)) in map {
            pieces[id as usize] = Some(piece);
            special[id as usize] = is_special;
        }
        Ok(Self { pieces, special })
    }

    /// Builds a tokenizer from pieces (tests).
    pub fn from_pieces(pieces: &[&str]) -> Self {
        Self {
            pieces: pieces.iter().map(|p| Some(p.to_string())).collect(),
            special: vec![false; pieces.len()],
        }
    }

    /// Decodes ids to text, skipping special tokens.
    ///
    /// ```
    /// let t = panelflow_models::speech::tokenizer::Tokenizer::from_pieces(&["▁Hello", ",", "▁w", "orld", "<0x21>"]);
    /// assert_eq!(t.decode(&[0, 1, 2, 3, 4]), "Hello, world!");
    /// ```
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            let i = id as usize;
            if self.special.get(i).copied().unwrap_or(true) {
                continue;
            }
            let Some(Some(piece)) = self.pieces.get(i) else {
                continue;
            };
            if let Some(b) = byte_piece(piece) {
                bytes.push(b);
            } else {
                bytes.extend_from_slice(piece.replace('\u{2581}', " ").as_bytes());
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        text.strip_prefix(' ')
            .unwrap_or(&text)
            .trim_end()
            .to_string()
    }
}

fn byte_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}
