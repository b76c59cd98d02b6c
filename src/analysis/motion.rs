//! Is there a law of motion in meaning space? Essay section "Meaning space and semantic
//! laws of motion" (our chapter 7, notebook 11): while the model reads a text, the
//! residual stream at successive positions traces a path; a law of motion would let
//! where the path has been predict where it goes next. The simplest such law is inertia:
//! the next step points the way the last one did. This module measures how far that
//! holds, on plain paths (one point of C numbers per position, T points):
//!
//! - [`steps`]: the moves `d_i = x_{i+1} - x_i` (T-1 of them);
//! - [`successive_cosines`]: `cos(d_i, d_{i+1})` (T-2 values): 1 for a straight line at
//!   any speed, -1 for a zig-zag, about -1/2 for points drawn independently (the two
//!   steps share the middle point with opposite signs);
//! - [`velocity_errors`]: how badly "the next step equals the last one" predicts it,
//!   `|d_{i+1} - d_i| / |d_{i+1}|` (0: perfectly, 1: no better than standing still,
//!   about sqrt(3) for independent points); [`velocity_error`] sums misses and steps
//!   over the path before dividing, so that one tiny step cannot dominate;
//! - [`running_mean`]: the smoothing of the `trajectory` figures' `"text-so-far"` points
//!   (`embedding::text_so_far`): point i becomes the mean of points 0..=i;
//! - [`measure`]: both statistics on a path, raw or smoothed, against a baseline of
//!   the same points visited in a random order (seeded shuffles, smoothed the same way):
//!   the order of the text matters only where the real path beats its shuffles.
//!
//! [`block_paths`] reads the path of a token sequence at every block in one forward pass,
//! and [`by_block`] runs [`measure`] on each, raw and smoothed (figure `step-cosines`).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::analysis::embedding::cosine;
use crate::error::{AnalysisProblem, Error, Result};
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::LoadedModel;

/// How the points of a path are taken before measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Smoothing {
    /// Each position's own hidden state (the figures' `"points": "token"`).
    None,
    /// The mean of the hidden states up to each position: the text so far as one
    /// vector (the figures' `"points": "text-so-far"`).
    RunningMean,
}

impl Smoothing {
    /// A few words for tables and subtitles.
    pub fn describe(self) -> &'static str {
        match self {
            Smoothing::None => "token path",
            Smoothing::RunningMean => "text so far (running mean)",
        }
    }
}

/// The moves between successive points: `d_i = x_{i+1} - x_i`, (T-1) rows of C.
pub fn steps(path: &[Vec<f64>]) -> Vec<Vec<f64>> {
    path.windows(2)
        .map(|w| w[1].iter().zip(&w[0]).map(|(b, a)| b - a).collect())
        .collect()
}

/// Point i replaced by the mean of points 0..=i (T rows of C).
pub fn running_mean(path: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let c = path.first().map_or(0, Vec::len);
    let mut sum = vec![0.0; c];
    path.iter()
        .enumerate()
        .map(|(i, x)| {
            sum.iter_mut().zip(x).for_each(|(s, v)| *s += v);
            sum.iter().map(|s| s / (i + 1) as f64).collect()
        })
        .collect()
}

/// The length of every step, |d_i| (T-1 values).
pub fn step_lengths(path: &[Vec<f64>]) -> Vec<f64> {
    steps(path).iter().map(|d| norm(d)).collect()
}

