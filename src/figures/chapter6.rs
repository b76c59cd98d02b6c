//! Essay section 6, "Inside ChatGPT": the embedding module's arrays
//! for "hello" x10 then "bye" x10, the attention weights of every head of the first
//! block and of head 0 in every block, the first block's square attention output
//! projection (`attn.c_proj`) raw and after a 64x64 moving average, the smoothed
//! projections of all blocks, and histograms of their values. Beyond the essay: the
//! logit lens (the top next-token guess after every block), and [`side_by_side`], which
//! puts two models' next-token guesses for one prompt next to each other.
//!
//! Every figure adapts to the model in use (a RoPE model has no position embeddings
//! and the figure says so; SmolLM2 has 30 blocks of 9 heads, width 576). Prompts live
//! in `data/figures/<id>.json` ([`super::FigureSpec::from_data_file`]: read when the
//! parameters are made, so an edit makes the figure stale).

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::attention;
use crate::analysis::embedding_module::{embedding_module, rotary_view};
use crate::analysis::lens::logit_lens;
use crate::analysis::matrix::{count_beyond_sigmas, gaussian_two_tail, histogram, moving_average_2d, Matrix};
use crate::error::{Error, Result};
use crate::model::LanguageModel;
use crate::plot::{BarChart, Bins, Colormap, Heatmap, Histogram, Panels, Span, TextPanel, ValueFormat};
use crate::{sampling, LoadedModel};

const SECTION: &str = super::sections::INSIDE_CHATGPT;

/// A prompt (`data/figures/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptParams {
    pub prompt: String,
}

/// A prompt and the block whose heads are shown (`data/figures/attention-block1-heads.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeadsParams {
    pub prompt: String,
    #[serde(default)]
    pub layer: usize,
}

/// A prompt and the head shown in every block (`data/figures/attention-head1-blocks.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadBlocksParams {
    pub prompt: String,
    #[serde(default)]
    pub head: usize,
}

/// One block's attention output projection, colours clipped at `clip_sigmas` standard
/// deviations (0: no clipping).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjParams {
    pub layer: usize,
    pub clip_sigmas: f64,
}

/// One block's projection after a `window` x `window` moving average.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothedParams {
    pub layer: usize,
    pub window: usize,
}

/// Every block's smoothed projection, each drawn with at most `max_cells` cells a side.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllSmoothedParams {
    pub window: usize,
    pub max_cells: usize,
}

/// Histograms of every block's projection: `bins` bins over one range shared by every
/// block (the smallest to the largest weight of any block: nothing is left out), counts
/// on a log axis with `log_y`; each panel counts its weights beyond `sigmas` standard
/// deviations, against a Gaussian's expectation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramParams {
    pub bins: usize,
    pub sigmas: f64,
    pub log_y: bool,
}

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let (s, m) = (SECTION, Made::Model);
    let mut list = vec![
        FigureSpec::from_data_file("embedding-module", s, m, "The embedding module on the prompt “{prompt}”: token embeddings, position embeddings and their sum, one column per token, one row per vector element. A model with rotary positions (RoPE, such as SmolLM2) adds no position embeddings: it shows instead the rotation angles and block 0's queries before and after the rotation. The subtitle names any word the tokenizer splits into several tokens.", embedding_module_fig),
        FigureSpec::from_data_file("attention-block1-heads", s, m, "Attention weights of every head in block {layer} on the prompt: how much each position (row) takes from each earlier position (column).", block_heads),
        FigureSpec::new("attn-proj-matrix", s, m, "Block {layer}'s square attention output projection (attn.c_proj: the heads' outputs back into the residual stream), every weight as a colour.", || ProjParams { layer: 0, clip_sigmas: 3.0 }, proj_matrix),
        FigureSpec::new("attn-proj-matrix-smoothed", s, m, "The same matrix after a {window}x{window} moving average: some random-walk-like structure appears.", || SmoothedParams { layer: 0, window: 64 }, proj_matrix_smoothed),
        FigureSpec::from_data_file("attention-head1-blocks", s, m, "The attention weights of head {head} in every block, on the prompt.", head_blocks),
        FigureSpec::new("attn-proj-matrices-all", s, m, "The moving-averaged attention output projection of every block: they look alike.", || AllSmoothedParams { window: 64, max_cells: 48 }, proj_matrices_all),
        FigureSpec::new("weight-histograms", s, m, "The distribution of the attention output projection's weights in every block, on one shared x range with log counts so the tails show: similar matrices, different spreads, and far more weights beyond {sigmas} standard deviations than a Gaussian would have (the count is in each panel title): not always Gaussian.", || HistogramParams { bins: 120, sigmas: 5.0, log_y: true }, weight_histograms),
        FigureSpec::from_data_file("logit-lens", super::experiments::SECTION, m, "Beyond the essay: the logit lens, the top next-token guess read off the residual stream after every block (through the final norm and the unembedding), with its probability as colour.", logit_lens_fig),
    ];
    // The diagrams (diagrams.rs): the embedding module's before its arrays, one
    // attention block's after them (the essay's order).
    super::insert_after(&mut list, "embedding-module", super::diagrams::section6_block());
    list.splice(0..0, super::diagrams::section6_embedding());
    list
}

