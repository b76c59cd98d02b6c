//! The language models: configuration, strict checkpoint loading, GPT-2 and the
//! Llama family (SmolLM2), and [`LanguageModel`], which lets figures, the CLI and
//! notebooks hold either without caring which. Serves every model-made figure.

pub mod checkpoint;
pub mod config;
pub mod gpt2;
pub mod llama;

pub use config::Gpt2Config;
pub use gpt2::Gpt2;

use tch::Tensor;

/// Keys and values of the positions seen so far, per block: (B, K, S, D) each, where K
/// is the number of key/value heads (= H for GPT-2). Shared by every model family.
#[derive(Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of positions already in the cache.
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.size()[2] as usize,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One slot per block, created empty on first use.
    pub(crate) fn slots(&mut self, n_layer: usize) -> std::slice::IterMut<'_, Option<(Tensor, Tensor)>> {
        self.layers.resize_with(n_layer, || None);
        self.layers.iter_mut()
    }
}

use crate::error::{Error, Result};
use crate::hooks::{Capture, HookPoint, NoCapture};
pub use llama::{Llama, LlamaConfig};

/// Checks a forward call's input, for every family: ids (B, T) with T >= 1, every id
/// inside the vocabulary, and the cached plus new positions inside the context window.
pub(crate) fn check_input(ids: &Tensor, kv: Option<&KvCache>, vocab: usize, n_ctx: usize) -> Result<()> {
    let (_b, t) = ids.size2()?;
    if t == 0 {
        return Err(Error::EmptyPrompt);
    }
    let len = kv.map_or(0, |c| c.len()) + t as usize;
    if len > n_ctx {
        return Err(Error::TooLong { len, max: n_ctx });
    }
    let (lo, hi) = (ids.min().int64_value(&[]), ids.max().int64_value(&[]));
    if lo < 0 || hi >= vocab as i64 {
        return Err(Error::BadTokenId { id: if lo < 0 { lo } else { hi }, vocab });
    }
    Ok(())
}

/// Offers `t` to `cap` at `hook` if it wants it.
pub(crate) fn record(cap: &mut dyn Capture, hook: HookPoint, t: &Tensor) {
    if cap.wants(hook) {
        cap.record(hook, t);
    }
}

/// Causal attention of block `layer`, shared by every family: q (B, H, T, D) against
/// k, v (B, H, S, D), where the T queries sit at positions past..past + T. Computed
/// explicitly, as HF's "eager" attention, whether or not scores and pattern are
/// captured, so that capturing cannot change the logits. Returns z (B, T, H, D).
pub(crate) fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64, past: i64, layer: usize, cap: &mut dyn Capture) -> Tensor {
    let (t, s) = (q.size()[2], k.size()[2]);
    let att = q.matmul(&k.transpose(-2, -1)) * scale; // (B, H, T, S)
    // Query i sits at absolute position past + i and sees keys 0..=past + i.
    let mask = Tensor::ones([t, s], (tch::Kind::Bool, q.device())).tril(past); // (T, S)
    let att = att.masked_fill(&mask.logical_not(), f64::NEG_INFINITY); // (B, H, T, S)
    record(cap, HookPoint::AttnScores(layer), &att);
    let att = att.softmax(-1, tch::Kind::Float); // (B, H, T, S)
    record(cap, HookPoint::AttnPattern(layer), &att);
    att.matmul(v).transpose(1, 2) // (B, T, H, D)
}

/// What a causal language model offers to sampling: a forward pass with an optional KV
/// cache and capture, and its context window.
pub trait CausalLm {
    /// Token ids (B, T) -> logits (B, T, V); `kv` holds the positions already seen.
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor>;
    /// The longest sequence the model accepts (P).
    fn n_ctx(&self) -> usize;
}

impl CausalLm for Gpt2 {
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        Gpt2::forward(self, ids, kv, cap)
    }
    fn n_ctx(&self) -> usize {
        self.config.n_positions
    }
}

impl CausalLm for Llama {
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        Llama::forward(self, ids, kv, cap)
    }
    fn n_ctx(&self) -> usize {
        self.config.max_position_embeddings
    }
}

