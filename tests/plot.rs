//! The plot library: every plot kind renders from fixture data to PNG and SVG, text is
//! really drawn with the embedded font, and bad paths or data give clean errors.
//!
//! Set PLOT_SAMPLES_DIR to also keep every rendered figure there (to look at them).

use std::path::{Path, PathBuf};

use gpt2_explorer::plot::{self, *};

const PROMPT: &str = "The best thing about AI is its ability to";

/// A deterministic pseudo-random stream (SplitMix64) for fixture data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn bar_chart() -> BarChart {
    BarChart {
        title: format!("{PROMPT} ..."),
        subtitle: "Next-word probabilities, GPT-2 (gpt2), top 5".into(),
        labels: ["learn", "predict", "make", "understand", "do"]
            .map(String::from)
            .to_vec(),
        values: vec![0.0448, 0.0349748, 0.0319072, 0.0307805, 0.0288508],
        value_format: ValueFormat::Percent(1),
        x_label: "probability".into(),
        highlight: vec![0],
    }
}

fn line_plot() -> LinePlot {
    let mut rng = Rng(1);
    let points = |a: f64, rng: &mut Rng| {
        (1..=2000)
            .map(|r| (r as f64, 0.05 * (r as f64).powf(-a) * (1.0 + 0.3 * rng.normal()).abs()))
            .collect()
    };
    LinePlot {
        title: "Probability of the next token against its rank".into(),
        subtitle: "log-log; roughly a power law".into(),
        x_label: "rank".into(),
        y_label: "probability".into(),
        series: vec![
            Series {
                name: "GPT-2".into(),
                points: points(1.0, &mut rng),
                style: SeriesStyle::Points,
            },
            Series {
                name: "r⁻¹ fit".into(),
                points: (1..=2000).map(|r| (r as f64, 0.05 / r as f64)).collect(),
                style: SeriesStyle::Line,
            },
        ],
        log_x: true,
        log_y: true,
    }
}

fn linear_plot() -> LinePlot {
    LinePlot {
        title: "Fall time against floor".into(),
        x_label: "floor".into(),
        y_label: "time (s)".into(),
        series: vec![
            Series {
                name: "data".into(),
                points: (1..=10)
                    .map(|f| (f as f64, (2.0 * 3.0 * f as f64 / 9.81).sqrt()))
                    .collect(),
                style: SeriesStyle::Points,
            },
            Series {
                name: "a + b x".into(),
                points: vec![(1.0, 0.6), (10.0, 2.4)],
                style: SeriesStyle::Line,
            },
        ],
        ..Default::default()
    }
}

fn tokens() -> Vec<String> {
    [
        "The", " best", " thing", " about", " AI", " is", " its", " ability", " to",
    ]
    .map(visible_whitespace)
    .to_vec()
}

fn attention() -> Heatmap {
    let t = tokens();
    let n = t.len();
    let mut rng = Rng(2);
    let mut values = vec![0.0; n * n];
    for q in 0..n {
        let w: Vec<f64> = (0..=q).map(|_| rng.next().powi(3) + 0.02).collect();
        let s: f64 = w.iter().sum();
        for (k, wk) in w.iter().enumerate() {
            values[q * n + k] = wk / s;
        }
    }
    Heatmap {
        title: "Attention pattern, block 1, head 3".into(),
        subtitle: "rows: query token, columns: key token".into(),
        rows: n,
        cols: n,
        values,
        row_labels: t.clone(),
        col_labels: t,
        x_label: "key".into(),
        y_label: "query".into(),
        annotate: ValueFormat::Decimal(2),
        colorbar_label: "attention weight".into(),
        ..Default::default()
    }
}

fn bigram() -> Heatmap {
    let letters: Vec<String> = "abcdefghijklmnopqrstuvwxyz"
        .chars()
        .map(String::from)
        .chain(["␣".to_string()])
        .collect();
    let mut rng = Rng(3);
    let values = (0..27 * 27).map(|_| rng.next().powi(4) * 0.05).collect();
    Heatmap {
        title: "Letter 2-gram probabilities".into(),
        rows: 27,
        cols: 27,
        values,
        row_labels: letters.clone(),
        col_labels: letters,
        x_label: "first letter".into(),
        y_label: "second letter".into(),
        colorbar_label: "probability".into(),
        ..Default::default()
    }
}

