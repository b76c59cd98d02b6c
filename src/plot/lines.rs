//! Line plots with any mix of linear and logarithmic axes: probability against rank
//! (log-log), loss curves, fitted functions, embedding vectors as lists of numbers.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axes::{self, Axis, FrameSpec, Mark};
use super::layout;
use super::theme::{self, Theme};
use super::PlotError;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SeriesStyle {
    #[default]
    Line,
    Points,
    LineAndPoints,
}

/// One named series of (x, y) points. Its colour is the theme's colour for its index.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend entry (no legend when every name is empty).
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: SeriesStyle,
}

/// Several series on shared axes, each axis linear or logarithmic.
#[derive(Clone, Debug, Default)]
pub struct LinePlot {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Logarithmic x axis (points with x <= 0 are left out).
    pub log_x: bool,
    /// Logarithmic y axis (points with y <= 0 are left out).
    pub log_y: bool,
}

/// Draws a [`LinePlot`] into `area`.
pub fn draw_line_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &LinePlot) -> Result<(), PlotError> {
    // The points that can be drawn on these axes, per series.
    let keep =
        |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!data.log_x || x > 0.0) && (!data.log_y || y > 0.0);
    let series: Vec<Vec<(f64, f64)>> = data
        .series
        .iter()
        .map(|s| s.points.iter().copied().filter(keep).collect())
        .collect();
    let all: Vec<(f64, f64)> = series.iter().flatten().copied().collect();
    if all.is_empty() {
        let why = if data.log_x || data.log_y {
            " (on a log axis only positive values count)"
        } else {
            ""
        };
        return Err(PlotError::Data(format!("line plot: no finite points to draw{why}")));
    }

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let names: Vec<&str> = data.series.iter().map(|s| s.name.as_str()).collect();
    let legend_w = axes::legend_width(&theme, &names)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);

    let range = |v: &dyn Fn(&(f64, f64)) -> f64| {
        all.iter()
            .map(v)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
    };
    let (x0, x1) = range(&|p| p.0);
    let (y0, y1) = range(&|p| p.1);
    let x = if data.log_x {
        Axis::log(x0, x1, 0.03)
    } else {
        Axis::linear(x0, x1, 0.03)
    };
    let y = if data.log_y {
        Axis::log(y0, y1, 0.05)
    } else {
        Axis::linear(y0, y1, 0.05)
    };
    let spec = FrameSpec {
        x: &x,
        y: &y,
        x_desc: &data.x_label,
        y_desc: &data.y_label,
        x_grid: true,
        y_grid: true,
        y_tick_px: None,
        right: 0,
    };
    let frame = axes::frame(&plot_area, &theme, &spec)?;

    let width = theme.line_width();
    // Smaller dots when there are many.
    let radius = theme.len(if all.len() > 300 { 2.5 } else { 4.0 });
    if data.series.len() > 1 {
        layout::palette(
            "lines",
            &(0..data.series.len()).map(theme::series_color).collect::<Vec<_>>(),
        );
    }
    let mut legend = Vec::new();
    for (i, (s, pts)) in data.series.iter().zip(&series).enumerate() {
        let color = theme::series_color(i);
        let pts: Vec<(f64, f64)> = pts.iter().map(|&(a, b)| (x.to_plot(a), y.to_plot(b))).collect();
        if s.style != SeriesStyle::Points {
            // One element per segment: plotters joins the segments of a wide polyline
            // with miter joins, which shoot far past the data (even out of the frame)
            // where a jagged series turns sharply, as a noisy loss curve does.
            // A dense, jagged series (hundreds of points, turning up and down at most of
            // them, like a per-batch loss) gets a thinner line, so its ups and downs stay
            // apart; a smooth one keeps the full width.
            let turns = pts
                .windows(3)
                .filter(|t| (t[1].1 - t[0].1) * (t[2].1 - t[1].1) < 0.0)
                .count();
            let w = if pts.len() > 400 && turns * 2 > pts.len() {
                (width / 2).max(1)
            } else {
                width
            };
            for seg in pts.windows(2) {
                frame
                    .chart
                    .plotting_area()
                    .draw(&PathElement::new(seg.to_vec(), color.stroke_width(w)))?;
            }
        }
        if s.style != SeriesStyle::Line {
            for &p in &pts {
                frame
                    .chart
                    .plotting_area()
                    .draw(&Circle::new(p, radius, color.filled()))?;
            }
        }
        let mark = match s.style {
            SeriesStyle::Line => Mark::Line,
            SeriesStyle::Points => Mark::Dot,
            SeriesStyle::LineAndPoints => Mark::LineDot,
        };
        legend.push((s.name.as_str(), color, mark));
    }
    if legend_w > 0 {
        axes::draw_legend(&legend_area, &theme, &legend, (0, frame.rect.1))?;
    }
    Ok(())
}
