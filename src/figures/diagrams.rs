//! The essay's diagrams, each drawn from the real configuration of the net or model in
//! use, so that they stay true when it changes: the nearest-point net as layers of
//! neurons joined by its trained weights, the values flowing through it for one input,
//! one of its neurons computing f(w·x + b) (essay section 4, "Neural nets"); the many-point
//! nearest-point regions (the essay's "coffee shops"); the digit net's layers, read from
//! its trained weights' shapes (section 4); and the embedding module and one attention
//! block of the loaded language model, read from its configuration (blocks, heads,
//! widths: GPT-2 of every size and SmolLM2 alike; section 6, "Inside ChatGPT").

use serde::{Deserialize, Serialize};

use super::chapter4::NearestNetsParams;
use super::digits::{self as digit_figs, NetParams};
use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::error::Result;
use crate::experiments::nearest;
use crate::model::config::{MlpKind, NormKind, Positions};
use crate::plot::diagram::{
    Anchor, Diagram, Rgb, Shape, FILL_BLUE, FILL_GREEN, FILL_GREY, FILL_ORANGE, FILL_PURPLE, GREY, INK, NEGATIVE,
    POSITIVE,
};
use crate::plot::{Colormap, FieldPlot, FieldPoint};
use crate::train::{check_size, Activation, LayerWeights, Optimizer, TrainCache, TrainConfig};

const SECTION_NETS: &str = super::sections::NEURAL_NETS;
const SECTION_INSIDE: &str = super::sections::INSIDE_CHATGPT;
const WIDE: (u32, u32) = (1200, 800);

// ---------------------------------------------------------------- registry

/// The net diagrams of section 4 (before the nearest-point task).
pub fn section4_nets() -> Vec<FigureSpec> {
    let (s, t) = (SECTION_NETS, Made::Trained);
    vec![
        FigureSpec::new("net-diagram", s, t, "A neural net drawn as layers of neurons joined by weights: the largest net of `nearest-point-nets`, trained here, with every line one of its real weights (red positive, blue negative, thicker = larger).", NetDiagramParams::default, net_diagram),
        FigureSpec::new("net-values-flow", s, t, "The same net with the values flowing through it for one input position ({input}): each neuron shows its value after the ramp, and the largest output names the point the net thinks nearest.", NetDiagramParams::default, net_values_flow),
        FigureSpec::new("neuron-diagram", s, t, "One neuron of that net: it multiplies its inputs by its weights, adds its bias and applies the ramp, f(w·x + b), here for the input ({input}), with the net's real numbers.", NetDiagramParams::default, neuron_diagram),
    ]
}

/// The many-point nearest-point regions (after the three-point task).
pub fn section4_many_points() -> Vec<FigureSpec> {
    vec![FigureSpec::new("nearest-point-many", SECTION_NETS, Made::Trained, "The nearest-point task with many points (the essay's \"coffee shops\"): {points} random points (seed {seed}), and every position coloured by the point nearest to it.", || ManyPointsParams { points: 30, seed: 1, grid: 300 }, nearest_point_many)]
}

/// The digit net's diagram (after `digit-separation`).
pub fn section4_lenet() -> Vec<FigureSpec> {
    vec![FigureSpec::new("lenet-diagram", SECTION_NETS, Made::Trained, "The digit net's layers, read from the shapes of its trained weights: convolutions, pooling, a wide hidden layer and ten outputs, with the size of the array after each layer and the number of weights in each.", || LenetParams { net: NetParams::default() }, lenet_diagram)]
}

/// The embedding-module diagram (before the embedding module's arrays).
pub fn section6_embedding() -> Vec<FigureSpec> {
    vec![FigureSpec::new("embedding-module-diagram", SECTION_INSIDE, Made::Model, "The embedding module drawn from the loaded model's configuration: token ids pick rows of the token embedding matrix W_E; a model with learned positions (GPT-2) adds rows of W_pos, one per position, and a model with rotary positions (SmolLM2) adds nothing here.", NoDiagramParams::default, embedding_module_diagram)]
}

