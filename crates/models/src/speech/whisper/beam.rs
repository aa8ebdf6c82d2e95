//! Beam search bookkeeping, apart from the model: a segment's live
//! hypotheses, its finished ones, and the choice of the next beams from the
//! decoder's log-probabilities (as CTranslate2, which faster-whisper runs:
//! the best `2 × beams` tokens of each live hypothesis compete; one that
//! ends the text is finished, the best others go on; a segment is done when
//! its best candidate ends or `beams` hypotheses have finished; the answer
//! is the finished hypothesis with the best mean log-probability).

/// A hypothesis: its tokens and the sum of their log-probabilities.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Hypothesis {
    pub(super) tokens: Vec<u32>,
    pub(super) log_prob: f64,
}

impl Hypothesis {
    /// Mean log-probability per token (the length-normalised score).
    pub(super) fn mean(&self) -> f64 {
        if self.tokens.is_empty() {
            self.log_prob
        } else {
            self.log_prob / self.tokens.len() as f64
        }
    }
}

/// One segment's search.
#[derive(Debug, Clone)]
pub(super) struct Search {
    /// Index into the caller's segments.
    pub(super) item: usize,
    pub(super) max_tokens: usize,
    /// Exactly `beams` live hypotheses (padding ones at −∞) once started.
    pub(super) live: Vec<Hypothesis>,
    pub(super) finished: Vec<Hypothesis>,
    pub(super) done: bool,
}

/// A candidate continuation: which live hypothesis, which token, its
/// log-probability.
pub(super) type Candidate = (usize, u32, f64);

impl Search {
    /// A search of `beams` rows, none expanded yet.
    pub(super) fn new(item: usize, max_tokens: usize, beams: usize) -> Self {
        Self {
            item,
            max_tokens,
            live: vec![
                Hypothesis {
                    tokens: Vec::new(),
                    log_prob: 0.0,
                };
                beams.max(1)
            ],
            finished: Vec::new(),
            done: max_tokens == 0,
        }
    }

    /// Takes one step: `candidates` are the continuations of the live
    /// hypotheses (each its parent, token and the token's log-probability).
    /// Returns the parent of each new live hypothesis (`beams` of them), or
    /// `None` when the segment is done.
    pub(super) fn step(
        &mut self,
        candidates: &[Candidate],
        end_of_text: u32,
    ) -> Option<Vec<usize>> {
        let beams = self.live.len();
        let mut scored: Vec<(f64, usize, u32)> = candidates
            .iter()
            .filter(|&&(parent, _, _)| self.live[parent].log_prob.is_finite())
            .map(|&(parent, token, lp)| (self.live[parent].log_prob + lp, parent, token))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut next: Vec<(Hypothesis, usize)> = Vec::with_capacity(beams);
        for (rank, &(log_prob, parent, token)) in scored.iter().enumerate() {
            let mut tokens = self.live[parent].tokens.clone();
            if token == end_of_text {
                self.finished.push(Hypothesis { tokens, log_prob });
                if rank == 0 {
                    break;
                }
                continue;
            }
            tokens.push(token);
            let hyp = Hypothesis { tokens, log_prob };
            if hyp.tokens.len() >= self.max_tokens || repeats(&hyp.tokens) {
                self.finished.push(hyp);
            } else {
                next.push((hyp, parent));
            }
            if next.len() == beams || self.finished.len() >= beams {
                break;
            }
        }
        let best_ended = scored.first().is_some_and(|c| c.2 == end_of_text);
        if best_ended || self.finished.len() >= beams || next.is_empty() {
            self.done = true;
            return None;
        }
        // Keep exactly `beams` rows: the padding never wins.
        while next.len() < beams {
            let (first, parent) = next[0].clone();
            next.push((
                Hypothesis {
                    log_prob: f64::NEG_INFINITY,
                    ..first
                },
                parent,
            ));
        }
        let parents = next.iter().map(|(_, p)| *p).collect();
        self.live = next.into_iter().map(|(h, _)| h).collect();
        Some(parents)
    }

    /// The answer: the finished hypothesis with the best mean
    /// log-probability, else the best live one.
    pub(super) fn best(&self) -> Hypothesis {
        let pool = if self.finished.is_empty() {
            &self.live
        } else {
            &self.finished
        };
        pool.iter()
            .filter(|h| h.log_prob.is_finite())
            .max_by(|a, b| a.mean().total_cmp(&b.mean()))
            .cloned()
            .unwrap_or(Hypothesis {
                tokens: Vec::new(),
                log_prob: 0.0,
            })
    }
}

/// The `k` best tokens of one row's logits among those `may` allows, with
/// their log-probabilities (normalised over the allowed tokens).
pub(super) fn top_tokens(logits: &[f32], k: usize, may: impl Fn(usize) -> bool) -> Vec<(u32, f64)> {
    if k == 0 {
        return Vec::new();
    }
    // One pass: the k best, and the softmax denominator kept relative to
    // the running maximum (rescaled when the maximum moves).
    let mut max = f32::NEG_INFINITY;
    let mut sum = 0f64;
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (i, &v) in logits.iter().enumerate() {
        if !may(i) {
            continue;
        }
        if v > max {
            sum = sum * f64::from(max - v).exp() + 1.0;
            max = v;
        } else {
            sum += f64::from(v - max).exp();
        }
        if best.len() < k || v > best[best.len() - 1].0 {
            let at = best.partition_point(|&(b, _)| b >= v);
            best.insert(at, (v, i as u32));
            best.truncate(k);
        }
    }
    if best.is_empty() {
        return Vec::new();
    }
    let log_sum = sum.ln() + f64::from(max);
    best.into_iter()
        .map(|(v, i)| (i, f64::from(v) - log_sum))
        .collect()
}

/// Whether the tokens end in a loop: the last 8 or more tokens repeated
/// back to back three times (greedy decoding can fall into one on noise;
/// the rest of the segment would be the loop again).
pub(super) fn repeats(tokens: &[u32]) -> bool {
    let n = tokens.len();
    (8..=n / 3).any(|len| {
        let tail = &tokens[n - len..];
        tokens[n - 2 * len..n - len] == *tail && tokens[n - 3 * len..n - 2 * len] == *tail
    })
}
