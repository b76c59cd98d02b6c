//! Tests of the digit experiments (src/experiments/digits.rs, essay sections 3-5): the
//! MNIST loader against counts and pixels read by an independent Python script
//! (scripts/fixtures/mnist_reference.py -> tests/fixtures/mnist/reference.json); missing
//! and corrupt files are clear errors naming the fix; the blur and the PCA projection
//! against closed forms; the LeNet reaches >= 95% held-out accuracy with the default
//! budget (trained once, cached in data/cache/trained).

use gpt2_explorer::experiments::digits::{self, DigitsConfig, Mnist};
use gpt2_explorer::train::TrainCache;
use gpt2_explorer::Error;
use tch::{Kind, Tensor};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/mnist/reference.json")).unwrap()
}

#[test]
fn loader_matches_the_python_reference() {
    let m = Mnist::load_default().expect("MNIST missing: run `make setup`");
    let r = reference();
    let counts: Vec<i64> = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect();
    assert_eq!(m.len() as i64, counts.iter().sum::<i64>());
    assert_eq!(m.len(), 10_000);
    let offsets: Vec<i64> = counts
        .iter()
        .scan(0, |acc, c| {
            let o = *acc;
            *acc += c;
            Some(o)
        })
        .collect();
    for d in 0..10 {
        assert_eq!(m.of_digit(d).len() as i64, counts[d as usize], "digit {d}");
    }
    for p in r["pixels"].as_array().unwrap() {
        let (d, k, row, col) = (
            p["digit"].as_i64().unwrap(),
            p["image"].as_i64().unwrap(),
            p["row"].as_i64().unwrap(),
            p["col"].as_i64().unwrap(),
        );
        let i = offsets[d as usize] + k;
        assert_eq!(m.label(i as usize), d);
        let got = m.images.double_value(&[i, 0, row, col]);
        let want = p["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "digit {d} image {k} ({row}, {col}): {got} vs {want}"
        );
    }
    for s in r["sums"].as_array().unwrap() {
        let i = offsets[s["digit"].as_i64().unwrap() as usize] + s["image"].as_i64().unwrap();
        let got = m.images.get(i).sum(Kind::Double).double_value(&[]);
        let want = s["sum"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-3, "image {i}: sum {got} vs {want}");
    }
    let (train, test) = m.split();
    // Image k of each digit is held out when k % 5 == 4: floor(count / 5) per digit.
    let held: i64 = counts.iter().map(|c| c / 5).sum();
    assert_eq!(held, 1996);
    assert_eq!((train.len() as i64, test.len() as i64), (10_000 - held, held));
    assert_eq!(test.of_digit(0).len(), 200); // 1001 zeros: k = 4, 9, ..., 999
}

#[test]
fn missing_or_corrupt_files_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let e = Mnist::load(dir.path()).err().expect("an empty folder loaded");
    assert!(matches!(e, Error::MissingFile { .. }));
    assert!(
        e.to_string().contains("0.json") && e.to_string().contains("make setup"),
        "{e}"
    );
    for d in 0..10 {
        std::fs::write(dir.path().join(format!("{d}.json")), r#"{"data": [0.5, 0.5]}"#).unwrap();
    }
    let e = Mnist::load(dir.path()).err().unwrap();
    assert!(
        matches!(e, Error::BadData { .. })
            && e.to_string().contains("multiple of 784")
            && e.to_string().contains("make setup"),
        "{e}"
    );
    std::fs::write(dir.path().join("0.json"), b"{\"data\": [").unwrap();
    let e = Mnist::load(dir.path()).err().unwrap();
    assert!(matches!(e, Error::BadData { .. }), "{e}");
}

