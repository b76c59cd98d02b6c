//! Training utilities for the small nets of essay sections 3, 4, 5 and 7 ("What is a
//! model?", "Neural nets, training, practice", the digit embeddings, the parentheses
//! transformer): a seeded training loop with SGD or Adam, progress reports and a loss
//! history, and a cache of trained weights (safetensors in the git-ignored data cache,
//! keyed by the experiment's configuration) so that re-running a figure never retrains.
//!
//! How an experiment uses it:
//!
//! ```no_run
//! use gpt2_explorer::train::{self, Loss, DenseNet, Activation, Optimizer, TrainCache, TrainConfig};
//! use serde_json::json;
//! # fn main() -> gpt2_explorer::Result<()> {
//! let cfg = TrainConfig { seed: 1, optimizer: Optimizer::Adam, lr: 0.01, iterations: 200, batch_size: 64, progress: true };
//! let x = tch::Tensor::randn([256, 1], (tch::Kind::Float, tch::Device::Cpu)); // (N, 1)
//! let y = x.sin(); // (N, 1)
//! // 1. The net built in a fresh var store right after seeding libtorch.
//! let (mut vs, net) = train::seeded(cfg.seed, |p| DenseNet::new(p, &[1, 16, 16, 1], Activation::Relu))?;
//! // 2. Weights from the cache when this exact configuration was trained before,
//! //    otherwise trained now and stored. Everything that changes the weights goes into
//! //    the key: the net's shape, the data, the hyper-parameters.
//! let key = json!({"net": [1, 16, 16, 1], "data": "sin, 256 normal points, seed 0", "train": cfg});
//! let trained = TrainCache::default().load_or_train("sine-demo", &key, &mut vs, |vs| {
//!     train::fit(vs, &cfg, &x, &y, Loss::Mse, |xb| net.forward(xb))
//! })?;
//! println!("final loss {:?}, from cache: {}", trained.history.last(), trained.from_cache);
//! # Ok(()) }
//! ```
//!
//! Two loops: [`fit`] for a fixed data set (shuffled mini-batches, one loss per epoch)
//! and [`train_steps`] for data made on the fly (one closure call per step, one loss per
//! step; the parentheses transformer). Both take the same [`TrainConfig`], validated
//! first ([`TrainConfig::validate`]): a zero or negative size, learning rate or epoch
//! count is an [`Error::BadHyperParameter`] naming the fix.
//!
//! Determinism: [`seeded`] seeds libtorch and builds the net under one lock (libtorch's
//! generator is global to the process, so two threads must not interleave), the
//! mini-batch order comes from a ChaCha RNG seeded with `cfg.seed`, and libtorch runs on
//! the CPU; the same configuration gives the same loss history, bit for bit.
//!
//! The cache ([`TrainCache`]): `data/cache/trained/<name>-<hash>.safetensors` holds every
//! variable of the var store plus the loss history (tensor `__history__.loss`), written
//! atomically; `<name>-<hash>.json` beside it says, for people, which configuration it
//! is. A file that cannot be read, or whose tensors do not match the net, is retrained
//! and overwritten with a warning. `GPT2_EXPLORER_RETRAIN=1` retrains everything;
//! `GPT2_EXPLORER_TRAINED=DIR` keeps the trained weights in DIR instead.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tch::nn::{self, Module, OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result, TrainProblem};
use crate::progress::Counter;

/// Which optimiser moves the weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// Plain stochastic gradient descent, optionally with momentum (0 = none).
    Sgd { momentum: f64 },
    /// Adam with libtorch's default betas (0.9, 0.999).
    Adam,
}

/// The hyper-parameters of a training run. Serialises into the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seeds libtorch (initial weights) and the mini-batch order.
    pub seed: u64,
    pub optimizer: Optimizer,
    /// Learning rate (> 0).
    pub lr: f64,
    /// How long to train (> 0): passes over the data (epochs) for [`fit`], optimiser
    /// steps for [`train_steps`]. Serialised as `epochs`, its former name, so that the
    /// cache keys of nets trained before the rename still match.
    #[serde(rename = "epochs")]
    pub iterations: usize,
    /// Examples per step (> 0); at least the data size means full-batch gradient descent.
    pub batch_size: usize,
    /// Report progress to the sink the caller installed ([`crate::progress`]; the
    /// binaries draw bars on a terminal). Not part of the
    /// serialised form, so it never changes a cache key.
    #[serde(skip_serializing, default)]
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 0,
            optimizer: Optimizer::Adam,
            lr: 1e-3,
            iterations: 100,
            batch_size: 64,
            progress: true,
        }
    }
}

