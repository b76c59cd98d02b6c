//! Rendering a built figure: the numbers behind it ([`Table`], written as CSV), its plot
//! ([`Plot`], data for one of the plot library's kinds, or an interactive page), and the
//! files `<id>.png`, `<id>.svg` and `<id>.csv` (a page: `<id>.html` and `<id>.csv`), each
//! written atomically.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plot::{self, PlotError};

/// The numbers behind a figure, written as `<id>.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
    /// CSV text (RFC 4180 quoting via the `csv` crate).
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headers)?;
        for r in &self.rows {
            w.write_record(r)?;
        }
        w.into_inner().map_err(|e| Error::Csv(e.into_error().into()))
    }
}

/// The plot of a figure: plain data for one of the plot library's kinds.
#[derive(Clone)]
pub enum Plot {
    Bars(plot::BarChart),
    Lines(plot::LinePlot),
    Text(plot::TextPanel),
    Heatmap(plot::Heatmap),
    Histogram(plot::Histogram),
    Scatter(plot::Scatter),
    Scatter3d(plot::Scatter3d),
    ImageGrid(plot::ImageGrid),
    /// A function of two variables on real axes (regions, surfaces, paths).
    Field(plot::FieldPlot),
    /// A tree drawn top-down (parse trees).
    Tree(plot::TreePlot),
    /// Boxes, circles, lines and text (net and model diagrams).
    Diagram(plot::Diagram),
    /// Small multiples: a title over a grid of plots, one per panel title (e.g. the 12
    /// attention heads of a block). `plots.len()` must equal `panels.panel_titles.len()`.
    Grid {
        panels: plot::Panels,
        plots: Vec<Plot>,
    },
    /// An interactive view (`views`): written as `<id>.html`, shown as `text/html` in a
    /// notebook; it has no static picture.
    Page(crate::views::Page),
}

impl Plot {
    pub(crate) fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), PlotError> {
        match self {
            Plot::Bars(d) => plot::draw_bar_chart(area, d),
            Plot::Lines(d) => plot::draw_line_plot(area, d),
            Plot::Text(d) => plot::draw_text_panel(area, d),
            Plot::Heatmap(d) => plot::draw_heatmap(area, d),
            Plot::Histogram(d) => plot::draw_histogram(area, d),
            Plot::Scatter(d) => plot::draw_scatter(area, d),
            Plot::Scatter3d(d) => plot::draw_scatter3d(area, d),
            Plot::ImageGrid(d) => plot::draw_image_grid(area, d),
            Plot::Field(d) => plot::draw_field(area, d),
            Plot::Tree(d) => plot::draw_tree(area, d),
            Plot::Diagram(d) => plot::draw_diagram(area, d),
            Plot::Page(p) => Err(PlotError::Data(format!(
                "{} is an interactive page: it has no static picture (see its .html)",
                p.title
            ))),
            Plot::Grid { panels, plots } => {
                if plots.len() != panels.panel_titles.len() {
                    return Err(PlotError::Data(format!(
                        "{} plots for {} panel titles",
                        plots.len(),
                        panels.panel_titles.len()
                    )));
                }
                let cells = plot::small_multiples(area, panels)?;
                for (cell, p) in cells.iter().zip(plots) {
                    p.draw(cell)?;
                }
                Ok(())
            }
        }
    }
}

/// What a build function returns.
pub struct Figure {
    pub plot: Plot,
    pub table: Table,
    /// Pixel size of the PNG (and of the SVG's view box).
    pub size: (u32, u32),
}

impl Figure {
    /// The height of the picture: `size.1`, but a text figure (a [`Plot::Text`]) is cut
    /// below its last line, so that a short text does not leave most of the canvas blank.
    /// It is drawn on the full canvas all the same, so its type keeps the size the canvas
    /// gives it. At least a third of `size.1` stays.
    pub fn kept_height(&self) -> std::result::Result<u32, PlotError> {
        let h = self.size.1;
        if !matches!(self.plot, Plot::Text(_)) {
            return Ok(h);
        }
        let (svg, layout) =
            plot::layout::record(self.size, || plot::svg_string(self.size, |area| self.plot.draw(area)));
        svg?;
        let bottom = layout.texts.iter().map(|t| t.rect.3).fold(0.0, f64::max);
        let margin = 0.05 * h as f64; // 40 px at 800
        Ok(((bottom + margin).ceil() as u32).clamp(h / 3, h))
    }

    /// The figure as SVG text.
    pub fn svg(&self) -> Result<String> {
        let keep = self.kept_height()?;
        plot::svg_string_top(self.size, keep, |area| self.plot.draw(area)).map_err(Error::Plot)
    }
    /// The figure as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        let keep = self.kept_height()?;
        plot::png_bytes_top(self.size, keep, |area| self.plot.draw(area)).map_err(Error::Plot)
    }
    /// Shows the figure inline in an evcxr notebook (prints its SVG between
    /// `EVCXR_BEGIN_CONTENT image/svg+xml` and `EVCXR_END_CONTENT`; an interactive page
    /// as `text/html`).
    pub fn show(&self) -> Result<()> {
        if let Plot::Page(p) = &self.plot {
            p.show();
            return Ok(());
        }
        println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT", self.svg()?);
        Ok(())
    }
}

/// The output files of figure `id` in `out`: PNG, SVG, CSV; for an interactive page
/// (`page`) HTML and CSV.
pub(crate) fn outputs(out: &Path, id: &str, page: bool) -> Vec<PathBuf> {
    let exts: &[&str] = if page { &["html", "csv"] } else { &["png", "svg", "csv"] };
    exts.iter().map(|ext| out.join(format!("{id}.{ext}"))).collect()
}

/// Writes PNG, SVG and CSV of `fig` (a page: HTML and CSV), each atomically.
pub(crate) fn write_outputs(out: &Path, id: &str, fig: &Figure) -> Result<()> {
    let csv = out.join(format!("{id}.csv"));
    if let Plot::Page(p) = &fig.plot {
        crate::io::write_atomic(&out.join(format!("{id}.html")), p.document().as_bytes())?;
        return crate::io::write_atomic(&csv, &fig.table.to_csv()?);
    }
    let (png, svg) = (out.join(format!("{id}.png")), out.join(format!("{id}.svg")));
    let err = |source: PlotError| Error::Render {
        figure: id.to_string(),
        source,
    };
    let keep = fig.kept_height().map_err(err)?;
    let png_bytes = plot::png_bytes_top(fig.size, keep, |area| fig.plot.draw(area)).map_err(err)?;
    let svg_text = plot::svg_string_top(fig.size, keep, |area| fig.plot.draw(area)).map_err(err)?;
    crate::io::write_atomic(&png, &png_bytes)?;
    crate::io::write_atomic(&svg, svg_text.as_bytes())?;
    crate::io::write_atomic(&csv, &fig.table.to_csv()?)
}
