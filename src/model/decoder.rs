//! The one decoder every family runs through, read top to bottom like nanoGPT's
//! `model.py`: [`Linear`], [`Norm`], [`Attention`] (`attn`), [`Mlp`] (`mlp`), [`Block`]
//! (`h.{i}`) and [`LanguageModel`]. Field names are GPT-2's checkpoint keys (`wte`,
//! `wpe`, `h`, `ln_1`, `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`,
//! `ln_f`); a family's [`NameMap`] says what each is called in its own checkpoint
//! (Llama's `model.layers.{i}.self_attn.q_proj` ...), and its [`ModelInfo`] what differs
//! in kind (norm, positions, MLP, key/value heads). Every [`HookPoint`] is offered to a
//! [`Capture`] on the way, which may read the activation and may hand back a
//! replacement (ablation, patching, steering: [`crate::intervene`]).
//! Serves every model-made figure of the essay (sections 1, 5, 6, 7).
//!
//! Dimension legend: B batch, T positions in this call, S positions attended to
//! (KV-cached + T), C width, H query heads, K key/value heads, D head width,
//! M MLP width, V vocabulary, P context window, L blocks.
//!
//! Every linear weight is kept as `x @ W` wants it, (in, out): GPT-2's `Conv1D` stores
//! it so; `nn.Linear` checkpoints (Llama) store (out, in) and the loader takes a
//! transposed view, once ([`NameMap::layout`]).

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{Capture, HookPoint, NoCapture};
use crate::model::config::{MlpKind, ModelInfo, NormKind, Positions};
use crate::model::weights::{Init, Weights};
use crate::model::{causal_attention, check_input, KvCache, LayerKv};

/// How a family's checkpoint stores linear weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// (in, out), as HF's GPT-2 `Conv1D`.
    InOut,
    /// (out, in), as `torch.nn.Linear`.
    OutIn,
}

/// Where the decoder's parts live in a family's checkpoint: each name written once.
/// Block names are relative to `block` + `.{i}.`.
#[derive(Debug)]
pub struct NameMap {
    pub wte: &'static str,
    /// The learned position embedding; `None` for rotary models.
    pub wpe: Option<&'static str>,
    /// The prefix of block i's names, before `.{i}`.
    pub block: &'static str,
    pub ln_1: &'static str,
    /// The attention's query/key/value projection: one fused matrix, or three.
    pub qkv: Qkv,
    pub attn_out: &'static str,
    pub ln_2: &'static str,
    /// The gate of a gated MLP (`None` for GELU MLPs); loaded before `mlp_in`.
    pub mlp_gate: Option<&'static str>,
    pub mlp_in: &'static str,
    pub mlp_out: &'static str,
    pub ln_f: &'static str,
    /// The unembedding when it is not tied to `wte`.
    pub lm_head: &'static str,
    pub layout: Layout,
}

