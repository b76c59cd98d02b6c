//! The figure lint: checks that can fail on what a teacher sees, for every figure of the
//! table (all essay sections). A figure is drawn once with the plot library's layout
//! record on ([`crate::plot::layout`]) and the record is checked:
//! - every text lies inside the canvas (nothing clipped);
//! - no text was shortened with "…" (cut-off titles, subtitles, panel titles);
//! - no two texts overlap by more than a small tolerance (labels of bars, points and
//!   cells, ticks, legends, headings);
//! - no text is smaller than [`MIN_TEXT_PX`] at the figure's output size;
//! - every categorical palette has at least as many distinct colours as classes;
//!
//! and the claims of the caption that the figure's CSV can check are checked (for
//! example: no more distinct words seen than are possible; a loss curve that the
//! caption says flattens has no late spikes).

use std::fmt;

use super::render::{Figure, Table};
use crate::error::Result;
use crate::plot::layout::{self, Layout, Role};

/// The smallest text allowed, in plotters' pixels at the figure's output size (the SVG
/// font size is this / 1.24, i.e. about 9.7 px; capitals about 7 px tall).
pub const MIN_TEXT_PX: f64 = crate::plot::theme::MIN_TEXT_PX;

/// How far (pixels) a text may stick out of the canvas before it counts as clipped.
const CLIP_TOLERANCE: f64 = 1.0;

/// Two texts overlap when they share more than this many pixels in both directions and
/// more than [`OVERLAP_SHARE`] of the smaller one's box.
const OVERLAP_PX: f64 = 2.0;
const OVERLAP_SHARE: f64 = 0.08;

/// Which rule a finding breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Clipped,
    Shortened,
    Overlap,
    TooSmall,
    Palette,
    Caption,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Clipped => "text outside the canvas",
            Rule::Shortened => "text cut off",
            Rule::Overlap => "texts overlap",
            Rule::TooSmall => "text too small",
            Rule::Palette => "palette shorter than the classes",
            Rule::Caption => "caption claim not true of the CSV",
        })
    }
}

/// One problem found in one figure.
#[derive(Clone, Debug)]
pub struct Finding {
    pub figure: String,
    pub rule: Rule,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.figure, self.rule, self.detail)
    }
}

/// Draws `fig` (as SVG, in memory) with the layout record on and returns the record.
pub fn layout_of(fig: &Figure) -> Result<Layout> {
    let (svg, layout) = layout::record(fig.size, || fig.svg());
    svg?;
    Ok(layout)
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        s.chars().take(39).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// Checks the layout rules on `layout` (the record of figure `id`).
pub fn check_layout(id: &str, layout: &Layout) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |rule, detail: String| {
        out.push(Finding {
            figure: id.to_string(),
            rule,
            detail,
        })
    };
    let (w, h) = (layout.size.0 as f64, layout.size.1 as f64);
    for t in &layout.texts {
        let r = t.rect;
        if r.0 < -CLIP_TOLERANCE || r.1 < -CLIP_TOLERANCE || r.2 > w + CLIP_TOLERANCE || r.3 > h + CLIP_TOLERANCE {
            push(
                Rule::Clipped,
                format!(
                    "“{}” spans x {:.0}..{:.0}, y {:.0}..{:.0} on a {w}x{h} canvas",
                    short(&t.text),
                    r.0,
                    r.2,
                    r.1,
                    r.3
                ),
            );
        }
        if t.px < MIN_TEXT_PX - 1e-9 {
            push(
                Rule::TooSmall,
                format!(
                    "“{}” ({:?}) is {:.1} px, under {MIN_TEXT_PX} px",
                    short(&t.text),
                    t.role,
                    t.px
                ),
            );
        }
    }
    for s in &layout.shortened {
        push(
            Rule::Shortened,
            format!("“{}” did not fit and was ellipsised", short(s)),
        );
    }
    // Overlaps: pairs of boxes (sorted by left edge, so that only neighbours compare).
    let mut order: Vec<usize> = (0..layout.texts.len()).collect();
    order.sort_by(|&a, &b| layout.texts[a].rect.0.total_cmp(&layout.texts[b].rect.0));
    for (k, &i) in order.iter().enumerate() {
        let a = &layout.texts[i];
        for &j in &order[k + 1..] {
            let b = &layout.texts[j];
            if b.rect.0 >= a.rect.2 {
                break;
            }
            // Pieces of one line of running text join edge to edge by design.
            if a.role == Role::Body && b.role == Role::Body && (a.rect.1 - b.rect.1).abs() < 1.0 {
                continue;
            }
            let iw = a.rect.2.min(b.rect.2) - a.rect.0.max(b.rect.0);
            let ih = a.rect.3.min(b.rect.3) - a.rect.1.max(b.rect.1);
            if iw <= OVERLAP_PX || ih <= OVERLAP_PX {
                continue;
            }
            let area = |r: layout::Rect| (r.2 - r.0) * (r.3 - r.1);
            let smaller = area(a.rect).min(area(b.rect)).max(1.0);
            if layout::overlap(a.rect, b.rect) > OVERLAP_SHARE * smaller {
                push(
                    Rule::Overlap,
                    format!(
                        "“{}” ({:?}) and “{}” ({:?}) share {:.0}x{:.0} px",
                        short(&a.text),
                        a.role,
                        short(&b.text),
                        b.role,
                        iw,
                        ih
                    ),
                );
            }
        }
    }
    for p in &layout.palettes {
        if p.distinct < p.classes {
            push(
                Rule::Palette,
                format!(
                    "{} colours {} classes with {} distinct colours",
                    p.plot, p.classes, p.distinct
                ),
            );
        }
    }
    out
}

