//! The figure builder: one declared table of the essay's figures (id, essay section,
//! caption, parameters, build function), rebuilt like `make` does. A figure is stale when
//! its parameters, its model, or the code that makes it (its module and the plot
//! library, hashed from their source) changed, or an output is missing; only stale
//! figures are rebuilt. Each writes `<id>.png`, `<id>.svg` and `<id>.csv` atomically,
//! under a lock, and `index.html` shows them all in essay order. Figure modules
//! (`chapter1`, ...) are the only place that joins model, analysis and plot.

pub mod chapter1;
pub mod chapter2;
pub mod chapter3;
pub mod chapter4;
pub mod chapter5;
pub mod chapter6;
pub mod chapter7;
pub mod syntax;
pub mod digits;
pub mod parens;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::plot::{self, PlotError};
use crate::source::{self, ModelFormat, ModelSpec};
use crate::LoadedModel;

/// How a figure is made (the kinds of ESSAY_FIGURES.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// From the language model's weights, deterministic.
    Model,
    /// Sampling from the language model, deterministic for its seed.
    Sampled,
    /// From a text corpus.
    Corpus,
    /// A small net trained or a curve fitted here.
    Trained,
    /// A schematic or trivial computation.
    Schematic,
    /// Needs a model nobody can get here: a card that says so.
    NotReproducible,
}

impl Kind {
    pub fn needs_model(self) -> bool {
        matches!(self, Kind::Model | Kind::Sampled)
    }
}

/// One figure of the essay.
pub struct FigureSpec {
    /// The id of ESSAY_FIGURES.md, also the output file stem.
    pub id: &'static str,
    /// The essay section, e.g. "1. It's just adding one word at a time".
    pub section: &'static str,
    pub kind: Kind,
    /// What the figure shows (the model's name is added for model-made figures).
    pub caption: &'static str,
    /// Its inputs: prompt, seeds, temperature, lengths.
    pub params: fn() -> Value,
    /// The source of the module that builds it, hashed into its stamp.
    pub source: &'static str,
    pub build: fn(&Ctx) -> Result<Figure>,
}

/// What a build function gets: the parameters and, for model figures, the model.
pub struct Ctx<'a> {
    pub params: Value,
    model: Option<&'a LoadedModel>,
}

impl Ctx<'_> {
    /// The model (only for figures of kind Model or Sampled).
    pub fn model(&self) -> Result<&LoadedModel> {
        self.model.ok_or_else(|| Error::Figure("this figure was declared without a model".into()))
    }
    pub fn str(&self, key: &str) -> &str {
        self.params[key].as_str().unwrap_or_default()
    }
    pub fn u64(&self, key: &str) -> u64 {
        self.params[key].as_u64().unwrap_or_default()
    }
    pub fn f64(&self, key: &str) -> f64 {
        self.params[key].as_f64().unwrap_or_default()
    }
}

impl Ctx<'_> {
    /// The caption line of a model figure: "<what> · <model>".
    pub fn subtitle(&self, what: &str) -> Result<String> {
        Ok(format!("{what} · {}", self.model()?.caption()))
    }
    /// Fails with the problem of the figure's data file, if it had one (see
    /// [`data_params`]).
    pub fn check_data(&self) -> Result<()> {
        match self.params.get("data_error").and_then(Value::as_str) {
            Some(e) => Err(Error::Figure(e.to_string())),
            None => Ok(()),
        }
    }
    /// A list of strings under `key`.
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        strings_of(&self.params[key]).ok_or_else(|| self.bad(key, "a list of strings"))
    }
    /// Named groups of strings under `key`: `{"animals": [..], "plants": [..]}`, in file
    /// order.
    pub fn groups(&self, key: &str) -> Result<Vec<(String, Vec<String>)>> {
        let bad = || self.bad(key, "an object of named lists of strings");
        let o = self.params[key].as_object().ok_or_else(bad)?;
        o.iter().map(|(k, v)| strings_of(v).map(|l| (k.clone(), l)).ok_or_else(bad)).collect()
    }
    fn bad(&self, key: &str, want: &str) -> Error {
        let from = self.params.get("data_file").and_then(Value::as_str).unwrap_or("the figure's parameters");
        Error::Figure(format!("{from}: `{key}` must be {want}"))
    }
}

