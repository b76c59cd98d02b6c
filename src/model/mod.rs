//! The language models: one hooked decoder ([`decoder`]) that every family runs
//! through, each family reduced to a config mapping and a name map ([`gpt2`],
//! [`llama`]), strict checkpoint loading ([`checkpoint`], [`weights`]), the KV cache and
//! the attention kernel they share. Figures, the CLI and notebooks hold a
//! [`LanguageModel`] without caring which family it is. Serves every model-made figure.

pub mod checkpoint;
pub mod config;
pub mod decoder;
pub mod device;
pub mod gpt2;
pub mod llama;
pub mod weights;

pub use config::{Family, ModelInfo};
pub use decoder::{LanguageModel, NameMap};
pub use gpt2::{Gpt2, Gpt2Config};
pub use llama::{Llama, LlamaConfig};

use tch::Tensor;

/// Keys and values of the positions seen so far, per block: (B, K, S, D) each, where K
/// is the number of key/value heads (= H for GPT-2). Shared by every model family.
///
/// Each block's keys and values live in a buffer with spare room for later positions
/// (capacity doubles when full, up to the context window), so a decoding step writes
/// one position in place instead of copying the whole cache into a new tensor (what
/// `torch.cat` per step would do): amortised O(1) copying per token instead of O(S).
#[derive(Default)]
pub struct KvCache {
    layers: Vec<Option<LayerKv>>,
}

/// One block's cache: buffers (B, K, capacity, D) of which the first `len` positions
/// are filled.
pub(crate) struct LayerKv {
    k: Tensor, // (B, K, capacity, D)
    v: Tensor, // (B, K, capacity, D)
    len: i64,
}

impl LayerKv {
    /// Smallest buffer allocated, in positions.
    const MIN_CAPACITY: i64 = 64;

    /// Appends this call's keys and values (B, K, T, D) to the block's slot and returns
    /// views of every position so far, (B, K, S, D) each. The buffer grows to at most
    /// `max_len` positions (the context window; the model checks its input against it).
    pub(crate) fn append(slot: &mut Option<LayerKv>, k: &Tensor, v: &Tensor, max_len: i64) -> (Tensor, Tensor) {
        let t = k.size()[2];
        let (len, cap) = slot.as_ref().map_or((0, 0), |c| (c.len, c.k.size()[2]));
        if len + t > cap {
            let new_cap = (len + t).max(2 * cap).max(Self::MIN_CAPACITY).min(max_len).max(len + t);
            let mut shape = k.size();
            shape[2] = new_cap;
            let nk = Tensor::empty(shape.as_slice(), (k.kind(), k.device())); // (B, K, capacity, D)
            let nv = Tensor::empty(shape.as_slice(), (v.kind(), v.device())); // (B, K, capacity, D)
            if let Some(old) = slot.as_ref() {
                nk.narrow(2, 0, len).copy_(&old.k.narrow(2, 0, len));
                nv.narrow(2, 0, len).copy_(&old.v.narrow(2, 0, len));
            }
            *slot = Some(LayerKv { k: nk, v: nv, len });
        }
        let c = slot.as_mut().expect("allocated above");
        c.k.narrow(2, len, t).copy_(k);
        c.v.narrow(2, len, t).copy_(v);
        c.len = len + t;
        (c.k.narrow(2, 0, c.len), c.v.narrow(2, 0, c.len)) // (B, K, S, D) each
    }
}

impl KvCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of positions already in the cache.
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some(c)) => c.len as usize,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One slot per block, created empty on first use.
    pub(crate) fn slots(&mut self, n_layer: usize) -> std::slice::IterMut<'_, Option<LayerKv>> {
        self.layers.resize_with(n_layer, || None);
        self.layers.iter_mut()
    }
}

use crate::error::{Error, Result};
use crate::hooks::{Capture, HookPoint};

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
        return Err(Error::BadTokenId {
            id: if lo < 0 { lo } else { hi },
            vocab,
        });
    }
    Ok(())
}

/// Query rows per block when scores and pattern are captured: a long prompt's scores
/// are computed in blocks of this many rows, each against only the keys it can see, so
/// that no block computes scores it would then mask.
pub(crate) const ATTN_BLOCK: i64 = 128;

