//! Text: the embedded DejaVu fonts, measuring, and placing text exactly.
//!
//! Plotters' own `ab_glyph` renderer drops each glyph's side bearing and rounds its
//! position, which makes letter spacing uneven, and its vertical anchors measure a box
//! the glyphs do not fill. So text here goes to the backend with our own
//! [`BackendTextStyle`]: the bitmap backend calls its `draw`, which rasterises the
//! glyphs at their true sub-pixel positions with `ab_glyph`; the SVG backend writes a
//! `<text>` element from its family, size and anchor. Both put the baseline at the same
//! place, and the font is sized as in SVG (em = size / 1.24), so PNG and SVG agree.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _};
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontDesc, FontStyle, FontTransform};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use super::PlotError;

/// Font family of all text, as SVG viewers see it (a CSS font list).
pub const FONT: &str = "DejaVu Sans, Verdana, sans-serif";
/// The monospaced family.
pub const MONO_FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// The three faces in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
    Mono,
}

struct Faces {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
    mono: FontRef<'static>,
}

fn faces() -> Result<&'static Faces, PlotError> {
    static FACES: OnceLock<Result<Faces, String>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let load = |name: &str, bytes: &'static [u8]| {
                FontRef::try_from_slice(bytes).map_err(|e| format!("the embedded {name} is not a valid font: {e}"))
            };
            Ok(Faces {
                regular: load("DejaVu Sans", dejavu::sans::regular())?,
                bold: load("DejaVu Sans Bold", dejavu::sans::bold())?,
                mono: load("DejaVu Sans Mono", dejavu::sans_mono::regular())?,
            })
        })
        .as_ref()
        .map_err(|e| PlotError::Font(e.clone()))
}

/// Loads the embedded DejaVu fonts and registers them with plotters (for the text
/// plotters draws itself, such as 3-D axis labels), once per process. Every drawing
/// function calls it, so a fresh process (a notebook cell) can draw at any time.
pub fn ensure_fonts() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    faces()?;
    REGISTERED
        .get_or_init(|| {
            let sans: [(FontStyle, &'static [u8]); 4] = [
                (FontStyle::Normal, dejavu::sans::regular()),
                (FontStyle::Bold, dejavu::sans::bold()),
                (FontStyle::Oblique, dejavu::sans::oblique()),
                (FontStyle::Italic, dejavu::sans::oblique()),
            ];
            // "sans-serif" too: the name plotters' defaults ask for.
            for family in [FONT, "sans-serif"] {
                for (style, bytes) in sans {
                    register_font(family, style, bytes)
                        .map_err(|_| format!("plotters rejected the embedded DejaVu Sans ({})", style.as_str()))?;
                }
            }
            register_font(MONO_FONT, FontStyle::Normal, dejavu::sans_mono::regular())
                .map_err(|_| "plotters rejected the embedded DejaVu Sans Mono".to_string())?;
            Ok(())
        })
        .clone()
        .map_err(PlotError::Font)
}

/// A text style: size (plotters' convention: the SVG font size is `px / 1.24`),
/// colour and face.
#[derive(Clone, Copy, Debug)]
pub struct Font {
    pub px: f64,
    pub color: RGBColor,
    pub face: Face,
}

impl Font {
    pub fn new(px: f64, color: RGBColor, face: Face) -> Self {
        Font { px, color, face }
    }

    /// The same style for text plotters draws itself.
    pub fn to_plotters(self) -> plotters::style::TextStyle<'static> {
        let (family, weight) = match self.face {
            Face::Regular => (FONT, FontStyle::Normal),
            Face::Bold => (FONT, FontStyle::Bold),
            Face::Mono => (MONO_FONT, FontStyle::Normal),
        };
        plotters::style::TextStyle {
            font: FontDesc::new(FontFamily::Name(family), self.px, weight),
            color: self.color.to_backend_color(),
            pos: Pos::new(HPos::Left, VPos::Top),
        }
    }

    /// The em size in pixels.
    fn em(&self) -> f32 {
        (self.px / 1.24) as f32
    }

    fn font_ref(&self) -> Result<&'static FontRef<'static>, PlotError> {
        let f = faces()?;
        Ok(match self.face {
            Face::Regular => &f.regular,
            Face::Bold => &f.bold,
            Face::Mono => &f.mono,
        })
    }

    /// ab_glyph's scale for this em size (its scale is the ascent-to-descent height).
    fn scale(font: &FontRef<'static>, em: f32) -> PxScale {
        let upem = font.units_per_em().unwrap_or(2048.0);
        PxScale::from(em * font.height_unscaled() / upem)
    }

    /// Advance width of `text` in pixels.
    pub fn width(&self, text: &str) -> Result<f64, PlotError> {
        let font = self.font_ref()?;
        let scaled = font.as_scaled(Self::scale(font, self.em()));
        let mut w = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        Ok(w as f64)
    }
}

