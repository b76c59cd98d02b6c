//! The Llama family against HF `transformers` (references written by
//! scripts/parity/make_llama_fixtures.py): two tiny random Llamas written by
//! `save_pretrained` (tied and untied embeddings, grouped-query attention), and the real
//! SmolLM2-135M-Instruct GGUF that `make setup` fetches, which transformers dequantised
//! with PyPI `gguf` and ran in fp32.

mod parity_support;

use std::path::{Path, PathBuf};

use gpt2_explorer::gguf::GgufFile;
use gpt2_explorer::{ActivationCache, HookPoint, Llama, LoadedModel};
use parity_support::{assert_close, ids, Reference};
use tch::{Device, Kind, Tensor};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/llama")
        .join(case)
}

fn smollm2_path() -> PathBuf {
    let p = gpt2_explorer::data_cache_dir().join(gpt2_explorer::source::SMOLLM2_GGUF);
    assert!(p.is_file(), "{} is missing: run `make setup`", p.display());
    p
}

#[test]
fn tiny_random_llama_with_tied_embeddings() {
    let r = Reference::load(&fixture("tiny-random"));
    let m = Llama::load(&fixture("tiny-random"), Device::Cpu).unwrap();
    parity_support::check_case("tiny-random", &m, &r);
}

#[test]
fn tiny_random_llama_with_its_own_lm_head_and_rope_theta() {
    let r = Reference::load(&fixture("tiny-random-untied"));
    let m = Llama::load(&fixture("tiny-random-untied"), Device::Cpu).unwrap();
    assert!(
        m.lm_head.is_some()
            && m.info().positions == gpt2_explorer::model::config::Positions::Rotary { theta: 500000.0 }
    );
    parity_support::check_case("tiny-random-untied", &m, &r);
}

#[test]
fn smollm2_gguf_matches_transformers() {
    let r = Reference::load(&fixture("smollm2"));
    let g = GgufFile::open(smollm2_path()).unwrap();
    let m = Llama::from_gguf(&g, Device::Cpu).unwrap();
    let info = m.info();
    assert_eq!(
        (info.n_layer, info.n_head, info.n_kv_head, info.d_model, info.vocab_size),
        (30, 9, 3, 576, 49152)
    );
    parity_support::check_case("smollm2", &m, &r);
}

#[test]
fn smollm2_through_the_command_line_and_loaded_model() {
    let r = Reference::load(&fixture("smollm2"));
    let lm = LoadedModel::load("smollm2", true).unwrap();
    for p in 0..r.n_prompts() {
        let text = r.json["prompts"][p]["text"].as_str().unwrap();
        assert_eq!(
            lm.tokenizer.encode(text).unwrap(),
            r.prompt_ids(p),
            "SmolLM2 tokenizer ids for {text:?}"
        );
    }
    let text = r.json["prompts"][0]["text"].as_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpt2-explorer"))
        .args(["next-token", "--model", "smollm2", "--top", "5", "--json", text])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<u32> = v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(got, ids(&r.json["top5"][0]["ids"]), "CLI top-5 for SmolLM2");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpt2-explorer"))
        .args([
            "generate",
            "--model",
            "smollm2",
            "--max-new-tokens",
            "20",
            "--temperature",
            "0",
            "--json",
            text,
        ])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        ids(&v["generated_ids"]),
        ids(&r.json["greedy"]["new_ids"]),
        "CLI greedy ids for SmolLM2"
    );
    assert_eq!(v["text"], r.json["greedy"]["text"]);
}

