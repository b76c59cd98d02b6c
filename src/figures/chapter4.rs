//! Essay section 4, "Neural nets, training, practice" (see `docs/essay-figures.md`):
//! the nearest-point task and what one ReLU neuron and nets of several sizes make of
//! it; learning a function of one variable (random nets, more and more examples, the
//! loss curve, a two-weight loss surface with its steepest-descent path, equally good
//! nets that disagree outside the training range, nets too small and a "squeeze"
//! layer); rule 30; and a card for the image-net features that cannot be reproduced.
//! Trained nets come from [`crate::train::TrainCache`]: a re-run loads them.
//! The digit-net figure of this section (`digit-separation`) comes from `digits.rs`,
//! placed after the nearest-point nets.

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, NoParams, Plot, Table};
use crate::error::Result;
use crate::experiments::{automaton, function, nearest};
use crate::plot::{
    Colormap, FieldPlot, FieldPoint, GridImage, ImageGrid, LinePlot, Panels, Series, SeriesStyle, Span, TextPanel,
    ValueRange,
};
use crate::train::{check_size, Optimizer, Schedule, TrainCache, TrainConfig};

const SECTION: &str = super::sections::NEURAL_NETS;
const WIDE: (u32, u32) = (1200, 800);

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let mut list = vec![
        FigureSpec::new("nearest-point-target", SECTION, Made::Trained, "The task: for any position in the plane, which of three points is nearest? The plane splits into three regions (a Voronoi diagram).", || GridParams { grid: 200 }, nearest_point_target),
        FigureSpec::new("relu", SECTION, Made::Schematic, "The ramp (ReLU) function max(0, x): what each neuron applies to its weighted sum.", NoParams::default, relu),
        FigureSpec::new("single-neuron-functions", SECTION, Made::Trained, "What one neuron with two inputs computes, ReLU(w₁x + w₂y + b), for several weights and biases: a tilted ramp.", NeuronParams::default, single_neuron_functions),
        FigureSpec::new("nearest-point-nets", SECTION, Made::Trained, "What nets of several sizes learn for the nearest-point task, trained on random positions labelled with their nearest point (each the best of {restarts} random starts from seed {seed}; the share of the plane each gets right in the panel titles): one hidden neuron cannot split the plane into three regions; nets with more neurons get nearly all of it right.", NearestNetsParams::default, nearest_point_nets),
        FigureSpec::new("function-target", SECTION, Made::Trained, "A function of one variable for a net to learn.", NoParams::default, function_target),
        FigureSpec::new("function-random-nets", SECTION, Made::Trained, "What the same net computes with random weights (seeds {seeds}): nothing like the target before training.", || RandomNetsParams { sizes: vec![1, 32, 32, 1], seeds: vec![1, 2, 3, 4, 5] }, function_random_nets),
        FigureSpec::new("function-training-progress", SECTION, Made::Trained, "The net after training on more and more examples (each step shows it a fresh batch of random x): the fit improves.", ProgressParams::default, function_training_progress),
        FigureSpec::new("loss-curve", SECTION, Made::Trained, "The loss (mean squared error on each training batch) as training goes on, with the learning rate decaying (cosine) and the gradient clipped: it falls fast, then flattens out. Early on, while the rate is still high, Adam overshoots now and then (brief spikes); with a constant rate such spikes of 30-100x kept coming late in training.", ProgressParams::default, loss_curve),
        FigureSpec::new("loss-surface", SECTION, Made::Trained, "The loss of the model w₂·tanh(w₁x), fitted to data from 1.5·tanh(2x), as a function of its two weights (log scale; dark = low): two equally good minima.", SurfaceParams::default, loss_surface),
        FigureSpec::new("descent-path", SECTION, Made::Trained, "Steepest descent: starting from poor weights, each step moves downhill on the loss surface until it settles in a minimum.", SurfaceParams::default, descent_path),
        FigureSpec::new("equivalent-solutions", SECTION, Made::Trained, "Nets trained from different random starts (seeds {seeds}): all fit the training range about equally well.", EquivalentParams::default, equivalent_solutions),
        FigureSpec::new("extrapolation", SECTION, Made::Trained, "The same nets outside the range they were trained on (dotted vertical lines mark its edges): each guesses differently.", EquivalentParams::default, extrapolation),
        FigureSpec::new("net-size-fits", SECTION, Made::Trained, "Nets of several sizes trained with the same budget: too small ones cannot follow the curve; one with a narrow \"squeeze\" layer in the middle.", NetSizeParams::default, net_size_fits),
        FigureSpec::new("cellular-automaton", SECTION, Made::Schematic, "Rule {rule} grown from a single black cell: a simple rule whose outcome can only be found by running it, step by step (computational irreducibility).", || AutomatonParams { rule: 30, width: 161, steps: 80 }, cellular_automaton),
        FigureSpec::new("cat-dog-features", SECTION, Made::NotReproducible, "Image-net features of a cat picture: not reproducible here (no pretrained image net is available offline).", NoParams::default, cat_dog_features),
    ];
    // How the digit net separates digits (digits.rs) follows the nearest-point nets, the
    // digit net's diagram follows that; the net diagrams (diagrams.rs) open the section
    // and the many-point regions follow the three-point task.
    super::insert_after(&mut list, "nearest-point-nets", super::digits::section4());
    super::insert_after(&mut list, "digit-separation", super::diagrams::section4_lenet());
    super::insert_after(
        &mut list,
        "nearest-point-target",
        super::diagrams::section4_many_points(),
    );
    list.splice(0..0, super::diagrams::section4_nets());
    list
}

