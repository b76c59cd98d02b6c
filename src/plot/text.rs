//! Text as a figure: generated continuations with the prompt in grey and the model's
//! words in black (the newest one highlighted), wrapped to the area, optionally as a
//! numbered list (greedy continuation step by step). Also the small-multiples layout.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::layout::{self, Role};
use super::theme::{self, put_text, Theme, VAlign};
use super::PlotError;

/// How a span of text is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpanKind {
    /// Black.
    #[default]
    Plain,
    /// The prompt: grey.
    Prompt,
    /// Text the model wrote: black.
    Generated,
    /// The newest or chosen token: bold on a light accent background.
    Highlight,
}

/// A run of text in one style. Spans join without added spaces, so tokens can be
/// given as they are (" learn", "ing").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub kind: SpanKind,
}

impl Span {
    pub fn plain(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            kind: SpanKind::Plain,
        }
    }
    pub fn prompt(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            kind: SpanKind::Prompt,
        }
    }
    pub fn generated(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            kind: SpanKind::Generated,
        }
    }
    pub fn highlight(text: impl Into<String>) -> Self {
        Span {
            text: text.into(),
            kind: SpanKind::Highlight,
        }
    }
}

/// A title, wrapped paragraphs of styled spans, then an optional numbered list.
#[derive(Clone, Debug, Default)]
pub struct TextPanel {
    pub title: String,
    pub subtitle: String,
    /// Each paragraph a sequence of spans; "\n" inside a span breaks the line.
    pub paragraphs: Vec<Vec<Span>>,
    /// Items numbered 1, 2, ... after the paragraphs.
    pub list: Vec<Vec<Span>>,
}

/// Light background behind highlighted spans.
const HIGHLIGHT_BG: RGBColor = RGBColor(0xfb, 0xe0, 0xcc);

fn span_style(kind: SpanKind, px: f64) -> theme::Font {
    match kind {
        SpanKind::Plain | SpanKind::Generated => theme::style(px, theme::TEXT),
        SpanKind::Prompt => theme::style(px, theme::MUTED),
        SpanKind::Highlight => theme::bold(px, theme::TEXT),
    }
}

/// A piece of a laid-out line: x offset, text, style.
type Piece = (i32, String, SpanKind);

/// Splits spans into runs that are all whitespace or all not, keeping "\n" apart.
fn runs(spans: &[Span]) -> Vec<(String, SpanKind)> {
    let mut out: Vec<(String, SpanKind)> = Vec::new();
    for s in spans {
        let mut cur = String::new();
        let mut cur_ws = None;
        for c in s.text.chars() {
            let ws = if c == '\n' { None } else { Some(c.is_whitespace()) };
            if c == '\n' || (cur_ws.is_some() && ws != cur_ws) {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), s.kind));
                }
                if c == '\n' {
                    out.push(("\n".into(), s.kind));
                    cur_ws = None;
                    continue;
                }
            }
            cur.push(c);
            cur_ws = ws;
        }
        if !cur.is_empty() {
            out.push((cur, s.kind));
        }
    }
    out
}