/// Readable token labels (leading space shown as ␣).
fn labels(lm: &LoadedModel, ids: &[u32]) -> Vec<String> {
    lm.tokenizer.labels(ids)
}

/// Columns and pixel size for `n` small-multiple panels.
fn grid_layout(n: usize, panel_px: u32) -> (usize, (u32, u32)) {
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(cols);
    let w = (panel_px * cols as u32 + 80).min(2400);
    let panel_w = (w - 80) / cols as u32;
    (cols, (w, panel_w * rows as u32 + 40 * rows as u32 + 160))
}

fn embedding_module_fig(ctx: &Ctx, p: &PromptParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let em = embedding_module(&lm.model, &ids)?;
    let cols = labels(lm, &ids);
    let c = em.token.rows;
    let panel = |title: &str, m: &Matrix| {
        Plot::Heatmap(Heatmap {
            title: String::new(),
            subtitle: String::new(),
            rows: m.rows,
            cols: m.cols,
            values: m.values.clone(),
            col_labels: cols.clone(),
            x_label: "token".into(),
            y_label: format!("{title}: element (0..{c})"),
            colormap: Colormap::BlueWhiteRed,
            stretch: true,
            ..Default::default()
        })
    };
    let rope = rotary_view(&lm.model, &ids)?;
    let heat = |m: &Matrix, y_label: String| {
        Plot::Heatmap(Heatmap {
            rows: m.rows,
            cols: m.cols,
            values: m.values.clone(),
            col_labels: cols.clone(),
            x_label: "token".into(),
            y_label,
            colormap: Colormap::BlueWhiteRed,
            stretch: true,
            ..Default::default()
        })
    };
    let (plots, panel_titles, title) = match (&em.position, &rope) {
        (Some(pos), _) => (
            vec![panel("token", &em.token), panel("position", pos), panel("sum", &em.sum)],
            vec![
                "token embeddings (rows of W_E)".to_string(),
                "position embeddings (rows of W_pos)".into(),
                "their sum".into(),
            ],
            "The embedding module: token + position = what enters block 0",
        ),
        (None, Some(r)) => {
            let d = r.query.rows;
            (
                vec![
                    panel("token", &em.token),
                    heat(&r.cos, format!("rotation frequency i (0..{})", r.cos.rows)),
                    heat(&r.query, format!("query element (0..{d})")),
                    heat(&r.rotated, format!("query element (0..{d})")),
                ],
                vec![
                    "token embeddings (W_E rows)".to_string(),
                    "RoPE angles: cos(t·θᵢ)".into(),
                    "block 0 head 0 queries".into(),
                    "the same, rotated by t·θᵢ".into(),
                ],
                "No position embeddings: RoPE rotates queries and keys by the position instead",
            )
        }
        (None, None) => {
            return Err(ctx.bad_input("the model has neither position embeddings nor rotary positions; nothing to show"))
        }
    };
    // Which words of the prompt the tokenizer splits, so that "bye x10" is not claimed
    // when " bye" is two tokens.
    let mut split = Vec::new();
    for w in p.prompt.split_whitespace() {
        let piece = format!(" {w}");
        let wids = lm.tokenizer.encode(&piece)?;
        let note = format!("“{w}” = {} tokens ({})", wids.len(), labels(lm, &wids).join(" + "));
        if wids.len() > 1 && !split.contains(&note) {
            split.push(note);
        }
    }
    let words = p.prompt.split_whitespace().count();
    let rope_note = match &rope {
        Some(r) => format!("; θᵢ = {}^(−2i/{}), nothing added", r.base, r.query.rows),
        None => String::new(),
    };
    let panels = Panels {
        title: title.into(),
        subtitle: ctx.subtitle(&format!(
            "{words} words = {} tokens{}{rope_note}",
            ids.len(),
            if split.is_empty() {
                String::new()
            } else {
                format!(" ({})", split.join(", "))
            }
        ))?,
        columns: plots.len(),
        panel_titles,
    };
    let mut headers: Vec<String> = vec!["array".into(), "element".into()];
    headers.extend(
        ids.iter()
            .enumerate()
            .map(|(t, &id)| format!("{t}:{}", lm.tokenizer.token_str(id))),
    );
    let mut table = Table {
        headers,
        rows: Vec::new(),
    };
    let arrays: Vec<(&str, &Matrix)> = [
        ("token", Some(&em.token)),
        ("position", em.position.as_ref()),
        ("sum", em.position.as_ref().map(|_| &em.sum)),
        ("rope_cos", rope.as_ref().map(|r| &r.cos)),
        ("block0_head0_query", rope.as_ref().map(|r| &r.query)),
        ("block0_head0_query_rotated", rope.as_ref().map(|r| &r.rotated)),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.map(|m| (n, m)))
    .collect();
    for (name, m) in arrays {
        for e in 0..m.rows {
            let mut row = vec![name.to_string(), e.to_string()];
            row.extend((0..m.cols).map(|t| (m.at(e, t) as f32).to_string()));
            table.push(row);
        }
    }
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: (1800, 1100),
    })
}