/// The numbers of column `name` (cells that are not numbers are skipped); `None` when
/// the table has no such column.
fn column(table: &Table, name: &str) -> Option<Vec<f64>> {
    let i = table.headers.iter().position(|h| h == name)?;
    Some(
        table
            .rows
            .iter()
            .filter_map(|r| r.get(i).and_then(|c| c.parse::<f64>().ok()))
            .collect(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

/// Checks what figure `id`'s caption (and the essay's point it is drawn for) claims,
/// against the figure's table.
pub fn check_claims(id: &str, table: &Table) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut fail = |detail: String| {
        out.push(Finding {
            figure: id.to_string(),
            rule: Rule::Caption,
            detail,
        })
    };
    if table.rows.is_empty() {
        fail("the CSV has no rows".into());
    }
    // Probabilities and shares are in [0, 1].
    for h in &table.headers {
        let is_share = h == "prob" || h.starts_with("probability") || h.starts_with("p_") || h == "agreement";
        if !is_share {
            continue;
        }
        if let Some(bad) = column(table, h)
            .unwrap_or_default()
            .into_iter()
            .find(|v| !(0.0..=1.0 + 1e-9).contains(v))
        {
            fail(format!("column {h} holds {bad}, not a probability"));
        }
    }
    match id {
        "ngram-combinatorics" => {
            let (possible, seen) = (
                column(table, "possible_with_vocabulary").unwrap_or_default(),
                column(table, "distinct_seen_in_corpus").unwrap_or_default(),
            );
            for (n, (p, s)) in possible.iter().zip(&seen).enumerate() {
                if s > p {
                    fail(format!("{}-grams: {s} distinct seen but only {p} possible", n + 1));
                }
            }
        }
        "loss-curve" => {
            // "it falls fast, then flattens out": no late spike far above the late median.
            if let Some(loss) = column(table, "batch_loss") {
                let late = loss[loss.len() / 2..].to_vec();
                let (m, max) = (median(late.clone()), late.iter().copied().fold(f64::MIN, f64::max));
                if max > 10.0 * m {
                    fail(format!(
                        "the caption says the loss flattens, but the second half peaks at {max:.4}, {:.0}x its median {m:.4}",
                        max / m
                    ));
                }
                let first = median(loss[..(loss.len() / 10).max(1)].to_vec());
                if median(late) >= first {
                    fail("the caption says the loss falls, but the second half's median is not below the start".into());
                }
            }
        }
        "nearest-point-nets" => {
            // The essay's point: a bigger net does the task better.
            let (loss, agree) = (
                column(table, "final_loss").unwrap_or_default(),
                column(table, "agreement").unwrap_or_default(),
            );
            if let Some(l) = loss.iter().find(|&&l| l >= 0.99 * 3f64.ln()) {
                fail(format!(
                    "a net did not train: final loss {l:.3}, chance level ln 3 = {:.3}",
                    3f64.ln()
                ));
            }
            if let (Some(first), Some(last)) = (agree.first(), agree.last()) {
                if last < first {
                    fail(format!(
                        "the largest net gets {last:.3} of the plane right, the smallest {first:.3}: size does not help"
                    ));
                }
            }
        }
        "parens-next-token" => {
            // "here it learns most of it, but slips more": the 1-block model puts more on
            // forbidden tokens than the 2-block one, over the same sampled sequences.
            let mean_of = |blocks: &str| {
                let (b, m) = (
                    table.headers.iter().position(|h| h == "blocks"),
                    table.headers.iter().position(|h| h == "mean_forbidden"),
                );
                let v: Vec<f64> = table
                    .rows
                    .iter()
                    .filter(|r| b.is_some_and(|b| r[b] == blocks))
                    .filter_map(|r| m.and_then(|m| r[m].parse::<f64>().ok()))
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            };
            let (two, one) = (mean_of("2"), mean_of("1"));
            if one <= two {
                fail(format!(
                    "the caption says 1 block slips more, but it puts {one:.2e} on forbidden tokens on average, 2 blocks {two:.2e}"
                ));
            }
        }
        "parens-completions" => {
            // "right up to a certain length and then starts to fail".
            let i = table.headers.iter().position(|h| h == "balanced");
            let ok: Vec<bool> = table.rows.iter().filter_map(|r| i.map(|i| r[i] == "true")).collect();
            if ok.first() != Some(&true) {
                fail("the caption says the model is right on short runs, but it fails on a single \"(\"".into());
            }
            if ok.iter().all(|&b| b) {
                fail("the caption says the model starts to fail on long runs, but every completion is balanced".into());
            }
        }
        _ => {}
    }
    out
}

/// Every check on figure `id`: its layout and its caption's claims.
pub fn check(id: &str, fig: &Figure) -> Result<Vec<Finding>> {
    let mut out = check_layout(id, &layout_of(fig)?);
    out.extend(check_claims(id, &fig.table));
    Ok(out)
}