/// The error for a hyper-parameter `name` with value `value` that breaks `rule`.
pub fn bad_hyper_parameter(name: &str, value: impl std::fmt::Display, rule: &str) -> Error {
    Error::BadHyperParameter {
        name: name.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    }
}

impl TrainConfig {
    /// Checks every field: learning rate finite and > 0, iterations and batch size > 0,
    /// momentum in [0, 1).
    pub fn validate(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(bad_hyper_parameter(
                "learning rate",
                self.lr,
                "a finite number > 0, e.g. 0.01",
            ));
        }
        if self.iterations == 0 {
            return Err(bad_hyper_parameter(
                "iterations (epochs of fit, steps of train_steps)",
                self.iterations,
                "at least 1",
            ));
        }
        if self.batch_size == 0 {
            return Err(bad_hyper_parameter("batch size", self.batch_size, "at least 1"));
        }
        if let Optimizer::Sgd { momentum } = self.optimizer {
            if !(momentum.is_finite() && (0.0..1.0).contains(&momentum)) {
                return Err(bad_hyper_parameter("momentum", momentum, "a number in [0, 1)"));
            }
        }
        Ok(())
    }

    fn optimizer(&self, vs: &VarStore) -> Result<nn::Optimizer> {
        Ok(match self.optimizer {
            Optimizer::Sgd { momentum } => nn::Sgd {
                momentum,
                ..Default::default()
            }
            .build(vs, self.lr)?,
            Optimizer::Adam => nn::Adam::default().build(vs, self.lr)?,
        })
    }
}

/// A size given by a user (net width, number of examples): > 0, or an
/// [`Error::BadHyperParameter`] naming it.
pub fn check_size(name: &str, value: i64) -> Result<usize> {
    if value <= 0 {
        return Err(bad_hyper_parameter(name, value, "a whole number >= 1"));
    }
    Ok(value as usize)
}

/// The shape of a small trainable GPT-2 (the parentheses and text models): blocks, heads
/// and feature length each >= 1, the feature length a multiple of the heads.
pub fn check_gpt_shape(n_layer: usize, n_head: usize, n_embd: usize) -> Result<()> {
    check_size("blocks", n_layer as i64)?;
    check_size("heads", n_head as i64)?;
    check_size("feature length", n_embd as i64)?;
    if !n_embd.is_multiple_of(n_head) {
        return Err(bad_hyper_parameter(
            "feature length",
            n_embd,
            &format!("a multiple of the number of heads ({n_head})"),
        ));
    }
    Ok(())
}

/// The loss after each epoch ([`fit`]) or step ([`train_steps`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub loss: Vec<f64>,
}

impl History {
    /// The last recorded loss.
    pub fn last(&self) -> Option<f64> {
        self.loss.last().copied()
    }

    /// (step, loss) for each of `steps` (counted from 1) that the run reached; steps past
    /// the end (a run shorter than asked about) are left out rather than read out of range.
    pub fn at_steps(&self, steps: &[usize]) -> Vec<(usize, f64)> {
        steps
            .iter()
            .filter(|&&s| s >= 1 && s <= self.loss.len())
            .map(|&s| (s, self.loss[s - 1]))
            .collect()
    }

    /// The mean loss of the last `n` entries (all of them when there are fewer); `None`
    /// for an empty history. Smooths the noise of single mini-batches.
    pub fn mean_of_last(&self, n: usize) -> Option<f64> {
        let k = n.min(self.loss.len());
        (k > 0).then(|| self.loss[self.loss.len() - k..].iter().sum::<f64>() / k as f64)
    }
}

/// `t` rounded to `bits`-bit numbers: 2^(bits-1) - 1 evenly spaced levels on each side of
/// zero, spaced by max|t| / (2^(bits-1) - 1) (symmetric, one scale per tensor). What storing
/// a net's weights in 8, 4 or 2 bits does to them (essay section 7: "8 bits or fewer may
/// be enough"). `bits` must be 2 to 16.
pub fn quantize(t: &Tensor, bits: u32) -> Result<Tensor> {
    if !(2..=16).contains(&bits) {
        return Err(bad_hyper_parameter("bits", bits, "2 to 16"));
    }
    let levels = ((1i64 << (bits - 1)) - 1) as f64;
    let max = t.abs().max().to_kind(Kind::Double).double_value(&[]);
    if max == 0.0 || !max.is_finite() {
        return Ok(t.copy());
    }
    let step = max / levels;
    Ok((t / step).round() * step) // same shape as t
}