/// The attention-block diagram (before the attention weights of one block).
pub fn section6_block() -> Vec<FigureSpec> {
    vec![FigureSpec::new("attention-block-diagram", SECTION_INSIDE, Made::Model, "One transformer block drawn from the loaded model's configuration: normalisation, the attention heads, the projection back into the residual stream, the MLP, and the residual connections that add each part's output to its input.", NoDiagramParams::default, attention_block_diagram)]
}

// ---------------------------------------------------------------- parameters

/// Which of the nearest-point nets to draw (its layer sizes; trained with the defaults
/// of `nearest-point-nets`) and the input position shown flowing through it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetDiagramParams {
    pub sizes: Vec<i64>,
    pub input: (f64, f64),
    /// The neuron of the first hidden layer that `neuron-diagram` shows.
    pub neuron: usize,
}

impl Default for NetDiagramParams {
    fn default() -> Self {
        let largest = NearestNetsParams::default()
            .sizes
            .into_iter()
            .max_by_key(|s| s.iter().product::<i64>())
            .unwrap_or_else(|| vec![2, 16, 16, 3]);
        NetDiagramParams {
            sizes: largest,
            input: (0.3, -0.5),
            neuron: 0,
        }
    }
}

/// How many random points, their seed, and the grid side.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManyPointsParams {
    pub points: i64,
    pub seed: u64,
    pub grid: i64,
}

/// The digit net (its training budget, as in the digit figures).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LenetParams {
    pub net: NetParams,
}

/// No parameters: the diagram is read from the model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoDiagramParams {}

// ---------------------------------------------------------------- nearest-point net

/// The net of `p.sizes` trained as `nearest-point-nets` trains it (the same cache entry).
fn nearest_net(p: &NetDiagramParams) -> Result<nearest::NearestNet> {
    let d = NearestNetsParams::default();
    let cfg = TrainConfig {
        seed: d.seed,
        optimizer: Optimizer::Adam,
        lr: d.lr,
        iterations: check_size("epochs", d.epochs)?,
        batch_size: d.batch_size,
        progress: false,
    };
    let (net, _) = nearest::train_best_of(
        &TrainCache::default(),
        &p.sizes,
        d.examples,
        &cfg,
        check_size("grid", d.grid)?,
        check_size("restarts", d.restarts)?,
    )?;
    Ok(net)
}

/// Node positions of a layered net: x of layer k, y of node j of a layer of n nodes.
struct NetLayout {
    sizes: Vec<usize>,
    gap: f64,
    step: f64,
    left: f64,
    top: f64,
    rows: usize,
}

impl NetLayout {
    fn new(sizes: &[usize], gap: f64, step: f64, left: f64, top: f64) -> Self {
        NetLayout {
            sizes: sizes.to_vec(),
            gap,
            step,
            left,
            top,
            rows: sizes.iter().copied().max().unwrap_or(1),
        }
    }
    fn at(&self, k: usize, j: usize) -> (f64, f64) {
        let n = self.sizes[k];
        let offset = (self.rows - n) as f64 / 2.0;
        (
            self.left + k as f64 * self.gap,
            self.top + (offset + j as f64 + 0.5) * self.step,
        )
    }
    fn width(&self) -> f64 {
        2.0 * self.left + (self.sizes.len() - 1) as f64 * self.gap
    }
    fn height(&self) -> f64 {
        self.top + self.rows as f64 * self.step + 0.8
    }
}

fn sizes_label(sizes: &[i64]) -> String {
    sizes.iter().map(i64::to_string).collect::<Vec<_>>().join("-")
}

fn weight_line(from: (f64, f64), to: (f64, f64), w: f64, max: f64) -> Shape {
    Shape::Line {
        from,
        to,
        color: if w >= 0.0 { POSITIVE } else { NEGATIVE },
        width: 0.4 + 3.6 * (w.abs() / max.max(1e-12)),
        arrow: false,
    }
}

fn to_rgb(c: plotters::style::RGBColor) -> Rgb {
    (c.0, c.1, c.2)
}

fn text(x: f64, y: f64, s: impl Into<String>, px: f64, color: Rgb, bold: bool, anchor: Anchor) -> Shape {
    Shape::Text {
        x,
        y,
        text: s.into(),
        text_px: px,
        color,
        bold,
        anchor,
    }
}