// ---------------------------------------------------------------- parameters
// Counts are `i64` so that 0 or a negative number gets the training module's message
// ("… must be a whole number >= 1") rather than a bare type error.

/// The side of the square grid the plane is sampled on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridParams {
    pub grid: i64,
}

/// One neuron's weights and bias, `[w1, w2, b]` per panel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronParams {
    pub grid: i64,
    pub weights: Vec<[f64; 3]>,
}

impl Default for NeuronParams {
    fn default() -> Self {
        NeuronParams {
            grid: 120,
            weights: vec![
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0, 1.0, 0.0],
                [1.0, -1.0, 0.5],
                [-2.0, 1.0, 0.3],
                [0.5, 0.5, -0.5],
            ],
        }
    }
}

/// Nets (layer sizes each) trained on the nearest-point task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearestNetsParams {
    pub sizes: Vec<Vec<i64>>,
    pub examples: i64,
    pub epochs: i64,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub grid: i64,
    /// Random starts per net (seeds `seed`, `seed + 1`, …); the one with the lowest
    /// training loss is shown.
    pub restarts: i64,
}

impl Default for NearestNetsParams {
    fn default() -> Self {
        NearestNetsParams {
            sizes: vec![vec![2, 1, 3], vec![2, 2, 3], vec![2, 4, 3], vec![2, 16, 16, 3]],
            examples: 2000,
            epochs: 60,
            batch_size: 100,
            lr: 0.01,
            seed: 1,
            grid: 120,
            restarts: 4,
        }
    }
}

/// One net's layer sizes, with random weights from each seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomNetsParams {
    pub sizes: Vec<i64>,
    pub seeds: Vec<i64>,
}

/// One net trained for each budget of `steps`. The learning rate decays (cosine) from
/// `lr` to `lr * cosine_to` over each run and the gradient's norm is clipped at
/// `clip_norm` (`null`: constant rate, no clipping; with a constant rate Adam's loss
/// spikes 30-100x late in the run, when the loss is small).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressParams {
    pub sizes: Vec<i64>,
    pub steps: Vec<i64>,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub cosine_to: Option<f64>,
    pub clip_norm: Option<f64>,
}

impl ProgressParams {
    fn schedule(&self) -> Schedule {
        Schedule {
            cosine_to: self.cosine_to,
            clip_norm: self.clip_norm,
        }
    }

    /// "learning rate 0.005 decaying to 5e-5 (cosine), gradient norm clipped at 1".
    fn schedule_text(&self) -> String {
        let lr = match self.cosine_to {
            Some(f) => format!("learning rate {} decaying to {:.1e} (cosine)", self.lr, self.lr * f),
            None => format!("constant learning rate {}", self.lr),
        };
        match self.clip_norm {
            Some(c) => format!("{lr}, gradient norm clipped at {c}"),
            None => lr,
        }
    }
}

impl Default for ProgressParams {
    fn default() -> Self {
        ProgressParams {
            sizes: vec![1, 32, 32, 1],
            steps: vec![10, 50, 200, 2000],
            batch_size: 32,
            lr: 0.005,
            seed: 1,
            cosine_to: Some(0.01),
            clip_norm: Some(1.0),
        }
    }
}

