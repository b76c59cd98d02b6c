//! PCA (src/analysis/pca.rs) against NumPy: components (sign-normalised), explained
//! variance and its ratio to the TOTAL variance, for the linfa path, the libtorch SVD
//! fallback and the automatic choice; a closed-form case; cosine similarity and nearest
//! neighbours on a hand-checked case; bad input (fewer points than components, NaN).
//! The fixture is tests/fixtures/pca/reference.json, made by scripts/pca/make_fixture.py.

use gpt2_explorer::analysis::embedding::{cosine, nearest};
use gpt2_explorer::analysis::pca::{Pca, PcaMethod};
use gpt2_explorer::Error;
use serde_json::Value;

const SCALES: [f64; 4] = [5.0, 3.0, 2.0, 1.0];

/// The fixture's matrix formula (see make_fixture.py).
fn matrix(n: usize, c: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            (0..c)
                .map(|j| {
                    let (i, j) = (i as f64, j as f64);
                    let mut v = 0.0;
                    for (r, s) in SCALES.iter().enumerate() {
                        let r = r as f64;
                        v += s * (1.3 * (r + 1.0) * i + r).sin() * (0.7 * (r + 1.0) * j + 0.5 * r).cos();
                    }
                    v + 0.1 * (7.1 * i + 3.3 * j + 0.01 * i * j).sin()
                })
                .collect()
        })
        .collect()
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pca/reference.json");
    serde_json::from_str(
        &std::fs::read_to_string(path).expect("tests/fixtures/pca/reference.json (run scripts/pca/make_fixture.py)"),
    )
    .unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn check(case: &Value, p: &Pca, what: &str) {
    let name = case["name"].as_str().unwrap();
    let want_ev = floats(&case["explained_variance"]);
    let total = case["total_variance"].as_f64().unwrap();
    assert!(
        (p.total_variance - total).abs() <= 1e-9 * total,
        "{name} {what}: total variance {} vs NumPy {total}",
        p.total_variance
    );
    let d = max_diff(&p.explained_variance, &want_ev);
    assert!(
        d <= 1e-6 * want_ev[0],
        "{name} {what}: explained variance {:?} vs NumPy {want_ev:?} (max diff {d:e})",
        p.explained_variance
    );
    let d = max_diff(&p.explained_ratio(), &floats(&case["explained_ratio"]));
    assert!(d <= 1e-8, "{name} {what}: explained ratio differs by {d:e}");
    for (i, (got, want)) in p
        .components
        .iter()
        .zip(case["components"].as_array().unwrap())
        .enumerate()
    {
        let d = max_diff(got, &floats(want));
        assert!(d <= 1e-6, "{name} {what}: component {i} differs from NumPy by {d:e}");
    }
    let x = matrix(
        case["n"].as_u64().unwrap() as usize,
        case["c"].as_u64().unwrap() as usize,
    );
    let d = max_diff(&p.project_one(&x[0]), &floats(&case["projection_row0"]));
    assert!(d <= 1e-6, "{name} {what}: projection of row 0 differs by {d:e}");
    eprintln!("{name} {what}: ok ({})", p.method.name());
}

#[test]
fn the_formula_matches_numpy() {
    for case in fixture()["cases"].as_array().unwrap() {
        let x = matrix(
            case["n"].as_u64().unwrap() as usize,
            case["c"].as_u64().unwrap() as usize,
        );
        assert!((x[0][0] - case["x00"].as_f64().unwrap()).abs() < 1e-12);
        assert!((x.last().unwrap().last().unwrap() - case["x_last"].as_f64().unwrap()).abs() < 1e-12);
        let d = max_diff(&Pca::fit(&x, 1).unwrap().mean, &floats(&case["mean"]));
        assert!(d < 1e-12, "mean differs by {d:e}");
    }
}

#[test]
fn torch_svd_matches_numpy() {
    for case in fixture()["cases"].as_array().unwrap() {
        let x = matrix(
            case["n"].as_u64().unwrap() as usize,
            case["c"].as_u64().unwrap() as usize,
        );
        let p = Pca::fit_with(&x, case["k"].as_u64().unwrap() as usize, PcaMethod::TorchSvd).unwrap();
        check(case, &p, "torch SVD");
    }
}

#[test]
fn fit_matches_numpy_whichever_method_it_uses() {
    for case in fixture()["cases"].as_array().unwrap() {
        let x = matrix(
            case["n"].as_u64().unwrap() as usize,
            case["c"].as_u64().unwrap() as usize,
        );
        let p = Pca::fit(&x, case["k"].as_u64().unwrap() as usize).unwrap();
        check(case, &p, "fit");
    }
}

