//! Essay section 4, "Neural nets": the nearest-point task. Three points in the plane;
//! for any position, which of them is nearest (the plane splits into Voronoi regions).
//! What a single ReLU neuron computes, and what nets of several sizes learn when trained
//! on random positions labelled with their nearest point.

use rand::{Rng, SeedableRng};
use serde_json::json;
use tch::{Kind, Tensor};

use crate::error::Result;
use crate::train::{self, Activation, DenseNet, Loss, TrainCache, TrainConfig};

/// The three points (x, y) in the square [-1, 1]^2.
pub const POINTS: [(f64, f64); 3] = [(-0.5, -0.35), (0.55, -0.2), (0.0, 0.6)];

/// The square every picture covers.
pub const RANGE: (f64, f64) = (-1.0, 1.0);

/// Index of the point of `points` nearest to `p` (the first on a tie).
pub fn nearest(p: (f64, f64), points: &[(f64, f64)]) -> usize {
    let d = |q: &(f64, f64)| (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2);
    (0..points.len())
        .min_by(|&a, &b| d(&points[a]).total_cmp(&d(&points[b])))
        .unwrap_or(0)
}

/// Centres of an `n` x `n` grid over [`RANGE`]^2, row-major, row 0 at the bottom.
pub fn grid(n: usize) -> Vec<(f64, f64)> {
    let (lo, hi) = RANGE;
    let step = (hi - lo) / n as f64;
    (0..n * n)
        .map(|i| {
            (
                lo + (i % n) as f64 * step + step / 2.0,
                lo + (i / n) as f64 * step + step / 2.0,
            )
        })
        .collect()
}

/// `k` points drawn uniformly in [`RANGE`]^2 with `seed` (the many-point task: the
/// essay's "coffee shops").
pub fn random_points(k: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..k)
        .map(|_| (rng.random_range(RANGE.0..RANGE.1), rng.random_range(RANGE.0..RANGE.1)))
        .collect()
}

/// The nearest point's index at every cell of an `n` x `n` grid.
pub fn target_grid(n: usize) -> Vec<f64> {
    grid(n).into_iter().map(|p| nearest(p, &POINTS) as f64).collect()
}

/// What one neuron with inputs (x, y) computes: ReLU(w1 x + w2 y + b) on the grid.
pub fn single_neuron(w1: f64, w2: f64, b: f64, n: usize) -> Vec<f64> {
    grid(n)
        .into_iter()
        .map(|(x, y)| (w1 * x + w2 * y + b).max(0.0))
        .collect()
}

/// A net trained on the nearest-point task and its answers.
pub struct NearestNet {
    pub sizes: Vec<i64>,
    /// The net's answer (0, 1, 2) on the grid.
    pub answers: Vec<f64>,
    /// Fraction of grid cells where it agrees with the true nearest point.
    pub agreement: f64,
    pub n_params: i64,
    pub history: train::History,
    pub from_cache: bool,
    /// The seed of its initial weights and data.
    pub seed: u64,
    /// Its trained weights, layer by layer (for the net diagrams).
    pub weights: Vec<train::LayerWeights>,
}

/// Trains (or loads from `cache`) a ReLU net of `sizes` (2 inputs, 3 outputs) on
/// `examples` random positions labelled with their nearest point, with cross-entropy,
/// and evaluates it on an `n` x `n` grid.
pub fn train_net(cache: &TrainCache, sizes: &[i64], examples: i64, cfg: &TrainConfig, n: usize) -> Result<NearestNet> {
    let examples = train::check_size("number of examples", examples)?;
    if sizes.first() != Some(&2) || sizes.last() != Some(&3) {
        return Err(train::bad_hyper_parameter(
            "layer sizes",
            format!("{sizes:?}"),
            "2 inputs and 3 outputs, e.g. [2, 8, 3]",
        ));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let pts: Vec<(f64, f64)> = (0..examples)
        .map(|_| (rng.random_range(RANGE.0..RANGE.1), rng.random_range(RANGE.0..RANGE.1)))
        .collect();
    let xs: Vec<f32> = pts.iter().flat_map(|&(a, b)| [a as f32, b as f32]).collect();
    let x = Tensor::from_slice(&xs).view([examples as i64, 2]); // (N, 2)
    let labels: Vec<i64> = pts.iter().map(|&p| nearest(p, &POINTS) as i64).collect();
    let y = Tensor::from_slice(&labels); // (N,)
    let (mut vs, net) = train::seeded(cfg.seed, |p| DenseNet::new(p, sizes, Activation::Relu))?;
    let key =
        json!({"task": "nearest of 3 points", "points": POINTS, "sizes": sizes, "examples": examples, "train": cfg});
    let trained = cache.load_or_train("nearest-point", &key, &mut vs, |vs| {
        train::fit(vs, cfg, &x, &y, Loss::CrossEntropy, |xb| net.forward(xb))
    })?;
    let g: Vec<f32> = grid(n).into_iter().flat_map(|(a, b)| [a as f32, b as f32]).collect();
    let gx = Tensor::from_slice(&g).view([(n * n) as i64, 2]); // (n*n, 2)
    let out = tch::no_grad(|| net.forward(&gx).argmax(1, false)); // (n*n,)
    let answers: Vec<f64> = Vec::<i64>::try_from(out.to_kind(Kind::Int64))
        .map_err(crate::Error::from)?
        .into_iter()
        .map(|v| v as f64)
        .collect();
    let target = target_grid(n);
    let agreement = answers.iter().zip(&target).filter(|(a, b)| a == b).count() as f64 / target.len() as f64;
    Ok(NearestNet {
        sizes: sizes.to_vec(),
        answers,
        agreement,
        n_params: net.n_params(),
        history: trained.history,
        from_cache: trained.from_cache,
        seed: cfg.seed,
        weights: net.weights()?,
    })
}

/// Trains `restarts` nets of `sizes` from the seeds `cfg.seed`, `cfg.seed + 1`, … (each
/// cached on its own) and keeps the one with the lowest final training loss: what a
/// practitioner does when a small ReLU net can start with dead units and never train
/// (a 2-1-3 net whose one unit is dead stays at loss ln 3 and paints the plane one
/// colour). Returns the kept net and every start's final loss, in seed order.
pub fn train_best_of(
    cache: &TrainCache,
    sizes: &[i64],
    examples: i64,
    cfg: &TrainConfig,
    n: usize,
    restarts: usize,
) -> Result<(NearestNet, Vec<f64>)> {
    let restarts = train::check_size("restarts", restarts as i64)?;
    let mut best: Option<NearestNet> = None;
    let mut losses = Vec::with_capacity(restarts);
    for r in 0..restarts {
        let cfg_r = TrainConfig {
            seed: cfg.seed + r as u64,
            ..*cfg
        };
        let net = train_net(cache, sizes, examples, &cfg_r, n)?;
        let loss = net.history.last().unwrap_or(f64::INFINITY);
        losses.push(loss);
        if best
            .as_ref()
            .is_none_or(|b| loss < b.history.last().unwrap_or(f64::INFINITY))
        {
            best = Some(net);
        }
    }
    let best = best.ok_or_else(|| train::bad_hyper_parameter("restarts", 0, "at least 1"))?;
    Ok((best, losses))
}
