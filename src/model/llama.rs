//! The Llama family (SmolLM2 and its kin) as a configuration of the one decoder
//! ([`crate::model::decoder`]), beside GPT-2 so that students can set a 2019 model next
//! to a 2024 one of the same size and see what changed: rotary position embeddings
//! (RoPE) instead of learned positions, RMSNorm instead of LayerNorm, a gated SiLU MLP
//! (SwiGLU) instead of GELU, and grouped-query attention (several query heads share one
//! key/value head) — each a field of [`LlamaConfig::info`]. [`NAMES`] says where each
//! part sits in HF's checkpoints (`model.embed_tokens`,
//! `model.layers.{i}.self_attn.q_proj`, `mlp.gate_proj`, `model.norm`, `lm_head`);
//! weights load from HF safetensors or from a GGUF file.
//! Serves every model-made figure of the essay when GPT-2 weights are not at hand.
//!
//! Dimension legend as in the crate docs, plus K = key/value heads (H / K query heads
//! share each). HF `nn.Linear` weights are laid out (out, in): the loader takes them
//! as transposed views, (in, out), like GPT-2's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::checkpoint::Checkpoint;
use crate::model::config::{Family, MlpKind, ModelInfo, NormKind, Positions};
use crate::model::decoder::{Layout, NameMap, Qkv};
use crate::model::weights::Weights;
use crate::model::LanguageModel;

/// Where each part of the decoder sits in a HF Llama checkpoint.
pub static NAMES: NameMap = NameMap {
    wte: "model.embed_tokens",
    wpe: None,
    block: "model.layers",
    ln_1: "input_layernorm",
    qkv: Qkv::Split(["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
    attn_out: "self_attn.o_proj",
    ln_2: "post_attention_layernorm",
    mlp_gate: Some("mlp.gate_proj"),
    mlp_in: "mlp.up_proj",
    mlp_out: "mlp.down_proj",
    ln_f: "model.norm",
    lm_head: "lm_head",
    layout: Layout::OutIn,
};

/// Llama hyper-parameters (HF `LlamaConfig` keys).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LlamaConfig {
    /// V
    pub vocab_size: usize,
    /// C
    pub hidden_size: usize,
    /// M: width of the gated MLP.
    pub intermediate_size: usize,
    /// L
    pub num_hidden_layers: usize,
    /// H
    pub num_attention_heads: usize,
    /// K
    pub num_key_value_heads: usize,
    /// D
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    /// P: the longest context the model was trained for.
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
}

#[derive(Deserialize)]
struct RawLlamaConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(default = "default_rms_eps")]
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    rope_parameters: Option<serde_json::Value>,
    rope_scaling: Option<serde_json::Value>,
    #[serde(default = "default_max_pos")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: bool,
    hidden_act: Option<String>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
}

fn default_rms_eps() -> f64 {
    1e-6
}
fn default_max_pos() -> usize {
    2048
}

