//! Interventions, attribution and saliency against HF `transformers` with PyTorch
//! hooks on the same checkpoints: the references in tests/fixtures/interventions were
//! written by scripts/parity/make_intervention_fixtures.py (its docstring states every
//! definition). Logits within the parity tolerance (1e-4 + 1.3e-6 max|reference|);
//! attribution components, heads, patching metrics and saliency within 1e-4 of the
//! logit scale; steered greedy ids equal.

mod parity_support;

use std::path::{Path, PathBuf};

use gpt2_explorer::analysis::attribution::{logit_attribution, saliency};
use gpt2_explorer::intervene::{self, AblateMode, Ablation, Patch, PatchHook, Site, Steer};
use gpt2_explorer::sampling::{generate_steps_with, Sampling};
use gpt2_explorer::{ActivationCache, Gpt2, HookFilter, LanguageModel, Llama};
use parity_support::{assert_close, ids, TOL};
use serde_json::Value;
use tch::{Device, Tensor};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn load(case: &str) -> (LanguageModel, Value) {
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/interventions").join(format!("{case}.json"))).unwrap(),
    )
    .unwrap();
    let dir = root().join(r["checkpoint"]["path"].as_str().unwrap());
    let m = match r["config"]["arch"].as_str().unwrap() {
        _ if dir.extension().is_some_and(|e| e == "gguf") => {
            assert!(dir.is_file(), "{} is missing: run `make setup`", dir.display());
            Llama::from_gguf(&gpt2_explorer::gguf::GgufFile::open(&dir).unwrap(), Device::Cpu).unwrap()
        }
        "gpt2" => Gpt2::load(&dir, Device::Cpu).unwrap(),
        "llama" => Llama::load(&dir, Device::Cpu).unwrap(),
        other => panic!("unknown arch {other}"),
    };
    (m, r)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Logits (T, V) against a reference: every value when the fixture holds them all
/// (small vocabularies), else the last row in full and the top-5 ids at every position.
fn check_logits(what: &str, got: &Tensor, want: &Value) {
    let shape: Vec<i64> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(got.size(), shape, "{what}: shape");
    if want.get("values").is_some() {
        let flat: Vec<f64> = want["values"].as_array().unwrap().iter().flat_map(floats).collect();
        assert_close(what, got, &Tensor::from_slice(&flat).view(shape.as_slice()), TOL);
        return;
    }
    assert_close(
        &format!("{what}, last row"),
        &got.get(-1),
        &Tensor::from_slice(&floats(&want["last_row"])),
        TOL,
    );
    for (t, row) in want["top5_ids"].as_array().unwrap().iter().enumerate() {
        let (_, idx) = got.get(t as i64).topk(5, -1, true, true);
        assert_eq!(
            Vec::<i64>::try_from(&idx).unwrap(),
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect::<Vec<_>>(),
            "{what}: top-5 ids at position {t}"
        );
    }
}

fn pairs(v: &Value) -> Vec<Site> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| Site::Head {
            layer: p[0].as_u64().unwrap() as usize,
            head: p[1].as_u64().unwrap() as usize,
        })
        .collect()
}

/// |got - want| <= 1e-4 x the logit scale, naming what.
fn close(what: &str, got: f64, want: f64, scale: f64) {
    assert!(
        (got - want).abs() <= TOL * scale.max(1.0),
        "{what}: ours {got} vs transformers {want} (allowed {})",
        TOL * scale.max(1.0)
    );
}

