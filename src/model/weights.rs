//! Where the decoder's modules get their weights, by the checkpoint's own names: a
//! [`Weights`] hands out tensors one name at a time (candle's `VarBuilder` idea), so
//! each name is written once, where the module loads it, and the same loading code
//! serves three jobs: reading a checkpoint strictly (a missing, extra or wrong-shaped
//! tensor is an error naming it), listing the tensors a configuration needs (for
//! synthetic checkpoints and the benchmark), and creating fresh trainable variables
//! under those names (the parentheses transformer of essay section 7).

use std::collections::BTreeMap;
use std::path::PathBuf;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// How a fresh trainable tensor starts (GPT-2's initialisation).
#[derive(Debug, Clone, Copy)]
pub enum Init {
    /// A matrix or an embedding: normal(0, 0.02).
    Matrix,
    /// A bias: zeros.
    Zeros,
    /// A norm's gain: ones.
    Ones,
}

enum Source<'a> {
    /// A checkpoint's tensors, removed as they are taken.
    Checkpoint {
        path: PathBuf,
        tensors: BTreeMap<String, Tensor>,
    },
    /// Only records what is asked for; hands out zero-cost placeholders.
    Listing(Vec<(String, Vec<i64>)>),
    /// Creates variables of a var store under the asked names.
    Trainable(&'a tch::nn::Path<'a>),
}

/// A source of named tensors for the decoder's loader.
pub struct Weights<'a> {
    source: Source<'a>,
    device: Device,
}

impl<'a> Weights<'a> {
    /// The tensors of a checkpoint (already renamed to the family's canonical names),
    /// converted to f32 and moved to `device` as they are taken.
    pub fn checkpoint(path: impl Into<PathBuf>, tensors: BTreeMap<String, Tensor>, device: Device) -> Self {
        Weights {
            source: Source::Checkpoint {
                path: path.into(),
                tensors,
            },
            device,
        }
    }

    /// Records names and shapes without any data (see [`Weights::listed`]).
    pub fn listing() -> Self {
        Weights {
            source: Source::Listing(Vec::new()),
            device: Device::Cpu,
        }
    }

    /// Fresh variables of `path`'s var store, initialised as GPT-2 was.
    pub fn trainable(path: &'a tch::nn::Path<'a>) -> Self {
        Weights {
            source: Source::Trainable(path),
            device: path.device(),
        }
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The tensor `name` of shape `shape`.
    pub fn get(&mut self, name: &str, shape: &[i64], init: Init) -> Result<Tensor> {
        match &mut self.source {
            Source::Checkpoint { path, tensors } => {
                let t = tensors.remove(name).ok_or_else(|| Error::Tensor {
                    path: path.clone(),
                    name: name.into(),
                    msg: "is missing from the checkpoint".into(),
                })?;
                if t.size() != shape {
                    return Err(Error::Tensor {
                        path: path.clone(),
                        name: name.into(),
                        msg: format!("has shape {:?}, but the config implies {shape:?}", t.size()),
                    });
                }
                Ok(t.to_kind(Kind::Float).to_device(self.device).set_requires_grad(false))
            }
            Source::Listing(list) => {
                list.push((name.to_string(), shape.to_vec()));
                Ok(Tensor::zeros([1], (Kind::Float, Device::Cpu)).expand(shape, false))
                // a view: no memory
            }
            Source::Trainable(path) => {
                // The var store forbids '.' in a variable name: "h.0.ln_1.weight" is the
                // variable "weight" under the sub-paths h / 0 / ln_1.
                let mut parts: Vec<&str> = name.split('.').collect();
                let leaf = parts.pop().expect("a tensor name is not empty");
                let sub = parts.iter().fold((*path).clone(), |p, part| p / *part);
                let init = match init {
                    Init::Matrix => tch::nn::Init::Randn { mean: 0.0, stdev: 0.02 },
                    Init::Zeros => tch::nn::Init::Const(0.0),
                    Init::Ones => tch::nn::Init::Const(1.0),
                };
                Ok(sub.var(leaf, shape, init))
            }
        }
    }

    /// Ends loading: a checkpoint tensor that no module took is an error naming it.
    pub fn finish(self) -> Result<()> {
        if let Source::Checkpoint { path, tensors } = self.source {
            if let Some(extra) = tensors.keys().next() {
                return Err(Error::Tensor {
                    path,
                    name: extra.clone(),
                    msg: "is not part of a model with this config (unexpected tensor)".into(),
                });
            }
        }
        Ok(())
    }

    /// What a listing recorded: (name, shape) in the order the modules asked.
    pub fn listed(self) -> Vec<(String, Vec<i64>)> {
        match self.source {
            Source::Listing(list) => list,
            _ => Vec::new(),
        }
    }
}
