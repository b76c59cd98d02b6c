//! [`ModelInfo`]: the one decoder's typed configuration. Every family (GPT-2, Llama,
//! ...) maps its own `config.json` onto it ([`crate::model::gpt2::Gpt2Config::info`],
//! [`crate::model::llama::LlamaConfig::info`]); what differs between families is said
//! here in types (`NormKind::Layer` or `NormKind::Rms`, `Positions::Learned` or
//! `Positions::Rotary`, `MlpKind::Gelu` or `MlpKind::SwiGlu`, the number of key/value heads),
//! never in strings. Captions, figures and notebooks read the model's shape from it.
//! Serves every model-made figure of the essay (sections 1, 5, 6, 7).

use std::fmt;

use serde::{Serialize, Serializer};

/// A configuration the decoder cannot run, named by the rule it breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("the {0} must be positive")]
    NotPositive(&'static str),
    #[error("{n_head} query heads cannot share {n_kv_head} key/value heads evenly")]
    UnevenGroups { n_head: usize, n_kv_head: usize },
    #[error("head width {0} must be even for rotary positions")]
    OddRotaryHead(usize),
    #[error("the norm's epsilon must be positive, got {0}")]
    BadEps(f64),
    #[error("the rotary base frequency (rope_theta) must be positive, got {0}")]
    BadTheta(f64),
    #[error("a gated MLP with biases is not supported")]
    GatedWithBias,
    #[error("a gated MLP needs the name of its gate in the family's name map")]
    GatedWithoutGate,
    #[error("learned positions need the name of their table in the family's name map")]
    LearnedWithoutTable,
    #[error("model_type is `{found}`, this loader reads {want} checkpoints (model_type `{want_type}`)")]
    WrongModelType {
        found: String,
        want: &'static str,
        want_type: &'static str,
    },
    #[error("n_embd {n_embd} is not a multiple of n_head {n_head}")]
    WidthNotMultipleOfHeads { n_embd: usize, n_head: usize },
    #[error("{option} `{value}` is not supported ({why})")]
    Unsupported {
        option: &'static str,
        value: String,
        why: &'static str,
    },
}

/// The model families the decoder can be configured as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// OpenAI's GPT-2 (2019) and checkpoints of its shape.
    Gpt2,
    /// Meta's Llama layout (SmolLM2 and its kin, 2023-2024).
    Llama,
}

/// How each block normalises its input (and how the final norm does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormKind {
    /// `(x - mean) / sqrt(var + eps) * weight + bias` (GPT-2).
    Layer { eps: f64 },
    /// `x / sqrt(mean(x^2) + eps) * weight`, computed in f32, no bias (Llama).
    Rms { eps: f64 },
}

/// How the model knows where a token sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Positions {
    /// A learned matrix W_pos (P, C) added to the token embeddings (GPT-2).
    Learned,
    /// Rotary position embeddings (RoPE): each head's queries and keys are rotated by
    /// angles that grow with the position, at base frequency `theta` (Llama).
    Rotary { theta: f64 },
}

/// The MLP of each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpKind {
    /// `GELU_tanh(x W_in + b_in) W_out + b_out` (GPT-2).
    Gelu,
    /// `(SiLU(x W_gate) * (x W_in)) W_out` (Llama's SwiGLU).
    SwiGlu,
}

/// The shape and make-up of a decoder-only transformer: everything the one decoder
/// needs to know besides its weights. Dimension letters as in the crate's legend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelInfo {
    pub family: Family,
    /// L
    pub n_layer: usize,
    /// H
    pub n_head: usize,
    /// K (= H without grouped-query attention): query head h reads key/value head
    /// h / (H / K).
    pub n_kv_head: usize,
    /// C
    pub d_model: usize,
    /// D
    pub d_head: usize,
    /// M
    pub d_mlp: usize,
    /// V
    pub vocab_size: usize,
    /// P: the longest sequence the model accepts.
    pub n_ctx: usize,
    pub positions: Positions,
    pub norm: NormKind,
    pub mlp: MlpKind,
    /// Whether the linear layers carry biases (GPT-2: all; Llama: none).
    pub bias: bool,
    /// Whether the unembedding is `wte` transposed (no `lm_head` of its own).
    pub tied_embeddings: bool,
    /// Attention scores are `q k^T * attn_scale / (l + 1)^k` with k = 1 when
    /// `scale_by_inverse_layer` (a GPT-2 config option), else 0.
    pub attn_scale: f64,
    pub scale_by_inverse_layer: bool,
}

impl ModelInfo {
    /// Checks the invariants the decoder relies on; the error names the broken one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, v) in [
            ("vocab size", self.vocab_size),
            ("context window", self.n_ctx),
            ("width", self.d_model),
            ("number of blocks", self.n_layer),
            ("number of heads", self.n_head),
            ("number of key/value heads", self.n_kv_head),
            ("head width", self.d_head),
            ("MLP width", self.d_mlp),
        ] {
            if v == 0 {
                return Err(ConfigError::NotPositive(name));
            }
        }
        if !self.n_head.is_multiple_of(self.n_kv_head) {
            return Err(ConfigError::UnevenGroups {
                n_head: self.n_head,
                n_kv_head: self.n_kv_head,
            });
        }
        if matches!(self.positions, Positions::Rotary { .. }) && !self.d_head.is_multiple_of(2) {
            return Err(ConfigError::OddRotaryHead(self.d_head));
        }
        let eps = match self.norm {
            NormKind::Layer { eps } | NormKind::Rms { eps } => eps,
        };
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(ConfigError::BadEps(eps));
        }
        if let Positions::Rotary { theta } = self.positions {
            if !(theta > 0.0 && theta.is_finite()) {
                return Err(ConfigError::BadTheta(theta));
            }
        }
        if self.mlp == MlpKind::SwiGlu && self.bias {
            return Err(ConfigError::GatedWithBias);
        }
        Ok(())
    }

    /// The attention scale of block `layer`.
    pub fn attn_scale_of(&self, layer: usize) -> f64 {
        if self.scale_by_inverse_layer {
            self.attn_scale / (layer + 1) as f64
        } else {
            self.attn_scale
        }
    }

    /// The query head group size H / K.
    pub fn group(&self) -> usize {
        self.n_head / self.n_kv_head
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Gpt2 => "GPT-2",
            Family::Llama => "Llama",
        })
    }
}

impl fmt::Display for NormKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NormKind::Layer { .. } => "LayerNorm",
            NormKind::Rms { .. } => "RMSNorm",
        })
    }
}

impl fmt::Display for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Positions::Learned => "learned",
            Positions::Rotary { .. } => "rotary",
        })
    }
}

impl fmt::Display for MlpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MlpKind::Gelu => "GELU (tanh)",
            MlpKind::SwiGlu => "SwiGLU",
        })
    }
}

/// The enums serialise as the words they display (e.g. `"rotary"`), as the JSON of
/// earlier versions did.
macro_rules! serialize_as_display {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_display!(Family, NormKind, Positions, MlpKind);
