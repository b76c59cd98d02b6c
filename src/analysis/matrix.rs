//! Weight matrices as plain numbers, for essay section 6 ("Inside ChatGPT"): a matrix
//! read out of a tensor, its 2-D moving average (the essay smooths block 1's 768x768
//! `attn.c_proj` with a 64x64 window, and some random-walk-like structure appears),
//! and histograms of weight values with the moments that say how far from Gaussian a
//! block's weights are.

use tch::{Kind, Tensor};

use crate::error::{AnalysisProblem, Error, Result};

/// A dense matrix of f64, row-major (plain data for the plot library and CSVs).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// `rows * cols` values, row by row.
    pub values: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; the length must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, values: Vec<f64>) -> Result<Self> {
        if values.len() != rows * cols {
            return Err(Error::Analysis(AnalysisProblem::MatrixSize {
                rows,
                cols,
                got: values.len(),
            }));
        }
        Ok(Matrix { rows, cols, values })
    }

    /// A 2-D tensor (R, C) of any float kind, copied to the host as f64.
    pub fn from_tensor(t: &Tensor) -> Result<Self> {
        let (r, c) = t.size2()?;
        let flat = t.to_kind(Kind::Double).contiguous().view([-1]); // (R C)
        let values = Vec::<f64>::try_from(&flat)?;
        Matrix::new(r as usize, c as usize, values)
    }

    /// The value at row i, column j.
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.cols + j]
    }

    /// The transposed matrix.
    pub fn transpose(&self) -> Matrix {
        let mut values = Vec::with_capacity(self.values.len());
        for j in 0..self.cols {
            for i in 0..self.rows {
                values.push(self.at(i, j));
            }
        }
        Matrix {
            rows: self.cols,
            cols: self.rows,
            values,
        }
    }
}

/// The 2-D moving average of `m` over a `win_rows` x `win_cols` window, sliding one
/// cell at a time over the positions where the window fits ("valid" windows, like
/// Mathematica's `MovingAverage[m, {64, 64}]`): the result is
/// (rows - win_rows + 1) x (cols - win_cols + 1), and cell (i, j) is the mean of
/// `m[i .. i + win_rows, j .. j + win_cols]`. Computed with a summed-area table, so
/// a 768x768 matrix with a 64x64 window costs one pass.
pub fn moving_average_2d(m: &Matrix, win_rows: usize, win_cols: usize) -> Result<Matrix> {
    if win_rows == 0 || win_cols == 0 || win_rows > m.rows || win_cols > m.cols {
        return Err(Error::Analysis(AnalysisProblem::WindowTooBig {
            win_rows,
            win_cols,
            rows: m.rows,
            cols: m.cols,
        }));
    }
    // sat[i][j] = sum of m[..i, ..j]; (rows + 1) x (cols + 1).
    let w = m.cols + 1;
    let mut sat = vec![0.0f64; (m.rows + 1) * w];
    for i in 0..m.rows {
        let mut row_sum = 0.0;
        for j in 0..m.cols {
            row_sum += m.at(i, j);
            sat[(i + 1) * w + j + 1] = sat[i * w + j + 1] + row_sum;
        }
    }
    let (out_r, out_c) = (m.rows - win_rows + 1, m.cols - win_cols + 1);
    let n = (win_rows * win_cols) as f64;
    let mut values = Vec::with_capacity(out_r * out_c);
    for i in 0..out_r {
        for j in 0..out_c {
            let (i2, j2) = (i + win_rows, j + win_cols);
            let s = sat[i2 * w + j2] - sat[i * w + j2] - sat[i2 * w + j] + sat[i * w + j];
            values.push(s / n);
        }
    }
    Matrix::new(out_r, out_c, values)
}

/// Counts of values in equal-width bins, with the moments of the values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValueHistogram {
    /// `counts.len() + 1` increasing bin edges.
    pub edges: Vec<f64>,
    pub counts: Vec<f64>,
    pub n: usize,
    pub mean: f64,
    pub std: f64,
    /// Excess kurtosis (0 for a Gaussian; heavy tails make it positive).
    pub excess_kurtosis: f64,
}

/// The chance that a Gaussian value lies more than `k` standard deviations from its
/// mean (both tails): erfc(k / √2). Uses the Chebyshev fit of Numerical Recipes' `erfcc`
/// (relative error below 1.2e-7 everywhere).
pub fn gaussian_two_tail(k: f64) -> f64 {
    let z = k.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let c = [
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    ];
    let poly = c.iter().rev().fold(0.0, |acc, &ci| acc * t + ci);
    t * (-z * z + poly).exp()
}

/// How many of `values` lie more than `k` standard deviations from their mean.
pub fn count_beyond_sigmas(values: &[f64], k: f64) -> usize {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.iter().filter(|v| (*v - mean).abs() > k * sd).count()
}

