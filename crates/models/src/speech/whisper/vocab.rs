//! Token ids → text for Whisper's byte-level BPE (`vocabulary.json`, the
//! GPT-2 scheme: every byte is written as a printable character).

use std::path::Path;

use crate::error::SpeechError;

/// A decode-only byte-level vocabulary.
#[derive(Debug, Clone)]
pub struct ByteLevelVocab {
    tokens: Vec<String>,
    /// Character → byte, for the 256 characters the scheme uses.
    bytes: std::collections::HashMap<char, u8>,
}

impl ByteLevelVocab {
    /// Loads a JSON array of token strings (`vocabulary.json`).
    pub fn load(path: &Path) -> Result<Self, SpeechError> {
        let err = |reason: String| SpeechError::Model {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let tokens: Vec<String> = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        Ok(Self::from_tokens(tokens))
    }

    /// A vocabulary from its token strings.
    ///
    /// ```
    /// use panelflow_models::speech::whisper::ByteLevelVocab;
    /// let v = ByteLevelVocab::from_tokens(["Hello", ",", "Ġw", "orld", "<|endoftext|>", "Ġcaf", "Ã©"].map(String::from).to_vec());
    /// assert_eq!(v.decode(&[0, 1, 2, 3, 4]), "Hello, world");
    /// assert_eq!(v.decode(&[5, 6]), "café");
    /// assert_eq!(v.id("<|endoftext|>"), Some(4));
    /// ```
    pub fn from_tokens(tokens: Vec<String>) -> Self {
        Self {
            tokens,
            bytes: byte_decoder(),
        }
    }

    /// How many tokens the vocabulary holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of a token string.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.tokens
            .iter()
            .position(|t| t == token)
            .map(|i| i as u32)
    }

    /// Decodes ids to text, skipping special tokens (`<|…|>`) and unknown ids.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = Vec::new();
        for &id in ids {
            let Some(token) = self.tokens.get(id as usize) else {
                continue;
            };
            if token.starts_with("<|") && token.ends_with("|>") {
                continue;
            }
            out.extend(token.chars().filter_map(|c| self.bytes.get(&c).copied()));
        }
        String::from_utf8_lossy(&out).trim().to_string()
    }
}

/// GPT-2's byte ↔ character table: printable Latin-1 bytes stand for
/// themselves, the others are shifted to 256 + n in order.
fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut shifted = 0u32;
    let mut map = std::collections::HashMap::with_capacity(256);
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).unwrap_or('\u{fffd}')
        };
        map.insert(c, b);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_has_one_character() {
        let map = byte_decoder();
        assert_eq!(map.len(), 256);
        assert_eq!(map.get(&'Ġ'), Some(&b' '));
        assert_eq!(map.get(&'Ċ'), Some(&b'\n'));
        assert_eq!(map.get(&'A'), Some(&b'A'));
    }
}