#[test]
fn blur_spreads_a_dot_as_a_normalised_gaussian() {
    let img = Tensor::zeros([1, 28, 28], (Kind::Float, tch::Device::Cpu));
    let _ = img.get(0).get(14).get(14).fill_(1.0);
    let b = digits::blur(&img, 1.0);
    assert_eq!(b.size(), vec![1, 28, 28]);
    // Mass is kept away from the border; the centre holds 1 / (sum of exp(-i^2/2), i=-3..3)^2.
    let s: f64 = (-3..=3).map(|i: i32| (-(i * i) as f64 / 2.0).exp()).sum();
    assert!((b.sum(Kind::Double).double_value(&[]) - 1.0).abs() < 1e-5);
    assert!((b.double_value(&[0, 14, 14]) - 1.0 / (s * s)).abs() < 1e-6);
    assert!((b.double_value(&[0, 14, 15]) - (-0.5f64).exp() / (s * s)).abs() < 1e-6);
    assert_eq!(
        Vec::<f32>::try_from(digits::blur(&img, 0.0).flatten(0, -1)).unwrap(),
        Vec::<f32>::try_from(img.flatten(0, -1)).unwrap()
    );
}

#[test]
fn pca_finds_the_closed_form_components() {
    // Four points (+-3, 0), (0, +-1), shifted by (5, 5): covariance diag(4.5, 0.5), so the
    // first component is the x axis with 90% of the variance, the second the y axis.
    let x = Tensor::from_slice(&[8.0f64, 5.0, 2.0, 5.0, 5.0, 6.0, 5.0, 4.0]).view([4, 2]);
    let (coords, ratios) = digits::pca_project(&x, 2).unwrap();
    assert!(
        (ratios[0] - 0.9).abs() < 1e-9 && (ratios[1] - 0.1).abs() < 1e-9,
        "{ratios:?}"
    );
    let c = Vec::<f64>::try_from(coords.flatten(0, -1)).unwrap();
    let want = [3.0, 0.0, -3.0, 0.0, 0.0, 1.0, 0.0, -1.0];
    for (g, w) in c.iter().zip(want) {
        assert!((g.abs() - f64::abs(w)).abs() < 1e-9, "{c:?}");
    }
    assert!(
        c[0] > 0.0,
        "the sign convention (largest loading positive) gives +3 for (8, 5)"
    );
    assert!(matches!(
        digits::pca_project(&x, 3),
        Err(Error::BadHyperParameter { .. })
    ));
}

