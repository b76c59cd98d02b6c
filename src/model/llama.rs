//! The Llama family (SmolLM2 and its kin) in libtorch, beside GPT-2 so that students can
//! set a 2019 model next to a 2024 one of the same size and see what changed: rotary
//! position embeddings (RoPE) instead of learned positions, RMSNorm instead of
//! LayerNorm, a gated SiLU MLP (SwiGLU) instead of GELU, and grouped-query attention
//! (several query heads share one key/value head). Names follow HF's checkpoint keys
//! (`model.embed_tokens`, `model.layers.{i}.self_attn.q_proj`, `mlp.gate_proj`,
//! `model.norm`, `lm_head`); weights load from HF safetensors or from a GGUF file.
//! Serves every model-made figure of the essay when GPT-2 weights are not at hand.
//!
//! Dimension legend as in the crate docs, plus K = key/value heads (H / K query heads
//! share each), and HF `nn.Linear` weights laid out (out, in): `y = x @ W^T`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{Capture, HookPoint};
use crate::model::checkpoint::Checkpoint;
use crate::model::{causal_attention, check_input, record, KvCache, LayerKv};

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
        let raw: RawLlamaConfig = serde_json::from_str(&text).map_err(|e| Error::Config { path: path.into(), msg: e.to_string() })?;
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
        let rope_type = raw.rope_parameters.as_ref().and_then(|p| p.get("rope_type")).and_then(|t| t.as_str()).unwrap_or("default");
        if rope_type != "default" || raw.rope_scaling.as_ref().is_some_and(|s| !s.is_null()) {
            return Err(bad("scaled RoPE (rope_scaling / rope_type other than default) is not supported".into()));
        }
        let rope_theta = raw
            .rope_theta
            .or_else(|| raw.rope_parameters.as_ref().and_then(|p| p.get("rope_theta")).and_then(|t| t.as_f64()))
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
        cfg.validate().map_err(bad)?;
        Ok(cfg)
    }

    /// Checks the invariants the model code relies on.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if v == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(format!("num_attention_heads {} is not a multiple of num_key_value_heads {}", self.num_attention_heads, self.num_key_value_heads));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(format!("head_dim {} must be even for RoPE", self.head_dim));
        }
        if !(self.rms_norm_eps > 0.0 && self.rope_theta > 0.0) {
            return Err("rms_norm_eps and rope_theta must be positive".into());
        }
        Ok(())
    }

    /// The tensors a checkpoint of this config must hold, in HF names and (out, in) layout.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<i64>)> {
        let (v, c, m) = (self.vocab_size as i64, self.hidden_size as i64, self.intermediate_size as i64);
        let (hd, kd) = ((self.num_attention_heads * self.head_dim) as i64, (self.num_key_value_heads * self.head_dim) as i64);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, c])];
        for i in 0..self.num_hidden_layers {
            for (name, shape) in [
                ("input_layernorm.weight", vec![c]),
                ("self_attn.q_proj.weight", vec![hd, c]),
                ("self_attn.k_proj.weight", vec![kd, c]),
                ("self_attn.v_proj.weight", vec![kd, c]),
                ("self_attn.o_proj.weight", vec![c, hd]),
                ("post_attention_layernorm.weight", vec![c]),
                ("mlp.gate_proj.weight", vec![m, c]),
                ("mlp.up_proj.weight", vec![m, c]),
                ("mlp.down_proj.weight", vec![c, m]),
            ] {
                out.push((format!("model.layers.{i}.{name}"), shape));
            }
        }
        out.push(("model.norm.weight".into(), vec![c]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".into(), vec![v, c]));
        }
        out
    }
}

/// A bias-free linear layer in HF's `nn.Linear` layout.
pub struct Linear {
    pub weight: Tensor, // (out, in)
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.weight.tr()) // (..., in) @ (in, out) -> (..., out)
    }
}

/// `input_layernorm`, `post_attention_layernorm`, `model.norm`: RMSNorm, computed in f32.
pub struct RmsNorm {
    pub weight: Tensor, // (C)
    eps: f64,
}

impl RmsNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let var = x.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float); // (B, T, 1)
        (x * (var + self.eps).rsqrt()) * &self.weight // (B, T, C)
    }
}

