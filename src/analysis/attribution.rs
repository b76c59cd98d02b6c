//! Which part of the network wrote a logit: direct logit attribution (the final
//! residual stream split into the embeddings and what each block's attention and MLP,
//! and each head, added to it, each passed through the final norm with its scale frozen
//! at the real residual's value, then dotted with the target's unembedding column), the
//! logit difference between two tokens, and gradient-x-input saliency of each prompt
//! token. TransformerLens's `decompose_resid` / `logit_attrs` and Ecco's saliency,
//! beyond the essay; they serve the essay's section 6 question of what the attention
//! and MLP blocks each do.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::hooks::{ActivationCache, Capture, HookFilter, HookPoint};
use crate::model::config::NormKind;
use crate::model::decoder::ids_tensor;
use crate::model::LanguageModel;

/// One named term of an attribution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Term {
    pub name: String,
    pub value: f64,
}

/// A logit (or a logit difference) split into what each part of the network wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attribution {
    pub position: usize,
    /// The real logit (or logit difference) at `position`.
    pub logit: f64,
    /// `embed`, `pos_embed` (learned positions only), `{l}_attn_out` and `{l}_mlp_out`
    /// for every block l, and `bias` (the final norm's bias; 0 for RMSNorm): they sum
    /// to `logit`.
    pub components: Vec<Term>,
    /// `L{l}H{h}`: head h of block l, `z_h W_O^h` without the output bias (which is
    /// part of `{l}_attn_out`); the heads of a block sum to its attention output less
    /// that bias.
    pub heads: Vec<Term>,
}

impl Attribution {
    /// The sum of the components (equal to `logit` up to rounding).
    pub fn total(&self) -> f64 {
        self.components.iter().map(|t| t.value).sum()
    }
}

/// Direct logit attribution of token `target`'s logit at `position` of `ids`.
pub fn logit_attribution(lm: &LanguageModel, ids: &[u32], position: usize, target: u32) -> Result<Attribution> {
    check_token(lm, target)?;
    let dir = lm.w_u().select(1, target as i64); // (C)
    attribute(lm, ids, position, &dir, &|logits: &Tensor| {
        logits.double_value(&[target as i64])
    })
}

/// Direct logit attribution of logit(`a`) - logit(`b`) at `position` of `ids`.
pub fn logit_diff_attribution(lm: &LanguageModel, ids: &[u32], position: usize, a: u32, b: u32) -> Result<Attribution> {
    check_token(lm, a)?;
    check_token(lm, b)?;
    let w_u = lm.w_u(); // (C, V)
    let dir = w_u.select(1, a as i64) - w_u.select(1, b as i64); // (C)
    attribute(lm, ids, position, &dir, &|logits: &Tensor| {
        logits.double_value(&[a as i64]) - logits.double_value(&[b as i64])
    })
}

fn check_token(lm: &LanguageModel, id: u32) -> Result<()> {
    let vocab = lm.info().vocab_size;
    if id as usize >= vocab {
        return Err(Error::BadTokenId { id: id as i64, vocab });
    }
    Ok(())
}

fn check_position(position: usize, len: usize) -> Result<()> {
    if position >= len {
        return Err(Error::BadPosition { position, len });
    }
    Ok(())
}

