//! Decoding: the encoder over one segment, greedy decoding of a group in
//! lockstep with the key/value caches kept as ONNX Runtime values.

use std::borrow::Cow;

use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor};

use crate::speech::SpeechError;

use crate::speech::batching::{argmax_with_prob, gather_rows, inference, Decoded, Encoded, Row};

use super::model::{Moonshine, BIAS_INPUT, BOS, EOS, MASKED, MAX_TOKENS_PER_SECOND, MIN_SAMPLES};

impl Moonshine {
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
            seconds: n as f64 / 16_000.0,
            audio: None,
        })
    }

    /// Greedy decoding of one group in lockstep.
    pub(super) fn decode_group(&mut self, items: &[&Encoded]) -> Result<Vec<Decoded>, SpeechError> {
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
                    pieces: Vec::new(),
                }
            })
            .collect())
    }
}