/// Rotary position embeddings: cos and sin tables for every position, (P, D) each, laid
/// out as HF does (the two halves of a head rotate together: `rotate_half`).
struct Rope {
    cos: Tensor, // (P, D)
    sin: Tensor, // (P, D)
}

impl Rope {
    fn new(cfg: &LlamaConfig, device: Device) -> Self {
        let d = cfg.head_dim as i64;
        let exponent = Tensor::arange_start_step(0, d, 2, (Kind::Int64, device)).to_kind(Kind::Float) / d as f64; // (D/2)
        let inv_freq = Tensor::pow_scalar(cfg.rope_theta, &exponent).reciprocal(); // (D/2)
        let pos = Tensor::arange(cfg.max_position_embeddings as i64, (Kind::Float, device)); // (P)
        let freqs = pos.outer(&inv_freq); // (P, D/2)
        let emb = Tensor::cat(&[&freqs, &freqs], -1); // (P, D)
        Rope { cos: emb.cos(), sin: emb.sin() }
    }

    /// Rotates x (B, n, T, D) whose positions start at `past`.
    fn apply(&self, x: &Tensor, past: i64) -> Tensor {
        let t = x.size()[2];
        let cos = self.cos.narrow(0, past, t); // (T, D)
        let sin = self.sin.narrow(0, past, t); // (T, D)
        let half = x.size()[3] / 2;
        let (x1, x2) = (x.narrow(-1, 0, half), x.narrow(-1, half, half)); // (B, n, T, D/2) each
        let rotated = Tensor::cat(&[&x2.neg(), &x1], -1); // (B, n, T, D)
        x * cos + rotated * sin // (B, n, T, D)
    }
}

/// `model.layers.{i}.self_attn`: causal grouped-query attention with RoPE.
pub struct LlamaAttention {
    pub q_proj: Linear, // (H D, C)
    pub k_proj: Linear, // (K D, C)
    pub v_proj: Linear, // (K D, C)
    pub o_proj: Linear, // (C, H D)
    n_head: i64,
    n_kv_head: i64,
    head_dim: i64,
    layer: usize,
    /// The context window: the KV cache never holds more positions.
    n_ctx: i64,
}

impl LlamaAttention {
    fn forward(&self, x: &Tensor, rope: &Rope, past_kv: Option<&mut Option<LayerKv>>, cap: &mut dyn Capture) -> Tensor {
        let (b, t, _c) = x.size3().expect("attention input is (B, T, C)");
        let (h, k_heads, d, l) = (self.n_head, self.n_kv_head, self.head_dim, self.layer);
        let q = self.q_proj.forward(x).view([b, t, h, d]); // (B, T, H, D)
        let k = self.k_proj.forward(x).view([b, t, k_heads, d]); // (B, T, K, D)
        let v = self.v_proj.forward(x).view([b, t, k_heads, d]); // (B, T, K, D)
        record(cap, HookPoint::AttnQ(l), &q); // before the rotation
        record(cap, HookPoint::AttnK(l), &k); // before the rotation
        record(cap, HookPoint::AttnV(l), &v);
        let past = past_kv.as_ref().and_then(|s| s.as_ref()).map_or(0, |c| c.len);
        let q = rope.apply(&q.transpose(1, 2), past); // (B, H, T, D)
        let k = rope.apply(&k.transpose(1, 2), past); // (B, K, T, D)
        let v = v.transpose(1, 2); // (B, K, T, D)
        // Grouped-query attention: causal_attention lets query head h read key/value
        // head h / (H / K) without copying the keys and values per query head.
        let (k, v) = match past_kv {
            Some(slot) => LayerKv::append(slot, &k, &v, self.n_ctx), // (B, K, S, D) each
            None => (k, v),
        };
        let z = causal_attention(&q, &k, &v, 1.0 / (d as f64).sqrt(), past, l, cap); // (B, T, H, D)
        record(cap, HookPoint::AttnZ(l), &z);
        self.o_proj.forward(&z.reshape([b, t, h * d])) // (B, T, C)
    }
}

/// `model.layers.{i}.mlp`: `down(silu(gate(x)) * up(x))`.
pub struct LlamaMlp {
    pub gate_proj: Linear, // (M, C)
    pub up_proj: Linear,   // (M, C)
    pub down_proj: Linear, // (C, M)
    layer: usize,
}

