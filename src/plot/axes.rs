//! Axes shared by the 2-D charts: tick positions and labels (linear, logarithmic,
//! categorical), the frame (grid, axis lines, tick labels, axis descriptions) with
//! margins measured from the labels so that nothing is clipped, and the legend.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::layout::{self, Role};
use super::theme::{self, put_text, put_text_vertical, text_size, Theme, VAlign};
use super::PlotError;

/// About `target` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten)
/// inside `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let step = nice_step(lo, hi, target);
    if !step.is_finite() || step <= 0.0 {
        return vec![lo];
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| k as f64 * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

fn nice_step(lo: f64, hi: f64, target: usize) -> f64 {
    let span = (hi - lo).abs();
    if span == 0.0 || !span.is_finite() {
        return 1.0;
    }
    let rough = span / target.max(1) as f64;
    let mag = 10f64.powf(rough.log10().floor());
    let norm = rough / mag;
    // The round step nearest (by ratio) to the rough one.
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .min_by(|a, b| (norm / a).ln().abs().total_cmp(&(norm / b).ln().abs()))
        .unwrap_or(10.0);
    nice * mag
}

/// `v` written with as many decimals as a tick `step` needs; a minus sign, not a
/// hyphen. Every tick of one axis is written the same way: digits grouped by commas
/// when the step is 1000 or more ("250,000", "1,000,000"), scientific notation only
/// when the step is under 10⁻⁴.
pub fn format_number(v: f64, step: f64) -> String {
    let step = if step > 0.0 && step.is_finite() {
        step
    } else {
        v.abs().max(1.0)
    };
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    let s = if v == 0.0 && step < 1e-4 {
        "0".into()
    } else if step < 1e-4 || v.abs() >= 1e15 {
        let digits = ((v.abs().log10().floor() - step.log10().floor()).max(0.0) as usize).min(6);
        format!("{v:.digits$e}")
    } else if step >= 1000.0 {
        group_thousands(&format!("{v:.0}"))
    } else {
        let decimals = (-(step.log10() + 1e-9).floor()).max(0.0) as usize;
        // Steps such as 0.25 need one more decimal than their magnitude.
        let decimals = if (step * 10f64.powi(decimals as i32)).fract().abs() > 1e-6 {
            decimals + 1
        } else {
            decimals
        };
        format!("{v:.decimals$}")
    };
    s.replace('-', "\u{2212}")
}

/// "1234567" -> "1,234,567" (a leading minus kept).
fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// One axis in plot coordinates (log10 of the data for a log axis).
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    /// Major ticks: position in plot coordinates and label.
    pub ticks: Vec<(f64, String)>,
    /// Minor grid lines (log axes).
    pub minor: Vec<f64>,
    pub log: bool,
}

impl Axis {
    /// A linear axis from `lo` to `hi` exactly, with about `target` ticks labelled by
    /// `fmt(value, step)`.
    pub fn linear_with(lo: f64, hi: f64, target: usize, fmt: &dyn Fn(f64, f64) -> String) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if lo == 0.0 {
            (-1.0, 1.0)
        } else {
            (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
        };
        let step = nice_step(lo, hi, target);
        let ticks = nice_ticks(lo, hi, target)
            .into_iter()
            .map(|v| (v, fmt(v, step)))
            .collect();
        Axis {
            lo,
            hi,
            ticks,
            minor: Vec::new(),
            log: false,
        }
    }

    /// A linear axis over the data range `[min, max]` widened by `pad` of the span on
    /// both sides, with plain number labels.
    pub fn linear(min: f64, max: f64, pad: f64) -> Axis {
        let span = if max > min { max - min } else { min.abs().max(1.0) };
        Axis::linear_with(min - pad * span, max + pad * span, 6, &format_number)
    }

