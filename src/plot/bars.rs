//! Bars: the ranked bar chart (the next-word table, letter frequencies) and the
//! histogram (weight distributions).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axes::{self, format_number, Axis, FrameSpec};
use super::layout::{self, Role};
use super::theme::{self, put_text, Theme, VAlign};
use super::PlotError;

/// How values are written next to bars or in heatmap cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ValueFormat {
    /// Not written.
    None,
    /// Three significant digits (0.0449, 12.3, 4512).
    #[default]
    Auto,
    /// A fixed number of decimals.
    Decimal(usize),
    /// Times 100 with a per cent sign and this many decimals (0.0449 -> "4.5%").
    Percent(usize),
    /// One string per value, in order.
    Custom(Vec<String>),
}

impl ValueFormat {
    /// The text for value `i`, `v`; `None` when values are not written.
    pub fn format(&self, i: usize, v: f64) -> Option<String> {
        let minus = |s: String| s.replace('-', "\u{2212}");
        match self {
            ValueFormat::None => None,
            ValueFormat::Auto => Some(if v.is_finite() {
                minus(significant(v, 3))
            } else {
                String::new()
            }),
            ValueFormat::Decimal(d) => Some(minus(format!("{v:.d$}"))),
            ValueFormat::Percent(d) => Some(minus(format!("{:.d$}%", v * 100.0))),
            ValueFormat::Custom(labels) => labels.get(i).cloned(),
        }
    }

    /// A tick label on an axis of such values.
    pub(crate) fn tick(&self, v: f64, step: f64) -> String {
        match self {
            ValueFormat::Percent(_) => format_number(v * 100.0, step * 100.0) + "%",
            _ => format_number(v, step),
        }
    }

    pub(crate) fn check_len(&self, what: &str, n: usize) -> Result<(), PlotError> {
        match self {
            ValueFormat::Custom(labels) if labels.len() != n => Err(PlotError::Data(format!(
                "{what}: {} custom value labels for {n} values",
                labels.len()
            ))),
            _ => Ok(()),
        }
    }
}

fn significant(v: f64, digits: i32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{:.*e}", (digits - 1) as usize, v);
    }
    let decimals = (digits - 1 - mag).max(0) as usize;
    format!("{v:.decimals$}")
}

/// Horizontal bars, ranked top to bottom in the order given, labels on the left and
/// values written past the bar ends: the next-word top-5 table.
#[derive(Clone, Debug, Default)]
pub struct BarChart {
    pub title: String,
    /// Shown under the title in grey: the model, the prompt, the source.
    pub subtitle: String,
    /// One label per bar (a token such as " learn": see [`super::visible_whitespace`]).
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    pub value_format: ValueFormat,
    /// Description of the value axis ("probability").
    pub x_label: String,
    /// Bars (by index) drawn in the accent colour.
    pub highlight: Vec<usize>,
}

/// Draws a [`BarChart`] into `area`.
pub fn draw_bar_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &BarChart) -> Result<(), PlotError> {
    let n = data.values.len();
    if n == 0 {
        return Err(PlotError::Data("bar chart: no values".into()));
    }
    if data.labels.len() != n {
        return Err(PlotError::Data(format!(
            "bar chart: {} labels for {n} values",
            data.labels.len()
        )));
    }
    if let Some(v) = data.values.iter().find(|v| !v.is_finite()) {
        return Err(PlotError::Data(format!("bar chart: value {v} is not a finite number")));
    }
    data.value_format.check_len("bar chart", n)?;
    if let Some(&i) = data.highlight.iter().find(|&&i| i >= n) {
        return Err(PlotError::Data(format!(
            "bar chart: highlighted bar {i} does not exist ({n} bars)"
        )));
    }

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (_, body_h) = body.dim_in_pixel();

    // Category labels as large as the bars allow.
    let slot = body_h as f64 * 0.8 / n as f64;
    let label_px = theme.label_px().min(slot * 0.75).max(theme::MIN_TEXT_PX);
    let label_style = theme::style(label_px, theme::TEXT);
    let value_labels: Vec<String> = data
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, &v)| data.value_format.format(i, v))
        .collect();
    let value_w = theme::max_width(&value_labels, &label_style)?;

    let min = data.values.iter().copied().fold(0.0, f64::min);
    let max = data.values.iter().copied().fold(0.0, f64::max);
    let max = if max == min { min + 1.0 } else { max };
    let fmt = |v: f64, step: f64| data.value_format.tick(v, step);
    let x = Axis::linear_with(min, max, 5, &fmt);
    let y = Axis::categories(&data.labels, true);
    let spec = FrameSpec {
        x: &x,
        y: &y,
        x_desc: &data.x_label,
        y_desc: "",
        x_grid: true,
        y_grid: false,
        y_tick_px: Some(label_px),
        right: value_w + theme.gap() * 3,
    };
    let frame = axes::frame(&body, &theme, &spec)?;

    let _labels = layout::role(Role::Label);
    let half = 0.36;
    frame.chart.plotting_area().draw(&PathElement::new(
        vec![(0.0, y.lo), (0.0, y.hi)],
        theme::AXIS.stroke_width(1),
    ))?;
    for (i, &v) in data.values.iter().enumerate() {
        let color = if data.highlight.contains(&i) {
            theme::ORANGE
        } else {
            theme::BLUE
        };
        let c = (n - 1 - i) as f64;
        frame
            .chart
            .plotting_area()
            .draw(&Rectangle::new([(0.0, c - half), (v, c + half)], color.filled()))?;
        if let Some(text) = data.value_format.format(i, v) {
            let (px, py) = frame.px(v, c);
            let w = theme::max_width(std::slice::from_ref(&text), &label_style)?;
            let at = if v >= 0.0 {
                (px + theme.gap(), HPos::Left)
            } else if px - theme.gap() - w >= frame.rect.0 {
                (px - theme.gap(), HPos::Right)
            } else {
                // No room left of a long negative bar before the category labels: the
                // value goes right of the zero line instead of over the labels.
                (frame.px(0.0, c).0 + theme.gap(), HPos::Left)
            };
            put_text(&body, &text, &label_style, (at.0, py), at.1, VAlign::Middle)?;
        }
    }
    Ok(())
}

