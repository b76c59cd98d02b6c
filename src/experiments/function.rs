//! Essay section 4, "Neural nets, training, practice": learning a function of one
//! variable. A target curve; what nets with random weights compute; nets trained on more
//! and more examples; the loss going down; the loss surface of a two-weight model and
//! the steepest-descent path on it; several equally good nets that disagree outside the
//! training range; nets too small to learn the curve, and a "squeeze" layer.

use rand::{Rng, SeedableRng};
use serde_json::json;
use tch::Tensor;

use crate::error::Result;
use crate::train::{self, Activation, DenseNet, Loss, Schedule, TrainCache, TrainConfig};

/// The x range the nets are trained on.
pub const TRAIN_RANGE: (f64, f64) = (-1.5, 1.5);

/// The curve to learn: a wave with a smooth step in it.
pub fn target(x: f64) -> f64 {
    (2.5 * x).sin() + 0.6 * (8.0 * (x - 0.4)).tanh()
}

/// `n` evenly spaced points from `lo` to `hi`.
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n.max(2) - 1) as f64)
        .collect()
}

/// A ReLU net from one input to one output.
pub struct FunctionNet {
    pub sizes: Vec<i64>,
    pub mlp: DenseNet,
    /// Keeps the weights alive.
    pub vs: tch::nn::VarStore,
}

impl FunctionNet {
    /// A net of `sizes` (first and last 1) with libtorch's random initial weights for `seed`.
    pub fn random(sizes: &[i64], seed: u64) -> Result<FunctionNet> {
        if sizes.first() != Some(&1) || sizes.last() != Some(&1) {
            return Err(train::bad_hyper_parameter(
                "layer sizes",
                format!("{sizes:?}"),
                "1 input and 1 output, e.g. [1, 16, 16, 1]",
            ));
        }
        let (vs, mlp) = train::seeded(seed, |p| DenseNet::new(p, sizes, Activation::Relu))?;
        Ok(FunctionNet {
            sizes: sizes.to_vec(),
            mlp,
            vs,
        })
    }

    /// The net's output at each x.
    pub fn eval(&self, xs: &[f64]) -> Result<Vec<f64>> {
        let x = Tensor::from_slice(&xs.iter().map(|&v| v as f32).collect::<Vec<_>>()).unsqueeze(1); // (N, 1)
        let y = tch::no_grad(|| self.mlp.forward(&x)).flatten(0, -1); // (N,)
        Ok(Vec::<f32>::try_from(y)
            .map_err(crate::Error::from)?
            .into_iter()
            .map(f64::from)
            .collect())
    }
}

/// A trained function net and how its training went.
pub struct TrainedFunction {
    pub net: FunctionNet,
    pub history: train::History,
    pub from_cache: bool,
}

/// Trains (or loads from `cache`) a net of `sizes` on the target: `cfg.iterations` steps,
/// each on `cfg.batch_size` fresh random x in [`TRAIN_RANGE`] (so it has seen
/// steps x batch examples), mean squared error, constant learning rate.
pub fn train_function(cache: &TrainCache, sizes: &[i64], cfg: &TrainConfig) -> Result<TrainedFunction> {
    train_function_scheduled(cache, sizes, cfg, &Schedule::default())
}

/// [`train_function`] with a learning-rate [`Schedule`] (decay, gradient clipping). The
/// schedule is part of the cache key when it is not the constant default.
pub fn train_function_scheduled(
    cache: &TrainCache,
    sizes: &[i64],
    cfg: &TrainConfig,
    schedule: &Schedule,
) -> Result<TrainedFunction> {
    let mut net = FunctionNet::random(sizes, cfg.seed)?;
    let mut key = json!({"task": "1-D function", "target": "sin(2.5x) + 0.6 tanh(8(x-0.4))", "range": TRAIN_RANGE, "sizes": sizes, "train": cfg});
    if !schedule.is_constant() {
        key["schedule"] = json!(schedule);
    }
    let mlp = &net.mlp;
    let trained = cache.load_or_train("function", &key, &mut net.vs, |vs| {
        train::train_steps_scheduled(vs, cfg, schedule, |_, rng| {
            let xs: Vec<f32> = (0..cfg.batch_size)
                .map(|_| rng.random_range(TRAIN_RANGE.0..TRAIN_RANGE.1) as f32)
                .collect();
            let ys: Vec<f32> = xs.iter().map(|&x| target(x as f64) as f32).collect();
            let x = Tensor::from_slice(&xs).unsqueeze(1); // (b, 1)
            let y = Tensor::from_slice(&ys).unsqueeze(1); // (b, 1)
            Ok(Loss::Mse.of(&mlp.forward(&x), &y))
        })
    })?;
    Ok(TrainedFunction {
        history: trained.history,
        from_cache: trained.from_cache,
        net,
    })
}

/// The two-weight model of the loss-surface figures: y = w2 tanh(w1 x).
pub fn two_weight_model(w1: f64, w2: f64, x: f64) -> f64 {
    w2 * (w1 * x).tanh()
}

/// The data the two-weight model is fitted to: `n` points of 1.5 tanh(2x) on [-1.5, 1.5]
/// (so the best weights are (2, 1.5), and equally (-2, -1.5)).
pub fn two_weight_data(n: usize) -> Vec<(f64, f64)> {
    linspace(TRAIN_RANGE.0, TRAIN_RANGE.1, n)
        .into_iter()
        .map(|x| (x, two_weight_model(2.0, 1.5, x)))
        .collect()
}

/// Mean squared error of the two-weight model with weights (w1, w2) on `data`.
pub fn two_weight_loss(w1: f64, w2: f64, data: &[(f64, f64)]) -> f64 {
    data.iter()
        .map(|&(x, y)| (two_weight_model(w1, w2, x) - y).powi(2))
        .sum::<f64>()
        / data.len() as f64
}

/// The gradient (dL/dw1, dL/dw2) of [`two_weight_loss`], in closed form.
pub fn two_weight_grad(w1: f64, w2: f64, data: &[(f64, f64)]) -> (f64, f64) {
    let n = data.len() as f64;
    data.iter().fold((0.0, 0.0), |(g1, g2), &(x, y)| {
        let t = (w1 * x).tanh();
        let r = w2 * t - y;
        (g1 + 2.0 * r * w2 * x * (1.0 - t * t) / n, g2 + 2.0 * r * t / n)
    })
}

/// Steepest descent on the two-weight loss from `start` with learning rate `lr`:
/// (w1, w2, loss) before each of `steps` steps and after the last.
pub fn descent_path(start: (f64, f64), lr: f64, steps: usize, data: &[(f64, f64)]) -> Result<Vec<(f64, f64, f64)>> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(train::bad_hyper_parameter(
            "learning rate",
            lr,
            "a finite number > 0, e.g. 0.1",
        ));
    }
    let (mut w1, mut w2) = start;
    let mut path = vec![(w1, w2, two_weight_loss(w1, w2, data))];
    for _ in 0..steps {
        let (g1, g2) = two_weight_grad(w1, w2, data);
        w1 -= lr * g1;
        w2 -= lr * g2;
        path.push((w1, w2, two_weight_loss(w1, w2, data)));
    }
    Ok(path)
}

/// Random draws of x in [`TRAIN_RANGE`] for a seed (helper for notebooks: "how many
/// examples").
pub fn sample_xs(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(TRAIN_RANGE.0..TRAIN_RANGE.1)).collect()
}
