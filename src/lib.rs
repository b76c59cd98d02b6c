//! # gpt2-explorer
//!
//! Opens up a real GPT-2 in libtorch (crate `tch`) and rebuilds, figure by figure,
//! Stephen Wolfram's essay *What Is ChatGPT Doing ... and Why Does It Work?*.
//!
//! Data flow: text -> [`tokenizer`] -> token ids -> [`model`] (embeddings, blocks of
//! attention and MLP, final norm) -> logits -> [`sampling`]; along the way the model
//! offers every [`hooks::HookPoint`] to a [`hooks::Capture`], and its weight matrices
//! are open through typed accessors ([`LanguageModel::w_q`], ...).
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

pub mod analysis;
pub mod chat;
pub mod cli;
pub mod corpus;
pub mod error;
pub mod essay;
pub mod experiments;
pub mod figures;
pub mod gguf;
pub mod hooks;
pub mod icl;
pub mod intervene;
pub mod io;
pub mod model;
pub mod plot;
pub mod probes;
pub mod progress;
pub mod sampling;
pub mod source;
pub mod synthetic;
pub mod tokenizer;
pub mod train;
pub mod views;

use std::path::PathBuf;

pub use error::{Error, Result};
pub use hooks::{ActivationCache, Capture, HookFilter, HookPoint, NoCapture};
pub use model::{CausalLm, Gpt2, Gpt2Config, KvCache, LanguageModel, Llama, LlamaConfig, ModelInfo};
/// libtorch's bindings, re-exported so that notebooks and programs name the same
/// version (`gpt2_explorer::tch::Kind`) without a dependency of their own.
pub use tch;
pub use tokenizer::Tokenizer;

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
    /// The model folder or GGUF file it came from.
    pub path: PathBuf,
    pub model: LanguageModel,
    pub tokenizer: Tokenizer,
}

/// How to load a model: whether downloads are forbidden, and the device it runs on.
/// There is no process-wide default device: whoever loads a model says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Forbid downloads from the Hugging Face hub.
    pub offline: bool,
    /// Where the model runs (see [`model::device::resolve_device`]).
    pub device: tch::Device,
}

impl Default for LoadOptions {
    /// Downloads allowed, on the CPU.
    fn default() -> Self {
        LoadOptions {
            offline: false,
            device: tch::Device::Cpu,
        }
    }
}

impl LoadedModel {
    /// Loads what `--model` names (see [`source`]) onto the CPU: `auto`, a hub name from
    /// the HF cache or the hub, `smollm2`, a `.gguf` file, or a local folder. `offline`
    /// forbids downloads. [`LoadedModel::load_with`] chooses the device.
    pub fn load(arg: &str, offline: bool) -> Result<Self> {
        Self::load_with(
            arg,
            &LoadOptions {
                offline,
                ..LoadOptions::default()
            },
        )
    }

    /// As [`LoadedModel::load`], with the options (offline, device) given.
    pub fn load_with(arg: &str, opts: &LoadOptions) -> Result<Self> {
        Self::from_files(
            &source::resolve(&source::ModelSpec::parse(arg)?, opts.offline)?,
            opts.device,
        )
    }

    /// Loads the model and tokenizer of already resolved files onto `device`.
    pub fn from_files(files: &source::ModelFiles, device: tch::Device) -> Result<Self> {
        let (model, tokenizer) = match files.format {
            source::ModelFormat::Folder => (
                model::load_folder(&files.path, device)?,
                Tokenizer::from_dir(&files.path)?,
            ),
            source::ModelFormat::Gguf => {
                let g = gguf::GgufFile::open(&files.path)?;
                let model = model::Llama::from_gguf(&g, device)?;
                (model, Tokenizer::from_inner(gguf::tokenizer_from_gguf(&g)?))
            }
        };
        Ok(LoadedModel {
            name: files.name.clone(),
            path: files.path.clone(),
            model,
            tokenizer,
        })
    }

    /// Only the tokenizer of what `--model` names (the weights are not read).
    pub fn load_tokenizer(arg: &str, offline: bool) -> Result<(String, Tokenizer)> {
        let files = source::resolve(&source::ModelSpec::parse(arg)?, offline)?;
        let tok = match files.format {
            source::ModelFormat::Folder => Tokenizer::from_dir(&files.path)?,
            source::ModelFormat::Gguf => {
                Tokenizer::from_inner(gguf::tokenizer_from_gguf(&gguf::GgufFile::open(&files.path)?)?)
            }
        };
        Ok((files.name, tok))
    }

    /// The model's published name: "GPT-2 small" for `gpt2`, "SmolLM2-135M-Instruct" for
    /// the offline GGUF (a 4-bit Q4_1 copy of it), the hub repository or folder name
    /// otherwise, with its family when the name does not say it.
    pub fn display_name(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match self.name.as_str() {
            "gpt2" => "GPT-2 small".into(),
            "gpt2-medium" => "GPT-2 medium".into(),
            "gpt2-large" => "GPT-2 large".into(),
            "gpt2-xl" => "GPT-2 XL".into(),
            "distilgpt2" => "DistilGPT-2".into(),
            _ if file.starts_with("SmolLM2-135M-Instruct") => "SmolLM2-135M-Instruct".into(),
            name => {
                let short = name.rsplit('/').next().unwrap_or(name);
                let family = self.model.info().family.to_string();
                if short.to_lowercase().contains(&family.to_lowercase().replace('-', "")) {
                    short.to_string()
                } else {
                    format!("{family} ({short})")
                }
            }
        }
    }

    /// A caption naming the model, e.g. "GPT-2 small: 12 blocks, 12 heads, C = 768" or
    /// "SmolLM2-135M-Instruct: 30 blocks, 9 heads (3 key/value heads), C = 576".
    pub fn caption(&self) -> String {
        let i = self.model.info();
        let kv = if i.n_kv_head != i.n_head {
            format!(" ({} key/value heads)", i.n_kv_head)
        } else {
            String::new()
        };
        format!(
            "{}: {} blocks, {} heads{kv}, C = {}",
            self.display_name(),
            i.n_layer,
            i.n_head,
            i.d_model
        )
    }

    /// Whether this is GPT-2 small, the model of the essay's numbers.
    pub fn is_essay_model(&self) -> bool {
        self.name == "gpt2"
    }

    /// Token ids of a prompt, checked against the context window.
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>> {
        let ids = self.tokenizer.encode(prompt)?;
        let max = model::CausalLm::n_ctx(&self.model);
        if ids.len() > max {
            return Err(Error::TooLong { len: ids.len(), max });
        }
        Ok(ids)
    }
}
