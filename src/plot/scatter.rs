//! Labelled points: the 2-D maps of word embeddings (with groups and analogy arrows)
//! and the 3-D view of points and a path (a prompt's trajectory in feature space).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axes::{self, format_number, nice_ticks, Axis, FrameSpec, Mark};
use super::layout::{self, Role};
use super::theme::{self, put_text, Theme, VAlign};
use super::PlotError;

/// Arrows between points (analogies such as man -> woman, king -> queen).
const ARROW: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// One point of a [`Scatter`].
#[derive(Clone, Debug, Default)]
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    /// Written next to the point (empty: no label).
    pub label: String,
    /// Index into [`Scatter::groups`]; picks the colour.
    pub group: usize,
}

/// An arrow from one point to another, by index into the points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
}

/// Points in the plane with text labels placed so that they do not overlap (as far as
/// the free space allows), optional groups with a legend, and arrows between points.
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<ScatterPoint>,
    /// Group names for the legend (empty: one colour, no legend).
    pub groups: Vec<String>,
    pub arrows: Vec<Arrow>,
    /// Secondary links drawn as thin grey lines without heads, under everything else
    /// (a fan of possible next tokens around a path).
    pub faint_arrows: Vec<Arrow>,
}

type Box2 = (i32, i32, i32, i32);

fn overlap(a: Box2, b: Box2) -> i64 {
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0) as i64;
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0) as i64;
    w * h
}

/// Squared pixel distance from `p` to the box `b` (0 inside it).
fn dist2(p: (i32, i32), b: Box2) -> i64 {
    let dx = (b.0 - p.0).max(p.0 - b.2).max(0) as i64;
    let dy = (b.1 - p.1).max(p.1 - b.3).max(0) as i64;
    dx * dx + dy * dy
}

/// Chooses, for each label in turn, the spot around its point that overlaps least with
/// the labels placed so far, the points, the `obstacles` (arrows) and the plot's edges:
/// first the eight spots next to the point, then the same directions twice and three
/// times as far (the label then gets a thin leader line to its point). A spot nearer
/// another point than its own counts against it (it would read as that point's label).
/// Returns the top-left corner of each label (area coordinates) and whether it needs a
/// leader line (it sits away from its point, or still nearer another one).
fn place_labels(
    points: &[(i32, i32)],
    sizes: &[(i32, i32)],
    radius: i32,
    bounds: Box2,
    obstacles: &[Box2],
) -> Vec<((i32, i32), bool)> {
    let n = points.len();
    let mut taken: Vec<Box2> = points
        .iter()
        .map(|&(x, y)| (x - radius, y - radius, x + radius, y + radius))
        .collect();
    taken.extend_from_slice(obstacles);
    let mut out = Vec::with_capacity(points.len());
    for (i, (&(x, y), &(w, h))) in points.iter().zip(sizes).enumerate() {
        let mut candidates = Vec::new();
        for (k, reach) in [1.0, 2.2, 3.6].into_iter().enumerate() {
            let r = ((radius + 3) as f64 * reach) as i32 + if k > 0 { h / 2 } else { 0 };
            let d = (r as f64 * 0.75) as i32;
            for c in [
                (x + r, y - h / 2),
                (x - r - w, y - h / 2),
                (x - w / 2, y - r - h),
                (x - w / 2, y + r),
                (x + d, y - d - h),
                (x + d, y + d),
                (x - d - w, y - d - h),
                (x - d - w, y + d),
            ] {
                candidates.push((c, k));
            }
        }
        // A spot nearer another point than its own reads as that point's label.
        let ambiguous = |b: Box2| {
            let own = dist2((x, y), b);
            points.iter().enumerate().any(|(j, &q)| j != i && dist2(q, b) < own)
        };
        let score = |&((cx, cy), k): &((i32, i32), usize)| {
            let b = (cx, cy, cx + w, cy + h);
            let mut s: i64 = taken
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i || j >= n)
                .map(|(_, &t)| overlap(b, t))
                .sum();
            let inside = overlap(b, bounds);
            s += (w as i64 * h as i64 - inside) * 4;
            // Near spots first: a far one must free a few pixels more to be taken. A spot
            // nearer another point costs as much as one step farther out (overlaps still
            // weigh more: it only breaks ties).
            let step = h as i64 + 8;
            s * 4 + k as i64 * step + if ambiguous(b) { step + 1 } else { 0 }
        };
        let best = candidates
            .iter()
            .min_by_key(|c| score(c))
            .copied()
            .unwrap_or(((x + radius, y), 0));
        let b = (best.0 .0, best.0 .1, best.0 .0 + w, best.0 .1 + h);
        if w > 0 {
            taken.push(b);
        }
        // A far label, or one that still sits nearer another point, gets a leader line.
        out.push((best.0, best.1 > 0 || (w > 0 && ambiguous(b))));
    }
    out
}