/// What [`fit`] minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    /// Mean squared error; targets have the output's shape.
    Mse,
    /// Cross-entropy of logits (N, K) against class ids (N,) of kind Int64.
    CrossEntropy,
}

impl Loss {
    /// The mean loss of `out` against `target`.
    pub fn of(self, out: &Tensor, target: &Tensor) -> Tensor {
        match self {
            Loss::Mse => out.mse_loss(target, tch::Reduction::Mean),    // ()
            Loss::CrossEntropy => out.cross_entropy_for_logits(target), // ()
        }
    }
}

/// A net built by `build` in a fresh CPU var store right after libtorch's generator is
/// seeded with `seed`, so its initial weights depend on the seed alone. The generator is
/// global to the process: a lock keeps another thread's seeding and drawing out of the
/// way while this net is built (building is the only place these nets draw from it;
/// mini-batch order comes from a ChaCha generator seeded separately).
pub fn seeded<T>(seed: u64, build: impl FnOnce(&nn::Path) -> Result<T>) -> Result<(VarStore, T)> {
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _only_us = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed as i64);
    let vs = VarStore::new(Device::Cpu);
    let net = build(&vs.root())?;
    Ok((vs, net))
}

/// Trains the variables of `vs` so that `forward(x)` approaches `y` under `loss`:
/// `cfg.iterations` passes over the data, each in shuffled mini-batches of
/// `cfg.batch_size` rows (full batch when that is at least the row count). Returns the
/// mean loss of each epoch.
///
/// `x`: (N, ...) inputs; `y`: (N, ...) targets (class ids (N,) for cross-entropy).
pub fn fit<F>(vs: &VarStore, cfg: &TrainConfig, x: &Tensor, y: &Tensor, loss: Loss, forward: F) -> Result<History>
where
    F: Fn(&Tensor) -> Tensor,
{
    cfg.validate()?;
    let n = x.size().first().copied().unwrap_or(0);
    if n == 0 || y.size().first().copied() != Some(n) {
        return Err(Error::Train(TrainProblem::ShapeMismatch {
            inputs: x.size(),
            targets: y.size(),
        }));
    }
    let mut opt = cfg.optimizer(vs)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<i64> = (0..n).collect();
    let bs = cfg.batch_size.min(n as usize);
    let pb = Counter::start(cfg.progress, "training", cfg.iterations);
    let mut history = History::default();
    for _ in 0..cfg.iterations {
        let mut total = 0.0;
        if bs < n as usize {
            order.shuffle(&mut rng);
        }
        for chunk in order.chunks(bs) {
            let (xb, yb) = if bs == n as usize {
                (x.shallow_clone(), y.shallow_clone())
            } else {
                let idx = Tensor::from_slice(chunk); // (b,)
                (x.index_select(0, &idx), y.index_select(0, &idx)) // (b, ...)
            };
            let l = loss.of(&forward(&xb), &yb); // ()
            opt.backward_step(&l);
            total += l.double_value(&[]) * chunk.len() as f64;
        }
        let mean = total / n as f64;
        if !mean.is_finite() {
            return Err(Error::Train(TrainProblem::DivergedEpoch {
                loss: mean,
                epochs: history.loss.len() + 1,
                lr: cfg.lr,
            }));
        }
        history.loss.push(mean);
        pb.step(&format!("loss {mean:.4}"));
    }
    pb.finish();
    Ok(history)
}

/// Trains the variables of `vs` for `cfg.iterations` steps; `step_loss(step, rng)` makes a
/// batch (from the seeded `rng`) and returns its loss (a scalar tensor). Returns the
/// loss of every step. `cfg.batch_size` is for the closure to read.
pub fn train_steps<F>(vs: &VarStore, cfg: &TrainConfig, step_loss: F) -> Result<History>
where
    F: FnMut(usize, &mut rand_chacha::ChaCha8Rng) -> Result<Tensor>,
{
    train_steps_scheduled(vs, cfg, &Schedule::default(), step_loss)
}

