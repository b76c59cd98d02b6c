//! Experiments that change the model while it runs: ablation (knock out attention
//! heads, MLP neurons, or a block's whole attention or MLP output, by zeroing it or
//! replacing it by its mean), activation patching (copy a clean run's activation into a
//! corrupted run, at one block and position, and see how much of the answer comes
//! back), and steering (add a vector to the residual stream). Each is a [`Capture`]
//! that replaces activations, so it composes with an [`crate::ActivationCache`] in one
//! run ([`crate::hooks::Chain`]) and holds with the KV cache: generating under an
//! intervention gives the tokens that re-running the whole prefix under it gives.
//! TransformerLens made these the field's standard toolkit; here they are typed.
//! Beyond the essay: they answer "which part of the network does this?" for the
//! attention and MLP blocks of essay section 6.

use std::fmt;
use std::str::FromStr;

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{ActivationCache, Capture, HookFilter, HookPoint};
use crate::model::LanguageModel;

/// A part of the network an ablation can knock out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    /// Head `head` of block `layer`: its slice of `AttnZ`, before the output projection.
    Head { layer: usize, head: usize },
    /// Neuron `neuron` of block `layer`'s MLP: its column of `MlpPost`.
    Neuron { layer: usize, neuron: usize },
    /// Block `layer`'s whole attention output (`AttnOut`).
    AttnOut(usize),
    /// Block `layer`'s whole MLP output (`MlpOut`).
    MlpOut(usize),
}

impl Site {
    /// The hook point where the site is replaced.
    pub fn hook(self) -> HookPoint {
        match self {
            Site::Head { layer, .. } => HookPoint::AttnZ(layer),
            Site::Neuron { layer, .. } => HookPoint::MlpPost(layer),
            Site::AttnOut(l) => HookPoint::AttnOut(l),
            Site::MlpOut(l) => HookPoint::MlpOut(l),
        }
    }

    /// Ok when the model has this site; else an error naming the valid range.
    pub fn check(self, lm: &LanguageModel) -> Result<()> {
        let info = lm.info();
        match self {
            Site::Head { layer, head } => {
                lm.check_layer(layer)?;
                lm.check_head(head)
            }
            Site::Neuron { layer, neuron } => {
                lm.check_layer(layer)?;
                if neuron >= info.d_mlp {
                    return Err(Error::BadNeuron {
                        neuron,
                        d_mlp: info.d_mlp,
                    });
                }
                Ok(())
            }
            Site::AttnOut(l) | Site::MlpOut(l) => lm.check_layer(l),
        }
    }

    /// The slice of the hook's activation this site covers: (dimension, index), or
    /// `None` for the whole activation.
    fn slice(self) -> Option<(i64, i64)> {
        match self {
            Site::Head { head, .. } => Some((2, head as i64)), // (B, T, H, D)
            Site::Neuron { neuron, .. } => Some((2, neuron as i64)), // (B, T, M)
            Site::AttnOut(_) | Site::MlpOut(_) => None,        // (B, T, C)
        }
    }

    /// This site's part of an activation captured at [`Site::hook`].
    fn part(self, act: &Tensor) -> Tensor {
        match self.slice() {
            Some((dim, i)) => act.narrow(dim, i, 1),
            None => act.shallow_clone(),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Head { layer, head } => write!(f, "L{layer}H{head}"),
            Site::Neuron { layer, neuron } => write!(f, "L{layer}N{neuron}"),
            Site::AttnOut(l) => write!(f, "{l}_attn_out"),
            Site::MlpOut(l) => write!(f, "{l}_mlp_out"),
        }
    }
}

/// Parses a list of heads `L.H[,L.H...]` (blocks and heads from 0), as the command
/// line's `--ablate` takes it.
pub fn parse_heads(text: &str) -> Result<Vec<Site>> {
    let bad = |item: &str| Error::BadSiteList {
        item: item.to_string(),
        text: text.to_string(),
    };
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim) {
        let (l, h) = item.split_once('.').ok_or_else(|| bad(item))?;
        let layer = l.trim().parse().map_err(|_| bad(item))?;
        let head = h.trim().parse().map_err(|_| bad(item))?;
        out.push(Site::Head { layer, head });
    }
    Ok(out)
}

