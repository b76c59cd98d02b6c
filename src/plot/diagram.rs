//! Diagrams made of boxes, circles, lines and text (essay sections 4 and 6: a net drawn
//! as layers of neurons, one neuron computing f(w·x + b), the digit net's layers, the
//! embedding module and an attention block). The shapes are placed in the diagram's own
//! units (`width` x `height`, y pointing down), which are scaled uniformly to fit the
//! area under the title; sizes of text and lines are in pixels at 1200x800 and scale
//! like every other plot's.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::theme::{self, put_text, text_size, Theme, VAlign};
use super::PlotError;

/// A colour as (red, green, blue).
pub type Rgb = (u8, u8, u8);

/// Where a text is anchored horizontally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anchor {
    Left,
    #[default]
    Center,
    Right,
}

/// One element of a [`Diagram`]. Coordinates are in the diagram's units.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A rectangle with its top-left corner at (x, y), filled (`None`: white), with a
    /// border, and `label` centred in it (lines split at '\n').
    Box {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Option<Rgb>,
        label: String,
        /// Text size in pixels at 1200x800.
        text_px: f64,
    },
    /// A circle centred at (x, y) of radius `r`, filled, with `label` in it.
    Circle {
        x: f64,
        y: f64,
        r: f64,
        fill: Rgb,
        label: String,
        text_px: f64,
    },
    /// A straight line from `from` to `to`, of `width` pixels at 1200x800, with an
    /// arrow head at `to` when `arrow`.
    Line {
        from: (f64, f64),
        to: (f64, f64),
        color: Rgb,
        width: f64,
        arrow: bool,
    },
    /// Text at (x, y) (its middle, vertically), lines split at '\n'.
    Text {
        x: f64,
        y: f64,
        text: String,
        text_px: f64,
        color: Rgb,
        bold: bool,
        anchor: Anchor,
    },
}

/// A diagram: a title, a subtitle and shapes drawn in order (later on top).
#[derive(Clone, Debug, Default)]
pub struct Diagram {
    pub title: String,
    pub subtitle: String,
    /// The extent of the diagram's units: x in [0, width], y in [0, height].
    pub width: f64,
    pub height: f64,
    pub shapes: Vec<Shape>,
}