/// The baseline lies this far above the anchor of bottom-anchored text: SVG's
/// `dy="-0.5ex"`, with DejaVu's x-height of 0.547 em.
fn drop(px: f64) -> f64 {
    0.547 / 2.0 * px / 1.24
}

/// Ascender height (above the baseline) and descender depth of DejaVu Sans, in em.
const ASCENT: f64 = 0.76;
const DESCENT: f64 = 0.24;

/// Capital height of DejaVu Sans in units of `px`.
const CAP: f64 = 0.729 / 1.24;

/// The font error the backends see (the fonts are checked before any drawing).
#[derive(Debug)]
struct FontMissing;

impl std::fmt::Display for FontMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the embedded font is not loaded")
    }
}

impl std::error::Error for FontMissing {}

/// A [`Font`] with an anchor and a rotation, handed to the backend.
struct Placed {
    font: Font,
    h: HPos,
    transform: FontTransform,
}

impl BackendTextStyle for Placed {
    type FontError = FontMissing;

    fn color(&self) -> BackendColor {
        self.font.color.to_backend_color()
    }
    fn size(&self) -> f64 {
        self.font.px
    }
    fn transform(&self) -> FontTransform {
        self.transform.clone()
    }
    fn style(&self) -> FontStyle {
        if self.font.face == Face::Bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        }
    }
    fn anchor(&self) -> Pos {
        Pos::new(self.h, VPos::Bottom)
    }
    fn family(&self) -> plotters_backend::FontFamily<'_> {
        plotters_backend::FontFamily::Name(if self.font.face == Face::Mono { MONO_FONT } else { FONT })
    }

    /// Width by advances; "height" is the baseline's drop, so that the backend's
    /// bottom anchor puts the baseline where SVG puts it.
    fn layout_box(&self, text: &str) -> Result<((i32, i32), (i32, i32)), FontMissing> {
        let w = self.font.width(text).map_err(|_| FontMissing)?;
        Ok(((0, 0), (w.round() as i32, drop(self.font.px).round() as i32)))
    }

    /// Rasterises the glyphs with the baseline at `pos.1`, each at its sub-pixel x.
    fn draw<E, DrawFunc: FnMut(i32, i32, BackendColor) -> Result<(), E>>(
        &self,
        text: &str,
        pos: BackendCoord,
        mut draw: DrawFunc,
    ) -> Result<Result<(), E>, FontMissing> {
        let font = self.font.font_ref().map_err(|_| FontMissing)?;
        let scale = Font::scale(font, self.font.em());
        let scaled = font.as_scaled(scale);
        let color = self.color();
        let mut caret = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pos.0 as f32 + caret, pos.1 as f32));
            caret += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|x, y, coverage| {
                if result.is_ok() && coverage > 0.0 {
                    let c = BackendColor {
                        alpha: color.alpha * coverage.min(1.0) as f64,
                        rgb: color.rgb,
                    };
                    result = draw(b.min.x as i32 + x as i32, b.min.y as i32 + y as i32, c);
                }
            });
            if result.is_err() {
                return Ok(result);
            }
        }
        Ok(Ok(()))
    }
}

/// A text element at a pixel position, drawn through the backend's `draw_text`.
struct Label<'a> {
    text: &'a str,
    style: Placed,
    pos: BackendCoord,
}

impl<'b> PointCollection<'b, BackendCoord> for &'b Label<'_> {
    type Point = &'b BackendCoord;
    type IntoIter = std::iter::Once<&'b BackendCoord>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.pos)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Label<'_> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        match pos.next() {
            Some(p) => backend.draw_text(self.text, &self.style, p),
            None => Ok(()),
        }
    }
}

/// Width and height in pixels of `text` in `font` (height: one line).
pub fn text_size(text: &str, font: &Font) -> Result<(i32, i32), PlotError> {
    if text.is_empty() {
        return Ok((0, 0));
    }
    Ok((font.width(text)?.ceil() as i32, line_height(font.px)))
}

/// The widest of `texts` in `font`, in pixels.
pub fn max_width<S: AsRef<str>>(texts: &[S], font: &Font) -> Result<i32, PlotError> {
    let mut w = 0;
    for t in texts {
        w = w.max(text_size(t.as_ref(), font)?.0);
    }
    Ok(w)
}

/// Height of a line of text of `px`, including leading.
pub fn line_height(px: f64) -> i32 {
    (px * 1.15).ceil() as i32
}

/// Where text sits vertically relative to the given y.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VAlign {
    /// The tops of capitals at y.
    Top,
    /// Centred (between the capitals' and the small letters' middle) on y.
    Middle,
    /// The baseline at y.
    Baseline,
}