/// What an ablated site is replaced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AblateMode {
    /// Zeros.
    Zero,
    /// Its mean over the positions of a reference run (the prompt's own, by default).
    Mean,
}

impl FromStr for AblateMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero" => Ok(AblateMode::Zero),
            "mean" => Ok(AblateMode::Mean),
            other => Err(Error::BadAblateMode(other.to_string())),
        }
    }
}

/// Knocks sites out: a [`Capture`] that replaces each site's part of its activation by
/// zeros or by a fixed mean, at every position of every forward call.
#[derive(Debug)]
pub struct Ablation {
    /// (site, what replaces it: `None` for zeros, else its mean over positions).
    sites: Vec<(Site, Option<Tensor>)>,
}

impl Ablation {
    /// Zero-ablation of `sites`, each checked against the model.
    pub fn zero(lm: &LanguageModel, sites: &[Site]) -> Result<Self> {
        for s in sites {
            s.check(lm)?;
        }
        Ok(Ablation {
            sites: sites.iter().map(|&s| (s, None)).collect(),
        })
    }

    /// Mean-ablation of `sites`: each replaced by its mean over the positions of a run
    /// of `ids` (TransformerLens's mean ablation with the prompt as the reference).
    pub fn mean(lm: &LanguageModel, sites: &[Site], ids: &[u32]) -> Result<Self> {
        for s in sites {
            s.check(lm)?;
        }
        let mut cache = ActivationCache::new(HookFilter::Only(sites.iter().map(|s| s.hook()).collect()));
        let _ = lm.run_with_cache(ids, &mut cache)?;
        let mut out = Vec::new();
        for &s in sites {
            let part = s.part(cache.get(s.hook())?); // (B, T, ...)
            out.push((s, Some(part.mean_dim([0i64, 1].as_slice(), true, Kind::Float))));
            // (1, 1, ...)
        }
        Ok(Ablation { sites: out })
    }

    /// `mode` ablation of `sites`, the mean (if asked) over a run of `ids`.
    pub fn new(lm: &LanguageModel, sites: &[Site], mode: AblateMode, ids: &[u32]) -> Result<Self> {
        match mode {
            AblateMode::Zero => Self::zero(lm, sites),
            AblateMode::Mean => Self::mean(lm, sites, ids),
        }
    }

    pub fn sites(&self) -> Vec<Site> {
        self.sites.iter().map(|(s, _)| *s).collect()
    }
}

impl Capture for Ablation {
    fn wants(&self, hook: HookPoint) -> bool {
        self.sites.iter().any(|(s, _)| s.hook() == hook)
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, hook: HookPoint, value: &Tensor) -> Option<Tensor> {
        let out = value.copy();
        for (site, mean) in self.sites.iter().filter(|(s, _)| s.hook() == hook) {
            let mut part = site.part(&out);
            match mean {
                None => {
                    let _ = part.fill_(0.0);
                }
                Some(m) => part.copy_(&m.expand_as(&part)),
            }
        }
        Some(out)
    }
}

/// Where activation patching copies the clean run into the corrupted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchHook {
    /// The residual stream entering the block.
    ResidPre,
    /// The block's attention output.
    AttnOut,
    /// The block's MLP output.
    MlpOut,
}

impl PatchHook {
    pub fn at(self, layer: usize) -> HookPoint {
        match self {
            PatchHook::ResidPre => HookPoint::ResidPre(layer),
            PatchHook::AttnOut => HookPoint::AttnOut(layer),
            PatchHook::MlpOut => HookPoint::MlpOut(layer),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PatchHook::ResidPre => "resid_pre",
            PatchHook::AttnOut => "attn_out",
            PatchHook::MlpOut => "mlp_out",
        }
    }
}

impl FromStr for PatchHook {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "resid_pre" => Ok(PatchHook::ResidPre),
            "attn_out" => Ok(PatchHook::AttnOut),
            "mlp_out" => Ok(PatchHook::MlpOut),
            other => Err(Error::BadPatchHook(other.to_string())),
        }
    }
}

