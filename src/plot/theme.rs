//! The one visual theme every plot shares: colours, colormaps, font sizes that scale
//! with the drawing area, and the figure header (title and subtitle).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

pub use super::font::{
    ensure_fonts, fit_width, line_height, max_width, put_text, put_text_vertical, shrink_to_fit, text_size, wrap_words,
    Face, Font, VAlign,
};
use super::PlotError;

/// Default figure size in pixels (PNG); every font size below is given for it.
pub const DEFAULT_SIZE: (u32, u32) = (1200, 800);

/// The smallest text any plot draws, in plotters' pixels at the output size (the SVG
/// font size is this / 1.24: about 9.7 px, capitals about 7 px tall); the figure lint
/// fails a figure with smaller text.
pub const MIN_TEXT_PX: f64 = 12.0;

/// Background of every figure.
pub const BACKGROUND: RGBColor = WHITE;
/// Titles, labels, values.
pub const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Subtitles, list numbers, prompt text.
pub const MUTED: RGBColor = RGBColor(0x70, 0x70, 0x70);
/// Axis lines and tick marks.
pub const AXIS: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);
/// Major grid lines.
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
/// Minor grid lines (log axes).
pub const GRID_MINOR: RGBColor = RGBColor(0xf2, 0xf2, 0xf2);
/// Cells with no value (NaN, infinite).
pub const MISSING: RGBColor = RGBColor(0xee, 0xee, 0xee);
/// The main colour: bars, lines, points.
pub const BLUE: RGBColor = RGBColor(0x4c, 0x72, 0xb0);
/// The accent: highlighted bars, 3-D paths, the background of a highlighted token.
pub const ORANGE: RGBColor = RGBColor(0xdd, 0x84, 0x52);

/// Colours for several series or groups, in order (seaborn's "deep" set: muted,
/// told apart by most colour-blind readers): ten, so that the ten digits get ten.
pub const PALETTE: [RGBColor; 10] = [
    BLUE,
    ORANGE,
    RGBColor(0x55, 0xa8, 0x68), // green
    RGBColor(0xc4, 0x4e, 0x52), // red
    RGBColor(0x81, 0x72, 0xb3), // purple
    RGBColor(0x93, 0x78, 0x60), // brown
    RGBColor(0xda, 0x8b, 0xc3), // pink
    RGBColor(0x8c, 0x8c, 0x8c), // grey
    RGBColor(0xcc, 0xb9, 0x74), // olive
    RGBColor(0x64, 0xb5, 0xcd), // cyan
];

/// The colour of series or group `i` (the palette repeats after ten: a plot with more
/// classes than colours fails the figure lint).
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colour of group `i` where the accent is taken (a path, arrows): the palette
/// without orange, and near-black as its tenth colour.
pub fn group_color(i: usize) -> RGBColor {
    let rest = [
        PALETTE[0], PALETTE[2], PALETTE[3], PALETTE[4], PALETTE[5], PALETTE[6], PALETTE[7], PALETTE[8], PALETTE[9],
        TEXT,
    ];
    rest[i % rest.len()]
}

/// A sequential or diverging map from a value in a range to a colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    /// Dark purple (low) to yellow (high); the default for probabilities and counts.
    #[default]
    Viridis,
    /// White (low) to black (high): digits drawn as ink on paper, weight magnitudes.
    Greys,
    /// Blue (negative) through white (zero) to red (positive), for signed weights; the
    /// default range is symmetric around zero.
    BlueWhiteRed,
}

impl Colormap {
    /// The colour at `t` in [0, 1] (clamped).
    pub fn at(self, t: f64) -> RGBColor {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        match self {
            Colormap::Viridis => plotters::style::colors::colormaps::ViridisRGB::get_color_normalized(t, 0.0, 1.0),
            Colormap::Greys => {
                let v = (255.0 * (1.0 - t)).round() as u8;
                RGBColor(v, v, v)
            }
            Colormap::BlueWhiteRed => {
                // ColorBrewer RdBu, reversed so that negative is blue.
                const STOPS: [(u8, u8, u8); 5] = [
                    (0x21, 0x66, 0xac),
                    (0x92, 0xc5, 0xde),
                    (0xf7, 0xf7, 0xf7),
                    (0xf4, 0xa5, 0x82),
                    (0xb2, 0x18, 0x2b),
                ];
                let x = t * (STOPS.len() - 1) as f64;
                let i = (x.floor() as usize).min(STOPS.len() - 2);
                let f = x - i as f64;
                let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
                let (a, b) = (STOPS[i], STOPS[i + 1]);
                RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
            }
        }
    }

    /// The colour of `v` in `range`; [`MISSING`] for NaN and infinities.
    pub fn color(self, v: f64, range: (f64, f64)) -> RGBColor {
        if !v.is_finite() {
            return MISSING;
        }
        let (lo, hi) = range;
        self.at(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 })
    }

    /// The range used when none is given: min..max of the finite values, or -m..m with
    /// m = max |v| for the diverging map. Never empty.
    pub fn default_range(self, values: &[f64]) -> (f64, f64) {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo > hi {
            return (0.0, 1.0);
        }
        let (lo, hi) = match self {
            Colormap::BlueWhiteRed => {
                let m = lo.abs().max(hi.abs());
                (-m, m)
            }
            _ => (lo, hi),
        };
        if hi > lo {
            (lo, hi)
        } else if lo == 0.0 {
            (-1.0, 1.0)
        } else {
            (lo - lo.abs() * 0.5, hi + hi.abs() * 0.5)
        }
    }
}