/// The attribution of `direction` (C) · final_norm(residual) at `position`; `real`
/// reads the same quantity off the logits (V) at that position.
fn attribute(
    lm: &LanguageModel,
    ids: &[u32],
    position: usize,
    direction: &Tensor,
    real: &dyn Fn(&Tensor) -> f64,
) -> Result<Attribution> {
    check_position(position, ids.len())?;
    let info = lm.info();
    let n = info.n_layer;
    let mut points = vec![HookPoint::Embed, HookPoint::ResidPost(n - 1)];
    if lm.w_pos().is_ok() {
        points.push(HookPoint::PosEmbed);
    }
    for l in 0..n {
        points.extend([HookPoint::AttnOut(l), HookPoint::MlpOut(l), HookPoint::AttnZ(l)]);
    }
    let mut cache = ActivationCache::new(HookFilter::Only(points));
    let logits = lm.run_with_cache(ids, &mut cache)?; // (T, V)
    let p = position as i64;
    let at = |hook| -> Result<Tensor> { Ok(cache.get(hook)?.get(0).get(p).to_kind(Kind::Double)) }; // (...)
    let dir = direction.to_kind(Kind::Double); // (C)
    let x = at(HookPoint::ResidPost(n - 1))?; // (C): the real final residual
    let w = lm.ln_f.weight.to_kind(Kind::Double); // (C)
                                                  // The norm's scale, frozen at the real residual's value.
    let (scale, centre) = match info.norm {
        NormKind::Layer { eps } => ((x.var_dim([-1i64].as_slice(), false, false) + eps).rsqrt(), true),
        NormKind::Rms { eps } => ((x.pow_tensor_scalar(2).mean(Kind::Double) + eps).rsqrt(), false),
    };
    // What component c (..., C) adds to the logit: (c, centred for LayerNorm) * s * w · dir.
    let through_norm = |c: &Tensor| -> Tensor {
        let c = if centre {
            c - c.mean_dim(-1, true, Kind::Double)
        } else {
            c.shallow_clone()
        };
        (c * &scale * &w).matmul(&dir) // (...)
    };
    let mut components = vec![Term {
        name: "embed".into(),
        value: through_norm(&at(HookPoint::Embed)?).double_value(&[]),
    }];
    if lm.w_pos().is_ok() {
        components.push(Term {
            name: "pos_embed".into(),
            value: through_norm(&at(HookPoint::PosEmbed)?).double_value(&[]),
        });
    }
    let mut heads = Vec::new();
    for l in 0..n {
        components.push(Term {
            name: format!("{l}_attn_out"),
            value: through_norm(&at(HookPoint::AttnOut(l))?).double_value(&[]),
        });
        components.push(Term {
            name: format!("{l}_mlp_out"),
            value: through_norm(&at(HookPoint::MlpOut(l))?).double_value(&[]),
        });
        let z = at(HookPoint::AttnZ(l))?; // (H, D)
        let per_head = Tensor::einsum("hd,hdc->hc", &[&z, &lm.w_o(l)?.to_kind(Kind::Double)], None::<i64>); // (H, C)
        let values = Vec::<f64>::try_from(&through_norm(&per_head))?; // (H)
        heads.extend(values.into_iter().enumerate().map(|(h, value)| Term {
            name: format!("L{l}H{h}"),
            value,
        }));
    }
    let bias = lm
        .ln_f
        .bias
        .as_ref()
        .map_or(0.0, |b| b.to_kind(Kind::Double).dot(&dir).double_value(&[]));
    components.push(Term {
        name: "bias".into(),
        value: bias,
    });
    Ok(Attribution {
        position,
        logit: real(&logits.get(p)),
        components,
        heads,
    })
}

/// Gradient x input saliency: for each prompt token i, the token embedding e_i (the
/// `Embed` activation) dotted with the gradient of `target`'s logit at `position` with
/// respect to it, e_i · d logit / d e_i: how much the logit would change, to first
/// order, if that token's embedding were scaled up. Signed; (T).
pub fn saliency(lm: &LanguageModel, ids: &[u32], position: usize, target: u32) -> Result<Vec<f64>> {
    check_position(position, ids.len())?;
    check_token(lm, target)?;
    let mut leaf = Leaf(None);
    let logits = lm.forward_with_grad(&ids_tensor(ids), None, &mut leaf)?; // (1, T, V)
    logits.get(0).get(position as i64).get(target as i64).backward();
    let e = leaf.0.expect("the embedding hook always runs"); // (1, T, C)
    let g = e.grad(); // (1, T, C)
    let s = (e.detach() * g).sum_dim_intlist(-1, false, Kind::Double).get(0); // (T)
    Ok(Vec::<f64>::try_from(&s)?)
}

/// Makes the token embeddings a leaf that keeps its gradient.
struct Leaf(Option<Tensor>);

impl Capture for Leaf {
    fn wants(&self, hook: HookPoint) -> bool {
        hook == HookPoint::Embed
    }
    fn record(&mut self, _: HookPoint, _: &Tensor) {}
    fn replace(&mut self, _: HookPoint, value: &Tensor) -> Option<Tensor> {
        let leaf = value.detach().set_requires_grad(true); // (B, T, C)
        self.0 = Some(leaf.shallow_clone());
        Some(leaf)
    }
}