/// Replaces the activation at one hook point and one position by a given vector (the
/// clean run's, in activation patching).
#[derive(Debug)]
pub struct Patch {
    pub hook: HookPoint,
    pub position: usize,
    /// (C): what goes in at that position.
    pub value: Tensor,
}

impl Capture for Patch {
    fn wants(&self, hook: HookPoint) -> bool {
        hook == self.hook
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, _: HookPoint, value: &Tensor) -> Option<Tensor> {
        let t = value.size()[1] as usize;
        if self.position >= t {
            return None; // a decoding step after the patched position
        }
        let out = value.copy(); // (B, T, C)
        out.narrow(1, self.position as i64, 1)
            .copy_(
                &self
                    .value
                    .view([1, 1, -1])
                    .expand_as(&out.narrow(1, self.position as i64, 1)),
            );
        Some(out)
    }
}

/// What [`patch_sweep`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PatchResult {
    pub hook: &'static str,
    /// The metric of the clean and of the corrupted run.
    pub clean: f64,
    pub corrupt: f64,
    /// (L, T): the metric of the corrupted run with the clean activation patched in at
    /// block l, position t.
    pub patched: Vec<Vec<f64>>,
    /// (L, T): the share of the clean-minus-corrupt difference restored,
    /// (patched - corrupt) / (clean - corrupt): 1 where the patch brings the clean
    /// answer back whole, 0 where it does nothing.
    pub restored: Vec<Vec<f64>>,
}

/// Activation patching over every block and position: for each (l, t), runs `corrupt`
/// with the clean run's activation at `hook` of block l, position t, and measures
/// `metric` on the logits (T, V). The two prompts must have the same number of tokens.
///
/// The T runs of a block go as one batch of T rows, row t patched at position t (one
/// forward call per block instead of one per cell; each row is the run [`Patch`] would
/// make).
pub fn patch_sweep(
    lm: &LanguageModel,
    clean: &[u32],
    corrupt: &[u32],
    hook: PatchHook,
    metric: &dyn Fn(&Tensor) -> Result<f64>,
) -> Result<PatchResult> {
    if clean.len() != corrupt.len() {
        return Err(Error::PatchLengths {
            clean: clean.len(),
            corrupt: corrupt.len(),
        });
    }
    let n_layer = lm.info().n_layer;
    let t = clean.len();
    let mut cache = ActivationCache::new(HookFilter::Only((0..n_layer).map(|l| hook.at(l)).collect()));
    let m_clean = metric(&lm.run_with_cache(clean, &mut cache)?)?;
    let m_corrupt = metric(&lm.logits(corrupt)?)?;
    let span = m_clean - m_corrupt;
    let batch = crate::model::decoder::ids_tensor(corrupt).repeat([t as i64, 1]); // (T, T): T copies of the corrupted prompt
    let mut patched = Vec::with_capacity(n_layer);
    for l in 0..n_layer {
        let mut p = DiagonalPatch {
            hook: hook.at(l),
            clean: cache.get(hook.at(l))?.get(0),
        }; // (T, C)
        let logits = lm.forward(&batch, None, &mut p)?; // (T rows, T, V)
        patched.push(
            (0..t)
                .map(|row| metric(&logits.get(row as i64)))
                .collect::<Result<Vec<f64>>>()?,
        );
    }
    let restored = patched
        .iter()
        .map(|row| {
            row.iter()
                .map(|m| if span == 0.0 { f64::NAN } else { (m - m_corrupt) / span })
                .collect()
        })
        .collect();
    Ok(PatchResult {
        hook: hook.name(),
        clean: m_clean,
        corrupt: m_corrupt,
        patched,
        restored,
    })
}

/// Patches row b of a batch at position b with the clean activation of position b.
struct DiagonalPatch {
    hook: HookPoint,
    /// (T, C)
    clean: Tensor,
}

impl Capture for DiagonalPatch {
    fn wants(&self, hook: HookPoint) -> bool {
        hook == self.hook
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, _: HookPoint, value: &Tensor) -> Option<Tensor> {
        let out = value.copy(); // (B = T, T, C)
        let rows = out.size()[0].min(self.clean.size()[0]);
        for b in 0..rows {
            out.get(b).get(b).copy_(&self.clean.get(b)); // (C)
        }
        Some(out)
    }
}

