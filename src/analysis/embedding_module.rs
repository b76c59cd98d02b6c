//! The embedding module of essay section 6 ("Inside ChatGPT") as arrays: for a
//! sequence, the token embeddings (rows of W_E), the position embeddings (rows of
//! W_pos, where the model has them) and their sum, each with one column per token and
//! one row per vector element. Also the embedding of a single word, for the `embed`
//! command, with an explicit rule for words that are several tokens.

use tch::{Kind, Tensor};

use super::matrix::Matrix;
use crate::error::{Error, Result};
use crate::model::LanguageModel;
use crate::tokenizer::Gpt2Tokenizer;

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
    if ids.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    let n_ctx = lm.info().n_ctx;
    if ids.len() > n_ctx {
        return Err(Error::TooLong { len: ids.len(), max: n_ctx });
    }
    let vocab = lm.info().vocab_size;
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        return Err(Error::BadTokenId { id: bad as i64, vocab });
    }
    let idx = Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>()); // (T)
    let tok = lm.w_e().index_select(0, &idx).to_kind(Kind::Double); // (T, C)
    let (pos, sum) = match lm.w_pos() {
        Ok(w_pos) => {
            let pos = w_pos.narrow(0, 0, ids.len() as i64).to_kind(Kind::Double); // (T, C)
            let sum = &tok + &pos; // (T, C)
            (Some(Matrix::from_tensor(&pos.tr())?), sum)
        }
        Err(_) => (None, tok.shallow_clone()),
    };
    Ok(EmbeddingModule { token: Matrix::from_tensor(&tok.tr())?, position: pos, sum: Matrix::from_tensor(&sum.tr())? })
}

/// What to do with a word the tokenizer splits into several tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MultiToken {
    /// An error naming the tokens (the default: no silent choice).
    #[default]
    Refuse,
    /// The embedding of the word's first token.
    First,
    /// The mean of its tokens' embeddings.
    Mean,
}

/// A word's token embedding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WordVector {
    pub word: String,
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// How the vector was made: "single token", "first token" or "mean of N tokens".
    pub how: String,
    /// C values: a row of W_E (or the mean of several).
    pub vector: Vec<f64>,
}

/// The token embedding of `word`, tokenized exactly as given (GPT-2 gives " hello" and
/// "hello" different tokens: a word inside a sentence has its leading space).
pub fn word_vector(lm: &LanguageModel, tok: &Gpt2Tokenizer, word: &str, multi: MultiToken) -> Result<WordVector> {
    let ids = tok.encode(word)?;
    let tokens: Vec<String> = ids.iter().map(|&i| tok.token_str(i)).collect();
    let how = match (ids.len(), multi) {
        (1, _) => "single token".to_string(),
        (n, MultiToken::Refuse) => {
            let shown: Vec<String> = ids.iter().zip(&tokens).map(|(i, t)| format!("{:?} {i}", t)).collect();
            return Err(Error::MultiToken {
                word: word.into(),
                n,
                tokens: shown.join(", "),
                fix: "say how to combine them, the first token or the mean of the tokens (`--multi-token first|mean` on the command line, `MultiToken::First|Mean` in the library), or give a word that is one token".into(),
            });
        }
        (_, MultiToken::First) => "first token".to_string(),
        (n, MultiToken::Mean) => format!("mean of {n} tokens"),
    };
    let vocab = lm.info().vocab_size;
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        return Err(Error::BadTokenId { id: bad as i64, vocab });
    }
    let used: Vec<i64> = match multi {
        MultiToken::First => vec![ids[0] as i64],
        _ => ids.iter().map(|&i| i as i64).collect(),
    };
    let rows = lm.w_e().index_select(0, &Tensor::from_slice(&used)).to_kind(Kind::Double); // (n, C)
    let v = rows.mean_dim(0, false, Kind::Double); // (C)
    Ok(WordVector { word: word.into(), ids, tokens, how, vector: Vec::<f64>::try_from(&v)? })
}
