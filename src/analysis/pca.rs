//! Principal component analysis: the flat maps of "meaning space" in essay sections 5
//! ("Embeddings": the 2-D map of plant and animal words) and 7 ("Meaning space": maps of
//! nouns, parts of speech, the two senses of "crane", analogies, and a prompt's
//! trajectory with its fans of next words).
//!
//! The components come from `linfa-reduction` (a truncated SVD by LOBPCG). That routine
//! can panic ("NaN values in array") or return inaccurate vectors on some inputs (for
//! instance k = 3 on 50 points of width 768), so its answer is checked (finite,
//! orthonormal, accounting for no more variance than the data has) and, when it fails,
//! replaced by a full SVD in libtorch. Wide data (no more points than coordinates) goes
//! to the SVD directly, as linfa fails there. [`Pca::method`] says which one was used.
//!
//! Conventions, shared with the NumPy fixture in tests/fixtures/pca:
//! - rows are points: X is (N, C); the data are centred on the column means;
//! - each component is a unit vector, its sign chosen so that its entry of largest
//!   magnitude is positive;
//! - variances use N - 1; [`Pca::explained_ratio`] divides by the TOTAL variance of the
//!   data (the sum over all C columns), not by the sum over the k components kept.

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::Array2;
use tch::{Kind, Tensor};

use crate::error::{AnalysisProblem, Error, Result};

/// Which routine found the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PcaMethod {
    /// `linfa-reduction`'s truncated SVD (LOBPCG), checked.
    Linfa,
    /// A full SVD of the centred data in libtorch.
    TorchSvd,
}

impl PcaMethod {
    pub fn name(self) -> &'static str {
        match self {
            PcaMethod::Linfa => "linfa-reduction",
            PcaMethod::TorchSvd => "libtorch SVD",
        }
    }
}

/// A fitted projection onto the first k principal components.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Column means (C).
    pub mean: Vec<f64>,
    /// The k unit components, each of length C, largest variance first.
    pub components: Vec<Vec<f64>>,
    /// Variance of the data along each component (N - 1 in the denominator).
    pub explained_variance: Vec<f64>,
    /// The data's total variance: the sum of every column's variance.
    pub total_variance: f64,
    pub method: PcaMethod,
}

/// Rows of `x` (N, C) as f64 vectors, checked finite.
pub fn rows_of(x: &Tensor) -> Result<Vec<Vec<f64>>> {
    let size = x.size();
    if size.len() != 2 {
        return Err(Error::Analysis(AnalysisProblem::PcaShape { shape: size }));
    }
    let flat: Vec<f64> = Vec::<f64>::try_from(&x.to_kind(Kind::Double).contiguous().flatten(0, -1))?;
    let c = size[1] as usize;
    let rows: Vec<Vec<f64>> = if c == 0 {
        vec![]
    } else {
        flat.chunks(c).map(<[f64]>::to_vec).collect()
    };
    Ok(rows)
}

fn check_input(x: &[Vec<f64>], k: usize) -> Result<usize> {
    let n = x.len();
    let c = x.first().map_or(0, Vec::len);
    if k == 0 {
        return Err(Error::Analysis(AnalysisProblem::PcaNoComponents));
    }
    // n centred points span at most n - 1 directions.
    if n <= k {
        return Err(Error::PcaTooFewPoints {
            points: n,
            components: k,
        });
    }
    if k > c {
        return Err(Error::Analysis(AnalysisProblem::PcaTooManyComponents { k, c }));
    }
    if let Some(i) = x.iter().position(|r| r.len() != c) {
        return Err(Error::Analysis(AnalysisProblem::PcaRagged { i, len: x[i].len(), c }));
    }
    if x.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Analysis(AnalysisProblem::PcaNotFinite));
    }
    Ok(c)
}