/// The bins of a [`Histogram`].
#[derive(Clone, Debug)]
pub enum Bins {
    /// Counts already binned: `edges` has one more entry than `counts`.
    Counted { edges: Vec<f64>, counts: Vec<f64> },
    /// Raw values, split into `bins` equal bins between their minimum and maximum.
    Values { values: Vec<f64>, bins: usize },
}

impl Default for Bins {
    fn default() -> Self {
        Bins::Values {
            values: Vec::new(),
            bins: 50,
        }
    }
}

impl Bins {
    /// The bin edges and counts (binning raw values).
    pub fn edges_and_counts(&self) -> Result<(Vec<f64>, Vec<f64>), PlotError> {
        match self {
            Bins::Counted { edges, counts } => {
                if counts.is_empty() || edges.len() != counts.len() + 1 {
                    return Err(PlotError::Data(format!(
                        "histogram: {} edges for {} bins (need one more edge than bins)",
                        edges.len(),
                        counts.len()
                    )));
                }
                if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[1] <= w[0]) {
                    return Err(PlotError::Data(
                        "histogram: bin edges must be finite and increasing".into(),
                    ));
                }
                if counts.iter().any(|c| !c.is_finite() || *c < 0.0) {
                    return Err(PlotError::Data("histogram: counts must be finite and >= 0".into()));
                }
                Ok((edges.clone(), counts.clone()))
            }
            Bins::Values { values, bins } => {
                if values.is_empty() || *bins == 0 {
                    return Err(PlotError::Data(format!(
                        "histogram: {} values into {bins} bins (need at least one of each)",
                        values.len()
                    )));
                }
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return Err(PlotError::Data(format!("histogram: value {v} is not a finite number")));
                }
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
                let width = (hi - lo) / *bins as f64;
                let edges: Vec<f64> = (0..=*bins).map(|i| lo + i as f64 * width).collect();
                let mut counts = vec![0.0; *bins];
                for v in values {
                    let i = (((v - lo) / width) as usize).min(bins - 1);
                    counts[i] += 1.0;
                }
                Ok((edges, counts))
            }
        }
    }
}

/// A histogram: bars over bins, from counts or from raw values.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    pub title: String,
    pub subtitle: String,
    pub bins: Bins,
    pub x_label: String,
    /// Usually "count" (or "fraction" for normalised counts).
    pub y_label: String,
    /// Counts on a log axis (empty bins are left out).
    pub log_y: bool,
}

/// Draws a [`Histogram`] into `area`.
pub fn draw_histogram<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Histogram) -> Result<(), PlotError> {
    let (edges, counts) = data.bins.edges_and_counts()?;
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;

    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    let x = Axis::linear(lo, hi, 0.02);
    let max = counts.iter().copied().fold(0.0, f64::max);
    let y = if data.log_y {
        let min_pos = counts
            .iter()
            .copied()
            .filter(|&c| c > 0.0)
            .fold(f64::INFINITY, f64::min);
        if !min_pos.is_finite() {
            return Err(PlotError::Data(
                "histogram: every bin is empty, nothing to show on a log axis".into(),
            ));
        }
        Axis::log(min_pos, max, 0.06)
    } else {
        Axis::linear_with(0.0, if max > 0.0 { max * 1.05 } else { 1.0 }, 6, &format_number)
    };
    let spec = FrameSpec {
        x: &x,
        y: &y,
        x_desc: &data.x_label,
        y_desc: &data.y_label,
        x_grid: false,
        y_grid: true,
        y_tick_px: None,
        right: 0,
    };
    let frame = axes::frame(&body, &theme, &spec)?;

    // A white edge between bars, unless the bars are too thin for it.
    let plot_w = (frame.rect.2 - frame.rect.0) as f64;
    let bar_px = plot_w * (hi - lo) / (x.hi - x.lo) / counts.len() as f64;
    let edge = bar_px >= 5.0;
    for (i, &c) in counts.iter().enumerate() {
        if c <= 0.0 {
            continue;
        }
        let (x0, x1) = (edges[i], edges[i + 1]);
        let (y0, y1) = (if data.log_y { y.lo } else { 0.0 }, y.to_plot(c));
        frame
            .chart
            .plotting_area()
            .draw(&Rectangle::new([(x0, y0), (x1, y1)], theme::BLUE.filled()))?;
        if edge {
            frame
                .chart
                .plotting_area()
                .draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.stroke_width(1)))?;
        }
    }
    Ok(())
}