/// The layered drawing of the net: lines (weights, optionally scaled by the value they
/// carry) and circles (optionally filled by value), inputs named x, y and outputs A, B, C.
fn net_shapes(weights: &[LayerWeights], values: Option<&[Vec<f64>]>) -> (Vec<Shape>, NetLayout) {
    let mut sizes = vec![weights.first().map_or(0, |l| l.w.first().map_or(0, Vec::len))];
    sizes.extend(weights.iter().map(|l| l.b.len()));
    let lay = NetLayout::new(&sizes, 4.0, 1.0, 1.6, 0.6);
    let mut shapes = Vec::new();
    // Lines: the weight, or with values the signal w * value it carries.
    let strength = |k: usize, i: usize, j: usize| -> f64 {
        let w = weights[k].w[j][i];
        values.map_or(w, |v| w * v[k][i])
    };
    let mut max = 0.0f64;
    for k in 0..weights.len() {
        for i in 0..sizes[k] {
            for j in 0..sizes[k + 1] {
                max = max.max(strength(k, i, j).abs());
            }
        }
    }
    for (k, _) in weights.iter().enumerate() {
        for i in 0..sizes[k] {
            for j in 0..sizes[k + 1] {
                let s = strength(k, i, j);
                if values.is_some() && s == 0.0 {
                    continue; // a neuron at 0 sends nothing on
                }
                shapes.push(weight_line(lay.at(k, i), lay.at(k + 1, j), s, max));
            }
        }
    }
    let vmax = values.map_or(1.0, |v| {
        v.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs())).max(1e-12)
    });
    let last = sizes.len() - 1;
    for (k, &n) in sizes.iter().enumerate() {
        for j in 0..n {
            let (x, y) = lay.at(k, j);
            let (fill, label) = match values {
                Some(v) => {
                    let val = v[k][j];
                    (
                        to_rgb(Colormap::BlueWhiteRed.color(val, (-vmax, vmax))),
                        format!("{val:.1}"),
                    )
                }
                None => ((0xf4, 0xf4, 0xf4), String::new()),
            };
            shapes.push(Shape::Circle {
                x,
                y,
                r: 0.36,
                fill,
                label,
                text_px: 11.0,
            });
        }
    }
    let names_in = ["x", "y"];
    for j in 0..sizes[0] {
        let (x, y) = lay.at(0, j);
        let name = names_in.get(j).copied().unwrap_or("?");
        shapes.push(text(x - 0.55, y, name, 20.0, INK, true, Anchor::Right));
    }
    for j in 0..sizes[last] {
        let (x, y) = lay.at(last, j);
        let name = ["A", "B", "C"].get(j).map_or(format!("{j}"), |s| format!("point {s}"));
        shapes.push(text(x + 0.55, y, name, 16.0, INK, true, Anchor::Left));
    }
    for (k, n) in sizes.iter().enumerate() {
        let (x, _) = lay.at(k, 0);
        let what = if k == 0 {
            "inputs".to_string()
        } else if k == last {
            "outputs".into()
        } else {
            format!("layer {k}: {n} neurons")
        };
        shapes.push(text(x, 0.2, what, 14.0, GREY, false, Anchor::Center));
    }
    (shapes, lay)
}

fn weights_table(weights: &[LayerWeights]) -> Table {
    let mut table = Table::new(&["layer", "from", "to", "weight", "bias_of_to"]);
    for (k, l) in weights.iter().enumerate() {
        for (j, row) in l.w.iter().enumerate() {
            for (i, w) in row.iter().enumerate() {
                table.push(vec![
                    (k + 1).to_string(),
                    i.to_string(),
                    j.to_string(),
                    w.to_string(),
                    l.b[j].to_string(),
                ]);
            }
        }
    }
    table
}

fn net_diagram(_ctx: &Ctx, p: &NetDiagramParams) -> Result<Figure> {
    let net = nearest_net(p)?;
    let (shapes, lay) = net_shapes(&net.weights, None);
    let plot = Diagram {
        title: format!("A neural net: the {} net of the nearest-point task", sizes_label(&p.sizes)),
        subtitle: format!(
            "{} weights and biases, trained here ({:.0}% of the plane right); every line is one weight: red positive, blue negative, thicker = larger",
            net.n_params,
            100.0 * net.agreement
        ),
        width: lay.width(),
        height: lay.height(),
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table: weights_table(&net.weights),
        size: WIDE,
    })
}

