//! The embedding module of essay section 6 ("Inside ChatGPT") as arrays: for a
//! sequence, the token embeddings (rows of W_E), the position embeddings (rows of
//! W_pos, where the model has them) and their sum, each with one column per token and
//! one row per vector element. (A single word's embedding, for the `embed` command, is
//! [`super::embedding::text_vector`].)

use tch::{Kind, Tensor};

use super::matrix::Matrix;
use crate::error::Result;
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