/// The two-weight loss surface and a descent path on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceParams {
    pub points: i64,
    pub grid: i64,
    pub w1_range: (f64, f64),
    pub w2_range: (f64, f64),
    pub start: (f64, f64),
    pub lr: f64,
    pub steps: usize,
}

impl Default for SurfaceParams {
    fn default() -> Self {
        SurfaceParams {
            points: 41,
            grid: 120,
            w1_range: (-4.0, 4.0),
            w2_range: (-3.0, 3.0),
            start: (-0.5, -2.8),
            lr: 0.3,
            steps: 300,
        }
    }
}

/// The same net trained from several seeds, also shown on `wide_range`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalentParams {
    pub sizes: Vec<i64>,
    pub steps: i64,
    pub batch_size: usize,
    pub lr: f64,
    pub seeds: Vec<i64>,
    pub wide_range: (f64, f64),
}

impl Default for EquivalentParams {
    fn default() -> Self {
        EquivalentParams {
            sizes: vec![1, 32, 32, 1],
            steps: 3000,
            batch_size: 32,
            lr: 0.005,
            seeds: vec![1, 2, 3, 4],
            wide_range: (-4.0, 4.0),
        }
    }
}

/// Nets of several sizes, one training budget.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSizeParams {
    pub sizes: Vec<Vec<i64>>,
    pub steps: i64,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for NetSizeParams {
    fn default() -> Self {
        NetSizeParams {
            sizes: vec![
                vec![1, 2, 1],
                vec![1, 4, 1],
                vec![1, 8, 8, 1],
                vec![1, 32, 32, 1],
                vec![1, 32, 4, 32, 1],
            ],
            steps: 3000,
            batch_size: 32,
            lr: 0.005,
            seed: 1,
        }
    }
}

/// An elementary cellular automaton: its rule number (0..=255) and the picture's size.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomatonParams {
    pub rule: u64,
    pub width: i64,
    pub steps: i64,
}

// ---------------------------------------------------------------- helpers

/// Adam with the figure's learning rate, batch size and seed, for `steps` steps. No
/// progress bar: the figure builder shows its own.
fn adam(lr: f64, batch_size: usize, seed: u64, steps: usize) -> TrainConfig {
    TrainConfig {
        seed,
        optimizer: Optimizer::Adam,
        lr,
        iterations: steps,
        batch_size,
        progress: false,
    }
}

fn sizes_label(sizes: &[i64]) -> String {
    sizes.iter().map(i64::to_string).collect::<Vec<_>>().join("-")
}

fn grid_plot(title: &str, subtitle: String, panel_titles: Vec<String>, plots: Vec<Plot>, columns: usize) -> Plot {
    Plot::Grid {
        panels: Panels {
            title: title.into(),
            subtitle,
            panel_titles,
            columns,
        },
        plots,
    }
}

// ---------------------------------------------------------------- nearest point

fn region_names() -> Vec<String> {
    ["nearest to A", "nearest to B", "nearest to C"]
        .map(String::from)
        .to_vec()
}