fn net_values_flow(_ctx: &Ctx, p: &NetDiagramParams) -> Result<Figure> {
    let net = nearest_net(p)?;
    let (x, y) = p.input;
    let values = LayerWeights::values_through(&net.weights, Activation::Relu, &[x, y]);
    let out = values.last().cloned().unwrap_or_default();
    let best = (0..out.len()).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap_or(0);
    let truth = nearest::nearest((x, y), &nearest::POINTS);
    let names = ["A", "B", "C"];
    let (shapes, lay) = net_shapes(&net.weights, Some(&values));
    let mut table = Table::new(&["layer", "neuron", "value"]);
    for (k, v) in values.iter().enumerate() {
        for (j, val) in v.iter().enumerate() {
            table.push(vec![k.to_string(), j.to_string(), val.to_string()]);
        }
    }
    let plot = Diagram {
        title: format!("Values flowing through the net for the position ({x}, {y})"),
        subtitle: format!(
            "values after the ramp (red +, blue −); lines: weight × value carried. Largest output: {} ({})",
            names.get(best).unwrap_or(&"?"),
            if best == truth {
                "right, it is the nearest".to_string()
            } else {
                format!("wrong, {} is nearest", names.get(truth).unwrap_or(&"?"))
            }
        ),
        width: lay.width(),
        height: lay.height(),
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table,
        size: WIDE,
    })
}

fn neuron_diagram(ctx: &Ctx, p: &NetDiagramParams) -> Result<Figure> {
    let net = nearest_net(p)?;
    let first = net
        .weights
        .first()
        .ok_or_else(|| ctx.bad_input("the net has no layers"))?;
    let j = p.neuron;
    if j >= first.b.len() {
        return Err(ctx.bad_input(format!(
            "neuron {j} does not exist: the first hidden layer has {} neurons (0..{})",
            first.b.len(),
            first.b.len()
        )));
    }
    let (x, y) = p.input;
    let (w, b) = (&first.w[j], first.b[j]);
    let inputs = [x, y];
    let z = w.iter().zip(&inputs).map(|(w, v)| w * v).sum::<f64>() + b;
    let f = z.max(0.0);
    let mut shapes = Vec::new();
    let centre = (7.0, 3.0);
    for (i, (name, v)) in ["x", "y"].iter().zip(inputs).enumerate() {
        let pos = (1.5, 1.6 + 2.8 * i as f64);
        shapes.push(weight_line(
            pos,
            centre,
            w[i],
            w.iter().fold(0.0f64, |a, v| a.max(v.abs())),
        ));
        shapes.push(Shape::Circle {
            x: pos.0,
            y: pos.1,
            r: 0.6,
            fill: FILL_BLUE,
            label: format!("{v}"),
            text_px: 18.0,
        });
        shapes.push(text(pos.0 - 0.8, pos.1, *name, 24.0, INK, true, Anchor::Right));
        let mid = ((pos.0 + centre.0) / 2.0, (pos.1 + centre.1) / 2.0 - 0.45);
        shapes.push(text(
            mid.0,
            mid.1,
            format!("w{} = {:.3}", i + 1, w[i]),
            18.0,
            INK,
            false,
            Anchor::Center,
        ));
    }
    shapes.push(Shape::Circle {
        x: centre.0,
        y: centre.1,
        r: 1.3,
        fill: FILL_ORANGE,
        label: format!("w·x + b\n= {z:.3}"),
        text_px: 18.0,
    });
    shapes.push(text(
        centre.0,
        centre.1 + 1.8,
        format!("bias b = {b:.3}"),
        18.0,
        INK,
        false,
        Anchor::Center,
    ));
    shapes.push(Shape::Line {
        from: (centre.0 + 1.3, centre.1),
        to: (10.4, centre.1),
        color: INK,
        width: 2.0,
        arrow: true,
    });
    shapes.push(Shape::Box {
        x: 10.5,
        y: centre.1 - 0.8,
        w: 2.6,
        h: 1.6,
        fill: Some(FILL_GREEN),
        label: "f = ramp\nmax(0, ·)".into(),
        text_px: 18.0,
    });
    shapes.push(Shape::Line {
        from: (13.1, centre.1),
        to: (14.6, centre.1),
        color: INK,
        width: 2.0,
        arrow: true,
    });
    shapes.push(text(14.8, centre.1, format!("{f:.3}"), 24.0, INK, true, Anchor::Left));
    shapes.push(text(
        8.5,
        6.4,
        format!(
            "f(w·x + b) = max(0, {:.3}·({x}) + {:.3}·({y}) + {b:.3}) = max(0, {z:.3}) = {f:.3}",
            w[0], w[1]
        ),
        18.0,
        INK,
        false,
        Anchor::Center,
    ));
    let mut table = Table::new(&["neuron", "x", "y", "w1", "w2", "b", "w_dot_x_plus_b", "output"]);
    table.push(vec![
        j.to_string(),
        x.to_string(),
        y.to_string(),
        w[0].to_string(),
        w[1].to_string(),
        b.to_string(),
        z.to_string(),
        f.to_string(),
    ]);
    let plot = Diagram {
        title: "One neuron: f(w·x + b)".into(),
        subtitle: format!(
            "neuron {j} of the first hidden layer of the trained {} nearest-point net, for the input ({x}, {y})",
            sizes_label(&p.sizes)
        ),
        width: 17.0,
        height: 7.0,
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table,
        size: WIDE,
    })
}