/// Wraps `spans` into lines at most `max_w` pixels wide, breaking only at whitespace
/// (or inside a word longer than a whole line).
fn wrap(spans: &[Span], px: f64, max_w: i32) -> Result<Vec<Vec<Piece>>, PlotError> {
    let width = |t: &str, k: SpanKind| -> Result<i32, PlotError> { Ok(theme::text_size(t, &span_style(k, px))?.0) };
    let mut lines: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut x = 0;
    let runs = runs(spans);
    let mut i = 0;
    while i < runs.len() {
        let (text, kind) = &runs[i];
        if text == "\n" {
            lines.push(Vec::new());
            x = 0;
            i += 1;
            continue;
        }
        let is_ws = text.chars().all(char::is_whitespace);
        if is_ws {
            // Whitespace at the start of a wrapped line is dropped.
            if x > 0 {
                let w = width(text, *kind)?;
                lines.last_mut().expect("one line").push((x, text.clone(), *kind));
                x += w;
            }
            i += 1;
            continue;
        }
        // A word: this run and the non-whitespace runs right after it.
        let mut j = i;
        let mut word = Vec::new();
        let mut word_w = 0;
        while j < runs.len() && runs[j].0 != "\n" && !runs[j].0.chars().all(char::is_whitespace) {
            let w = width(&runs[j].0, runs[j].1)?;
            word.push((runs[j].0.clone(), runs[j].1, w));
            word_w += w;
            j += 1;
        }
        if x > 0 && x + word_w > max_w {
            // Drop the trailing whitespace of the full line, start a new one.
            let line = lines.last_mut().expect("one line");
            while line.last().is_some_and(|(_, t, _)| t.chars().all(char::is_whitespace)) {
                line.pop();
            }
            lines.push(Vec::new());
            x = 0;
        }
        for (t, k, w) in word {
            if x + w <= max_w || x == 0 && w <= max_w {
                lines.last_mut().expect("one line").push((x, t, k));
                x += w;
                continue;
            }
            // Longer than what is left of the line: break it between characters.
            let mut part = String::new();
            for c in t.chars() {
                let cw = width(&format!("{part}{c}"), k)?;
                if x + cw > max_w && !part.is_empty() {
                    lines
                        .last_mut()
                        .expect("one line")
                        .push((x, std::mem::take(&mut part), k));
                    lines.push(Vec::new());
                    x = 0;
                }
                part.push(c);
            }
            let pw = width(&part, k)?;
            lines.last_mut().expect("one line").push((x, part, k));
            x += pw;
        }
        i = j;
    }
    Ok(lines)
}

/// Draws a [`TextPanel`] into `area`; the font shrinks until everything fits.
pub fn draw_text_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &TextPanel) -> Result<(), PlotError> {
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (w, h) = body.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    if w < 40 || h < 20 {
        let (w, h) = area.dim_in_pixel();
        return Err(PlotError::TooSmall {
            w,
            h,
            what: "a text panel".into(),
        });
    }

    // The height the text takes at size `px`.
    let height_at = |px: f64| -> Result<i32, PlotError> {
        let line_h = (px * 1.5).round() as i32;
        let para_gap = (px * 0.7).round() as i32;
        let number_w = if data.list.is_empty() {
            0
        } else {
            theme::text_size(&format!("{}.", data.list.len()), &theme::style(px, theme::MUTED))?.0 + (px * 0.6) as i32
        };
        let mut total = 0;
        let mut blocks = 0;
        for p in &data.paragraphs {
            total += wrap(p, px, w)?.len() as i32 * line_h;
            blocks += 1;
        }
        for item in &data.list {
            total += wrap(item, px, w - number_w)?.len() as i32 * line_h;
            blocks += 1;
        }
        Ok(total + para_gap * (blocks - 1).max(0))
    };
    // Short text grows (up to 1.6 times the body size) to fill most of the area, so that
    // a text figure does not leave the canvas blank; long text shrinks below.
    let mut px = theme.body_px();
    while px * 1.08 <= theme.body_px() * 1.6 && height_at(px * 1.08)? as f64 <= h as f64 * 0.8 {
        px *= 1.08;
    }
    loop {
        let line_h = (px * 1.5).round() as i32;
        let para_gap = (px * 0.7).round() as i32;
        let number_w = if data.list.is_empty() {
            0
        } else {
            theme::text_size(&format!("{}.", data.list.len()), &theme::style(px, theme::MUTED))?.0 + (px * 0.6) as i32
        };
        let mut blocks = Vec::new();
        for p in &data.paragraphs {
            blocks.push((None, wrap(p, px, w)?));
        }
        for (i, item) in data.list.iter().enumerate() {
            blocks.push((Some(i + 1), wrap(item, px, w - number_w)?));
        }
        let total: i32 = blocks.iter().map(|(_, lines)| lines.len() as i32 * line_h).sum::<i32>()
            + para_gap * (blocks.len() as i32 - 1).max(0);
        if total > h && px > theme::MIN_TEXT_PX + 0.5 {
            px = (px * 0.92).max(theme::MIN_TEXT_PX);
            continue;
        }

        let mut y = 0;
        'blocks: for (number, lines) in &blocks {
            let indent = if number.is_some() { number_w } else { 0 };
            if let Some(k) = number {
                put_text(
                    &body,
                    &format!("{k}."),
                    &theme::style(px, theme::MUTED),
                    (number_w - (px * 0.6) as i32, y),
                    HPos::Right,
                    VAlign::Top,
                )?;
            }
            for line in lines {
                if y + line_h > h + line_h / 3 {
                    break 'blocks;
                }
                // Backgrounds first, so that no box covers a neighbouring glyph.
                for (x, text, kind) in line {
                    if *kind == SpanKind::Highlight && !text.trim().is_empty() {
                        let tw = theme::text_size(text, &span_style(*kind, px))?.0;
                        let pad = (px * 0.12).round() as i32;
                        let (top, bottom) = (y - (px * 0.25) as i32, y + (px * 0.9) as i32);
                        body.draw(&Rectangle::new(
                            [(indent + x - pad, top), (indent + x + tw + pad, bottom)],
                            HIGHLIGHT_BG.filled(),
                        ))?;
                    }
                }
                for (x, text, kind) in line {
                    put_text(
                        &body,
                        text,
                        &span_style(*kind, px),
                        (indent + x, y),
                        HPos::Left,
                        VAlign::Top,
                    )?;
                }
                y += line_h;
            }
            y += para_gap;
        }
        return Ok(());
    }
}