/// Flips `v` so that its entry of largest magnitude is positive.
fn normalise_sign(v: &mut [f64]) {
    let big = v
        .iter()
        .copied()
        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if big < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Pca {
    /// Fits k components to the points `x` (rows), with linfa and the libtorch fallback.
    /// Wide data (no more points than coordinates, the usual case for word maps: tens
    /// of words in 576 or 768 dimensions) goes straight to the SVD: there linfa's LOBPCG
    /// panics or misses (tests/pca.rs shows both on the fixture).
    pub fn fit(x: &[Vec<f64>], k: usize) -> Result<Pca> {
        if x.len() <= x.first().map_or(0, Vec::len) {
            return Self::fit_with(x, k, PcaMethod::TorchSvd);
        }
        match Self::fit_with(x, k, PcaMethod::Linfa) {
            Ok(p) => Ok(p),
            Err(Error::PcaTooFewPoints { points, components }) => Err(Error::PcaTooFewPoints { points, components }),
            Err(_) => Self::fit_with(x, k, PcaMethod::TorchSvd),
        }
    }

    /// Fits k components to the rows of a (N, C) tensor.
    pub fn fit_tensor(x: &Tensor, k: usize) -> Result<Pca> {
        Self::fit(&rows_of(x)?, k)
    }

    /// Fits with one given method, no fallback (an error when linfa's answer fails its
    /// checks). For tests and for readers who want to compare the two.
    pub fn fit_with(x: &[Vec<f64>], k: usize, method: PcaMethod) -> Result<Pca> {
        let c = check_input(x, k)?;
        let n = x.len();
        let mut mean = vec![0.0; c];
        for r in x {
            mean.iter_mut().zip(r).for_each(|(m, v)| *m += v / n as f64);
        }
        let centred: Vec<Vec<f64>> = x
            .iter()
            .map(|r| r.iter().zip(&mean).map(|(v, m)| v - m).collect())
            .collect();
        let total_variance = centred.iter().flatten().map(|v| v * v).sum::<f64>() / (n as f64 - 1.0);

        let mut components = match method {
            PcaMethod::Linfa => linfa_components(&centred, k)?,
            PcaMethod::TorchSvd => torch_components(&centred, k)?,
        };
        components.iter_mut().for_each(|v| normalise_sign(v));
        let explained_variance: Vec<f64> = components
            .iter()
            .map(|v| centred.iter().map(|r| dot(r, v).powi(2)).sum::<f64>() / (n as f64 - 1.0))
            .collect();

        // Check the answer: unit, orthogonal, in decreasing order of variance, and never
        // more variance than there is.
        let tol = 1e-6;
        for i in 0..k {
            for j in 0..=i {
                let d = dot(&components[i], &components[j]);
                let want = if i == j { 1.0 } else { 0.0 };
                if !d.is_finite() || (d - want).abs() > tol {
                    return Err(Error::Analysis(AnalysisProblem::PcaNotOrthonormal {
                        method: method.name(),
                        i,
                        j,
                        dot: d,
                    }));
                }
            }
        }
        // Each component must be an eigenvector of the covariance (LOBPCG can stop early
        // with orthonormal but wrong vectors), and no direction outside them may carry
        // more variance than the last one kept (power iteration on the rest).
        let cov_times = |v: &[f64]| -> Vec<f64> {
            let mut w = vec![0.0; c];
            for r in &centred {
                let a = dot(r, v) / (n as f64 - 1.0);
                w.iter_mut().zip(r).for_each(|(wi, ri)| *wi += a * ri);
            }
            w
        };
        let top = explained_variance.first().copied().unwrap_or(0.0).max(1e-300);
        for (i, v) in components.iter().enumerate() {
            let w = cov_times(v);
            let lambda = dot(v, &w);
            let resid = w
                .iter()
                .zip(v)
                .map(|(wi, vi)| (wi - lambda * vi).powi(2))
                .sum::<f64>()
                .sqrt();
            if resid.is_nan() || resid > 1e-7 * top {
                return Err(Error::Analysis(AnalysisProblem::PcaNotEigenvector {
                    method: method.name(),
                    i,
                    residual: resid,
                }));
            }
        }
        let deflate = |mut v: Vec<f64>| {
            for u in &components {
                let a = dot(&v, u);
                v.iter_mut().zip(u).for_each(|(vi, ui)| *vi -= a * ui);
            }
            v
        };
        let mut v = deflate((0..c).map(|j| 1.0 + (j as f64 * 0.618).sin()).collect());
        let mut rest = 0.0;
        for _ in 0..200 {
            let norm = dot(&v, &v).sqrt();
            if norm < 1e-300 {
                break;
            }
            v.iter_mut().for_each(|x| *x /= norm);
            let w = deflate(cov_times(&v));
            rest = dot(&v, &w);
            v = w;
        }
        let last = explained_variance.last().copied().unwrap_or(0.0);
        if rest > last * (1.0 + 1e-6) + 1e-12 * top {
            return Err(Error::Analysis(AnalysisProblem::PcaMissedDirection {
                method: method.name(),
                k,
                rest,
                last,
            }));
        }
        let sum: f64 = explained_variance.iter().sum();
        if sum > total_variance * (1.0 + 1e-9) + 1e-12
            || explained_variance
                .windows(2)
                .any(|w| w[1] > w[0] * (1.0 + 1e-6) + 1e-12)
        {
            return Err(Error::Analysis(AnalysisProblem::PcaVariances {
                method: method.name(),
                explained: explained_variance.clone(),
                total: total_variance,
            }));
        }
        Ok(Pca {
            mean,
            components,
            explained_variance,
            total_variance,
            method,
        })
    }

    /// Fraction of the total variance along each component.
    pub fn explained_ratio(&self) -> Vec<f64> {
        self.explained_variance
            .iter()
            .map(|v| {
                if self.total_variance > 0.0 {
                    v / self.total_variance
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Coordinates (k) of one point.
    pub fn project_one(&self, x: &[f64]) -> Vec<f64> {
        let centred: Vec<f64> = x.iter().zip(&self.mean).map(|(v, m)| v - m).collect();
        self.components.iter().map(|v| dot(&centred, v)).collect()
    }

    /// Coordinates (N, k) of points given as rows.
    pub fn project(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        x.iter().map(|r| self.project_one(r)).collect()
    }

    /// "PC1 12.3%, PC2 8.1% of the variance" (of the total) for captions.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .explained_ratio()
            .iter()
            .enumerate()
            .map(|(i, r)| format!("PC{} {:.1}%", i + 1, 100.0 * r))
            .collect();
        format!("{} of the variance", parts.join(", "))
    }

    /// Axis title of component i (0-based), e.g. "PC1 (12.3% of variance)".
    pub fn axis_label(&self, i: usize) -> String {
        format!(
            "PC{} ({:.1}% of variance)",
            i + 1,
            100.0 * self.explained_ratio().get(i).copied().unwrap_or(0.0)
        )
    }
}

/// linfa's components, with a panic inside it turned into an error.
fn linfa_components(centred: &[Vec<f64>], k: usize) -> Result<Vec<Vec<f64>>> {
    let (n, c) = (centred.len(), centred[0].len());
    let records = Array2::from_shape_vec((n, c), centred.iter().flatten().copied().collect())
        .map_err(|e| Error::Analysis(AnalysisProblem::Linfa(e.to_string())))?;
    let dataset = DatasetBase::from(records);
    let fitted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        linfa_reduction::Pca::params(k).fit(&dataset)
    }));
    let fitted = match fitted {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(Error::Analysis(AnalysisProblem::Linfa(e.to_string()))),
        Err(_) => return Err(Error::Analysis(AnalysisProblem::LinfaPanicked)),
    };
    let comps = fitted.components(); // (k, C)
    if comps.nrows() != k || comps.ncols() != c {
        return Err(Error::Analysis(AnalysisProblem::LinfaShape {
            shape: comps.shape().to_vec(),
            k,
            c,
        }));
    }
    Ok(comps.outer_iter().map(|r| r.to_vec()).collect())
}

/// The first k right singular vectors of the centred data, from libtorch.
fn torch_components(centred: &[Vec<f64>], k: usize) -> Result<Vec<Vec<f64>>> {
    let (n, c) = (centred.len(), centred[0].len());
    let flat: Vec<f64> = centred.iter().flatten().copied().collect();
    let x = Tensor::from_slice(&flat).reshape([n as i64, c as i64]); // (N, C)
    let (_u, _s, v) = x.f_svd(true, true)?; // v: (C, min(N, C)), columns are the directions
    let vh = v.narrow(1, 0, k as i64).transpose(0, 1).contiguous(); // (k, C)
    let flat: Vec<f64> = Vec::<f64>::try_from(&vh.flatten(0, -1))?;
    Ok(flat.chunks(c).map(<[f64]>::to_vec).collect())
}