/// The names of the attention's input projections.
#[derive(Debug)]
pub enum Qkv {
    /// One (C, (H + 2K) D) matrix, queries, keys and values side by side (GPT-2).
    Fused(&'static str),
    /// Three matrices, concatenated at load into the fused one (Llama).
    Split([&'static str; 3]),
}

/// A linear layer `y = x @ weight + bias`.
pub struct Linear {
    pub weight: Tensor,       // (in, out)
    pub bias: Option<Tensor>, // (out)
}

impl Linear {
    fn load(w: &mut Weights, name: &str, n_in: i64, n_out: i64, bias: bool, layout: Layout) -> Result<Self> {
        let weight = match layout {
            Layout::InOut => w.get(&format!("{name}.weight"), &[n_in, n_out], Init::Matrix)?, // (in, out)
            Layout::OutIn => w.get(&format!("{name}.weight"), &[n_out, n_in], Init::Matrix)?.tr(), // (out, in) -> (in, out) view
        };
        let bias = if bias {
            Some(w.get(&format!("{name}.bias"), &[n_out], Init::Zeros)?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        linear(x, &self.weight, self.bias.as_ref())
    }
}

/// `x @ weight + bias` over the last dimension: (..., in) @ (in, out) -> (..., out).
fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    match bias {
        Some(b) => {
            // One fused bias + matrix product over the rows, as HF's Conv1D (`addmm`).
            let mut shape = x.size();
            let n_in = shape.pop().expect("a linear layer input has a last dimension");
            shape.push(weight.size()[1]);
            b.addmm(&x.reshape([-1, n_in]), weight).view(shape.as_slice()) // (..., in) @ (in, out) -> (..., out)
        }
        None => x.matmul(weight), // (..., in) @ (in, out) -> (..., out)
    }
}

/// `ln_1`, `ln_2`, `ln_f`: LayerNorm or RMSNorm, as the model's [`ModelInfo::norm`] says.
pub struct Norm {
    pub weight: Tensor,       // (C)
    pub bias: Option<Tensor>, // (C), LayerNorm only
    pub kind: NormKind,
}

impl Norm {
    fn load(w: &mut Weights, name: &str, c: i64, kind: NormKind) -> Result<Self> {
        let weight = w.get(&format!("{name}.weight"), &[c], Init::Ones)?;
        let bias = match kind {
            NormKind::Layer { .. } => Some(w.get(&format!("{name}.bias"), &[c], Init::Zeros)?),
            NormKind::Rms { .. } => None,
        };
        Ok(Norm { weight, bias, kind })
    }

    /// x (..., C) -> (..., C).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self.kind {
            NormKind::Layer { eps } => {
                let c = *x.size().last().expect("a norm's input has a last dimension");
                x.layer_norm([c], Some(&self.weight), self.bias.as_ref(), eps, false)
                // (..., C)
            }
            NormKind::Rms { eps } => {
                let var = x.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float); // (..., 1)
                (x * (var + eps).rsqrt()) * &self.weight // (..., C)
            }
        }
    }
}

/// Rotary position embeddings: cos and sin tables for every position, (P, D) each, laid
/// out as HF does (the two halves of a head rotate together: `rotate_half`).
pub struct Rope {
    cos: Tensor, // (P, D)
    sin: Tensor, // (P, D)
}

impl Rope {
    fn new(theta: f64, d: i64, n_ctx: i64, device: Device) -> Self {
        let exponent = Tensor::arange_start_step(0, d, 2, (Kind::Int64, device)).to_kind(Kind::Float) / d as f64; // (D/2)
        let inv_freq = Tensor::pow_scalar(theta, &exponent).reciprocal(); // (D/2)
        let pos = Tensor::arange(n_ctx, (Kind::Float, device)); // (P)
        let freqs = pos.outer(&inv_freq); // (P, D/2)
        let emb = Tensor::cat(&[&freqs, &freqs], -1); // (P, D)
        Rope {
            cos: emb.cos(),
            sin: emb.sin(),
        }
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

/// Offers x to `cap` at `hook`: a capture that wants it may replace it (same shape),
/// then records what goes on.
pub(crate) fn hook(cap: &mut dyn Capture, point: HookPoint, x: Tensor) -> Result<Tensor> {
    if !cap.wants(point) {
        return Ok(x);
    }
    let x = match cap.replace(point, &x) {
        Some(r) if r.size() != x.size() => {
            return Err(Error::BadReplacement {
                hook: point.tl_name(),
                expected: x.size(),
                got: r.size(),
            })
        }
        Some(r) => r.to_kind(x.kind()).to_device(x.device()),
        None => x,
    };
    cap.record(point, &x);
    Ok(x)
}

/// `h.{i}.attn`: causal self-attention; with grouped-query attention (K < H) query
/// head h reads key/value head h / (H / K).
pub struct Attention {
    pub c_attn: Linear, // (C, (H + 2K) D): queries, keys, values side by side
    pub c_proj: Linear, // (H D, C): heads back into the residual stream
    n_head: i64,
    n_kv_head: i64,
    d_head: i64,
    scale: f64,
    layer: usize,
    /// The context window: the KV cache never holds more positions.
    n_ctx: i64,
    /// Whether the checkpoint had separate q/k/v projections: then they run as three
    /// products on column blocks of `c_attn` (the layout they had in the checkpoint;
    /// measured on SmolLM2, one product over the concatenation made 128-token prefills
    /// ~25 % slower, its outputs being strided views).
    split: bool,
}

impl Attention {
    fn load(w: &mut Weights, p: &str, names: &NameMap, info: &ModelInfo, layer: usize) -> Result<Self> {
        let (c, h, k, d) = (
            info.d_model as i64,
            info.n_head as i64,
            info.n_kv_head as i64,
            info.d_head as i64,
        );
        let c_attn = match names.qkv {
            Qkv::Fused(n) => Linear::load(w, &format!("{p}.{n}"), c, (h + 2 * k) * d, info.bias, names.layout)?,
            Qkv::Split([q, kn, v]) => {
                let q = Linear::load(w, &format!("{p}.{q}"), c, h * d, info.bias, names.layout)?;
                let kl = Linear::load(w, &format!("{p}.{kn}"), c, k * d, info.bias, names.layout)?;
                let v = Linear::load(w, &format!("{p}.{v}"), c, k * d, info.bias, names.layout)?;
                let _guard = tch::no_grad_guard();
                // One product instead of three; kept (out, in) in memory like the others.
                let weight = Tensor::cat(&[q.weight.tr(), kl.weight.tr(), v.weight.tr()], 0).tr(); // (C, (H + 2K) D)
                let bias = match (q.bias, kl.bias, v.bias) {
                    (Some(a), Some(b), Some(c)) => Some(Tensor::cat(&[a, b, c], 0)), // ((H + 2K) D)
                    _ => None,
                };
                Linear { weight, bias }
            }
        };
        let c_proj = Linear::load(w, &format!("{p}.{}", names.attn_out), h * d, c, info.bias, names.layout)?;
        Ok(Attention {
            c_attn,
            c_proj,
            n_head: h,
            n_kv_head: k,
            d_head: d,
            scale: info.attn_scale_of(layer),
            layer,
            n_ctx: info.n_ctx as i64,
            split: matches!(names.qkv, Qkv::Split(_)),
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        rope: Option<&Rope>,
        kv: Option<&mut Option<LayerKv>>,
        cap: &mut dyn Capture,
    ) -> Result<Tensor> {
        let (b, t, _c) = x.size3()?;
        let (h, k, d, l) = (self.n_head, self.n_kv_head, self.d_head, self.layer);
        let qkv = if self.split {
            let (w, bias) = (&self.c_attn.weight, self.c_attn.bias.as_ref()); // (C, (H + 2K) D)
            let part = |start: i64, len: i64| {
                linear(
                    x,
                    &w.narrow(1, start, len),
                    bias.map(|b| b.narrow(0, start, len)).as_ref(),
                )
            };
            vec![part(0, h * d), part(h * d, k * d), part((h + k) * d, k * d)] // (B, T, HD), (B, T, KD) x 2
        } else {
            self.c_attn.forward(x).split_with_sizes([h * d, k * d, k * d], 2) // (B, T, HD), (B, T, KD) x 2
        };
        let q = hook(cap, HookPoint::AttnQ(l), qkv[0].view([b, t, h, d]))?; // (B, T, H, D)
        let kk = hook(cap, HookPoint::AttnK(l), qkv[1].view([b, t, k, d]))?; // (B, T, K, D)
        let v = hook(cap, HookPoint::AttnV(l), qkv[2].view([b, t, k, d]))?; // (B, T, K, D)
        let past = kv.as_ref().and_then(|s| s.as_ref()).map_or(0, |c| c.len);
        let (q, kk) = (q.transpose(1, 2), kk.transpose(1, 2)); // (B, H, T, D), (B, K, T, D)
        let (q, kk) = match rope {
            Some(r) => (r.apply(&q, past), r.apply(&kk, past)), // rotated: (B, H, T, D), (B, K, T, D)
            None => (q, kk),
        };
        let v = v.transpose(1, 2); // (B, K, T, D)
        let (kk, v) = match kv {
            Some(slot) => LayerKv::append(slot, &kk, &v, self.n_ctx), // (B, K, S, D) each
            None => (kk, v),
        };
        let z = causal_attention(&q, &kk, &v, self.scale, past, l, cap)?; // (B, T, H, D)
        let z = hook(cap, HookPoint::AttnZ(l), z)?; // (B, T, H, D)
        Ok(self.c_proj.forward(&z.reshape([b, t, h * d]))) // (B, T, C)
    }
}

/// `h.{i}.mlp`: `c_proj(GELU(c_fc(x)))`, or gated `c_proj(SiLU(gate(x)) * c_fc(x))`.
pub struct Mlp {
    /// The gate of a gated MLP (Llama's `gate_proj`), (C, M).
    pub gate: Option<Linear>,
    pub c_fc: Linear,   // (C, M)
    pub c_proj: Linear, // (M, C)
    layer: usize,
}

impl Mlp {
    fn load(w: &mut Weights, p: &str, names: &NameMap, info: &ModelInfo, layer: usize) -> Result<Self> {
        let (c, m) = (info.d_model as i64, info.d_mlp as i64);
        let gate = match (info.mlp, names.mlp_gate) {
            (MlpKind::SwiGlu, Some(g)) => Some(Linear::load(w, &format!("{p}.{g}"), c, m, info.bias, names.layout)?),
            (MlpKind::Gelu, _) => None,
            (MlpKind::SwiGlu, None) => {
                return Err(Error::BadConfig(crate::model::config::ConfigError::GatedWithoutGate))
            }
        };
        let c_fc = Linear::load(w, &format!("{p}.{}", names.mlp_in), c, m, info.bias, names.layout)?;
        let c_proj = Linear::load(w, &format!("{p}.{}", names.mlp_out), m, c, info.bias, names.layout)?;
        Ok(Mlp {
            gate,
            c_fc,
            c_proj,
            layer,
        })
    }

    fn forward(&self, x: &Tensor, cap: &mut dyn Capture) -> Result<Tensor> {
        let l = self.layer;
        let post = match &self.gate {
            None => {
                let pre = hook(cap, HookPoint::MlpPre(l), self.c_fc.forward(x))?; // (B, T, M)
                pre.gelu("tanh") // (B, T, M)
            }
            Some(gate) => {
                let pre = hook(cap, HookPoint::MlpPre(l), gate.forward(x))?; // (B, T, M): the gate
                pre.silu() * self.c_fc.forward(x) // (B, T, M)
            }
        };
        let post = hook(cap, HookPoint::MlpPost(l), post)?; // (B, T, M)
        Ok(self.c_proj.forward(&post)) // (B, T, C)
    }
}

/// `h.{i}`: one transformer block, pre-norm, a residual around each half.
pub struct Block {
    pub ln_1: Norm,
    pub attn: Attention,
    pub ln_2: Norm,
    pub mlp: Mlp,
    layer: usize,
}

impl Block {
    fn load(w: &mut Weights, names: &NameMap, info: &ModelInfo, layer: usize) -> Result<Self> {
        let p = format!("{}.{layer}", names.block);
        let c = info.d_model as i64;
        let ln_1 = Norm::load(w, &format!("{p}.{}", names.ln_1), c, info.norm)?;
        let attn = Attention::load(w, &p, names, info, layer)?;
        let ln_2 = Norm::load(w, &format!("{p}.{}", names.ln_2), c, info.norm)?;
        let mlp = Mlp::load(w, &p, names, info, layer)?;
        Ok(Block {
            ln_1,
            attn,
            ln_2,
            mlp,
            layer,
        })
    }

    fn forward(
        &self,
        x: Tensor,
        rope: Option<&Rope>,
        kv: Option<&mut Option<LayerKv>>,
        cap: &mut dyn Capture,
    ) -> Result<Tensor> {
        let l = self.layer;
        let x = hook(cap, HookPoint::ResidPre(l), x)?; // (B, T, C)
        let attn_out = self.attn.forward(&self.ln_1.forward(&x), rope, kv, cap)?; // (B, T, C)
        let attn_out = hook(cap, HookPoint::AttnOut(l), attn_out)?; // (B, T, C)
        let x = hook(cap, HookPoint::ResidMid(l), x + attn_out)?; // (B, T, C)
        let mlp_out = self.mlp.forward(&self.ln_2.forward(&x), cap)?; // (B, T, C)
        let mlp_out = hook(cap, HookPoint::MlpOut(l), mlp_out)?; // (B, T, C)
        hook(cap, HookPoint::ResidPost(l), x + mlp_out) // (B, T, C)
    }
}

/// A decoder-only transformer language model of any supported family.
pub struct LanguageModel {
    info: ModelInfo,
    names: &'static NameMap,
    pub wte: Tensor,         // (V, C)
    pub wpe: Option<Tensor>, // (P, C), learned positions only
    pub h: Vec<Block>,
    pub ln_f: Norm,
    /// The unembedding (V, C) when not tied to `wte`.
    pub lm_head: Option<Tensor>,
    rope: Option<Rope>,
    device: Device,
}

impl LanguageModel {
    /// Builds the decoder of `info` from `w`, each module taking its tensors by the
    /// names of `names`, in the checkpoint's canonical order (embeddings, then each
    /// block, then the final norm and head). The caller ends with [`Weights::finish`],
    /// which refuses tensors no module took.
    pub fn build(info: ModelInfo, names: &'static NameMap, w: &mut Weights) -> Result<Self> {
        info.validate()?;
        let (v, c) = (info.vocab_size as i64, info.d_model as i64);
        let device = w.device();
        let wte = w.get(&format!("{}.weight", names.wte), &[v, c], Init::Matrix)?; // (V, C)
        let wpe = match (info.positions, names.wpe) {
            (Positions::Learned, Some(n)) => {
                Some(w.get(&format!("{n}.weight"), &[info.n_ctx as i64, c], Init::Matrix)?)
            } // (P, C)
            (Positions::Learned, None) => {
                return Err(Error::BadConfig(crate::model::config::ConfigError::LearnedWithoutTable))
            }
            (Positions::Rotary { .. }, _) => None,
        };
        let h = (0..info.n_layer)
            .map(|l| Block::load(w, names, &info, l))
            .collect::<Result<Vec<_>>>()?;
        let ln_f = Norm::load(w, names.ln_f, c, info.norm)?;
        let lm_head = if info.tied_embeddings {
            None
        } else {
            Some(w.get(&format!("{}.weight", names.lm_head), &[v, c], Init::Matrix)?)
        };
        let rope = match info.positions {
            Positions::Rotary { theta } => Some(Rope::new(theta, info.d_head as i64, info.n_ctx as i64, device)),
            Positions::Learned => None,
        };
        Ok(LanguageModel {
            info,
            names,
            wte,
            wpe,
            h,
            ln_f,
            lm_head,
            rope,
            device,
        })
    }

    /// The tensors a checkpoint of `info` must hold in a family's names: (name, shape),
    /// in canonical order and the checkpoint's own layout. The loader itself lists
    /// them, run against placeholders that hold no memory.
    pub fn expected_tensors(info: &ModelInfo, names: &'static NameMap) -> Result<Vec<(String, Vec<i64>)>> {
        let mut w = Weights::listing();
        Self::build(*info, names, &mut w)?;
        Ok(w.listed())
    }

    /// The model's typed configuration.
    pub fn info(&self) -> ModelInfo {
        self.info
    }

    /// Where the model's parts live in its family's checkpoints.
    pub fn names(&self) -> &'static NameMap {
        self.names
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The forward pass: token ids (B, T) -> logits (B, T, V), without gradients.
    ///
    /// With a `kv` cache, `ids` are the positions after those already cached, and the
    /// cache is extended. Every hook point is offered to `cap`, which may replace
    /// activations ([`Capture::replace`]); capturing alone never changes the logits.
    pub fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        self.run(ids, kv, cap)
    }

    /// The forward pass with gradients where the caller allows them (training, and
    /// saliency, which asks for the gradient of a logit with respect to the
    /// embeddings). The same code as [`LanguageModel::forward`].
    pub fn forward_with_grad(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        self.run(ids, kv, cap)
    }

    /// The forward pass with gradients, for training: token ids (B, T) -> logits.
    pub fn forward_train(&self, ids: &Tensor) -> Result<Tensor> {
        self.run(ids, None, &mut NoCapture)
    }

    fn run(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        let info = &self.info;
        check_input(ids, kv.as_deref(), info.vocab_size, info.n_ctx)?;
        let (past, t) = (kv.as_ref().map_or(0, |c| c.len()) as i64, ids.size()[1]);
        let ids = ids.to_device(self.device);
        let tok_emb = hook(
            cap,
            HookPoint::Embed,
            Tensor::embedding(&self.wte, &ids, -1, false, false),
        )?; // (B, T, C)
        let mut x = match &self.wpe {
            Some(wpe) => {
                let pos = Tensor::arange_start(past, past + t, (Kind::Int64, self.device)); // (T)
                let pos_emb = Tensor::embedding(wpe, &pos, -1, false, false).unsqueeze(0); // (1, T, C)
                if cap.wants(HookPoint::PosEmbed) {
                    let pos_emb = hook(cap, HookPoint::PosEmbed, pos_emb.expand_as(&tok_emb))?; // (B, T, C)
                    tok_emb + pos_emb // (B, T, C)
                } else {
                    tok_emb + pos_emb // (B, T, C)
                }
            }
            None => tok_emb, // (B, T, C): positions enter by rotating queries and keys
        };
        let rope = self.rope.as_ref();
        match kv {
            Some(cache) => {
                for (block, slot) in self.h.iter().zip(cache.slots(self.h.len())) {
                    x = block.forward(x, rope, Some(slot), cap)?; // (B, T, C)
                }
            }
            None => {
                for block in &self.h {
                    x = block.forward(x, rope, None, cap)?; // (B, T, C)
                }
            }
        }
        let x = hook(cap, HookPoint::LnFinal, self.ln_f.forward(&x))?; // (B, T, C)
        let logits = x.matmul(&self.w_u()); // (B, T, C) @ (C, V) -> (B, T, V)
        hook(cap, HookPoint::Logits, logits)
    }
}

/// Running one sequence, and which hook points exist.
impl LanguageModel {
    /// Logits for one sequence of token ids: (T, V).
    pub fn logits(&self, ids: &[u32]) -> Result<Tensor> {
        self.run_with_cache(ids, &mut NoCapture)
    }

    /// Logits (T, V) for one sequence, with activations offered to `cap` (which may
    /// capture them, change them, or both: [`crate::hooks::Chain`]).
    pub fn run_with_cache(&self, ids: &[u32], cap: &mut dyn Capture) -> Result<Tensor> {
        let ids = ids_tensor(ids); // (1, T)
        Ok(self.forward(&ids, None, cap)?.squeeze_dim(0)) // (T, V)
    }

    /// Every hook point this model has, in forward order.
    pub fn hook_points(&self) -> Vec<HookPoint> {
        HookPoint::all(self.info.n_layer)
            .into_iter()
            .filter(|h| self.check_hook(*h).is_ok())
            .collect()
    }

    /// Ok when the model has `hook`; else why not.
    pub fn check_hook(&self, hook: HookPoint) -> Result<()> {
        if let Some(l) = hook.layer() {
            self.check_layer(l)?;
        }
        if hook == HookPoint::PosEmbed && self.wpe.is_none() {
            return Err(self.absent("the position embedding (hook_pos_embed)", ROPE_WHY));
        }
        Ok(())
    }

    /// Ok when block `l` exists.
    pub fn check_layer(&self, l: usize) -> Result<()> {
        if l >= self.info.n_layer {
            return Err(Error::BadBlock {
                block: l,
                n_blocks: self.info.n_layer,
            });
        }
        Ok(())
    }

    /// Ok when head `h` exists.
    pub fn check_head(&self, h: usize) -> Result<()> {
        if h >= self.info.n_head {
            return Err(Error::BadHead {
                head: h,
                n_head: self.info.n_head,
            });
        }
        Ok(())
    }

    fn absent(&self, what: &str, why: &str) -> Error {
        Error::Absent {
            what: what.into(),
            model: format!("this {} model", self.info.family),
            why: why.into(),
        }
    }

    fn block(&self, l: usize) -> Result<&Block> {
        self.check_layer(l)?;
        Ok(&self.h[l])
    }
}

const ROPE_WHY: &str = "it uses rotary position embeddings (RoPE): positions enter by rotating each head's queries and keys, and there is no position-embedding matrix";

/// Weight matrices, oriented as TransformerLens states them: activations are row
/// vectors multiplied on the left (`x @ W`).
impl LanguageModel {
    /// W_E (V, C): row i is the embedding of token i (`wte`).
    pub fn w_e(&self) -> &Tensor {
        &self.wte
    }

    /// W_pos (P, C): row p is the embedding of position p; absent in a RoPE model.
    pub fn w_pos(&self) -> Result<&Tensor> {
        self.wpe.as_ref().ok_or_else(|| self.absent("W_pos", ROPE_WHY))
    }

    /// W_U (C, V): the unembedding, `lm_head` transposed, or `wte` when tied.
    pub fn w_u(&self) -> Tensor {
        self.lm_head.as_ref().unwrap_or(&self.wte).tr()
    }

    /// Columns `first..first + n` heads of the fused q/k/v matrix of block l, (n, C, D).
    fn qkv_heads(&self, l: usize, first: i64, n: i64) -> Result<Tensor> {
        let (c, d) = (self.info.d_model as i64, self.info.d_head as i64);
        let w = &self.block(l)?.attn.c_attn.weight; // (C, (H + 2K) D)
        Ok(w.narrow(1, first * d, n * d).view([c, n, d]).permute([1, 0, 2])) // (n, C, D)
    }

    /// W_Q of block l, (H, C, D): head h's queries are `x @ W_Q[h] + b_Q[h]`.
    pub fn w_q(&self, l: usize) -> Result<Tensor> {
        self.qkv_heads(l, 0, self.info.n_head as i64)
    }

    /// W_K of block l, (K, C, D); K = H without grouped-query attention, and with it
    /// key head `h / (H / K)` serves query head h.
    pub fn w_k(&self, l: usize) -> Result<Tensor> {
        self.qkv_heads(l, self.info.n_head as i64, self.info.n_kv_head as i64)
    }

    /// W_V of block l, (K, C, D).
    pub fn w_v(&self, l: usize) -> Result<Tensor> {
        self.qkv_heads(
            l,
            (self.info.n_head + self.info.n_kv_head) as i64,
            self.info.n_kv_head as i64,
        )
    }

    /// b_Q (H, D), b_K and b_V (K, D) of block l; absent in a model without biases.
    pub fn b_qkv(&self, l: usize) -> Result<(Tensor, Tensor, Tensor)> {
        let (h, k, d) = (
            self.info.n_head as i64,
            self.info.n_kv_head as i64,
            self.info.d_head as i64,
        );
        let b = self
            .block(l)?
            .attn
            .c_attn
            .bias
            .as_ref()
            .ok_or_else(|| self.absent("b_Q, b_K, b_V", NO_BIAS))?; // ((H + 2K) D)
        let parts = b.split_with_sizes([h * d, k * d, k * d], 0);
        Ok((parts[0].view([h, d]), parts[1].view([k, d]), parts[2].view([k, d])))
    }

    /// The key/value head that query head `h` reads.
    pub fn kv_head_of(&self, h: usize) -> usize {
        h / self.info.group()
    }

    /// W_O of block l, (H, D, C): head h writes `z[h] @ W_O[h]` into the residual stream.
    pub fn w_o(&self, l: usize) -> Result<Tensor> {
        let (h, d, c) = (
            self.info.n_head as i64,
            self.info.d_head as i64,
            self.info.d_model as i64,
        );
        Ok(self.block(l)?.attn.c_proj.weight.view([h, d, c])) // (H, D, C)
    }

    /// b_O of block l, (C); absent in a model without biases.
    pub fn b_o(&self, l: usize) -> Result<&Tensor> {
        self.block(l)?
            .attn
            .c_proj
            .bias
            .as_ref()
            .ok_or_else(|| self.absent("b_O", NO_BIAS))
    }

    /// The attention output projection of block l, (H D in, C out): 768x768 in GPT-2
    /// small. The essay's "attention matrix" picture.
    pub fn attn_proj(&self, l: usize) -> Result<&Tensor> {
        Ok(&self.block(l)?.attn.c_proj.weight)
    }

    /// W_in of block l, (C, M) (the `up_proj` half of a gated MLP).
    pub fn w_in(&self, l: usize) -> Result<Tensor> {
        Ok(self.block(l)?.mlp.c_fc.weight.shallow_clone())
    }

    /// W_gate of block l, (C, M); absent in GPT-2, whose MLP is not gated.
    pub fn w_gate(&self, l: usize) -> Result<Tensor> {
        let gate = self.block(l)?.mlp.gate.as_ref();
        gate.map(|g| g.weight.shallow_clone())
            .ok_or_else(|| self.absent("W_gate", "GPT-2's MLP is not gated: GELU(x W_in) W_out"))
    }

    /// W_out of block l, (M, C).
    pub fn w_out(&self, l: usize) -> Result<Tensor> {
        Ok(self.block(l)?.mlp.c_proj.weight.shallow_clone())
    }

    /// b_out of block l, (C); absent in a model without biases.
    pub fn b_out(&self, l: usize) -> Result<&Tensor> {
        self.block(l)?
            .mlp
            .c_proj
            .bias
            .as_ref()
            .ok_or_else(|| self.absent("b_out", NO_BIAS))
    }

    /// The final norm (`ln_f`) applied to residual-stream vectors x (..., C) ->
    /// (..., C); `final_norm(x) @ W_U` are logits (the logit lens).
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        self.ln_f.forward(x) // (..., C)
    }
}

const NO_BIAS: &str = "its linear layers have no biases";

/// Token ids as a (1, T) int64 tensor.
pub fn ids_tensor(ids: &[u32]) -> Tensor {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_slice(&v).unsqueeze(0) // (1, T)
}

/// How many weights (biases and norm scales included) one block holds in each of its
/// parts: the numbers behind "the MLP is no small net" (essay section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlockWeights {
    /// Query/key/value projections and the output projection (`attn.c_attn`, `attn.c_proj`).
    pub attention: i64,
    /// The MLP's matrices (`mlp.c_fc`, `mlp.c_proj`, and the gate of a gated MLP).
    pub mlp: i64,
    /// The two norms' scales (and LayerNorm's biases).
    pub norms: i64,
}

impl BlockWeights {
    /// All the block's weights.
    pub fn total(&self) -> i64 {
        self.attention + self.mlp + self.norms
    }