fn big_matrix() -> Heatmap {
    let n = 768;
    let mut rng = Rng(4);
    let values = (0..n * n)
        .map(|i| 0.05 * rng.normal() + if i % n == i / n { 0.3 } else { 0.0 })
        .collect();
    Heatmap {
        title: "Block 1 attention output projection (attn.c_proj), 768x768".into(),
        rows: n,
        cols: n,
        values,
        colormap: Colormap::BlueWhiteRed,
        colorbar_label: "weight".into(),
        ..Default::default()
    }
}

fn digit(k: usize) -> GridImage {
    // A ring for even k, a stroke for odd k, 28x28, ink = 1.
    let mut values = vec![0.0; 28 * 28];
    for r in 0..28 {
        for c in 0..28 {
            let (y, x) = (r as f64 - 13.5, c as f64 - 13.5);
            let ink = if k.is_multiple_of(2) {
                let d = (x * x / 49.0 + y * y / 100.0).sqrt();
                (1.0 - (d - 1.0).abs() * 5.0).max(0.0)
            } else {
                (1.0 - (x + y * 0.2 - k as f64 * 0.3).abs() / 2.0).max(0.0) * if y.abs() < 10.0 { 1.0 } else { 0.0 }
            };
            values[r * 28 + c] = ink;
        }
    }
    GridImage {
        caption: format!("digit {k}"),
        rows: 28,
        cols: 28,
        values,
    }
}

fn image_grid() -> ImageGrid {
    ImageGrid {
        title: "Sample handwritten digits".into(),
        subtitle: "28x28 pixels each".into(),
        images: (0..10).map(digit).collect(),
        colormap: Colormap::Greys,
        range: ValueRange::Fixed(0.0, 1.0),
        ..Default::default()
    }
}

fn histogram() -> Histogram {
    let mut rng = Rng(5);
    Histogram {
        title: "Weights of block 1's MLP".into(),
        subtitle: "100,000 values".into(),
        bins: Bins::Values {
            values: (0..100_000).map(|_| 0.02 * rng.normal()).collect(),
            bins: 60,
        },
        x_label: "weight".into(),
        y_label: "count".into(),
        log_y: false,
    }
}

fn scatter() -> Scatter {
    let words = [
        ("alligator", 1.0, 1.2, 0),
        ("crocodile", 1.15, 1.3, 0),
        ("eagle", -0.8, 1.5, 0),
        ("hawk", -0.7, 1.35, 0),
        ("cat", 0.2, 0.4, 0),
        ("dog", 0.3, 0.35, 0),
        ("turnip", -1.2, -1.0, 1),
        ("potato", -1.1, -1.1, 1),
        ("oak", 0.8, -1.3, 1),
        ("maple", 0.9, -1.25, 1),
        ("man", -0.2, 0.0, 2),
        ("woman", 0.3, -0.1, 2),
        ("king", -0.3, -0.5, 2),
        ("queen", 0.2, -0.6, 2),
    ];
    Scatter {
        title: "Word embeddings, first two principal components".into(),
        subtitle: "GPT-2 (gpt2) token embeddings W_E".into(),
        x_label: "PC 1".into(),
        y_label: "PC 2".into(),
        points: words
            .iter()
            .map(|&(w, x, y, g)| ScatterPoint {
                x,
                y,
                label: w.into(),
                group: g,
            })
            .collect(),
        groups: vec!["animals".into(), "plants".into(), "people".into()],
        arrows: vec![Arrow { from: 10, to: 11 }, Arrow { from: 12, to: 13 }],
        faint_arrows: vec![],
    }
}

fn scatter3d() -> Scatter3d {
    let path = (0..40)
        .map(|i| {
            let t = i as f64 * 0.25;
            Point3 {
                x: t.cos() * (1.0 + 0.05 * t),
                y: 0.1 * t,
                z: t.sin(),
                label: if i % 8 == 0 { format!("step {i}") } else { String::new() },
                group: 0,
            }
        })
        .collect();
    Scatter3d {
        title: "Trajectory of a prompt in feature space".into(),
        subtitle: "first three principal components".into(),
        x_label: "PC 1".into(),
        y_label: "PC 2".into(),
        z_label: "PC 3".into(),
        points: vec![
            Point3 {
                x: 1.0,
                y: 0.2,
                z: 0.0,
                label: "cat".into(),
                group: 0,
            },
            Point3 {
                x: -1.0,
                y: 0.8,
                z: 0.5,
                label: "dog".into(),
                group: 1,
            },
        ],
        path,
        groups: vec!["nouns".into(), "verbs".into()],
        path_name: "the path".into(),
        camera: Camera::default(),
    }
}