/// A T x T attention pattern as a heatmap panel, probabilities 0..1.
fn attention_panel(m: &Matrix, labels: &[String]) -> Plot {
    Plot::Heatmap(Heatmap {
        rows: m.rows,
        cols: m.cols,
        values: m.values.clone(),
        row_labels: labels.to_vec(),
        col_labels: labels.to_vec(),
        colormap: Colormap::Viridis,
        range: Some((0.0, 1.0)),
        colorbar: false,
        ..Default::default()
    })
}

/// Rows `what`, index, query and key positions and tokens, weight.
fn attention_table(what: &str, mats: &[Matrix], toks: &[String]) -> Table {
    let mut table = Table::new(&[what, "query_pos", "query_token", "key_pos", "key_token", "weight"]);
    for (i, m) in mats.iter().enumerate() {
        for q in 0..m.rows {
            for k in 0..m.cols {
                table.push(vec![
                    i.to_string(),
                    q.to_string(),
                    toks[q].clone(),
                    k.to_string(),
                    toks[k].clone(),
                    m.at(q, k).to_string(),
                ]);
            }
        }
    }
    table
}

fn block_heads(ctx: &Ctx, p: &BlockHeadsParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let layer = p.layer;
    let heads = attention::block_patterns(&lm.model, &ids, layer)?;
    let labs = labels(lm, &ids);
    let (columns, size) = grid_layout(heads.len(), 420);
    let panels = Panels {
        title: format!(
            "Attention weights of the {} heads of block {layer}{}",
            heads.len(),
            if layer == 0 { " (the first)" } else { "" }
        ),
        subtitle: ctx.subtitle_vs_essay("row attends to column; dark 0 to yellow 1; rows sum to 1")?,
        panel_titles: (0..heads.len()).map(|h| format!("head {h}")).collect(),
        columns,
    };
    let plots = heads.iter().map(|m| attention_panel(m, &labs)).collect();
    let toks: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table: attention_table("head", &heads, &toks),
        size,
    })
}

