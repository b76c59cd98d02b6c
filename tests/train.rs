//! Tests of the training utilities (src/train.rs): a fit reaches the closed-form least
//! squares answer, training is deterministic for a seed, the weight cache hits, misses
//! and retrains a corrupt file with a warning, and bad hyper-parameters are clear errors.

use gpt2_explorer::train::{self, Activation, DenseNet, Loss, Optimizer, TrainCache, TrainConfig};
use gpt2_explorer::Error;
use serde_json::json;
use tch::{Kind, Tensor};

fn cfg(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        optimizer: Optimizer::Adam,
        lr: 0.01,
        iterations: 30,
        batch_size: 16,
        progress: false,
    }
}

/// 64 points of y = sin(3x) on [-1, 1]: (N, 1) each.
fn data() -> (Tensor, Tensor) {
    let x = Tensor::linspace(-1.0, 1.0, 64, (Kind::Float, tch::Device::Cpu)).unsqueeze(1); // (64, 1)
    let y = (&x * 3.0).sin(); // (64, 1)
    (x, y)
}

/// Trains a fresh 1-16-16-1 net with `cfg` and returns its history and its outputs.
fn run(cfg: &TrainConfig) -> (Vec<f64>, Vec<f32>) {
    let (x, y) = data();
    let (vs, net) = train::seeded(cfg.seed, |p| DenseNet::new(p, &[1, 16, 16, 1], Activation::Relu)).unwrap();
    let h = train::fit(&vs, cfg, &x, &y, Loss::Mse, |xb| net.forward(xb)).unwrap();
    let out = Vec::<f32>::try_from(net.forward(&x).flatten(0, -1)).unwrap();
    (h.loss, out)
}

#[test]
fn same_seed_same_history_other_seed_differs() {
    let (a, out_a) = run(&cfg(7));
    let (b, out_b) = run(&cfg(7));
    assert_eq!(a.len(), 30);
    assert_eq!(a, b, "same seed, different loss history");
    assert_eq!(out_a, out_b);
    let (c, _) = run(&cfg(8));
    assert_ne!(a, c, "a different seed gave the identical history");
    assert!(a.last().unwrap() < &(a[0] * 0.5), "the loss did not go down: {a:?}");
}

#[test]
fn full_batch_sgd_on_a_line_reaches_the_closed_form_least_squares_fit() {
    // y = 2 + 3x + noise at 5 hand-picked points; normal equations solved by hand:
    // x = [0,1,2,3,4], y = [2.1, 4.9, 8.2, 10.9, 14.1]; mean x = 2, mean y = 8.04,
    // x - 2 = [-2,-1,0,1,2], y - 8.04 = [-5.94,-3.14,0.16,2.86,6.06], Sxy = 11.88 + 3.14 + 0
    // + 2.86 + 12.12 = 30.0, Sxx = 10: slope 3.00, intercept 8.04 - 6.00 = 2.04.
    let x = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0, 4.0]).unsqueeze(1); // (5, 1)
    let y = Tensor::from_slice(&[2.1f32, 4.9, 8.2, 10.9, 14.1]).unsqueeze(1); // (5, 1)
    let (vs, line) = train::seeded(0, |p| DenseNet::new(p, &[1, 1], Activation::Relu)).unwrap(); // no hidden layer: a + b x
    let c = TrainConfig {
        seed: 0,
        optimizer: Optimizer::Sgd { momentum: 0.9 },
        lr: 0.02,
        iterations: 3000,
        batch_size: 5,
        progress: false,
    };
    train::fit(&vs, &c, &x, &y, Loss::Mse, |xb| line.forward(xb)).unwrap();
    let slope = line.layers[0].ws.double_value(&[0, 0]);
    let intercept = line.layers[0].bs.as_ref().unwrap().double_value(&[0]);
    assert!((slope - 3.0).abs() < 1e-3, "slope {slope}, want 3.00");
    assert!((intercept - 2.04).abs() < 1e-3, "intercept {intercept}, want 2.04");
}