    /// A log10 axis over the positive data range `[min, max]`, widened by `pad` of the
    /// span (in decades) on both sides.
    pub fn log(min: f64, max: f64, pad: f64) -> Axis {
        let (a, b) = (min.log10(), max.log10());
        let (a, b) = if b > a { (a, b) } else { (a - 0.5, b + 0.5) };
        let span = b - a;
        let (lo, hi) = (a - pad * span, b + pad * span);
        let mut ticks = Vec::new();
        let mut minor = Vec::new();
        let (e0, e1) = (lo.floor() as i32, hi.ceil() as i32);
        // Label every decade, or every k-th one when there are many.
        let every = ((e1 - e0) as f64 / 8.0).ceil().max(1.0) as i32;
        // Plain numbers when every labelled decade has a short one, else all powers.
        let plain = (e0..=e1)
            .filter(|e| (*e as f64) >= lo - 1e-9 && (*e as f64) <= hi + 1e-9 && e.rem_euclid(every) == 0)
            .all(|e| (-2..=3).contains(&e));
        for e in e0..=e1 {
            let p = e as f64;
            if p >= lo - 1e-9 && p <= hi + 1e-9 && e.rem_euclid(every) == 0 {
                ticks.push((p, power_of_ten(e, plain)));
            }
            // Minor lines at 2..9 times each power, unless they would crowd the plot.
            for k in (2..10).filter(|_| e1 - e0 <= 4) {
                let q = p + (k as f64).log10();
                if q > lo && q < hi {
                    minor.push(q);
                }
            }
        }
        if ticks.len() < 2 {
            // Less than a decade: label 1, 2 and 5 times the powers of ten too.
            for e in e0..=e1 {
                for k in [2.0, 5.0] {
                    let v = k * 10f64.powi(e);
                    let q = v.log10();
                    if q >= lo && q <= hi {
                        ticks.push((q, format_number(v, 10f64.powi(e))));
                    }
                }
            }
            ticks.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Axis {
            lo,
            hi,
            ticks,
            minor,
            log: true,
        }
    }

    /// Categories `0..n` drawn top to bottom (or left to right) with `labels`.
    pub fn categories(labels: &[String], reversed: bool) -> Axis {
        let n = labels.len();
        let pos = |i: usize| if reversed { (n - 1 - i) as f64 } else { i as f64 };
        let ticks = labels.iter().enumerate().map(|(i, l)| (pos(i), l.clone())).collect();
        Axis {
            lo: -0.5,
            hi: n as f64 - 0.5,
            ticks,
            minor: Vec::new(),
            log: false,
        }
    }

    /// A data value in plot coordinates.
    pub fn to_plot(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }
}

/// 10 to the `e`: "0.01" .. "1000" when `plain`, else "10⁻⁴", "10⁶" (one style per axis).
fn power_of_ten(e: i32, plain: bool) -> String {
    match e {
        -2..=3 if plain => format_number(10f64.powi(e), 10f64.powi(e)),
        _ => {
            const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
            let digits: String = e
                .unsigned_abs()
                .to_string()
                .chars()
                .map(|c| SUP[c as usize - '0' as usize])
                .collect();
            format!("10{}{digits}", if e < 0 { "⁻" } else { "" })
        }
    }
}

/// What the frame draws besides the data.
pub(crate) struct FrameSpec<'s> {
    pub x: &'s Axis,
    pub y: &'s Axis,
    pub x_desc: &'s str,
    pub y_desc: &'s str,
    /// Vertical grid lines at the x ticks.
    pub x_grid: bool,
    /// Horizontal grid lines at the y ticks.
    pub y_grid: bool,
    /// Category labels in the label size rather than the tick size.
    pub y_tick_px: Option<f64>,
    /// Pixels to keep free right of the plot (value labels past the bars).
    pub right: i32,
}

/// A chart whose plotting area is placed so that the tick labels and axis descriptions
/// fit in `area`, with its rectangle in `area`'s pixel coordinates.
pub(crate) struct Frame<'a, DB: DrawingBackend> {
    pub chart: ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    /// (left, top, right, bottom) of the plotting area in `area` coordinates.
    pub rect: (i32, i32, i32, i32),
    base: (i32, i32),
}

impl<DB: DrawingBackend> Frame<'_, DB> {
    /// The pixel (in the frame's parent area) of plot coordinates `(x, y)`.
    pub fn px(&self, x: f64, y: f64) -> (i32, i32) {
        let (bx, by) = self.chart.backend_coord(&(x, y));
        (bx - self.base.0, by - self.base.1)
    }
}