fn head_blocks(ctx: &Ctx, p: &HeadBlocksParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let head = p.head;
    let blocks = attention::head_across_blocks(&lm.model, &ids, head)?;
    let labs = labels(lm, &ids);
    let (columns, size) = grid_layout(blocks.len(), 400);
    let panels = Panels {
        title: format!(
            "Head {head}{} in each of the {} blocks",
            if head == 0 { " (the first)" } else { "" },
            blocks.len()
        ),
        subtitle: ctx.subtitle_vs_essay("row attends to column; dark 0 to yellow 1")?,
        panel_titles: (0..blocks.len()).map(|l| format!("block {l}")).collect(),
        columns,
    };
    let plots = blocks.iter().map(|m| attention_panel(m, &labs)).collect();
    let toks: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table: attention_table("block", &blocks, &toks),
        size,
    })
}

/// Block l's attention output projection oriented input x output: rows = the heads'
/// outputs side by side (H D), columns = residual-stream elements (C), as the decoder
/// keeps it for every family (GPT-2 stores `attn.c_proj.weight` that way; Llama's
/// `o_proj.weight` (C, H D) is loaded transposed).
pub fn proj_matrix_of(lm: &LanguageModel, l: usize) -> Result<Matrix> {
    Matrix::from_tensor(lm.attn_proj(l)?)
}