fn point_marks() -> Vec<FieldPoint> {
    nearest::POINTS
        .iter()
        .zip(["A", "B", "C"])
        .map(|(&(x, y), l)| FieldPoint { x, y, label: l.into() })
        .collect()
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

fn nearest_point_target(_ctx: &Ctx, p: &GridParams) -> Result<Figure> {
    let n = check_size("grid", p.grid)?;
    let mut table = Table::new(&["point", "x", "y"]);
    for (l, (x, y)) in ["A", "B", "C"].iter().zip(nearest::POINTS) {
        table.push(vec![l.to_string(), x.to_string(), y.to_string()]);
    }
    let plot = region_field(
        "Which point is nearest?",
        "every position coloured by its nearest point",
        n,
        nearest::target_grid(n),
        true,
    );
    Ok(Figure {
        plot: Plot::Field(plot),
        table,
        size: WIDE,
    })
}

fn relu(_ctx: &Ctx, _p: &NoParams) -> Result<Figure> {
    let pts: Vec<(f64, f64)> = function::linspace(-2.0, 2.0, 401)
        .into_iter()
        .map(|x| (x, x.max(0.0)))
        .collect();
    let mut table = Table::new(&["x", "relu"]);
    for &(x, y) in pts.iter().step_by(20) {
        table.push(vec![x.to_string(), y.to_string()]);
    }
    let plot = LinePlot {
        title: "The ramp function (ReLU)".into(),
        subtitle: "max(0, x): zero for negative inputs, the input itself otherwise".into(),
        x_label: "x".into(),
        y_label: "ReLU(x)".into(),
        series: vec![Series {
            name: String::new(),
            points: pts,
            style: SeriesStyle::Line,
        }],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

/// "ReLU(x − y + 0.5)" for weights (1, −1) and bias 0.5.
fn neuron_formula(w1: f64, w2: f64, b: f64) -> String {
    let mut s = String::new();
    for (c, v) in [(w1, "x"), (w2, "y"), (b, "")] {
        if c == 0.0 {
            continue;
        }
        let mag = if c.abs() == 1.0 && !v.is_empty() {
            String::new()
        } else {
            format!("{}", c.abs())
        };
        let sign = if c < 0.0 {
            if s.is_empty() {
                "−"
            } else {
                " − "
            }
        } else if s.is_empty() {
            ""
        } else {
            " + "
        };
        s += &format!("{sign}{mag}{v}");
    }
    format!("ReLU({})", if s.is_empty() { "0".into() } else { s })
}

fn single_neuron_functions(_ctx: &Ctx, p: &NeuronParams) -> Result<Figure> {
    let n = check_size("grid", p.grid)?;
    let mut table = Table::new(&["w1", "w2", "b", "max_output"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for &[w1, w2, b] in &p.weights {
        let values = nearest::single_neuron(w1, w2, b, n);
        table.push(vec![
            w1.to_string(),
            w2.to_string(),
            b.to_string(),
            values.iter().copied().fold(0.0, f64::max).to_string(),
        ]);
        titles.push(neuron_formula(w1, w2, b));
        plots.push(Plot::Field(FieldPlot {
            x_range: nearest::RANGE,
            y_range: nearest::RANGE,
            rows: n,
            cols: n,
            values,
            range: Some((0.0, 2.0)),
            ..Default::default()
        }));
    }
    let plot = grid_plot(
        "What one neuron computes",
        "output over x, y in [−1, 1]; dark = 0, bright = 2 or more".into(),
        titles,
        plots,
        3,
    );
    Ok(Figure {
        plot,
        table,
        size: WIDE,
    })
}

fn nearest_point_nets(_ctx: &Ctx, p: &NearestNetsParams) -> Result<Figure> {
    let n = check_size("grid", p.grid)?;
    let examples = p.examples;
    let restarts = check_size("restarts", p.restarts)?;
    let cfg = adam(p.lr, p.batch_size, p.seed, check_size("epochs", p.epochs)?);
    let cache = TrainCache::default();
    let mut table = Table::new(&[
        "sizes",
        "weights",
        "final_loss",
        "agreement",
        "kept_seed",
        "every_start_final_loss",
    ]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for sizes in &p.sizes {
        let (net, losses) = nearest::train_best_of(&cache, sizes, examples, &cfg, n, restarts)?;
        table.push(vec![
            sizes_label(sizes),
            net.n_params.to_string(),
            net.history.last().unwrap_or(f64::NAN).to_string(),
            net.agreement.to_string(),
            net.seed.to_string(),
            losses.iter().map(f64::to_string).collect::<Vec<_>>().join(";"),
        ]);
        titles.push(format!(
            "{} net, {} weights: {:.0}% right",
            sizes_label(sizes),
            net.n_params,
            100.0 * net.agreement
        ));
        plots.push(Plot::Field(region_field("", "", n, net.answers, false)));
    }
    let sub = format!(
        "{examples} training positions, {} epochs of Adam (lr {}); each net the best of {restarts} random starts (seeds {}-{})",
        cfg.iterations,
        cfg.lr,
        cfg.seed,
        cfg.seed + restarts as u64 - 1
    );
    let cols = plots.len().min(2);
    Ok(Figure {
        plot: grid_plot("What nets of several sizes learn", sub, titles, plots, cols),
        table,
        size: (1200, 1000),
    })
}

// ---------------------------------------------------------------- functions of one variable

fn target_series(lo: f64, hi: f64) -> Series {
    Series {
        name: "target".into(),
        points: function::linspace(lo, hi, 400)
            .into_iter()
            .map(|x| (x, function::target(x)))
            .collect(),
        style: SeriesStyle::Line,
    }
}

fn net_series(name: String, xs: &[f64], ys: Vec<f64>) -> Series {
    Series {
        name,
        points: xs.iter().copied().zip(ys).collect(),
        style: SeriesStyle::Line,
    }
}

fn function_target(_ctx: &Ctx, _p: &NoParams) -> Result<Figure> {
    let (lo, hi) = function::TRAIN_RANGE;
    let s = target_series(lo, hi);
    let mut table = Table::new(&["x", "target"]);
    for &(x, y) in s.points.iter().step_by(10) {
        table.push(vec![x.to_string(), y.to_string()]);
    }
    let plot = LinePlot {
        title: "A function to learn".into(),
        subtitle: "f(x) = sin(2.5x) + 0.6·tanh(8(x − 0.4))".into(),
        x_label: "x".into(),
        y_label: "f(x)".into(),
        series: vec![Series {
            name: String::new(),
            ..s
        }],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn function_random_nets(_ctx: &Ctx, p: &RandomNetsParams) -> Result<Figure> {
    let sizes = &p.sizes;
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut series = vec![target_series(lo, hi)];
    let mut table = Table::new(&["seed", "x", "output"]);
    for &seed in &p.seeds {
        let ys = function::FunctionNet::random(sizes, seed as u64)?.eval(&xs)?;
        for (x, y) in xs.iter().zip(&ys).step_by(10) {
            table.push(vec![seed.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(net_series(format!("seed {seed}"), &xs, ys));
    }
    let plot = LinePlot {
        title: "Nets with random weights".into(),
        subtitle: format!("a {} ReLU net before any training", sizes_label(sizes)),
        x_label: "x".into(),
        y_label: "output".into(),
        series,
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

/// The progress runs: one net per step budget, each trained from the same seed.
fn progress_runs(p: &ProgressParams) -> Result<Vec<(usize, function::TrainedFunction)>> {
    let cache = TrainCache::default();
    let mut runs = Vec::new();
    for &steps in &p.steps {
        let steps = check_size("steps", steps)?;
        runs.push((
            steps,
            function::train_function_scheduled(
                &cache,
                &p.sizes,
                &adam(p.lr, p.batch_size, p.seed, steps),
                &p.schedule(),
            )?,
        ));
    }
    Ok(runs)
}

fn function_training_progress(_ctx: &Ctx, p: &ProgressParams) -> Result<Figure> {
    let runs = progress_runs(p)?;
    let batch = p.batch_size as u64;
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut table = Table::new(&["steps", "examples_seen", "final_batch_loss"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for (steps, run) in &runs {
        let examples = *steps as u64 * batch;
        table.push(vec![
            steps.to_string(),
            examples.to_string(),
            run.history.last().unwrap_or(f64::NAN).to_string(),
        ]);
        titles.push(format!("after {examples} examples ({steps} steps)"));
        let series = vec![target_series(lo, hi), net_series("net".into(), &xs, run.net.eval(&xs)?)];
        plots.push(Plot::Lines(LinePlot {
            series,
            ..Default::default()
        }));
    }
    let sub = format!(
        "{} ReLU net, Adam ({}), batches of {batch} random x, seed {}; blue: target, orange: net",
        sizes_label(&p.sizes),
        p.schedule_text(),
        p.seed
    );
    let cols = plots.len().min(2);
    Ok(Figure {
        plot: grid_plot("Learning from more and more examples", sub, titles, plots, cols),
        table,
        size: WIDE,
    })
}

fn loss_curve(ctx: &Ctx, p: &ProgressParams) -> Result<Figure> {
    let runs = progress_runs(p)?;
    let (steps, run) = runs
        .iter()
        .max_by_key(|(s, _)| *s)
        .ok_or_else(|| ctx.bad_input("parameter `steps` is empty; give at least one step budget"))?;
    let loss = &run.history.loss;
    // A moving average over 1% of the run smooths the batch-to-batch noise.
    let w = (loss.len() / 100).max(1);
    let smooth: Vec<(f64, f64)> = (0..loss.len())
        .map(|i| {
            let a = i.saturating_sub(w / 2);
            let b = (i + w / 2 + 1).min(loss.len());
            ((i + 1) as f64, loss[a..b].iter().sum::<f64>() / (b - a) as f64)
        })
        .collect();
    let mut table = Table::new(&["step", "batch_loss", "smoothed"]);
    for (i, (l, s)) in loss.iter().zip(&smooth).enumerate() {
        table.push(vec![(i + 1).to_string(), l.to_string(), s.1.to_string()]);
    }
    let raw: Vec<(f64, f64)> = loss.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect();
    let plot = LinePlot {
        title: "The loss during training".into(),
        subtitle: format!(
            "{steps} steps of Adam on batches of {} random x, {}; log scale",
            p.batch_size,
            p.schedule_text()
        ),
        x_label: "training step".into(),
        y_label: "loss (mean squared error)".into(),
        series: vec![
            Series {
                name: "each batch".into(),
                points: raw,
                style: SeriesStyle::Line,
            },
            Series {
                name: format!("average of {w}"),
                points: smooth,
                style: SeriesStyle::Line,
            },
        ],
        log_y: true,
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn surface(ctx: &Ctx, p: &SurfaceParams) -> Result<(FieldPlot, Vec<(f64, f64)>)> {
    let data = function::two_weight_data(check_size("points", p.points)?);
    let n = check_size("grid", p.grid)?;
    let (a0, a1) = p.w1_range;
    let (b0, b1) = p.w2_range;
    if !(a1 > a0 && b1 > b0) {
        return Err(ctx.bad_input("w1_range and w2_range must be [low, high] with low < high"));
    }
    let mut values = Vec::with_capacity(n * n);
    for r in 0..n {
        for c in 0..n {
            let w1 = a0 + (a1 - a0) * (c as f64 + 0.5) / n as f64;
            let w2 = b0 + (b1 - b0) * (r as f64 + 0.5) / n as f64;
            values.push(function::two_weight_loss(w1, w2, &data).max(1e-12).log10());
        }
    }
    let minima = vec![
        FieldPoint {
            x: 2.0,
            y: 1.5,
            label: "(2, 1.5)".into(),
        },
        FieldPoint {
            x: -2.0,
            y: -1.5,
            label: "(−2, −1.5)".into(),
        },
    ];
    let plot = FieldPlot {
        x_label: "w₁".into(),
        y_label: "w₂".into(),
        x_range: (a0, a1),
        y_range: (b0, b1),
        rows: n,
        cols: n,
        values,
        points: minima,
        colorbar_label: "log₁₀ of the mean squared error".into(),
        ..Default::default()
    };
    Ok((plot, data))
}

fn loss_surface(ctx: &Ctx, p: &SurfaceParams) -> Result<Figure> {
    let (mut plot, _) = surface(ctx, p)?;
    plot.title = "The loss as a function of two weights".into();
    plot.subtitle =
        "model w₂·tanh(w₁x) against 1.5·tanh(2x); colour: log₁₀ of the mean squared error (dark = low)".into();
    let mut table = Table::new(&["w1", "w2", "log10_loss"]);
    let n = plot.cols;
    for (i, v) in plot.values.iter().enumerate().step_by(7) {
        let w1 = plot.x_range.0 + (plot.x_range.1 - plot.x_range.0) * ((i % n) as f64 + 0.5) / n as f64;
        let w2 = plot.y_range.0 + (plot.y_range.1 - plot.y_range.0) * ((i / n) as f64 + 0.5) / n as f64;
        table.push(vec![w1.to_string(), w2.to_string(), v.to_string()]);
    }
    Ok(Figure {
        plot: Plot::Field(plot),
        table,
        size: WIDE,
    })
}

fn descent_path(ctx: &Ctx, p: &SurfaceParams) -> Result<Figure> {
    let (mut plot, data) = surface(ctx, p)?;
    let path = function::descent_path(p.start, p.lr, p.steps, &data)?;
    let mut table = Table::new(&["step", "w1", "w2", "loss"]);
    for (i, (a, b, l)) in path.iter().enumerate() {
        table.push(vec![i.to_string(), a.to_string(), b.to_string(), l.to_string()]);
    }
    let (first, last) = (path[0], path[path.len() - 1]);
    plot.title = "Steepest descent on the loss surface".into();
    plot.subtitle = format!(
        "{} steps of gradient descent (lr {}) from ({:.1}, {:.1}): loss {:.3} → {:.5}",
        path.len() - 1,
        p.lr,
        first.0,
        first.1,
        first.2,
        last.2
    );
    plot.paths = vec![path.iter().map(|&(a, b, _)| (a, b)).collect()];
    plot.points.push(FieldPoint {
        x: first.0,
        y: first.1,
        label: "start".into(),
    });
    Ok(Figure {
        plot: Plot::Field(plot),
        table,
        size: WIDE,
    })
}

/// The nets of the equivalent-solutions figures, one per seed.
fn equivalent_runs(p: &EquivalentParams) -> Result<Vec<(i64, function::TrainedFunction)>> {
    let steps = check_size("steps", p.steps)?;
    let cache = TrainCache::default();
    p.seeds
        .iter()
        .map(|&s| {
            Ok((
                s,
                function::train_function(&cache, &p.sizes, &adam(p.lr, p.batch_size, s as u64, steps))?,
            ))
        })
        .collect()
}

fn equivalent_figure(p: &EquivalentParams, wide: bool) -> Result<Figure> {
    let runs = equivalent_runs(p)?;
    let (lo, hi) = if wide { p.wide_range } else { function::TRAIN_RANGE };
    let xs = function::linspace(lo, hi, 400);
    let inside = function::linspace(function::TRAIN_RANGE.0, function::TRAIN_RANGE.1, 200);
    let mut series = vec![target_series(lo, hi)];
    let mut table = Table::new(&["seed", "rms_error_in_training_range", "x", "output"]);
    for (seed, run) in &runs {
        let ys = run.net.eval(&xs)?;
        let fit = run.net.eval(&inside)?;
        let rms = (inside
            .iter()
            .zip(&fit)
            .map(|(x, y)| (y - function::target(*x)).powi(2))
            .sum::<f64>()
            / inside.len() as f64)
            .sqrt();
        for (x, y) in xs.iter().zip(&ys).step_by(20) {
            table.push(vec![seed.to_string(), rms.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(net_series(format!("seed {seed} (rms {rms:.3})"), &xs, ys));
    }
    let (title, what) = if wide {
        let all: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).collect();
        let (ymin, ymax) = all
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let edge = [function::TRAIN_RANGE.0, function::TRAIN_RANGE.1]
            .into_iter()
            .flat_map(|x| function::linspace(ymin, ymax, 30).into_iter().map(move |y| (x, y)))
            .collect();
        series.push(Series {
            name: "edge of the training range".into(),
            points: edge,
            style: SeriesStyle::Points,
        });
        (
            "Outside the training range the nets disagree",
            format!(
                "trained on x in [{}, {}] (dotted lines), shown on [{lo}, {hi}]",
                function::TRAIN_RANGE.0,
                function::TRAIN_RANGE.1
            ),
        )
    } else {
        (
            "Equally good nets from different random starts",
            format!("shown on the training range [{lo}, {hi}]"),
        )
    };
    let subtitle = format!(
        "{} ReLU nets, {} steps of Adam each; {what}",
        sizes_label(&p.sizes),
        p.steps
    );
    if !wide {
        // On the training range the fits lie on top of each other: a second panel shows
        // each net's error (net − target), where the nets can be told apart.
        let zero = Series {
            name: "target (zero error)".into(),
            points: vec![(lo, 0.0), (hi, 0.0)],
            style: SeriesStyle::Line,
        };
        let errors: Vec<Series> = std::iter::once(zero)
            .chain(series[1..].iter().map(|s| Series {
                name: s.name.clone(),
                points: s.points.iter().map(|&(x, y)| (x, y - function::target(x))).collect(),
                style: SeriesStyle::Line,
            }))
            .collect();
        let fits: Vec<Series> = series
            .into_iter()
            .map(|s| Series {
                name: String::new(),
                ..s
            })
            .collect();
        let plot = grid_plot(
            title,
            subtitle,
            vec![
                "the fits (all on the target)".into(),
                "each net's error: net − target".into(),
            ],
            vec![
                Plot::Lines(LinePlot {
                    x_label: "x".into(),
                    y_label: "output".into(),
                    series: fits,
                    ..Default::default()
                }),
                Plot::Lines(LinePlot {
                    x_label: "x".into(),
                    y_label: "error".into(),
                    series: errors,
                    ..Default::default()
                }),
            ],
            2,
        );
        return Ok(Figure {
            plot,
            table,
            size: (1500, 800),
        });
    }
    let plot = LinePlot {
        title: title.into(),
        subtitle,
        x_label: "x".into(),
        y_label: "output".into(),
        series,
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn equivalent_solutions(_ctx: &Ctx, p: &EquivalentParams) -> Result<Figure> {
    equivalent_figure(p, false)
}

fn extrapolation(_ctx: &Ctx, p: &EquivalentParams) -> Result<Figure> {
    equivalent_figure(p, true)
}

fn net_size_fits(_ctx: &Ctx, p: &NetSizeParams) -> Result<Figure> {
    let steps = check_size("steps", p.steps)?;
    let cfg = adam(p.lr, p.batch_size, p.seed, steps);
    let cache = TrainCache::default();
    let (lo, hi) = function::TRAIN_RANGE;
    let xs = function::linspace(lo, hi, 300);
    let mut table = Table::new(&["sizes", "weights", "rms_error"]);
    let (mut titles, mut plots) = (Vec::new(), Vec::new());
    for sizes in &p.sizes {
        let run = function::train_function(&cache, sizes, &cfg)?;
        let ys = run.net.eval(&xs)?;
        let rms = (xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (y - function::target(*x)).powi(2))
            .sum::<f64>()
            / xs.len() as f64)
            .sqrt();
        let squeeze = sizes.len() > 3 && sizes[1..sizes.len() - 1].iter().any(|&w| w < sizes[1]);
        table.push(vec![
            sizes_label(sizes),
            run.net.mlp.n_params().to_string(),
            rms.to_string(),
        ]);
        titles.push(format!(
            "{}{} ({} weights): rms {rms:.3}",
            sizes_label(sizes),
            if squeeze { " squeeze" } else { "" },
            run.net.mlp.n_params()
        ));
        plots.push(Plot::Lines(LinePlot {
            series: vec![target_series(lo, hi), net_series("net".into(), &xs, ys)],
            ..Default::default()
        }));
    }
    let sub = format!(
        "every net: {steps} steps of Adam (lr {}), batches of {}, seed {}; blue: target, orange: net",
        cfg.lr, cfg.batch_size, cfg.seed
    );
    let cols = plots.len().min(3);
    Ok(Figure {
        plot: grid_plot("Nets of different sizes, the same training", sub, titles, plots, cols),
        table,
        size: WIDE,
    })
}

// ---------------------------------------------------------------- rule 30, cat/dog card

fn cellular_automaton(ctx: &Ctx, p: &AutomatonParams) -> Result<Figure> {
    let rule = u8::try_from(p.rule).map_err(|_| ctx.bad_input(format!("rule must be 0..=255, got {}", p.rule)))?;
    let (width, steps) = (check_size("width", p.width)?, check_size("steps", p.steps)?);
    let rows = automaton::elementary(rule, width, steps);
    let mut table = Table::new(&["step", "cells"]);
    for (i, r) in rows.iter().enumerate() {
        table.push(vec![
            i.to_string(),
            r.iter().map(|&c| if c == 1 { '#' } else { '.' }).collect(),
        ]);
    }
    let image = GridImage {
        caption: String::new(),
        rows: steps,
        cols: width,
        values: rows.iter().flatten().map(|&c| c as f64).collect(),
    };
    let plot = ImageGrid {
        title: format!("Rule {rule}"),
        subtitle: format!("{steps} steps from one black cell, {width} cells wide; time runs down"),
        images: vec![image],
        columns: 1,
        colormap: Colormap::Greys,
        range: ValueRange::Fixed(0.0, 1.0),
        stretch: false,
    };
    Ok(Figure {
        plot: Plot::ImageGrid(plot),
        table,
        size: WIDE,
    })
}

fn cat_dog_features(_ctx: &Ctx, _p: &NoParams) -> Result<Figure> {
    let mut table = Table::new(&["note"]);
    table.push(vec!["The essay shows what the first layers of a trained image-recognition net make of a cat picture; no pretrained image net is available offline, so it is not reproduced.".into()]);
    let plot = TextPanel {
        title: "Not reproducible here: an image net's view of a cat".into(),
        subtitle: "essay section 4 · no model".into(),
        paragraphs: vec![
            vec![Span::plain("Here the essay feeds a picture of a cat to a large pretrained image-recognition net and shows the arrays of numbers its early layers produce: some look like the cat's outline, others like its background, and later layers look less and less like anything we would name.")],
            vec![Span::plain("That needs a net trained on millions of labelled photos. None is available to this project offline, and a net we trained on a few images would not show the same thing, so we do not imitate the picture.")],
            vec![Span::plain("The same idea, on a scale that runs here: the digit net of sections 3 and 5 turns images into features too.")],
            vec![Span::prompt("Read the original: Stephen Wolfram, “What Is ChatGPT Doing … and Why Does It Work?” (2023), section “Neural Nets”:")],
            vec![Span::prompt(super::essay::URL)],
        ],
        list: vec![],
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: WIDE,
    })
}