/// Causal attention of block `layer`, shared by every family: q (B, H, T, D) against
/// k, v (B, K, S, D), where the T queries sit at positions past..past + T and, with
/// grouped-query attention (K < H), query head h reads key/value head h / (H / K).
/// Returns z (B, T, H, D).
///
/// z always comes from libtorch's fused `scaled_dot_product_attention` (the kernel HF's
/// default `sdpa` attention uses; grouped-query heads read their shared keys without a
/// copy), whether or not anything is captured, so capturing cannot change the logits.
/// The fused kernel never materialises the (T, S) scores; when the capture asks for
/// `AttnScores` or `AttnPattern`, [`record_pattern`] computes them from the same q and k
/// by the textbook formula (they agree with what the kernel used to float rounding: the
/// tests check z against pattern @ v).
///
/// Only when a hook may *replace* the scores or the pattern ([`Capture::replaces`]) is
/// z computed as pattern @ v from the (replaced) pattern, by [`attention_from_pattern`].
pub(crate) fn causal_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    past: i64,
    layer: usize,
    cap: &mut dyn Capture,
) -> Result<Tensor> {
    if cap.replaces(HookPoint::AttnScores(layer)) || cap.replaces(HookPoint::AttnPattern(layer)) {
        return attention_from_pattern(q, k, v, scale, past, layer, cap);
    }
    let (t, s) = (q.size()[2], k.size()[2]);
    let gqa = k.size()[1] < q.size()[1];
    // Query i sees keys 0..=past + i. Without cached positions that is the kernel's own
    // causal mask; with them (a multi-token step after a cache) an explicit one; a single
    // query (a decoding step) sees every key.
    let (mask, is_causal) = match (t, past) {
        (1, _) => (None, false),
        (_, 0) => (None, true),
        _ => (
            Some(Tensor::ones([t, s], (tch::Kind::Bool, q.device())).tril(past)),
            false,
        ), // (T, S)
    };
    // (Before the kernel, not after: measured on SmolLM2-sized blocks at T = 128, the
    // capture then costs the pattern's own time, not twice that.)
    if cap.wants(HookPoint::AttnScores(layer)) || cap.wants(HookPoint::AttnPattern(layer)) {
        record_pattern(q, k, scale, past, layer, cap);
    }
    let z = Tensor::scaled_dot_product_attention(q, k, v, mask.as_ref(), 0.0, is_causal, Some(scale), gqa); // (B, H, T, D)
    Ok(z.transpose(1, 2)) // (B, T, H, D)
}

/// Attention by the textbook formula, for runs whose hooks replace the scores or the
/// pattern: scores = q k^T * scale with -inf above the causal diagonal, offered at
/// `AttnScores`; pattern = softmax(scores), offered at `AttnPattern`; z = pattern @ v.
/// q (B, H, T, D), k and v (B, K, S, D) -> z (B, T, H, D).
fn attention_from_pattern(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    past: i64,
    layer: usize,
    cap: &mut dyn Capture,
) -> Result<Tensor> {
    let (t, s) = (q.size()[2], k.size()[2]);
    let rep = q.size()[1] / k.size()[1];
    let (k, v) = if rep > 1 {
        (
            k.repeat_interleave_self_int(rep, Some(1), None),
            v.repeat_interleave_self_int(rep, Some(1), None),
        ) // (B, H, S, D) each
    } else {
        (k.shallow_clone(), v.shallow_clone())
    };
    let future = Tensor::ones([t, s], (tch::Kind::Bool, q.device()))
        .tril(past)
        .logical_not(); // (T, S)
    let scores = (q.matmul(&k.transpose(-2, -1)) * scale).masked_fill(&future, f64::NEG_INFINITY); // (B, H, T, S)
    let scores = decoder::hook(cap, HookPoint::AttnScores(layer), scores)?; // (B, H, T, S)
    let pattern = decoder::hook(cap, HookPoint::AttnPattern(layer), scores.softmax(-1, tch::Kind::Float))?; // (B, H, T, S)
    Ok(pattern.matmul(&v).transpose(1, 2)) // (B, H, T, D) -> (B, T, H, D)
}