fn std_of(values: &[f64]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// A matrix heatmap, blue negative, red positive, symmetric range `r`.
fn matrix_heatmap(m: &Matrix, r: f64, colorbar: bool, colorbar_label: String) -> Heatmap {
    Heatmap {
        rows: m.rows,
        cols: m.cols,
        values: m.values.clone(),
        colormap: Colormap::BlueWhiteRed,
        range: Some((-r.max(f64::MIN_POSITIVE), r.max(f64::MIN_POSITIVE))),
        colorbar,
        colorbar_label,
        ..Default::default()
    }
}

/// A matrix as CSV: `row`, then one column per matrix column.
fn matrix_table(m: &Matrix) -> Table {
    let mut headers = vec!["row".to_string()];
    headers.extend((0..m.cols).map(|j| j.to_string()));
    let mut table = Table {
        headers,
        rows: Vec::with_capacity(m.rows),
    };
    for i in 0..m.rows {
        let mut row = vec![i.to_string()];
        row.extend((0..m.cols).map(|j| (m.at(i, j) as f32).to_string()));
        table.push(row);
    }
    table
}

const PROJ_ROWS: &str = "input: the heads' outputs side by side";
const PROJ_COLS: &str = "output: residual-stream element";

fn proj_matrix(ctx: &Ctx, p: &ProjParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let layer = p.layer;
    let m = proj_matrix_of(&lm.model, layer)?;
    let k = p.clip_sigmas;
    let r = if k > 0.0 {
        k * std_of(&m.values)
    } else {
        m.values.iter().fold(0.0f64, |a, v| a.max(v.abs()))
    };
    let mut h = matrix_heatmap(
        &m,
        r,
        true,
        if k > 0.0 {
            format!("weight (colours saturate at ±{k}σ)")
        } else {
            "weight".into()
        },
    );
    h.title = format!(
        "Block {layer}'s attention output projection: {}x{} weights",
        m.rows, m.cols
    );
    h.subtitle = ctx.subtitle_vs_essay("every weight as a colour, blue negative, red positive")?;
    h.y_label = PROJ_ROWS.into();
    h.x_label = PROJ_COLS.into();
    Ok(Figure {
        plot: Plot::Heatmap(h),
        table: matrix_table(&m),
        size: (1150, 1000),
    })
}

/// The window actually used: the asked one, capped at a quarter of the matrix for
/// narrow models (64 on a 64-wide synthetic model would leave a single cell).
fn window_for(asked: usize, m: &Matrix) -> usize {
    asked.min(m.rows.min(m.cols) / 4).max(1)
}

fn window_note(asked: usize, used: usize) -> String {
    if asked == used {
        format!("{used}x{used} moving average")
    } else {
        format!("{used}x{used} moving average (asked {asked}, capped at a quarter of this narrow model's width)")
    }
}

fn proj_matrix_smoothed(ctx: &Ctx, p: &SmoothedParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let layer = p.layer;
    let asked = p.window;
    let m = proj_matrix_of(&lm.model, layer)?;
    let w = window_for(asked, &m);
    let s = moving_average_2d(&m, w, w)?;
    let r = s.values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut h = matrix_heatmap(&s, r, true, "mean weight in the window".into());
    h.title = format!("Block {layer}'s attention output projection, smoothed");
    h.subtitle = ctx.subtitle(&format!(
        "{} of the {}x{} matrix: {}x{} windows",
        window_note(asked, w),
        m.rows,
        m.cols,
        s.rows,
        s.cols
    ))?;
    h.y_label = format!("{PROJ_ROWS} (window start)");
    h.x_label = format!("{PROJ_COLS} (window start)");
    Ok(Figure {
        plot: Plot::Heatmap(h),
        table: matrix_table(&s),
        size: (1150, 1000),
    })
}

fn proj_matrices_all(ctx: &Ctx, p: &AllSmoothedParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let asked = p.window;
    let max_cells = p.max_cells.max(1);
    let n_layer = lm.model.info().n_layer;
    let mut shown = Vec::with_capacity(n_layer);
    let (mut w, mut stride, mut full) = (asked, 1, (0, 0));
    for l in 0..n_layer {
        let m = proj_matrix_of(&lm.model, l)?;
        w = window_for(asked, &m);
        let s = moving_average_2d(&m, w, w)?;
        full = (s.rows, s.cols);
        // Every `stride`-th window, so that a small panel shows what it can resolve.
        stride = s.rows.max(s.cols).div_ceil(max_cells);
        let (r, c) = (s.rows.div_ceil(stride), s.cols.div_ceil(stride));
        let values = (0..r)
            .flat_map(|i| (0..c).map(move |j| (i, j)))
            .map(|(i, j)| s.at(i * stride, j * stride))
            .collect();
        shown.push(Matrix::new(r, c, values)?);
    }
    let r = shown.iter().flat_map(|m| &m.values).fold(0.0f64, |a, v| a.max(v.abs()));
    let (columns, size) = grid_layout(n_layer, 360);
    let panels = Panels {
        title: format!("The attention output projection of all {n_layer} blocks, smoothed"),
        subtitle: ctx.subtitle(&format!(
            "{}, every {stride}th of {}x{} windows; one colour scale",
            window_note(asked, w),
            full.0,
            full.1
        ))?,
        panel_titles: (0..n_layer).map(|l| format!("block {l}")).collect(),
        columns,
    };
    // Axis labels: where each shown window starts in the full matrix.
    let starts = |n: usize| (0..n).map(|i| (i * stride).to_string()).collect::<Vec<_>>();
    let plots = shown
        .iter()
        .map(|m| {
            let mut h = matrix_heatmap(m, r, false, String::new());
            h.row_labels = starts(m.rows);
            h.col_labels = starts(m.cols);
            Plot::Heatmap(h)
        })
        .collect();
    let mut table = Table::new(&[
        "block",
        "row",
        "col",
        "window_row_start",
        "window_col_start",
        "mean_weight",
    ]);
    for (l, m) in shown.iter().enumerate() {
        for i in 0..m.rows {
            for j in 0..m.cols {
                table.push(vec![
                    l.to_string(),
                    i.to_string(),
                    j.to_string(),
                    (i * stride).to_string(),
                    (j * stride).to_string(),
                    (m.at(i, j) as f32).to_string(),
                ]);
            }
        }
    }
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size,
    })
}