impl LlamaConfig {
    /// Reads and validates a HF `config.json` of `model_type` "llama".
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: RawLlamaConfig = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.into(),
            msg: e.to_string(),
        })?;
        let bad = |msg: String| Error::Config { path: path.into(), msg };
        if raw.model_type.as_deref() != Some("llama") {
            return Err(bad(format!("model_type is {:?}, expected \"llama\"", raw.model_type)));
        }
        if let Some(act) = &raw.hidden_act {
            if act != "silu" {
                return Err(bad(format!("hidden_act `{act}` is not supported (Llama uses silu)")));
            }
        }
        if raw.attention_bias || raw.mlp_bias {
            return Err(bad("attention_bias / mlp_bias = true is not supported".into()));
        }
        let rope_type = raw
            .rope_parameters
            .as_ref()
            .and_then(|p| p.get("rope_type"))
            .and_then(|t| t.as_str())
            .unwrap_or("default");
        if rope_type != "default" || raw.rope_scaling.as_ref().is_some_and(|s| !s.is_null()) {
            return Err(bad(
                "scaled RoPE (rope_scaling / rope_type other than default) is not supported".into(),
            ));
        }
        let rope_theta = raw
            .rope_theta
            .or_else(|| {
                raw.rope_parameters
                    .as_ref()
                    .and_then(|p| p.get("rope_theta"))
                    .and_then(|t| t.as_f64())
            })
            .unwrap_or(10000.0);
        let cfg = LlamaConfig {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            num_key_value_heads: raw.num_key_value_heads.unwrap_or(raw.num_attention_heads),
            head_dim: raw.head_dim.unwrap_or(raw.hidden_size / raw.num_attention_heads.max(1)),
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            max_position_embeddings: raw.max_position_embeddings,
            tie_word_embeddings: raw.tie_word_embeddings,
        };
        cfg.info().validate().map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }

    /// What this configuration means for the decoder.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            family: Family::Llama,
            n_layer: self.num_hidden_layers,
            n_head: self.num_attention_heads,
            n_kv_head: self.num_key_value_heads,
            d_model: self.hidden_size,
            d_head: self.head_dim,
            d_mlp: self.intermediate_size,
            vocab_size: self.vocab_size,
            n_ctx: self.max_position_embeddings,
            positions: Positions::Rotary { theta: self.rope_theta },
            norm: NormKind::Rms { eps: self.rms_norm_eps },
            mlp: MlpKind::SwiGlu,
            bias: false,
            tied_embeddings: self.tie_word_embeddings,
            attn_scale: 1.0 / (self.head_dim as f64).sqrt(),
            scale_by_inverse_layer: false,
        }
    }

    /// The tensors a checkpoint of this config must hold, in HF names and (out, in) layout.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<i64>)> {
        LanguageModel::expected_tensors(&self.info(), &NAMES).expect("a Llama config maps onto the decoder")
    }
}

/// The Llama family's loaders: each returns the one decoder, configured as Llama.
pub struct Llama;

impl Llama {
    /// Loads a HF-format folder: `config.json` (model_type "llama") and `model.safetensors`.
    pub fn load(dir: &Path, device: Device) -> Result<LanguageModel> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::read(&dir.join("model.safetensors"))?;
        let path = ckpt.path.clone();
        let mut tensors = ckpt.tensors;
        // A tied checkpoint may still carry lm_head.weight: accept it if it has the shape.
        if config.tie_word_embeddings {
            if let Some(t) = tensors.remove("lm_head.weight") {
                if t.size() != [config.vocab_size as i64, config.hidden_size as i64] {
                    return Err(Error::Tensor {
                        path,
                        name: "lm_head.weight".into(),
                        msg: format!("has shape {:?}, but it is tied to model.embed_tokens.weight", t.size()),
                    });
                }
            }
        }
        Self::from_tensors(&config, tensors, &path, device)
    }

    /// Builds the model from tensors named and shaped as [`LlamaConfig::expected_tensors`]
    /// says; any missing, extra or wrong-shaped tensor is an error naming it.
    pub fn from_tensors(
        config: &LlamaConfig,
        tensors: BTreeMap<String, Tensor>,
        path: &Path,
        device: Device,
    ) -> Result<LanguageModel> {
        let mut w = Weights::checkpoint(path, tensors, device);
        let model = LanguageModel::build(config.info(), &NAMES, &mut w)?;
        w.finish()?;
        Ok(model)
    }
}

/// GGUF tensor names (llama.cpp) -> HF names, per block and global.
const GGUF_BLOCK_NAMES: &[(&str, &str)] = &[
    ("attn_norm", "input_layernorm"),
    ("attn_q", "self_attn.q_proj"),
    ("attn_k", "self_attn.k_proj"),
    ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"),
    ("ffn_norm", "post_attention_layernorm"),
    ("ffn_gate", "mlp.gate_proj"),
    ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
];