/// `cos(d_i, d_{i+1})` for every pair of successive steps (T-2 values; a zero step
/// counts as cosine 0).
pub fn successive_cosines(path: &[Vec<f64>]) -> Vec<f64> {
    let d = steps(path);
    d.windows(2).map(|w| cosine(&w[0], &w[1])).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// How far "the next step repeats the last one" misses: `|d_{i+1} - d_i| / |d_{i+1}|`
/// (T-2 values; a zero step d_{i+1} is left out, as nothing needs predicting there).
pub fn velocity_errors(path: &[Vec<f64>]) -> Vec<f64> {
    let d = steps(path);
    d.windows(2)
        .filter_map(|w| {
            let n = norm(&w[1]);
            (n > 0.0).then(|| {
                let miss: Vec<f64> = w[1].iter().zip(&w[0]).map(|(b, a)| b - a).collect();
                norm(&miss) / n
            })
        })
        .collect()
}

/// The velocity error of a whole path: `sum |d_{i+1} - d_i| / sum |d_{i+1}|` over its
/// successive steps (NaN when every step is zero).
pub fn velocity_error(path: &[Vec<f64>]) -> f64 {
    let d = steps(path);
    let (mut miss, mut moved) = (0.0, 0.0);
    for w in d.windows(2) {
        let diff: Vec<f64> = w[1].iter().zip(&w[0]).map(|(b, a)| b - a).collect();
        miss += norm(&diff);
        moved += norm(&w[1]);
    }
    if moved > 0.0 {
        miss / moved
    } else {
        f64::NAN
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// A path's points checked: at least three (two steps), all of one length, all finite.
fn check_path(path: &[Vec<f64>]) -> Result<()> {
    if path.len() < 3 {
        return Err(Error::Analysis(AnalysisProblem::PathTooShort { points: path.len() }));
    }
    let c = path[0].len();
    if let Some((i, p)) = path.iter().enumerate().find(|(_, p)| p.len() != c) {
        return Err(Error::Analysis(AnalysisProblem::PathRagged { i, len: p.len(), c }));
    }
    if c == 0 {
        return Err(Error::Analysis(AnalysisProblem::PathRagged { i: 0, len: 0, c: 0 }));
    }
    if path.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Analysis(AnalysisProblem::PathNotFinite));
    }
    Ok(())
}

/// One path measured against its shuffles.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MotionTest {
    pub smoothing: Smoothing,
    /// Points in the path.
    pub points: usize,
    /// `cos(d_i, d_{i+1})` along the (smoothed) path, T-2 values.
    pub cosines: Vec<f64>,
    /// Their mean.
    pub mean_cosine: f64,
    /// [`velocity_error`] of the (smoothed) path.
    pub velocity_error: f64,
    /// How many shuffles, and the seed that drew them.
    pub shuffles: usize,
    pub seed: u64,
    /// Mean and standard deviation, over the shuffles, of each shuffle's mean cosine.
    pub shuffled_cosine: f64,
    pub shuffled_cosine_sd: f64,
    /// Mean over the shuffles of each shuffle's [`velocity_error`].
    pub shuffled_velocity_error: f64,
    /// One-sided permutation p-value that the real path turns less than its shuffles:
    /// (1 + shuffles whose mean cosine >= the real one) / (1 + shuffles).
    pub p_value: f64,
}

impl MotionTest {
    /// How the real path compares with its shuffles, in words: straighter (its mean
    /// cosine at least two shuffle standard deviations above theirs), more zig-zag (two
    /// below), or about the same.
    pub fn verdict(&self) -> String {
        let z = (self.mean_cosine - self.shuffled_cosine) / self.shuffled_cosine_sd.max(1e-12);
        let how = if z >= 2.0 {
            "keeps its direction better than"
        } else if z <= -2.0 {
            "turns back more than"
        } else {
            "moves much like"
        };
        format!(
            "the {} {how} the same points in random order ({:+.1} standard deviations of the shuffles, p = {:.3})",
            self.smoothing.describe(),
            z,
            self.p_value
        )
    }

    /// One line: the real mean cosine, the shuffles', and the p-value.
    pub fn summary(&self) -> String {
        format!(
            "{:<28} mean cos(step, next step) {:+.3}  shuffled {:+.3} ± {:.3}  p = {:.3}  velocity error {:.2} (shuffled {:.2})",
            self.smoothing.describe(),
            self.mean_cosine,
            self.shuffled_cosine,
            self.shuffled_cosine_sd,
            self.p_value,
            self.velocity_error,
            self.shuffled_velocity_error
        )
    }
}

