//! The library pieces the course notebooks (issue 16) call: block weight counts against
//! published parameter totals, rounding weights to few bits by hand, training histories
//! read at steps, the smoothing check against matrices of known structure, the
//! random-pair cosine baseline, group cosines and path step lengths by hand, and the
//! automaton-learning and quantised-digit experiments against their expected outcomes.

mod common;
use common::{smollm2, tokenizer_dir};

use gpt2_explorer::analysis::embedding::{self, Trajectory};
use gpt2_explorer::analysis::matrix::{self, Matrix};
use gpt2_explorer::experiments::digits::{self, DigitsConfig};
use gpt2_explorer::experiments::practice::{self, AutomatonTask};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::train::{quantize, History, TrainCache};
use gpt2_explorer::{Gpt2Config, LoadedModel};
use tch::Tensor;

/// A synthetic GPT-2 with V=50257, P=128, C=64, L=2, H=4 (M = 4C = 256).
fn synthetic_small() -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Gpt2Config::preset(50257, 128, 64, 2, 4);
    synthetic::write_model_folder(&dir.path().join("m"), &cfg, 7, Layout::Hub, &tokenizer_dir()).unwrap();
    let lm = LoadedModel::load(dir.path().join("m").to_str().unwrap(), true).unwrap();
    (dir, lm)
}

#[test]
fn block_weights_match_the_closed_form_and_published_totals() {
    // GPT-2 shape, C = 64, M = 256: c_attn (C, 3C) + bias, c_proj (C, C) + bias;
    // c_fc (C, M) + bias, c_proj (M, C) + bias; two LayerNorms of 2C.
    let (_d, lm) = synthetic_small();
    let (c, m, v, p) = (64i64, 256i64, 50257i64, 128i64);
    let w = lm.model.block_weights(1).unwrap();
    assert_eq!(w.attention, c * 3 * c + 3 * c + c * c + c);
    assert_eq!(w.mlp, c * m + m + m * c + c);
    assert_eq!(w.norms, 4 * c);
    assert_eq!(lm.model.n_weights(), v * c + p * c + 2 * w.total() + 2 * c);
    assert!(lm.model.block_weights(2).is_err(), "block 2 of 2 does not exist");

    // SmolLM2-135M: Hugging Face reports 134,515,008 parameters (tied embeddings).
    let lm = smollm2();
    let w = lm.model.block_weights(0).unwrap();
    assert_eq!(w.attention, 576 * (576 + 2 * 192) + 576 * 576);
    assert_eq!(w.mlp, 3 * 576 * 1536);
    assert_eq!(w.norms, 2 * 576);
    assert!((w.mlp_share() - 0.7498).abs() < 1e-3, "{}", w.mlp_share());
    assert_eq!(lm.model.n_weights(), 134_515_008);
}

#[test]
fn quantize_rounds_to_the_levels_by_hand() {
    let t = Tensor::from_slice(&[1.0f64, -0.6, 0.2, 0.0]);
    // 2 bits: one level each side, step 1.
    let q = Vec::<f64>::try_from(quantize(&t, 2).unwrap()).unwrap();
    assert_eq!(q, vec![1.0, -1.0, 0.0, 0.0]);
    // 3 bits: three levels each side, step 1/3: -0.6 -> -2/3, 0.2 -> 1/3.
    let q = Vec::<f64>::try_from(quantize(&t, 3).unwrap()).unwrap();
    for (a, b) in q.iter().zip([1.0, -2.0 / 3.0, 1.0 / 3.0, 0.0]) {
        assert!((a - b).abs() < 1e-12, "{q:?}");
    }
    assert!(quantize(&t, 1).is_err() && quantize(&t, 17).is_err());
    // All zeros stay zeros.
    let z = Vec::<f64>::try_from(quantize(&Tensor::from_slice(&[0.0f64, 0.0]), 4).unwrap()).unwrap();
    assert_eq!(z, vec![0.0, 0.0]);
}

#[test]
fn history_at_steps_leaves_out_steps_past_the_end() {
    let h = History {
        loss: vec![4.0, 3.0, 2.0, 1.0],
    };
    assert_eq!(h.at_steps(&[1, 3, 4, 5, 200, 0]), vec![(1, 4.0), (3, 2.0), (4, 1.0)]);
    assert_eq!(h.mean_of_last(2), Some(1.5));
    assert_eq!(h.mean_of_last(10), Some(2.5));
    assert_eq!(History::default().mean_of_last(3), None);
}

