//! Strict checkpoint loading: the known GPT-2 layouts load, anything else is an error
//! that names the tensor. Checkpoints are made here from the committed tiny-hf fixture.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use gpt2_explorer::model::checkpoint::Checkpoint;
use gpt2_explorer::{Error, Gpt2, LanguageModel};
use safetensors::{Dtype, View};
use tch::{Device, Kind, Tensor};

struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn raw(t: &Tensor, dtype: Dtype) -> Raw {
    let shape = t.size().iter().map(|&d| d as usize).collect();
    let bytes = match dtype {
        Dtype::F32 => Vec::<f32>::try_from(t.flatten(0, -1))
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        Dtype::F16 => Vec::<f32>::try_from(t.flatten(0, -1))
            .unwrap()
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::I64 => Vec::<f32>::try_from(t.flatten(0, -1))
            .unwrap()
            .iter()
            .flat_map(|v| (*v as i64).to_le_bytes())
            .collect(),
        _ => unreachable!(),
    };
    Raw { dtype, shape, bytes }
}

fn tiny() -> BTreeMap<String, Tensor> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/tiny-hf");
    Checkpoint::read(&dir.join("model.safetensors")).unwrap().tensors
}

/// Writes a model folder with tiny-hf's config and the given tensors; loads it.
fn load_with(
    tensors: &BTreeMap<String, Tensor>,
    dtype: impl Fn(&str) -> Dtype,
) -> (tempfile::TempDir, Result<LanguageModel, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/tiny-hf/config.json");
    std::fs::copy(src, dir.path().join("config.json")).unwrap();
    let views: Vec<(String, Raw)> = tensors.iter().map(|(k, t)| (k.clone(), raw(t, dtype(k)))).collect();
    safetensors::serialize_to_file(
        views.iter().map(|(k, v)| (k.as_str(), v)),
        None,
        &dir.path().join("model.safetensors"),
    )
    .unwrap();
    let r = Gpt2::load(dir.path(), Device::Cpu);
    (dir, r)
}

fn err_text(r: Result<LanguageModel, Error>) -> String {
    match r {
        Ok(_) => panic!("the checkpoint loaded but should have been refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tied_lm_head_is_accepted() {
    let mut t = tiny();
    let wte = t["transformer.wte.weight"].shallow_clone();
    t.insert("lm_head.weight".into(), wte);
    let (_d, r) = load_with(&t, |_| Dtype::F32);
    r.expect("lm_head.weight tied to wte must load");
}

#[test]
fn an_lm_head_of_another_shape_is_refused() {
    let mut t = tiny();
    t.insert(
        "lm_head.weight".into(),
        Tensor::zeros([3, 32], (Kind::Float, Device::Cpu)),
    );
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(e.contains("lm_head.weight") && e.contains("[3, 32]"), "{e}");
}

#[test]
fn half_precision_weights_load_as_f32() {
    let t = tiny();
    let (_d, r) = load_with(&t, |_| Dtype::F16);
    let m = r.expect("an F16 checkpoint loads");
    assert_eq!(m.w_e().kind(), Kind::Float);
    let want = t["transformer.wte.weight"].to_kind(Kind::Half).to_kind(Kind::Float);
    assert!(m.w_e().equal(&want));
}

#[test]
fn an_integer_weight_is_refused_by_name() {
    let t = tiny();
    let e = err_text(
        load_with(&t, |k| {
            if k.ends_with("ln_f.bias") {
                Dtype::I64
            } else {
                Dtype::F32
            }
        })
        .1,
    );
    assert!(e.contains("transformer.ln_f.bias") && e.contains("dtype"), "{e}");
}

#[test]
fn missing_extra_wrong_shaped_and_duplicated_tensors_are_named() {
    let mut t = tiny();
    t.remove("transformer.h.1.mlp.c_fc.bias");
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(e.contains("h.1.mlp.c_fc.bias") && e.contains("missing"), "{e}");

    let mut t = tiny();
    t.insert(
        "transformer.h.0.attn.extra".into(),
        Tensor::zeros([2], (Kind::Float, Device::Cpu)),
    );
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(
        e.contains("transformer.h.0.attn.extra") && e.contains("unexpected"),
        "{e}"
    );

    let mut t = tiny();
    t.insert(
        "transformer.wpe.weight".into(),
        Tensor::zeros([16, 32], (Kind::Float, Device::Cpu)),
    );
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(
        e.contains("transformer.wpe.weight") && e.contains("[16, 32]") && e.contains("[32, 32]"),
        "{e}"
    );

    let mut t = tiny();
    let wte = t["transformer.wte.weight"].shallow_clone();
    t.insert("wte.weight".into(), wte);
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(e.contains("wte.weight") && e.contains("twice"), "{e}");

    let mut t = tiny();
    t.insert(
        "h.7.attn.bias".into(),
        Tensor::ones([1, 1, 32, 32], (Kind::Float, Device::Cpu)),
    );
    let e = err_text(load_with(&t, |_| Dtype::F32).1);
    assert!(e.contains("h.7.attn.bias"), "{e}");
}

#[test]
fn a_config_that_disagrees_with_the_checkpoint_names_the_first_bad_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/tiny-hf");
    std::fs::copy(src.join("model.safetensors"), dir.path().join("model.safetensors")).unwrap();
    let cfg = std::fs::read_to_string(src.join("config.json"))
        .unwrap()
        .replace("\"n_layer\": 2", "\"n_layer\": 3");
    std::fs::write(dir.path().join("config.json"), cfg).unwrap();
    let e = err_text(Gpt2::load(dir.path(), Device::Cpu));
    assert!(e.contains("h.2.") && e.contains("missing"), "{e}");
}
