//! # gpt2-explorer
//!
//! Opens up a real GPT-2 in libtorch (crate `tch`) and rebuilds, figure by figure,
//! Stephen Wolfram's essay *What Is ChatGPT Doing ... and Why Does It Work?*.
//!
//! Data flow: text -> [`tokenizer`] -> token ids -> [`model`] (embeddings, blocks of
//! attention and MLP, final norm) -> logits -> [`sampling`]; along the way the model
//! offers every [`hooks::HookPoint`] to a [`hooks::Capture`], and its weight matrices
//! are open through typed accessors ([`model::Gpt2::w_q`], ...).
//!
//! ## Dimension legend (used in every shape comment)
//! | letter | meaning | GPT-2 small |
//! |---|---|---|
//! | B | batch | 1 |
//! | T | positions in this forward call | prompt length |
//! | S | positions attended to (KV-cached + T) | |
//! | C | residual-stream width, `n_embd` | 768 |
//! | H | attention heads, `n_head` | 12 |
//! | D | head width, C / H | 64 |
//! | M | MLP hidden width, 4 C | 3072 |
//! | V | vocabulary, `vocab_size` | 50257 |
//! | P | context window, `n_positions` | 1024 |
//! | L | blocks, `n_layer` | 12 |

pub mod error;
pub mod hooks;
pub mod io;
pub mod model;
pub mod sampling;
pub mod source;
pub mod synthetic;
pub mod tokenizer;

use std::path::PathBuf;

pub use error::{Error, Result};
pub use hooks::{ActivationCache, Capture, HookFilter, HookPoint, NoCapture};
pub use model::{Gpt2, Gpt2Config, KvCache};
pub use tokenizer::Gpt2Tokenizer;

/// The project's git-ignored data cache: `$GPT2_EXPLORER_CACHE`, else `data/cache` in
/// the source tree. `make setup` fills it (e.g. `gpt2-tokenizer/`).
pub fn data_cache_dir() -> PathBuf {
    match std::env::var_os("GPT2_EXPLORER_CACHE") {
        Some(dir) => dir.into(),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join("cache"),
    }
}

/// Where `make setup` puts GPT-2's genuine `vocab.json` and `merges.txt`.
pub fn gpt2_tokenizer_dir() -> PathBuf {
    data_cache_dir().join("gpt2-tokenizer")
}

/// A model with its tokenizer, and the name it was asked for (for captions and JSON).
pub struct LoadedModel {
    pub name: String,
    pub dir: PathBuf,
    pub model: Gpt2,
    pub tokenizer: Gpt2Tokenizer,
}

impl LoadedModel {
    /// Loads what `--model` names (see [`source`]): a hub name from the HF cache or the
    /// hub, or a local folder. `offline` forbids downloads.
    pub fn load(arg: &str, offline: bool) -> Result<Self> {
        let spec = source::ModelSpec::parse(arg)?;
        let files = source::resolve(&spec, offline)?;
        let model = Gpt2::load(&files.dir, tch::Device::Cpu)?;
        let tokenizer = Gpt2Tokenizer::from_dir(&files.dir)?;
        Ok(LoadedModel { name: files.name, dir: files.dir, model, tokenizer })
    }

    /// Token ids of a prompt, checked against the context window.
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>> {
        let ids = self.tokenizer.encode(prompt)?;
        if ids.len() > self.model.config.n_positions {
            return Err(Error::TooLong { len: ids.len(), max: self.model.config.n_positions });
        }
        Ok(ids)
    }
}
