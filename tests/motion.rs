//! Laws of motion in meaning space (src/analysis/motion.rs, figure `step-cosines`,
//! notebook 11): the step statistics against hand-computed paths (a line, a zig-zag,
//! a line that speeds up), against what probability theory says about independent
//! Gaussian points (successive-step cosine -1/2, velocity error sqrt(3), and 0 for their
//! running mean), and against a second computation in libtorch on a random walk; the
//! running mean against `embedding::text_so_far`; shuffles deterministic for a seed;
//! bad paths end in clear errors; the per-block paths of SmolLM2 against
//! `embedding::hidden_states`; and the figure on SmolLM2 (needs `make setup`).

mod common;
use common::smollm2;

use gpt2_explorer::analysis::embedding::{self, Trajectory};
use gpt2_explorer::analysis::motion::{self, Smoothing};
use gpt2_explorer::figures;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tch::{Kind, Tensor};

/// `t` points of `c` independent standard normal numbers (Box-Muller on a seeded
/// ChaCha8), plus a shared offset so that the points do not sit around the origin.
fn gaussian_points(t: usize, c: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..t)
        .map(|_| {
            (0..c)
                .map(|j| {
                    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() + if j % 3 == 0 { 5.0 } else { 0.0 }
                })
                .collect()
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tolerance {tol})");
}

#[test]
fn a_straight_line_keeps_its_direction_and_a_zigzag_reverses_it() {
    // Constant speed along (1, 2, -1), starting away from the origin.
    let line: Vec<Vec<f64>> = (0..6)
        .map(|i| vec![3.0 + i as f64, 1.0 + 2.0 * i as f64, -(i as f64)])
        .collect();
    for c in motion::successive_cosines(&line) {
        close(c, 1.0, 1e-12, "line cosine");
    }
    for e in motion::velocity_errors(&line) {
        close(e, 0.0, 1e-12, "line velocity error");
    }
    for s in motion::step_lengths(&line) {
        close(s, 6f64.sqrt(), 1e-12, "line step length");
    }
    // Speed doubling each step: same direction, and the last step misses by half:
    // |2d - d| / |2d| = 1/2.
    let mut x = vec![1.0, 1.0];
    let mut faster = vec![x.clone()];
    for k in 0..5 {
        let s = 2f64.powi(k);
        x = vec![x[0] + s, x[1] - s];
        faster.push(x.clone());
    }
    assert_eq!(motion::successive_cosines(&faster).len(), 4);
    for (c, e) in motion::successive_cosines(&faster)
        .iter()
        .zip(motion::velocity_errors(&faster))
    {
        close(*c, 1.0, 1e-12, "faster cosine");
        close(e, 0.5, 1e-12, "faster velocity error");
    }
    // Back and forth: every step undoes the last; predicting a repeat misses by 2.
    let zigzag: Vec<Vec<f64>> = (0..7).map(|i| vec![(i % 2) as f64, 0.5]).collect();
    for (c, e) in motion::successive_cosines(&zigzag)
        .iter()
        .zip(motion::velocity_errors(&zigzag))
    {
        close(*c, -1.0, 1e-12, "zigzag cosine");
        close(e, 2.0, 1e-12, "zigzag velocity error");
    }
    // The running mean of the zigzag by hand: 0, 1/2, 1/3, 2/4, 2/5, ...
    let m = motion::running_mean(&zigzag);
    for (i, want) in [0.0, 0.5, 1.0 / 3.0, 0.5, 0.4, 0.5, 3.0 / 7.0].iter().enumerate() {
        close(m[i][0], *want, 1e-12, "running mean");
        close(m[i][1], 0.5, 1e-12, "running mean of a constant");
    }
}

/// For independent points x_i, d_i and d_{i+1} share x_{i+1} with opposite signs:
/// E[d_i . d_{i+1}] = -C, |d|^2 ~ 2C, so the cosine is about -1/2; |d_{i+1} - d_i|^2 =
/// |x_{i+2} - 2 x_{i+1} + x_i|^2 ~ 6C, so the velocity error is about sqrt(6C / 2C) =
/// sqrt(3). The running mean's steps are uncorrelated: (x_{i+1} - m_i) . (x_{i+2} -
/// m_{i+1}) has mean -C/(n+1) + C/(n+1) = 0.
#[test]
fn independent_points_match_probability_theory() {
    let path = gaussian_points(80, 3000, 7);
    let raw = motion::measure(&path, Smoothing::None, 50, 3).unwrap();
    close(raw.mean_cosine, -0.5, 0.02, "raw mean cosine");
    close(raw.velocity_error, 3f64.sqrt(), 0.02, "raw velocity error");
    // The order of independent points carries nothing: shuffles look the same.
    close(raw.shuffled_cosine, -0.5, 0.02, "shuffled mean cosine");
    // (p is uniform here, so this fails for about one seed in a thousand.)
    assert!(
        raw.p_value > 0.001,
        "independent points should not beat their shuffles: p = {}",
        raw.p_value
    );
    let smooth = motion::measure(&path, Smoothing::RunningMean, 50, 3).unwrap();
    close(smooth.mean_cosine, 0.0, 0.05, "running-mean cosine");
    close(smooth.shuffled_cosine, 0.0, 0.05, "running-mean shuffled cosine");
    assert_eq!(smooth.cosines.len(), 78);
    assert_eq!(smooth.points, 80);
}

