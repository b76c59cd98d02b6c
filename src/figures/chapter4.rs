//! Essay section 4, "Neural nets, training, practice" (see ../shared/ESSAY_FIGURES.md):
//! the nearest-point task and what one ReLU neuron and nets of several sizes make of
//! it; learning a function of one variable (random nets, more and more examples, the
//! loss curve, a two-weight loss surface with its steepest-descent path, equally good
//! nets that disagree outside the training range, nets too small and a "squeeze"
//! layer); rule 30; and a card for the image-net features that cannot be reproduced.
//! Trained nets come from [`crate::train::TrainCache`]: a re-run loads them.
//! The digit-net figure of this section (`digit-separation`) comes from `digits.rs`,
//! placed after the nearest-point nets.

use serde_json::{json, Value};

use super::{Ctx, Figure, FigureSpec, Kind, Plot, Table};
use crate::error::{Error, Result};
use crate::experiments::{automaton, function, nearest};
use crate::plot::{FieldPlot, FieldPoint, GridImage, ImageGrid, LinePlot, Panels, Series, SeriesStyle, Span, TextPanel, ValueRange, Colormap};
use crate::train::{Optimizer, TrainCache, TrainConfig};

const SECTION: &str = "4. Neural nets, training, practice";
const SOURCE: &str = concat!(
    include_str!("chapter4.rs"),
    include_str!("../experiments/nearest.rs"),
    include_str!("../experiments/function.rs"),
    include_str!("../experiments/automaton.rs"),
    include_str!("../train.rs")
);
const WIDE: (u32, u32) = (1200, 800);

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let f = |id, kind, caption, params: fn() -> Value, build: fn(&Ctx) -> Result<Figure>| FigureSpec { id, section: SECTION, kind, caption, params, source: SOURCE, build };
    let mut list = vec![
        f("nearest-point-target", Kind::Trained, "The task: for any position in the plane, which of three points is nearest? The plane splits into three regions (a Voronoi diagram).", || json!({"grid": 200}), nearest_point_target),
        f("relu", Kind::Schematic, "The ramp (ReLU) function max(0, x): what each neuron applies to its weighted sum.", || json!({}), relu),
        f("single-neuron-functions", Kind::Trained, "What one neuron with two inputs computes, ReLU(w₁x + w₂y + b), for several weights and biases: a tilted ramp.", single_neuron_params, single_neuron_functions),
        f("nearest-point-nets", Kind::Trained, "What nets of several sizes learn for the nearest-point task, trained on random positions labelled with their nearest point (seeded; the share of the plane each gets right in the panel titles).", nearest_nets_params, nearest_point_nets),
        f("function-target", Kind::Trained, "A function of one variable for a net to learn.", || json!({}), function_target),
        f("function-random-nets", Kind::Trained, "What the same net computes with random weights (five seeds): nothing like the target before training.", || json!({"sizes": [1, 32, 32, 1], "seeds": [1, 2, 3, 4, 5]}), function_random_nets),
        f("function-training-progress", Kind::Trained, "The net after training on more and more examples (each step shows it a fresh batch of random x): the fit improves.", progress_params, function_training_progress),
        f("loss-curve", Kind::Trained, "The loss (mean squared error on each training batch) as training goes on: it falls fast, then flattens out.", progress_params, loss_curve),
        f("loss-surface", Kind::Trained, "The loss of the model w₂·tanh(w₁x), fitted to data from 1.5·tanh(2x), as a function of its two weights (log scale; dark = low): two equally good minima.", surface_params, loss_surface),
        f("descent-path", Kind::Trained, "Steepest descent: starting from poor weights, each step moves downhill on the loss surface until it settles in a minimum.", surface_params, descent_path),
        f("equivalent-solutions", Kind::Trained, "Nets trained from different random starts (seeds): all fit the training range about equally well.", equivalent_params, equivalent_solutions),
        f("extrapolation", Kind::Trained, "The same nets outside the range they were trained on (dashed lines mark it): each guesses differently.", equivalent_params, extrapolation),
        f("net-size-fits", Kind::Trained, "Nets of several sizes trained with the same budget: too small ones cannot follow the curve; one with a narrow \"squeeze\" layer in the middle.", net_size_params, net_size_fits),
        f("cellular-automaton", Kind::Schematic, "Rule 30 grown from a single black cell: a simple rule whose outcome can only be found by running it, step by step (computational irreducibility).", || json!({"rule": 30, "width": 161, "steps": 80}), cellular_automaton),
        f("cat-dog-features", Kind::NotReproducible, "Image-net features of a cat picture: not reproducible here (no pretrained image net is available offline).", || json!({}), cat_dog_features),
    ];
    // How the digit net separates digits (digits.rs) follows the nearest-point nets.
    super::insert_after(&mut list, "nearest-point-nets", super::digits::section4());
    list
}

