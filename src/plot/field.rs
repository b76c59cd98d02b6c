//! Functions of two variables on real axes (essay section 4): a grid of values over a
//! rectangle of the plane drawn as coloured cells, either on a colormap (what one
//! neuron computes, a loss surface) or as labelled regions (which of three points is
//! nearest, what a net answers), with paths (a descent path) and labelled points on top.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axes::{self, format_number, nice_ticks, Axis, FrameSpec, Mark};
use super::layout::{self, Role};
use super::theme::{self, put_text, Colormap, Theme, VAlign};
use super::PlotError;
use plotters::style::text_anchor::HPos;

/// A labelled point drawn over a [`FieldPlot`].
#[derive(Clone, Debug, Default)]
pub struct FieldPoint {
    pub x: f64,
    pub y: f64,
    /// Written beside the point (empty: none).
    pub label: String,
}

/// Values on a `rows` x `cols` grid covering `x_range` x `y_range`: row 0 is the bottom
/// (lowest y), column 0 the left (lowest x).
#[derive(Clone, Debug, Default)]
pub struct FieldPlot {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows * cols`; NaN is drawn as missing.
    pub values: Vec<f64>,
    pub colormap: Colormap,
    /// Values at the ends of the colormap; `None`: the data's range.
    pub range: Option<(f64, f64)>,
    /// When not empty, the values are region numbers (0, 1, ...) drawn in light palette
    /// colours instead of a colormap, with these names in a legend (no legend when
    /// every name is empty).
    pub regions: Vec<String>,
    /// Polylines drawn on top with dots at their vertices (e.g. a descent path).
    pub paths: Vec<Vec<(f64, f64)>>,
    pub points: Vec<FieldPoint>,
    /// When not empty (and there are no regions), a colour bar with this description is
    /// drawn right of the plot.
    pub colorbar_label: String,
}

fn lighten(c: RGBColor, t: f64) -> RGBColor {
    let m = |v: u8| (v as f64 + (255.0 - v as f64) * t).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// Draws a [`FieldPlot`] into `area`.
pub fn draw_field<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &FieldPlot) -> Result<(), PlotError> {
    let n = data.rows * data.cols;
    if n == 0 || data.values.len() != n {
        return Err(PlotError::Data(format!(
            "field plot: {} values for {}x{} cells",
            data.values.len(),
            data.rows,
            data.cols
        )));
    }
    let ((x0, x1), (y0, y1)) = (data.x_range, data.y_range);
    if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite() && x1 > x0 && y1 > y0) {
        return Err(PlotError::Data(format!(
            "field plot: ranges {:?} x {:?} must be finite and increasing",
            data.x_range, data.y_range
        )));
    }
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let names: Vec<&str> = data.regions.iter().map(String::as_str).collect();
    let range = data.range.unwrap_or_else(|| data.colormap.default_range(&data.values));
    // A colour bar for a colormap field that names what its colours mean.
    let colorbar = data.regions.is_empty() && !data.colorbar_label.is_empty();
    let cb_ticks: Vec<(f64, String)> = {
        let t = nice_ticks(range.0, range.1, 5);
        let step = if t.len() > 1 { t[1] - t[0] } else { range.1 - range.0 };
        t.into_iter().map(|v| (v, format_number(v, step))).collect()
    };
    let cb_bar = theme.len(18.0);
    let legend_w = if colorbar {
        let labels: Vec<&str> = cb_ticks.iter().map(|(_, l)| l.as_str()).collect();
        let lw = theme::max_width(&labels, &theme::style(theme.tick_px(), theme::TEXT))?;
        theme.gap() * 4 + cb_bar + theme.gap() * 2 + lw + theme.gap() + theme::line_height(theme.label_px())
    } else {
        axes::legend_width(&theme, &names)?
    };
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);
    let x = Axis::linear(x0, x1, 0.0);
    let y = Axis::linear(y0, y1, 0.0);
    let spec = FrameSpec {
        x: &x,
        y: &y,
        x_desc: &data.x_label,
        y_desc: &data.y_label,
        x_grid: false,
        y_grid: false,
        y_tick_px: None,
        right: 0,
    };
    let frame = axes::frame(&plot_area, &theme, &spec)?;

    if !data.regions.is_empty() {
        let classes = data
            .values
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v.round().max(0.0) as usize + 1)
            .max()
            .unwrap_or(0)
            .max(data.regions.len());
        layout::palette("regions", &(0..classes).map(theme::series_color).collect::<Vec<_>>());
    }
    // The heatmap's cells (one rectangle each, or one bitmap when there are many), rows
    // flipped: the field's row 0 is the bottom, a heatmap's the top.
    let values: Vec<f64> = data.values.chunks(data.cols).rev().flatten().copied().collect();
    let color_of = |v: f64| {
        if !v.is_finite() {
            theme::MISSING
        } else if !data.regions.is_empty() {
            lighten(theme::series_color(v.round().max(0.0) as usize), 0.55)
        } else {
            data.colormap.color(v, range)
        }
    };
    let ((left, top), (right, bottom)) = (frame.px(x0, y1), frame.px(x1, y0));
    let cell = (
        (right - left) as f64 / data.cols as f64,
        (bottom - top) as f64 / data.rows as f64,
    );
    super::matrix::draw_cells(
        &plot_area,
        (left as f64, top as f64),
        cell,
        data.rows,
        data.cols,
        &values,
        &color_of,
    )?;
    let pa = frame.chart.plotting_area();
    let width = theme.line_width();
    for path in &data.paths {
        pa.draw(&PathElement::new(path.clone(), theme::TEXT.stroke_width(width)))?;
        for &p in path {
            pa.draw(&Circle::new(p, theme.len(3.0), theme::TEXT.filled()))?;
        }
        if let Some(&last) = path.last() {
            pa.draw(&Circle::new(last, theme.len(6.0), theme::ORANGE.filled()))?;
        }
    }
    let _labels = layout::role(Role::Label);
    let st = theme::bold(theme.label_px(), theme::TEXT);
    for p in &data.points {
        pa.draw(&Circle::new((p.x, p.y), theme.len(7.0), theme::TEXT.filled()))?;
        pa.draw(&Circle::new((p.x, p.y), theme.len(4.0), WHITE.filled()))?;
        if !p.label.is_empty() {
            let (px, py) = frame.px(p.x, p.y);
            put_text(
                &plot_area,
                &p.label,
                &st,
                (px + theme.len(10.0), py - theme.len(6.0)),
                HPos::Left,
                VAlign::Baseline,
            )?;
        }
    }
    if colorbar {
        let x = theme.gap() * 4;
        let bar = (x, frame.rect.1, x + cb_bar, frame.rect.3);
        super::matrix::draw_colorbar(
            &legend_area,
            &theme,
            bar,
            data.colormap,
            range,
            &cb_ticks,
            &data.colorbar_label,
        )?;
    } else if legend_w > 0 {
        let entries: Vec<(&str, RGBColor, Mark)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, lighten(theme::series_color(i), 0.55), Mark::Dot))
            .collect();
        axes::draw_legend(&legend_area, &theme, &entries, (0, frame.rect.1))?;
    }
    Ok(())
}