/// The attention scores q k^T * scale (with -inf where the causal mask hides a key) and
/// pattern softmax(scores) of block `layer`, (B, H, T, S) each, offered to `cap`; only
/// for capture, never on the path to the logits.
///
/// The H / K query heads of a group are stacked as one matrix against their shared
/// keys, so keys are never copied per query head. Queries go in blocks of
/// [`ATTN_BLOCK`] rows, each against only the keys it can see; with one block the
/// captured tensors are the block's own, with several each block is copied once into a
/// (B, H, T, S) buffer filled with what the mask and softmax give where no block reached
/// (-inf and 0).
fn record_pattern(q: &Tensor, k: &Tensor, scale: f64, past: i64, layer: usize, cap: &mut dyn Capture) {
    let (b, h, t, d) = q.size4().expect("queries are (B, H, T, D)");
    let (kh, s) = (k.size()[1], k.size()[2]);
    let rep = h / kh;
    let hooks = [HookPoint::AttnScores(layer), HookPoint::AttnPattern(layer)];
    let blocks = t > ATTN_BLOCK;
    let buffer = |hook, value: f64, kind| {
        (blocks && cap.wants(hook)).then(|| Tensor::full([b, h, t, s], value, (kind, q.device())))
    }; // (B, H, T, S)
    let all = [
        buffer(hooks[0], f64::NEG_INFINITY, q.kind()),
        buffer(hooks[1], 0.0, tch::Kind::Float),
    ];
    let q5 = q.view([b, kh, rep, t, d]); // (B, K, H/K, T, D)
    let mut r0 = 0;
    while r0 < t {
        let rows = ATTN_BLOCK.min(t - r0);
        let seen = past + r0 + rows; // keys this block can see
        let qb = q5.narrow(3, r0, rows).reshape([b, kh, rep * rows, d]); // (B, K, H/K rows, D)
        let mut scores = qb
            .matmul(&k.narrow(2, 0, seen).transpose(-2, -1))
            .view([b, h, rows, seen]); // (B, H, rows, seen)
        let _ = scores.g_mul_scalar_(scale);
        if rows > 1 {
            // Query i of the block sits at position past + r0 + i: of the keys it sees,
            // only the block's last `rows` can lie in its future (above the diagonal).
            let future = Tensor::ones([rows, rows], (tch::Kind::Bool, q.device())).triu(1); // (rows, rows)
            let _ = scores
                .narrow(3, seen - rows, rows)
                .masked_fill_(&future, f64::NEG_INFINITY);
        }
        let pattern = scores.softmax(-1, tch::Kind::Float); // (B, H, rows, seen)
        for ((hook, buf), part) in hooks.iter().zip(&all).zip([&scores, &pattern]) {
            match buf {
                Some(buf) => buf.narrow(2, r0, rows).narrow(3, 0, seen).copy_(part), // rows of (B, H, T, S)
                None if cap.wants(*hook) => cap.record(*hook, part),                 // the one block: (B, H, T, S)
                None => {}
            }
        }
        r0 += rows;
    }
    for (hook, buf) in hooks.into_iter().zip(all) {
        if let Some(buf) = buf {
            cap.record(hook, &buf); // (B, H, T, S)
        }
    }
}

/// What a causal language model offers to sampling: a forward pass with an optional KV
/// cache and hooks, and its context window.
pub trait CausalLm {
    /// Token ids (B, T) -> logits (B, T, V); `kv` holds the positions already seen.
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor>;
    /// The longest sequence the model accepts (P).
    fn n_ctx(&self) -> usize;
}

impl CausalLm for LanguageModel {
    fn forward(&self, ids: &Tensor, kv: Option<&mut KvCache>, cap: &mut dyn Capture) -> Result<Tensor> {
        LanguageModel::forward(self, ids, kv, cap)
    }
    fn n_ctx(&self) -> usize {
        self.info().n_ctx
    }
}

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
        Some("llama") => Llama::load(dir, device),
        _ => Gpt2::load(dir, device),
    }
}

#[cfg(test)]
mod kv_tests {
    use super::LayerKv;
    use tch::{Kind, Tensor};

    /// Appending in pieces across several buffer growths (64, 128, 256 positions) holds
    /// exactly what concatenating every piece at once gives.
    #[test]
    fn kv_buffer_growth_keeps_every_position() {
        let mut slot = None;
        let (mut ks, mut vs) = (Vec::new(), Vec::new());
        for (i, t) in [5i64, 1, 70, 1, 1, 100, 1].into_iter().enumerate() {
            let k = Tensor::randn([1, 3, t, 4], (Kind::Float, tch::Device::Cpu)) + i as f64; // (B, K, T, D)
            let v = Tensor::randn([1, 3, t, 4], (Kind::Float, tch::Device::Cpu)) - i as f64; // (B, K, T, D)
            ks.push(k.shallow_clone());
            vs.push(v.shallow_clone());
            let (ak, av) = LayerKv::append(&mut slot, &k, &v, 1024); // (B, K, S, D)
            assert!(ak.equal(&Tensor::cat(&ks, 2)), "keys after piece {i}");
            assert!(av.equal(&Tensor::cat(&vs, 2)), "values after piece {i}");
        }
        assert_eq!(slot.as_ref().unwrap().len, 179);
        assert_eq!(
            slot.as_ref().unwrap().k.size()[2],
            256,
            "capacity doubles: 64 -> 128 -> 256"
        );
    }