#[test]
fn cache_misses_then_hits_and_a_new_config_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TrainCache::in_dir(dir.path());
    let (x, y) = data();
    let c = cfg(3);
    let key = json!({"net": [1, 16, 16, 1], "train": c});
    let mut trained_count = 0;
    let mut go = |key: &serde_json::Value| {
        let (mut vs, net) = train::seeded(99, |p| DenseNet::new(p, &[1, 16, 16, 1], Activation::Relu)).unwrap(); // a different init: the cache must overwrite it
        let t = cache
            .load_or_train("test-net", key, &mut vs, |vs| {
                trained_count += 1;
                train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
            })
            .unwrap();
        let out = Vec::<f32>::try_from(net.forward(&x).flatten(0, -1)).unwrap();
        (t, out)
    };
    let (first, out1) = go(&key);
    assert!(!first.from_cache && first.warning.is_none());
    assert!(first.path.is_file() && first.path.with_extension("json").is_file());
    let (second, out2) = go(&key);
    assert!(second.from_cache, "the second run retrained");
    assert_eq!(first.history, second.history, "the cached history differs");
    assert_eq!(out1, out2, "the cached weights give other outputs");
    let other = json!({"net": [1, 16, 16, 1], "train": cfg(4)});
    let (third, _) = go(&other);
    assert!(!third.from_cache, "another configuration hit the cache");
    assert_ne!(third.path, first.path);
    #[allow(clippy::drop_non_drop)] // ends the closure's borrow of trained_count
    drop(go);
    assert_eq!(trained_count, 2);
    // Asking for a retrain trains even with the file there.
    let (mut vs, net) = train::seeded(0, |p| DenseNet::new(p, &[1, 16, 16, 1], Activation::Relu)).unwrap();
    let forced = TrainCache {
        dir: dir.path().into(),
        retrain: true,
    }
    .load_or_train("test-net", &key, &mut vs, |vs| {
        train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
    })
    .unwrap();
    assert!(!forced.from_cache);
}

#[test]
fn a_corrupt_or_mismatched_cache_file_is_retrained_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TrainCache::in_dir(dir.path());
    let (x, y) = data();
    let c = cfg(5);
    let key = json!({"train": c});
    let build = |sizes: &[i64]| {
        let (vs, net) = train::seeded(c.seed, |p| DenseNet::new(p, sizes, Activation::Relu)).unwrap();
        (vs, net)
    };
    let (mut vs, net) = build(&[1, 16, 1]);
    let good = cache
        .load_or_train("corrupt", &key, &mut vs, |vs| {
            train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
        })
        .unwrap();
    // Truncate the file: unreadable.
    let bytes = std::fs::read(&good.path).unwrap();
    std::fs::write(&good.path, &bytes[..bytes.len() / 2]).unwrap();
    let (mut vs, net) = build(&[1, 16, 1]);
    let again = cache
        .load_or_train("corrupt", &key, &mut vs, |vs| {
            train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
        })
        .unwrap();
    assert!(!again.from_cache);
    let w = again.warning.expect("no warning for a truncated file");
    assert!(w.contains("unusable") && w.contains("training again"), "{w}");
    assert_eq!(
        again.history, good.history,
        "retraining from the same seed gave another history"
    );
    // The file was rewritten and now loads.
    let (mut vs, net) = build(&[1, 16, 1]);
    assert!(
        cache
            .load_or_train("corrupt", &key, &mut vs, |vs| train::fit(
                vs,
                &c,
                &x,
                &y,
                Loss::Mse,
                |xb| net.forward(xb)
            ))
            .unwrap()
            .from_cache
    );
    // Same key, another net shape (a caller that forgot the sizes in the key): retrained with a warning.
    let (mut vs, net) = build(&[1, 8, 1]);
    let other = cache
        .load_or_train("corrupt", &key, &mut vs, |vs| {
            train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
        })
        .unwrap();
    assert!(!other.from_cache);
    let w = other.warning.unwrap();
    assert!(
        w.contains("`layer0.bias` is [16] Float, the net wants [8] Float"),
        "{w}"
    );
    // Garbage bytes.
    std::fs::write(&other.path, b"not a safetensors file").unwrap();
    let (mut vs, net) = build(&[1, 8, 1]);
    let g = cache
        .load_or_train("corrupt", &key, &mut vs, |vs| {
            train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
        })
        .unwrap();
    assert!(!g.from_cache && g.warning.is_some());
}

fn assert_bad(r: Result<impl std::fmt::Debug, Error>, name: &str) {
    match r {
        Err(e @ Error::BadHyperParameter { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with(name) && msg.contains("must be"), "{msg}");
        }
        other => panic!("expected a bad-hyper-parameter error for {name}, got {other:?}"),
    }
}