impl LlamaMlp {
    fn forward(&self, x: &Tensor, cap: &mut dyn Capture) -> Tensor {
        let gate = self.gate_proj.forward(x); // (B, T, M)
        record(cap, HookPoint::MlpPre(self.layer), &gate);
        let post = gate.silu() * self.up_proj.forward(x); // (B, T, M)
        record(cap, HookPoint::MlpPost(self.layer), &post);
        self.down_proj.forward(&post) // (B, T, C)
    }
}

/// `model.layers.{i}`: pre-norm block, residual around each half.
pub struct DecoderLayer {
    pub input_layernorm: RmsNorm,
    pub self_attn: LlamaAttention,
    pub post_attention_layernorm: RmsNorm,
    pub mlp: LlamaMlp,
    layer: usize,
}

impl DecoderLayer {
    fn forward(&self, x: Tensor, rope: &Rope, kv: Option<&mut Option<LayerKv>>, cap: &mut dyn Capture) -> Tensor {
        let l = self.layer;
        record(cap, HookPoint::ResidPre(l), &x);
        let attn_out = self.self_attn.forward(&self.input_layernorm.forward(&x), rope, kv, cap); // (B, T, C)
        record(cap, HookPoint::AttnOut(l), &attn_out);
        let x = x + attn_out; // (B, T, C)
        record(cap, HookPoint::ResidMid(l), &x);
        let mlp_out = self.mlp.forward(&self.post_attention_layernorm.forward(&x), cap); // (B, T, C)
        record(cap, HookPoint::MlpOut(l), &mlp_out);
        let x = x + mlp_out; // (B, T, C)
        record(cap, HookPoint::ResidPost(l), &x);
        x
    }
}

/// A Llama-family causal language model.
pub struct Llama {
    pub config: LlamaConfig,
    pub embed_tokens: Tensor, // (V, C)
    pub layers: Vec<DecoderLayer>,
    pub norm: RmsNorm,
    /// `lm_head.weight` (V, C); `None` when tied to `embed_tokens`.
    pub lm_head: Option<Tensor>,
    rope: Rope,
    device: Device,
}