// ---------------------------------------------------------------- many points

fn nearest_point_many(_ctx: &Ctx, p: &ManyPointsParams) -> Result<Figure> {
    let k = check_size("points", p.points)?;
    let n = check_size("grid", p.grid)?;
    let pts = nearest::random_points(k, p.seed);
    let owner: Vec<usize> = nearest::grid(n)
        .into_iter()
        .map(|q| nearest::nearest(q, &pts))
        .collect();
    // Each region gets its own colour: point i's shade is (i × golden ratio) mod 1 on a
    // colormap, so that neighbours rarely look alike and no two regions share a value.
    let shade = |i: usize| (i as f64 * 0.618_033_988_75).fract();
    let values: Vec<f64> = owner.iter().map(|&i| shade(i)).collect();
    let mut table = Table::new(&["point", "x", "y", "share_of_plane"]);
    for (i, (x, y)) in pts.iter().enumerate() {
        let share = owner.iter().filter(|&&o| o == i).count() as f64 / owner.len() as f64;
        table.push(vec![i.to_string(), x.to_string(), y.to_string(), share.to_string()]);
    }
    let plot = FieldPlot {
        title: format!("Which of {k} points is nearest?"),
        subtitle: format!(
            "{k} random points (seed {}); every position coloured by its nearest point",
            p.seed
        ),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range: nearest::RANGE,
        y_range: nearest::RANGE,
        rows: n,
        cols: n,
        values,
        colormap: Colormap::Viridis,
        range: Some((0.0, 1.0)),
        points: pts
            .iter()
            .map(|&(x, y)| FieldPoint {
                x,
                y,
                label: String::new(),
            })
            .collect(),
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Field(plot),
        table,
        size: (1000, 1000),
    })
}

// ---------------------------------------------------------------- the digit net