/// How the learning rate changes over a run of [`train_steps_scheduled`], and whether the
/// gradient is clipped. The default (constant rate, no clipping) is plain
/// [`train_steps`]. Serialises into a cache key (give it only when not the default, so
/// that the keys of runs made before schedules existed still match).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Schedule {
    /// Cosine decay of the learning rate from `lr` at the first step to `lr * f` at the
    /// last (`None`: constant).
    pub cosine_to: Option<f64>,
    /// Clip the gradient's L2 norm over all weights to at most this (`None`: no clipping).
    pub clip_norm: Option<f64>,
}

impl Schedule {
    /// Whether this is the constant, unclipped default.
    pub fn is_constant(&self) -> bool {
        *self == Schedule::default()
    }

    /// Checks the fields: a decay fraction in [0, 1], a clip norm finite and > 0.
    pub fn validate(&self) -> Result<()> {
        if let Some(f) = self.cosine_to {
            if !(0.0..=1.0).contains(&f) {
                return Err(bad_hyper_parameter("cosine_to", f, "a fraction in [0, 1], e.g. 0.01"));
            }
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(bad_hyper_parameter("clip_norm", c, "a finite number > 0, e.g. 1.0"));
            }
        }
        Ok(())
    }

    /// The learning rate at `step` (0-based) of `steps`, starting from `lr`.
    pub fn lr_at(&self, lr: f64, step: usize, steps: usize) -> f64 {
        match self.cosine_to {
            None => lr,
            Some(f) => {
                let t = step as f64 / (steps.max(2) - 1) as f64;
                lr * (f + (1.0 - f) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
            }
        }
    }
}

/// [`train_steps`] with a learning-rate [`Schedule`] and optional gradient clipping.
pub fn train_steps_scheduled<F>(
    vs: &VarStore,
    cfg: &TrainConfig,
    schedule: &Schedule,
    mut step_loss: F,
) -> Result<History>
where
    F: FnMut(usize, &mut rand_chacha::ChaCha8Rng) -> Result<Tensor>,
{
    cfg.validate()?;
    schedule.validate()?;
    let mut opt = cfg.optimizer(vs)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let pb = Counter::start(cfg.progress, "training", cfg.iterations);
    let mut history = History::default();
    for step in 0..cfg.iterations {
        let l = step_loss(step, &mut rng)?; // ()
        if schedule.cosine_to.is_some() {
            opt.set_lr(schedule.lr_at(cfg.lr, step, cfg.iterations));
        }
        match schedule.clip_norm {
            Some(max) => opt.backward_step_clip_norm(&l, max),
            None => opt.backward_step(&l),
        }
        let v = l.double_value(&[]);
        if !v.is_finite() {
            return Err(Error::Train(TrainProblem::DivergedStep {
                loss: v,
                step: step + 1,
                lr: cfg.lr,
            }));
        }
        history.loss.push(v);
        pb.step(&if step % 10 == 0 {
            format!("loss {v:.4}")
        } else {
            String::new()
        });
    }
    pb.finish();
    Ok(history)
}

/// The nonlinearity between the layers of a [`DenseNet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// max(0, x), the essay's "ramp".
    Relu,
    Tanh,
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// One fully connected layer as plain numbers: `w[j][i]` is the weight from input i to
/// output j, `b[j]` output j's bias.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    pub w: Vec<Vec<f64>>,
    pub b: Vec<f64>,
}

impl LayerWeights {
    /// The values at every layer of a net made of `layers` for one input `x`, computed in
    /// f64 without libtorch: `[x, layer 1 (after the activation), …, outputs (linear)]`.
    pub fn values_through(layers: &[LayerWeights], activation: Activation, x: &[f64]) -> Vec<Vec<f64>> {
        let mut out = vec![x.to_vec()];
        for (k, l) in layers.iter().enumerate() {
            let prev = out.last().expect("the input is there");
            let z: Vec<f64> =
                l.w.iter()
                    .zip(&l.b)
                    .map(|(row, b)| row.iter().zip(prev).map(|(w, v)| w * v).sum::<f64>() + b)
                    .collect();
            let last = k + 1 == layers.len();
            out.push(match (last, activation) {
                (true, _) => z,
                (false, Activation::Relu) => z.into_iter().map(|v| v.max(0.0)).collect(),
                (false, Activation::Tanh) => z.into_iter().map(f64::tanh).collect(),
            });
        }
        out
    }
}

