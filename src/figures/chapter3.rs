//! Essay section 3, "What is a model?": idealised data for how long a cannonball takes
//! to fall from each floor of a tower, and least-squares fits of it with a straight
//! line, a parabola, and a badly chosen formula (see `docs/essay-figures.md`). The
//! section's MNIST digit figures come from `digits.rs`, listed after the fits.

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::error::Result;
use crate::experiments::curves::{self, Basis, Fit};
use crate::plot::{LinePlot, Series, SeriesStyle};

const SECTION: &str = super::sections::MODELS;
const WIDE: (u32, u32) = (1200, 800);

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let f = |id, caption, build: fn(&Ctx, &Tower) -> Result<Figure>| {
        FigureSpec::new(id, SECTION, Made::Trained, caption, Tower::default, build)
    };
    let mut list = vec![
        f("cannonball-data", "How long a cannonball takes to fall from each floor of a tower: idealised data from t = √(2h/g), floors {floor_height_m} m apart.", cannonball_data),
        f("fit-line", "The best straight line a + b·x through the fall times (least squares): close, but systematically off at both ends.", fit_line),
        f("fit-quadratic", "The best parabola a + b·x + c·x² (least squares): much closer to the data.", fit_quadratic),
        f("fit-bad", "The best curve of the form a + b/x + c·sin x (least squares): a badly chosen model fits poorly whatever its parameters.", fit_bad),
    ];
    // The digit recogniser (digits.rs) follows the curve fits, as in the essay.
    list.extend(super::digits::section3());
    list
}

/// The tower: its number of floors and their spacing in metres.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tower {
    pub floors: usize,
    pub floor_height_m: f64,
}

impl Default for Tower {
    fn default() -> Self {
        Tower {
            floors: 10,
            floor_height_m: 4.0,
        }
    }
}

fn data(ctx: &Ctx, p: &Tower) -> Result<Vec<(f64, f64)>> {
    let floors = p.floors;
    let h = p.floor_height_m;
    if floors < 3 || !(h.is_finite() && h > 0.0) {
        return Err(ctx.bad_input(format!(
            "the tower needs at least 3 floors and a floor height > 0 m, got {floors} floors of {h} m"
        )));
    }
    Ok(curves::cannonball_data(floors, h))
}

fn data_series(data: &[(f64, f64)]) -> Series {
    Series {
        name: "fall time (data)".into(),
        points: data.to_vec(),
        style: SeriesStyle::Points,
    }
}

fn cannonball_data(ctx: &Ctx, p: &Tower) -> Result<Figure> {
    let d = data(ctx, p)?;
    let mut table = Table::new(&["floor", "height_m", "time_s"]);
    for &(f, t) in &d {
        table.push(vec![f.to_string(), (f * p.floor_height_m).to_string(), t.to_string()]);
    }
    let plot = LinePlot {
        title: "Dropping a cannonball from each floor".into(),
        subtitle: format!(
            "t = √(2h/g), g = {} m/s², floors {} m apart",
            curves::G,
            p.floor_height_m
        ),
        x_label: "floor".into(),
        y_label: "time to fall (s)".into(),
        series: vec![data_series(&d)],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn fit_figure(ctx: &Ctx, p: &Tower, title: &str, basis: &[Basis]) -> Result<Figure> {
    let d = data(ctx, p)?;
    let fit: Fit = curves::least_squares(&d, basis)?;
    let lo = d.first().map_or(1.0, |p| p.0);
    let hi = d.last().map_or(1.0, |p| p.0);
    let curve: Vec<(f64, f64)> = (0..=200)
        .map(|i| lo + (hi - lo) * i as f64 / 200.0)
        .map(|x| (x, fit.at(x)))
        .collect();
    let mut table = Table::new(&["floor", "time_s", "fitted_s"]);
    for &(x, t) in &d {
        table.push(vec![x.to_string(), t.to_string(), fit.at(x).to_string()]);
    }
    for (b, c) in fit.basis.iter().zip(&fit.coef) {
        table.push(vec![format!("coef {}", b.name()), String::new(), c.to_string()]);
    }
    let plot = LinePlot {
        title: title.into(),
        subtitle: format!(
            "least squares: t ≈ {}   (rms error {:.4} s)",
            fit.formula(),
            fit.rms(&d)
        ),
        x_label: "floor (x)".into(),
        y_label: "time to fall (s)".into(),
        series: vec![
            data_series(&d),
            Series {
                name: "fitted curve".into(),
                points: curve,
                style: SeriesStyle::Line,
            },
        ],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn fit_line(ctx: &Ctx, p: &Tower) -> Result<Figure> {
    fit_figure(ctx, p, "A straight line: a + b·x", &[Basis::One, Basis::X])
}

fn fit_quadratic(ctx: &Ctx, p: &Tower) -> Result<Figure> {
    fit_figure(ctx, p, "A parabola: a + b·x + c·x²", &[Basis::One, Basis::X, Basis::X2])
}

fn fit_bad(ctx: &Ctx, p: &Tower) -> Result<Figure> {
    fit_figure(
        ctx,
        p,
        "A poor choice of model: a + b/x + c·sin x",
        &[Basis::One, Basis::InvX, Basis::SinX],
    )
}