#[test]
fn lenet_default_budget_reaches_95_percent_on_held_out_digits() {
    let t0 = std::time::Instant::now();
    let m = digits::train_model(&DigitsConfig::default(), &TrainCache::default()).unwrap();
    eprintln!(
        "LeNet: from cache {}, trained in {:.0} s, test accuracy {:.4}, took {:.0} s",
        m.from_cache,
        m.seconds,
        m.test_accuracy,
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(m.test.len(), 1996);
    assert!(
        m.test_accuracy >= 0.95,
        "held-out accuracy {:.4} < 0.95",
        m.test_accuracy
    );
    assert_eq!(
        m.net.n_params(),
        20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 5010
    );
    let bad = DigitsConfig {
        n_train: 0,
        ..DigitsConfig::default()
    };
    assert!(matches!(
        digits::train_model(&bad, &TrainCache::default()),
        Err(Error::BadHyperParameter { .. })
    ));
    let mut bad = DigitsConfig::default();
    bad.train.batch_size = 0;
    assert!(matches!(
        digits::train_model(&bad, &TrainCache::default()),
        Err(Error::BadHyperParameter { .. })
    ));
}

#[test]
fn every_digit_figure_builds_and_softmax_of_the_logits_gives_the_probabilities() {
    use gpt2_explorer::figures;
    use serde_json::json;
    let ids: Vec<&str> = figures::digits::figures().iter().map(|f| f.id).collect();
    assert_eq!(
        ids,
        [
            "digits-samples",
            "digits-classifier",
            "digits-blur",
            "digit-separation",
            "digit-softmax",
            "digit-presoftmax",
            "digit-signatures",
            "digit-embedding-3d"
        ]
    );
    let mut tables = std::collections::HashMap::new();
    for id in &ids {
        let fig = figures::make(id, json!({}), None).unwrap_or_else(|e| panic!("{id}: {e}"));
        let svg = fig.svg().unwrap();
        assert!(svg.len() > 1000 && svg.contains("<svg"), "{id}: empty SVG");
        assert!(!fig.table.rows.is_empty(), "{id}: no data");
        tables.insert(*id, fig.table);
    }
    assert_eq!(tables["digits-samples"].rows.len(), 60);
    // Softmax computed here from the pre-softmax figure's numbers equals the softmax figure's.
    let col = |id: &str| -> Vec<f64> { tables[id].rows.iter().map(|r| r[1].parse().unwrap()).collect() };
    let (logits, probs) = (col("digit-presoftmax"), col("digit-softmax"));
    let z: f64 = logits.iter().map(|l| l.exp()).sum();
    for (l, p) in logits.iter().zip(&probs) {
        assert!((l.exp() / z - p).abs() < 1e-9, "softmax({l}) = {} vs {p}", l.exp() / z);
    }
    assert!(probs[4] > 0.5, "the net does not call the chosen 4 a 4: {probs:?}");
    // The blur sequence ends with a different answer (or says it did not flip).
    let blur = &tables["digits-blur"].rows;
    assert_eq!(blur[0][1], "2", "the unblurred 2 is not a 2: {blur:?}");
    // Signatures: the ten outputs of 5 fours and 5 eights; each image's ten values lie
    // nearer the mean signature of its own digit than of the other digit.
    let sig = &tables["digit-signatures"].rows;
    assert_eq!(sig.len(), 10 * 10, "5 fours and 5 eights, ten outputs each");
    let mut by_image: std::collections::BTreeMap<(String, String), Vec<f64>> = Default::default();
    for r in sig {
        by_image
            .entry((r[1].clone(), r[0].clone()))
            .or_default()
            .push(r[3].parse().unwrap());
    }
    let mean = |d: &str| -> Vec<f64> {
        let v: Vec<&Vec<f64>> = by_image.iter().filter(|(k, _)| k.0 == d).map(|(_, v)| v).collect();
        (0..10)
            .map(|i| v.iter().map(|s| s[i]).sum::<f64>() / v.len() as f64)
            .collect()
    };
    let (m4, m8) = (mean("4"), mean("8"));
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
    for ((d, i), v) in &by_image {
        assert_eq!(v.len(), 10);
        let (own, other) = if d == "4" { (&m4, &m8) } else { (&m8, &m4) };
        assert!(
            dist(v, own) < dist(v, other),
            "test image {i} (a {d}) is nearer the other digit's signature"
        );
    }
    // The digit net's diagram, read from the trained weights' shapes, against LeNet's
    // arithmetic by hand: 28 -> conv 5x5 -> 24 -> pool 2 -> 12 -> conv 5x5 -> 8 -> pool
    // -> 4, so 50 x 4 x 4 = 800 inputs to the 500 hidden units; weights 20*25+20 = 520,
    // 50*20*25+50 = 25,050, 800*500+500 = 400,500, 500*10+10 = 5,010.
    let fig = figures::make("lenet-diagram", json!({}), None).unwrap();
    let shapes: Vec<&str> = fig.table.rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        shapes,
        [
            "1×28×28",
            "20×24×24",
            "20×12×12",
            "50×8×8",
            "50×4×4",
            "800",
            "500",
            "10",
            "10"
        ]
    );
    let weights: Vec<i64> = fig.table.rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert_eq!(weights, [0, 520, 0, 25_050, 0, 0, 400_500, 5_010, 0]);
    // A bad parameter is an error, not a panic.
    assert!(figures::make("digits-blur", json!({"sigma_step": 0.0}), None).is_err());
    assert!(figures::make("digit-signatures", json!({"digits": [12]}), None).is_err());
}
