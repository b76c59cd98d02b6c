//! Seeded synthetic GPT-2 checkpoints that Python and Rust generate bit for bit alike.
//!
//! No registry ships real GPT-2 weights, so the parity tests and the offline smoke demo
//! use weights drawn from a counter-based SplitMix64 generator that
//! `scripts/parity/make_fixtures.py` implements too: HF `transformers` runs the same
//! weights there and its outputs are committed as references; here the weights are
//! regenerated and written as an ordinary hub-layout checkpoint folder. These weights
//! are random: they make no sense of English, and everything made from them says so.
//!
//! The spec: tensors in the order of [`crate::model::gpt2::Gpt2::expected_tensors`]
//! (index s), elements i in row-major order of HF's layout; with wrapping u64 arithmetic
//! `base = s * 0xD1B54A32D192ED03 ^ seed`, `z = base + (i + 1) * 0x9E3779B97F4A7C15`,
//! then SplitMix64's finaliser; then in f32 `u = (z >> 40)`, `v = u * 2^-24`,
//! `w = (v - 0.5) * f32(2 * scale) + offset`. Scales: `wte` 2/sqrt(C), `wpe` 0.1,
//! block matrices 1/sqrt(fan-in), linear biases 0.02, LayerNorm weights 0.2 around 1,
//! LayerNorm biases 0.1.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, View};

use crate::error::{Error, Result};
use crate::model::gpt2::Gpt2;
use crate::model::Gpt2Config;

/// The values of tensor `s` (n elements) of the spec above.
pub fn prng_values(seed: u64, s: u64, n: usize, scale: f64, offset: f32) -> Vec<f32> {
    let base = s.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ seed;
    let k = (2.0 * scale) as f32;
    (0..n as u64)
        .map(|i| {
            let mut z = base.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let v = (z >> 40) as f32 * (1.0 / 16_777_216.0);
            (v - 0.5) * k + offset
        })
        .collect()
}

/// (scale, offset) of a tensor by its canonical name and shape.
fn scale_offset(name: &str, shape: &[i64], c: usize) -> (f64, f32) {
    if name == "wte.weight" {
        (2.0 / (c as f64).sqrt(), 0.0)
    } else if name == "wpe.weight" {
        (0.1, 0.0)
    } else if name.contains("ln_") {
        if name.ends_with(".weight") {
            (0.2, 1.0)
        } else {
            (0.1, 0.0)
        }
    } else if shape.len() == 2 {
        (1.0 / (shape[0] as f64).sqrt(), 0.0)
    } else {
        (0.02, 0.0)
    }
}

/// All tensors of a synthetic GPT-2: (name, shape, values), in spec order.
pub fn synthetic_tensors(cfg: &Gpt2Config, seed: u64) -> Vec<(String, Vec<i64>, Vec<f32>)> {
    Gpt2::expected_tensors(cfg)
        .into_iter()
        .enumerate()
        .map(|(s, (name, shape))| {
            let n = shape.iter().product::<i64>() as usize;
            let (scale, offset) = scale_offset(&name, &shape, cfg.n_embd);
            let values = prng_values(seed, s as u64, n, scale, offset);
            (name, shape, values)
        })
        .collect()
}

/// The key layout a checkpoint is written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    /// Like the hub's original GPT-2 files: no prefix, `h.{i}.attn.bias` mask buffers.
    Hub,
    /// Like `save_pretrained` of recent `transformers`: `transformer.` prefix, no buffers.
    Transformers,
}

struct F32View {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &F32View {
    fn dtype(&self) -> Dtype {
        Dtype::F32
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

fn f32_view(shape: &[i64], values: &[f32]) -> F32View {
    F32View {
        shape: shape.iter().map(|&d| d as usize).collect(),
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Writes `config.json` and `model.safetensors` of a synthetic GPT-2 into `dir`
/// (created if needed; each file written to a temporary name and renamed).
pub fn write_checkpoint(dir: &Path, cfg: &Gpt2Config, seed: u64, layout: Layout) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut views: Vec<(String, F32View)> = Vec::new();
    for (name, shape, values) in synthetic_tensors(cfg, seed) {
        let key = match layout {
            Layout::Hub => name,
            Layout::Transformers => format!("transformer.{name}"),
        };
        views.push((key, f32_view(&shape, &values)));
    }
    if layout == Layout::Hub {
        let p = cfg.n_positions as i64;
        let mask: Vec<f32> = (0..p * p).map(|i| if i % p <= i / p { 1.0 } else { 0.0 }).collect();
        for l in 0..cfg.n_layer {
            views.push((format!("h.{l}.attn.bias"), f32_view(&[1, 1, p, p], &mask)));
        }
    }
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let weights = dir.join("model.safetensors");
    let bytes = safetensors::serialize(views.iter().map(|(k, v)| (k.as_str(), v)), Some(meta)).map_err(|e| {
        Error::CorruptCheckpoint {
            path: weights.clone(),
            msg: e.to_string(),
        }
    })?;
    drop(views);
    crate::io::write_atomic(&weights, &bytes)?;
    let config = serde_json::to_string_pretty(cfg).expect("a config serialises");
    crate::io::write_atomic(&dir.join("config.json"), config.as_bytes())
}

/// Writes a whole model folder all or nothing: `config.json`, `model.safetensors` and the
/// GPT-2 tokenizer files copied from `tokenizer_dir` are staged in a hidden folder beside
/// `out`, then moved into place, so a failure leaves `out` as it was.
pub fn write_model_folder(out: &Path, cfg: &Gpt2Config, seed: u64, layout: Layout, tokenizer_dir: &Path) -> Result<()> {
    const TOKENIZER_FILES: [&str; 2] = ["vocab.json", "merges.txt"];
    for f in TOKENIZER_FILES {
        let src = tokenizer_dir.join(f);
        if !src.is_file() {
            return Err(Error::MissingFile {
                path: src,
                what: "the GPT-2 tokenizer file; run `make setup` to fetch it".into(),
            });
        }
    }
    if out.exists() && !out.is_dir() {
        return Err(Error::io(
            out,
            std::io::Error::other("exists and is not a folder; give a new or existing folder"),
        ));
    }
    let name = out
        .file_name()
        .ok_or_else(|| Error::io(out, std::io::Error::other("does not name a folder")))?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let staging = parent.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| -> Result<()> {
        write_checkpoint(&staging, cfg, seed, layout)?;
        for f in TOKENIZER_FILES {
            std::fs::copy(tokenizer_dir.join(f), staging.join(f)).map_err(|e| Error::io(staging.join(f), e))?;
        }
        if !out.exists() {
            return std::fs::rename(&staging, out).map_err(|e| Error::io(out, e));
        }
        for f in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
            std::fs::rename(staging.join(f), out.join(f)).map_err(|e| Error::io(out.join(f), e))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}