/// The shape of a model, family-neutral, for captions, figures and notebooks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    /// "GPT-2" or "Llama".
    pub family: &'static str,
    /// L
    pub n_layer: usize,
    /// H
    pub n_head: usize,
    /// K (= H without grouped-query attention)
    pub n_kv_head: usize,
    /// C
    pub d_model: usize,
    /// D
    pub d_head: usize,
    /// M
    pub d_mlp: usize,
    /// V
    pub vocab_size: usize,
    /// P
    pub n_ctx: usize,
    /// "learned" (a W_pos matrix) or "rotary" (RoPE).
    pub positions: &'static str,
    /// "LayerNorm" or "RMSNorm".
    pub norm: &'static str,
    /// "GELU (tanh)" or "SwiGLU".
    pub mlp: &'static str,
}

/// Either model family behind one interface, so that figures, the CLI and notebooks do
/// not care which they hold. Hook points and weights a family lacks (`PosEmbed` and
/// `W_pos` of a RoPE model, `W_gate` of GPT-2) are reported as absent, never faked.
pub enum LanguageModel {
    Gpt2(Gpt2),
    Llama(Llama),
}

impl CausalLm for LanguageModel {
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.forward(ids, kv, cap),
            LanguageModel::Llama(m) => m.forward(ids, kv, cap),
        }
    }
    fn n_ctx(&self) -> usize {
        match self {
            LanguageModel::Gpt2(m) => m.n_ctx(),
            LanguageModel::Llama(m) => CausalLm::n_ctx(m),
        }
    }
}

impl LanguageModel {
    /// The model's shape in family-neutral words.
    pub fn info(&self) -> ModelInfo {
        match self {
            LanguageModel::Gpt2(m) => {
                let c = &m.config;
                ModelInfo { family: "GPT-2", n_layer: c.n_layer, n_head: c.n_head, n_kv_head: c.n_head, d_model: c.n_embd, d_head: c.head_dim(), d_mlp: c.d_mlp(), vocab_size: c.vocab_size, n_ctx: c.n_positions, positions: "learned", norm: "LayerNorm", mlp: "GELU (tanh)" }
            }
            LanguageModel::Llama(m) => {
                let c = &m.config;
                ModelInfo { family: "Llama", n_layer: c.num_hidden_layers, n_head: c.num_attention_heads, n_kv_head: c.num_key_value_heads, d_model: c.hidden_size, d_head: c.head_dim, d_mlp: c.intermediate_size, vocab_size: c.vocab_size, n_ctx: c.max_position_embeddings, positions: "rotary", norm: "RMSNorm", mlp: "SwiGLU" }
            }
        }
    }

    /// Logits for one sequence of token ids: (T, V).
    pub fn logits(&self, ids: &[u32]) -> Result<Tensor> {
        self.run_with_cache(ids, &mut NoCapture)
    }

    /// Logits (T, V) for one sequence, with activations captured into `cap`.
    pub fn run_with_cache(&self, ids: &[u32], cap: &mut dyn Capture) -> Result<Tensor> {
        let ids = gpt2::ids_tensor(ids); // (1, T)
        Ok(self.forward(&ids, None, cap)?.squeeze_dim(0)) // (T, V)
    }

    /// Every hook point this model has, in forward order.
    pub fn hook_points(&self) -> Vec<HookPoint> {
        let all = HookPoint::all(self.info().n_layer);
        all.into_iter().filter(|h| self.check_hook(*h).is_ok()).collect()
    }

    /// Ok when the model has `hook`; else why not.
    pub fn check_hook(&self, hook: HookPoint) -> Result<()> {
        let info = self.info();
        if let Some(l) = hook.layer() {
            if l >= info.n_layer {
                return Err(Error::BadLayer { layer: l, n_layer: info.n_layer });
            }
        }
        if hook == HookPoint::PosEmbed && info.positions == "rotary" {
            return Err(self.absent("the position embedding (hook_pos_embed)", ROPE_WHY));
        }
        Ok(())
    }

    fn absent(&self, what: &str, why: &str) -> Error {
        Error::Absent { what: what.into(), model: format!("this {} model", self.info().family), why: why.into() }
    }