impl Llama {
    /// Loads a HF-format folder: `config.json` (model_type "llama") and `model.safetensors`.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::read(&dir.join("model.safetensors"))?;
        let path = ckpt.path.clone();
        let mut tensors = ckpt.tensors;
        // A tied checkpoint may still carry lm_head.weight: accept it if it has the shape.
        if config.tie_word_embeddings {
            if let Some(t) = tensors.remove("lm_head.weight") {
                if t.size() != [config.vocab_size as i64, config.hidden_size as i64] {
                    return Err(Error::Tensor { path, name: "lm_head.weight".into(), msg: format!("has shape {:?}, but it is tied to model.embed_tokens.weight", t.size()) });
                }
            }
        }
        Self::from_tensors(config, tensors, &path, device)
    }

    /// Builds the model from tensors named and shaped as [`LlamaConfig::expected_tensors`]
    /// says; any missing, extra or wrong-shaped tensor is an error naming it.
    pub fn from_tensors(config: LlamaConfig, mut w: BTreeMap<String, Tensor>, path: &Path, device: Device) -> Result<Self> {
        let expected = config.expected_tensors();
        for (name, shape) in &expected {
            match w.get(name) {
                None => return Err(Error::Tensor { path: path.into(), name: name.clone(), msg: "is missing from the checkpoint".into() }),
                Some(t) if &t.size() != shape => {
                    return Err(Error::Tensor { path: path.into(), name: name.clone(), msg: format!("has shape {:?}, but the config implies {shape:?}", t.size()) })
                }
                _ => {}
            }
        }
        if let Some(extra) = w.keys().find(|k| !expected.iter().any(|(n, _)| n == *k)) {
            return Err(Error::Tensor { path: path.into(), name: extra.clone(), msg: "is not part of a Llama with this config (unexpected tensor)".into() });
        }
        let mut take = |name: String| -> Tensor { w.remove(&name).expect("checked above").to_kind(Kind::Float).to_device(device).set_requires_grad(false) };
        let eps = config.rms_norm_eps;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let mut lin = |n: &str| Linear { weight: take(format!("{p}.{n}.weight")) };
            let self_attn = LlamaAttention {
                q_proj: lin("self_attn.q_proj"),
                k_proj: lin("self_attn.k_proj"),
                v_proj: lin("self_attn.v_proj"),
                o_proj: lin("self_attn.o_proj"),
                n_head: config.num_attention_heads as i64,
                n_kv_head: config.num_key_value_heads as i64,
                head_dim: config.head_dim as i64,
                layer: i,
                n_ctx: config.max_position_embeddings as i64,
            };
            let mlp = LlamaMlp { gate_proj: lin("mlp.gate_proj"), up_proj: lin("mlp.up_proj"), down_proj: lin("mlp.down_proj"), layer: i };
            let input_layernorm = RmsNorm { weight: take(format!("{p}.input_layernorm.weight")), eps };
            let post_attention_layernorm = RmsNorm { weight: take(format!("{p}.post_attention_layernorm.weight")), eps };
            layers.push(DecoderLayer { input_layernorm, self_attn, post_attention_layernorm, mlp, layer: i });
        }
        let embed_tokens = take("model.embed_tokens.weight".into());
        let norm = RmsNorm { weight: take("model.norm.weight".into()), eps };
        let lm_head = (!config.tie_word_embeddings).then(|| take("lm_head.weight".into()));
        let rope = Rope::new(&config, device);
        Ok(Llama { config, embed_tokens, layers, norm, lm_head, rope, device })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The forward pass: token ids (B, T) -> logits (B, T, V), as [`crate::Gpt2::forward`].
    pub fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        check_input(ids, kv.as_deref(), self.config.vocab_size, self.config.max_position_embeddings)?;
        let ids = ids.to_device(self.device);
        let mut x = Tensor::embedding(&self.embed_tokens, &ids, -1, false, false); // (B, T, C)
        record(cap, HookPoint::Embed, &x);
        match kv {
            Some(cache) => {
                for (layer, slot) in self.layers.iter().zip(cache.slots(self.layers.len())) {
                    x = layer.forward(x, &self.rope, Some(slot), cap); // (B, T, C)
                }
            }
            None => {
                for layer in &self.layers {
                    x = layer.forward(x, &self.rope, None, cap); // (B, T, C)
                }
            }
        }
        let x = self.norm.forward(&x); // (B, T, C)
        record(cap, HookPoint::LnFinal, &x);
        let logits = x.matmul(&self.w_u()); // (B, T, C) @ (C, V) -> (B, T, V)
        record(cap, HookPoint::Logits, &logits);
        Ok(logits)
    }

    fn layer(&self, l: usize) -> Result<&DecoderLayer> {
        self.layers.get(l).ok_or(Error::BadLayer { layer: l, n_layer: self.layers.len() })
    }

    /// W_E (V, C): `model.embed_tokens.weight`.
    pub fn w_e(&self) -> &Tensor {
        &self.embed_tokens
    }

    /// W_U (C, V): `lm_head.weight` transposed, or `embed_tokens` when tied.
    pub fn w_u(&self) -> Tensor {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens).tr()
    }

    /// W_Q of block l, (H, C, D).
    pub fn w_q(&self, l: usize) -> Result<Tensor> {
        let (h, d, c) = (self.config.num_attention_heads as i64, self.config.head_dim as i64, self.config.hidden_size as i64);
        Ok(self.layer(l)?.self_attn.q_proj.weight.view([h, d, c]).transpose(1, 2)) // (H, C, D)
    }

    /// W_K of block l, (K, C, D): key head `h / (H / K)` serves query head h.
    pub fn w_k(&self, l: usize) -> Result<Tensor> {
        let (k, d, c) = (self.config.num_key_value_heads as i64, self.config.head_dim as i64, self.config.hidden_size as i64);
        Ok(self.layer(l)?.self_attn.k_proj.weight.view([k, d, c]).transpose(1, 2)) // (K, C, D)
    }

    /// W_V of block l, (K, C, D).
    pub fn w_v(&self, l: usize) -> Result<Tensor> {
        let (k, d, c) = (self.config.num_key_value_heads as i64, self.config.head_dim as i64, self.config.hidden_size as i64);
        Ok(self.layer(l)?.self_attn.v_proj.weight.view([k, d, c]).transpose(1, 2)) // (K, C, D)
    }

    /// W_O of block l, (H, D, C).
    pub fn w_o(&self, l: usize) -> Result<Tensor> {
        let (h, d, c) = (self.config.num_attention_heads as i64, self.config.head_dim as i64, self.config.hidden_size as i64);
        Ok(self.layer(l)?.self_attn.o_proj.weight.view([c, h, d]).permute([1, 2, 0])) // (H, D, C)
    }

    /// The attention output projection `o_proj.weight` of block l as stored, (C out, H D in).
    pub fn attn_proj(&self, l: usize) -> Result<&Tensor> {
        Ok(&self.layer(l)?.self_attn.o_proj.weight)
    }

    /// W_gate of block l, (C, M).
    pub fn w_gate(&self, l: usize) -> Result<Tensor> {
        Ok(self.layer(l)?.mlp.gate_proj.weight.tr())
    }

    /// W_in of block l, (C, M): `up_proj.weight` transposed.
    pub fn w_in(&self, l: usize) -> Result<Tensor> {
        Ok(self.layer(l)?.mlp.up_proj.weight.tr())
    }

    /// W_out of block l, (M, C): `down_proj.weight` transposed.
    pub fn w_out(&self, l: usize) -> Result<Tensor> {
        Ok(self.layer(l)?.mlp.down_proj.weight.tr())
    }

    /// The final RMSNorm `model.norm` applied to residual-stream vectors x (..., C) ->
    /// (..., C): what the logit lens puts between any block's output and W_U.
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        self.norm.forward(x) // (..., C)
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
            return Err(Error::Gguf { path: g.path.clone(), msg: format!("architecture `{arch}` is not supported (this reader runs `llama`, e.g. SmolLM2)") });
        }
        let u = |k: &str| g.get_u32(&format!("llama.{k}")).map(|v| v as usize);
        // Optional keys fall back to their defaults only when absent; a key that is
        // present with the wrong type is an error, never silently replaced.
        let present = |k: &str| g.get(&format!("llama.{k}")).is_ok();
        let n_head = u("attention.head_count")?;
        let hidden = u("embedding_length")?;
        let vocab = if present("vocab_size") { u("vocab_size")? } else { g.get_str_array("tokenizer.ggml.tokens")?.len() };
        let cfg = LlamaConfig {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: u("feed_forward_length")?,
            num_hidden_layers: u("block_count")?,
            num_attention_heads: n_head,
            num_key_value_heads: if present("attention.head_count_kv") { u("attention.head_count_kv")? } else { n_head },
            head_dim: if present("rope.dimension_count") { u("rope.dimension_count")? } else { hidden / n_head.max(1) },
            rms_norm_eps: g.get_f32("llama.attention.layer_norm_rms_epsilon")? as f64,
            rope_theta: if present("rope.freq_base") { g.get_f32("llama.rope.freq_base")? as f64 } else { 10000.0 },
            max_position_embeddings: u("context_length")?,
            tie_word_embeddings: !g.tensor_names().iter().any(|n| n == "output.weight"),
        };
        cfg.validate().map_err(|msg| Error::Gguf { path: g.path.clone(), msg })?;
        Ok(cfg)
    }
}

