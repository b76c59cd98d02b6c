//! The logit lens, beyond essay section 6: read the model's next-token guess off the
//! residual stream after every block, by pushing it through the final norm and the
//! unembedding as if the remaining blocks were not there. After the last block this is
//! exactly the model's output; earlier rows show the guess taking shape.

use tch::{Kind, Tensor};

use crate::error::Result;
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::model::LanguageModel;
use crate::tokenizer::Tokenizer;

/// Logits (T, V) read off residual-stream vectors `resid` (T, C) or (B, T, C):
/// `final_norm(resid) @ W_U`.
pub fn lens_logits(lm: &LanguageModel, resid: &Tensor) -> Tensor {
    let _guard = tch::no_grad_guard();
    let x = lm.final_norm(resid); // (..., T, C)
    x.matmul(&lm.w_u()) // (..., T, C) @ (C, V) -> (..., T, V)
}

/// The lens's top guess at one position of one row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LensCell {
    pub id: u32,
    pub token: String,
    pub prob: f64,
}

/// The top guess at every position after every stage of the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogitLens {
    /// Row names: "embed" (the stream entering block 0), then "block 0" .. "block L-1".
    pub rows: Vec<String>,
    /// The input tokens, one per position (column).
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// `cells[row][position]`.
    pub cells: Vec<Vec<LensCell>>,
}

/// The logit lens of `ids`: one forward pass capturing the residual stream entering
/// block 0 and leaving every block, each read through [`lens_logits`] and softmaxed.
pub fn logit_lens(lm: &LanguageModel, tok: &Tokenizer, ids: &[u32]) -> Result<LogitLens> {
    let n_layer = lm.info().n_layer;
    let mut hooks = vec![HookPoint::ResidPre(0)];
    hooks.extend((0..n_layer).map(HookPoint::ResidPost));
    let mut cache = ActivationCache::new(HookFilter::Only(hooks.clone()));
    let _logits = lm.run_with_cache(ids, &mut cache)?; // (T, V)
    let mut rows = Vec::with_capacity(hooks.len());
    let mut cells = Vec::with_capacity(hooks.len());
    for (i, hook) in hooks.iter().enumerate() {
        rows.push(if i == 0 {
            "embed".to_string()
        } else {
            format!("block {}", i - 1)
        });
        let resid = cache.get(*hook)?.get(0); // (T, C)
        let probs = lens_logits(lm, &resid).softmax(-1, Kind::Double); // (T, V)
        let (p, idx) = probs.max_dim(-1, false); // (T), (T)
        let p = Vec::<f64>::try_from(&p)?;
        let idx = Vec::<i64>::try_from(&idx)?;
        cells.push(
            idx.iter()
                .zip(&p)
                .map(|(&id, &prob)| LensCell {
                    id: id as u32,
                    token: tok.token_str(id as u32),
                    prob,
                })
                .collect(),
        );
    }
    Ok(LogitLens {
        rows,
        ids: ids.to_vec(),
        tokens: ids.iter().map(|&i| tok.token_str(i)).collect(),
        cells,
    })
}