fn lenet_diagram(_ctx: &Ctx, p: &LenetParams) -> Result<Figure> {
    let m = digit_figs::net(&p.net)?;
    let layers = crate::experiments::digits::layer_shapes(&m.net)?;
    let mut shapes = Vec::new();
    let mut table = Table::new(&["layer", "what", "output_shape", "weights"]);
    let n = layers.len();
    let (bw, gap) = (2.3, 0.5);
    for (i, l) in layers.iter().enumerate() {
        let x = 0.3 + i as f64 * (bw + gap);
        let fill = match l.kind {
            "input" => FILL_GREY,
            "convolution" => FILL_BLUE,
            "max pool" => FILL_PURPLE,
            "softmax" => FILL_GREEN,
            _ => FILL_ORANGE,
        };
        // The box's height grows with the number of values after the layer (log scale).
        let values: i64 = l.shape.iter().product();
        let h = 1.2 + 0.9 * (values as f64).log10();
        shapes.push(Shape::Box {
            x,
            y: 4.0 - h / 2.0,
            w: bw,
            h,
            fill: Some(fill),
            label: format!("{}\n{}", l.kind, l.detail),
            text_px: 17.0,
        });
        let shape = l.shape.iter().map(i64::to_string).collect::<Vec<_>>().join("×");
        shapes.push(text(
            x + bw / 2.0,
            4.0 + h / 2.0 + 0.4,
            shape.clone(),
            13.0,
            INK,
            true,
            Anchor::Center,
        ));
        if l.weights > 0 {
            shapes.push(text(
                x + bw / 2.0,
                4.0 + h / 2.0 + 0.95,
                format!("{} weights", thousands(l.weights as usize)),
                16.0,
                GREY,
                false,
                Anchor::Center,
            ));
        }
        if i + 1 < n {
            shapes.push(Shape::Line {
                from: (x + bw, 4.0),
                to: (x + bw + gap, 4.0),
                color: INK,
                width: 1.5,
                arrow: true,
            });
        }
        table.push(vec![
            i.to_string(),
            format!("{} {}", l.kind, l.detail),
            shape,
            l.weights.to_string(),
        ]);
    }
    let total: i64 = layers.iter().map(|l| l.weights).sum();
    let plot = Diagram {
        title: format!("The digit net's {} layers", n - 1),
        subtitle: format!(
            "read from the trained net's weights: {} weights in all; array size after each layer below its box · {:.1}% right on held-out images",
            thousands(total as usize),
            100.0 * m.test_accuracy
        ),
        width: 0.6 + n as f64 * (bw + gap) - gap,
        height: 8.0,
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table,
        size: (1600, 700),
    })
}

// ---------------------------------------------------------------- the language model

fn boxed(x: f64, y: f64, w: f64, h: f64, fill: Rgb, label: impl Into<String>) -> Shape {
    Shape::Box {
        x,
        y,
        w,
        h,
        fill: Some(fill),
        label: label.into(),
        text_px: 15.0,
    }
}

