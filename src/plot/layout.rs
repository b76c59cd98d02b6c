//! The layout record of one drawing: every text the plot library put on the canvas
//! (its string, size and box in canvas pixels, estimated from the font's metrics),
//! every text it had to shorten, and every categorical palette it used (how many
//! classes, how many distinct colours). The figure lint (`figures::lint`) checks these
//! records for every figure of the essay: text inside the canvas, labels that do not
//! overlap, text large enough to read, palettes with a colour per class.
//!
//! Recording is off unless a caller asks for it with [`record`]; it is kept per thread,
//! so figures drawn in parallel threads do not mix their records.

use std::cell::RefCell;

/// A box in canvas pixels: (left, top, right, bottom).
pub type Rect = (f64, f64, f64, f64);

/// What a piece of text is, for the lint's rules (which texts may touch which).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Role {
    /// Figure title, subtitle, panel titles.
    Heading,
    /// Axis tick labels, category labels, colour-bar labels.
    Tick,
    /// Axis descriptions.
    Axis,
    /// Labels of data: values next to bars, names next to points, values in cells.
    Label,
    /// Legend entries.
    Legend,
    /// Running text of a text panel, captions under images, tree nodes.
    Body,
}

/// One text drawn.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TextRecord {
    pub text: String,
    /// Font size in plotters' pixels (the SVG font size is `px / 1.24`).
    pub px: f64,
    /// The box from the capitals' top to the descenders' bottom, in canvas pixels.
    pub rect: Rect,
    pub role: Role,
}

/// One use of a categorical palette.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PaletteRecord {
    /// Which plot used it ("scatter", "3-D scatter", "regions", "lines").
    pub plot: &'static str,
    /// How many classes (groups, series, regions) it coloured.
    pub classes: usize,
    /// How many distinct colours those classes got.
    pub distinct: usize,
}

/// Everything recorded while drawing one figure.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Layout {
    /// The canvas in pixels.
    pub size: (u32, u32),
    pub texts: Vec<TextRecord>,
    /// Texts that did not fit and were shortened with "…": the full text.
    pub shortened: Vec<String>,
    pub palettes: Vec<PaletteRecord>,
}

thread_local! {
    static RECORDER: RefCell<Option<Layout>> = const { RefCell::new(None) };
    static ROLE: RefCell<Role> = const { RefCell::new(Role::Body) };
}

/// Runs `draw` (which draws one `size` canvas) with recording on, and returns its
/// result with the layout it drew. Nested calls record into the innermost.
pub fn record<R>(size: (u32, u32), draw: impl FnOnce() -> R) -> (R, Layout) {
    let outer = RECORDER.with(|r| {
        r.borrow_mut().replace(Layout {
            size,
            ..Layout::default()
        })
    });
    let out = draw();
    let layout = RECORDER
        .with(|r| std::mem::replace(&mut *r.borrow_mut(), outer))
        .unwrap_or_default();
    (out, layout)
}

fn with(f: impl FnOnce(&mut Layout)) {
    RECORDER.with(|r| {
        if let Some(l) = r.borrow_mut().as_mut() {
            f(l)
        }
    });
}

/// Sets the role of the texts drawn until the guard is dropped.
pub(crate) fn role(role: Role) -> RoleGuard {
    let old = ROLE.with(|r| std::mem::replace(&mut *r.borrow_mut(), role));
    RoleGuard(old)
}

/// Restores the previous role when dropped (see [`role`]).
pub(crate) struct RoleGuard(Role);

impl Drop for RoleGuard {
    fn drop(&mut self) {
        ROLE.with(|r| *r.borrow_mut() = self.0);
    }
}

pub(crate) fn text(text: &str, px: f64, rect: Rect) {
    with(|l| {
        let role = ROLE.with(|r| *r.borrow());
        l.texts.push(TextRecord {
            text: text.to_string(),
            px,
            rect,
            role,
        })
    });
}

pub(crate) fn shortened(full: &str) {
    with(|l| l.shortened.push(full.to_string()));
}

/// Records that `plot` coloured `classes` classes with `colors` (one per class).
pub(crate) fn palette<C: PartialEq>(plot: &'static str, colors: &[C]) {
    with(|l| {
        let mut distinct: Vec<&C> = Vec::new();
        for c in colors {
            if !distinct.contains(&c) {
                distinct.push(c);
            }
        }
        l.palettes.push(PaletteRecord {
            plot,
            classes: colors.len(),
            distinct: distinct.len(),
        })
    });
}

/// The area (in pixels squared) two boxes share.
pub fn overlap(a: Rect, b: Rect) -> f64 {
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    w * h
}