/// A grid of panels with titles under an optional figure title: small multiples such
/// as the 12 attention heads of a block.
#[derive(Clone, Debug, Default)]
pub struct Panels {
    pub title: String,
    pub subtitle: String,
    /// One title per panel (may be empty); their number is the number of panels.
    pub panel_titles: Vec<String>,
    /// Panels per row; 0 chooses about as many columns as make square-ish panels.
    pub columns: usize,
}

/// Draws the figure title and the panel titles, and returns the area of each panel
/// (below its title) to draw into, in order, row by row.
pub fn small_multiples<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panels: &Panels,
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    let n = panels.panel_titles.len();
    if n == 0 {
        return Err(PlotError::Data("small multiples: no panels".into()));
    }
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &panels.title, &panels.subtitle)?;
    let (w, h) = body.dim_in_pixel();
    let columns = if panels.columns > 0 {
        panels.columns.min(n)
    } else {
        ((n as f64 * w as f64 / h.max(1) as f64).sqrt().round() as usize).clamp(1, n)
    };
    let rows = n.div_ceil(columns);
    if w / (columns as u32) < 40 || h / (rows as u32) < 40 {
        return Err(PlotError::TooSmall {
            w,
            h,
            what: format!("{n} panels in {columns} columns"),
        });
    }
    let title_px = theme.label_px();
    let st = theme::style(title_px, theme::TEXT);
    let title_h = if panels.panel_titles.iter().any(|t| !t.is_empty()) {
        theme::line_height(title_px) + theme.gap() / 2
    } else {
        0
    };
    // Equal panels (split_evenly would spread the rounding over them), so that the same
    // plot drawn into each comes out the same.
    let (pw, ph) = (w / columns as u32, h / rows as u32);
    let mut out = Vec::with_capacity(n);
    for (i, title) in panels.panel_titles.iter().enumerate() {
        let (r, c) = ((i / columns) as u32, (i % columns) as u32);
        let cell = body.clone().shrink((c * pw, r * ph), (pw, ph));
        let _heading = layout::role(Role::Heading);
        // A long title is set smaller (down to the smallest text) before it is cut.
        let st = theme::shrink_to_fit(title, &st, pw as i32 - theme.gap(), theme::MIN_TEXT_PX)?;
        let text = theme::fit_width(title, &st, pw as i32 - theme.gap())?;
        put_text(&cell, &text, &st, (pw as i32 / 2, 0), HPos::Center, VAlign::Top)?;
        out.push(cell.margin(title_h, theme.gap() / 2, theme.gap() / 2, theme.gap() / 2));
    }
    Ok(out)
}
