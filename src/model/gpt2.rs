//! GPT-2 in libtorch, read top to bottom like nanoGPT's `model.py`: `LayerNorm`,
//! `CausalSelfAttention` (`attn`), `Mlp` (`mlp`), `Block` (`h.{i}`), `Gpt2`. Struct and
//! field names equal the checkpoint keys. Tanh GELU, LayerNorm eps from config.json,
//! no dropout (also when trained from scratch, [`Gpt2::new_trainable`]), no BOS token
//! prepended, `lm_head` tied to `wte`.
//! Every hook point of [`HookPoint`] is offered to a [`Capture`] on the way.
//! Serves every model-made figure of the essay (sections 1, 5, 6, 7).
//!
//! Dimension legend: B batch, T positions in this call, S positions attended to
//! (KV-cached + T), C = n_embd, H = n_head, D = C / H, M = MLP width (4 C), V = vocab,
//! P = n_positions, L = n_layer.
//!
//! HF stores GPT-2's linear layers as `Conv1D` with weights laid out (in, out), so
//! `y = x @ W + b` with no transpose; the loader keeps that orientation as it is.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{Capture, HookPoint, NoCapture};
use crate::model::checkpoint::Checkpoint;
use crate::model::config::Gpt2Config;
use crate::model::{causal_attention, check_input, record, KvCache, LayerKv};

/// A linear layer in HF's `Conv1D` layout: `weight` (in, out), `bias` (out).
pub struct Conv1D {
    pub weight: Tensor, // (in, out)
    pub bias: Tensor,   // (out)
}

impl Conv1D {
    fn forward(&self, x: &Tensor) -> Tensor {
        // One fused bias + matrix product over the rows, as HF's Conv1D (`addmm`).
        let mut shape = x.size();
        let n_in = shape.pop().expect("a linear layer input has a last dimension");
        shape.push(self.weight.size()[1]);
        self.bias.addmm(&x.reshape([-1, n_in]), &self.weight).view(shape.as_slice()) // (..., in) @ (in, out) -> (..., out)
    }
}

/// `ln_1`, `ln_2`, `ln_f`.
pub struct LayerNorm {
    pub weight: Tensor, // (C)
    pub bias: Tensor,   // (C)
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let c = *x.size().last().expect("LayerNorm input has a last dimension");
        x.layer_norm([c], Some(&self.weight), Some(&self.bias), self.eps, false) // (B, T, C)
    }
}

/// `h.{i}.attn`: causal multi-head self-attention.
pub struct CausalSelfAttention {
    pub c_attn: Conv1D, // (C, 3C): q, k, v side by side
    pub c_proj: Conv1D, // (C, C): heads back into the residual stream
    n_head: i64,
    layer: usize,
    /// 1 / sqrt(D), times 1 / (layer + 1) when config.json asks for it.
    scale: f64,
    /// The context window: the KV cache never holds more positions.
    n_ctx: i64,
}

impl CausalSelfAttention {
    fn forward(&self, x: &Tensor, kv: Option<&mut Option<LayerKv>>, cap: &mut dyn Capture) -> Tensor {
        let (b, t, c) = x.size3().expect("attention input is (B, T, C)");
        let (h, d) = (self.n_head, c / self.n_head);
        let l = self.layer;
        let qkv = self.c_attn.forward(x); // (B, T, 3C)
        let qkv = qkv.split(c, 2);
        let q = qkv[0].view([b, t, h, d]); // (B, T, H, D)
        let k = qkv[1].view([b, t, h, d]); // (B, T, H, D)
        let v = qkv[2].view([b, t, h, d]); // (B, T, H, D)
        record(cap, HookPoint::AttnQ(l), &q);
        record(cap, HookPoint::AttnK(l), &k);
        record(cap, HookPoint::AttnV(l), &v);
        let q = q.transpose(1, 2); // (B, H, T, D)
        let k = k.transpose(1, 2); // (B, H, T, D)
        let v = v.transpose(1, 2); // (B, H, T, D)
        let (k, v, past) = match kv {
            Some(slot) => {
                let (k, v) = LayerKv::append(slot, &k, &v, self.n_ctx); // (B, H, S, D) each
                let past = k.size()[2] - t;
                (k, v, past)
            }
            None => (k, v, 0),
        };
        let z = causal_attention(&q, &k, &v, self.scale, past, l, cap); // (B, T, H, D)
        record(cap, HookPoint::AttnZ(l), &z);
        self.c_proj.forward(&z.reshape([b, t, c])) // (B, T, C)
    }
}