/// A fully connected net: `sizes[0]` inputs, hidden layers `sizes[1..n-1]` each followed
/// by the activation, `sizes[n-1]` linear outputs. Variables `layer{i}.weight` and
/// `layer{i}.bias` (libtorch's default initialisation).
#[derive(Debug)]
pub struct DenseNet {
    pub layers: Vec<nn::Linear>,
    pub activation: Activation,
}

impl DenseNet {
    /// Builds the layers under `path`; every size must be >= 1 and there must be at
    /// least an input and an output size.
    pub fn new(path: &nn::Path, sizes: &[i64], activation: Activation) -> Result<DenseNet> {
        if sizes.len() < 2 {
            return Err(bad_hyper_parameter(
                "layer sizes",
                format!("{sizes:?}"),
                "at least two sizes: inputs and outputs, e.g. [2, 8, 3]",
            ));
        }
        for &s in sizes {
            check_size("layer size", s)?;
        }
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(path / format!("layer{i}"), w[0], w[1], Default::default()))
            .collect();
        Ok(DenseNet { layers, activation })
    }

    /// Outputs (N, out) for inputs (N, in).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_layers(x).pop().expect("a DenseNet has at least one layer")
    }

    /// The value after every layer (after its activation, except the last): the hidden
    /// features the essay plots (e.g. the digit net's last hidden layer).
    pub fn forward_layers(&self, x: &Tensor) -> Vec<Tensor> {
        let mut out = Vec::with_capacity(self.layers.len());
        let mut h = x.shallow_clone(); // (N, in)
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h); // (N, sizes[i+1])
            if i + 1 < self.layers.len() {
                h = self.activation.apply(&h);
            }
            out.push(h.shallow_clone());
        }
        out
    }

    /// Every layer's weights and biases as plain numbers (for diagrams and checks).
    pub fn weights(&self) -> Result<Vec<LayerWeights>> {
        self.layers
            .iter()
            .map(|l| {
                let w = l.ws.to_kind(Kind::Double); // (out, in)
                let (out, inp) = w.size2()?;
                let flat = Vec::<f64>::try_from(w.contiguous().view([-1]))?; // out * in
                let b = match &l.bs {
                    Some(b) => Vec::<f64>::try_from(b.to_kind(Kind::Double))?, // (out,)
                    None => vec![0.0; out as usize],
                };
                Ok(LayerWeights {
                    w: flat.chunks(inp.max(1) as usize).map(<[f64]>::to_vec).collect(),
                    b,
                })
            })
            .collect()
    }

    /// Number of weights and biases.
    pub fn n_params(&self) -> i64 {
        self.layers
            .iter()
            .map(|l| l.ws.numel() as i64 + l.bs.as_ref().map_or(0, |b| b.numel() as i64))
            .sum()
    }
}

/// Where trained weights are kept, and whether to use them.
#[derive(Debug, Clone)]
pub struct TrainCache {
    pub dir: PathBuf,
    /// Train again even when a cached file exists (and overwrite it).
    pub retrain: bool,
}

impl Default for TrainCache {
    /// `$GPT2_EXPLORER_TRAINED`, else `data/cache/trained` (see
    /// [`crate::data_cache_dir`]); `retrain` when the environment variable
    /// `GPT2_EXPLORER_RETRAIN` is `1`.
    fn default() -> Self {
        let dir = std::env::var_os("GPT2_EXPLORER_TRAINED")
            .map_or_else(|| crate::data_cache_dir().join("trained"), PathBuf::from);
        TrainCache {
            dir,
            retrain: std::env::var("GPT2_EXPLORER_RETRAIN").is_ok_and(|v| v == "1"),
        }
    }
}

/// The outcome of [`TrainCache::load_or_train`].
#[derive(Debug, Clone)]
pub struct Trained {
    pub history: History,
    /// The weights came from the cache (nothing was trained).
    pub from_cache: bool,
    /// The cache file.
    pub path: PathBuf,
    /// Why a cached file was not used (it was unreadable or did not match the net);
    /// also printed on stderr as `warning: ...`.
    pub warning: Option<String>,
}

const HISTORY_KEY: &str = "__history__.loss";