impl LlamaConfig {
    /// The hyper-parameters from a GGUF file's `llama.*` metadata.
    pub fn from_gguf(g: &crate::gguf::GgufFile) -> Result<Self> {
        let arch = g.architecture()?;
        if arch != "llama" {
            return Err(Error::Gguf {
                path: g.path.clone(),
                msg: format!("architecture `{arch}` is not supported (this reader runs `llama`, e.g. SmolLM2)"),
            });
        }
        let u = |k: &str| g.get_u32(&format!("llama.{k}")).map(|v| v as usize);
        // Optional keys fall back to their defaults only when absent; a key that is
        // present with the wrong type is an error, never silently replaced.
        let present = |k: &str| g.get(&format!("llama.{k}")).is_ok();
        let n_head = u("attention.head_count")?;
        let hidden = u("embedding_length")?;
        let vocab = if present("vocab_size") {
            u("vocab_size")?
        } else {
            g.get_str_array("tokenizer.ggml.tokens")?.len()
        };
        let cfg = LlamaConfig {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: u("feed_forward_length")?,
            num_hidden_layers: u("block_count")?,
            num_attention_heads: n_head,
            num_key_value_heads: if present("attention.head_count_kv") {
                u("attention.head_count_kv")?
            } else {
                n_head
            },
            head_dim: if present("rope.dimension_count") {
                u("rope.dimension_count")?
            } else {
                hidden / n_head.max(1)
            },
            rms_norm_eps: g.get_f32("llama.attention.layer_norm_rms_epsilon")? as f64,
            rope_theta: if present("rope.freq_base") {
                g.get_f32("llama.rope.freq_base")? as f64
            } else {
                10000.0
            },
            max_position_embeddings: u("context_length")?,
            tie_word_embeddings: !g.tensor_names().iter().any(|n| n == "output.weight"),
        };
        cfg.info().validate().map_err(|e| Error::Gguf {
            path: g.path.clone(),
            msg: e.to_string(),
        })?;
        Ok(cfg)
    }
}

impl Llama {
    /// Loads a llama-architecture GGUF file: tensors dequantised to f32, renamed to HF's
    /// names, and llama.cpp's row permutation of `attn_q` / `attn_k` undone (its
    /// converter interleaves the two rotary halves of each head; HF keeps them apart).
    pub fn from_gguf(g: &crate::gguf::GgufFile, device: Device) -> Result<LanguageModel> {
        let config = LlamaConfig::from_gguf(g)?;
        let mut w = BTreeMap::new();
        for name in g.tensor_names() {
            let (values, shape) = g.tensor_f32(&name)?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let t = Tensor::from_slice(&values).view(shape.as_slice());
            let hf = gguf_to_hf_name(&name).ok_or_else(|| Error::Gguf {
                path: g.path.clone(),
                msg: format!("unexpected tensor `{name}` in a llama GGUF"),
            })?;
            let t = if name.ends_with("attn_q.weight") {
                unpermute_rotary_rows(&t, config.num_attention_heads as i64)
            } else if name.ends_with("attn_k.weight") {
                unpermute_rotary_rows(&t, config.num_key_value_heads as i64)
            } else {
                t
            };
            w.insert(hf, t);
        }
        Self::from_tensors(&config, w, &g.path, device)
    }
}

fn gguf_to_hf_name(name: &str) -> Option<String> {
    match name {
        "token_embd.weight" => return Some("model.embed_tokens.weight".into()),
        "output_norm.weight" => return Some("model.norm.weight".into()),
        "output.weight" => return Some("lm_head.weight".into()),
        _ => {}
    }
    let rest = name.strip_prefix("blk.")?;
    let (i, rest) = rest.split_once('.')?;
    let (part, kind) = rest.rsplit_once('.')?;
    let hf = GGUF_BLOCK_NAMES.iter().find(|(g, _)| *g == part)?.1;
    Some(format!("model.layers.{}.{hf}.{kind}", i.parse::<usize>().ok()?))
}

/// Undoes llama.cpp's `permute(w, n_head)`: rows (n, 2, D/2) -> (n, D/2, 2) there; back here.
fn unpermute_rotary_rows(w: &Tensor, n_head: i64) -> Tensor {
    let (out, inp) = w.size2().expect("a 2-D projection");
    w.reshape([n_head, out / n_head / 2, 2, inp])
        .transpose(1, 2)
        .reshape([out, inp]) // (out, in)
}
