//! Attention patterns as plain matrices, for essay section 6 ("Inside ChatGPT"): the
//! weights with which each head of a block mixes earlier positions (the essay's "hello
//! ... bye" pictures), one head followed through every block, and a score per head for
//! how much it looks at the previous token (a first "find the head" exercise).

use tch::Kind;

use super::matrix::Matrix;
use crate::error::{AnalysisProblem, Error, Result};
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::model::LanguageModel;

/// Ok when head `head` exists, else [`Error::BadHead`] naming the valid range.
pub fn check_head(lm: &LanguageModel, head: usize) -> Result<()> {
    let n_head = lm.info().n_head;
    if head >= n_head {
        return Err(Error::BadHead { head, n_head });
    }
    Ok(())
}

/// The attention patterns of the given blocks for one sequence, from one forward pass:
/// `out[i][h]` is block `layers[i]`'s head h as a T x T matrix (row = query position,
/// column = key position; rows sum to 1, zero above the diagonal).
pub fn patterns(lm: &LanguageModel, ids: &[u32], layers: &[usize]) -> Result<Vec<Vec<Matrix>>> {
    for &l in layers {
        lm.check_hook(HookPoint::AttnPattern(l))?; // a block out of range names the valid range
    }
    let mut cache = ActivationCache::new(HookFilter::Only(
        layers.iter().map(|&l| HookPoint::AttnPattern(l)).collect(),
    ));
    let _logits = lm.run_with_cache(ids, &mut cache)?; // (T, V)
    let mut out = Vec::with_capacity(layers.len());
    for &l in layers {
        let p = cache.attn_pattern(l)?.get(0).to_kind(Kind::Double); // (H, T, T)
        let heads = p.size()[0];
        let mut block = Vec::with_capacity(heads as usize);
        for h in 0..heads {
            block.push(Matrix::from_tensor(&p.get(h))?); // (T, T)
        }
        out.push(block);
    }
    Ok(out)
}

/// Every head of block `layer`: H matrices T x T.
pub fn block_patterns(lm: &LanguageModel, ids: &[u32], layer: usize) -> Result<Vec<Matrix>> {
    Ok(patterns(lm, ids, &[layer])?.remove(0))
}

/// Head `head` in every block: L matrices T x T.
pub fn head_across_blocks(lm: &LanguageModel, ids: &[u32], head: usize) -> Result<Vec<Matrix>> {
    check_head(lm, head)?;
    let layers: Vec<usize> = (0..lm.info().n_layer).collect();
    Ok(patterns(lm, ids, &layers)?
        .into_iter()
        .map(|mut block| block.swap_remove(head))
        .collect())
}

/// How much a head looks at the previous token: the mean, over query positions 1..T,
/// of the weight on position i - 1 (1.0: always exactly the previous token). `None`
/// for a one-token sequence.
pub fn previous_token_score(pattern: &Matrix) -> Option<f64> {
    let t = pattern.rows.min(pattern.cols);
    if t < 2 {
        return None;
    }
    Some((1..t).map(|i| pattern.at(i, i - 1)).sum::<f64>() / (t - 1) as f64)
}

/// One head's score, for ranking heads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeadScore {
    pub layer: usize,
    pub head: usize,
    pub score: f64,
}

/// Every head of the model scored by [`previous_token_score`] on `ids`, best first.
/// Needs at least two tokens.
pub fn previous_token_heads(lm: &LanguageModel, ids: &[u32]) -> Result<Vec<HeadScore>> {
    if ids.len() < 2 {
        return Err(Error::Analysis(AnalysisProblem::PromptTooShort));
    }
    let layers: Vec<usize> = (0..lm.info().n_layer).collect();
    let mut scores = Vec::new();
    for (layer, block) in patterns(lm, ids, &layers)?.iter().enumerate() {
        for (head, p) in block.iter().enumerate() {
            scores.push(HeadScore {
                layer,
                head,
                score: previous_token_score(p).unwrap_or(0.0),
            });
        }
    }
    scores.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(scores)
}
