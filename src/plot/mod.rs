//! The project's plot library: every chart the essay's figures need, drawn with
//! `plotters` in one clean theme, from plain data (numbers and strings, never tensors).
//!
//! Drawing is separate from output. Each plot kind is a data struct plus
//! `draw_xxx(area, &data)`, generic over the plotters backend; [`render_png`],
//! [`render_svg`], [`png_bytes`] and [`svg_string`] make the backend, call the drawing
//! closure, `present()` it so that errors surface, and write files atomically.
//!
//! ```no_run
//! use gpt2_explorer::plot::{self, BarChart, ValueFormat};
//! let data = BarChart {
//!     title: "The best thing about AI is its ability to ...".into(),
//!     labels: vec!["learn".into(), "predict".into()],
//!     values: vec![0.045, 0.035],
//!     value_format: ValueFormat::Percent(1),
//!     ..Default::default()
//! };
//! plot::render_png("top5.png", plot::DEFAULT_SIZE, |area| plot::draw_bar_chart(area, &data))?;
//! # Ok::<(), plot::PlotError>(())
//! ```
//!
//! Which plot serves which part of the essay (figure ids from docs/essay-figures.md):
//! | plot | essay figures |
//! |---|---|
//! | [`draw_bar_chart`] | `next-word-top5`, letter counts and probabilities (§1, §2) |
//! | [`draw_line_plot`] | `rank-probability-loglog` (log-log), fits, `loss-curve`, `relu`, `raw-embeddings` |
//! | [`draw_heatmap`] | `letter-2gram-heatmap`, attention patterns, `attn-proj-matrix` (768x768) (§2, §6) |
//! | [`draw_image_grid`] | `digits-samples`, `digits-blur`, `embedding-module`, smoothed weight matrices |
//! | [`draw_histogram`] | `weight-histograms`, word lengths |
//! | [`draw_scatter`] | `word-embedding-map`, `nouns-map`, `analogies` (arrows), `crane-senses` (§5, §7) |
//! | [`draw_scatter3d`] | `trajectory-3d`, `digit-embedding-3d` |
//! | [`draw_text_panel`] | `greedy-continuation` (numbered steps), `sampled-*`, generated words |
//! | [`draw_field`] | `nearest-point-target`, `single-neuron-functions`, `loss-surface`, `descent-path` (§4) |
//! | [`draw_tree`] | `parse-tree-english`, `parse-tree-parens` (§7) |
//! | [`small_multiples`] | `attention-block1-heads` (12 heads), `attn-proj-matrices-all`, per-block histograms |
//!
//! Fonts: DejaVu Sans is compiled in (crate `dejavu`) and registered with plotters on
//! first use ([`ensure_fonts`]), so plots render on a machine without system fonts.

mod axes;
mod bars;
pub mod diagram;
mod field;
mod font;
pub mod layout;
mod lines;
mod matrix;
mod scatter;
mod text;
pub mod theme;
mod tree;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

pub use axes::{format_number, nice_ticks};
pub use bars::{draw_bar_chart, draw_histogram, BarChart, Bins, Histogram, ValueFormat};
pub use diagram::{draw_diagram, Diagram, Shape};
pub use field::{draw_field, FieldPlot, FieldPoint};
pub use lines::{draw_line_plot, LinePlot, Series, SeriesStyle};
pub use matrix::{draw_heatmap, draw_image_grid, GridImage, Heatmap, ImageGrid, ValueRange};
pub use scatter::{draw_scatter, draw_scatter3d, Arrow, Camera, Point3, Scatter, Scatter3d, ScatterPoint};
pub use text::{draw_text_panel, small_multiples, Panels, Span, SpanKind, TextPanel};
pub use theme::{ensure_fonts, visible_whitespace, Colormap, Theme, DEFAULT_SIZE};
pub use tree::{draw_tree, TreeNode, TreePlot};

