//! Decoding: the encoder over one segment's 30 s window, then beam search
//! (greedy with one beam) over a group of segments in lockstep.

use std::borrow::Cow;

use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor};

use crate::error::SpeechError;
use crate::speech::batching::{decode_in_groups, gather_rows, inference, Decoded, Encoded, Piece};

use super::beam::{top_tokens, Candidate, Search};
use super::session::Whisper;

/// Samples of the window the model reads (30 s at 16 kHz).
pub const WINDOW_SAMPLES: usize = 480_000;
/// Encoder frames of a window.
const FRAMES: usize = 1_500;
/// Tokens per second of audio the decoder may produce at most (as for
/// Moonshine: speech rarely exceeds ~4 tokens/s).
const MAX_TOKENS_PER_SECOND: f64 = 6.5;
/// The same with timestamps: about one pair per sentence on top.
const MAX_TOKENS_PER_SECOND_TIMED: f64 = 7.5;
/// The decoder's text context (448 positions) less the prompt.
const MAX_TOKENS: usize = 440;

impl Whisper {
    /// Runs the encoder over one segment (at most 30 s), zero-padded to the
    /// window.
    pub fn encode(&mut self, samples: &[f32]) -> Result<Encoded, SpeechError> {
        if samples.len() > WINDOW_SAMPLES {
            return Err(SpeechError::Inference(format!(
                "a {:.1} s segment is longer than Whisper's 30 s window (set [speech] max_segment_s to 30 or less)",
                samples.len() as f64 / 16_000.0
            )));
        }
        let mut audio = vec![0f32; WINDOW_SAMPLES];
        audio[..samples.len()].copy_from_slice(samples);
        let input = Tensor::from_array(([1usize, WINDOW_SAMPLES], audio)).map_err(inference)?;
        let mut out = self
            .encoder
            .run(ort::inputs!["audio" => input])
            .map_err(inference)?;
        let states = out
            .remove("states")
            .ok_or_else(|| SpeechError::Inference("encoder gave no states".into()))?;
        let (shape, data) = states.try_extract_tensor::<f32>().map_err(inference)?;
        if shape[..] != [1, FRAMES as i64, self.hidden as i64] {
            return Err(SpeechError::Inference(format!(
                "encoder states of shape {:?}",
                &shape[..]
            )));
        }
        let seconds = samples.len() as f64 / 16_000.0;
        let rate = if self.timestamps {
            MAX_TOKENS_PER_SECOND_TIMED
        } else {
            MAX_TOKENS_PER_SECOND
        };
        let max_tokens = ((seconds * rate).ceil() as usize + 4).min(MAX_TOKENS);
        Ok(Encoded {
            states: data.to_vec(),
            frames: FRAMES,
            max_tokens,
            seconds,
            audio: self.timestamps.then(|| samples.to_vec()),
        })
    }