fn text_panel() -> TextPanel {
    let steps = [" learn", " from", " its", " mistakes", ".", " It", "'s"];
    let list = (1..=steps.len())
        .map(|k| {
            let mut spans = vec![Span::prompt(PROMPT)];
            spans.extend(steps[..k - 1].iter().map(|s| Span::generated(*s)));
            spans.push(Span::highlight(steps[k - 1]));
            spans
        })
        .collect();
    TextPanel {
        title: "Greedy continuation, one word at a time".into(),
        subtitle: "GPT-2 (gpt2), temperature 0".into(),
        paragraphs: vec![vec![
            Span::plain("At each step the model gives probabilities for every next token; at temperature 0 the most probable one is "),
            Span::highlight("always"),
            Span::plain(" chosen, so the same prompt always grows the same way."),
        ]],
        list,
    }
}

fn panels() -> Panels {
    Panels {
        title: "Block 1: attention weights of all 12 heads".into(),
        subtitle: "\"hello\" x10 then \"bye\" x10".into(),
        panel_titles: (0..12).map(|h| format!("head {h}")).collect(),
        columns: 0,
    }
}

fn draw_panels<DB: plotters::prelude::DrawingBackend>(
    area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), PlotError> {
    let base = attention();
    for (h, cell) in small_multiples(area, &panels())?.iter().enumerate() {
        let mut data = base.clone();
        data.title = String::new();
        data.subtitle = String::new();
        data.x_label = String::new();
        data.y_label = String::new();
        data.annotate = ValueFormat::None;
        data.colorbar = false;
        data.values
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (*v * (1.0 + ((i * (h + 3)) % 7) as f64 * 0.2)).min(1.0));
        draw_heatmap(cell, &data)?;
    }
    Ok(())
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn samples_dir() -> Option<PathBuf> {
    std::env::var_os("PLOT_SAMPLES_DIR").map(PathBuf::from)
}

/// Renders `draw` as PNG and SVG into `dir`, checks both, and keeps copies in
/// PLOT_SAMPLES_DIR when it is set.
fn check_both(dir: &Path, name: &str, size: (u32, u32), title: &str, draw: &dyn Fn(Target) -> Result<(), PlotError>) {
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    draw(Target::Png(&png, size)).unwrap_or_else(|e| panic!("{name}.png: {e}"));
    draw(Target::Svg(&svg, size)).unwrap_or_else(|e| panic!("{name}.svg: {e}"));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 1000, "{name}.png is only {} bytes", bytes.len());
    assert_eq!(png_size(&bytes), size, "{name}.png has the wrong size");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{name}.svg is not an SVG document");
    assert!(text.contains(title), "{name}.svg does not contain its title {title:?}");
    assert!(
        text.contains("DejaVu Sans"),
        "{name}.svg does not name the embedded font"
    );
    if let Some(out) = samples_dir() {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(&png, out.join(format!("{name}.png"))).unwrap();
        std::fs::copy(&svg, out.join(format!("{name}.svg"))).unwrap();
    }
}

enum Target<'a> {
    Png(&'a Path, (u32, u32)),
    Svg(&'a Path, (u32, u32)),
}

/// Calls `render_png` or `render_svg` with the same generic drawing function.
macro_rules! both {
    ($draw:expr, $data:expr) => {
        |target: Target| match target {
            Target::Png(p, size) => render_png(p, size, |a| $draw(a, $data)),
            Target::Svg(p, size) => render_svg(p, size, |a| $draw(a, $data)),
        }
    };
}

#[test]
fn every_plot_kind_renders_to_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = DEFAULT_SIZE;
    let bar = bar_chart();
    check_both(
        d,
        "bar-top5",
        size,
        "The best thing about AI",
        &both!(draw_bar_chart, &bar),
    );
    let ll = line_plot();
    check_both(d, "line-loglog", size, "against its rank", &both!(draw_line_plot, &ll));
    let lin = linear_plot();
    check_both(d, "line-linear", size, "Fall time", &both!(draw_line_plot, &lin));
    let att = attention();
    check_both(
        d,
        "heatmap-attention",
        size,
        "Attention pattern",
        &both!(draw_heatmap, &att),
    );
    let bg = bigram();
    check_both(
        d,
        "heatmap-bigram",
        (1000, 1000),
        "Letter 2-gram",
        &both!(draw_heatmap, &bg),
    );
    let big = big_matrix();
    check_both(d, "heatmap-768", (1000, 1000), "768x768", &both!(draw_heatmap, &big));
    let grid = image_grid();
    check_both(
        d,
        "images-digits",
        size,
        "handwritten digits",
        &both!(draw_image_grid, &grid),
    );
    let hist = histogram();
    check_both(d, "histogram", size, "MLP", &both!(draw_histogram, &hist));
    let sc = scatter();
    check_both(d, "scatter-words", size, "Word embeddings", &both!(draw_scatter, &sc));
    let s3 = scatter3d();
    check_both(d, "scatter-3d", size, "Trajectory", &both!(draw_scatter3d, &s3));
    let tp = text_panel();
    check_both(
        d,
        "text-greedy",
        size,
        "Greedy continuation",
        &both!(draw_text_panel, &tp),
    );
    // A generic fn item is not general enough over the backend's lifetime: wrap it.
    #[allow(clippy::redundant_closure)]
    check_both(d, "small-multiples", (1600, 1200), "all 12 heads", &|t| match t {
        Target::Png(p, s) => render_png(p, s, |a| draw_panels(a)),
        Target::Svg(p, s) => render_svg(p, s, |a| draw_panels(a)),
    });
}

