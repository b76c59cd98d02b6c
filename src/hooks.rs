//! Typed hook points and the activation cache: how a student opens the model up, and
//! how an experiment reaches in and changes it.
//!
//! The names follow TransformerLens (`hook_embed`, `blocks.{l}.hook_resid_pre`,
//! `attn.hook_pattern`, `mlp.hook_post`, ...) but are an enum, not strings. Capture is
//! opt-in: the model asks a [`Capture`] whether it wants a hook point before it stores
//! anything, [`NoCapture`] wants nothing, and an [`ActivationCache`] stores only what its
//! [`HookFilter`] names. Capturing never changes the computation (a test checks the
//! logits bit for bit). A hook may also hand back a replacement for the activation
//! ([`Capture::replace`], TransformerLens's `run_with_hooks`): [`Edit`] wraps a closure,
//! [`Chain`] runs several hooks in one pass (an intervention and a cache together), and
//! [`crate::intervene`] has the ready-made ones (ablation, patching, steering).
//! Serves essay sections 5-7 (embeddings, attention, meaning space).
//!
//! Shapes use the crate's dimension legend (B batch, T positions of this call,
//! S = positions attended to, i.e. cached + T, C width, H heads, D head width,
//! M MLP width, V vocabulary). With a batch of one, B = 1.

use std::collections::HashMap;
use std::fmt;

use tch::Tensor;

use crate::error::{Error, Result};

/// A place in the forward pass whose activation can be captured.
///
/// | hook point | shape | what |
/// |---|---|---|
/// | `Embed` | (B, T, C) | token embeddings, rows of W_E |
/// | `PosEmbed` | (B, T, C) | position embeddings, rows of W_pos (absent in RoPE models) |
/// | `ResidPre(l)` | (B, T, C) | residual stream entering block l |
/// | `AttnQ(l)`, `AttnK(l)`, `AttnV(l)` | (B, T, H, D) | queries, keys, values of this call |
/// | `AttnScores(l)` | (B, H, T, S) | scaled, causally masked (-inf) scores before softmax |
/// | `AttnPattern(l)` | (B, H, T, S) | attention probabilities (rows sum to 1) |
/// | `AttnZ(l)` | (B, T, H, D) | per-head weighted sum of values, before `attn.c_proj` |
/// | `AttnOut(l)` | (B, T, C) | attention output after `attn.c_proj` |
/// | `ResidMid(l)` | (B, T, C) | residual stream after attention, before the MLP |
/// | `MlpPre(l)` | (B, T, M) | MLP hidden layer before the GELU |
/// | `MlpPost(l)` | (B, T, M) | MLP hidden layer after the GELU ("neuron activations") |
/// | `MlpOut(l)` | (B, T, C) | MLP output after `mlp.c_proj` |
/// | `ResidPost(l)` | (B, T, C) | residual stream leaving block l |
/// | `LnFinal` | (B, T, C) | output of `ln_f` (normalised, scaled and shifted) |
/// | `Logits` | (B, T, V) | next-token logits |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookPoint {
    Embed,
    PosEmbed,
    ResidPre(usize),
    AttnQ(usize),
    AttnK(usize),
    AttnV(usize),
    AttnScores(usize),
    AttnPattern(usize),
    AttnZ(usize),
    AttnOut(usize),
    ResidMid(usize),
    MlpPre(usize),
    MlpPost(usize),
    MlpOut(usize),
    ResidPost(usize),
    LnFinal,
    Logits,
}

impl HookPoint {
    /// Every hook point of a model with `n_layer` blocks, in forward order.
    pub fn all(n_layer: usize) -> Vec<HookPoint> {
        use HookPoint::*;
        let mut v = vec![Embed, PosEmbed];
        for l in 0..n_layer {
            v.extend([
                ResidPre(l),
                AttnQ(l),
                AttnK(l),
                AttnV(l),
                AttnScores(l),
                AttnPattern(l),
                AttnZ(l),
                AttnOut(l),
                ResidMid(l),
                MlpPre(l),
                MlpPost(l),
                MlpOut(l),
                ResidPost(l),
            ]);
        }
        v.extend([LnFinal, Logits]);
        v
    }