#[test]
fn bad_hyper_parameters_are_clear_errors() {
    let (x, y) = data();
    let (vs, net) = train::seeded(0, |p| DenseNet::new(p, &[1, 4, 1], Activation::Tanh)).unwrap();
    let fit = |c: TrainConfig| train::fit(&vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb));
    assert_bad(fit(TrainConfig { lr: 0.0, ..cfg(0) }), "learning rate");
    assert_bad(fit(TrainConfig { lr: -0.1, ..cfg(0) }), "learning rate");
    assert_bad(fit(TrainConfig { lr: f64::NAN, ..cfg(0) }), "learning rate");
    assert_bad(
        fit(TrainConfig {
            iterations: 0,
            ..cfg(0)
        }),
        "iterations",
    );
    assert_bad(
        fit(TrainConfig {
            batch_size: 0,
            ..cfg(0)
        }),
        "batch size",
    );
    assert_bad(
        fit(TrainConfig {
            optimizer: Optimizer::Sgd { momentum: 1.5 },
            ..cfg(0)
        }),
        "momentum",
    );
    assert_bad(
        train::train_steps(
            &vs,
            &TrainConfig {
                iterations: 0,
                ..cfg(0)
            },
            |_, _| Ok(Tensor::from(0.0f32)),
        ),
        "iterations",
    );
    assert_bad(
        DenseNet::new(&(&vs.root() / "b"), &[1, 0, 1], Activation::Relu),
        "layer size",
    );
    assert_bad(
        DenseNet::new(&(&vs.root() / "c"), &[1, -3, 1], Activation::Relu),
        "layer size",
    );
    assert_bad(
        DenseNet::new(&(&vs.root() / "d"), &[1], Activation::Relu),
        "layer sizes",
    );
    assert_bad(train::check_size("examples", 0), "examples");
    // Mismatched data is an error too, not a panic.
    let short = Tensor::zeros([3, 1], (Kind::Float, tch::Device::Cpu));
    let e = train::fit(&vs, &cfg(0), &x, &short, Loss::Mse, |xb| net.forward(xb)).unwrap_err();
    assert!(e.to_string().contains("same number"), "{e}");
    // A diverging run says to lower the learning rate.
    let e = train::fit(
        &vs,
        &TrainConfig {
            optimizer: Optimizer::Sgd { momentum: 0.0 },
            lr: 1e6,
            iterations: 50,
            ..cfg(0)
        },
        &x,
        &(&y * 1e3),
        Loss::Mse,
        |xb| net.forward(xb),
    )
    .unwrap_err();
    assert!(e.to_string().contains("lower the learning rate"), "{e}");
}

#[test]
fn train_steps_records_every_step_and_is_deterministic() {
    let go = || {
        let (vs, net) = train::seeded(11, |p| DenseNet::new(p, &[2, 8, 2], Activation::Relu)).unwrap();
        let c = TrainConfig {
            iterations: 40,
            batch_size: 8,
            ..cfg(11)
        };
        train::train_steps(&vs, &c, |_, rng| {
            use rand::Rng;
            let pts: Vec<f32> = (0..c.batch_size * 2).map(|_| rng.random_range(-1.0..1.0)).collect();
            let xb = Tensor::from_slice(&pts).view([c.batch_size as i64, 2]); // (b, 2)
            let yb = xb.select(1, 0).gt(0.0).to_kind(Kind::Int64); // (b,)
            Ok(Loss::CrossEntropy.of(&net.forward(&xb), &yb))
        })
        .unwrap()
    };
    let a = go();
    assert_eq!(a.loss.len(), 40);
    assert_eq!(a, go());
}

#[test]
fn the_progress_flag_is_not_part_of_a_cache_key() {
    let a = serde_json::to_value(TrainConfig {
        progress: true,
        ..cfg(1)
    })
    .unwrap();
    let b = serde_json::to_value(TrainConfig {
        progress: false,
        ..cfg(1)
    })
    .unwrap();
    assert_eq!(a, b);
    assert!(a.get("progress").is_none() && a.get("lr").is_some());
    let cache = TrainCache::in_dir("/tmp/x");
    assert_eq!(
        cache.path("n", &json!({"train": a})),
        cache.path("n", &json!({"train": b}))
    );
}

/// Two threads asking the cache for the same net at once: one trains, the other waits on
/// the lock and loads what it stored (the closure runs once), with the same weights.
#[test]
fn concurrent_requests_for_one_net_train_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let trained = std::sync::atomic::AtomicUsize::new(0);
    let c = cfg(5);
    let key = json!({"net": "1-8-1", "train": c});
    let outs: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let (x, y) = data();
                    let (mut vs, net) =
                        train::seeded(c.seed, |p| DenseNet::new(p, &[1, 8, 1], Activation::Relu)).unwrap();
                    TrainCache::in_dir(dir.path())
                        .load_or_train("shared-net", &key, &mut vs, |vs| {
                            trained.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            train::fit(vs, &c, &x, &y, Loss::Mse, |xb| net.forward(xb))
                        })
                        .unwrap();
                    Vec::<f32>::try_from(net.forward(&x).flatten(0, -1)).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        trained.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the net was trained more than once"
    );
    assert_eq!(outs[0], outs[1]);
}

/// `TrainConfig::iterations` (epochs of `fit`, steps of `train_steps`) keeps its former
/// name `epochs` in the serialised form, so nets cached before the rename still load.
#[test]
fn iterations_serialise_as_epochs_for_the_cache_key() {
    let json = serde_json::to_value(cfg(3)).unwrap();
    assert_eq!(json["epochs"], 30, "{json}");
    assert!(json.get("iterations").is_none(), "{json}");
}