/// `h.{i}.mlp`: two linear layers with a tanh GELU between them.
pub struct Mlp {
    pub c_fc: Conv1D,   // (C, M)
    pub c_proj: Conv1D, // (M, C)
    layer: usize,
}

impl Mlp {
    fn forward(&self, x: &Tensor, cap: &mut dyn Capture) -> Tensor {
        let pre = self.c_fc.forward(x); // (B, T, M)
        record(cap, HookPoint::MlpPre(self.layer), &pre);
        let post = pre.gelu("tanh"); // (B, T, M)
        record(cap, HookPoint::MlpPost(self.layer), &post);
        self.c_proj.forward(&post) // (B, T, C)
    }
}

/// `h.{i}`: one transformer block, pre-LayerNorm, residual around each half.
pub struct Block {
    pub ln_1: LayerNorm,
    pub attn: CausalSelfAttention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
    layer: usize,
}

impl Block {
    fn forward(&self, x: Tensor, kv: Option<&mut Option<LayerKv>>, cap: &mut dyn Capture) -> Tensor {
        let l = self.layer;
        record(cap, HookPoint::ResidPre(l), &x);
        let attn_out = self.attn.forward(&self.ln_1.forward(&x), kv, cap); // (B, T, C)
        record(cap, HookPoint::AttnOut(l), &attn_out);
        let x = x + attn_out; // (B, T, C)
        record(cap, HookPoint::ResidMid(l), &x);
        let mlp_out = self.mlp.forward(&self.ln_2.forward(&x), cap); // (B, T, C)
        record(cap, HookPoint::MlpOut(l), &mlp_out);
        let x = x + mlp_out; // (B, T, C)
        record(cap, HookPoint::ResidPost(l), &x);
        x
    }
}

/// GPT-2 with its language-model head (`lm_head` tied to `wte`).
pub struct Gpt2 {
    pub config: Gpt2Config,
    pub wte: Tensor, // (V, C)
    pub wpe: Tensor, // (P, C)
    pub h: Vec<Block>,
    pub ln_f: LayerNorm,
    device: Device,
}


impl Gpt2 {
    /// The tensors a checkpoint of this config must hold: (name, shape), in the hub's
    /// canonical names and HF's `Conv1D` (in, out) layout.
    pub fn expected_tensors(cfg: &Gpt2Config) -> Vec<(String, Vec<i64>)> {
        let (v, p, c, m) = (cfg.vocab_size as i64, cfg.n_positions as i64, cfg.n_embd as i64, cfg.d_mlp() as i64);
        let mut out = vec![("wte.weight".to_string(), vec![v, c]), ("wpe.weight".to_string(), vec![p, c])];
        for i in 0..cfg.n_layer {
            for (name, shape) in [
                ("ln_1.weight", vec![c]),
                ("ln_1.bias", vec![c]),
                ("attn.c_attn.weight", vec![c, 3 * c]),
                ("attn.c_attn.bias", vec![3 * c]),
                ("attn.c_proj.weight", vec![c, c]),
                ("attn.c_proj.bias", vec![c]),
                ("ln_2.weight", vec![c]),
                ("ln_2.bias", vec![c]),
                ("mlp.c_fc.weight", vec![c, m]),
                ("mlp.c_fc.bias", vec![m]),
                ("mlp.c_proj.weight", vec![m, c]),
                ("mlp.c_proj.bias", vec![c]),
            ] {
                out.push((format!("h.{i}.{name}"), shape));
            }
        }
        out.push(("ln_f.weight".into(), vec![c]));
        out.push(("ln_f.bias".into(), vec![c]));
        out
    }