impl TrainCache {
    /// A cache in `dir` that uses cached weights.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        TrainCache {
            dir: dir.into(),
            retrain: false,
        }
    }

    /// The file for experiment `name` with configuration `key`:
    /// `<dir>/<name>-<first 16 hex digits of sha256(name, key)>.safetensors`.
    pub fn path(&self, name: &str, key: &Value) -> PathBuf {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([0]);
        h.update(key.to_string().as_bytes());
        let hex: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}-{hex}.safetensors"))
    }

    /// Fills `vs` with the weights cached for (`name`, `key`) if there are any (and
    /// `retrain` is off); otherwise runs `train(vs)`, then stores the weights and the
    /// history it returns. `key` must hold everything that changes the weights (net
    /// sizes, data, [`TrainConfig`]). A cached file that cannot be read or does not
    /// match the variables of `vs` (names, shapes) is retrained with a warning. Under a
    /// lock on `<file>.lock`: a second process (or thread) asking for the same net waits
    /// and then loads what the first one trained.
    pub fn load_or_train<F>(&self, name: &str, key: &Value, vs: &mut VarStore, train: F) -> Result<Trained>
    where
        F: FnOnce(&VarStore) -> Result<History>,
    {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Error::Train(TrainProblem::BadCacheName { name: name.to_string() }));
        }
        let path = self.path(name, key);
        let _lock = crate::io::FileLock::take(&path.with_extension("lock"), "another run training the same net")?;
        let mut warning = None;
        if !self.retrain && path.exists() {
            match load_into(&path, vs) {
                Ok(history) => {
                    return Ok(Trained {
                        history,
                        from_cache: true,
                        path,
                        warning: None,
                    })
                }
                Err(why) => {
                    let w = format!(
                        "cached weights {} are unusable ({why}); training again and overwriting them",
                        path.display()
                    );
                    log::warn!("{w}");
                    warning = Some(w);
                }
            }
        }
        let history = train(vs)?;
        save(&path, vs, &history)?;
        let note = serde_json::json!({"experiment": name, "config": key, "final_loss": history.last(), "note": "written by gpt2_explorer::train::TrainCache; delete to retrain"});
        crate::io::write_atomic(
            &path.with_extension("json"),
            serde_json::to_string_pretty(&note).expect("JSON serialises").as_bytes(),
        )?;
        Ok(Trained {
            history,
            from_cache: false,
            path,
            warning,
        })
    }
}

/// Writes every variable of `vs` and the history to `path` atomically.
fn save(path: &Path, vs: &VarStore, history: &History) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().contiguous()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.push((HISTORY_KEY.to_string(), Tensor::from_slice(&history.loss))); // (epochs,)
    crate::io::write_atomic_with(path, |tmp| Tensor::write_safetensors(&named, tmp).map_err(Error::from))
}

/// Why cached weights cannot be used (they are then trained again).
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error("{0}")]
    Unreadable(#[from] tch::TchError),
    #[error("no loss history in the file")]
    NoHistory,
    #[error("it holds `{0}`, which the net does not have")]
    Extra(String),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{name}` is {have}, the net wants {want}")]
    Shape { name: String, have: String, want: String },
    #[error("its loss history holds a non-finite value")]
    NonFinite,
}

/// Reads `path` into the variables of `vs`, strictly: every variable present with its
/// shape, nothing else but the history. Returns the history, or why the file is unusable.
fn load_into(path: &Path, vs: &mut VarStore) -> std::result::Result<History, Unusable> {
    let mut tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)?.into_iter().collect();
    let history = tensors.remove(HISTORY_KEY).ok_or(Unusable::NoHistory)?;
    let vars = vs.variables();
    if let Some(extra) = tensors.keys().find(|k| !vars.contains_key(*k)) {
        return Err(Unusable::Extra(extra.clone()));
    }
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let t = tensors.get(name).ok_or_else(|| Unusable::Missing(name.clone()))?;
        if t.size() != var.size() || t.kind() != var.kind() {
            let (have, want) = (
                format!("{:?} {:?}", t.size(), t.kind()),
                format!("{:?} {:?}", var.size(), var.kind()),
            );
            return Err(Unusable::Shape {
                name: name.clone(),
                have,
                want,
            });
        }
    }
    tch::no_grad(|| {
        for (name, mut var) in vars {
            var.copy_(&tensors[&name]);
        }
    });
    let loss: Vec<f64> = Vec::<f64>::try_from(history.to_kind(Kind::Double).flatten(0, -1))?;
    if loss.iter().any(|v| !v.is_finite()) {
        return Err(Unusable::NonFinite);
    }
    Ok(History { loss })
}
