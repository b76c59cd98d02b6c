//! GPT-2 as a configuration of the one decoder ([`crate::model::decoder`]): its
//! `config.json` ([`Gpt2Config`], HF's `GPT2Config` keys, so gpt2, gpt2-medium,
//! gpt2-large, gpt2-xl and distilgpt2 all load), what that means for the decoder
//! ([`Gpt2Config::info`]: LayerNorm, learned positions, tanh-GELU MLP, biases, `lm_head`
//! tied to `wte`) and where each part sits in its checkpoints ([`NAMES`]). No dropout,
//! no BOS token prepended. Serves every model-made figure of the essay (sections 1, 5,
//! 6, 7) and the parentheses transformer of section 7 ([`Gpt2::new_trainable`]).
//!
//! HF stores GPT-2's linear layers as `Conv1D` with weights laid out (in, out), so
//! `y = x @ W + b` with no transpose; the loader keeps that orientation as it is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::checkpoint::Checkpoint;
use crate::model::config::{ConfigError, Family, MlpKind, ModelInfo, NormKind, Positions};
pub use crate::model::decoder::ids_tensor;
use crate::model::decoder::{Layout, NameMap, Qkv};
use crate::model::weights::Weights;
use crate::model::LanguageModel;

/// Where each part of the decoder sits in a GPT-2 checkpoint (the hub's canonical names,
/// without the `transformer.` prefix that [`Checkpoint::into_gpt2`] strips).
pub static NAMES: NameMap = NameMap {
    wte: "wte",
    wpe: Some("wpe"),
    block: "h",
    ln_1: "ln_1",
    qkv: Qkv::Fused("attn.c_attn"),
    attn_out: "attn.c_proj",
    ln_2: "ln_2",
    mlp_gate: None,
    mlp_in: "mlp.c_fc",
    mlp_out: "mlp.c_proj",
    ln_f: "ln_f",
    lm_head: "lm_head",
    layout: Layout::InOut,
};

/// GPT-2 hyper-parameters. Field names follow HF's `config.json`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Gpt2Config {
    /// V: vocabulary size (50257 for every released GPT-2).
    pub vocab_size: usize,
    /// Context window: the number of learned positions in `wpe`.
    pub n_positions: usize,
    /// C: width of the residual stream.
    pub n_embd: usize,
    /// L: number of blocks.
    pub n_layer: usize,
    /// H: attention heads per block; D = C / H.
    pub n_head: usize,
    /// Width of the MLP's hidden layer; `null` in config.json means 4 C.
    #[serde(default)]
    pub n_inner: Option<usize>,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_act")]
    pub activation_function: String,
    #[serde(default = "default_true")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    #[serde(default)]
    pub reorder_and_upcast_attn: bool,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_act() -> String {
    "gelu_new".into()
}
fn default_true() -> bool {
    true
}

impl Gpt2Config {
    /// The configuration of GPT-2 small (124M), the model of the essay.
    pub fn gpt2_small() -> Self {
        Self::preset(50257, 1024, 768, 12, 12)
    }

