//! Matrices as pictures: the labelled heatmap with its colour bar (attention patterns,
//! the letter 2-gram table, the 768x768 projection matrix) and grids of arrays shown
//! as images (MNIST digits, embedding arrays, smoothed weight matrices).
//!
//! Small matrices are drawn as one rectangle per cell (crisp in SVG); large ones are
//! rasterised once, nearest cell per pixel, and drawn as a single bitmap.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axes::{format_number, nice_ticks};
use super::bars::ValueFormat;
use super::layout::{self, Role};
use super::theme::{self, put_text, put_text_vertical, Colormap, Theme, VAlign};
use super::PlotError;

/// Above this many cells a matrix is drawn as one bitmap.
const MAX_RECT_CELLS: usize = 16_384;
/// Cells smaller than this (pixels) are drawn as one bitmap too: as rectangles they add
/// nothing a bitmap does not show, and an SVG of thousands of them weighs megabytes.
const MIN_RECT_PX: f64 = 6.0;

/// A matrix of values as coloured cells, with labels on both axes and a colour bar.
#[derive(Clone, Debug)]
pub struct Heatmap {
    pub title: String,
    pub subtitle: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows * cols` values; NaN and infinities are drawn as missing (grey).
    pub values: Vec<f64>,
    /// One label per row (top to bottom), e.g. query tokens; empty: row numbers.
    pub row_labels: Vec<String>,
    /// One label per column (left to right), e.g. key tokens; empty: column numbers.
    pub col_labels: Vec<String>,
    /// Description under the column labels.
    pub x_label: String,
    /// Description left of the row labels.
    pub y_label: String,
    pub colormap: Colormap,
    /// The values mapped to the ends of the colormap; `None`: see [`Colormap::default_range`].
    pub range: Option<(f64, f64)>,
    /// Values written in the cells (when they fit); [`ValueFormat::None`] by default.
    pub annotate: ValueFormat,
    /// Draw the colour bar (default true).
    pub colorbar: bool,
    pub colorbar_label: String,
    /// Fill the area with non-square cells (default false: square cells).
    pub stretch: bool,
}

impl Default for Heatmap {
    fn default() -> Self {
        Heatmap {
            title: String::new(),
            subtitle: String::new(),
            rows: 0,
            cols: 0,
            values: Vec::new(),
            row_labels: Vec::new(),
            col_labels: Vec::new(),
            x_label: String::new(),
            y_label: String::new(),
            colormap: Colormap::Viridis,
            range: None,
            annotate: ValueFormat::None,
            colorbar: true,
            colorbar_label: String::new(),
            stretch: false,
        }
    }
}

fn check_matrix(what: &str, rows: usize, cols: usize, values: &[f64]) -> Result<(), PlotError> {
    if rows == 0 || cols == 0 {
        return Err(PlotError::Data(format!("{what}: {rows}x{cols} is empty")));
    }
    if values.len() != rows * cols {
        return Err(PlotError::Data(format!(
            "{what}: {} values for {rows}x{cols} cells",
            values.len()
        )));
    }
    Ok(())
}

fn check_range(what: &str, (lo, hi): (f64, f64)) -> Result<(), PlotError> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(PlotError::Data(format!(
            "{what}: colour range {lo}..{hi} must be finite with low < high"
        )));
    }
    Ok(())
}

/// Labels of one heatmap axis: which cells get a label, and the font size.
struct AxisLabels {
    at: Vec<(usize, String)>,
    px: f64,
}

/// Labels for `n` cells of `cell` pixels: the given labels (every k-th when cells are
/// smaller than a readable font), or round cell numbers when none are given.
fn axis_labels(labels: &[String], n: usize, cell: f64, theme: &Theme) -> AxisLabels {
    let min_px = theme::MIN_TEXT_PX;
    if labels.is_empty() {
        // Round cell numbers, as many as fit side by side without touching.
        let px = theme.tick_px();
        let digits = (n.max(2) - 1).to_string().len() as f64;
        let need = (0.55 * px * digits).max(1.15 * px) * 1.4;
        let mut step = 1.0;
        for target in (1..=6).rev() {
            let ticks = nice_ticks(0.0, (n - 1) as f64, target);
            step = if ticks.len() > 1 { ticks[1] - ticks[0] } else { n as f64 };
            if step.max(1.0) * cell >= need {
                break;
            }
        }
        let step = step.max(1.0);
        let at = (0..n)
            .step_by(step.round() as usize)
            .map(|i| (i, i.to_string()))
            .collect();
        return AxisLabels {
            at,
            px: theme.tick_px(),
        };
    }
    let px = (cell * 0.8).min(theme.tick_px());
    if px >= min_px {
        return AxisLabels {
            at: labels.iter().cloned().enumerate().collect(),
            px,
        };
    }
    let stride = (min_px * 1.2 / cell).ceil() as usize;
    AxisLabels {
        at: labels.iter().cloned().enumerate().step_by(stride).collect(),
        px: min_px,
    }
}

/// Draws a [`Heatmap`] into `area`.
pub fn draw_heatmap<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Heatmap) -> Result<(), PlotError> {
    let (rows, cols) = (data.rows, data.cols);
    check_matrix("heatmap", rows, cols, &data.values)?;
    for (what, labels, n) in [("row", &data.row_labels, rows), ("column", &data.col_labels, cols)] {
        if !labels.is_empty() && labels.len() != n {
            return Err(PlotError::Data(format!(
                "heatmap: {} {what} labels for {n} {what}s",
                labels.len()
            )));
        }
    }
    data.annotate.check_len("heatmap", rows * cols)?;
    let range = data.range.unwrap_or_else(|| data.colormap.default_range(&data.values));
    check_range("heatmap", range)?;

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (w, h) = body.dim_in_pixel();
    let (w, h) = (w as f64, h as f64);
    let gap = theme.gap() as f64;
    let desc_h = theme::line_height(theme.label_px()) as f64;
    let desc = theme::style(theme.label_px(), theme::TEXT);

    // Colour bar: bar, ticks, tick labels, description.
    let cb_ticks: Vec<(f64, String)> = {
        let t = nice_ticks(range.0, range.1, 5);
        let step = if t.len() > 1 { t[1] - t[0] } else { range.1 - range.0 };
        t.into_iter().map(|v| (v, format_number(v, step))).collect()
    };
    let cb_bar = theme.len(18.0) as f64;
    let cb_w = if data.colorbar {
        let labels: Vec<&str> = cb_ticks.iter().map(|(_, l)| l.as_str()).collect();
        let lw = theme::max_width(&labels, &theme::style(theme.tick_px(), theme::TEXT))? as f64;
        gap * 4.0
            + cb_bar
            + gap * 1.5
            + lw
            + if data.colorbar_label.is_empty() {
                0.0
            } else {
                gap + desc_h
            }
    } else {
        0.0
    };

    // Cell size and label fonts depend on each other: settle them in two passes.
    let left_desc = if data.y_label.is_empty() { 0.0 } else { desc_h + gap };
    let bottom_desc = if data.x_label.is_empty() { 0.0 } else { desc_h + gap };
    let (mut cell_w, mut cell_h) = ((w - cb_w) / cols as f64, h / rows as f64);
    let mut layout = None;
    for _ in 0..2 {
        let rl = axis_labels(&data.row_labels, rows, cell_h, &theme);
        let cl = axis_labels(&data.col_labels, cols, cell_w, &theme);
        let rs = theme::style(rl.px, theme::TEXT);
        let cs = theme::style(cl.px, theme::TEXT);
        let row_w = theme::max_width(&rl.at.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(), &rs)? as f64;
        let col_w = theme::max_width(&cl.at.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(), &cs)? as f64;
        // Column labels turn to read upwards when they are wider than their cells.
        let every = cl.at.get(1).map_or(cols, |(i, _)| *i).max(1); // columns from one label to the next
        let spacing = cell_w * every as f64;
        let rotate = col_w > spacing * 0.9;
        let col_h = if rotate {
            col_w
        } else {
            theme::line_height(cl.px) as f64
        };
        let left = left_desc + row_w + gap * 1.5;
        let bottom = col_h + gap * 1.5 + bottom_desc;
        let (avail_w, avail_h) = (w - left - cb_w, h - bottom);
        if avail_w < 20.0 || avail_h < 20.0 {
            let (w, h) = area.dim_in_pixel();
            return Err(PlotError::TooSmall {
                w,
                h,
                what: format!("a {rows}x{cols} heatmap with these labels"),
            });
        }
        cell_w = avail_w / cols as f64;
        cell_h = avail_h / rows as f64;
        if !data.stretch {
            let c = cell_w.min(cell_h);
            (cell_w, cell_h) = (c, c);
        }
        layout = Some((rl, cl, left, rotate));
    }
    let (rl, cl, left, rotate) = layout.expect("two passes ran");
    let (gw, gh) = (cell_w * cols as f64, cell_h * rows as f64);
    // Centre the block of labels, cells and colour bar horizontally.
    let x0 = left + ((w - left - gw - cb_w) / 2.0).max(0.0).floor();
    let y0 = 0.0;

    draw_cells(&body, (x0, y0), (cell_w, cell_h), rows, cols, &data.values, &|v| {
        data.colormap.color(v, range)
    })?;
    let grid = (
        x0.round() as i32,
        y0 as i32,
        (x0 + gw).round() as i32,
        (y0 + gh).round() as i32,
    );
    body.draw(&Rectangle::new(
        [(grid.0, grid.1), (grid.2, grid.3)],
        theme::AXIS.stroke_width(1),
    ))?;

    let _labels = layout::role(Role::Label);
    // Values in the cells, in black or white, shrunk to fit or left out.
    if data.annotate != ValueFormat::None {
        let base_px = theme.tick_px().min(cell_h * 0.55);
        for r in 0..rows {
            for c in 0..cols {
                let v = data.values[r * cols + c];
                let Some(text) = data.annotate.format(r * cols + c, v) else {
                    continue;
                };
                let color = theme::text_on(data.colormap.color(v, range));
                let mut st = theme::style(base_px, color);
                let tw = theme::text_size(&text, &st)?.0 as f64;
                let px = if tw > cell_w * 0.9 {
                    base_px * cell_w * 0.9 / tw
                } else {
                    base_px
                };
                if px < theme::MIN_TEXT_PX {
                    continue;
                }
                st = theme::style(px, color);
                let center = (
                    (x0 + (c as f64 + 0.5) * cell_w) as i32,
                    (y0 + (r as f64 + 0.5) * cell_h) as i32,
                );
                put_text(&body, &text, &st, center, HPos::Center, VAlign::Middle)?;
            }
        }
    }

    let _ticks = layout::role(Role::Tick);
    // Row labels left of the cells, column labels below them.
    let rs = theme::style(rl.px, theme::TEXT);
    for (r, label) in &rl.at {
        let y = (y0 + (*r as f64 + 0.5) * cell_h) as i32;
        put_text(&body, label, &rs, (grid.0 - gap as i32, y), HPos::Right, VAlign::Middle)?;
    }
    let cs = theme::style(cl.px, theme::TEXT);
    let mut col_h = theme::line_height(cl.px);
    for (c, label) in &cl.at {
        let x = (x0 + (*c as f64 + 0.5) * cell_w) as i32;
        if rotate {
            put_text_vertical(&body, label, &cs, (x, grid.3 + gap as i32), HPos::Right)?;
            col_h = col_h.max(theme::text_size(label, &cs)?.0);
        } else {
            put_text(&body, label, &cs, (x, grid.3 + gap as i32), HPos::Center, VAlign::Top)?;
        }
    }
    let _axis = layout::role(Role::Axis);
    if !data.x_label.is_empty() {
        put_text(
            &body,
            &data.x_label,
            &desc,
            ((grid.0 + grid.2) / 2, grid.3 + gap as i32 * 2 + col_h),
            HPos::Center,
            VAlign::Top,
        )?;
    }
    if !data.y_label.is_empty() {
        let row_w = theme::max_width(&rl.at.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(), &rs)?;
        let x = grid.0 - (gap * 2.5) as i32 - row_w - desc_h as i32 / 2;
        put_text_vertical(&body, &data.y_label, &desc, (x, (grid.1 + grid.3) / 2), HPos::Center)?;
    }

    if data.colorbar {
        let bx = grid.2 + (gap * 4.0) as i32;
        let bar = (bx, grid.1, bx + cb_bar as i32, grid.3);
        draw_colorbar(
            &body,
            &theme,
            bar,
            data.colormap,
            range,
            &cb_ticks,
            &data.colorbar_label,
        )?;
    }
    Ok(())
}

/// Fills `rows x cols` cells of size `cell` (pixels, fractional) from `origin`.
#[allow(clippy::too_many_arguments)]
pub(super) fn draw_cells<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    origin: (f64, f64),
    cell: (f64, f64),
    rows: usize,
    cols: usize,
    values: &[f64],
    color_of: &dyn Fn(f64) -> RGBColor,
) -> Result<(), PlotError> {
    let (x0, y0) = origin;
    let (cw, ch) = cell;
    if rows * cols <= MAX_RECT_CELLS && cw >= MIN_RECT_PX && ch >= MIN_RECT_PX {
        for r in 0..rows {
            let (ya, yb) = (
                (y0 + r as f64 * ch).round() as i32,
                (y0 + (r + 1) as f64 * ch).round() as i32,
            );
            for c in 0..cols {
                let (xa, xb) = (
                    (x0 + c as f64 * cw).round() as i32,
                    (x0 + (c + 1) as f64 * cw).round() as i32,
                );
                let color = color_of(values[r * cols + c]);
                area.draw(&Rectangle::new([(xa, ya), (xb, yb)], color.filled()))?;
            }
        }
        return Ok(());
    }
    // One bitmap, each pixel coloured by the cell under its centre.
    let (gw, gh) = (
        ((cols as f64 * cw).round() as u32).max(1),
        ((rows as f64 * ch).round() as u32).max(1),
    );
    let mut buf = vec![0u8; gw as usize * gh as usize * 3];
    for py in 0..gh as usize {
        let r = (((py as f64 + 0.5) / gh as f64 * rows as f64) as usize).min(rows - 1);
        for px in 0..gw as usize {
            let c = (((px as f64 + 0.5) / gw as f64 * cols as f64) as usize).min(cols - 1);
            let color = color_of(values[r * cols + c]);
            let i = (py * gw as usize + px) * 3;
            buf[i..i + 3].copy_from_slice(&[color.0, color.1, color.2]);
        }
    }
    let image = BitMapElement::with_owned_buffer((x0.round() as i32, y0.round() as i32), (gw, gh), buf)
        .ok_or_else(|| PlotError::Draw("bitmap buffer of the wrong size".into()))?;
    area.draw(&image)?;
    Ok(())
}

/// A vertical colour bar in `rect` (left, top, right, bottom) with tick labels to its
/// right and an optional description beyond them.
pub(super) fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    rect: (i32, i32, i32, i32),
    colormap: Colormap,
    range: (f64, f64),
    ticks: &[(f64, String)],
    label: &str,
) -> Result<(), PlotError> {
    let _ticks = layout::role(Role::Tick);
    let (x0, y0, x1, y1) = rect;
    let h = (y1 - y0).max(1);
    let steps = h.min(256);
    for s in 0..steps {
        // Step 0 at the bottom (low values), the last at the top.
        let (ya, yb) = (y1 - (s + 1) * h / steps, y1 - s * h / steps);
        let t = (s as f64 + 0.5) / steps as f64;
        area.draw(&Rectangle::new([(x0, ya), (x1, yb)], colormap.at(t).filled()))?;
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], theme::AXIS.stroke_width(1)))?;
    let st = theme::style(theme.tick_px(), theme::TEXT);
    let gap = theme.gap();
    let mut label_w = 0;
    for (v, text) in ticks {
        let y = y1 - ((v - range.0) / (range.1 - range.0) * h as f64).round() as i32;
        area.draw(&PathElement::new(
            vec![(x1, y), (x1 + gap / 2, y)],
            theme::AXIS.stroke_width(1),
        ))?;
        put_text(area, text, &st, (x1 + gap, y), HPos::Left, VAlign::Middle)?;
        label_w = label_w.max(theme::text_size(text, &st)?.0);
    }
    let _axis = layout::role(Role::Axis);
    if !label.is_empty() {
        let desc = theme::style(theme.label_px(), theme::TEXT);
        let desc_h = theme::line_height(theme.label_px());
        put_text_vertical(
            area,
            label,
            &desc,
            (x1 + gap * 2 + label_w + desc_h / 2, (y0 + y1) / 2),
            HPos::Center,
        )?;
    }
    Ok(())
}

/// One array of a [`ImageGrid`].
#[derive(Clone, Debug, Default)]
pub struct GridImage {
    /// Shown under the image.
    pub caption: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows * cols` values.
    pub values: Vec<f64>,
}