    /// The MLP's share of the block's weights, in [0, 1].
    pub fn mlp_share(&self) -> f64 {
        self.mlp as f64 / self.total().max(1) as f64
    }

    /// The attention's share of the block's weights, in [0, 1].
    pub fn attention_share(&self) -> f64 {
        self.attention as f64 / self.total().max(1) as f64
    }
}

fn numel(t: &Tensor) -> i64 {
    t.numel() as i64
}

impl Linear {
    /// Entries of the weight and the bias.
    fn n_weights(&self) -> i64 {
        numel(&self.weight) + self.bias.as_ref().map_or(0, numel)
    }
}

impl Norm {
    fn n_weights(&self) -> i64 {
        numel(&self.weight) + self.bias.as_ref().map_or(0, numel)
    }
}

impl LanguageModel {
    /// The weights of block `l`, counted from its tensors, part by part.
    pub fn block_weights(&self, l: usize) -> Result<BlockWeights> {
        let b = self.block(l)?;
        Ok(BlockWeights {
            attention: b.attn.c_attn.n_weights() + b.attn.c_proj.n_weights(),
            mlp: b.mlp.gate.as_ref().map_or(0, Linear::n_weights) + b.mlp.c_fc.n_weights() + b.mlp.c_proj.n_weights(),
            norms: b.ln_1.n_weights() + b.ln_2.n_weights(),
        })
    }

    /// Every weight of the model: embeddings, blocks, final norm and a separate unembedding.
    pub fn n_weights(&self) -> i64 {
        let blocks: i64 = (0..self.h.len())
            .map(|l| self.block_weights(l).map_or(0, |w| w.total()))
            .sum();
        numel(&self.wte)
            + self.wpe.as_ref().map_or(0, numel)
            + blocks
            + self.ln_f.n_weights()
            + self.lm_head.as_ref().map_or(0, numel)
    }
}
