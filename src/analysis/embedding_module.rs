//! The embedding module of essay section 6 ("Inside ChatGPT") as arrays: for a
//! sequence, the token embeddings (rows of W_E), the position embeddings (rows of
//! W_pos, where the model has them) and their sum, each with one column per token and
//! one row per vector element; for a model with rotary positions (RoPE), what it does
//! instead ([`rotary_view`]). (A single word's embedding, for the `embed` command, is
//! [`super::embedding::text_vector`].)

use tch::{Kind, Tensor};

use super::matrix::Matrix;
use crate::error::Result;
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::model::config::Positions;
use crate::model::LanguageModel;

/// What enters the first block, split into its parts. Every matrix is C x T.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingModule {
    /// Column t is row `ids[t]` of W_E.
    pub token: Matrix,
    /// Column t is row t of W_pos; `None` for a model without position embeddings
    /// (RoPE rotates queries and keys instead).
    pub position: Option<Matrix>,
    /// token + position: the residual stream entering block 0.
    pub sum: Matrix,
}

/// The embedding module's arrays for `ids`, read straight from the weights.
pub fn embedding_module(lm: &LanguageModel, ids: &[u32]) -> Result<EmbeddingModule> {
    let idx = Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(lm.w_e().device()); // (T)
                                                                                                                   // The same checks as a forward pass: not empty, within the context window, known ids.
    crate::model::check_input(&idx.unsqueeze(0), None, lm.info().vocab_size, lm.info().n_ctx)?;
    let tok = lm.w_e().index_select(0, &idx).to_kind(Kind::Double); // (T, C)
    let (pos, sum) = match lm.w_pos() {
        Ok(w_pos) => {
            let pos = w_pos.narrow(0, 0, ids.len() as i64).to_kind(Kind::Double); // (T, C)
            let sum = &tok + &pos; // (T, C)
            (Some(Matrix::from_tensor(&pos.tr())?), sum)
        }
        Err(_) => (None, tok.shallow_clone()),
    };
    Ok(EmbeddingModule {
        token: Matrix::from_tensor(&tok.tr())?,
        position: pos,
        sum: Matrix::from_tensor(&sum.tr())?,
    })
}

/// What a model with rotary positions (RoPE) does instead of adding position
/// embeddings: nothing is added to the token embeddings; inside every block each
/// head's queries and keys are rotated, pair of elements (i, i + D/2) by pair, by the
/// angle t·θ_i at position t, with θ_i = base^(-2i/D) (HF's `rotate_half` layout).
#[derive(Debug, Clone, PartialEq)]
pub struct RotaryView {
    /// The base frequency (`rope_theta`).
    pub base: f64,
    /// cos(t·θ_i): one row per rotation frequency i (D/2 rows), one column per position.
    pub cos: Matrix,
    /// Block 0, head 0's queries before the rotation: D x T.
    pub query: Matrix,
    /// The same queries after the rotation (computed here in f64 from `query`): D x T.
    pub rotated: Matrix,
}

/// The [`RotaryView`] of `ids`, or `None` for a model with learned position embeddings.
pub fn rotary_view(lm: &LanguageModel, ids: &[u32]) -> Result<Option<RotaryView>> {
    let info = lm.info();
    let base = match info.positions {
        Positions::Rotary { theta } => theta,
        Positions::Learned => return Ok(None),
    };
    let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::AttnQ(0)]));
    let _logits = lm.run_with_cache(ids, &mut cache)?; // (T, V)
    let q = cache
        .get(HookPoint::AttnQ(0))?
        .get(0)
        .select(1, 0)
        .to_kind(Kind::Double); // (T, D): head 0
    let q = Matrix::from_tensor(&q.tr())?; // D x T
    let (d, t) = (q.rows, q.cols);
    let half = d / 2;
    let angle = |i: usize, pos: usize| pos as f64 * base.powf(-2.0 * i as f64 / d as f64);
    let mut cos = vec![0.0; half * t]; // (D/2) x T, row-major
    let mut rotated = vec![0.0; d * t]; // D x T, row-major
    for pos in 0..t {
        for i in 0..half {
            let (s, c) = angle(i, pos).sin_cos();
            cos[i * t + pos] = c;
            let (a, b) = (q.at(i, pos), q.at(i + half, pos));
            rotated[i * t + pos] = a * c - b * s;
            rotated[(i + half) * t + pos] = b * c + a * s;
        }
    }
    Ok(Some(RotaryView {
        base,
        cos: Matrix::new(half, t, cos)?,
        rotated: Matrix::new(d, t, rotated)?,
        query: q,
    }))
}