    /// Loads `config.json` and `model.safetensors` from a model folder, strictly.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        if dir.is_file() {
            return Err(Error::NotAFolder(dir.into()));
        }
        if !dir.is_dir() {
            return Err(Error::MissingModelDir(dir.into()));
        }
        let config = Gpt2Config::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::read(&dir.join("model.safetensors"))?;
        let tensors = ckpt.into_gpt2(&Self::expected_tensors(&config))?;
        Self::from_tensors(config, tensors, device)
    }

    /// Builds the model from tensors named and shaped as [`Gpt2::expected_tensors`] says.
    pub fn from_tensors(config: Gpt2Config, mut w: BTreeMap<String, Tensor>, device: Device) -> Result<Self> {
        let expected = Self::expected_tensors(&config);
        for (name, shape) in &expected {
            match w.get(name) {
                None => return Err(Error::Tensor { path: "<tensors>".into(), name: name.clone(), msg: "is missing".into() }),
                Some(t) if &t.size() != shape => {
                    return Err(Error::Tensor { path: "<tensors>".into(), name: name.clone(), msg: format!("has shape {:?}, expected {shape:?}", t.size()) })
                }
                _ => {}
            }
        }
        let mut take = |name: String| -> Tensor { w.remove(&name).expect("checked above").to_kind(Kind::Float).to_device(device) };
        let eps = config.layer_norm_epsilon;
        let head_dim = config.head_dim() as f64;
        let mut h = Vec::with_capacity(config.n_layer);
        for i in 0..config.n_layer {
            let mut scale = if config.scale_attn_weights { 1.0 / head_dim.sqrt() } else { 1.0 };
            if config.scale_attn_by_inverse_layer_idx {
                scale /= (i + 1) as f64;
            }
            let mut ln = |n: &str| LayerNorm { weight: take(format!("h.{i}.{n}.weight")), bias: take(format!("h.{i}.{n}.bias")), eps };
            let ln_1 = ln("ln_1");
            let ln_2 = ln("ln_2");
            let mut conv = |n: &str| Conv1D { weight: take(format!("h.{i}.{n}.weight")), bias: take(format!("h.{i}.{n}.bias")) };
            let attn = CausalSelfAttention { c_attn: conv("attn.c_attn"), c_proj: conv("attn.c_proj"), n_head: config.n_head as i64, layer: i, scale, n_ctx: config.n_positions as i64 };
            let mlp = Mlp { c_fc: conv("mlp.c_fc"), c_proj: conv("mlp.c_proj"), layer: i };
            h.push(Block { ln_1, attn, ln_2, mlp, layer: i });
        }
        let wte = take("wte.weight".into());
        let wpe = take("wpe.weight".into());
        let ln_f = LayerNorm { weight: take("ln_f.weight".into()), bias: take("ln_f.bias".into()), eps };
        Ok(Gpt2 { config, wte, wpe, h, ln_f, device })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The forward pass: token ids (B, T) -> logits (B, T, V).
    ///
    /// With a `kv` cache, `ids` are the positions after those already cached, and the
    /// cache is extended. Every hook point is offered to `cap`.
    pub fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        self.run(ids, kv, cap)
    }

    /// The forward pass itself, with gradients when the caller allows them:
    /// [`Gpt2::forward`] (inference, no gradients) and [`Gpt2::forward_train`] share it.
    fn run(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        check_input(ids, kv.as_deref(), self.config.vocab_size, self.config.n_positions)?;
        let (past, t) = (kv.as_ref().map_or(0, |c| c.len()) as i64, ids.size()[1]);
        let ids = ids.to_device(self.device);
        let pos = Tensor::arange_start(past, past + t, (Kind::Int64, self.device)); // (T)
        let tok_emb = Tensor::embedding(&self.wte, &ids, -1, false, false); // (B, T, C)
        let pos_emb = Tensor::embedding(&self.wpe, &pos, -1, false, false).unsqueeze(0); // (1, T, C)
        if cap.wants(HookPoint::Embed) {
            cap.record(HookPoint::Embed, &tok_emb);
        }
        if cap.wants(HookPoint::PosEmbed) {
            cap.record(HookPoint::PosEmbed, &pos_emb.expand_as(&tok_emb));
        }
        let mut x = tok_emb + pos_emb; // (B, T, C)
        match kv {
            Some(cache) => {
                for (block, slot) in self.h.iter().zip(cache.slots(self.h.len())) {
                    x = block.forward(x, Some(slot), cap); // (B, T, C)
                }
            }
            None => {
                for block in &self.h {
                    x = block.forward(x, None, cap); // (B, T, C)
                }
            }
        }
        let x = self.ln_f.forward(&x); // (B, T, C)
        record(cap, HookPoint::LnFinal, &x);
        let logits = x.matmul(&self.wte.tr()); // (B, T, C) @ (C, V) -> (B, T, V)
        record(cap, HookPoint::Logits, &logits);
        Ok(logits)
    }

    /// Logits for one sequence of token ids: (T, V).
    pub fn logits(&self, ids: &[u32]) -> Result<Tensor> {
        let ids = ids_tensor(ids); // (1, T)
        Ok(self.forward(&ids, None, &mut NoCapture)?.squeeze_dim(0)) // (T, V)
    }

    /// Logits (T, V) for one sequence, with activations captured into `cap`.
    pub fn run_with_cache(&self, ids: &[u32], cap: &mut dyn Capture) -> Result<Tensor> {
        let ids = ids_tensor(ids); // (1, T)
        Ok(self.forward(&ids, None, cap)?.squeeze_dim(0)) // (T, V)
    }

    /// A GPT-2 of `config` with fresh trainable weights, created as variables of
    /// `path`'s var store under the names of [`Gpt2::expected_tensors`] (so a trained
    /// model saves and loads like a checkpoint), initialised as GPT-2 was: normal(0, 0.02)
    /// for embeddings and matrices, zero biases, LayerNorm gain 1. For training a tiny
    /// model from scratch (the parentheses transformer of essay section 7); train it with
    /// [`Gpt2::forward_train`], since [`Gpt2::forward`] runs without gradients.
    pub fn new_trainable(path: &tch::nn::Path, config: Gpt2Config) -> Result<Self> {
        let mut w = BTreeMap::new();
        for (name, shape) in Self::expected_tensors(&config) {
            let init = if name.ends_with(".bias") {
                tch::nn::Init::Const(0.0)
            } else if name.starts_with("ln_") || name.contains(".ln_") {
                tch::nn::Init::Const(1.0)
            } else {
                tch::nn::Init::Randn { mean: 0.0, stdev: 0.02 }
            };
            // The var store forbids '.' in a variable name: "h.0.ln_1.weight" is the
            // variable "weight" under the sub-paths h / 0 / ln_1.
            let mut parts: Vec<&str> = name.split('.').collect();
            let leaf = parts.pop().expect("a tensor name is not empty");
            let sub = parts.iter().fold(path.clone(), |p, part| p / *part);
            let var = sub.var(leaf, &shape, init);
            w.insert(name, var);
        }
        // from_tensors keeps these very tensors (float on the var store's device pass
        // through to_kind/to_device unchanged), so the model trains the var store's
        // variables.
        Self::from_tensors(config, w, path.device())
    }

    /// The forward pass with gradients, for training: token ids (B, T) -> logits
    /// (B, T, V). No KV cache, no capture; the ids are checked as in [`Gpt2::forward`].
    pub fn forward_train(&self, ids: &Tensor) -> Result<Tensor> {
        self.run(ids, None, &mut NoCapture)
    }
}

