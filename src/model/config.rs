//! `Gpt2Config`: the hyper-parameters of a GPT-2 checkpoint, read from its `config.json`
//! (HF's `GPT2Config` keys), so that gpt2, gpt2-medium, gpt2-large, gpt2-xl and distilgpt2
//! all load with the same code. Serves every model-made figure of the essay.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

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
                Error::MissingFile { path: path.into(), what: "every model folder needs a config.json".into() }
            } else {
                Error::io(path, e)
            }
        })?;
        let cfg: Gpt2Config =
            serde_json::from_str(&text).map_err(|e| Error::Config { path: path.into(), msg: e.to_string() })?;
        cfg.validate().map_err(|msg| Error::Config { path: path.into(), msg })?;
        Ok(cfg)
    }

    /// Checks the invariants the model code relies on.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(t) = &self.model_type {
            if t != "gpt2" {
                return Err(format!("model_type is `{t}`, this loader reads GPT-2 checkpoints (model_type `gpt2`)"));
            }
        }
        for (name, v) in [("vocab_size", self.vocab_size), ("n_positions", self.n_positions), ("n_embd", self.n_embd), ("n_layer", self.n_layer), ("n_head", self.n_head)] {
            if v == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(format!("n_embd {} is not a multiple of n_head {}", self.n_embd, self.n_head));
        }
        if !matches!(self.activation_function.as_str(), "gelu_new" | "gelu_pytorch_tanh") {
            return Err(format!("activation_function `{}` is not supported (GPT-2 uses the tanh GELU, `gelu_new`)", self.activation_function));
        }
        if !(self.layer_norm_epsilon > 0.0 && self.layer_norm_epsilon.is_finite()) {
            return Err(format!("layer_norm_epsilon must be positive, got {}", self.layer_norm_epsilon));
        }
        if self.reorder_and_upcast_attn {
            return Err("reorder_and_upcast_attn = true is not supported".into());
        }
        Ok(())
    }

    /// D: width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Width of the MLP's hidden layer (4 C unless `n_inner` says otherwise).
    pub fn d_mlp(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }
}