impl Llama {
    /// Loads a llama-architecture GGUF file: tensors dequantised to f32, renamed to HF's
    /// names, and llama.cpp's row permutation of `attn_q` / `attn_k` undone (its
    /// converter interleaves the two rotary halves of each head; HF keeps them apart).
    pub fn from_gguf(g: &crate::gguf::GgufFile, device: Device) -> Result<Self> {
        let config = LlamaConfig::from_gguf(g)?;
        let mut w = BTreeMap::new();
        for name in g.tensor_names() {
            let (values, shape) = g.tensor_f32(&name)?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let t = Tensor::from_slice(&values).view(shape.as_slice());
            let hf = gguf_to_hf_name(&name).ok_or_else(|| Error::Gguf { path: g.path.clone(), msg: format!("unexpected tensor `{name}` in a llama GGUF") })?;
            let t = if name.ends_with("attn_q.weight") {
                unpermute_rotary_rows(&t, config.num_attention_heads as i64)
            } else if name.ends_with("attn_k.weight") {
                unpermute_rotary_rows(&t, config.num_key_value_heads as i64)
            } else {
                t
            };
            w.insert(hf, t);
        }
        Self::from_tensors(config, w, &g.path, device)
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
    w.reshape([n_head, out / n_head / 2, 2, inp]).transpose(1, 2).reshape([out, inp]) // (out, in)
}