/// Histogram of `values` in `bins` equal bins over `range` (low, high), or over the
/// values' own minimum..maximum when `None`. Bin k holds `edges[k] <= v < edges[k+1]`;
/// the last bin also holds `v == high`; values outside the range are not counted (but
/// the moments are over all values). NaN or infinite values are an error.
pub fn histogram(values: &[f64], bins: usize, range: Option<(f64, f64)>) -> Result<ValueHistogram> {
    if bins == 0 {
        return Err(Error::Analysis(AnalysisProblem::NoBins));
    }
    if values.is_empty() {
        return Err(Error::Analysis(AnalysisProblem::NoValues));
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::Analysis(AnalysisProblem::NotFinite(*bad)));
    }
    let (lo, hi) = match range {
        Some(r) => r,
        None => values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v))),
    };
    // All values equal: one bin around them.
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::Analysis(AnalysisProblem::BadRange { lo, hi }));
    }
    let width = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins)
        .map(|k| if k == bins { hi } else { lo + k as f64 * width })
        .collect();
    let mut counts = vec![0.0; bins];
    for &v in values {
        if v < lo || v > hi {
            continue;
        }
        let k = (((v - lo) / width).floor() as usize).min(bins - 1);
        counts[k] += 1.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let m2 = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m4 = values.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    let excess_kurtosis = if m2 > 0.0 { m4 / (m2 * m2) - 3.0 } else { 0.0 };
    Ok(ValueHistogram {
        edges,
        counts,
        n: values.len(),
        mean,
        std: m2.sqrt(),
        excess_kurtosis,
    })
}

/// The standard deviation of `values` (population form, divided by n); 0 for none.
pub fn std_dev(values: &[f64]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// The values of `m` in a random order drawn from `seed`: a matrix with exactly the same
/// numbers (mean, spread, histogram, extreme values) as `m`, but placed without any
/// structure. The fairest "random matrix of the same statistics" to set beside `m`.
pub fn shuffled(m: &Matrix, seed: u64) -> Matrix {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut values = m.values.clone();
    values.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    Matrix {
        rows: m.rows,
        cols: m.cols,
        values,
    }
}

/// A matrix of `m`'s shape whose values are independent Gaussian draws (from `seed`) with
/// `m`'s mean and standard deviation.
pub fn gaussian_like(m: &Matrix, seed: u64) -> Matrix {
    use rand::{Rng, SeedableRng};
    let n = m.values.len().max(1) as f64;
    let mean = m.values.iter().sum::<f64>() / n;
    let std = std_dev(&m.values);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let values = (0..m.values.len())
        .map(|_| {
            // Box-Muller: one standard normal from two uniforms in (0, 1].
            let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
            mean + std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect();
    Matrix {
        rows: m.rows,
        cols: m.cols,
        values,
    }
}

/// How much a moving average leaves of a matrix, beside random matrices of the same
/// statistics: if the weights were placed at random, averaging `window`² of them would
/// shrink their spread by about `window` (the spread of a mean of n independent values
/// is σ/√n); patches that survive the smoothing well above that are structure.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SmoothingCheck {
    pub window: usize,
    /// Standard deviation of the matrix's own values.
    pub std: f64,
    /// Standard deviation after smoothing: the real matrix.
    pub smoothed: f64,
    /// The same after shuffling the matrix's values ([`shuffled`]).
    pub smoothed_shuffled: f64,
    /// The same for a Gaussian matrix of the same mean and spread ([`gaussian_like`]).
    pub smoothed_gaussian: f64,
    /// What independent values would give: std / window.
    pub independent: f64,
}

impl SmoothingCheck {
    /// How many times more spread the smoothed real matrix keeps than its shuffled copy.
    pub fn ratio(&self) -> f64 {
        self.smoothed / self.smoothed_shuffled
    }
}

/// Smooths `m`, its shuffled copy and a Gaussian matrix of its statistics with the same
/// `window` x `window` moving average ([`moving_average_2d`]) and compares their spreads.
pub fn smoothing_check(m: &Matrix, window: usize, seed: u64) -> Result<SmoothingCheck> {
    let smoothed = std_dev(&moving_average_2d(m, window, window)?.values);
    let smoothed_shuffled = std_dev(&moving_average_2d(&shuffled(m, seed), window, window)?.values);
    let smoothed_gaussian = std_dev(&moving_average_2d(&gaussian_like(m, seed), window, window)?.values);
    let std = std_dev(&m.values);
    Ok(SmoothingCheck {
        window,
        std,
        smoothed,
        smoothed_shuffled,
        smoothed_gaussian,
        independent: std / window as f64,
    })
}