#[test]
fn other_sizes_and_options_render() {
    // Small and large figures, log-y histogram, precomputed bins, stretched images.
    let hist = Histogram {
        log_y: true,
        ..histogram()
    };
    plot::png_bytes((400, 300), |a| draw_histogram(a, &hist)).unwrap();
    let counted = Histogram {
        bins: Bins::Counted {
            edges: vec![0.0, 1.0, 2.0, 3.0],
            counts: vec![3.0, 7.0, 2.0],
        },
        ..Default::default()
    };
    plot::png_bytes((600, 400), |a| draw_histogram(a, &counted)).unwrap();
    let tall = ImageGrid {
        title: "Token and position embeddings".into(),
        images: (0..3)
            .map(|k| GridImage {
                caption: format!("array {k}"),
                rows: 768,
                cols: 20,
                values: (0..768 * 20).map(|i| ((i * (k + 1)) % 17) as f64 - 8.0).collect(),
            })
            .collect(),
        colormap: Colormap::BlueWhiteRed,
        range: ValueRange::Shared,
        stretch: true,
        ..Default::default()
    };
    let png = plot::png_bytes((2400, 1600), |a| draw_image_grid(a, &tall)).unwrap();
    assert_eq!(png_size(&png), (2400, 1600));
    let bar = bar_chart();
    let small = plot::png_bytes((480, 320), |a| draw_bar_chart(a, &bar)).unwrap();
    assert_eq!(png_size(&small), (480, 320));
    // 27 bars; a 12x12 heatmap whose column labels must turn to fit.
    let letters = BarChart {
        title: "Letter frequencies".into(),
        labels: "etaoinshrdlcumwfgypbvkjxqz"
            .chars()
            .map(String::from)
            .chain(["space".to_string()])
            .collect(),
        values: (0..27).map(|i| 0.13 / (1.0 + i as f64 * 0.4)).collect(),
        value_format: ValueFormat::Percent(1),
        x_label: "share of letters".into(),
        ..Default::default()
    };
    let bars27 = plot::png_bytes(DEFAULT_SIZE, |a| draw_bar_chart(a, &letters)).unwrap();
    let words: Vec<String> = [
        " understanding",
        " the",
        " transformer",
        " architecture",
        " is",
        " not",
        " hard",
        " when",
        " explained",
        " carefully",
        ",",
        " really",
    ]
    .map(visible_whitespace)
    .to_vec();
    let long = Heatmap {
        rows: 12,
        cols: 12,
        values: (0..144).map(|i| ((i * 37) % 100) as f64 / 100.0).collect(),
        row_labels: words.clone(),
        col_labels: words,
        annotate: ValueFormat::Decimal(1),
        title: "Long labels".into(),
        ..Default::default()
    };
    let long_png = plot::png_bytes(DEFAULT_SIZE, |a| draw_heatmap(a, &long)).unwrap();
    if let Some(out) = samples_dir() {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("images-tall-stretched.png"), &png).unwrap();
        std::fs::write(out.join("bar-small.png"), &small).unwrap();
        std::fs::write(out.join("bar-27.png"), &bars27).unwrap();
        std::fs::write(out.join("heatmap-long-labels.png"), &long_png).unwrap();
    }
}