/// A thin grey line from a point to its label's box (for labels set away from it).
fn leader<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    point: (i32, i32),
    label: Box2,
    radius: i32,
) -> Result<(), PlotError> {
    let tx = point.0.clamp(label.0, label.2);
    let ty = point.1.clamp(label.1, label.3);
    let (dx, dy) = ((tx - point.0) as f64, (ty - point.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= radius as f64 + 2.0 {
        return Ok(());
    }
    let s = (radius as f64 + 1.0) / len;
    let from = (point.0 + (dx * s) as i32, point.1 + (dy * s) as i32);
    area.draw(&PathElement::new(vec![from, (tx, ty)], theme::AXIS.stroke_width(1)))?;
    Ok(())
}

/// Draws an arrow from `a` to `b` (area pixels), stopping `gap` short of both ends.
fn draw_arrow<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    a: (i32, i32),
    b: (i32, i32),
    gap: f64,
) -> Result<(), PlotError> {
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= 2.0 * gap + 1.0 {
        return Ok(());
    }
    let (ux, uy) = (dx / len, dy / len);
    let start = (a.0 as f64 + ux * gap, a.1 as f64 + uy * gap);
    let tip = (b.0 as f64 - ux * gap, b.1 as f64 - uy * gap);
    let (head, half) = (theme.len(14.0) as f64, theme.len(5.5) as f64);
    let base = (tip.0 - ux * head, tip.1 - uy * head);
    let p = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
    area.draw(&PathElement::new(
        vec![p(start.0, start.1), p(base.0, base.1)],
        ARROW.stroke_width(theme.len(2.0) as u32),
    ))?;
    let triangle = vec![
        p(tip.0, tip.1),
        p(base.0 - uy * half, base.1 + ux * half),
        p(base.0 + uy * half, base.1 - ux * half),
    ];
    area.draw(&Polygon::new(triangle, ARROW.filled()))?;
    Ok(())
}

/// Draws a [`Scatter`] into `area`.
pub fn draw_scatter<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Scatter) -> Result<(), PlotError> {
    let n = data.points.len();
    if n == 0 {
        return Err(PlotError::Data("scatter: no points".into()));
    }
    if let Some(p) = data.points.iter().find(|p| !(p.x.is_finite() && p.y.is_finite())) {
        return Err(PlotError::Data(format!(
            "scatter: point `{}` at ({}, {}) is not finite",
            p.label, p.x, p.y
        )));
    }
    if let Some(a) = data
        .arrows
        .iter()
        .chain(&data.faint_arrows)
        .find(|a| a.from >= n || a.to >= n)
    {
        return Err(PlotError::Data(format!(
            "scatter: arrow {} -> {} names a point that does not exist ({n} points)",
            a.from, a.to
        )));
    }
    if !data.groups.is_empty() {
        if let Some(p) = data.points.iter().find(|p| p.group >= data.groups.len()) {
            return Err(PlotError::Data(format!(
                "scatter: point `{}` is in group {} but there are {} groups",
                p.label,
                p.group,
                data.groups.len()
            )));
        }
    }

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let names: Vec<&str> = data.groups.iter().map(String::as_str).collect();
    let legend_w = axes::legend_width(&theme, &names)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);

    let fold = |f: fn(&ScatterPoint) -> f64| {
        data.points
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
    };
    let (x0, x1) = fold(|p| p.x);
    let (y0, y1) = fold(|p| p.y);
    // Room around the points for their labels.
    let x = Axis::linear(x0, x1, 0.08);
    let y = Axis::linear(y0, y1, 0.08);
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

    let classes = data
        .groups
        .len()
        .max(data.points.iter().map(|p| p.group + 1).max().unwrap_or(1));
    if classes > 1 {
        layout::palette("scatter", &(0..classes).map(theme::series_color).collect::<Vec<_>>());
    }
    let radius = theme.len(6.0);
    let pixels: Vec<(i32, i32)> = data.points.iter().map(|p| frame.px(p.x, p.y)).collect();
    for a in &data.faint_arrows {
        plot_area.draw(&PathElement::new(
            vec![pixels[a.from], pixels[a.to]],
            RGBColor(0xc8, 0xc8, 0xc8).stroke_width(1),
        ))?;
    }
    for a in &data.arrows {
        draw_arrow(&plot_area, &theme, pixels[a.from], pixels[a.to], radius as f64 + 3.0)?;
    }
    for (p, &px) in data.points.iter().zip(&pixels) {
        let color = theme::series_color(p.group);
        plot_area.draw(&Circle::new(px, radius, color.filled()))?;
        plot_area.draw(&Circle::new(px, radius, WHITE.stroke_width(1)))?;
    }

    let label_px = theme.label_px() * 0.9;
    let st = theme::style(label_px, theme::TEXT);
    // The box from the ascenders to the descenders (what the figure lint measures).
    let cap = (0.84 * label_px).ceil() as i32;
    let sizes: Vec<(i32, i32)> = data
        .points
        .iter()
        .map(|p| {
            Ok(if p.label.is_empty() {
                (0, 0)
            } else {
                (theme::text_size(&p.label, &st)?.0, cap)
            })
        })
        .collect::<Result<_, PlotError>>()?;
    // Arrows as chains of small boxes, so that labels keep off them.
    let mut obstacles = Vec::new();
    for a in &data.arrows {
        let (p, q) = (pixels[a.from], pixels[a.to]);
        let steps = (((q.0 - p.0).pow(2) + (q.1 - p.1).pow(2)) as f64).sqrt() as i32 / 6 + 1;
        for k in 0..=steps {
            let (x, y) = (p.0 + (q.0 - p.0) * k / steps, p.1 + (q.1 - p.1) * k / steps);
            obstacles.push((x - 3, y - 3, x + 3, y + 3));
        }
    }
    let spots = place_labels(&pixels, &sizes, radius, frame.rect, &obstacles);
    for ((&px, &(w, h)), &(spot, far)) in pixels.iter().zip(&sizes).zip(&spots) {
        if far && w > 0 {
            leader(&plot_area, px, (spot.0, spot.1, spot.0 + w, spot.1 + h), radius)?;
        }
    }
    let _labels = layout::role(Role::Label);
    for (p, (spot, _)) in data.points.iter().zip(spots) {
        put_text(
            &plot_area,
            &p.label,
            &st,
            (spot.0, spot.1 + (0.03 * label_px) as i32),
            HPos::Left,
            VAlign::Top,
        )?;
    }

    if legend_w > 0 {
        let entries: Vec<(&str, RGBColor, Mark)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, theme::series_color(i), Mark::Dot))
            .collect();
        axes::draw_legend(&legend_area, &theme, &entries, (0, frame.rect.1))?;
    }
    Ok(())
}