/// The drawing area [`render_png`] and [`png_bytes`] hand to their closure.
pub type PngArea<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// The drawing area [`render_svg`] and [`svg_string`] hand to their closure.
pub type SvgArea<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// What can go wrong while drawing or writing a plot.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output file could not be written (nothing is left at `path`).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// The data cannot be drawn (lengths that disagree, no values, NaN where a number
    /// is needed); the message names the plot and the field.
    #[error("cannot plot: {0}")]
    Data(String),

    /// The area is too small for the plot.
    #[error("the drawing area ({w}x{h} px) is too small for {what}")]
    TooSmall { w: u32, h: u32, what: String },

    /// The embedded font could not be registered.
    #[error("font: {0}")]
    Font(String),

    /// The plotters backend failed (an error from the bitmap or SVG backend).
    #[error("drawing failed: {0}")]
    Draw(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

/// The most pixels one figure may have (protects against a size typo eating memory).
const MAX_PIXELS: u64 = 100_000_000;

fn check_size((w, h): (u32, u32)) -> Result<(), PlotError> {
    if w < 16 || h < 16 || w as u64 * h as u64 > MAX_PIXELS {
        return Err(PlotError::Data(format!(
            "figure size {w}x{h} px: give at least 16x16 and at most {MAX_PIXELS} pixels"
        )));
    }
    Ok(())
}

/// Draws with `draw` on a white `size` bitmap and returns it encoded as PNG (for a
/// notebook to show inline, or to write elsewhere).
pub fn png_bytes<F>(size: (u32, u32), draw: F) -> Result<Vec<u8>, PlotError>
where
    F: FnOnce(&PngArea<'_>) -> Result<(), PlotError>,
{
    png_bytes_top(size, size.1, draw)
}

/// Like [`png_bytes`], but keeps only the top `keep` rows of the canvas (all of it when
/// `keep` is 0 or more than its height): a text figure cut to its text.
pub fn png_bytes_top<F>(size: (u32, u32), keep: u32, draw: F) -> Result<Vec<u8>, PlotError>
where
    F: FnOnce(&PngArea<'_>) -> Result<(), PlotError>,
{
    check_size(size)?;
    ensure_fonts()?;
    let (w, h) = size;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&theme::BACKGROUND)?;
        draw(&root)?;
        root.present()?;
    }
    let keep = if keep == 0 { h } else { keep.min(h) };
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgb[..w as usize * keep as usize * 3],
        w,
        keep,
        image::ColorType::Rgb8,
    )
    .map_err(|e| PlotError::Draw(format!("PNG encoding: {e}")))?;
    Ok(png)
}

/// Draws with `draw` on a white `size` SVG canvas and returns the SVG document.
pub fn svg_string<F>(size: (u32, u32), draw: F) -> Result<String, PlotError>
where
    F: FnOnce(&SvgArea<'_>) -> Result<(), PlotError>,
{
    svg_string_top(size, size.1, draw)
}

/// Like [`svg_string`], but the document shows only the top `keep` pixels of the canvas
/// (its height and view box say so; all of it when `keep` is 0 or more than its height).
pub fn svg_string_top<F>(size: (u32, u32), keep: u32, draw: F) -> Result<String, PlotError>
where
    F: FnOnce(&SvgArea<'_>) -> Result<(), PlotError>,
{
    check_size(size)?;
    ensure_fonts()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&theme::BACKGROUND)?;
        draw(&root)?;
        root.present()?;
    }
    let (w, h) = size;
    let keep = if keep == 0 { h } else { keep.min(h) };
    if keep < h {
        let header = format!("width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"");
        if !svg.contains(&header) {
            return Err(PlotError::Draw(format!(
                "SVG cropping: the document has no header {header}"
            )));
        }
        svg = svg.replacen(
            &header,
            &format!("width=\"{w}\" height=\"{keep}\" viewBox=\"0 0 {w} {keep}\""),
            1,
        );
    }
    Ok(svg)
}

/// Draws a `size` PNG (see [`png_bytes`]) and writes it atomically to `path`, creating
/// its folder. On any error no file is left at `path` (an old one stays as it was).
///
/// Pass a closure (`|area| draw_heatmap(area, &data)`); a generic function named
/// directly is not general enough over the backend's lifetime.
pub fn render_png<F>(path: impl AsRef<Path>, size: (u32, u32), draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&PngArea<'_>) -> Result<(), PlotError>,
{
    let bytes = png_bytes(size, draw)?;
    write_file(path.as_ref(), &bytes)
}

/// Draws a `size` SVG (see [`svg_string`]) and writes it atomically to `path`.
pub fn render_svg<F>(path: impl AsRef<Path>, size: (u32, u32), draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&SvgArea<'_>) -> Result<(), PlotError>,
{
    let svg = svg_string(size, draw)?;
    write_file(path.as_ref(), svg.as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    crate::io::write_atomic(path, bytes).map_err(|e| match e {
        crate::error::Error::Io { path, source } => PlotError::Io { path, source },
        other => PlotError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}
