//! Shared by the parity tests (GPT-2 and Llama): reading the references that
//! scripts/parity/*.py wrote with HF `transformers`, and comparing a model against them
//! (logits and activations within 1e-4 + 1.3e-6 max |reference|, top-5 ids equal with
//! log-probs within 1e-3, greedy ids equal). A failure names the max |diff| and where it is.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use gpt2_explorer::model::checkpoint::Checkpoint;
use gpt2_explorer::sampling::{self, Sampling};
use gpt2_explorer::{ActivationCache, HookPoint, LanguageModel};
use serde_json::Value;
use tch::{Kind, Tensor};

pub const TOL: f64 = 1e-4;

/// Relative part of every tolerance (float32's `rtol` in `torch.testing.assert_close`),
/// applied to the largest magnitude in the reference tensor: rounding errors of float32
/// sums scale with the largest terms summed, not with the entry they end up in. A few
/// residual-stream entries of SmolLM2's last blocks reach ~740 (one float32 step there is
/// 6e-5), and the fused attention kernel rounds differently from transformers' eager
/// one, so after 30 blocks entries of that row differ by ~1e-4; |diff| <= tol + RTOL
/// max|reference| keeps about 1e-4 for tensors of ordinary size (logits: ~1.3e-4).
pub const RTOL: f64 = 1.3e-6;

pub struct Reference {
    pub json: Value,
    pub tensors: BTreeMap<String, Tensor>,
}

impl Reference {
    pub fn load(dir: &Path) -> Self {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).expect("reference.json"))
                .expect("valid JSON");
        let tensors = Checkpoint::read(&dir.join("reference.safetensors"))
            .expect("reference.safetensors")
            .tensors;
        Reference { json, tensors }
    }
    pub fn prompt_ids(&self, p: usize) -> Vec<u32> {
        ids(&self.json["prompts"][p]["ids"])
    }
    pub fn n_prompts(&self) -> usize {
        self.json["prompts"].as_array().unwrap().len()
    }
    pub fn t(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }
}

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("id list")
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Panics when the max |diff| exceeds `tol + RTOL max|reference|` (`tol` 0: bitwise
/// equal), naming it, its position and both values; prints it otherwise.
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.size(), want.size(), "{what}: shape differs");
    let diff = (got.to_kind(Kind::Double) - want.to_kind(Kind::Double))
        .abs()
        .flatten(0, -1);
    let (max, at) = diff.max_dim(0, false);
    let max = max.double_value(&[]);
    let allowed = if tol == 0.0 {
        0.0
    } else {
        tol + RTOL * want.abs().max().double_value(&[])
    };
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must fail too
    if !(max <= allowed) {
        let at = at.int64_value(&[]);
        let (g, w) = (
            got.flatten(0, -1).double_value(&[at]),
            want.flatten(0, -1).double_value(&[at]),
        );
        let mut idx = vec![];
        let mut rest = at;
        for d in got.size().iter().rev() {
            idx.push(rest % d);
            rest /= d;
        }
        idx.reverse();
        panic!("{what}: max |diff| = {max:.3e} > {allowed:.3e} ({tol:e} + {RTOL:e} max|reference|) at {idx:?} (ours {g}, reference {w})");
    }
    eprintln!("{what}: max |diff| = {max:.2e}");
}

/// Compares logits, every layer's pattern / MLP post / residual, ln_final, top-5 and greedy.
pub fn check_case(case: &str, model: &LanguageModel, r: &Reference) {
    let n_layer = model.info().n_layer;
    for p in 0..r.n_prompts() {
        let ids = r.prompt_ids(p);
        let mut cache = ActivationCache::all();
        let logits = model.run_with_cache(&ids, &mut cache).unwrap(); // (T, V)
        if let Some(want) = r.t(&format!("p{p}.logits")) {
            assert_close(
                &format!("{case} prompt {p} last-position logits"),
                &logits.get(-1),
                want,
                TOL,
            );
        }
        for l in 0..n_layer {
            for (name, hook) in [
                ("attn_pattern", HookPoint::AttnPattern(l)),
                ("mlp_post", HookPoint::MlpPost(l)),
                ("resid_post", HookPoint::ResidPost(l)),
            ] {
                if let Some(want) = r.t(&format!("p{p}.{name}.{l}")) {
                    assert_close(
                        &format!("{case} prompt {p} {name} layer {l}"),
                        &cache.get(hook).unwrap().get(0),
                        want,
                        TOL,
                    );
                }
            }
        }
        if let Some(want) = r.t(&format!("p{p}.embed")) {
            assert_close(
                &format!("{case} prompt {p} token embeddings"),
                &cache.get(HookPoint::Embed).unwrap().get(0),
                want,
                TOL,
            );
        }
        if let Some(want) = r.t(&format!("p{p}.ln_final")) {
            assert_close(
                &format!("{case} prompt {p} ln_final"),
                &cache.ln_final().unwrap().get(0),
                want,
                TOL,
            );
        }
    }
    for entry in r.json["top5"].as_array().unwrap() {
        let p = entry["prompt_index"].as_u64().unwrap() as usize;
        let logits = model.logits(&r.prompt_ids(p)).unwrap();
        let logp = logits.get(-1).log_softmax(-1, Kind::Double);
        let (vals, idx) = logp.topk(5, -1, true, true);
        let got: Vec<u32> = Vec::<i64>::try_from(&idx)
            .unwrap()
            .into_iter()
            .map(|i| i as u32)
            .collect();
        assert_eq!(
            got,
            ids(&entry["ids"]),
            "{case} prompt {p}: top-5 ids differ from transformers"
        );
        let want: Vec<f64> = entry["logprobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let vals = Vec::<f64>::try_from(&vals).unwrap();
        for (g, w) in vals.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-3,
                "{case} prompt {p}: top-5 log-prob {g} vs transformers {w}"
            );
        }
    }
    let g = &r.json["greedy"];
    let p = g["prompt_index"].as_u64().unwrap() as usize;
    let want = ids(&g["new_ids"]);
    let got = sampling::generate(model, &r.prompt_ids(p), want.len(), Sampling::Greedy, |_| {}).unwrap();
    assert_eq!(
        got, want,
        "{case}: greedy ids differ from transformers (min top-1/top-2 margin there {})",
        g["min_margin"]
    );
}