/// A linear axis with given tick positions (plotters' `WithKeyPoints` lacks the value
/// formatter its 3-D axes ask for).
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Ticked {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// One point of a [`Scatter3d`] (or a vertex of its path).
#[derive(Clone, Debug, Default)]
pub struct Point3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    /// Written next to the point (empty: no label).
    pub label: String,
    /// Index into [`Scatter3d::groups`]; picks the colour (ignored on the path).
    pub group: usize,
}

/// A fixed view of a 3-D chart (plotters' projection: rotations in radians).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Rotation about the vertical axis.
    pub yaw: f64,
    /// Tilt towards the viewer.
    pub pitch: f64,
    /// Zoom; 1 fills the area.
    pub scale: f64,
}

impl Default for Camera {
    fn default() -> Self {
        Camera {
            yaw: 0.65,
            pitch: 0.3,
            scale: 0.85,
        }
    }
}

/// Labelled points and a path (a polyline through its vertices, in the accent colour)
/// in a 3-D box seen from a fixed camera.
#[derive(Clone, Debug, Default)]
pub struct Scatter3d {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub z_label: String,
    pub points: Vec<Point3>,
    pub path: Vec<Point3>,
    /// Group names for the legend (empty: one colour, no legend).
    pub groups: Vec<String>,
    /// The path's legend entry, after the groups' (empty: none).
    pub path_name: String,
    pub camera: Camera,
}