#[test]
fn text_is_drawn_with_the_embedded_font() {
    // Twice in one process: registering the font again is harmless.
    ensure_fonts().unwrap();
    ensure_fonts().unwrap();
    let tp = text_panel();
    let png = plot::png_bytes(DEFAULT_SIZE, |a| draw_text_panel(a, &tp)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), DEFAULT_SIZE);
    // The title sits in the top band; the body below it. Count dark pixels in each.
    let dark = |y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 128))
            .count()
    };
    let title = dark(0, 70);
    let body = dark(120, 800);
    assert!(
        title > 1500,
        "the title band has only {title} dark pixels: text was not rendered"
    );
    assert!(
        body > 5000,
        "the body has only {body} dark pixels: text was not rendered"
    );
    // And nothing but text was drawn: a panel without text is all white.
    let empty = plot::png_bytes((200, 100), |a| draw_text_panel(a, &TextPanel::default())).unwrap();
    let img = image::load_from_memory(&empty).unwrap().to_rgb8();
    assert!(img.pixels().all(|p| p.0 == [255, 255, 255]));
}

#[test]
fn svg_string_and_png_bytes_for_notebooks() {
    let bar = bar_chart();
    let svg = plot::svg_string((800, 500), |a| draw_bar_chart(a, &bar)).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("predict") && svg.contains("4.5%"));
    let png = plot::png_bytes((800, 500), |a| draw_bar_chart(a, &bar)).unwrap();
    assert_eq!(png_size(&png), (800, 500));
    // A 768x768 matrix goes into the SVG as one embedded image, not 589,824 rectangles.
    let big = big_matrix();
    let svg = plot::svg_string((900, 900), |a| draw_heatmap(a, &big)).unwrap();
    assert!(svg.contains("<image"), "the large matrix was not embedded as an image");
    assert!(
        svg.len() < 4_000_000,
        "SVG of the 768x768 matrix is {} bytes",
        svg.len()
    );
}

#[test]
fn unwritable_path_is_a_clean_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let bad = file.join("plot.png");
    let bar = bar_chart();
    let err = render_png(&bad, DEFAULT_SIZE, |a| draw_bar_chart(a, &bar)).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-folder"), "{err}");
    let err = render_svg(file.join("plot.svg"), DEFAULT_SIZE, |a| draw_bar_chart(a, &bar)).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err:?}");
    // A folder where the file should go: the rename fails, the temporary file is removed.
    let target = dir.path().join("taken.png");
    std::fs::create_dir(&target).unwrap();
    assert!(render_png(&target, DEFAULT_SIZE, |a| draw_bar_chart(a, &bar)).is_err());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "unexpected files left behind: {left:?}");
}

#[test]
fn a_failed_drawing_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.png");
    let bad = BarChart {
        labels: vec!["a".into()],
        values: vec![0.1, 0.2],
        ..Default::default()
    };
    let err = render_png(&out, DEFAULT_SIZE, |a| draw_bar_chart(a, &bad)).unwrap_err();
    assert!(matches!(err, PlotError::Data(_)), "{err:?}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_data_is_an_error_not_a_panic() {
    let png = |f: &dyn Fn(&PngArea<'_>) -> Result<(), PlotError>| plot::png_bytes((600, 400), f).unwrap_err();
    let heat = Heatmap {
        rows: 2,
        cols: 3,
        values: vec![0.0; 5],
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_heatmap(a, &heat)), PlotError::Data(_)));
    let heat = Heatmap {
        rows: 2,
        cols: 2,
        values: vec![0.0; 4],
        row_labels: vec!["a".into()],
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_heatmap(a, &heat)), PlotError::Data(_)));
    let heat = Heatmap {
        rows: 1,
        cols: 2,
        values: vec![1.0, 2.0],
        range: Some((1.0, 1.0)),
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_heatmap(a, &heat)), PlotError::Data(_)));
    let lines = LinePlot {
        log_y: true,
        series: vec![Series {
            points: vec![(1.0, 0.0), (2.0, -1.0)],
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_line_plot(a, &lines)), PlotError::Data(_)));
    let sc = Scatter {
        points: vec![ScatterPoint::default()],
        arrows: vec![Arrow { from: 0, to: 3 }],
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_scatter(a, &sc)), PlotError::Data(_)));
    let hist = Histogram {
        bins: Bins::Counted {
            edges: vec![0.0, 1.0],
            counts: vec![1.0, 2.0],
        },
        ..Default::default()
    };
    assert!(matches!(png(&|a| draw_histogram(a, &hist)), PlotError::Data(_)));
    assert!(matches!(
        png(&|a| draw_image_grid(a, &ImageGrid::default())),
        PlotError::Data(_)
    ));
    assert!(matches!(
        png(&|a| draw_scatter3d(a, &Scatter3d::default())),
        PlotError::Data(_)
    ));
    assert!(matches!(
        plot::png_bytes((0, 10), |_| Ok(())).unwrap_err(),
        PlotError::Data(_)
    ));
    // Too many panels for a tiny area.
    let many = Panels {
        panel_titles: vec![String::new(); 400],
        ..Default::default()
    };
    assert!(matches!(
        plot::png_bytes((100, 100), |a| small_multiples(a, &many).map(|_| ())).unwrap_err(),
        PlotError::TooSmall { .. }
    ));
}