fn strings_of(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
}

/// `data/figures/<id>.json`: the word lists, sentences and prompts of a figure, which a
/// teacher may edit.
pub fn data_path(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join("figures").join(format!("{id}.json"))
}

/// A figure's parameters from its data file: `defaults`, then every key of the file
/// (read now, so an edit makes the figure stale), plus `data_file` naming it. A file
/// that cannot be read gives `{"data_error": why}`, reported when the figure is built
/// ([`Ctx::check_data`]; parameters cannot fail).
pub fn data_params(id: &str, defaults: Value) -> Value {
    let path = data_path(id);
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|s| serde_json::from_str::<Value>(&s).map_err(|e| format!("{}: not valid JSON ({e}); fix the file", path.display())));
    match parsed {
        Ok(Value::Object(o)) => {
            let mut params = match defaults {
                Value::Object(d) => d,
                _ => serde_json::Map::new(),
            };
            params.extend(o);
            params.insert("data_file".into(), Value::String(format!("data/figures/{id}.json")));
            Value::Object(params)
        }
        Ok(_) => serde_json::json!({"data_error": format!("{}: must hold a JSON object", path.display())}),
        Err(e) => serde_json::json!({"data_error": e}),
    }
}

/// The numbers behind a figure, written as `<id>.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
    /// CSV text (RFC 4180 quoting via the `csv` crate).
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Figure(format!("CSV: {e}"));
        w.write_record(&self.headers).map_err(err)?;
        for r in &self.rows {
            w.write_record(r).map_err(err)?;
        }
        w.into_inner().map_err(|e| Error::Figure(format!("CSV: {e}")))
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
    /// Small multiples: a title over a grid of plots, one per panel title (e.g. the 12
    /// attention heads of a block). `plots.len()` must equal `panels.panel_titles.len()`.
    Grid { panels: plot::Panels, plots: Vec<Plot> },
}

