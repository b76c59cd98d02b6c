//! Essay sections 7 ("The practice and lore of neural net training") and 8 ("Surely a
//! network that's big enough can do anything?"), for notebook 04c: the activation
//! functions real language models use beside the essay's ramp, and how well a small net
//! learns to predict an elementary cellular automaton `t` steps ahead. A plain shift
//! (rule 170) stays learnable however far ahead we ask; rule 30, computationally
//! irreducible, falls to a coin toss on windows the net has not seen: learnable
//! regularity against irreducible computation. Training goes through [`crate::train`]
//! (seeded, cached by configuration).

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::{Kind, Tensor};

use crate::error::Result;
use crate::train::{self, Activation, DenseNet, Loss, Optimizer, TrainCache, TrainConfig};

/// The essay's ramp: max(0, x).
pub fn relu(x: f64) -> f64 {
    x.max(0.0)
}

/// GELU in the tanh form GPT-2's MLPs use: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
pub fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
}

/// SiLU (swish), the gate of SmolLM2's (Llama's) SwiGLU MLPs: x / (1 + e^-x).
pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// The three functions at `n` evenly spaced points of [lo, hi], named as captions name them.
pub fn activation_curves(lo: f64, hi: f64, n: usize) -> Vec<(&'static str, Vec<(f64, f64)>)> {
    let xs = crate::experiments::function::linspace(lo, hi, n);
    let curve = |f: fn(f64) -> f64| xs.iter().map(|&x| (x, f(x))).collect::<Vec<_>>();
    vec![
        ("ReLU (the essay's ramp)", curve(relu)),
        ("GELU (GPT-2)", curve(gelu_tanh)),
        ("SiLU (SmolLM2's gate)", curve(silu)),
    ]
}

/// The cell at the centre of `window` after `(window.len() - 1) / 2` steps of elementary
/// cellular automaton `rule` (Wolfram's numbering). The window is exactly the centre
/// cell's light cone: each step shortens the row by one cell at each end, and nothing
/// outside it can reach the centre. `window` must have odd length; cells are 0 or 1.
pub fn centre_after(rule: u8, window: &[u8]) -> Result<u8> {
    if window.len().is_multiple_of(2) || window.iter().any(|&c| c > 1) {
        return Err(train::bad_hyper_parameter(
            "automaton window",
            format!("{window:?}"),
            "an odd number of cells, each 0 or 1",
        ));
    }
    let mut row = window.to_vec();
    while row.len() > 1 {
        row = row
            .windows(3)
            .map(|w| (rule >> (w[0] << 2 | w[1] << 1 | w[2])) & 1)
            .collect();
    }
    Ok(row[0])
}

/// One learning task: predict the centre cell `steps` ahead from its light cone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AutomatonTask {
    /// Elementary rule (30: irreducible; 170: each cell copies its right neighbour).
    pub rule: u8,
    /// How many steps ahead, 1 to 20 (the net sees 2 steps + 1 cells).
    pub steps: usize,
    /// Random windows to train on (repeats possible when there are few patterns).
    pub n_train: usize,
    /// Fresh random windows to test on.
    pub n_test: usize,
    /// Width of each of the net's two hidden layers.
    pub hidden: i64,
    pub train: TrainConfig,
}

impl Default for AutomatonTask {
    /// Rule 30 one step ahead; 1,000 training windows, 1,000 test windows; two hidden
    /// layers of 64; 150 epochs of Adam (lr 3e-3) in batches of 100, seed 1.
    fn default() -> Self {
        AutomatonTask {
            rule: 30,
            steps: 1,
            n_train: 1000,
            n_test: 1000,
            hidden: 64,
            train: TrainConfig {
                seed: 1,
                optimizer: Optimizer::Adam,
                lr: 3e-3,
                iterations: 150,
                batch_size: 100,
                progress: false,
            },
        }
    }
}

/// How a net did on an [`AutomatonTask`].
#[derive(Debug, Clone)]
pub struct AutomatonLearning {
    pub task: AutomatonTask,
    /// Cells the net sees: 2 steps + 1.
    pub inputs: usize,
    /// Different windows there are: 2^inputs.
    pub patterns: u64,
    /// Different windows among the training examples.
    pub distinct_train: usize,
    /// Share right on the training windows.
    pub train_accuracy: f64,
    /// Share right on the test windows.
    pub test_accuracy: f64,
    /// Test windows that never occurred in training.
    pub unseen: usize,
    /// Share right on those (`None` when every test window was also a training one).
    pub unseen_accuracy: Option<f64>,
    pub n_params: i64,
    pub history: train::History,
    pub from_cache: bool,
}

/// `n` random windows of `width` cells (0/1) from `rng`, and each one's bits as a number.
fn random_windows(rng: &mut rand_chacha::ChaCha8Rng, n: usize, width: usize) -> Vec<(Vec<u8>, u64)> {
    (0..n)
        .map(|_| {
            let w: Vec<u8> = (0..width).map(|_| rng.random_range(0..2u8)).collect();
            let key = w.iter().fold(0u64, |k, &c| k << 1 | c as u64);
            (w, key)
        })
        .collect()
}