    /// Doubling stops at the context window: with room for 100 positions, a cache of 76
    /// grows to 100, not 128, and is then filled to the last position.
    #[test]
    fn kv_buffer_never_grows_past_the_context_window() {
        let mut slot = None;
        let mut ks = Vec::new();
        for t in [70i64, 6, 23, 1] {
            let k = Tensor::randn([1, 2, t, 4], (Kind::Float, tch::Device::Cpu)); // (B, K, T, D)
            ks.push(k.shallow_clone());
            let (ak, _) = LayerKv::append(&mut slot, &k, &k, 100); // (B, K, S, D)
            assert!(ak.equal(&Tensor::cat(&ks, 2)));
            assert!(
                slot.as_ref().unwrap().k.size()[2] <= 100,
                "capacity {} past the window",
                slot.as_ref().unwrap().k.size()[2]
            );
        }
        assert_eq!(slot.as_ref().unwrap().len, 100);
        assert_eq!(slot.as_ref().unwrap().k.size()[2], 100);
    }
}

#[cfg(test)]
mod attention_tests {
    use super::{causal_attention, ATTN_BLOCK};
    use crate::hooks::{ActivationCache, HookPoint, NoCapture};
    use tch::{Kind, Tensor};

    /// The blocked attention against the textbook formula on whole matrices,
    /// softmax(q k^T * scale + causal mask) v, with grouped-query heads (H = 6, K = 2),
    /// a prompt longer than two blocks, with and without cached positions before it.
    #[test]
    fn blocked_attention_matches_the_whole_matrix_formula() {
        tch::manual_seed(7);
        let (h, kh, d) = (6i64, 2i64, 8i64);
        for (past, t) in [(0i64, 2 * ATTN_BLOCK + 37), (5, ATTN_BLOCK + 1), (40, 3), (12, 1)] {
            let s = past + t;
            let q = Tensor::randn([1, h, t, d], (Kind::Float, tch::Device::Cpu)); // (B, H, T, D)
            let k = Tensor::randn([1, kh, s, d], (Kind::Float, tch::Device::Cpu)); // (B, K, S, D)
            let v = Tensor::randn([1, kh, s, d], (Kind::Float, tch::Device::Cpu)); // (B, K, S, D)
            let scale = 0.3;
            // Reference: keys repeated per query head, one (T, S) matrix per head, in f64.
            let kr = k
                .repeat_interleave_self_int(h / kh, Some(1), None)
                .to_kind(Kind::Double); // (B, H, S, D)
            let vr = v
                .repeat_interleave_self_int(h / kh, Some(1), None)
                .to_kind(Kind::Double); // (B, H, S, D)
            let scores = q.to_kind(Kind::Double).matmul(&kr.transpose(-2, -1)) * scale; // (B, H, T, S)
            let mask = Tensor::ones([t, s], (Kind::Bool, tch::Device::Cpu)).tril(past); // (T, S)
            let scores = scores.masked_fill(&mask.logical_not(), f64::NEG_INFINITY);
            let pattern = scores.softmax(-1, Kind::Double); // (B, H, T, S)
            let z_ref = pattern.matmul(&vr).transpose(1, 2); // (B, T, H, D)

            let z_plain = causal_attention(&q, &k, &v, scale, past, 0, &mut NoCapture).unwrap(); // (B, T, H, D)
            let mut cache = ActivationCache::all();
            let z_cap = causal_attention(&q, &k, &v, scale, past, 0, &mut cache).unwrap();
            assert!(z_plain.equal(&z_cap), "capture changed z (past {past}, t {t})");
            let err = (z_plain.to_kind(Kind::Double) - &z_ref).abs().max().double_value(&[]);
            assert!(err < 1e-5, "z differs from the formula by {err} (past {past}, t {t})");
            let got_p = cache.get(HookPoint::AttnPattern(0)).unwrap().to_kind(Kind::Double);
            assert_eq!(got_p.size(), vec![1, h, t, s]);
            let err = (&got_p - &pattern).abs().max().double_value(&[]);
            assert!(err < 1e-6, "captured pattern differs by {err}");
            let got_s = cache.get(HookPoint::AttnScores(0)).unwrap().to_kind(Kind::Double);
            let masked = mask.logical_not().expand_as(&got_s);
            assert!(
                got_s
                    .masked_select(&masked)
                    .eq(f64::NEG_INFINITY)
                    .all()
                    .int64_value(&[])
                    == 1,
                "masked scores are -inf"
            );
            let err = (got_s.masked_select(&masked.logical_not()) - scores.masked_select(&masked.logical_not()))
                .abs()
                .max()
                .double_value(&[]);
            assert!(err < 1e-5, "captured scores differ by {err}");
        }
    }
}