#[test]
fn linfa_answers_are_right_or_refused() {
    // linfa's LOBPCG may fail (panic or an inaccurate answer); the checked wrapper must
    // then refuse, never return wrong components.
    for case in fixture()["cases"].as_array().unwrap() {
        let x = matrix(
            case["n"].as_u64().unwrap() as usize,
            case["c"].as_u64().unwrap() as usize,
        );
        match Pca::fit_with(&x, case["k"].as_u64().unwrap() as usize, PcaMethod::Linfa) {
            Ok(p) => check(case, &p, "linfa"),
            Err(e) => eprintln!("{}: linfa refused: {e}", case["name"]),
        }
    }
}

#[test]
fn closed_form_rectangle() {
    // Corners of a 2 x 1 rectangle: PC1 along x with variance 4/3, PC2 along y with 1/3,
    // total 5/3.
    let x = vec![vec![0.0, 0.0], vec![2.0, 0.0], vec![0.0, 1.0], vec![2.0, 1.0]];
    for method in [PcaMethod::Linfa, PcaMethod::TorchSvd] {
        let Ok(p) = Pca::fit_with(&x, 2, method) else { continue };
        assert!(max_diff(&p.components[0], &[1.0, 0.0]) < 1e-9, "{:?}", p.components);
        assert!(max_diff(&p.components[1], &[0.0, 1.0]) < 1e-9, "{:?}", p.components);
        assert!(max_diff(&p.explained_variance, &[4.0 / 3.0, 1.0 / 3.0]) < 1e-9);
        assert!((p.total_variance - 5.0 / 3.0).abs() < 1e-12);
        assert!(max_diff(&p.project_one(&[2.0, 1.0]), &[1.0, 0.5]) < 1e-9);
    }
    let p = Pca::fit_with(&x, 2, PcaMethod::TorchSvd).unwrap();
    assert!(max_diff(&p.explained_ratio(), &[0.8, 0.2]) < 1e-12);
}

#[test]
fn fewer_points_than_components_is_a_clear_error() {
    let x = vec![vec![0.0, 1.0, 2.0], vec![1.0, 0.0, 2.0], vec![3.0, 1.0, 0.0]];
    let e = Pca::fit(&x, 3).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PcaTooFewPoints {
                points: 3,
                components: 3
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("ask for fewer components"), "{e}");
    assert!(Pca::fit(&x, 2).is_ok());
    let e = Pca::fit(&[vec![0.0, f64::NAN], vec![1.0, 2.0], vec![2.0, 1.0]], 1).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    assert!(Pca::fit(&x, 0).is_err());
    assert!(Pca::fit(&x, 4).is_err());
}

#[test]
fn cosine_and_nearest_neighbours_by_hand() {
    assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-15);
    assert_eq!(cosine(&[1.0, 2.0], &[-2.0, 1.0]), 0.0);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    assert!((cosine(&[3.0, 4.0], &[-6.0, -8.0]) + 1.0).abs() < 1e-15);
    // Rows at 0, 30, 90 and 180 degrees (the 30-degree row is long: length must not
    // matter) against the query at 10 degrees.
    let m = tch::Tensor::from_slice(&[1.0f64, 0.0, 5.0 * 3f64.sqrt() / 2.0, 2.5, 0.0, 1.0, -1.0, 0.0]).reshape([4, 2]);
    let q = [10f64.to_radians().cos(), 10f64.to_radians().sin()];
    let n = nearest(&m, &q, 4, &[]).unwrap();
    let order: Vec<usize> = n.iter().map(|x| x.index).collect();
    assert_eq!(order, vec![0, 1, 2, 3]);
    assert!((n[0].cosine - 10f64.to_radians().cos()).abs() < 1e-12);
    assert!((n[1].cosine - 20f64.to_radians().cos()).abs() < 1e-12);
    assert!((n[2].cosine - 80f64.to_radians().cos()).abs() < 1e-12);
    assert!((n[3].cosine + 10f64.to_radians().cos()).abs() < 1e-12);
    let n = nearest(&m, &q, 2, &[0]).unwrap();
    assert_eq!(n.iter().map(|x| x.index).collect::<Vec<_>>(), vec![1, 2]);
    assert!(nearest(&m, &[1.0, 0.0, 0.0], 1, &[]).is_err());
}