/// Measures a path (points in order, C numbers each; at least 3 points), smoothed as
/// `smoothing` says, against `shuffles` random orders of the same points (drawn from
/// `seed`, each smoothed the same way after shuffling).
pub fn measure(path: &[Vec<f64>], smoothing: Smoothing, shuffles: usize, seed: u64) -> Result<MotionTest> {
    check_path(path)?;
    if shuffles == 0 {
        return Err(Error::Analysis(AnalysisProblem::NoShuffles));
    }
    let shaped = |p: Vec<Vec<f64>>| match smoothing {
        Smoothing::None => p,
        Smoothing::RunningMean => running_mean(&p),
    };
    let real = shaped(path.to_vec());
    let cosines = successive_cosines(&real);
    let mean_cosine = mean(&cosines);
    let real_error = velocity_error(&real);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..path.len()).collect();
    let (mut cos_means, mut errs) = (Vec::with_capacity(shuffles), Vec::with_capacity(shuffles));
    for _ in 0..shuffles {
        order.shuffle(&mut rng);
        let p = shaped(order.iter().map(|&i| path[i].clone()).collect());
        cos_means.push(mean(&successive_cosines(&p)));
        errs.push(velocity_error(&p));
    }
    let shuffled_cosine = mean(&cos_means);
    let var = cos_means.iter().map(|c| (c - shuffled_cosine).powi(2)).sum::<f64>() / shuffles as f64;
    let at_least = cos_means.iter().filter(|&&c| c >= mean_cosine).count();
    Ok(MotionTest {
        smoothing,
        points: path.len(),
        cosines,
        mean_cosine,
        velocity_error: real_error,
        shuffles,
        seed,
        shuffled_cosine,
        shuffled_cosine_sd: var.sqrt(),
        shuffled_velocity_error: mean(&errs),
        p_value: (1 + at_least) as f64 / (1 + shuffles) as f64,
    })
}

/// The path of `ids` through every block: `paths[l][t]` is the residual stream leaving
/// block `l` at position `t` (L paths of T points of C numbers), from one forward pass.
pub fn block_paths(lm: &LoadedModel, ids: &[u32]) -> Result<Vec<Vec<Vec<f64>>>> {
    let n_layer = lm.model.info().n_layer;
    let hooks: Vec<HookPoint> = (0..n_layer).map(HookPoint::ResidPost).collect();
    let mut cache = ActivationCache::new(HookFilter::Only(hooks));
    let _logits = lm.model.run_with_cache(ids, &mut cache)?; // (1, T, V), not needed here
    (0..n_layer)
        .map(|l| crate::analysis::pca::rows_of(&cache.resid_post(l)?.get(0))) // (T, C) each
        .collect()
}

/// One block's path measured raw and smoothed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockMotion {
    pub block: usize,
    pub token: MotionTest,
    pub text_so_far: MotionTest,
}

/// [`measure`] at every block, raw and smoothed, on the positions `from..` of `ids`
/// (`from = 1` leaves out the first position, an outlier in most models).
pub fn by_block(lm: &LoadedModel, ids: &[u32], from: usize, shuffles: usize, seed: u64) -> Result<Vec<BlockMotion>> {
    block_paths(lm, ids)?
        .into_iter()
        .enumerate()
        .map(|(block, path)| {
            let path = path.get(from..).unwrap_or_default();
            Ok(BlockMotion {
                block,
                token: measure(path, Smoothing::None, shuffles, seed)?,
                text_so_far: measure(path, Smoothing::RunningMean, shuffles, seed)?,
            })
        })
        .collect()
}

/// The token ids of `prompt` followed by `steps` greedy tokens (temperature 0): the text
/// whose path the `trajectory` figures draw.
pub fn greedy_ids(lm: &LoadedModel, prompt: &str, steps: usize) -> Result<Vec<u32>> {
    let mut ids = lm.encode_prompt(prompt)?;
    let new = crate::sampling::generate(&lm.model, &ids, steps, crate::sampling::Sampling::Greedy, |_| {})?;
    ids.extend(new);
    Ok(ids)
}
