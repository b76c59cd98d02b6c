//! Building figures: [`build`] rebuilds the stale figures of the table into a folder,
//! like `make` (plan which are stale, compute their data with the model loaded once,
//! render and write them in parallel, then the gallery), and [`make`] builds one figure
//! in memory for a notebook, with parameters overridden by name.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value};

use super::render::{outputs, write_outputs};
use super::{gallery, params, select, stamps, Figure, FigureSpec};
use crate::error::{Error, Result};
use crate::progress::Counter;
use crate::source::{self, ModelFiles, ModelSpec};
use crate::LoadedModel;

/// Builds one figure in memory (nothing is written), for notebooks: its declared
/// parameters with the keys of `overrides` (a JSON object, or `null`) replaced, and
/// `model` for the figures that need one. `make("letters-english", json!({}), None)?.show()?`.
/// An unknown key, or a value of the wrong type, is an error naming the key and the figure.
pub fn make(id: &str, overrides: Value, model: Option<&LoadedModel>) -> Result<Figure> {
    let spec = select(&[id.to_string()])?.pop().ok_or_else(|| Error::UnknownFigure {
        id: id.to_string(),
        known: String::new(),
    })?;
    let params = params::apply_overrides(id, spec.params()?, overrides)?;
    spec.check(params.clone())?;
    if spec.made.needs_model() && model.is_none() {
        return Err(Error::NoModel { figure: id.to_string() });
    }
    spec.build(params, model)
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
    /// Report progress to the installed sink ([`crate::progress`]).
    pub progress: bool,
    /// The repository whose sources the stamps hash (see [`stamps::source_hash`]);
    /// normally [`stamps::default_source_root`].
    pub source_root: PathBuf,
    /// Where the model runs.
    pub device: tch::Device,
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

/// A stale figure: its spec, parameters and the stamp key it will get.
struct Planned<'a> {
    spec: &'a FigureSpec,
    params: Map<String, Value>,
    key: String,
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
    let files = if specs.iter().any(|s| s.made.needs_model()) {
        Some(ModelSpec::parse(&opts.model).and_then(|s| source::resolve(&s, false)))
    } else {
        None
    };
    let stale = plan(opts, &specs, files.as_ref(), &mut summary)?;
    if !opts.check {
        let model = match (&files, stale.iter().any(|p| p.spec.made.needs_model())) {
            (Some(Ok(f)), true) => Some(LoadedModel::from_files(f, opts.device)),
            _ => None,
        };
        let ready = compute(stale, model.as_ref(), opts.progress, &mut summary);
        render(&opts.out, ready, opts.jobs, opts.progress, &mut summary);
        gallery::write_gallery(&opts.out)?;
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Sorts the figures into up to date and stale (returned); a figure whose parameters or
/// model cannot be had fails here.
fn plan<'a>(
    opts: &Options,
    specs: &'a [FigureSpec],
    files: Option<&Result<ModelFiles>>,
    summary: &mut Summary,
) -> Result<Vec<Planned<'a>>> {
    let sources = stamps::source_hash(&opts.source_root)?;
    let fingerprint = match files {
        Some(Ok(f)) => Some(stamps::model_fingerprint(f)),
        _ => None,
    };
    let mut stale = Vec::new();
    for spec in specs {
        if spec.made.needs_model() {
            if let Some(Err(e)) = files {
                summary.failed.push((spec.id.to_string(), e.to_string()));
                continue;
            }
        }
        let params = match spec.params() {
            Ok(p) => p,
            Err(e) => {
                summary.failed.push((spec.id.to_string(), e.to_string()));
                continue;
            }
        };
        let key = stamps::key(
            spec.id,
            &params,
            if spec.made.needs_model() {
                fingerprint.as_deref()
            } else {
                None
            },
            &sources,
        );
        let fresh = !opts.force
            && stamps::read(&opts.out, spec.id).is_some_and(|s| s.key == key)
            && outputs(&opts.out, spec.id, spec.page).iter().all(|p| p.is_file());
        if fresh {
            summary.up_to_date.push(spec.id.to_string());
        } else {
            summary.stale.push(spec.id.to_string());
            stale.push(Planned { spec, params, key });
        }
    }
    Ok(stale)
}

/// A figure computed and ready to write: the plan, the figure, and the model's caption.
type Ready<'a> = (Planned<'a>, Figure, Option<String>);

/// Computes the data of every stale figure, one after the other (the model is shared).
fn compute<'a>(
    stale: Vec<Planned<'a>>,
    model: Option<&Result<LoadedModel>>,
    progress: bool,
    summary: &mut Summary,
) -> Vec<Ready<'a>> {
    let pb = Counter::start(progress, "computing", stale.len());
    let mut ready = Vec::new();
    for p in stale {
        let id = p.spec.id;
        let model_ref = match model {
            Some(Ok(m)) if p.spec.made.needs_model() => Some(m),
            Some(Err(e)) if p.spec.made.needs_model() => {
                summary.failed.push((p.spec.id.to_string(), e.to_string()));
                pb.step(p.spec.id);
                continue;
            }
            _ => None,
        };
        match p.spec.build(p.params.clone(), model_ref) {
            Ok(fig) => ready.push((p, fig, model_ref.map(|m| m.caption()))),
            Err(e) => summary.failed.push((p.spec.id.to_string(), e.to_string())),
        }
        pb.step(id);
    }
    pb.finish();
    ready
}

/// Renders and writes the computed figures in `jobs` threads.
fn render(out: &Path, ready: Vec<Ready>, jobs: usize, progress: bool, summary: &mut Summary) {
    let pb = Counter::start(progress, "rendering", ready.len());
    let jobs = jobs.max(1);
    let mut chunks: Vec<Vec<&Ready>> = (0..jobs).map(|_| Vec::new()).collect();
    for (i, item) in ready.iter().enumerate() {
        chunks[i % jobs].push(item);
    }
    let results: Vec<(String, Result<()>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let pb = &pb;
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(p, fig, model)| {
                            let r = write_figure(out, p, fig, model.as_deref());
                            pb.step(p.spec.id);
                            (p.spec.id.to_string(), r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a render thread panicked"))
            .collect()
    });
    pb.finish();
    for (id, r) in results {
        match r {
            Ok(()) => summary.built.push(id),
            Err(e) => summary.failed.push((id, e.to_string())),
        }
    }
}

/// Writes PNG, SVG and CSV (each atomically), then the stamp: a stamp exists only for
/// complete outputs.
fn write_figure(out: &Path, p: &Planned, fig: &Figure, model: Option<&str>) -> Result<()> {
    write_outputs(out, p.spec.id, fig)?;
    stamps::write(
        out,
        p.spec.id,
        &stamps::Stamp {
            key: p.key.clone(),
            model: model.map(str::to_string),
            params: p.params.clone(),
        },
    )
}