    /// The block this hook point belongs to, if any.
    pub fn layer(self) -> Option<usize> {
        use HookPoint::*;
        match self {
            ResidPre(l) | AttnQ(l) | AttnK(l) | AttnV(l) | AttnScores(l) | AttnPattern(l) | AttnZ(l) | AttnOut(l)
            | ResidMid(l) | MlpPre(l) | MlpPost(l) | MlpOut(l) | ResidPost(l) => Some(l),
            Embed | PosEmbed | LnFinal | Logits => None,
        }
    }

    /// TransformerLens's string name, for display and for readers who know it.
    pub fn tl_name(self) -> String {
        use HookPoint::*;
        match self {
            Embed => "hook_embed".into(),
            PosEmbed => "hook_pos_embed".into(),
            ResidPre(l) => format!("blocks.{l}.hook_resid_pre"),
            AttnQ(l) => format!("blocks.{l}.attn.hook_q"),
            AttnK(l) => format!("blocks.{l}.attn.hook_k"),
            AttnV(l) => format!("blocks.{l}.attn.hook_v"),
            AttnScores(l) => format!("blocks.{l}.attn.hook_attn_scores"),
            AttnPattern(l) => format!("blocks.{l}.attn.hook_pattern"),
            AttnZ(l) => format!("blocks.{l}.attn.hook_z"),
            AttnOut(l) => format!("blocks.{l}.hook_attn_out"),
            ResidMid(l) => format!("blocks.{l}.hook_resid_mid"),
            MlpPre(l) => format!("blocks.{l}.mlp.hook_pre"),
            MlpPost(l) => format!("blocks.{l}.mlp.hook_post"),
            MlpOut(l) => format!("blocks.{l}.hook_mlp_out"),
            ResidPost(l) => format!("blocks.{l}.hook_resid_post"),
            LnFinal => "ln_final.hook_normalized".into(),
            Logits => "logits".into(),
        }
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.tl_name())
    }
}

/// What the model calls at each hook point. Implement it to watch activations as they
/// pass, or to change them; [`ActivationCache`], [`NoCapture`], [`Edit`] and [`Chain`]
/// cover the usual cases.
///
/// At a hook point it wants, the model first asks [`Capture::replace`] for a
/// replacement (same shape), then passes what goes on to [`Capture::record`].
pub trait Capture {
    /// Whether `hook` should be offered; the model computes nothing extra when false.
    fn wants(&self, hook: HookPoint) -> bool;
    /// Receives the activation at `hook` (shape as in the [`HookPoint`] table), after
    /// any replacement.
    fn record(&mut self, hook: HookPoint, value: &Tensor);
    /// A replacement for the activation at `hook`, of the same shape, or `None` to
    /// leave it. Only called where [`Capture::wants`] says yes.
    fn replace(&mut self, _hook: HookPoint, _value: &Tensor) -> Option<Tensor> {
        None
    }
    /// Whether [`Capture::replace`] may replace `hook`. The model asks it only of the
    /// attention scores and pattern: when they may change, z is computed from the
    /// pattern (pattern @ v) instead of libtorch's fused kernel.
    fn replaces(&self, _hook: HookPoint) -> bool {
        false
    }
}

/// A hook that may replace the activation at some hook points: `f(hook, value)`
/// returns the replacement or `None` (TransformerLens's `run_with_hooks`).
///
/// ```no_run
/// # use gpt2_explorer::hooks::{Edit, HookPoint};
/// // Zero head 3 of block 0: z is (B, T, H, D).
/// let mut knock_out = Edit::new(vec![HookPoint::AttnZ(0)], |_, z| {
///     let z = z.copy();
///     let _ = z.narrow(2, 3, 1).fill_(0.0);
///     Some(z)
/// });
/// ```
pub struct Edit<F> {
    points: Vec<HookPoint>,
    f: F,
}

impl<F: FnMut(HookPoint, &Tensor) -> Option<Tensor>> Edit<F> {
    pub fn new(points: Vec<HookPoint>, f: F) -> Self {
        Edit { points, f }
    }
}

impl<F: FnMut(HookPoint, &Tensor) -> Option<Tensor>> Capture for Edit<F> {
    fn wants(&self, hook: HookPoint) -> bool {
        self.points.contains(&hook)
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, hook: HookPoint, value: &Tensor) -> Option<Tensor> {
        (self.f)(hook, value)
    }
    fn replaces(&self, hook: HookPoint) -> bool {
        self.points.contains(&hook)
    }
}