/// Windows as ±1 inputs (N, width) and their answers (N,).
fn tensors(rule: u8, windows: &[(Vec<u8>, u64)]) -> Result<(Tensor, Tensor)> {
    let width = windows.first().map_or(1, |w| w.0.len());
    let xs: Vec<f32> = windows
        .iter()
        .flat_map(|(w, _)| w.iter().map(|&c| if c == 1 { 1.0 } else { -1.0 }))
        .collect();
    let ys: Vec<i64> = windows
        .iter()
        .map(|(w, _)| centre_after(rule, w).map(i64::from))
        .collect::<Result<_>>()?;
    Ok((
        Tensor::from_slice(&xs).view([windows.len() as i64, width as i64]),
        Tensor::from_slice(&ys),
    )) // (N, width), (N,)
}

/// Share of rows where the net's larger output is the answer.
fn accuracy(net: &DenseNet, x: &Tensor, y: &Tensor) -> f64 {
    if y.numel() == 0 {
        return f64::NAN;
    }
    let pred = tch::no_grad(|| net.forward(x).argmax(1, false)); // (N,)
    pred.eq_tensor(y)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Trains (or loads from `cache`) a ReLU net with two hidden layers of `task.hidden` to
/// predict the centre cell `task.steps` steps ahead from its light cone, with
/// cross-entropy on `task.n_train` random windows, and tests it on `task.n_test` fresh
/// ones (the test draws use their own random stream).
pub fn learn_automaton(cache: &TrainCache, task: &AutomatonTask) -> Result<AutomatonLearning> {
    if !(1..=20).contains(&task.steps) {
        return Err(train::bad_hyper_parameter("steps ahead", task.steps, "1 to 20"));
    }
    let n_train = train::check_size("training windows", task.n_train as i64)?;
    let n_test = train::check_size("test windows", task.n_test as i64)?;
    let hidden = train::check_size("hidden width", task.hidden)? as i64;
    let width = 2 * task.steps + 1;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(task.train.seed);
    let train_w = random_windows(&mut rng, n_train, width);
    let mut test_rng = rand_chacha::ChaCha8Rng::seed_from_u64(task.train.seed ^ 0x7e57_7e57);
    let test_w = random_windows(&mut test_rng, n_test, width);
    let (x, y) = tensors(task.rule, &train_w)?;
    let (tx, ty) = tensors(task.rule, &test_w)?;
    let seen: HashSet<u64> = train_w.iter().map(|w| w.1).collect();
    let unseen_idx: Vec<i64> = (0..test_w.len() as i64)
        .filter(|&i| !seen.contains(&test_w[i as usize].1))
        .collect();
    let sizes = [width as i64, hidden, hidden, 2];
    let (mut vs, net) = train::seeded(task.train.seed, |p| DenseNet::new(p, &sizes, Activation::Relu))?;
    let key = json!({"task": "elementary CA centre cell, light cone as ±1 inputs", "config": task});
    let trained = cache.load_or_train("automaton", &key, &mut vs, |vs| {
        train::fit(vs, &task.train, &x, &y, Loss::CrossEntropy, |xb| net.forward(xb))
    })?;
    let unseen_accuracy = if unseen_idx.is_empty() {
        None
    } else {
        let idx = Tensor::from_slice(&unseen_idx); // (U,)
        Some(accuracy(&net, &tx.index_select(0, &idx), &ty.index_select(0, &idx)))
    };
    Ok(AutomatonLearning {
        task: *task,
        inputs: width,
        patterns: 1u64 << width,
        distinct_train: seen.len(),
        train_accuracy: accuracy(&net, &x, &y),
        test_accuracy: accuracy(&net, &tx, &ty),
        unseen: unseen_idx.len(),
        unseen_accuracy,
        n_params: net.n_params(),
        history: trained.history,
        from_cache: trained.from_cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_after_matches_the_automaton_grown_from_one_cell() {
        // Grow rule 30 from one live cell; the centre cell at row t must equal
        // centre_after on row 0's light cone of half-width t.
        for rule in [30u8, 90, 110, 170] {
            let rows = crate::experiments::automaton::elementary(rule, 41, 12);
            for (t, row) in rows.iter().enumerate().skip(1) {
                let cone = &rows[0][20 - t..=20 + t];
                assert_eq!(centre_after(rule, cone).unwrap(), row[20], "rule {rule}, step {t}");
            }
        }
        // By hand: rule 30 maps 100 -> 1, 111 -> 0; rule 170 copies the right neighbour.
        assert_eq!(centre_after(30, &[1, 0, 0]).unwrap(), 1);
        assert_eq!(centre_after(30, &[1, 1, 1]).unwrap(), 0);
        assert_eq!(centre_after(170, &[0, 0, 0, 0, 1]).unwrap(), 1);
        assert!(centre_after(30, &[1, 0]).is_err());
    }

    #[test]
    fn activations_by_hand() {
        assert_eq!(relu(-2.0), 0.0);
        assert!((silu(0.0)).abs() < 1e-15 && (silu(1.0) - 0.731_058_578_630_004_9).abs() < 1e-12);
        // torch.nn.functional.gelu(torch.tensor(1.0), approximate="tanh") = 0.8411920070648193
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-6);
    }
}