/// Which values map to the ends of the colormap in an [`ImageGrid`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum ValueRange {
    /// Each image its own [`Colormap::default_range`].
    #[default]
    PerImage,
    /// One range over all images, so that they compare.
    Shared,
    /// This range (low, high).
    Fixed(f64, f64),
}

/// Arrays shown as images in a grid, each with a caption: MNIST digits, a blurred digit
/// step by step, embedding arrays, weight matrices.
#[derive(Clone, Debug, Default)]
pub struct ImageGrid {
    pub title: String,
    pub subtitle: String,
    pub images: Vec<GridImage>,
    /// Images per row; 0 chooses the count that makes the images largest.
    pub columns: usize,
    /// [`Colormap::Greys`] shows digits as ink on paper.
    pub colormap: Colormap,
    pub range: ValueRange,
    /// Fill each grid cell, changing the aspect ratio (for tall arrays such as a 768x20
    /// embedding); default false keeps square pixels.
    pub stretch: bool,
}

/// Draws an [`ImageGrid`] into `area`.
pub fn draw_image_grid<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &ImageGrid) -> Result<(), PlotError> {
    let n = data.images.len();
    if n == 0 {
        return Err(PlotError::Data("image grid: no images".into()));
    }
    for (i, im) in data.images.iter().enumerate() {
        check_matrix(&format!("image grid, image {i}"), im.rows, im.cols, &im.values)?;
    }
    let shared = match data.range {
        ValueRange::Fixed(lo, hi) => Some((lo, hi)),
        ValueRange::Shared => {
            let all: Vec<f64> = data.images.iter().flat_map(|im| im.values.iter().copied()).collect();
            Some(data.colormap.default_range(&all))
        }
        ValueRange::PerImage => None,
    };
    if let Some(r) = shared {
        check_range("image grid", r)?;
    }

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (w, h) = body.dim_in_pixel();
    let (w, h) = (w as f64, h as f64);
    let gap = theme.gap() as f64;
    let cap_px = theme.small_px().max(theme.tick_px().min(14.0));
    let has_captions = data.images.iter().any(|im| !im.caption.is_empty());
    let cap_h = if has_captions {
        theme::line_height(cap_px) as f64 + gap
    } else {
        0.0
    };

    // The largest image (in its own pixels) decides the scale; the same for all images.
    let img_w = data.images.iter().map(|im| im.cols).max().unwrap_or(1) as f64;
    let img_h = data.images.iter().map(|im| im.rows).max().unwrap_or(1) as f64;
    let scale_for = |c: usize| {
        let r = n.div_ceil(c);
        let (bw, bh) = (w / c as f64 - gap * 2.0, h / r as f64 - gap * 2.0 - cap_h);
        (bw / img_w).min(bh / img_h)
    };
    let columns = if data.columns > 0 {
        data.columns.min(n)
    } else {
        (1..=n)
            .max_by(|&a, &b| scale_for(a).total_cmp(&scale_for(b)))
            .unwrap_or(1)
    };
    let grid_rows = n.div_ceil(columns);
    let scale = scale_for(columns);
    if scale * img_w < 2.0 || scale * img_h < 2.0 {
        let (w, h) = area.dim_in_pixel();
        return Err(PlotError::TooSmall {
            w,
            h,
            what: format!("{n} images in {columns} columns"),
        });
    }
    // Cells as large as the images need (all of the area when stretching), the grid
    // centred across the area.
    let (cell_w, cell_h) = if data.stretch {
        (w / columns as f64, h / grid_rows as f64)
    } else {
        (
            (img_w * scale + gap * 2.0).min(w / columns as f64),
            img_h * scale + gap * 2.0 + cap_h,
        )
    };
    let (left, top) = (((w - cell_w * columns as f64) / 2.0).max(0.0), 0.0);
    let cap_style = theme::style(cap_px, theme::TEXT);

    for (i, im) in data.images.iter().enumerate() {
        let (gr, gc) = (i / columns, i % columns);
        let (iw, ih) = if data.stretch {
            (cell_w - gap * 2.0, cell_h - gap * 2.0 - cap_h)
        } else {
            (im.cols as f64 * scale, im.rows as f64 * scale)
        };
        let x = (left + gc as f64 * cell_w + (cell_w - iw) / 2.0).floor();
        let y = (top + gr as f64 * cell_h + gap).floor();
        let range = shared.unwrap_or_else(|| data.colormap.default_range(&im.values));
        draw_cells(
            &body,
            (x, y),
            (iw / im.cols as f64, ih / im.rows as f64),
            im.rows,
            im.cols,
            &im.values,
            &|v| data.colormap.color(v, range),
        )?;
        let frame = (x as i32, y as i32, (x + iw).round() as i32, (y + ih).round() as i32);
        body.draw(&Rectangle::new(
            [(frame.0, frame.1), (frame.2, frame.3)],
            theme::AXIS.stroke_width(1),
        ))?;
        if !im.caption.is_empty() {
            let cap_style = theme::shrink_to_fit(&im.caption, &cap_style, (cell_w - gap) as i32, theme::MIN_TEXT_PX)?;
            let text = theme::fit_width(&im.caption, &cap_style, (cell_w - gap) as i32)?;
            let cx = (left + (gc as f64 + 0.5) * cell_w) as i32;
            put_text(
                &body,
                &text,
                &cap_style,
                (cx, frame.3 + gap as i32),
                HPos::Center,
                VAlign::Top,
            )?;
        }
    }
    Ok(())
}