/// Weight matrices, oriented as TransformerLens states them: activations are row
/// vectors multiplied on the left (`x @ W`).
impl Gpt2 {
    fn block(&self, l: usize) -> Result<&Block> {
        self.h.get(l).ok_or(Error::BadLayer { layer: l, n_layer: self.h.len() })
    }

    /// W_E (V, C): row i is the embedding of token i (`wte.weight`).
    pub fn w_e(&self) -> &Tensor {
        &self.wte
    }

    /// W_pos (P, C): row p is the embedding of position p (`wpe.weight`).
    pub fn w_pos(&self) -> &Tensor {
        &self.wpe
    }

    /// W_U (C, V): the unembedding, `wte` transposed (GPT-2 ties them).
    pub fn w_u(&self) -> Tensor {
        self.wte.tr()
    }

    fn qkv_part(&self, l: usize, part: i64) -> Result<Tensor> {
        let c = self.config.n_embd as i64;
        let (h, d) = (self.config.n_head as i64, self.config.head_dim() as i64);
        let w = &self.block(l)?.attn.c_attn.weight; // (C, 3C)
        Ok(w.narrow(1, part * c, c).view([c, h, d]).permute([1, 0, 2])) // (H, C, D)
    }

    /// W_Q of block l, (H, C, D): head h's queries are `x @ W_Q[h] + b_Q[h]`.
    pub fn w_q(&self, l: usize) -> Result<Tensor> {
        self.qkv_part(l, 0)
    }
    /// W_K of block l, (H, C, D).
    pub fn w_k(&self, l: usize) -> Result<Tensor> {
        self.qkv_part(l, 1)
    }
    /// W_V of block l, (H, C, D).
    pub fn w_v(&self, l: usize) -> Result<Tensor> {
        self.qkv_part(l, 2)
    }