/// The same numbers computed a second way, in libtorch: steps by `diff`, cosines by
/// `cosine_similarity`, the running mean by `cumsum` over a count.
#[test]
fn the_statistics_match_a_libtorch_computation() {
    // A random walk with drift: each point is the last plus a Gaussian step minus 1.4.
    let noise = gaussian_points(40, 50, 11);
    let mut walk = vec![vec![0.0; 50]];
    for n in &noise[1..] {
        let last = walk.last().unwrap();
        walk.push(last.iter().zip(n).map(|(a, b)| a + b - 1.4).collect());
    }
    let flat: Vec<f64> = walk.iter().flatten().copied().collect();
    let x = Tensor::from_slice(&flat).view([40, 50]); // (T, C)
    for (smoothing, xs) in [
        (Smoothing::None, x.shallow_clone()),
        (
            Smoothing::RunningMean,
            x.cumsum(0, Kind::Double) / Tensor::arange_start(1, 41, (Kind::Double, tch::Device::Cpu)).view([40, 1]),
        ),
    ] {
        let d = xs.diff(1, 0, None::<Tensor>, None::<Tensor>); // (T-1, C)
        let cos = Tensor::cosine_similarity(&d.narrow(0, 0, 38), &d.narrow(0, 1, 38), 1, 1e-30); // (T-2)
        let miss = (d.narrow(0, 1, 38) - d.narrow(0, 0, 38)).linalg_norm(2.0, [1i64].as_slice(), false, Kind::Double)
            / d.narrow(0, 1, 38)
                .linalg_norm(2.0, [1i64].as_slice(), false, Kind::Double); // (T-2)
        let want_cos = Vec::<f64>::try_from(&cos).unwrap();
        let want_err = Vec::<f64>::try_from(&miss).unwrap();
        let m = motion::measure(&walk, smoothing, 5, 1).unwrap();
        assert_eq!(m.cosines.len(), want_cos.len());
        for (a, b) in m.cosines.iter().zip(&want_cos) {
            close(*a, *b, 1e-9, "cosine vs libtorch");
        }
        let misses = (d.narrow(0, 1, 38) - d.narrow(0, 0, 38)).linalg_norm(2.0, [1i64].as_slice(), false, Kind::Double); // (T-2)
        let moves = d
            .narrow(0, 1, 38)
            .linalg_norm(2.0, [1i64].as_slice(), false, Kind::Double); // (T-2)
        let whole = misses.sum(Kind::Double).double_value(&[]) / moves.sum(Kind::Double).double_value(&[]);
        close(m.velocity_error, whole, 1e-9, "velocity error vs libtorch");
        for (a, b) in motion::velocity_errors(&walk_or_mean(&walk, smoothing))
            .iter()
            .zip(&want_err)
        {
            close(*a, *b, 1e-9, "velocity errors vs libtorch");
        }
        close(m.mean_cosine, want_cos.iter().sum::<f64>() / 38.0, 1e-9, "mean cosine");
    }
}

fn walk_or_mean(path: &[Vec<f64>], smoothing: Smoothing) -> Vec<Vec<f64>> {
    match smoothing {
        Smoothing::None => path.to_vec(),
        Smoothing::RunningMean => motion::running_mean(path),
    }
}

#[test]
fn the_running_mean_is_the_figures_text_so_far() {
    let states = gaussian_points(9, 5, 2);
    let t = Trajectory {
        layer: 0,
        ids: (0..9).collect(),
        tokens: vec![String::new(); 9],
        n_prompt: 3,
        states: states.clone(),
        fans: vec![],
        fan_positions: vec![],
    };
    let figure = embedding::text_so_far(&t, 1);
    let ours = motion::running_mean(&states[1..]);
    for (a, b) in figure.states[1..].iter().zip(&ours) {
        for (x, y) in a.iter().zip(b) {
            close(*x, *y, 1e-12, "running mean vs text_so_far");
        }
    }
}