// ---------------------------------------------------------------- parameters

fn single_neuron_params() -> Value {
    json!({"grid": 120, "weights": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, -1.0, 0.5], [-2.0, 1.0, 0.3], [0.5, 0.5, -0.5]]})
}

fn nearest_nets_params() -> Value {
    json!({"sizes": [[2, 1, 3], [2, 2, 3], [2, 4, 3], [2, 16, 16, 3]], "examples": 2000, "epochs": 60, "batch_size": 100, "lr": 0.01, "seed": 1, "grid": 120})
}

fn progress_params() -> Value {
    json!({"sizes": [1, 32, 32, 1], "steps": [10, 50, 200, 2000], "batch_size": 32, "lr": 0.005, "seed": 1})
}

fn surface_params() -> Value {
    json!({"points": 41, "grid": 120, "w1_range": [-4.0, 4.0], "w2_range": [-3.0, 3.0], "start": [-0.5, -2.8], "lr": 0.3, "steps": 300})
}

fn equivalent_params() -> Value {
    json!({"sizes": [1, 32, 32, 1], "steps": 3000, "batch_size": 32, "lr": 0.005, "seeds": [1, 2, 3, 4], "wide_range": [-4.0, 4.0]})
}

fn net_size_params() -> Value {
    json!({"sizes": [[1, 2, 1], [1, 4, 1], [1, 8, 8, 1], [1, 32, 32, 1], [1, 32, 4, 32, 1]], "steps": 3000, "batch_size": 32, "lr": 0.005, "seed": 1})
}

// ---------------------------------------------------------------- helpers

fn array<'a>(ctx: &'a Ctx, key: &str) -> Result<&'a Vec<Value>> {
    ctx.params[key].as_array().ok_or_else(|| Error::Figure(format!("parameter `{key}` must be a list, got {}", ctx.params[key])))
}

fn ints(v: &Value, what: &str) -> Result<Vec<i64>> {
    v.as_array().and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>()).ok_or_else(|| Error::Figure(format!("{what} must be a list of whole numbers, got {v}")))
}

fn floats(v: &Value, what: &str) -> Result<Vec<f64>> {
    v.as_array().and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>()).ok_or_else(|| Error::Figure(format!("{what} must be a list of numbers, got {v}")))
}

fn pair(ctx: &Ctx, key: &str) -> Result<(f64, f64)> {
    match floats(&ctx.params[key], key)?.as_slice() {
        [a, b] => Ok((*a, *b)),
        _ => Err(Error::Figure(format!("parameter `{key}` must be two numbers, got {}", ctx.params[key]))),
    }
}

/// A positive count from the parameters (0 or a negative number is an error).
fn count(ctx: &Ctx, key: &str) -> Result<usize> {
    crate::train::check_size(key, ctx.params[key].as_i64().unwrap_or(0))
}

/// Adam with the figure's learning rate, batch size and seed; `epochs` as given. No
/// progress bar: the figure builder shows its own.
fn adam(ctx: &Ctx, seed: u64, epochs: usize) -> TrainConfig {
    TrainConfig { seed, optimizer: Optimizer::Adam, lr: ctx.f64("lr"), epochs, batch_size: ctx.params["batch_size"].as_u64().unwrap_or(0) as usize, progress: false }
}

fn sizes_label(sizes: &[i64]) -> String {
    sizes.iter().map(i64::to_string).collect::<Vec<_>>().join("-")
}

fn grid_plot(title: &str, subtitle: String, panel_titles: Vec<String>, plots: Vec<Plot>, columns: usize) -> Plot {
    Plot::Grid { panels: Panels { title: title.into(), subtitle, panel_titles, columns }, plots }
}