fn weight_histograms(ctx: &Ctx, p: &HistogramParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let bins = p.bins;
    let log_y = p.log_y;
    let k = p.sigmas;
    let n_layer = lm.model.info().n_layer;
    let blocks: Vec<Vec<f64>> = (0..n_layer)
        .map(|l| Ok(proj_matrix_of(&lm.model, l)?.values))
        .collect::<Result<_>>()?;
    // One x range for every panel, the smallest and largest weight of any block, so
    // that spreads can be compared and no value is dropped; the tails show on log counts.
    let (lo, hi) = blocks
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let mut hists = Vec::with_capacity(n_layer);
    let mut beyond = Vec::with_capacity(n_layer);
    for values in &blocks {
        hists.push(histogram(values, bins, Some((lo, hi)))?);
        beyond.push(count_beyond_sigmas(values, k));
    }
    let n_weights = blocks.first().map_or(0, Vec::len);
    let expected = n_weights as f64 * gaussian_two_tail(k);
    let (columns, size) = grid_layout(n_layer, 380);
    let panels = Panels {
        title: format!(
            "Weight values of the attention output projection, block by block ({} blocks)",
            n_layer
        ),
        subtitle: ctx.subtitle(&format!(
            "one x range for all blocks{}; \"n > {k}σ\": weights beyond {k} standard deviations (a Gaussian: {expected:.1})",
            if log_y {
                ", log counts"
            } else {
                ""
            }
        ))?,
        panel_titles: hists
            .iter()
            .zip(&beyond)
            .enumerate()
            .map(|(l, (_, b))| format!("block {l}: {b} > {k}σ"))
            .collect(),
        columns,
    };
    let plots = hists
        .iter()
        .map(|h| {
            Plot::Histogram(Histogram {
                title: String::new(),
                subtitle: String::new(),
                bins: Bins::Counted {
                    edges: h.edges.clone(),
                    counts: h.counts.clone(),
                },
                x_label: "weight".into(),
                y_label: if log_y { "count (log)".into() } else { "count".into() },
                log_y,
            })
        })
        .collect();
    let mut table = Table::new(&[
        "block",
        "bin_low",
        "bin_high",
        "count",
        "n",
        "mean",
        "std",
        "excess_kurtosis",
        "beyond_sigmas",
        "count_beyond",
        "gaussian_expected_beyond",
    ]);
    for (l, h) in hists.iter().enumerate() {
        for (b, c) in h.counts.iter().enumerate() {
            table.push(vec![
                l.to_string(),
                h.edges[b].to_string(),
                h.edges[b + 1].to_string(),
                c.to_string(),
                h.n.to_string(),
                h.mean.to_string(),
                h.std.to_string(),
                h.excess_kurtosis.to_string(),
                k.to_string(),
                beyond[l].to_string(),
                expected.to_string(),
            ]);
        }
    }
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size,
    })
}