    /// A configuration with the given V, n_positions, C, L, H and the GPT-2 defaults.
    pub fn preset(vocab_size: usize, n_positions: usize, n_embd: usize, n_layer: usize, n_head: usize) -> Self {
        Gpt2Config {
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            n_inner: None,
            layer_norm_epsilon: 1e-5,
            activation_function: "gelu_new".into(),
            scale_attn_weights: true,
            scale_attn_by_inverse_layer_idx: false,
            reorder_and_upcast_attn: false,
            model_type: Some("gpt2".into()),
        }
    }

    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingFile {
                    path: path.into(),
                    what: "every model folder needs a config.json".into(),
                }
            } else {
                Error::io(path, e)
            }
        })?;
        let cfg: Gpt2Config = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.into(),
            msg: e.to_string(),
        })?;
        cfg.check_supported().map_err(|e| Error::Config {
            path: path.into(),
            msg: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// The options of `GPT2Config` this decoder does not implement, and the decoder's own
    /// invariants.
    fn check_supported(&self) -> std::result::Result<(), ConfigError> {
        if let Some(t) = &self.model_type {
            if t != "gpt2" {
                return Err(ConfigError::WrongModelType {
                    found: t.clone(),
                    want: "GPT-2",
                    want_type: "gpt2",
                });
            }
        }
        self.info().validate()?;
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(ConfigError::WidthNotMultipleOfHeads {
                n_embd: self.n_embd,
                n_head: self.n_head,
            });
        }
        if !matches!(self.activation_function.as_str(), "gelu_new" | "gelu_pytorch_tanh") {
            return Err(ConfigError::Unsupported {
                option: "activation_function",
                value: self.activation_function.clone(),
                why: "GPT-2 uses the tanh GELU, `gelu_new`",
            });
        }
        if self.reorder_and_upcast_attn {
            return Err(ConfigError::Unsupported {
                option: "reorder_and_upcast_attn",
                value: "true".into(),
                why: "only the default attention is implemented",
            });
        }
        Ok(())
    }

    /// D: width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head.max(1)
    }

    /// Width of the MLP's hidden layer (4 C unless `n_inner` says otherwise).
    pub fn d_mlp(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// What this configuration means for the decoder.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            family: Family::Gpt2,
            n_layer: self.n_layer,
            n_head: self.n_head,
            n_kv_head: self.n_head,
            d_model: self.n_embd,
            d_head: self.head_dim(),
            d_mlp: self.d_mlp(),
            vocab_size: self.vocab_size,
            n_ctx: self.n_positions,
            positions: Positions::Learned,
            norm: NormKind::Layer {
                eps: self.layer_norm_epsilon,
            },
            mlp: MlpKind::Gelu,
            bias: true,
            tied_embeddings: true,
            attn_scale: if self.scale_attn_weights {
                1.0 / (self.head_dim() as f64).sqrt()
            } else {
                1.0
            },
            scale_by_inverse_layer: self.scale_attn_by_inverse_layer_idx,
        }
    }
}

/// GPT-2's loaders: each returns the one decoder, configured as GPT-2.
pub struct Gpt2;

impl Gpt2 {
    /// The tensors a checkpoint of this config must hold: (name, shape), in the hub's
    /// canonical names and HF's `Conv1D` (in, out) layout.
    pub fn expected_tensors(cfg: &Gpt2Config) -> Vec<(String, Vec<i64>)> {
        LanguageModel::expected_tensors(&cfg.info(), &NAMES).expect("a GPT-2 config maps onto the decoder")
    }

    /// Loads `config.json` and `model.safetensors` from a model folder, strictly.
    pub fn load(dir: &Path, device: Device) -> Result<LanguageModel> {
        if dir.is_file() {
            return Err(Error::NotAFolder(dir.into()));
        }
        if !dir.is_dir() {
            return Err(Error::MissingModelDir(dir.into()));
        }
        let config = Gpt2Config::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::read(&dir.join("model.safetensors"))?;
        let path = ckpt.path.clone();
        let tensors = ckpt.into_gpt2(&Self::expected_tensors(&config))?;
        let mut w = Weights::checkpoint(path, tensors, device);
        let model = LanguageModel::build(config.info(), &NAMES, &mut w)?;
        w.finish()?;
        Ok(model)
    }

    /// Builds the model from tensors named and shaped as [`Gpt2::expected_tensors`] says.
    pub fn from_tensors(
        config: &Gpt2Config,
        tensors: BTreeMap<String, Tensor>,
        device: Device,
    ) -> Result<LanguageModel> {
        let mut w = Weights::checkpoint("<tensors>", tensors, device);
        let model = LanguageModel::build(config.info(), &NAMES, &mut w)?;
        w.finish()?;
        Ok(model)
    }

    /// A GPT-2 of `config` with fresh trainable weights, created as variables of
    /// `path`'s var store under the names of [`Gpt2::expected_tensors`] (so a trained
    /// model saves and loads like a checkpoint), initialised as GPT-2 was: normal(0, 0.02)
    /// for embeddings and matrices, zero biases, LayerNorm gain 1. For training a tiny
    /// model from scratch (the parentheses transformer of essay section 7); train it with
    /// [`LanguageModel::forward_train`], since [`LanguageModel::forward`] runs without
    /// gradients.
    pub fn new_trainable(path: &tch::nn::Path, config: Gpt2Config) -> Result<LanguageModel> {
        let info = config.info();
        info.validate()?;
        let mut w = Weights::trainable(path);
        LanguageModel::build(info, &NAMES, &mut w)
    }
}