    /// Decodes encoded segments, grouped into calls by the batch limits.
    /// Results are in the order of `encoded`; each is what decoding that
    /// segment alone gives.
    pub fn decode_batch(&mut self, encoded: &[Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        let limits = self.limits;
        let mut decoded = decode_in_groups(encoded, limits, |items| self.decode_group(items))?;
        if self.timestamps {
            self.read_the_rest(encoded, &mut decoded)?;
        }
        Ok(decoded)
    }

    /// The cross-attention keys and values of a group (per layer: key, value).
    fn cross_attention(&mut self, items: &[&Encoded]) -> Result<Vec<[DynValue; 2]>, SpeechError> {
        let hid = self.hidden;
        let mut states = Vec::with_capacity(items.len() * FRAMES * hid);
        for e in items {
            if e.states.len() != FRAMES * hid {
                return Err(SpeechError::Inference(
                    "encoded segment of another model".into(),
                ));
            }
            states.extend_from_slice(&e.states);
        }
        let input = Tensor::from_array(([items.len(), FRAMES, hid], states)).map_err(inference)?;
        let mut out = self
            .cross
            .run(ort::inputs!["states" => input])
            .map_err(inference)?;
        self.names
            .inputs
            .iter()
            .map(|[_, _, key, value]| {
                let mut take = |name: &str| {
                    out.remove(name)
                        .ok_or_else(|| SpeechError::Inference(format!("no {name}")))
                };
                Ok([take(key)?, take(value)?])
            })
            .collect()
    }

    /// Beam search (greedy with one beam) over one group in lockstep: each
    /// segment has `beams` consecutive rows, which share its cross keys and
    /// values.
    pub(super) fn decode_group(&mut self, items: &[&Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (h, d, beams) = (self.heads, self.head_dim, self.beams.max(1));
        let mut searches: Vec<Search> = items
            .iter()
            .enumerate()
            .map(|(item, e)| Search::new(item, e.max_tokens, beams))
            .collect();
        let mut cross = self.cross_attention(items)?;
        let mut rows = searches.len() * beams;
        let mut past: Vec<[DynValue; 2]> = Vec::with_capacity(self.layers);
        for _ in 0..self.layers {
            let empty = || {
                Tensor::<f32>::from_array(([rows, h, 0, d], Vec::<f32>::new()))
                    .map(|t| t.into_dyn())
                    .map_err(inference)
            };
            past.push([empty()?, empty()?]);
        }
        let prompt = if self.timestamps {
            &self.prompt[..self.prompt.len() - 1]
        } else {
            &self.prompt[..]
        };
        let mut new_tokens: Vec<i64> = prompt.repeat(rows);
        let mut width = prompt.len();
        let mut offset = 0i64;
        let mut parked: Vec<Search> = Vec::new();
        while searches.iter().any(|s| !s.done) {
            let ids = Tensor::from_array(([rows, width], new_tokens.clone())).map_err(inference)?;
            let at = Tensor::from_array((Vec::<usize>::new(), vec![offset])).map_err(inference)?;
            let mut feeds: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
                Vec::with_capacity(2 + self.layers * 4);
            feeds.push(("tokens".into(), ids.into()));
            feeds.push(("offset".into(), at.into()));
            for ((names, [pk, pv]), [ck, cv]) in self.names.inputs.iter().zip(&past).zip(&cross) {
                feeds.push((Cow::Borrowed(names[0].as_str()), pk.into()));
                feeds.push((Cow::Borrowed(names[1].as_str()), pv.into()));
                feeds.push((Cow::Borrowed(names[2].as_str()), ck.into()));
                feeds.push((Cow::Borrowed(names[3].as_str()), cv.into()));
            }
            let mut out = self.decoder.run(feeds).map_err(inference)?;
            let first = offset == 0;
            offset += width as i64;
            // Per row: the hypothesis it continues (its parent row).
            let mut order: Vec<usize> = (0..rows).collect();
            {
                let logits = out
                    .get("logits")
                    .ok_or_else(|| SpeechError::Inference("decoder gave no logits".into()))?;
                let (shape, data) = logits.try_extract_tensor::<f32>().map_err(inference)?;
                let vocab = shape.last().copied().unwrap_or(0).max(0) as usize;
                if vocab == 0 || data.len() != rows * vocab || vocab > self.allowed.len() {
                    return Err(SpeechError::Inference(format!(
                        "logits of shape {:?}",
                        &shape[..]
                    )));
                }
                let may =
                    |i: usize| self.allowed[i] && !(first && self.not_first.contains(&(i as u32)));
                new_tokens = vec![i64::from(self.end_of_text); rows];
                width = 1;
                for (s, search) in searches.iter_mut().enumerate() {
                    if search.done {
                        continue;
                    }
                    // At the first step every row of a segment is the same.
                    let parents = if first { 1 } else { beams };
                    let mut candidates: Vec<Candidate> = Vec::with_capacity(parents * 2 * beams);
                    for b in 0..parents {
                        let row = &data[(s * beams + b) * vocab..(s * beams + b + 1) * vocab];
                        let top = if self.timestamps {
                            let so_far = &search.live[b].tokens;
                            self.stamps.top(row, 2 * beams, so_far, |i| self.allowed[i])
                        } else {
                            top_tokens(row, 2 * beams, may)
                        };
                        for (token, lp) in top {
                            candidates.push((b, token, lp));
                        }
                    }
                    if let Some(chosen) = search.step(&candidates, self.end_of_text) {
                        for (b, (parent, hyp)) in chosen.iter().zip(&search.live).enumerate() {
                            order[s * beams + b] = s * beams + parent;
                            new_tokens[s * beams + b] =
                                i64::from(*hyp.tokens.last().unwrap_or(&self.end_of_text));
                        }
                    }
                }
            }
            let reordered = order.iter().enumerate().any(|(i, &p)| i != p);
            for (l, names) in self.names.present.iter().enumerate() {
                for (k, name) in names.iter().enumerate() {
                    let value = out
                        .remove(name)
                        .ok_or_else(|| SpeechError::Inference(format!("no {name}")))?;
                    past[l][k] = if reordered {
                        gather_rows(&value, &order, None)?
                    } else {
                        value
                    };
                }
            }
            drop(out);
            // Drop finished segments once a quarter of them have finished.
            let finished = searches.iter().filter(|s| s.done).count();
            if finished > 0 && finished < searches.len() && finished * 4 >= searches.len() {
                let keep: Vec<usize> = (0..searches.len()).filter(|&s| !searches[s].done).collect();
                let keep_rows: Vec<usize> = keep
                    .iter()
                    .flat_map(|&s| s * beams..(s + 1) * beams)
                    .collect();
                for layer in past.iter_mut() {
                    layer[0] = gather_rows(&layer[0], &keep_rows, None)?;
                    layer[1] = gather_rows(&layer[1], &keep_rows, None)?;
                }
                for layer in cross.iter_mut() {
                    layer[0] = gather_rows(&layer[0], &keep, None)?;
                    layer[1] = gather_rows(&layer[1], &keep, None)?;
                }
                new_tokens = keep_rows.iter().map(|&r| new_tokens[r]).collect();
                let (kept, done): (Vec<Search>, Vec<Search>) =
                    searches.into_iter().partition(|s| !s.done);
                parked.extend(done);
                searches = kept;
                rows = searches.len() * beams;
            }
        }
        parked.extend(searches);
        parked.sort_by_key(|s| s.item);
        Ok(parked
            .into_iter()
            .map(|s| {
                let best = s.best();
                let confidence = if best.tokens.is_empty() {
                    0.0
                } else {
                    best.mean().exp()
                };
                if !self.timestamps {
                    let text = self.vocab.decode(&best.tokens);
                    return Decoded {
                        tokens: best.tokens,
                        text,
                        confidence,
                        pieces: Vec::new(),
                    };
                }
                let pieces: Vec<Piece> = self
                    .stamps
                    .pieces(&best.tokens, items[s.item].seconds)
                    .into_iter()
                    .map(|p| Piece {
                        start: p.start,
                        end: p.end,
                        text: self.vocab.decode(&p.tokens).trim().to_string(),
                    })
                    .filter(|p| !p.text.is_empty())
                    .collect();
                Decoded {
                    tokens: best.tokens,
                    text: Piece::joined(&pieces),
                    confidence,
                    pieces,
                }
            })
            .collect())
    }
}