/// The metric of activation patching: logit(answer) - logit(wrong) at the last position
/// of logits (T, V).
pub fn logit_diff(answer: u32, wrong: u32) -> impl Fn(&Tensor) -> Result<f64> {
    move |logits: &Tensor| {
        let last = logits.get(-1); // (V)
        Ok(last.double_value(&[answer as i64]) - last.double_value(&[wrong as i64]))
    }
}

/// Adds `scale * vector` to the residual stream entering block `layer`, at every
/// position of every forward call (so also at each step of a generation).
#[derive(Debug)]
pub struct Steer {
    pub layer: usize,
    /// (C)
    pub vector: Tensor,
    pub scale: f64,
}

impl Steer {
    /// A steering vector checked against the model: the block must exist and the
    /// vector must be (C).
    pub fn new(lm: &LanguageModel, layer: usize, vector: Tensor, scale: f64) -> Result<Self> {
        lm.check_layer(layer)?;
        let c = lm.info().d_model as i64;
        if vector.size() != [c] {
            return Err(Error::BadSteeringVector {
                got: vector.size(),
                width: lm.info().d_model,
            });
        }
        Ok(Steer {
            layer,
            vector: vector.to_kind(Kind::Float).to_device(lm.device()),
            scale,
        })
    }
}

impl Capture for Steer {
    fn wants(&self, hook: HookPoint) -> bool {
        hook == HookPoint::ResidPre(self.layer)
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, _: HookPoint, value: &Tensor) -> Option<Tensor> {
        Some(value + &self.vector * self.scale) // (B, T, C)
    }
}

/// A steering vector from two prompts: the residual stream entering block `layer` at
/// the last position of `a`, minus the same for `b` (activation addition, e.g.
/// " Love" minus " Hate").
pub fn steering_vector(lm: &LanguageModel, a: &[u32], b: &[u32], layer: usize) -> Result<Tensor> {
    lm.check_layer(layer)?;
    let last = |ids: &[u32]| -> Result<Tensor> {
        let mut cache = ActivationCache::new(HookFilter::Only(vec![HookPoint::ResidPre(layer)]));
        let _ = lm.run_with_cache(ids, &mut cache)?;
        Ok(cache.resid_pre(layer)?.get(0).get(-1)) // (C)
    };
    Ok(last(a)? - last(b)?)
}

/// The effect of knocking out each head on its own: for every block l and head h, the
/// log-probability of `target` at the last position of `ids` when head h of block l is
/// zero-ablated; (L, H). Compare with the plain run's log-probability to find the head
/// whose loss hurts most. The H runs of a block go as one batch, row h without head h.
pub fn head_ablation_scan(lm: &LanguageModel, ids: &[u32], target: u32) -> Result<Vec<Vec<f64>>> {
    let info = lm.info();
    let h = info.n_head as i64;
    let batch = crate::model::decoder::ids_tensor(ids).repeat([h, 1]); // (H, T)
    let mut out = Vec::with_capacity(info.n_layer);
    for layer in 0..info.n_layer {
        let mut p = DiagonalHeads { layer };
        let logits = lm.forward(&batch, None, &mut p)?; // (H rows, T, V)
        let logp = logits
            .select(1, -1)
            .log_softmax(-1, Kind::Double)
            .select(1, target as i64); // (H)
        out.push(Vec::<f64>::try_from(&logp)?);
    }
    Ok(out)
}

/// Zeroes head b of block `layer` in row b of a batch.
struct DiagonalHeads {
    layer: usize,
}

impl Capture for DiagonalHeads {
    fn wants(&self, hook: HookPoint) -> bool {
        hook == HookPoint::AttnZ(self.layer)
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, _: HookPoint, value: &Tensor) -> Option<Tensor> {
        let out = value.copy(); // (B = H, T, H, D)
        for b in 0..out.size()[0].min(out.size()[2]) {
            let _ = out.get(b).select(1, b).fill_(0.0); // (T, D)
        }
        Some(out)
    }
}