fn baseline_below(v: VAlign, px: f64) -> f64 {
    match v {
        VAlign::Top => CAP * px,
        VAlign::Middle => 0.45 * CAP * px,
        VAlign::Baseline => 0.0,
    }
}

/// Draws `text` at `pos` (area pixels), aligned horizontally by `h` and vertically by `v`.
pub fn put_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    font: &Font,
    pos: (i32, i32),
    h: HPos,
    v: VAlign,
) -> Result<(), PlotError> {
    if text.is_empty() {
        return Ok(());
    }
    let w = font.width(text)?;
    let (bx, by) = area.get_base_pixel();
    let x0 = bx as f64
        + pos.0 as f64
        + match h {
            HPos::Left => 0.0,
            HPos::Center => -w / 2.0,
            HPos::Right => -w,
        };
    let baseline = by as f64 + pos.1 as f64 + baseline_below(v, font.px);
    let em = font.px / 1.24;
    super::layout::text(
        text,
        font.px,
        (x0, baseline - ASCENT * em, x0 + w, baseline + DESCENT * em),
    );
    let dy = (baseline_below(v, font.px) + drop(font.px)).round() as i32;
    let label = Label {
        text,
        style: Placed {
            font: *font,
            h,
            transform: FontTransform::None,
        },
        pos: (pos.0, pos.1 + dy),
    };
    area.draw(&label)?;
    Ok(())
}

/// Draws `text` rotated to read upwards, centred on the vertical line x = `pos.0`;
/// `h` says whether it is centred on y = `pos.1` (Center), starts there (Left) or
/// ends there (Right).
pub fn put_text_vertical<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    font: &Font,
    pos: (i32, i32),
    h: HPos,
) -> Result<(), PlotError> {
    if text.is_empty() {
        return Ok(());
    }
    // Turned by 270 degrees, the text's "down" points right: shift the anchor right by
    // as much as `put_text` shifts it down to centre the text.
    let dx = (baseline_below(VAlign::Middle, font.px) + drop(font.px)).round() as i32;
    let w = font.width(text)?;
    let (bx, by) = area.get_base_pixel();
    let y = by as f64 + pos.1 as f64;
    let (y0, y1) = match h {
        HPos::Left => (y - w, y),
        HPos::Center => (y - w / 2.0, y + w / 2.0),
        HPos::Right => (y, y + w),
    };
    let baseline = bx as f64 + pos.0 as f64 + baseline_below(VAlign::Middle, font.px);
    let em = font.px / 1.24;
    super::layout::text(text, font.px, (baseline - ASCENT * em, y0, baseline + DESCENT * em, y1));
    let label = Label {
        text,
        style: Placed {
            font: *font,
            h,
            transform: FontTransform::Rotate270,
        },
        pos: (pos.0 + dx, pos.1),
    };
    area.draw(&label)?;
    Ok(())
}

/// Shortens `text` with an ellipsis until it fits `max_w` pixels.
pub fn fit_width(text: &str, font: &Font, max_w: i32) -> Result<String, PlotError> {
    if text_size(text, font)?.0 <= max_w {
        return Ok(text.to_string());
    }
    super::layout::shortened(text);
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let s: String = chars[..keep].iter().collect::<String>() + "…";
        if text_size(&s, font)?.0 <= max_w {
            return Ok(s);
        }
    }
    Ok(String::new())
}

/// Breaks `text` into lines at most `max_w` pixels wide, at spaces (a word longer than
/// a line gets a line of its own, cut between characters). Nothing is left out.
pub fn wrap_words(text: &str, font: &Font, max_w: i32) -> Result<Vec<String>, PlotError> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_size(&candidate, font)?.0 <= max_w || line.is_empty() && text_size(word, font)?.0 <= max_w {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: cut it between characters while it is wider than a line.
        let mut rest = word.to_string();
        while text_size(&rest, font)?.0 > max_w && rest.chars().count() > 1 {
            let chars: Vec<char> = rest.chars().collect();
            let mut keep = chars.len() - 1;
            while keep > 1 && text_size(&chars[..keep].iter().collect::<String>(), font)?.0 > max_w {
                keep -= 1;
            }
            lines.push(chars[..keep].iter().collect());
            rest = chars[keep..].iter().collect();
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// `font` made smaller, if need be, until `text` fits `max_w` pixels, but never below
/// `min_px` (then the caller may still have to cut it).
pub fn shrink_to_fit(text: &str, font: &Font, max_w: i32, min_px: f64) -> Result<Font, PlotError> {
    let w = text_size(text, font)?.0;
    if w <= max_w || w == 0 {
        return Ok(*font);
    }
    let px = (font.px * max_w as f64 / w as f64 * 0.98).max(min_px).min(font.px);
    Ok(Font { px, ..*font })
}