/// Relative luminance (0 dark .. 1 light) as WCAG defines it (linear light), to choose
/// black or white text on a cell.
pub fn luminance(c: RGBColor) -> f64 {
    let lin = |v: u8| {
        let s = v as f64 / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: RGBColor, b: RGBColor) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Text that reads on a cell of colour `c`: dark or white, whichever contrasts more.
pub fn text_on(c: RGBColor) -> RGBColor {
    if contrast(TEXT, c) >= contrast(WHITE, c) {
        TEXT
    } else {
        WHITE
    }
}

/// Font sizes and spacing for one drawing area. Sizes are given for a 1200x800 figure
/// and scale with the area (a panel of a small multiple gets smaller text, a 2400x1600
/// figure bigger), never below a readable floor.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub scale: f64,
}

impl Theme {
    /// The theme for drawing into `area` (registers the fonts first).
    pub fn for_area<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<Self, PlotError> {
        ensure_fonts()?;
        let (w, h) = area.dim_in_pixel();
        let scale = (w as f64 / DEFAULT_SIZE.0 as f64)
            .min(h as f64 / DEFAULT_SIZE.1 as f64)
            .clamp(0.25, 4.0);
        Ok(Theme { scale })
    }

    /// `base` pixels at 1200x800, scaled, at least half of `base` and at least
    /// [`MIN_TEXT_PX`].
    pub fn px(&self, base: f64) -> f64 {
        (base * self.scale).max(base * 0.5).max(MIN_TEXT_PX)
    }

    /// A length (margins, gaps, marker sizes) that scales without a floor.
    pub fn len(&self, base: f64) -> i32 {
        (base * self.scale.max(0.4)).round().max(1.0) as i32
    }

    pub fn title_px(&self) -> f64 {
        self.px(30.0)
    }
    pub fn subtitle_px(&self) -> f64 {
        self.px(19.0)
    }
    /// Axis descriptions, category labels, legend entries, panel titles.
    pub fn label_px(&self) -> f64 {
        self.px(21.0)
    }
    pub fn tick_px(&self) -> f64 {
        self.px(17.0)
    }
    /// Cell annotations, captions under images.
    pub fn small_px(&self) -> f64 {
        self.px(15.0)
    }
    /// Body text of a text panel.
    pub fn body_px(&self) -> f64 {
        self.px(24.0)
    }
    /// The outer margin of a figure.
    pub fn margin(&self) -> i32 {
        self.len(24.0)
    }
    /// The gap between a label and what it labels.
    pub fn gap(&self) -> i32 {
        self.len(8.0)
    }
    /// Line widths.
    pub fn line_width(&self) -> u32 {
        self.len(2.5) as u32
    }
}

/// A text style in the theme's font.
pub fn style(px: f64, color: RGBColor) -> Font {
    Font::new(px, color, Face::Regular)
}

/// A bold text style in the theme's font.
pub fn bold(px: f64, color: RGBColor) -> Font {
    Font::new(px, color, Face::Bold)
}

/// A text style in the monospaced font.
pub fn mono(px: f64, color: RGBColor) -> Font {
    Font::new(px, color, Face::Mono)
}

/// Draws a figure's title (bold, left-aligned) and subtitle (muted) at the top of
/// `area` and returns the area below them, inside the outer margin. Empty strings take
/// no space. Nothing is cut off: a title too wide for the area is set a little smaller,
/// then wrapped; a subtitle wraps onto as many lines as it needs (preferring to break
/// at its " · " separators, so that the model's name stays whole).
pub fn header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let _role = super::layout::role(super::layout::Role::Heading);
    let m = theme.margin();
    let (w, _) = area.dim_in_pixel();
    let max_w = w as i32 - 2 * m;
    let mut y = m;
    if !title.is_empty() {
        let mut px = theme.title_px();
        if text_size(title, &bold(px, TEXT))?.0 > max_w {
            px = (px * 0.8).max(theme.label_px());
        }
        let st = bold(px, TEXT);
        for line in wrap_words(title, &st, max_w)? {
            put_text(area, &line, &st, (m, y), HPos::Left, VAlign::Top)?;
            y += line_height(px);
        }
        y += theme.gap() / 2;
    }
    if !subtitle.is_empty() {
        let st = style(theme.subtitle_px(), MUTED);
        for line in wrap_subtitle(subtitle, &st, max_w)? {
            put_text(area, &line, &st, (m, y), HPos::Left, VAlign::Top)?;
            y += line_height(theme.subtitle_px());
        }
    }
    if y > m {
        y += theme.gap() * 2;
    }
    Ok(area.margin(y, m, m, m))
}
/// Lines of a subtitle: its " · "-separated parts kept whole where they fit a line.
fn wrap_subtitle(text: &str, font: &Font, max_w: i32) -> Result<Vec<String>, PlotError> {
    let mut lines: Vec<String> = Vec::new();
    for part in text.split(" · ") {
        let joined = match lines.last() {
            Some(last) => format!("{last} · {part}"),
            None => part.to_string(),
        };
        if !lines.is_empty() && text_size(&joined, font)?.0 <= max_w {
            *lines.last_mut().expect("a line") = joined;
        } else {
            lines.extend(wrap_words(part, font, max_w)?);
        }
    }
    Ok(lines)
}

/// Makes whitespace in a token visible: a space becomes "␣", a newline "↵", a tab "⇥"
/// (so that " learn" and "learn" differ on a label).
pub fn visible_whitespace(token: &str) -> String {
    crate::tokenizer::readable(token)
}