// ---------------------------------------------------------------- nearest point

fn region_names() -> Vec<String> {
    ["nearest to A", "nearest to B", "nearest to C"].map(String::from).to_vec()
}

fn point_marks() -> Vec<FieldPoint> {
    nearest::POINTS.iter().zip(["A", "B", "C"]).map(|(&(x, y), l)| FieldPoint { x, y, label: l.into() }).collect()
}

fn region_field(title: &str, subtitle: &str, n: usize, values: Vec<f64>, legend: bool) -> FieldPlot {
    FieldPlot {
        title: title.into(),
        subtitle: subtitle.into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range: nearest::RANGE,
        y_range: nearest::RANGE,
        rows: n,
        cols: n,
        values,
        regions: if legend { region_names() } else { vec![String::new(); 3] },
        points: point_marks(),
        ..Default::default()
    }
}

fn nearest_point_target(ctx: &Ctx) -> Result<Figure> {
    let n = count(ctx, "grid")?;
    let mut table = Table::new(&["point", "x", "y"]);
    for (l, (x, y)) in ["A", "B", "C"].iter().zip(nearest::POINTS) {
        table.push(vec![l.to_string(), x.to_string(), y.to_string()]);
    }
    let plot = region_field("Which point is nearest?", "every position coloured by its nearest point", n, nearest::target_grid(n), true);
    Ok(Figure { plot: Plot::Field(plot), table, size: WIDE })
}