    /// b_Q, b_K, b_V of block l, each (H, D).
    pub fn b_qkv(&self, l: usize) -> Result<(Tensor, Tensor, Tensor)> {
        let (h, d) = (self.config.n_head as i64, self.config.head_dim() as i64);
        let b = self.block(l)?.attn.c_attn.bias.view([3, h, d]); // (3, H, D)
        Ok((b.get(0), b.get(1), b.get(2)))
    }

    /// W_O of block l, (H, D, C): head h writes `z[h] @ W_O[h]` into the residual stream.
    pub fn w_o(&self, l: usize) -> Result<Tensor> {
        let (h, d, c) = (self.config.n_head as i64, self.config.head_dim() as i64, self.config.n_embd as i64);
        Ok(self.block(l)?.attn.c_proj.weight.view([h, d, c])) // (H, D, C)
    }

    /// The attention output projection `attn.c_proj.weight` of block l as stored,
    /// (C in, C out): 768x768 in GPT-2 small. The essay's "attention matrix" picture.
    pub fn attn_proj(&self, l: usize) -> Result<&Tensor> {
        Ok(&self.block(l)?.attn.c_proj.weight)
    }

    /// W_in of block l, (C, M): `mlp.c_fc.weight`.
    pub fn w_in(&self, l: usize) -> Result<&Tensor> {
        Ok(&self.block(l)?.mlp.c_fc.weight)
    }

    /// W_out of block l, (M, C): `mlp.c_proj.weight`.
    pub fn w_out(&self, l: usize) -> Result<&Tensor> {
        Ok(&self.block(l)?.mlp.c_proj.weight)
    }

    /// The final LayerNorm `ln_f` applied to residual-stream vectors x (..., C) -> (..., C):
    /// what the logit lens puts between any block's output and W_U.
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        self.ln_f.forward(x) // (..., C)
    }
}

/// Token ids as a (1, T) int64 tensor.
pub fn ids_tensor(ids: &[u32]) -> Tensor {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_slice(&v).unsqueeze(0) // (1, T)
}