/// Draws a [`Scatter3d`] into `area`.
pub fn draw_scatter3d<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Scatter3d) -> Result<(), PlotError> {
    let all: Vec<&Point3> = data.points.iter().chain(&data.path).collect();
    if all.is_empty() {
        return Err(PlotError::Data("3-D scatter: no points and no path".into()));
    }
    if let Some(p) = all
        .iter()
        .find(|p| !(p.x.is_finite() && p.y.is_finite() && p.z.is_finite()))
    {
        return Err(PlotError::Data(format!(
            "3-D scatter: point `{}` at ({}, {}, {}) is not finite",
            p.label, p.x, p.y, p.z
        )));
    }
    if !data.groups.is_empty() {
        if let Some(p) = data.points.iter().find(|p| p.group >= data.groups.len()) {
            return Err(PlotError::Data(format!(
                "3-D scatter: point `{}` is in group {} but there are {} groups",
                p.label,
                p.group,
                data.groups.len()
            )));
        }
    }

    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let mut names: Vec<&str> = data.groups.iter().map(String::as_str).collect();
    if !data.path_name.is_empty() && data.path.len() > 1 {
        names.push(&data.path_name);
    }
    let legend_w = axes::legend_width(&theme, &names)?;
    let (w, h) = body.dim_in_pixel();
    if w < 100 || h < 100 {
        return Err(PlotError::TooSmall {
            w,
            h,
            what: "a 3-D chart".into(),
        });
    }
    let (plot_area, legend_area) = body.split_horizontally(w as i32 - legend_w);

    let range = |f: fn(&Point3) -> f64| {
        let (lo, hi) = all
            .iter()
            .map(|p| f(p))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
        (lo - pad)..(hi + pad)
    };
    let (xr, yr, zr) = (range(|p| p.x), range(|p| p.y), range(|p| p.z));
    // Our own round ticks, so that the labels and their decimals agree.
    let ticks = |r: &std::ops::Range<f64>| {
        let t = nice_ticks(r.start, r.end, 4);
        let step = if t.len() > 1 { t[1] - t[0] } else { r.end - r.start };
        (t, step)
    };
    let ((tx, sx), (ty, sy), (tz, sz)) = (ticks(&xr), ticks(&yr), ticks(&zr));
    let mut chart = ChartBuilder::on(&plot_area).margin(theme.margin()).build_cartesian_3d(
        Ticked::new(xr.clone(), tx),
        Ticked::new(yr.clone(), ty),
        Ticked::new(zr.clone(), tz),
    )?;
    let cam = data.camera;
    chart.with_projection(|mut pb| {
        pb.yaw = cam.yaw;
        pb.pitch = cam.pitch;
        pb.scale = cam.scale;
        pb.into_matrix()
    });
    let fx = move |v: &f64| format_number(*v, sx);
    let fy = move |v: &f64| format_number(*v, sy);
    let fz = move |v: &f64| format_number(*v, sz);
    chart
        .configure_axes()
        .label_style(theme::style(theme.tick_px() * 0.9, theme::MUTED).to_plotters())
        .bold_grid_style(theme::GRID)
        .light_grid_style(theme::GRID_MINOR)
        .axis_panel_style(RGBColor(0xfa, 0xfa, 0xfa).filled())
        .max_light_lines(1)
        .x_formatter(&fx)
        .y_formatter(&fy)
        .z_formatter(&fz)
        .draw()?;

    // Positions in `plot_area` pixels of 3-D points.
    let base = plot_area.get_base_pixel();
    let to_px = |x: f64, y: f64, z: f64| {
        let (px, py) = chart.plotting_area().map_coordinate(&(x, y, z));
        (px - base.0, py - base.1)
    };

    let _axis = layout::role(Role::Axis);
    // Axis names just past the far end of each axis from the origin corner.
    let desc = theme::style(theme.label_px(), theme::TEXT);
    let far = 0.12;
    for (name, p) in [
        (&data.x_label, (xr.end + (xr.end - xr.start) * far, yr.start, zr.start)),
        (&data.y_label, (xr.start, yr.end + (yr.end - yr.start) * far, zr.start)),
        (&data.z_label, (xr.start, yr.start, zr.end + (zr.end - zr.start) * far)),
    ] {
        put_text(
            &plot_area,
            name,
            &desc,
            to_px(p.0, p.1, p.2),
            HPos::Center,
            VAlign::Middle,
        )?;
    }

    let classes = data
        .groups
        .len()
        .max(data.points.iter().map(|p| p.group + 1).max().unwrap_or(1));
    if classes > 1 {
        layout::palette("3-D scatter", &(0..classes).map(theme::group_color).collect::<Vec<_>>());
    }
    let _labels = layout::role(Role::Label);
    let radius = theme.len(6.0);
    let label = theme::style(theme.label_px() * 0.85, theme::TEXT);
    let path: Vec<(f64, f64, f64)> = data.path.iter().map(|p| (p.x, p.y, p.z)).collect();
    let pa = chart.plotting_area();
    if path.len() > 1 {
        pa.draw(&PathElement::new(
            path.clone(),
            theme::ORANGE.stroke_width(theme.line_width()),
        ))?;
    }
    for &p in &path {
        pa.draw(&Circle::new(p, theme.len(3.5), theme::ORANGE.filled()))?;
    }
    for p in &data.points {
        pa.draw(&Circle::new(
            (p.x, p.y, p.z),
            radius,
            theme::group_color(p.group).filled(),
        ))?;
    }
    // Labels placed like the 2-D map's: next to their point where free, else farther
    // out with a leader line.
    let all3: Vec<&Point3> = data.points.iter().chain(&data.path).collect();
    let pixels: Vec<(i32, i32)> = all3.iter().map(|p| to_px(p.x, p.y, p.z)).collect();
    let label_h = (0.84 * label.px).ceil() as i32;
    let sizes: Vec<(i32, i32)> = all3
        .iter()
        .map(|p| {
            Ok(if p.label.is_empty() {
                (0, 0)
            } else {
                (theme::text_size(&p.label, &label)?.0, label_h)
            })
        })
        .collect::<Result<_, PlotError>>()?;
    let (pw, ph) = plot_area.dim_in_pixel();
    let spots = place_labels(&pixels, &sizes, radius, (0, 0, pw as i32, ph as i32), &[]);
    for ((&px, &(w, h)), &(spot, far)) in pixels.iter().zip(&sizes).zip(&spots) {
        if far && w > 0 {
            leader(&plot_area, px, (spot.0, spot.1, spot.0 + w, spot.1 + h), radius)?;
        }
    }
    for (p, (spot, _)) in all3.iter().zip(spots) {
        put_text(
            &plot_area,
            &p.label,
            &label,
            (spot.0, spot.1 + (0.03 * label.px) as i32),
            HPos::Left,
            VAlign::Top,
        )?;
    }

    if legend_w > 0 {
        let entries: Vec<(&str, RGBColor, Mark)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i < data.groups.len() {
                    (*n, theme::group_color(i), Mark::Dot)
                } else {
                    (*n, theme::ORANGE, Mark::LineDot)
                }
            })
            .collect();
        axes::draw_legend(&legend_area, &theme, &entries, (0, theme.margin()))?;
    }
    Ok(())
}