#[test]
fn smoothing_check_tells_structure_from_noise() {
    // Independent noise: the smoothed spread is about std / window, like its shuffled copy.
    let noise = matrix::gaussian_like(&Matrix::new(2, 2, vec![-1.0, 1.0, -1.0, 1.0]).unwrap(), 1);
    assert_eq!((noise.rows, noise.cols), (2, 2));
    let big = Matrix::new(256, 256, vec![0.0; 256 * 256]).unwrap();
    let noise = matrix::gaussian_like(
        &Matrix {
            values: (0..65536).map(|i| (i % 7) as f64).collect(),
            ..big.clone()
        },
        3,
    );
    let c = matrix::smoothing_check(&noise, 16, 5).unwrap();
    assert!((c.ratio() - 1.0).abs() < 0.3, "{c:?}");
    assert!((c.smoothed / c.independent - 1.0).abs() < 0.3, "{c:?}");
    // Two halves of opposite sign plus noise: the smoothing keeps the halves.
    let halves = Matrix {
        values: noise
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| v - 3.0 + if i % 256 < 128 { 1.0 } else { -1.0 })
            .collect(),
        ..big
    };
    let c = matrix::smoothing_check(&halves, 16, 5).unwrap();
    assert!(c.ratio() > 3.0, "{c:?}");
    // Shuffling keeps every value.
    let mut a = halves.values.clone();
    let mut b = matrix::shuffled(&halves, 9).values;
    assert_ne!(a, b);
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    assert_eq!(a, b);
    // The Gaussian copy has the original's mean and spread.
    let g = matrix::gaussian_like(&halves, 2);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean(&g.values) - mean(&halves.values)).abs() < 0.02);
    assert!((matrix::std_dev(&g.values) / matrix::std_dev(&halves.values) - 1.0).abs() < 0.02);
}

#[test]
fn random_pair_cosines_and_group_cosines() {
    let lm = smollm2();
    let b = embedding::random_pair_cosines(&lm, 2000, 0).unwrap();
    assert_eq!(b.pairs, 2000);
    assert!(
        b.centered_mean.abs() < 0.02,
        "centred cosines of random pairs average ~0: {b:?}"
    );
    assert!(
        b.mean > b.centered_mean + 0.02,
        "the shared direction lifts raw cosines: {b:?}"
    );
    assert!(b.with_mean_direction > 0.0);
    // centered_cosine by hand.
    assert!((embedding::centered_cosine(&[2.0, 1.0], &[1.0, 2.0], &[1.0, 1.0]) - 0.0).abs() < 1e-12);
    // within_between by hand on two groups of two words.
    let words = ["cat", "dog", "car", "truck"];
    let v: Vec<Vec<f64>> = words
        .iter()
        .map(|w| embedding::word_vector(&lm, w).unwrap().vector)
        .collect();
    let cos = embedding::cosine;
    let want_within = (cos(&v[0], &v[1]) + cos(&v[2], &v[3])) / 2.0;
    let want_between = (cos(&v[0], &v[2]) + cos(&v[0], &v[3]) + cos(&v[1], &v[2]) + cos(&v[1], &v[3])) / 4.0;
    let groups = vec![
        vec!["cat".to_string(), "dog".into()],
        vec!["car".to_string(), "truck".into()],
    ];
    let (within, between) = embedding::within_between(&lm, &groups).unwrap();
    assert!((within - want_within).abs() < 1e-12 && (between - want_between).abs() < 1e-12);
    assert!(embedding::within_between(&lm, &groups[..1]).is_err());
}

#[test]
fn mean_step_length_by_hand() {
    let t = Trajectory {
        layer: 0,
        ids: vec![1, 2, 3],
        tokens: vec!["a".into(), "b".into(), "c".into()],
        n_prompt: 1,
        states: vec![vec![0.0, 0.0], vec![3.0, 4.0], vec![3.0, 4.0]],
        fans: vec![],
        fan_positions: vec![],
    };
    assert_eq!(embedding::mean_step_length(&t), 2.5);
}

#[test]
fn a_shift_stays_learnable_far_ahead_and_rule_30_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TrainCache::in_dir(dir.path());
    let task = |rule: u8, steps: usize| AutomatonTask {
        rule,
        steps,
        ..AutomatonTask::default()
    };
    let shift = practice::learn_automaton(&cache, &task(170, 6)).unwrap();
    assert!(shift.unseen > 500, "{shift:?}");
    assert!(shift.unseen_accuracy.unwrap() > 0.95, "{shift:?}");
    let r30 = practice::learn_automaton(&cache, &task(30, 6)).unwrap();
    assert!(r30.train_accuracy > 0.9, "it can memorise the windows it saw: {r30:?}");
    assert!(r30.unseen_accuracy.unwrap() < 0.75, "but not predict new ones: {r30:?}");
    let one = practice::learn_automaton(&cache, &task(30, 1)).unwrap();
    assert_eq!(one.patterns, 8);
    assert_eq!(one.unseen, 0);
    assert!(one.unseen_accuracy.is_none() && one.test_accuracy == 1.0, "{one:?}");
    // Cached: the second run trains nothing and gives the same numbers.
    let again = practice::learn_automaton(&cache, &task(30, 6)).unwrap();
    assert!(again.from_cache && again.test_accuracy == r30.test_accuracy);
    assert!(practice::learn_automaton(&cache, &task(30, 0)).is_err());
}

#[test]
fn digit_accuracy_survives_8_bits_and_the_weights_come_back() {
    let m = digits::train_model(&DigitsConfig::default(), &TrainCache::default()).unwrap();
    let full = m.test_accuracy;
    let eight = m.accuracy_with_bits(8).unwrap();
    assert!((eight - full).abs() < 0.01, "8 bits {eight} vs float {full}");
    let two = m.accuracy_with_bits(2).unwrap();
    assert!(two < full, "2 bits should cost accuracy: {two} vs {full}");
    // The net's own weights are back: the same accuracy as before.
    let again = m
        .predict(&m.test.images)
        .unwrap()
        .eq_tensor(&m.test.labels)
        .to_kind(tch::Kind::Double)
        .mean(tch::Kind::Double)
        .double_value(&[]);
    assert_eq!(again, full);
}
