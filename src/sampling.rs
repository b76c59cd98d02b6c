//! Turning logits into words, outside the model: the ranked next-token table, greedy
//! decoding (temperature 0) and seeded sampling at a temperature, with a KV cache.
//! Serves essay section 1 ("it's just adding one word at a time": the top-5 table,
//! zero-temperature text that repeats itself, temperature-0.8 text).
//!
//! Sampling draws from a ChaCha8 generator seeded by the caller, over probabilities
//! computed in f64 on the host, so the same seed gives the same text on every run and
//! every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{Capture, NoCapture};
use crate::model::gpt2::ids_tensor;
use crate::model::{CausalLm, KvCache};
use crate::tokenizer::Tokenizer;

/// One row of the next-token table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopToken {
    pub id: u32,
    pub token: String,
    pub prob: f64,
    pub logprob: f64,
}

/// The `k` most likely next tokens from one position's logits (V), most likely first.
pub fn top_k(logits: &Tensor, k: usize, tok: &Tokenizer) -> Result<Vec<TopToken>> {
    let vocab = logits.size().last().copied().unwrap_or(0) as usize;
    if k == 0 || k > vocab {
        return Err(Error::BadTopK { k, vocab });
    }
    let logp = logits.to_kind(Kind::Double).log_softmax(-1, Kind::Double); // (V)
    let (vals, idx) = logp.topk(k as i64, -1, true, true); // (k), (k)
    let vals: Vec<f64> = Vec::<f64>::try_from(&vals)?;
    let idx: Vec<i64> = Vec::<i64>::try_from(&idx)?;
    Ok(idx
        .into_iter()
        .zip(vals)
        .map(|(id, lp)| TopToken {
            id: id as u32,
            token: tok.token_str(id as u32),
            prob: lp.exp(),
            logprob: lp,
        })
        .collect())
}

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Always the most likely token (temperature 0); ties go to the lowest id.
    Greedy,
    /// Draw from softmax(logits / temperature) with a seeded generator.
    Temperature { temperature: f64, seed: u64 },
}

impl Sampling {
    /// Temperature 0 is greedy; a negative or non-finite temperature is an error.
    pub fn new(temperature: f64, seed: u64) -> Result<Self> {
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(Error::BadTemperature(temperature));
        }
        Ok(if temperature == 0.0 {
            Sampling::Greedy
        } else {
            Sampling::Temperature { temperature, seed }
        })
    }
}

/// Picks tokens one at a time according to a [`Sampling`] rule.
pub struct Sampler {
    rule: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(rule: Sampling) -> Self {
        let seed = match rule {
            Sampling::Temperature { seed, .. } => seed,
            Sampling::Greedy => 0,
        };
        Sampler {
            rule,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next token from one position's logits (V).
    pub fn pick(&mut self, logits: &Tensor) -> Result<u32> {
        let l: Vec<f64> = Vec::<f64>::try_from(&logits.to_kind(Kind::Double))?;
        Ok(match self.rule {
            Sampling::Greedy => argmax(&l),
            Sampling::Temperature { temperature, .. } => {
                let max = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = l.iter().map(|x| ((x - max) / temperature).exp()).collect();
                let total: f64 = w.iter().sum();
                let mut u = self.rng.random::<f64>() * total;
                let mut pick = argmax(&l);
                for (i, wi) in w.iter().enumerate() {
                    if u < *wi {
                        pick = i as u32;
                        break;
                    }
                    u -= wi;
                }
                pick
            }
        })
    }
}

fn argmax(v: &[f64]) -> u32 {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// One generated token and the probability the model gave it (at temperature 1).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Step {
    pub id: u32,
    pub prob: f64,
}

/// Grows `prompt` by `max_new_tokens` tokens, one at a time, with a KV cache: the
/// prompt is run once, then each step feeds only the newest token. `on_token` sees
/// each new id as it is chosen (for streaming output). Returns the new ids.
pub fn generate<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    max_new_tokens: usize,
    rule: Sampling,
    on_token: impl FnMut(u32),
) -> Result<Vec<u32>> {
    Ok(generate_steps(model, prompt, max_new_tokens, rule, on_token)?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// As [`generate`], with the model's probability of each chosen token.
pub fn generate_steps<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    max_new_tokens: usize,
    rule: Sampling,
    on_token: impl FnMut(u32),
) -> Result<Vec<Step>> {
    generate_steps_with(model, prompt, max_new_tokens, rule, &mut NoCapture, on_token)
}

/// As [`generate_steps`], with `hooks` offered every hook point of every forward call
/// (the prompt's, then each new token's): an intervention such as an ablation or a
/// steering vector then acts on the whole generation, with the KV cache.
pub fn generate_steps_with<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    max_new_tokens: usize,
    rule: Sampling,
    hooks: &mut dyn Capture,
    mut on_token: impl FnMut(u32),
) -> Result<Vec<Step>> {
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    // The last new token is not fed back: prompt + max_new_tokens - 1 positions.
    let max = model.n_ctx();
    if prompt.len() + max_new_tokens.saturating_sub(1) > max {
        return Err(Error::TooLongToGenerate {
            prompt: prompt.len(),
            max_new: max_new_tokens,
            max,
        });
    }
    let mut sampler = Sampler::new(rule);
    let mut cache = KvCache::new();
    let mut out = Vec::with_capacity(max_new_tokens);
    let mut input = ids_tensor(prompt); // (1, T)
    for _ in 0..max_new_tokens {
        let logits = model.forward(&input, Some(&mut cache), hooks)?; // (1, T, V)
                                                                      // The one host transfer of a step: the last position's logits, for the sampler.
        let last = logits.get(0).get(-1).to_device(tch::Device::Cpu); // (V)
        let next = sampler.pick(&last)?;
        let prob = last
            .to_kind(Kind::Double)
            .softmax(-1, Kind::Double)
            .double_value(&[next as i64]);
        on_token(next);
        out.push(Step { id: next, prob });
        input = ids_tensor(&[next]); // (1, 1)
    }
    Ok(out)
}

/// How repetitive a token sequence is: the share of its runs of `n` tokens that already
/// occurred earlier in it (0: no run repeats; near 1: it is stuck in a loop). 0 when
/// the sequence is shorter than `n` + 1 tokens or `n` is 0.
pub fn repeated_run_share(ids: &[u32], n: usize) -> f64 {
    if n == 0 || ids.len() <= n {
        return 0.0;
    }
    let mut seen = std::collections::HashSet::new();
    let runs = ids.windows(n);
    let total = runs.len();
    let repeats = runs.filter(|w| !seen.insert(*w)).count();
    repeats as f64 / total as f64
}