fn check(case: &str) {
    let (m, r) = load(case);
    let prompt = |i: &Value| ids(&r["prompts"][i.as_u64().unwrap() as usize]);
    let main = ids(&r["main_prompt_ids"]);
    check_logits(
        &format!("{case}: clean logits"),
        &m.logits(&main).unwrap(),
        &r["clean"]["logits"],
    );

    for c in r["ablation"]["cases"].as_array().unwrap() {
        let kind = c["kind"].as_str().unwrap();
        let ids = prompt(&r["ablation"]["prompt_index"]);
        let (sites, mode) = match kind {
            "zero_heads" => (pairs(&c["heads"]), AblateMode::Zero),
            "mean_heads" => (pairs(&c["heads"]), AblateMode::Mean),
            "zero_neurons" => {
                let layer = c["layer"].as_u64().unwrap() as usize;
                (
                    c["neurons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| Site::Neuron {
                            layer,
                            neuron: n.as_u64().unwrap() as usize,
                        })
                        .collect(),
                    AblateMode::Zero,
                )
            }
            "zero_attn_out" => (
                vec![Site::AttnOut(c["layer"].as_u64().unwrap() as usize)],
                AblateMode::Zero,
            ),
            "zero_mlp_out" => (
                vec![Site::MlpOut(c["layer"].as_u64().unwrap() as usize)],
                AblateMode::Zero,
            ),
            other => panic!("unknown ablation case {other}"),
        };
        let mut ablate = Ablation::new(&m, &sites, mode, &ids).unwrap();
        let got = m.run_with_cache(&ids, &mut ablate).unwrap();
        check_logits(&format!("{case}: {kind} {sites:?}"), &got, &c["logits"]);
    }

    let p = &r["patching"];
    let (clean, corrupt) = (ids(&p["clean_ids"]), ids(&p["corrupt_ids"]));
    let metric = intervene::logit_diff(
        p["answer_id"].as_u64().unwrap() as u32,
        p["wrong_id"].as_u64().unwrap() as u32,
    );
    let scale = m.logits(&clean).unwrap().abs().max().double_value(&[]);
    let n_layer = m.info().n_layer;
    for hook in [PatchHook::ResidPre, PatchHook::AttnOut, PatchHook::MlpOut] {
        let want = p[hook.name()].as_array().unwrap();
        if n_layer <= 4 {
            // The whole sweep.
            let got = intervene::patch_sweep(&m, &clean, &corrupt, hook, &metric).unwrap();
            close(
                &format!("{case}: clean metric"),
                got.clean,
                p["clean_metric"].as_f64().unwrap(),
                scale,
            );
            close(
                &format!("{case}: corrupt metric"),
                got.corrupt,
                p["corrupt_metric"].as_f64().unwrap(),
                scale,
            );
            for (l, row) in want.iter().enumerate() {
                for (t, w) in row.as_array().unwrap().iter().enumerate() {
                    close(
                        &format!("{case}: patching {} block {l} position {t}", hook.name()),
                        got.patched[l][t],
                        w.as_f64().unwrap(),
                        scale,
                    );
                }
            }
        } else {
            // A deep model: the first, middle and last blocks, every position, patched one
            // by one as patch_sweep does (the sweep itself is checked on the tiny models).
            let mut cache = ActivationCache::new(HookFilter::Only((0..n_layer).map(|l| hook.at(l)).collect()));
            let _ = m.run_with_cache(&clean, &mut cache).unwrap();
            for l in [0, n_layer / 2, n_layer - 1] {
                let act = cache.get(hook.at(l)).unwrap().get(0); // (T, C)
                for (t, w) in want[l].as_array().unwrap().iter().enumerate() {
                    let mut patch = Patch {
                        hook: hook.at(l),
                        position: t,
                        value: act.get(t as i64),
                    };
                    let got = metric(&m.run_with_cache(&corrupt, &mut patch).unwrap()).unwrap();
                    close(
                        &format!("{case}: patching {} block {l} position {t}", hook.name()),
                        got,
                        w.as_f64().unwrap(),
                        scale,
                    );
                }
            }
        }
    }

    let s = &r["steering"];
    let layer = s["layer"].as_u64().unwrap() as usize;
    let v =
        intervene::steering_vector(&m, &prompt(&s["prompt_a_index"]), &prompt(&s["prompt_b_index"]), layer).unwrap();
    let want_v = Tensor::from_slice(&floats(&s["vector"]));
    assert_close(&format!("{case}: steering vector"), &v, &want_v, TOL);
    let c_ids = ids(&s["prompt_c_ids"]);
    let mut steer = Steer::new(&m, layer, v, s["scale"].as_f64().unwrap()).unwrap();
    check_logits(
        &format!("{case}: steered logits"),
        &m.run_with_cache(&c_ids, &mut steer).unwrap(),
        &s["logits"],
    );
    let got: Vec<u32> = generate_steps_with(
        &m,
        &c_ids,
        s["n_new"].as_u64().unwrap() as usize,
        Sampling::Greedy,
        &mut steer,
        |_| {},
    )
    .unwrap()
    .into_iter()
    .map(|x| x.id)
    .collect();
    assert_eq!(
        got,
        ids(&s["generated_ids"]),
        "{case}: steered greedy ids (cached) vs transformers (re-run each step)"
    );

    let d = &r["dla"];
    let target = d["target_id"].as_u64().unwrap() as u32;
    let a = logit_attribution(
        &m,
        &prompt(&d["prompt_index"]),
        d["position"].as_u64().unwrap() as usize,
        target,
    )
    .unwrap();
    let scale = d["logit"].as_f64().unwrap().abs();
    close(
        &format!("{case}: DLA logit"),
        a.logit,
        d["logit"].as_f64().unwrap(),
        scale,
    );
    let want: &serde_json::Map<String, Value> = d["components"].as_object().unwrap();
    assert_eq!(
        a.components
            .iter()
            .map(|t| t.name.clone())
            .collect::<std::collections::BTreeSet<_>>(),
        want.keys().cloned().collect(),
        "{case}: component names"
    );
    for t in &a.components {
        close(
            &format!("{case}: DLA component {}", t.name),
            t.value,
            want[&t.name].as_f64().unwrap(),
            scale,
        );
    }
    let want = d["heads"].as_object().unwrap();
    assert_eq!(a.heads.len(), want.len(), "{case}: head count");
    for t in &a.heads {
        close(
            &format!("{case}: DLA head {}", t.name),
            t.value,
            want[&t.name].as_f64().unwrap(),
            scale,
        );
    }

    let sal = &r["saliency"];
    let got = saliency(
        &m,
        &prompt(&sal["prompt_index"]),
        sal["position"].as_u64().unwrap() as usize,
        sal["target_id"].as_u64().unwrap() as u32,
    )
    .unwrap();
    let want: Vec<f64> = sal["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        close(&format!("{case}: saliency of token {i}"), *g, *w, scale);
    }
}

#[test]
fn gpt2_interventions_match_transformers_hooks() {
    check("gpt2-tiny");
}

#[test]
fn llama_interventions_match_transformers_hooks() {
    check("llama-tiny");
}

/// The real offline model (SmolLM2-135M from its GGUF file, which `make setup` fetches).
#[test]
fn smollm2_interventions_match_transformers_hooks() {
    check("smollm2");
}