/// Hook points and weights a RoPE model lacks are reported as absent; the ones it has
/// rebuild its activations with the documented orientation (and the kv-head sharing).
#[test]
fn llama_hooks_and_weights() {
    let r = Reference::load(&fixture("tiny-random"));
    let m = Llama::load(&fixture("tiny-random"), Device::Cpu).unwrap();
    assert!(m.check_hook(HookPoint::PosEmbed).is_err());
    let e = m.w_pos().unwrap_err().to_string();
    assert!(e.contains("rotary"), "{e}");
    assert!(!m.hook_points().contains(&HookPoint::PosEmbed));
    let ids = r.prompt_ids(2);
    let mut c = ActivationCache::all();
    let logits = m.run_with_cache(&ids, &mut c).unwrap();
    assert!(
        c.get(HookPoint::PosEmbed).is_err(),
        "a RoPE model must not fake a position embedding"
    );
    assert!(logits.equal(&m.logits(&ids).unwrap()), "capturing changed the logits");
    let info = m.info();
    let gpt2_explorer::model::config::NormKind::Rms { eps } = info.norm else {
        panic!("a Llama normalises with RMSNorm")
    };
    for layer in 0..info.n_layer {
        let x = c.resid_pre(layer).unwrap().get(0); // (T, C)
        let b = &m.h[layer];
        let var = x.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        let xn = (&x * (var + eps).rsqrt()) * &b.ln_1.weight;
        let q = Tensor::einsum("tc,hcd->thd", &[&xn, &m.w_q(layer).unwrap()], None::<i64>);
        assert_close(
            &format!("W_Q of block {layer}"),
            &q,
            &c.get(HookPoint::AttnQ(layer)).unwrap().get(0),
            1e-5,
        );
        let k = Tensor::einsum("tc,kcd->tkd", &[&xn, &m.w_k(layer).unwrap()], None::<i64>);
        assert_close(
            &format!("W_K of block {layer}"),
            &k,
            &c.get(HookPoint::AttnK(layer)).unwrap().get(0),
            1e-5,
        );
        let z = c.get(HookPoint::AttnZ(layer)).unwrap().get(0);
        let out = Tensor::einsum("thd,hdc->tc", &[&z, &m.w_o(layer).unwrap()], None::<i64>);
        assert_close(
            &format!("W_O of block {layer}"),
            &out,
            &c.get(HookPoint::AttnOut(layer)).unwrap().get(0),
            1e-5,
        );
        let mid = c.get(HookPoint::ResidMid(layer)).unwrap().get(0);
        let var = mid.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        let mn = (&mid * (var + eps).rsqrt()) * &b.ln_2.weight;
        let post = mn.matmul(&m.w_gate(layer).unwrap()).silu() * mn.matmul(&m.w_in(layer).unwrap());
        assert_close(
            &format!("W_gate, W_in of block {layer}"),
            &post,
            &c.mlp_post(layer).unwrap().get(0),
            1e-5,
        );
        let out = post.matmul(&m.w_out(layer).unwrap());
        assert_close(
            &format!("W_out of block {layer}"),
            &out,
            &c.get(HookPoint::MlpOut(layer)).unwrap().get(0),
            1e-5,
        );
    }
    assert_eq!(
        m.kv_head_of(3),
        1,
        "4 query heads over 2 kv heads: head 3 reads kv head 1"
    );
    assert_close("W_U", &c.ln_final().unwrap().get(0).matmul(&m.w_u()), &logits, 1e-4);
}

#[test]
fn kv_cache_matches_a_full_forward_for_llama() {
    let r = Reference::load(&fixture("tiny-random"));
    let m = Llama::load(&fixture("tiny-random"), Device::Cpu).unwrap();
    let seq = r.prompt_ids(2);
    let full = m.logits(&seq).unwrap();
    let mut kv = gpt2_explorer::KvCache::new();
    let pre = m
        .forward(
            &gpt2_explorer::model::gpt2::ids_tensor(&seq[..5]),
            Some(&mut kv),
            &mut gpt2_explorer::NoCapture,
        )
        .unwrap();
    assert_close("prefill", &pre.get(0), &full.narrow(0, 0, 5), 1e-4);
    for (i, &id) in seq.iter().enumerate().skip(5) {
        let step = m
            .forward(
                &gpt2_explorer::model::gpt2::ids_tensor(&[id]),
                Some(&mut kv),
                &mut gpt2_explorer::NoCapture,
            )
            .unwrap();
        assert_close(
            &format!("cached step {i}"),
            &step.get(0).get(0),
            &full.get(i as i64),
            1e-4,
        );
    }
}