fn relu(_ctx: &Ctx) -> Result<Figure> {
    let pts: Vec<(f64, f64)> = function::linspace(-2.0, 2.0, 401).into_iter().map(|x| (x, x.max(0.0))).collect();
    let mut table = Table::new(&["x", "relu"]);
    for &(x, y) in pts.iter().step_by(20) {
        table.push(vec![x.to_string(), y.to_string()]);
    }
    let plot = LinePlot { title: "The ramp function (ReLU)".into(), subtitle: "max(0, x): zero for negative inputs, the input itself otherwise".into(), x_label: "x".into(), y_label: "ReLU(x)".into(), series: vec![Series { name: String::new(), points: pts, style: SeriesStyle::Line }], ..Default::default() };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

/// "ReLU(x − y + 0.5)" for weights (1, −1) and bias 0.5.
fn neuron_formula(w1: f64, w2: f64, b: f64) -> String {
    let mut s = String::new();
    for (c, v) in [(w1, "x"), (w2, "y"), (b, "")] {
        if c == 0.0 {
            continue;
        }
        let mag = if c.abs() == 1.0 && !v.is_empty() { String::new() } else { format!("{}", c.abs()) };
        let sign = if c < 0.0 { if s.is_empty() { "−" } else { " − " } } else if s.is_empty() { "" } else { " + " };
        s += &format!("{sign}{mag}{v}");
    }
    format!("ReLU({})", if s.is_empty() { "0".into() } else { s })
}

fn single_neuron_functions(ctx: &Ctx) -> Result<Figure> {
    let n = count(ctx, "grid")?;
    let mut table = Table::new(&["w1", "w2", "b", "max_output"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for w in array(ctx, "weights")? {
        let [w1, w2, b] = floats(w, "each weight setting [w1, w2, b]")?[..] else {
            return Err(Error::Figure(format!("each weight setting must be [w1, w2, b], got {w}")));
        };
        let values = nearest::single_neuron(w1, w2, b, n);
        table.push(vec![w1.to_string(), w2.to_string(), b.to_string(), values.iter().copied().fold(0.0, f64::max).to_string()]);
        titles.push(neuron_formula(w1, w2, b));
        plots.push(Plot::Field(FieldPlot { x_range: nearest::RANGE, y_range: nearest::RANGE, rows: n, cols: n, values, range: Some((0.0, 2.0)), ..Default::default() }));
    }
    let plot = grid_plot("What one neuron computes", "output over x, y in [−1, 1]; dark = 0, bright = 2 or more".into(), titles, plots, 3);
    Ok(Figure { plot, table, size: WIDE })
}

fn nearest_point_nets(ctx: &Ctx) -> Result<Figure> {
    let n = count(ctx, "grid")?;
    let examples = ctx.params["examples"].as_i64().unwrap_or(0);
    let cfg = adam(ctx, ctx.u64("seed"), count(ctx, "epochs")?);
    let cache = TrainCache::default();
    let mut table = Table::new(&["sizes", "weights", "final_loss", "agreement"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for s in array(ctx, "sizes")? {
        let sizes = ints(s, "each net's layer sizes")?;
        let net = nearest::train_net(&cache, &sizes, examples, &cfg, n)?;
        table.push(vec![sizes_label(&sizes), net.n_params.to_string(), net.history.last().unwrap_or(f64::NAN).to_string(), net.agreement.to_string()]);
        titles.push(format!("{} net, {} weights: {:.0}% right", sizes_label(&sizes), net.n_params, 100.0 * net.agreement));
        plots.push(Plot::Field(region_field("", "", n, net.answers, false)));
    }
    let sub = format!("{examples} training positions, {} epochs of Adam (lr {}), seed {}", cfg.epochs, cfg.lr, cfg.seed);
    let cols = plots.len().min(2);
    Ok(Figure { plot: grid_plot("What nets of several sizes learn", sub, titles, plots, cols), table, size: (1200, 1000) })
}

// ---------------------------------------------------------------- functions of one variable

fn target_series(lo: f64, hi: f64) -> Series {
    Series { name: "target".into(), points: function::linspace(lo, hi, 400).into_iter().map(|x| (x, function::target(x))).collect(), style: SeriesStyle::Line }
}

fn net_series(name: String, xs: &[f64], ys: Vec<f64>) -> Series {
    Series { name, points: xs.iter().copied().zip(ys).collect(), style: SeriesStyle::Line }
}

fn function_target(_ctx: &Ctx) -> Result<Figure> {
    let (lo, hi) = function::TRAIN_RANGE;
    let s = target_series(lo, hi);
    let mut table = Table::new(&["x", "target"]);
    for &(x, y) in s.points.iter().step_by(10) {
        table.push(vec![x.to_string(), y.to_string()]);
    }
    let plot = LinePlot { title: "A function to learn".into(), subtitle: "f(x) = sin(2.5x) + 0.6·tanh(8(x − 0.4))".into(), x_label: "x".into(), y_label: "f(x)".into(), series: vec![Series { name: String::new(), ..s }], ..Default::default() };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

fn function_random_nets(ctx: &Ctx) -> Result<Figure> {
    let sizes = ints(&ctx.params["sizes"], "sizes")?;
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut series = vec![target_series(lo, hi)];
    let mut table = Table::new(&["seed", "x", "output"]);
    for seed in ints(&ctx.params["seeds"], "seeds")? {
        let ys = function::FunctionNet::random(&sizes, seed as u64)?.eval(&xs)?;
        for (x, y) in xs.iter().zip(&ys).step_by(10) {
            table.push(vec![seed.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(net_series(format!("seed {seed}"), &xs, ys));
    }
    let plot = LinePlot { title: "Nets with random weights".into(), subtitle: format!("a {} ReLU net before any training", sizes_label(&sizes)), x_label: "x".into(), y_label: "output".into(), series, ..Default::default() };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

/// The progress runs: one net per step budget, each trained from the same seed.
fn progress_runs(ctx: &Ctx) -> Result<Vec<(usize, function::TrainedFunction)>> {
    let sizes = ints(&ctx.params["sizes"], "sizes")?;
    let cache = TrainCache::default();
    let mut runs = Vec::new();
    for steps in ints(&ctx.params["steps"], "steps")? {
        let steps = crate::train::check_size("steps", steps)?;
        runs.push((steps, function::train_function(&cache, &sizes, &adam(ctx, ctx.u64("seed"), steps))?));
    }
    Ok(runs)
}

fn function_training_progress(ctx: &Ctx) -> Result<Figure> {
    let runs = progress_runs(ctx)?;
    let batch = ctx.u64("batch_size");
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut table = Table::new(&["steps", "examples_seen", "final_batch_loss"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for (steps, run) in &runs {
        let examples = *steps as u64 * batch;
        table.push(vec![steps.to_string(), examples.to_string(), run.history.last().unwrap_or(f64::NAN).to_string()]);
        titles.push(format!("after {examples} examples ({steps} steps)"));
        let series = vec![target_series(lo, hi), net_series("net".into(), &xs, run.net.eval(&xs)?)];
        plots.push(Plot::Lines(LinePlot { series, ..Default::default() }));
    }
    let sub = format!("{} ReLU net, Adam (lr {}), batches of {batch} random x, seed {}; blue: target, orange: net", sizes_label(&ints(&ctx.params["sizes"], "sizes")?), ctx.f64("lr"), ctx.u64("seed"));
    let cols = plots.len().min(2);
    Ok(Figure { plot: grid_plot("Learning from more and more examples", sub, titles, plots, cols), table, size: WIDE })
}

fn loss_curve(ctx: &Ctx) -> Result<Figure> {
    let runs = progress_runs(ctx)?;
    let (steps, run) = runs.iter().max_by_key(|(s, _)| *s).ok_or_else(|| Error::Figure("parameter `steps` is empty".into()))?;
    let loss = &run.history.loss;
    // A moving average over 1% of the run smooths the batch-to-batch noise.
    let w = (loss.len() / 100).max(1);
    let smooth: Vec<(f64, f64)> = (0..loss.len()).map(|i| {
        let a = i.saturating_sub(w / 2);
        let b = (i + w / 2 + 1).min(loss.len());
        ((i + 1) as f64, loss[a..b].iter().sum::<f64>() / (b - a) as f64)
    }).collect();
    let mut table = Table::new(&["step", "batch_loss", "smoothed"]);
    for (i, (l, s)) in loss.iter().zip(&smooth).enumerate() {
        table.push(vec![(i + 1).to_string(), l.to_string(), s.1.to_string()]);
    }
    let raw: Vec<(f64, f64)> = loss.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect();
    let plot = LinePlot {
        title: "The loss during training".into(),
        subtitle: format!("{steps} steps of Adam on batches of {} random x; log scale", ctx.u64("batch_size")),
        x_label: "training step".into(),
        y_label: "loss (mean squared error)".into(),
        series: vec![Series { name: "each batch".into(), points: raw, style: SeriesStyle::Line }, Series { name: format!("average of {w}"), points: smooth, style: SeriesStyle::Line }],
        log_y: true,
        ..Default::default()
    };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

fn surface(ctx: &Ctx) -> Result<(FieldPlot, Vec<(f64, f64)>)> {
    let data = function::two_weight_data(count(ctx, "points")?);
    let n = count(ctx, "grid")?;
    let (a0, a1) = pair(ctx, "w1_range")?;
    let (b0, b1) = pair(ctx, "w2_range")?;
    if !(a1 > a0 && b1 > b0) {
        return Err(Error::Figure("w1_range and w2_range must be [low, high] with low < high".into()));
    }
    let mut values = Vec::with_capacity(n * n);
    for r in 0..n {
        for c in 0..n {
            let w1 = a0 + (a1 - a0) * (c as f64 + 0.5) / n as f64;
            let w2 = b0 + (b1 - b0) * (r as f64 + 0.5) / n as f64;
            values.push(function::two_weight_loss(w1, w2, &data).max(1e-12).log10());
        }
    }
    let minima = vec![FieldPoint { x: 2.0, y: 1.5, label: "(2, 1.5)".into() }, FieldPoint { x: -2.0, y: -1.5, label: "(−2, −1.5)".into() }];
    let plot = FieldPlot { x_label: "w₁".into(), y_label: "w₂".into(), x_range: (a0, a1), y_range: (b0, b1), rows: n, cols: n, values, points: minima, ..Default::default() };
    Ok((plot, data))
}

fn loss_surface(ctx: &Ctx) -> Result<Figure> {
    let (mut plot, _) = surface(ctx)?;
    plot.title = "The loss as a function of two weights".into();
    plot.subtitle = "model w₂·tanh(w₁x) against 1.5·tanh(2x); colour: log₁₀ of the mean squared error (dark = low)".into();
    let mut table = Table::new(&["w1", "w2", "log10_loss"]);
    let n = plot.cols;
    for (i, v) in plot.values.iter().enumerate().step_by(7) {
        let w1 = plot.x_range.0 + (plot.x_range.1 - plot.x_range.0) * ((i % n) as f64 + 0.5) / n as f64;
        let w2 = plot.y_range.0 + (plot.y_range.1 - plot.y_range.0) * ((i / n) as f64 + 0.5) / n as f64;
        table.push(vec![w1.to_string(), w2.to_string(), v.to_string()]);
    }
    Ok(Figure { plot: Plot::Field(plot), table, size: WIDE })
}

fn descent_path(ctx: &Ctx) -> Result<Figure> {
    let (mut plot, data) = surface(ctx)?;
    let path = function::descent_path(pair(ctx, "start")?, ctx.f64("lr"), ctx.u64("steps") as usize, &data)?;
    let mut table = Table::new(&["step", "w1", "w2", "loss"]);
    for (i, (a, b, l)) in path.iter().enumerate() {
        table.push(vec![i.to_string(), a.to_string(), b.to_string(), l.to_string()]);
    }
    let (first, last) = (path[0], path[path.len() - 1]);
    plot.title = "Steepest descent on the loss surface".into();
    plot.subtitle = format!("{} steps of gradient descent (lr {}) from ({:.1}, {:.1}): loss {:.3} → {:.5}", path.len() - 1, ctx.f64("lr"), first.0, first.1, first.2, last.2);
    plot.paths = vec![path.iter().map(|&(a, b, _)| (a, b)).collect()];
    plot.points.push(FieldPoint { x: first.0, y: first.1, label: "start".into() });
    Ok(Figure { plot: Plot::Field(plot), table, size: WIDE })
}

/// The nets of the equivalent-solutions figures, one per seed.
fn equivalent_runs(ctx: &Ctx) -> Result<Vec<(i64, function::TrainedFunction)>> {
    let sizes = ints(&ctx.params["sizes"], "sizes")?;
    let steps = count(ctx, "steps")?;
    let cache = TrainCache::default();
    ints(&ctx.params["seeds"], "seeds")?.into_iter().map(|s| Ok((s, function::train_function(&cache, &sizes, &adam(ctx, s as u64, steps))?))).collect()
}

fn equivalent_figure(ctx: &Ctx, wide: bool) -> Result<Figure> {
    let runs = equivalent_runs(ctx)?;
    let (lo, hi) = if wide { pair(ctx, "wide_range")? } else { function::TRAIN_RANGE };
    let xs = function::linspace(lo, hi, 400);
    let inside = function::linspace(function::TRAIN_RANGE.0, function::TRAIN_RANGE.1, 200);
    let mut series = vec![target_series(lo, hi)];
    let mut table = Table::new(&["seed", "rms_error_in_training_range", "x", "output"]);
    for (seed, run) in &runs {
        let ys = run.net.eval(&xs)?;
        let fit = run.net.eval(&inside)?;
        let rms = (inside.iter().zip(&fit).map(|(x, y)| (y - function::target(*x)).powi(2)).sum::<f64>() / inside.len() as f64).sqrt();
        for (x, y) in xs.iter().zip(&ys).step_by(20) {
            table.push(vec![seed.to_string(), rms.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(net_series(format!("seed {seed} (rms {rms:.3})"), &xs, ys));
    }
    let (title, what) = if wide {
        let all: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).collect();
        let (ymin, ymax) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let edge = [function::TRAIN_RANGE.0, function::TRAIN_RANGE.1].into_iter().flat_map(|x| function::linspace(ymin, ymax, 30).into_iter().map(move |y| (x, y))).collect();
        series.push(Series { name: "edge of the training range".into(), points: edge, style: SeriesStyle::Points });
        ("Outside the training range the nets disagree", format!("trained on x in [{}, {}] (dotted lines), shown on [{lo}, {hi}]", function::TRAIN_RANGE.0, function::TRAIN_RANGE.1))
    } else {
        ("Equally good nets from different random starts", format!("shown on the training range [{lo}, {hi}]"))
    };
    let sizes = ints(&ctx.params["sizes"], "sizes")?;
    let plot = LinePlot { title: title.into(), subtitle: format!("{} ReLU nets, {} steps of Adam each; {what}", sizes_label(&sizes), ctx.u64("steps")), x_label: "x".into(), y_label: "output".into(), series, ..Default::default() };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

fn equivalent_solutions(ctx: &Ctx) -> Result<Figure> {
    equivalent_figure(ctx, false)
}

fn extrapolation(ctx: &Ctx) -> Result<Figure> {
    equivalent_figure(ctx, true)
}

fn net_size_fits(ctx: &Ctx) -> Result<Figure> {
    let steps = count(ctx, "steps")?;
    let cfg = adam(ctx, ctx.u64("seed"), steps);
    let cache = TrainCache::default();
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut table = Table::new(&["sizes", "weights", "rms_error"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for s in array(ctx, "sizes")? {
        let sizes = ints(s, "each net's layer sizes")?;
        let run = function::train_function(&cache, &sizes, &cfg)?;
        let ys = run.net.eval(&xs)?;
        let rms = (xs.iter().zip(&ys).map(|(x, y)| (y - function::target(*x)).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        let squeeze = sizes.len() > 3 && sizes[1..sizes.len() - 1].iter().any(|&w| w < sizes[1]);
        table.push(vec![sizes_label(&sizes), run.net.mlp.n_params().to_string(), rms.to_string()]);
        titles.push(format!("{}{} ({} weights): rms {rms:.3}", sizes_label(&sizes), if squeeze { " squeeze" } else { "" }, run.net.mlp.n_params()));
        plots.push(Plot::Lines(LinePlot { series: vec![target_series(lo, hi), net_series("net".into(), &xs, ys)], ..Default::default() }));
    }
    let sub = format!("every net: {steps} steps of Adam (lr {}), batches of {}, seed {}; blue: target, orange: net", cfg.lr, cfg.batch_size, cfg.seed);
    let cols = plots.len().min(3);
    Ok(Figure { plot: grid_plot("Nets of different sizes, the same training", sub, titles, plots, cols), table, size: WIDE })
}

// ---------------------------------------------------------------- rule 30, cat/dog card

fn cellular_automaton(ctx: &Ctx) -> Result<Figure> {
    let rule = u8::try_from(ctx.u64("rule")).map_err(|_| Error::Figure(format!("rule must be 0..=255, got {}", ctx.params["rule"])))?;
    let (width, steps) = (count(ctx, "width")?, count(ctx, "steps")?);
    let rows = automaton::elementary(rule, width, steps);
    let mut table = Table::new(&["step", "cells"]);
    for (i, r) in rows.iter().enumerate() {
        table.push(vec![i.to_string(), r.iter().map(|&c| if c == 1 { '#' } else { '.' }).collect()]);
    }
    let image = GridImage { caption: String::new(), rows: steps, cols: width, values: rows.iter().flatten().map(|&c| c as f64).collect() };
    let plot = ImageGrid { title: format!("Rule {rule}"), subtitle: format!("{steps} steps from one black cell, {width} cells wide; time runs down"), images: vec![image], columns: 1, colormap: Colormap::Greys, range: ValueRange::Fixed(0.0, 1.0), stretch: false };
    Ok(Figure { plot: Plot::ImageGrid(plot), table, size: WIDE })
}

fn cat_dog_features(_ctx: &Ctx) -> Result<Figure> {
    let mut table = Table::new(&["note"]);
    table.push(vec!["The essay shows what the first layers of a trained image-recognition net make of a cat picture; no pretrained image net is available offline, so it is not reproduced.".into()]);
    let plot = TextPanel {
        title: "Not reproducible here: an image net's view of a cat".into(),
        subtitle: "essay section 4 · no model".into(),
        paragraphs: vec![
            vec![Span::plain("Here the essay feeds a picture of a cat to a large pretrained image-recognition net and shows the arrays of numbers its early layers produce: some look like the cat's outline, others like its background, and later layers look less and less like anything we would name.")],
            vec![Span::plain("That needs a net trained on millions of labelled photos. None is available to this project offline, and a net we trained on a few images would not show the same thing, so we do not imitate the picture.")],
            vec![Span::plain("The same idea, on a scale that runs here: the digit net of sections 3 and 5 turns images into features too.")],
            vec![Span::prompt("Read the original: Stephen Wolfram, “What Is ChatGPT Doing … and Why Does It Work?” (2023), section “Neural Nets”.")],
        ],
        list: vec![],
    };
    Ok(Figure { plot: Plot::Text(plot), table, size: WIDE })
}
