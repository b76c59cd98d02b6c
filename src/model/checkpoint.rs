//! Strict loading of HF `model.safetensors` files into f32 libtorch tensors.
//!
//! GPT-2 checkpoints come in two known layouts, both accepted by name:
//! - the hub's original files (`openai-community/gpt2`): keys without a prefix
//!   (`wte.weight`, `h.0.attn.c_attn.weight`, ...) plus one causal-mask buffer per block
//!   (`h.{i}.attn.bias`, older files also `h.{i}.attn.masked_bias`);
//! - files written by recent `transformers` (`save_pretrained`): keys prefixed with
//!   `transformer.`, no mask buffers, and no `lm_head.weight` because it is tied to `wte`.
//!
//! A present `lm_head.weight` is accepted only with the shape of `wte` and is ignored
//! (GPT-2 ties it to `wte`). Any other missing, extra or wrong-shaped tensor is an error
//! naming the tensor. Serves every model-made figure of the essay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// The tensors of one safetensors file, keyed by name, as f32 CPU tensors.
pub struct Checkpoint {
    pub path: PathBuf,
    pub tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads every tensor of a safetensors file (F32, F16 and BF16 are converted to f32).
    pub fn read(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::MissingFile {
                    path: path.into(),
                    what: "the model folder needs model.safetensors (the hub's weights file)".into(),
                }
            } else {
                Error::io(path, e)
            }
        })?;
        // SAFETY: the map is read-only and dropped before this function returns; the
        // tensors below copy the bytes they need.
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let st = SafeTensors::deserialize(&mmap).map_err(|e| Error::CorruptCheckpoint {
            path: path.into(),
            msg: e.to_string(),
        })?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            let kind = match view.dtype() {
                Dtype::F32 => Kind::Float,
                Dtype::F16 => Kind::Half,
                Dtype::BF16 => Kind::BFloat16,
                Dtype::BOOL => Kind::Bool,
                Dtype::U8 => Kind::Uint8,
                other => {
                    return Err(Error::Tensor {
                        path: path.into(),
                        name,
                        msg: format!("has dtype {other:?}; only F32, F16 and BF16 weights are supported"),
                    })
                }
            };
            let t = Tensor::f_from_data_size(view.data(), &shape, kind)?;
            let t = if matches!(kind, Kind::Half | Kind::BFloat16) {
                t.to_kind(Kind::Float)
            } else {
                t
            };
            tensors.insert(name, t);
        }
        Ok(Checkpoint {
            path: path.into(),
            tensors,
        })
    }

    /// Renames the known GPT-2 layouts to the hub's canonical names (no `transformer.`
    /// prefix), drops the mask buffers and a tied `lm_head.weight`, and checks that the
    /// remaining tensors are exactly `expected` (name, shape). Returns them by name.
    pub fn into_gpt2(self, expected: &[(String, Vec<i64>)]) -> Result<BTreeMap<String, Tensor>> {
        let path = self.path;
        let want: BTreeMap<&str, &Vec<i64>> = expected.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let wte_shape = want.get("wte.weight").map(|s| (*s).clone());
        let mut out = BTreeMap::new();
        for (raw, t) in self.tensors {
            let name = raw.strip_prefix("transformer.").unwrap_or(&raw).to_string();
            let shape = t.size();
            if name == "lm_head.weight" {
                if Some(&shape) != wte_shape.as_ref() {
                    return Err(Error::Tensor {
                        path,
                        name: raw,
                        msg: format!(
                            "has shape {shape:?}, but GPT-2 ties it to wte.weight {:?}",
                            wte_shape.unwrap_or_default()
                        ),
                    });
                }
                continue; // tied to wte: the model uses wte.weight
            }
            if let Some(layer) = mask_buffer_layer(&name) {
                if !want.contains_key(format!("h.{layer}.ln_1.weight").as_str()) {
                    return Err(Error::Tensor {
                        path,
                        name: raw,
                        msg: "is a mask buffer of a block that config.json does not have (n_layer)".into(),
                    });
                }
                continue; // a constant causal mask; the model builds its own
            }
            match want.get(name.as_str()) {
                None => {
                    return Err(Error::Tensor {
                        path,
                        name: raw,
                        msg: "is not part of a GPT-2 with this config.json (unexpected tensor)".into(),
                    })
                }
                Some(s) if **s != shape => {
                    return Err(Error::Tensor {
                        path,
                        name: raw,
                        msg: format!("has shape {shape:?}, but config.json implies {s:?}"),
                    })
                }
                Some(_) => {}
            }
            if out.insert(name.clone(), t).is_some() {
                return Err(Error::Tensor {
                    path,
                    name: raw,
                    msg: "appears twice (with and without the `transformer.` prefix)".into(),
                });
            }
        }
        if let Some((name, _)) = expected.iter().find(|(n, _)| !out.contains_key(n)) {
            return Err(Error::Tensor {
                path,
                name: name.clone(),
                msg: "is missing from the checkpoint".into(),
            });
        }
        Ok(out)
    }
}

/// The block index of `h.{i}.attn.bias` / `h.{i}.attn.masked_bias`, the constant mask
/// buffers of the hub's files; `None` for any other name.
fn mask_buffer_layer(name: &str) -> Option<usize> {
    match name.split('.').collect::<Vec<_>>()[..] {
        ["h", i, "attn", "bias" | "masked_bias"] => i.parse().ok(),
        _ => None,
    }
}
