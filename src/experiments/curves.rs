//! Essay section 3, "What is a model?": idealised data for how long a cannonball takes
//! to fall from each floor of a tower (t = sqrt(2h/g)), and least-squares fits of it
//! with a chosen set of basis functions (a + b x; a + b x + c x^2; a + b/x + c sin x).

/// Standard gravity, m/s^2.
pub const G: f64 = 9.81;

/// Fall time in seconds from each floor `1..=floors` of a tower whose floors are
/// `floor_height` metres apart: (floor, sqrt(2 h / g)).
pub fn cannonball_data(floors: usize, floor_height: f64) -> Vec<(f64, f64)> {
    (1..=floors)
        .map(|f| (f as f64, (2.0 * f as f64 * floor_height / G).sqrt()))
        .collect()
}

/// A basis function of x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    One,
    X,
    X2,
    InvX,
    SinX,
}

impl Basis {
    pub fn at(self, x: f64) -> f64 {
        match self {
            Basis::One => 1.0,
            Basis::X => x,
            Basis::X2 => x * x,
            Basis::InvX => 1.0 / x,
            Basis::SinX => x.sin(),
        }
    }
    /// How the term is written in a formula, e.g. "x²".
    pub fn name(self) -> &'static str {
        match self {
            Basis::One => "1",
            Basis::X => "x",
            Basis::X2 => "x²",
            Basis::InvX => "1/x",
            Basis::SinX => "sin x",
        }
    }
}

/// A least-squares fit: the coefficient of each basis function.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub basis: Vec<Basis>,
    pub coef: Vec<f64>,
}

impl Fit {
    pub fn at(&self, x: f64) -> f64 {
        self.basis.iter().zip(&self.coef).map(|(b, c)| c * b.at(x)).sum()
    }
    /// Root-mean-square residual on `data`.
    pub fn rms(&self, data: &[(f64, f64)]) -> f64 {
        (data.iter().map(|&(x, y)| (self.at(x) - y).powi(2)).sum::<f64>() / data.len() as f64).sqrt()
    }
    /// The formula with its coefficients, e.g. "0.879 + 0.209 x" or "2.644 − 2.153/x".
    pub fn formula(&self) -> String {
        let mut s = String::new();
        for (i, (b, c)) in self.basis.iter().zip(&self.coef).enumerate() {
            let term = match b {
                Basis::One => format!("{:.3}", c.abs()),
                Basis::InvX => format!("{:.3}/x", c.abs()),
                _ => format!("{:.3} {}", c.abs(), b.name()),
            };
            if i == 0 {
                s += &format!("{}{term}", if *c < 0.0 { "−" } else { "" });
            } else {
                s += &format!(" {} {term}", if *c < 0.0 { "−" } else { "+" });
            }
        }
        s
    }
}

/// Least squares: the coefficients c minimising sum_i (sum_j c_j basis_j(x_i) - y_i)^2,
/// by a Householder QR factorisation of the design matrix (no normal equations, so no
/// squared condition number). Needs at least as many distinct points as basis functions.
pub fn least_squares(data: &[(f64, f64)], basis: &[Basis]) -> crate::Result<Fit> {
    let (n, k) = (data.len(), basis.len());
    if k == 0 || n < k {
        return Err(crate::Error::Train(crate::error::TrainProblem::TooFewPoints { k, n }));
    }
    // a: (n, k) design matrix, row-major; y: (n,)
    let mut a: Vec<f64> = data
        .iter()
        .flat_map(|&(x, _)| basis.iter().map(move |b| b.at(x)))
        .collect();
    let mut y: Vec<f64> = data.iter().map(|&(_, y)| y).collect();
    if a.iter().chain(&y).any(|v| !v.is_finite()) {
        return Err(crate::Error::Train(crate::error::TrainProblem::NotFinite));
    }
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    for j in 0..k {
        let norm = (j..n).map(|i| a[i * k + j].powi(2)).sum::<f64>().sqrt();
        if norm <= 1e-12 * scale {
            return Err(crate::Error::Train(crate::error::TrainProblem::Dependent {
                basis: basis[j].name().to_string(),
            }));
        }
        let alpha = if a[j * k + j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (j..n).map(|i| a[i * k + j]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv > 0.0 {
            for c in j..k {
                let d: f64 = (j..n).map(|i| v[i - j] * a[i * k + c]).sum::<f64>() * 2.0 / vv;
                for i in j..n {
                    a[i * k + c] -= d * v[i - j];
                }
            }
            let d: f64 = (j..n).map(|i| v[i - j] * y[i]).sum::<f64>() * 2.0 / vv;
            for i in j..n {
                y[i] -= d * v[i - j];
            }
        }
    }
    // Back substitution in R (upper k x k).
    let mut coef = vec![0.0; k];
    for j in (0..k).rev() {
        let r = a[j * k + j];
        coef[j] = (y[j] - (j + 1..k).map(|c| a[j * k + c] * coef[c]).sum::<f64>()) / r;
    }
    Ok(Fit {
        basis: basis.to_vec(),
        coef,
    })
}