/// A token label short enough for a heatmap cell.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        label.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn logit_lens_fig(ctx: &Ctx, p: &PromptParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let lens = logit_lens(&lm.model, &lm.tokenizer, &ids)?;
    let (rows, cols) = (lens.rows.len(), ids.len());
    let cells: Vec<_> = lens.cells.iter().flatten().collect();
    let h = Heatmap {
        title: "The logit lens: the model's next-token guess after every block".into(),
        subtitle: ctx.subtitle(
            "each cell: the top token read through the final norm and unembedding, colour = its probability",
        )?,
        rows,
        cols,
        values: cells.iter().map(|c| c.prob).collect(),
        row_labels: lens.rows.clone(),
        col_labels: labels(lm, &ids),
        x_label: "input token (the guess is for the token after it)".into(),
        y_label: "residual stream after".into(),
        colormap: Colormap::Viridis,
        range: Some((0.0, 1.0)),
        annotate: ValueFormat::Custom(
            cells
                .iter()
                .map(|c| short(&lm.tokenizer.token_label(c.id), 9))
                .collect(),
        ),
        colorbar_label: "probability of the top token".into(),
        stretch: true,
        ..Default::default()
    };
    let mut table = Table::new(&["row", "position", "input_token", "top_id", "top_token", "prob"]);
    for (r, row) in lens.cells.iter().enumerate() {
        for (t, c) in row.iter().enumerate() {
            table.push(vec![
                lens.rows[r].clone(),
                t.to_string(),
                lens.tokens[t].clone(),
                c.id.to_string(),
                c.token.clone(),
                c.prob.to_string(),
            ]);
        }
    }
    let size = (
        (260 + 95 * cols as u32).clamp(900, 2400),
        (260 + 40 * rows as u32).clamp(600, 1600),
    );
    Ok(Figure {
        plot: Plot::Heatmap(h),
        table,
        size,
    })
}

/// Several models on one prompt, side by side: each model's `top` most likely next
/// tokens as a bar chart, or, for a model that could not be loaded, a panel saying
/// which one is missing and why. `models` pairs a name with the loaded model or the
/// error its loading gave (e.g. `("gpt2", loaded.as_ref())` for `loaded =
/// LoadedModel::load("gpt2", true)`). The figure builder gets one model, so this lives
/// here for notebooks rather than in the figure table.
pub fn side_by_side(
    prompt: &str,
    models: &[(String, std::result::Result<&LoadedModel, &Error>)],
    top: usize,
) -> Result<Figure> {
    if models.is_empty() {
        return Err(Error::NothingToCompare);
    }
    let mut plots = Vec::new();
    let mut titles = Vec::new();
    let mut table = Table::new(&["model", "rank", "id", "token", "prob"]);
    for (name, m) in models {
        match m {
            Ok(lm) => {
                let ids = lm.encode_prompt(prompt)?;
                let logits = lm.model.logits(&ids)?; // (T, V)
                let best = sampling::top_k(&logits.get(-1), top, &lm.tokenizer)?;
                for (i, t) in best.iter().enumerate() {
                    table.push(vec![
                        name.clone(),
                        (i + 1).to_string(),
                        t.id.to_string(),
                        t.token.clone(),
                        t.prob.to_string(),
                    ]);
                }
                titles.push(lm.caption());
                plots.push(Plot::Bars(BarChart {
                    title: String::new(),
                    subtitle: format!("{} prompt tokens", ids.len()),
                    labels: best.iter().map(|t| lm.tokenizer.token_label(t.id)).collect(),
                    values: best.iter().map(|t| t.prob).collect(),
                    value_format: ValueFormat::Percent(1),
                    x_label: "probability of the next token".into(),
                    highlight: vec![0],
                }));
            }
            Err(why) => {
                titles.push(format!("{name}: not available"));
                plots.push(Plot::Text(TextPanel {
                    title: String::new(),
                    subtitle: String::new(),
                    paragraphs: vec![
                        vec![Span::highlight(format!("The model `{name}` is missing here."))],
                        vec![Span::plain(why.to_string())],
                    ],
                    list: vec![],
                }));
            }
        }
    }
    let panels = Panels {
        title: format!("“{prompt}” …"),
        subtitle: "the most likely next tokens, model by model".into(),
        panel_titles: titles,
        columns: models.len(),
    };
    let size = ((700 * models.len() as u32).clamp(800, 2400), 700);
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size,
    })
}