impl Plot {
    fn draw<DB: plotters::prelude::DrawingBackend>(&self, area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>) -> std::result::Result<(), PlotError> {
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
            Plot::Grid { panels, plots } => {
                if plots.len() != panels.panel_titles.len() {
                    return Err(PlotError::Data(format!("{} plots for {} panel titles", plots.len(), panels.panel_titles.len())));
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
    /// The figure as SVG text.
    pub fn svg(&self) -> Result<String> {
        plot::svg_string(self.size, |area| self.plot.draw(area)).map_err(|e| Error::Figure(e.to_string()))
    }
    /// The figure as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        plot::png_bytes(self.size, |area| self.plot.draw(area)).map_err(|e| Error::Figure(e.to_string()))
    }
    /// Shows the figure inline in an evcxr notebook (prints its SVG between
    /// `EVCXR_BEGIN_CONTENT image/svg+xml` and `EVCXR_END_CONTENT`).
    pub fn show(&self) -> Result<()> {
        println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT", self.svg()?);
        Ok(())
    }
}

/// Builds one figure in memory (nothing is written), for notebooks: its declared
/// parameters with the keys of `overrides` (a JSON object, or `null`) replaced, and
/// `model` for the figures that need one. `make("letters-english", json!({}), None)?.show()?`.
pub fn make(id: &str, overrides: Value, model: Option<&LoadedModel>) -> Result<Figure> {
    let spec = select(&[id.to_string()])?.pop().ok_or_else(|| Error::Figure(format!("unknown figure id `{id}`")))?;
    let mut params = (spec.params)();
    match overrides {
        Value::Null => {}
        Value::Object(o) => {
            for (k, v) in o {
                if params.get(&k).is_none() {
                    return Err(Error::Figure(format!("figure `{id}` has no parameter `{k}`; its parameters: {params}")));
                }
                params[&k] = v;
            }
        }
        other => return Err(Error::Figure(format!("figure `{id}`: overrides must be a JSON object, not {other}"))),
    }
    if spec.kind.needs_model() && model.is_none() {
        return Err(Error::Figure(format!("figure `{id}` needs a model: pass Some(&lm) (e.g. LoadedModel::load(\"auto\", true)?)")));
    }
    (spec.build)(&Ctx { params, model: if spec.kind.needs_model() { model } else { None } })
}

/// Every figure, in essay order.
pub fn registry() -> Vec<FigureSpec> {
    [chapter1::figures(), chapter2::figures(), chapter3::figures(), chapter4::figures(), chapter5::figures(), chapter6::figures(), chapter7::figures()].into_iter().flatten().collect()
}

/// Puts `more` right after the figure `id` in `list` (at the end if `id` is not there):
/// how a chapter places figures another module makes (digits, parentheses) in essay order.
fn insert_after(list: &mut Vec<FigureSpec>, id: &str, more: Vec<FigureSpec>) {
    let at = list.iter().position(|f| f.id == id).map_or(list.len(), |i| i + 1);
    list.splice(at..at, more);
}

/// What was asked of the builder.
#[derive(Debug, Clone)]
pub struct Options {
    /// Figure ids; empty means all.
    pub ids: Vec<String>,
    pub out: PathBuf,
    /// `--model` (default `auto`).
    pub model: String,
    pub force: bool,
    /// Only report which figures are stale.
    pub check: bool,
    /// Rendering threads.
    pub jobs: usize,
    /// Show progress bars.
    pub progress: bool,
}

/// The outcome of a build.
#[derive(Debug, Default)]
pub struct Summary {
    pub built: Vec<String>,
    pub up_to_date: Vec<String>,
    pub stale: Vec<String>,
    /// (id, error)
    pub failed: Vec<(String, String)>,
    pub seconds: f64,
}

#[derive(Serialize, Deserialize)]
struct Stamp {
    key: String,
    model: Option<String>,
    params: Value,
}

/// Source of the plot library, hashed into every figure's stamp.
const PLOT_SOURCES: &[&str] = &[
    include_str!("../plot/axes.rs"),
    include_str!("../plot/bars.rs"),
    include_str!("../plot/field.rs"),
    include_str!("../plot/font.rs"),
    include_str!("../plot/lines.rs"),
    include_str!("../plot/matrix.rs"),
    include_str!("../plot/mod.rs"),
    include_str!("../plot/scatter.rs"),
    include_str!("../plot/text.rs"),
    include_str!("../plot/theme.rs"),
    include_str!("../plot/tree.rs"),
    include_str!("mod.rs"),
];

/// Picks the figures named in `ids` (all when empty); an unknown id is an error listing
/// the valid ones.
pub fn select(ids: &[String]) -> Result<Vec<FigureSpec>> {
    let all = registry();
    if ids.is_empty() || ids.iter().any(|i| i == "all") {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|f| f.id).collect();
    if let Some(bad) = ids.iter().find(|i| !known.contains(&i.as_str())) {
        return Err(Error::Figure(format!("unknown figure id `{bad}`; valid ids: {}", known.join(", "))));
    }
    Ok(all.into_iter().filter(|f| ids.iter().any(|i| i == f.id)).collect())
}

/// The identity of a model's files, cheap to compute (no weights are read): the name,
/// the path, and each file's size and modification time.
fn model_fingerprint(files: &source::ModelFiles) -> String {
    let paths: Vec<PathBuf> = match files.format {
        ModelFormat::Gguf => vec![files.path.clone()],
        ModelFormat::Folder => vec![files.path.join("config.json"), files.path.join("model.safetensors")],
    };
    let mut s = format!("{}|{}", files.name, files.path.display());
    for p in paths {
        if let Ok(m) = std::fs::metadata(&p) {
            let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
            s += &format!("|{}:{}:{}", p.display(), m.len(), mtime);
        }
    }
    s
}

fn stamp_key(spec: &FigureSpec, params: &Value, model: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(spec.id.as_bytes());
    h.update(params.to_string().as_bytes());
    h.update(model.unwrap_or("-").as_bytes());
    h.update(spec.source.as_bytes());
    for s in PLOT_SOURCES {
        h.update(s.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn outputs(out: &Path, id: &str) -> [PathBuf; 3] {
    ["png", "svg", "csv"].map(|ext| out.join(format!("{id}.{ext}")))
}

fn stamp_path(out: &Path, id: &str) -> PathBuf {
    out.join(".stamps").join(format!("{id}.json"))
}

fn read_stamp(out: &Path, id: &str) -> Option<Stamp> {
    // A missing or corrupt stamp just means "rebuild".
    serde_json::from_str(&std::fs::read_to_string(stamp_path(out, id)).ok()?).ok()
}

/// Deletes the temporary files an interrupted build may have left (`.<name>.<pid>.tmp`,
/// see [`crate::io::write_atomic`]); called under the lock, so none is in use.
fn remove_leftover_temp_files(out: &Path) {
    for dir in [out.to_path_buf(), out.join(".stamps")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn bar(len: usize, show: bool, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(indicatif::ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}").expect("a valid template").progress_chars("=> "));
    pb.set_prefix(what.to_string());
    pb
}

/// Rebuilds the stale figures of `opts` (or only reports them with `check`), then the
/// gallery, holding `out/.figures.lock` so that two builders never interleave their
/// writes. One failing figure does not stop the others; see [`Summary::failed`].
pub fn build(opts: &Options) -> Result<Summary> {
    let start = Instant::now();
    let specs = select(&opts.ids)?;
    std::fs::create_dir_all(opts.out.join(".stamps")).map_err(|e| Error::io(&opts.out, e))?;
    let _lock = crate::io::FileLock::take(&opts.out.join(".figures.lock"), "another figure builder")?;
    remove_leftover_temp_files(&opts.out);
    let mut summary = Summary::default();

    // Which model the model figures would use; nothing is loaded yet.
    let needs_model = specs.iter().any(|s| s.kind.needs_model());
    let files = if needs_model { Some(ModelSpec::parse(&opts.model).and_then(|s| source::resolve(&s, false)).map_err(|e| e.to_string())) } else { None };
    let fingerprint = match &files {
        Some(Ok(f)) => Some(model_fingerprint(f)),
        _ => None,
    };

    let mut stale = Vec::new();
    for spec in &specs {
        let params = (spec.params)();
        if spec.kind.needs_model() {
            if let Some(Err(e)) = &files {
                summary.failed.push((spec.id.to_string(), e.clone()));
                continue;
            }
        }
        let key = stamp_key(spec, &params, if spec.kind.needs_model() { fingerprint.as_deref() } else { None });
        let fresh = !opts.force && read_stamp(&opts.out, spec.id).is_some_and(|s| s.key == key) && outputs(&opts.out, spec.id).iter().all(|p| p.is_file());
        if fresh {
            summary.up_to_date.push(spec.id.to_string());
        } else {
            summary.stale.push(spec.id.to_string());
            stale.push((spec, params, key));
        }
    }
    if opts.check {
        summary.seconds = start.elapsed().as_secs_f64();
        return Ok(summary);
    }

    // Compute the data (the model is loaded once, only if a model figure is stale).
    let model = match (&files, stale.iter().any(|(s, _, _)| s.kind.needs_model())) {
        (Some(Ok(f)), true) => Some(LoadedModel::from_files(f).map_err(|e| e.to_string())),
        _ => None,
    };
    let pb = bar(stale.len(), opts.progress, "computing");
    let mut ready = Vec::new();
    for (spec, params, key) in stale {
        pb.set_message(spec.id);
        let model_ref = match &model {
            Some(Ok(m)) if spec.kind.needs_model() => Some(m),
            Some(Err(e)) if spec.kind.needs_model() => {
                summary.failed.push((spec.id.to_string(), e.clone()));
                pb.inc(1);
                continue;
            }
            _ => None,
        };
        let ctx = Ctx { params: params.clone(), model: model_ref };
        match (spec.build)(&ctx) {
            Ok(fig) => ready.push((spec, params, key, fig, model_ref.map(|m| m.caption()))),
            Err(e) => summary.failed.push((spec.id.to_string(), e.to_string())),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();

    // Render and write, in `jobs` threads.
    let pb = bar(ready.len(), opts.progress, "rendering");
    let results: Vec<(String, std::result::Result<(), String>)> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<_>> = {
            let mut c: Vec<Vec<_>> = (0..opts.jobs.max(1)).map(|_| Vec::new()).collect();
            for (i, item) in ready.iter().enumerate() {
                c[i % opts.jobs.max(1)].push(item);
            }
            c
        };
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let pb = pb.clone();
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(spec, params, key, fig, model)| {
                            let r = write_figure(&opts.out, spec, params, key, fig, model.as_deref());
                            pb.inc(1);
                            (spec.id.to_string(), r.map_err(|e| e.to_string()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a render thread panicked")).collect()
    });
    pb.finish_and_clear();
    for (id, r) in results {
        match r {
            Ok(()) => summary.built.push(id),
            Err(e) => summary.failed.push((id, e)),
        }
    }
    write_gallery(&opts.out)?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Writes PNG, SVG and CSV (each atomically), then the stamp: a stamp exists only for
/// complete outputs.
fn write_figure(out: &Path, spec: &FigureSpec, params: &Value, key: &str, fig: &Figure, model: Option<&str>) -> Result<()> {
    let [png, svg, csv] = outputs(out, spec.id);
    let perr = |e: PlotError| Error::Figure(format!("{}: {e}", spec.id));
    plot::render_png(&png, fig.size, |area| fig.plot.draw(area)).map_err(perr)?;
    plot::render_svg(&svg, fig.size, |area| fig.plot.draw(area)).map_err(perr)?;
    crate::io::write_atomic(&csv, &fig.table.to_csv()?)?;
    let stamp = Stamp { key: key.to_string(), model: model.map(str::to_string), params: params.clone() };
    crate::io::write_atomic(&stamp_path(out, spec.id), serde_json::to_string_pretty(&stamp).expect("a stamp serialises").as_bytes())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes `index.html`: every figure that has been built, in essay order, with its
/// caption, essay section, model and seed. A small script reports on the page (and to
/// tests) whether every image loaded.
pub fn write_gallery(out: &Path) -> Result<()> {
    let mut sections: BTreeMap<usize, (String, Vec<String>)> = BTreeMap::new();
    for (order, spec) in registry().iter().enumerate() {
        let Some(stamp) = read_stamp(out, spec.id) else { continue };
        if !outputs(out, spec.id).iter().all(|p| p.is_file()) {
            continue;
        }
        let section_order = registry().iter().position(|s| s.section == spec.section).unwrap_or(order);
        let mut meta = vec![format!("<span class=\"id\">{}</span>", spec.id)];
        if let Some(m) = &stamp.model {
            meta.push(format!("model: {}", html_escape(m)));
        }
        if let Some(seed) = stamp.params.get("seed").or_else(|| stamp.params.get("seeds")) {
            meta.push(format!("seed: {}", html_escape(&seed.to_string())));
        }
        let card = format!(
            "<figure id=\"{id}\"><a href=\"{id}.svg\"><img src=\"{id}.png\" alt=\"{alt}\" loading=\"eager\"></a><figcaption>{caption}<div class=\"meta\">{meta} · <a href=\"{id}.csv\">data (CSV)</a> · <a href=\"{id}.svg\">SVG</a></div></figcaption></figure>",
            id = spec.id,
            alt = html_escape(spec.caption),
            caption = html_escape(spec.caption),
            meta = meta.join(" · ")
        );
        sections.entry(section_order).or_insert_with(|| (spec.section.to_string(), Vec::new())).1.push(card);
    }
    let mut body = String::new();
    for (_, (title, cards)) in sections {
        body += &format!("<section><h2>{}</h2>\n{}\n</section>\n", html_escape(&title), cards.join("\n"));
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What Is ChatGPT Doing: the figures, rebuilt</title>
<style>
body {{ font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 1300px; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }}
section {{ display: flex; flex-wrap: wrap; gap: 1.5rem; }} section h2 {{ flex-basis: 100%; }}
figure {{ margin: 0; width: 600px; }} img {{ width: 100%; border: 1px solid #eee; }}
figcaption {{ font-size: .95rem; margin-top: .4rem; }} .meta {{ color: #777; font-size: .85rem; margin-top: .2rem; }}
.id {{ font-family: monospace; }}
</style></head>
<body data-images-ok="pending">
<h1>What Is ChatGPT Doing … and Why Does It Work? — the figures, rebuilt</h1>
<p>Regenerate with <code>make figures</code>. Each figure links to its SVG and to the numbers behind it.</p>
{body}
<script>
window.addEventListener('load', () => {{
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = ok + '/' + imgs.length;
}});
</script>
</body></html>
"#
    );
    crate::io::write_atomic(&out.join("index.html"), html.as_bytes())
}