/// Draws the grid, axis lines, tick labels and axis descriptions, and returns the
/// chart to draw the data into.
pub(crate) fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    theme: &Theme,
    spec: &FrameSpec,
) -> Result<Frame<'a, DB>, PlotError> {
    let tick = theme::style(theme.tick_px(), theme::TEXT);
    let y_tick = theme::style(spec.y_tick_px.unwrap_or(theme.tick_px()), theme::TEXT);
    let desc = theme::style(theme.label_px(), theme::TEXT);
    let gap = theme.gap();
    let desc_h = theme::line_height(theme.label_px());
    let tick_h = theme::line_height(theme.tick_px());

    let y_labels: Vec<&str> = spec.y.ticks.iter().map(|(_, l)| l.as_str()).collect();
    let y_label_w = theme::max_width(&y_labels, &y_tick)?;
    let last_x_w = match spec.x.ticks.last() {
        Some((_, l)) => text_size(l, &tick)?.0,
        None => 0,
    };
    let left = y_label_w + gap * 2 + if spec.y_desc.is_empty() { 0 } else { desc_h + gap * 2 };
    let bottom = tick_h + gap * 2 + if spec.x_desc.is_empty() { 0 } else { desc_h + gap };
    let top = tick_h / 2 + gap;
    let right = (last_x_w / 2 + gap).max(spec.right).max(gap * 2);

    let (w, h) = area.dim_in_pixel();
    if w as i32 <= left + right + 40 || h as i32 <= top + bottom + 40 {
        return Err(PlotError::TooSmall {
            w,
            h,
            what: "a chart with these axis labels".into(),
        });
    }
    let chart = ChartBuilder::on(area)
        .margin_left(left)
        .margin_right(right)
        .margin_top(top)
        .margin_bottom(bottom)
        .build_cartesian_2d(spec.x.lo..spec.x.hi, spec.y.lo..spec.y.hi)?;
    let base = area.get_base_pixel();
    let f = Frame {
        chart,
        rect: (left, top, w as i32 - right, h as i32 - bottom),
        base,
    };
    let (x0, y0, x1, y1) = f.rect;

    // Grid: minor lines first, then major lines, then the axis lines on top.
    let pa = f.chart.plotting_area();
    let (xr, yr) = ((spec.x.lo, spec.x.hi), (spec.y.lo, spec.y.hi));
    let vline = |x: f64, c: &RGBColor| PathElement::new(vec![(x, yr.0), (x, yr.1)], c.stroke_width(1));
    let hline = |y: f64, c: &RGBColor| PathElement::new(vec![(xr.0, y), (xr.1, y)], c.stroke_width(1));
    if spec.x_grid {
        for &x in &spec.x.minor {
            pa.draw(&vline(x, &theme::GRID_MINOR))?;
        }
        for (x, _) in &spec.x.ticks {
            pa.draw(&vline(*x, &theme::GRID))?;
        }
    }
    if spec.y_grid {
        for &y in &spec.y.minor {
            pa.draw(&hline(y, &theme::GRID_MINOR))?;
        }
        for (y, _) in &spec.y.ticks {
            pa.draw(&hline(*y, &theme::GRID))?;
        }
    }
    let axis = theme::AXIS.stroke_width(1);
    area.draw(&PathElement::new(vec![(x0, y1), (x1, y1)], axis))?;
    area.draw(&PathElement::new(vec![(x0, y0), (x0, y1)], axis))?;

    let _tick = layout::role(Role::Tick);
    // Tick marks and labels.
    let mark = gap / 2;
    for (x, label) in &spec.x.ticks {
        let (px, _) = f.px(*x, spec.y.lo);
        area.draw(&PathElement::new(vec![(px, y1), (px, y1 + mark)], axis))?;
        put_text(area, label, &tick, (px, y1 + gap + mark), HPos::Center, VAlign::Top)?;
    }
    for (y, label) in &spec.y.ticks {
        let (_, py) = f.px(spec.x.lo, *y);
        area.draw(&PathElement::new(vec![(x0 - mark, py), (x0, py)], axis))?;
        put_text(area, label, &y_tick, (x0 - gap - mark, py), HPos::Right, VAlign::Middle)?;
    }

    let _axis = layout::role(Role::Axis);
    // Axis descriptions, centred on the plot.
    if !spec.x_desc.is_empty() {
        put_text(
            area,
            spec.x_desc,
            &desc,
            ((x0 + x1) / 2, y1 + gap * 2 + tick_h + gap / 2),
            HPos::Center,
            VAlign::Top,
        )?;
    }
    if !spec.y_desc.is_empty() {
        put_text_vertical(
            area,
            spec.y_desc,
            &desc,
            (x0 - gap * 5 / 2 - y_label_w - desc_h / 2, (y0 + y1) / 2),
            HPos::Center,
        )?;
    }
    Ok(f)
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    Line,
    Dot,
    LineDot,
}

/// Width a legend of `names` needs; 0 when there is nothing to show.
pub(crate) fn legend_width(theme: &Theme, names: &[&str]) -> Result<i32, PlotError> {
    if names.iter().all(|n| n.is_empty()) {
        return Ok(0);
    }
    let st = theme::style(theme.label_px(), theme::TEXT);
    Ok(theme::max_width(names, &st)? + theme.len(36.0) + theme.gap() * 3)
}

/// Draws a legend with its top-left corner at `pos` (area coordinates).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    entries: &[(&str, RGBColor, Mark)],
    pos: (i32, i32),
) -> Result<(), PlotError> {
    let _legend = layout::role(Role::Legend);
    let st = theme::style(theme.label_px(), theme::TEXT);
    let row = theme::line_height(theme.label_px()) + theme.gap();
    let key = theme.len(28.0);
    let (x, mut y) = (pos.0 + theme.gap(), pos.1);
    for (name, color, mark) in entries {
        if name.is_empty() {
            continue;
        }
        let cy = y + row / 2;
        if matches!(mark, Mark::Line | Mark::LineDot) {
            area.draw(&PathElement::new(
                vec![(x, cy), (x + key, cy)],
                color.stroke_width(theme.line_width()),
            ))?;
        }
        if matches!(mark, Mark::Dot | Mark::LineDot) {
            area.draw(&Circle::new((x + key / 2, cy), theme.len(5.0), color.filled()))?;
        }
        put_text(area, name, &st, (x + key + theme.gap(), cy), HPos::Left, VAlign::Middle)?;
        y += row;
    }
    Ok(())
}