/// The ink of text and borders.
pub const INK: Rgb = (0x22, 0x22, 0x22);
/// Grey for secondary text and lines.
pub const GREY: Rgb = (0x70, 0x70, 0x70);
/// Fills for boxes of different kinds.
pub const FILL_BLUE: Rgb = (0xd6, 0xe2, 0xf3);
pub const FILL_ORANGE: Rgb = (0xf8, 0xdd, 0xc9);
pub const FILL_GREEN: Rgb = (0xd4, 0xec, 0xd9);
pub const FILL_GREY: Rgb = (0xee, 0xee, 0xee);
pub const FILL_PURPLE: Rgb = (0xe2, 0xdc, 0xf0);
/// Lines for positive and negative weights.
pub const POSITIVE: Rgb = (0xc4, 0x4e, 0x52);
pub const NEGATIVE: Rgb = (0x4c, 0x72, 0xb0);

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws a [`Diagram`] into `area`.
pub fn draw_diagram<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Diagram) -> Result<(), PlotError> {
    if !(data.width > 0.0 && data.height > 0.0 && data.width.is_finite() && data.height.is_finite()) {
        return Err(PlotError::Data(format!(
            "diagram: extent {} x {} must be finite and positive",
            data.width, data.height
        )));
    }
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (bw, bh) = body.dim_in_pixel();
    let m = theme.margin() as f64;
    let (aw, ah) = (bw as f64 - 2.0 * m, bh as f64 - 2.0 * m);
    if aw < 32.0 || ah < 32.0 {
        return Err(PlotError::TooSmall {
            w: bw,
            h: bh,
            what: "a diagram".into(),
        });
    }
    let s = (aw / data.width).min(ah / data.height);
    let (ox, oy) = (m + (aw - s * data.width) / 2.0, m + (ah - s * data.height) / 2.0);
    let px = |x: f64, y: f64| ((ox + s * x).round() as i32, (oy + s * y).round() as i32);
    let lw = |w: f64| ((w * theme.scale).round() as u32).max(1);
    let text_lines = |text: &str, (cx, cy): (i32, i32), font: &theme::Font, anchor: Anchor| {
        let lines: Vec<&str> = text.split('\n').collect();
        let lh = theme::line_height(font.px);
        let top = cy - lh * (lines.len() as i32 - 1) / 2;
        let h = match anchor {
            Anchor::Left => HPos::Left,
            Anchor::Center => HPos::Center,
            Anchor::Right => HPos::Right,
        };
        for (i, l) in lines.iter().enumerate() {
            put_text(&body, l, font, (cx, top + lh * i as i32), h, VAlign::Middle)?;
        }
        Ok::<(), PlotError>(())
    };
    for shape in &data.shapes {
        match shape {
            Shape::Box {
                x,
                y,
                w,
                h,
                fill,
                label,
                text_px,
            } => {
                let (a, b) = (px(*x, *y), px(x + w, y + h));
                body.draw(&Rectangle::new([a, b], rgb(fill.unwrap_or((255, 255, 255))).filled()))?;
                body.draw(&Rectangle::new([a, b], rgb(INK).stroke_width(lw(1.5))))?;
                let font = theme::style(theme.px(*text_px), theme::TEXT);
                text_lines(label, ((a.0 + b.0) / 2, (a.1 + b.1) / 2), &font, Anchor::Center)?;
            }
            Shape::Circle {
                x,
                y,
                r,
                fill,
                label,
                text_px,
            } => {
                let c = px(*x, *y);
                let rad = ((r * s).round() as i32).max(2);
                body.draw(&Circle::new(c, rad, rgb(*fill).filled()))?;
                body.draw(&Circle::new(c, rad, rgb(INK).stroke_width(lw(1.2))))?;
                if !label.is_empty() {
                    let font = theme::style(theme.px(*text_px), theme::text_on(rgb(*fill)));
                    text_lines(label, c, &font, Anchor::Center)?;
                }
            }
            Shape::Line {
                from,
                to,
                color,
                width,
                arrow,
            } => {
                let (a, b) = (px(from.0, from.1), px(to.0, to.1));
                let style = rgb(*color).stroke_width(lw(*width));
                body.draw(&PathElement::new(vec![a, b], style))?;
                if *arrow {
                    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
                    let len = dx.hypot(dy).max(1e-9);
                    let (ux, uy) = (dx / len, dy / len);
                    let head = theme.len(12.0).max(6) as f64;
                    let p = |along: f64, side: f64| {
                        (
                            (b.0 as f64 - ux * along - uy * side).round() as i32,
                            (b.1 as f64 - uy * along + ux * side).round() as i32,
                        )
                    };
                    body.draw(&Polygon::new(
                        vec![b, p(head, head * 0.45), p(head, -head * 0.45)],
                        rgb(*color).filled(),
                    ))?;
                }
            }
            Shape::Text {
                x,
                y,
                text,
                text_px,
                color,
                bold,
                anchor,
            } => {
                let font = if *bold {
                    theme::bold(theme.px(*text_px), rgb(*color))
                } else {
                    theme::style(theme.px(*text_px), rgb(*color))
                };
                text_lines(text, px(*x, *y), &font, *anchor)?;
            }
        }
    }
    Ok(())
}

/// The width and height in pixels that `text` takes at `text_px` (at 1200x800), for
/// callers that size boxes around their labels.
pub fn text_extent(text: &str, text_px: f64) -> Result<(i32, i32), PlotError> {
    text_size(text, &theme::style(text_px, theme::TEXT))
}