#[test]
fn shuffles_are_deterministic_and_a_line_beats_all_of_them() {
    let line: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, 2.0, -0.5 * i as f64]).collect();
    let a = motion::measure(&line, Smoothing::None, 100, 42).unwrap();
    let b = motion::measure(&line, Smoothing::None, 100, 42).unwrap();
    assert_eq!(a.shuffled_cosine, b.shuffled_cosine);
    assert_eq!(a.shuffled_velocity_error, b.shuffled_velocity_error);
    let c = motion::measure(&line, Smoothing::None, 100, 43).unwrap();
    assert_ne!(a.shuffled_cosine, c.shuffled_cosine, "another seed, other shuffles");
    close(a.mean_cosine, 1.0, 1e-12, "line");
    assert!(
        a.shuffled_cosine < 0.0,
        "shuffled points of a line zig-zag: {}",
        a.shuffled_cosine
    );
    // No shuffle of 20 points comes back in order (or reversed): p = 1 / (1 + 100).
    close(a.p_value, 1.0 / 101.0, 1e-12, "p-value");
    assert!(a.summary().contains("token path"), "{}", a.summary());
    assert!(
        a.verdict().contains("keeps its direction better than"),
        "{}",
        a.verdict()
    );
    // A zig-zag between two points: its shuffles sometimes stay put (cosine 0), so the
    // real path turns back more than they do.
    let zigzag: Vec<Vec<f64>> = (0..20).map(|i| vec![(i % 2) as f64, 0.5]).collect();
    let z = motion::measure(&zigzag, Smoothing::None, 100, 42).unwrap();
    close(z.mean_cosine, -1.0, 1e-12, "zigzag");
    assert!(z.verdict().contains("turns back more than"), "{}", z.verdict());
}

/// One step of almost nothing: its own error is huge, the whole path's (sum of misses
/// over sum of steps, computed by hand below) stays bounded.
#[test]
fn a_tiny_step_cannot_dominate_the_velocity_error() {
    // Steps: (1,0), (0,1), (1e-12,0), (1,0).
    let path = vec![
        vec![0.0, 0.0],
        vec![1.0, 0.0],
        vec![1.0, 1.0],
        vec![1.0 + 1e-12, 1.0],
        vec![2.0 + 1e-12, 1.0],
    ];
    let per_step = motion::velocity_errors(&path);
    assert!(per_step[1] > 1e11, "{per_step:?}");
    // Misses: |(0,1)-(1,0)| = sqrt 2, |(1e-12,0)-(0,1)| ~ 1, |(1,0)-(1e-12,0)| ~ 1;
    // steps after the first: 1 + 1e-12 + 1.
    close(
        motion::velocity_error(&path),
        (2f64.sqrt() + 2.0) / 2.0,
        1e-9,
        "whole-path error",
    );
}

#[test]
fn bad_paths_are_one_clear_error() {
    let e = motion::measure(&[vec![1.0], vec![2.0]], Smoothing::None, 10, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 points") && e.contains("at least 3"), "{e}");
    let e = motion::measure(&[vec![1.0, 2.0], vec![2.0], vec![3.0, 1.0]], Smoothing::None, 10, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("point 1 has 1 coordinates, point 0 has 2"), "{e}");
    let e = motion::measure(&[vec![1.0], vec![f64::NAN], vec![3.0]], Smoothing::RunningMean, 10, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("NaN"), "{e}");
    let e = motion::measure(&[vec![1.0], vec![2.0], vec![3.0]], Smoothing::None, 0, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least one shuffle"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn block_paths_are_the_hidden_states_and_the_figure_builds() {
    let lm = smollm2();
    let ids = motion::greedy_ids(&lm, "The best thing about AI is its ability to", 6).unwrap();
    assert_eq!(ids.len(), 9 + 6, "the prompt is 9 tokens, then 6 greedy ones");
    let paths = motion::block_paths(&lm, &ids).unwrap();
    let n_layer = lm.model.info().n_layer;
    assert_eq!(paths.len(), n_layer);
    for l in [0, n_layer / 2, n_layer - 1] {
        let want = gpt2_explorer::analysis::pca::rows_of(&embedding::hidden_states(&lm, &ids, l).unwrap()).unwrap();
        assert_eq!(paths[l].len(), ids.len());
        for (a, b) in paths[l].iter().zip(&want) {
            for (x, y) in a.iter().zip(b) {
                close(*x, *y, 1e-4 * (1.0 + y.abs()), "block path vs hidden_states");
            }
        }
    }
    let blocks = motion::by_block(&lm, &ids, 1, 20, 1).unwrap();
    assert_eq!(blocks.len(), n_layer);
    assert!(blocks.iter().all(|b| b.token.points == ids.len() - 1));

    let fig = figures::make("step-cosines", json!({"steps": 8, "shuffles": 20}), Some(&lm)).unwrap();
    let csv = String::from_utf8(fig.table.to_csv().unwrap()).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2 * n_layer, "{csv}");
    assert!(rows[0].starts_with("0,16,token path,"), "{}", rows[0]);
    assert!(rows[1].starts_with("0,16,text so far (running mean),"), "{}", rows[1]);
    let e = figures::make("step-cosines", json!({"text": "Hi there", "shuffles": 5}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("at least 4"), "{e}");
    let e = figures::make("step-cosines", json!({"shuffels": 5}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no parameter `shuffels`"), "{e}");
}