    /// W_E (V, C).
    pub fn w_e(&self) -> &Tensor {
        match self {
            LanguageModel::Gpt2(m) => m.w_e(),
            LanguageModel::Llama(m) => m.w_e(),
        }
    }

    /// W_pos (P, C); absent in a RoPE model.
    pub fn w_pos(&self) -> Result<&Tensor> {
        match self {
            LanguageModel::Gpt2(m) => Ok(m.w_pos()),
            LanguageModel::Llama(_) => Err(self.absent("W_pos", ROPE_WHY)),
        }
    }

    /// W_Q of block l, (H, C, D).
    pub fn w_q(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_q(l),
            LanguageModel::Llama(m) => m.w_q(l),
        }
    }

    /// W_K of block l, (K, C, D); K = H for GPT-2, and with grouped-query attention key
    /// head `h / (H / K)` serves query head h.
    pub fn w_k(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_k(l),
            LanguageModel::Llama(m) => m.w_k(l),
        }
    }

    /// W_V of block l, (K, C, D).
    pub fn w_v(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_v(l),
            LanguageModel::Llama(m) => m.w_v(l),
        }
    }

    /// The key/value head that query head `h` reads.
    pub fn kv_head_of(&self, h: usize) -> usize {
        let info = self.info();
        h / (info.n_head / info.n_kv_head)
    }

    /// W_O of block l, (H, D, C).
    pub fn w_o(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_o(l),
            LanguageModel::Llama(m) => m.w_o(l),
        }
    }

    /// The attention output projection of block l as stored in the checkpoint
    /// (GPT-2 `attn.c_proj.weight` (C in, C out); Llama `o_proj.weight` (C out, H D in)).
    pub fn attn_proj(&self, l: usize) -> Result<&Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.attn_proj(l),
            LanguageModel::Llama(m) => m.attn_proj(l),
        }
    }

    /// W_in of block l, (C, M) (Llama: the `up_proj` half of the gated MLP).
    pub fn w_in(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_in(l).map(|t| t.shallow_clone()),
            LanguageModel::Llama(m) => m.w_in(l),
        }
    }

    /// W_gate of block l, (C, M); absent in GPT-2, whose MLP is not gated.
    pub fn w_gate(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(_) => Err(self.absent("W_gate", "GPT-2's MLP is not gated: GELU(x W_in) W_out")),
            LanguageModel::Llama(m) => m.w_gate(l),
        }
    }

    /// W_out of block l, (M, C).
    pub fn w_out(&self, l: usize) -> Result<Tensor> {
        match self {
            LanguageModel::Gpt2(m) => m.w_out(l).map(|t| t.shallow_clone()),
            LanguageModel::Llama(m) => m.w_out(l),
        }
    }

    /// W_U (C, V).
    pub fn w_u(&self) -> Tensor {
        match self {
            LanguageModel::Gpt2(m) => m.w_u(),
            LanguageModel::Llama(m) => m.w_u(),
        }
    }

    /// The final norm (GPT-2 `ln_f`, Llama `model.norm`) applied to residual-stream
    /// vectors x (..., C) -> (..., C); `final_norm(x) @ W_U` are logits (the logit lens).
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        match self {
            LanguageModel::Gpt2(m) => m.final_norm(x),
            LanguageModel::Llama(m) => m.final_norm(x),
        }
    }
}

const ROPE_WHY: &str = "it uses rotary position embeddings (RoPE): positions enter by rotating each head's queries and keys, and there is no position-embedding matrix";

/// Loads a model folder (config.json + model.safetensors), GPT-2 or Llama by the
/// config's `model_type`.
pub fn load_folder(dir: &std::path::Path, device: tch::Device) -> Result<LanguageModel> {
    if dir.is_file() {
        return Err(Error::NotAFolder(dir.into()));
    }
    if !dir.is_dir() {
        return Err(Error::MissingModelDir(dir.into()));
    }
    let config = dir.join("config.json");
    let model_type = std::fs::read_to_string(&config)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("model_type").and_then(|m| m.as_str()).map(str::to_string));
    match model_type.as_deref() {
        Some("llama") => Ok(LanguageModel::Llama(Llama::load(dir, device)?)),
        _ => Ok(LanguageModel::Gpt2(Gpt2::load(dir, device)?)),
    }
}
