//! Essay section 3 figures: the cannonball least-squares fits against numpy's
//! `lstsq` (tests/fixtures/fits/cannonball.json, written by scripts/fits/make_fixtures.py),
//! and every figure of the chapter builds.

use gpt2_explorer::experiments::curves::{self, Basis};
use gpt2_explorer::figures;
use serde_json::{json, Value};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fits/cannonball.json");
    serde_json::from_str(
        &std::fs::read_to_string(path).expect("tests/fixtures/fits/cannonball.json: run scripts/fits/make_fixtures.py"),
    )
    .unwrap()
}

#[test]
fn cannonball_data_matches_numpy() {
    let f = fixture();
    let d = curves::cannonball_data(
        f["floors"].as_u64().unwrap() as usize,
        f["floor_height_m"].as_f64().unwrap(),
    );
    let t: Vec<f64> = f["t"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(d.len(), t.len());
    for ((x, y), want) in d.iter().zip(&t) {
        assert!((y - want).abs() < 1e-12, "floor {x}: {y} vs numpy {want}");
    }
    // Hand check: from floor 5 (20 m), t = sqrt(40 / 9.81) = 2.0193 s.
    assert!((d[4].1 - 2.019_275).abs() < 1e-5);
}

#[test]
fn least_squares_fits_match_numpy_lstsq() {
    let f = fixture();
    let d = curves::cannonball_data(10, 4.0);
    for (name, basis) in [
        ("line", vec![Basis::One, Basis::X]),
        ("quadratic", vec![Basis::One, Basis::X, Basis::X2]),
        ("bad", vec![Basis::One, Basis::InvX, Basis::SinX]),
    ] {
        let fit = curves::least_squares(&d, &basis).unwrap();
        let want: Vec<f64> = f["fits"][name]["coef"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let maxdiff = fit
            .coef
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            maxdiff < 1e-9,
            "{name}: coefficients {:?} vs numpy {want:?} (maxdiff {maxdiff:e})",
            fit.coef
        );
        let rms = f["fits"][name]["rms"].as_f64().unwrap();
        assert!(
            (fit.rms(&d) - rms).abs() < 1e-9,
            "{name}: rms {} vs numpy {rms}",
            fit.rms(&d)
        );
    }
    // The essay's point: the parabola beats the line, and the badly chosen formula is worst.
    let rms = |n: &str| f["fits"][n]["rms"].as_f64().unwrap();
    assert!(rms("quadratic") < rms("line") && rms("line") < rms("bad"));
}

#[test]
fn least_squares_rejects_too_few_points_and_dependent_bases() {
    let d = curves::cannonball_data(2, 4.0);
    assert!(curves::least_squares(&d, &[Basis::One, Basis::X, Basis::X2])
        .unwrap_err()
        .to_string()
        .contains("at least 3 points"));
    let d = curves::cannonball_data(5, 4.0);
    assert!(curves::least_squares(&d, &[Basis::X, Basis::X])
        .unwrap_err()
        .to_string()
        .contains("linearly dependent"));
}

#[test]
fn every_chapter3_figure_builds_and_bad_towers_are_errors() {
    for id in ["cannonball-data", "fit-line", "fit-quadratic", "fit-bad"] {
        let fig = figures::make(id, json!({}), None).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(fig.png().unwrap().len() > 1000, "{id}: empty PNG");
        assert!(!fig.table.rows.is_empty(), "{id}: empty table");
    }
    let fig = figures::make("fit-quadratic", json!({"floors": 6}), None).unwrap();
    assert_eq!(fig.table.rows.iter().filter(|r| !r[0].starts_with("coef")).count(), 6);
    let e = figures::make("fit-line", json!({"floors": 1}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("at least 3 floors"), "{e}");
    let e = figures::make("fit-line", json!({"floor_height_m": -4.0}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("floor height > 0"), "{e}");
}

#[test]
fn a_basis_that_is_infinite_on_the_data_is_an_error() {
    let e = curves::least_squares(&[(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)], &[Basis::One, Basis::InvX])
        .unwrap_err()
        .to_string();
    assert!(e.contains("not finite"), "{e}");
}

#[test]
fn formulas_read_like_formulas() {
    let f = curves::Fit {
        basis: vec![Basis::One, Basis::InvX, Basis::SinX],
        coef: vec![2.6436, -2.1534, 0.1142],
    };
    assert_eq!(f.formula(), "2.644 − 2.153/x + 0.114 sin x");
    let f = curves::Fit {
        basis: vec![Basis::One, Basis::X, Basis::X2],
        coef: vec![-0.5, 0.25, -0.0125],
    };
    assert_eq!(f.formula(), "−0.500 + 0.250 x − 0.013 x²");
    assert!((f.at(2.0) - (-0.5 + 0.5 - 0.05)).abs() < 1e-12);
}
