//! What kind of head is this? Scores for three well-known kinds of attention head,
//! measured as TransformerLens's head detector measures them: on a sequence of random
//! tokens repeated twice, the share of each head's attention that falls where a head
//! of that kind would look — the previous token, an earlier copy of the current token
//! (duplicate-token heads), or the token after an earlier copy of the current token
//! (induction heads, which let a model continue a pattern it has seen once in the
//! prompt). Beyond the essay; it makes its section 6 remark that attention heads "look
//! back" at particular earlier tokens measurable.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::model::LanguageModel;

/// The kinds of head the detector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    PreviousToken,
    DuplicateToken,
    Induction,
}

impl HeadKind {
    pub const ALL: [HeadKind; 3] = [HeadKind::PreviousToken, HeadKind::DuplicateToken, HeadKind::Induction];

    pub fn name(self) -> &'static str {
        match self {
            HeadKind::PreviousToken => "previous-token",
            HeadKind::DuplicateToken => "duplicate-token",
            HeadKind::Induction => "induction",
        }
    }

    /// Where a head of this kind looks, for `tokens`: a (T, T) 0/1 matrix, 1 at
    /// (query i, key j) when j is such a place (always j <= i).
    pub fn detection_pattern(self, tokens: &[u32]) -> Tensor {
        let t = tokens.len() as i64;
        let ids = Tensor::from_slice(&tokens.iter().map(|&i| i as i64).collect::<Vec<_>>()); // (T)
        let same = ids.unsqueeze(1).eq_tensor(&ids.unsqueeze(0)).to_kind(Kind::Double); // (T, T): token i == token j
        match self {
            HeadKind::PreviousToken => Tensor::ones([t, t], (Kind::Double, tch::Device::Cpu)).tril(-1).triu(-1), // (T, T): j = i - 1
            HeadKind::DuplicateToken => same.tril(-1), // (T, T): j < i, same token
            HeadKind::Induction => {
                // Key j follows an earlier copy of the current token: token[j - 1] == token[i], j <= i.
                let shifted = Tensor::zeros([t, t], (Kind::Double, tch::Device::Cpu)); // (T, T)
                if t > 1 {
                    shifted.narrow(1, 1, t - 1).copy_(&same.tril(-1).narrow(1, 0, t - 1));
                }
                shifted.tril(0)
            }
        }
    }
}

/// The share of a head's attention that falls on the detection pattern: the sum of
/// pattern * detection over the sum of the pattern, for pattern (T, T) with rows
/// summing to 1 (TransformerLens's "mul" measure without excluding anything).
pub fn detection_score(pattern: &Tensor, detection: &Tensor) -> f64 {
    let p = pattern.to_kind(Kind::Double);
    (&p * detection).sum(Kind::Double).double_value(&[]) / p.sum(Kind::Double).double_value(&[])
}

/// Random token ids repeated twice: `n` ids drawn uniformly from `[first, vocab)` by a
/// ChaCha8 generator seeded with `seed`, then the same `n` again (2n in all). The
/// first 256 ids (bytes and special tokens in most vocabularies) are skipped by the
/// detector.
pub fn repeated_random_tokens(n: usize, vocab: usize, first: usize, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let half: Vec<u32> = (0..n).map(|_| rng.random_range(first as u32..vocab as u32)).collect();
    half.iter().chain(half.iter()).copied().collect()
}

/// Every head's score for each kind, on the same tokens.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeadScores {
    pub tokens: Vec<u32>,
    pub seed: u64,
    pub n_layer: usize,
    pub n_head: usize,
    /// (L, H) per kind.
    pub previous_token: Vec<Vec<f64>>,
    pub duplicate_token: Vec<Vec<f64>>,
    pub induction: Vec<Vec<f64>>,
}

impl HeadScores {
    pub fn of(&self, kind: HeadKind) -> &Vec<Vec<f64>> {
        match kind {
            HeadKind::PreviousToken => &self.previous_token,
            HeadKind::DuplicateToken => &self.duplicate_token,
            HeadKind::Induction => &self.induction,
        }
    }

    /// The head with the highest score of `kind`: (block, head, score).
    pub fn best(&self, kind: HeadKind) -> (usize, usize, f64) {
        let mut best = (0, 0, f64::NEG_INFINITY);
        for (l, row) in self.of(kind).iter().enumerate() {
            for (h, &s) in row.iter().enumerate() {
                if s > best.2 {
                    best = (l, h, s);
                }
            }
        }
        best
    }
}

/// Scores every head of `lm` on `n` random tokens repeated twice (seeded).
pub fn detect_heads(lm: &LanguageModel, n: usize, seed: u64) -> Result<HeadScores> {
    let info = lm.info();
    let first = 256.min(info.vocab_size / 2);
    if n < 2 || 2 * n > info.n_ctx {
        return Err(Error::BadHyperParameter {
            name: "the detector's sequence length".into(),
            value: n.to_string(),
            rule: format!("between 2 and half the context window ({})", info.n_ctx / 2),
        });
    }
    let tokens = repeated_random_tokens(n, info.vocab_size, first, seed);
    score_heads(lm, &tokens, seed)
}

/// Scores every head of `lm` on the given tokens.
pub fn score_heads(lm: &LanguageModel, tokens: &[u32], seed: u64) -> Result<HeadScores> {
    let info = lm.info();
    let mut cache = ActivationCache::new(HookFilter::Only(
        (0..info.n_layer).map(HookPoint::AttnPattern).collect(),
    ));
    let _ = lm.run_with_cache(tokens, &mut cache)?;
    let detections: Vec<Tensor> = HeadKind::ALL.iter().map(|k| k.detection_pattern(tokens)).collect();
    let mut scores: Vec<Vec<Vec<f64>>> = (0..3).map(|_| Vec::with_capacity(info.n_layer)).collect(); // per kind: (L, H)
    for l in 0..info.n_layer {
        let pattern = cache.attn_pattern(l)?.get(0).to_device(tch::Device::Cpu); // (H, T, T)
        for (kind, det) in scores.iter_mut().zip(&detections) {
            kind.push(
                (0..info.n_head as i64)
                    .map(|h| detection_score(&pattern.get(h), det))
                    .collect::<Vec<f64>>(),
            );
        }
    }
    let mut it = scores.into_iter();
    Ok(HeadScores {
        tokens: tokens.to_vec(),
        seed,
        n_layer: info.n_layer,
        n_head: info.n_head,
        previous_token: it.next().unwrap_or_default(),
        duplicate_token: it.next().unwrap_or_default(),
        induction: it.next().unwrap_or_default(),
    })
}