/// Several hooks in one forward pass, in order: at each hook point every member that
/// wants it may replace the activation (each sees the previous members' replacement),
/// then every member that wants it records the final value. Put an intervention
/// before an [`ActivationCache`] to capture the run it changed.
pub struct Chain<'a>(pub Vec<&'a mut dyn Capture>);

impl Capture for Chain<'_> {
    fn wants(&self, hook: HookPoint) -> bool {
        self.0.iter().any(|c| c.wants(hook))
    }
    fn record(&mut self, hook: HookPoint, value: &Tensor) {
        for c in self.0.iter_mut().filter(|c| c.wants(hook)) {
            c.record(hook, value);
        }
    }
    fn replace(&mut self, hook: HookPoint, value: &Tensor) -> Option<Tensor> {
        let mut out: Option<Tensor> = None;
        for c in self.0.iter_mut().filter(|c| c.wants(hook)) {
            if let Some(r) = c.replace(hook, out.as_ref().unwrap_or(value)) {
                out = Some(r);
            }
        }
        out
    }
    fn replaces(&self, hook: HookPoint) -> bool {
        self.0.iter().any(|c| c.replaces(hook))
    }
}

/// Captures nothing: the plain forward pass.
pub struct NoCapture;

impl Capture for NoCapture {
    fn wants(&self, _: HookPoint) -> bool {
        false
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
}

/// Which hook points an [`ActivationCache`] keeps.
#[derive(Debug, Clone)]
pub enum HookFilter {
    /// Every hook point.
    All,
    /// Exactly these.
    Only(Vec<HookPoint>),
    /// Every hook point of these blocks (plus none outside blocks).
    Layers(Vec<usize>),
}

impl HookFilter {
    pub fn matches(&self, hook: HookPoint) -> bool {
        match self {
            HookFilter::All => true,
            HookFilter::Only(v) => v.contains(&hook),
            HookFilter::Layers(ls) => hook.layer().is_some_and(|l| ls.contains(&l)),
        }
    }
}

/// Stores the activations its filter asks for, by hook point.
///
/// It keeps the value of the latest forward call at each hook point: with a KV cache,
/// a decoding step sees only its new positions (T = 1), so capture the prompt's
/// forward pass, or use one cache per call.
pub struct ActivationCache {
    filter: HookFilter,
    store: HashMap<HookPoint, Tensor>,
}

impl ActivationCache {
    pub fn new(filter: HookFilter) -> Self {
        ActivationCache {
            filter,
            store: HashMap::new(),
        }
    }

    /// A cache that keeps every hook point.
    pub fn all() -> Self {
        Self::new(HookFilter::All)
    }

    /// The activation at `hook`, shape as in the [`HookPoint`] table.
    pub fn get(&self, hook: HookPoint) -> Result<&Tensor> {
        self.store.get(&hook).ok_or_else(|| Error::NotCaptured(hook))
    }

    /// The captured hook points, in forward order.
    pub fn hooks(&self) -> Vec<HookPoint> {
        let mut v: Vec<_> = self.store.keys().copied().collect();
        v.sort();
        v
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Residual stream entering block `l`: (B, T, C).
    pub fn resid_pre(&self, l: usize) -> Result<&Tensor> {
        self.get(HookPoint::ResidPre(l))
    }
    /// Residual stream leaving block `l`: (B, T, C).
    pub fn resid_post(&self, l: usize) -> Result<&Tensor> {
        self.get(HookPoint::ResidPost(l))
    }
    /// Attention probabilities of block `l`: (B, H, T, S).
    pub fn attn_pattern(&self, l: usize) -> Result<&Tensor> {
        self.get(HookPoint::AttnPattern(l))
    }
    /// MLP activations after the GELU in block `l`: (B, T, M).
    pub fn mlp_post(&self, l: usize) -> Result<&Tensor> {
        self.get(HookPoint::MlpPost(l))
    }
    /// Output of the final LayerNorm: (B, T, C).
    pub fn ln_final(&self) -> Result<&Tensor> {
        self.get(HookPoint::LnFinal)
    }
}

impl Capture for ActivationCache {
    fn wants(&self, hook: HookPoint) -> bool {
        self.filter.matches(hook)
    }
    fn record(&mut self, hook: HookPoint, value: &Tensor) {
        // The forward pass never writes into a tensor after passing it here, so a
        // shallow clone (a new handle on the same storage) is a safe, free snapshot.
        self.store.insert(hook, value.shallow_clone());
    }
}