#[test]
fn ticks_and_numbers_read_well() {
    let labels: Vec<String> = nice_ticks(0.0, 1.0, 5)
        .into_iter()
        .map(|v| format_number(v, 0.2))
        .collect();
    assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    assert_eq!(format_number(0.0, 1.0), "0");
    assert_eq!(format_number(-0.0, 0.5), "0.0");
    assert_eq!(format_number(-0.25, 0.25), "\u{2212}0.25");
    assert_eq!(format_number(2500.0, 500.0), "2500");
    assert_eq!(format_number(0.00003, 0.00001), "3e\u{2212}5");
    // One style per axis: 500000 and 1000000 on one axis, both grouped by commas.
    let big: Vec<String> = nice_ticks(0.0, 1.9e6, 4)
        .into_iter()
        .map(|v| format_number(v, 500_000.0))
        .collect();
    assert_eq!(big, ["0", "500,000", "1,000,000", "1,500,000"]);
    assert_eq!(format_number(-25_000.0, 5000.0), "\u{2212}25,000");
    assert_eq!(ValueFormat::Percent(1).format(0, 0.0448), Some("4.5%".into()));
    assert_eq!(ValueFormat::Auto.format(0, 0.0349748), Some("0.0350".into()));
    assert_eq!(visible_whitespace(" learn\n"), "␣learn↵");
}

/// A jagged line (a noisy per-step loss, 2000 points zig-zagging over two decades) stays
/// inside its frame: no pixel of the series colour below the x axis line or left of the
/// y axis. (plotters' miter joins on a wide polyline once shot spikes far past the data.)
#[test]
fn a_jagged_line_stays_inside_its_frame() {
    let mut rng = Rng(7);
    let pts: Vec<(f64, f64)> = (1..=2000)
        .map(|i| {
            (
                i as f64,
                10f64.powf(-4.0 + 2.0 * rng.normal().abs().min(1.0) * if i % 2 == 0 { 1.0 } else { -0.2 }),
            )
        })
        .collect();
    let data = LinePlot {
        title: "jagged".into(),
        subtitle: String::new(),
        x_label: "step".into(),
        y_label: "loss".into(),
        series: vec![Series {
            name: "each batch".into(),
            points: pts,
            style: SeriesStyle::Line,
        }],
        log_x: false,
        log_y: true,
    };
    let png = plot::png_bytes((1200, 800), |a| plot::draw_line_plot(a, &data)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let blue = |p: &image::Rgb<u8>| {
        (p[0] as i32 - 0x4c).abs() < 40 && (p[1] as i32 - 0x72).abs() < 40 && (p[2] as i32 - 0xb0).abs() < 40
    };
    // The lowest and leftmost rows/columns with series-coloured pixels.
    let (w, h) = img.dimensions();
    let rows: Vec<u32> = (0..h).filter(|&y| (0..w).any(|x| blue(img.get_pixel(x, y)))).collect();
    let (top, bottom) = (rows[0], *rows.last().unwrap());
    // The frame's x axis: the lowest row that is dark across most of the plot width.
    // The frame's x axis: the lowest row drawn in the axis grey (0x9a) across most of the
    // plot width.
    let grey = |p: &image::Rgb<u8>| p.0.iter().all(|&c| (c as i32 - 0x9a).abs() < 12);
    let axis = (0..h)
        .rev()
        .find(|&y| (0..w).filter(|&x| grey(img.get_pixel(x, y))).count() as u32 > w / 2)
        .expect("an x axis line");
    assert!(
        bottom <= axis,
        "the series reaches row {bottom}, below the x axis at row {axis} (top {top})"
    );
}