fn arrow(from: (f64, f64), to: (f64, f64)) -> Shape {
    Shape::Line {
        from,
        to,
        color: INK,
        width: 1.8,
        arrow: true,
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn embedding_module_diagram(ctx: &Ctx, _p: &NoDiagramParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let info = lm.model.info();
    let (v, c, p) = (info.vocab_size, info.d_model, info.n_ctx);
    let example = "hello hello bye";
    let ids = lm.encode_prompt(example)?;
    let labels = lm.tokenizer.labels(&ids);
    let t = ids.len();
    let mut shapes = Vec::new();
    let tokens = ids
        .iter()
        .zip(&labels)
        .map(|(i, l)| format!("{l} = {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    shapes.push(boxed(
        0.3,
        1.0,
        3.4,
        2.6,
        FILL_GREY,
        format!("token ids\n(“{example}”)\n{tokens}"),
    ));
    shapes.push(arrow((3.7, 2.3), (5.0, 2.3)));
    shapes.push(boxed(
        5.0,
        1.0,
        4.2,
        2.6,
        FILL_BLUE,
        format!(
            "W_E: {} × {c}\n(one row per token\nof the vocabulary)\npick row id",
            thousands(v)
        ),
    ));
    shapes.push(arrow((9.2, 2.3), (10.6, 2.3)));
    shapes.push(boxed(
        10.6,
        1.5,
        3.2,
        1.6,
        FILL_BLUE,
        format!("token vectors\n{t} × {c}"),
    ));
    let mut table = Table::new(&["part", "rows", "cols", "note"]);
    table.push(vec![
        "W_E".into(),
        v.to_string(),
        c.to_string(),
        "token embeddings".into(),
    ]);
    let (title, note) = match info.positions {
        Positions::Learned => {
            shapes.push(boxed(
                0.3,
                5.0,
                3.4,
                1.6,
                FILL_GREY,
                format!("positions\n0, 1, …, {}", t - 1),
            ));
            shapes.push(arrow((3.7, 5.8), (5.0, 5.8)));
            shapes.push(boxed(
                5.0,
                4.5,
                4.2,
                2.6,
                FILL_PURPLE,
                format!("W_pos: {p} × {c}\n(one row per position)\npick row t"),
            ));
            shapes.push(arrow((9.2, 5.8), (10.6, 5.8)));
            shapes.push(boxed(
                10.6,
                5.0,
                3.2,
                1.6,
                FILL_PURPLE,
                format!("position vectors\n{t} × {c}"),
            ));
            shapes.push(arrow((13.8, 2.3), (15.3, 3.8)));
            shapes.push(arrow((13.8, 5.8), (15.3, 4.4)));
            shapes.push(Shape::Circle {
                x: 15.8,
                y: 4.1,
                r: 0.5,
                fill: FILL_ORANGE,
                label: "+".into(),
                text_px: 24.0,
            });
            shapes.push(arrow((16.3, 4.1), (17.4, 4.1)));
            shapes.push(boxed(
                17.4,
                3.3,
                3.0,
                1.6,
                FILL_ORANGE,
                format!("sum {t} × {c}\n→ block 0"),
            ));
            table.push(vec![
                "W_pos".into(),
                p.to_string(),
                c.to_string(),
                "learned position embeddings, added".into(),
            ]);
            (
                "The embedding module: token embedding + position embedding",
                "learned position embeddings W_pos".to_string(),
            )
        }
        Positions::Rotary { theta } => {
            shapes.push(arrow((13.8, 2.3), (17.4, 2.3)));
            shapes.push(boxed(17.4, 1.5, 3.0, 1.6, FILL_ORANGE, format!("{t} × {c}\n→ block 0")));
            shapes.push(boxed(
                5.0,
                4.6,
                9.0,
                2.2,
                FILL_PURPLE,
                format!("no W_pos: positions enter later, inside every block's attention,\nwhich rotates each head's queries and keys by angles t·θᵢ\n(RoPE, base {theta}); nothing is added here"),
            ));
            table.push(vec![
                "RoPE".into(),
                "0".into(),
                "0".into(),
                format!("rotary positions, base {theta}: no position embeddings added"),
            ]);
            (
                "The embedding module: token embedding only (positions come by rotation)",
                "no position embeddings (RoPE)".to_string(),
            )
        }
    };
    let plot = Diagram {
        title: title.into(),
        subtitle: ctx.subtitle(&format!(
            "vocabulary {}, vectors of {c}, context {p}; {note}",
            thousands(v)
        ))?,
        width: 20.7,
        height: 7.4,
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table,
        size: WIDE,
    })
}

fn attention_block_diagram(ctx: &Ctx, _p: &NoDiagramParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let info = lm.model.info();
    let (c, h, kv, d, mlp, layers) = (
        info.d_model,
        info.n_head,
        info.n_kv_head,
        info.d_head,
        info.d_mlp,
        info.n_layer,
    );
    let norm = match info.norm {
        NormKind::Layer { .. } => "LayerNorm",
        NormKind::Rms { .. } => "RMSNorm",
    };
    let (mlp_what, mlp_weights) = match info.mlp {
        MlpKind::Gelu => (format!("MLP: {c} → {mlp} (GELU) → {c}"), 2 * c * mlp),
        MlpKind::SwiGlu => (format!("MLP: {c} → 2 × {mlp}, SiLU(gate) × up → {c}"), 3 * c * mlp),
    };
    let mut shapes = Vec::new();
    let x0 = 3.0; // the main column
    let wcol = 12.0;
    let mid = x0 + wcol / 2.0;
    let res_x = x0 + wcol + 1.2; // the residual stream on the right
    shapes.push(boxed(
        x0,
        0.2,
        wcol,
        0.9,
        FILL_GREY,
        format!("residual stream in: T × {c}"),
    ));
    shapes.push(arrow((mid, 1.1), (mid, 1.6)));
    shapes.push(boxed(x0, 1.6, wcol, 0.8, FILL_GREY, norm));
    shapes.push(arrow((mid, 2.4), (mid, 2.9)));
    let kv_note = if kv < h {
        format!(" (keys, values: {kv} shared heads)")
    } else {
        String::new()
    };
    shapes.push(boxed(
        x0,
        2.9,
        wcol,
        1.0,
        FILL_BLUE,
        format!("queries, keys, values: {c} → {h} heads × {d}{kv_note}"),
    ));
    // The heads side by side (at most 16 drawn; "…" for the rest).
    let shown = h.min(16);
    let hw = wcol / shown as f64;
    for i in 0..shown {
        let label = if shown < h && i == shown - 2 {
            "…".to_string()
        } else if shown < h && i == shown - 1 {
            format!("{}", h - 1)
        } else {
            format!("{i}")
        };
        shapes.push(arrow(
            (x0 + hw * (i as f64 + 0.5), 3.9),
            (x0 + hw * (i as f64 + 0.5), 4.3),
        ));
        shapes.push(boxed(x0 + hw * i as f64 + 0.05, 4.3, hw - 0.1, 1.0, FILL_PURPLE, label));
    }
    shapes.push(text(
        x0 - 0.2,
        4.8,
        format!("{h} heads:\nattention\nweights\n× values"),
        13.0,
        INK,
        false,
        Anchor::Right,
    ));
    shapes.push(arrow((mid, 5.3), (mid, 5.8)));
    shapes.push(boxed(
        x0,
        5.8,
        wcol,
        1.0,
        FILL_BLUE,
        format!(
            "concatenate {h} × {d} = {}; attention output projection {} × {c}",
            h * d,
            h * d
        ),
    ));
    shapes.push(arrow((mid, 6.8), (res_x - 0.35, 7.3)));
    // The first residual addition.
    let plus = |y: f64| Shape::Circle {
        x: res_x,
        y,
        r: 0.35,
        fill: FILL_ORANGE,
        label: "+".into(),
        text_px: 20.0,
    };
    shapes.push(Shape::Line {
        from: (x0 + wcol, 0.65),
        to: (res_x, 0.65),
        color: GREY,
        width: 2.5,
        arrow: false,
    });
    shapes.push(Shape::Line {
        from: (res_x, 0.65),
        to: (res_x, 6.95),
        color: GREY,
        width: 2.5,
        arrow: true,
    });
    shapes.push(plus(7.3));
    shapes.push(text(
        res_x + 0.5,
        4.0,
        "residual\nconnection",
        13.0,
        GREY,
        false,
        Anchor::Left,
    ));
    shapes.push(Shape::Line {
        from: (res_x, 7.65),
        to: (res_x, 11.25),
        color: GREY,
        width: 2.5,
        arrow: true,
    });
    shapes.push(arrow((res_x - 0.35, 7.5), (mid, 8.0)));
    shapes.push(boxed(x0, 8.0, wcol, 0.8, FILL_GREY, norm));
    shapes.push(arrow((mid, 8.8), (mid, 9.3)));
    shapes.push(boxed(x0, 9.3, wcol, 1.0, FILL_GREEN, mlp_what));
    shapes.push(arrow((mid, 10.3), (res_x - 0.35, 11.5)));
    shapes.push(plus(11.6));
    shapes.push(arrow((res_x, 11.95), (res_x, 12.5)));
    shapes.push(boxed(
        x0,
        12.5,
        wcol + 1.6,
        0.9,
        FILL_GREY,
        format!("residual stream out: T × {c} → the next block"),
    ));
    shapes.push(text(
        x0 + wcol / 2.0,
        13.9,
        format!("this block is repeated {layers} times (blocks 0 … {})", layers - 1),
        16.0,
        INK,
        true,
        Anchor::Center,
    ));
    let attn_weights = c * (h + 2 * kv) * d + h * d * c;
    let mut table = Table::new(&["part", "size", "weights"]);
    table.push(vec![
        "queries/keys/values".into(),
        format!("{c} -> ({h} + 2 x {kv}) x {d}"),
        (c * (h + 2 * kv) * d).to_string(),
    ]);
    table.push(vec![
        "attention output projection".into(),
        format!("{} x {c}", h * d),
        (h * d * c).to_string(),
    ]);
    table.push(vec![
        "mlp".into(),
        format!("{c} -> {mlp} -> {c}"),
        mlp_weights.to_string(),
    ]);
    table.push(vec!["blocks".into(), layers.to_string(), String::new()]);
    let plot = Diagram {
        title: format!("One attention block ({h} heads, vector length {c})"),
        subtitle: ctx.subtitle(&format!(
            "{} weights per block in matrices (attention {}, MLP {})",
            thousands(attn_weights + mlp_weights),
            thousands(attn_weights),
            thousands(mlp_weights)
        ))?,
        width: res_x + 3.2,
        height: 14.4,
        shapes,
    };
    Ok(Figure {
        plot: Plot::Diagram(plot),
        table,
        size: (1200, 1000),
    })
}
