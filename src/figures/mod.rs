//! The figure builder: one declared table of the essay's figures (id, essay section,
//! caption, typed parameters, build function; the list is `docs/essay-figures.md`),
//! rebuilt like `make` does. A figure is stale when its parameters, its model, or the
//! program's source changed, or an output is missing; only stale figures are rebuilt.
//! Each writes `<id>.png`, `<id>.svg` and `<id>.csv` atomically, under a lock (an
//! interactive view, [`interactive`]: `<id>.html` and `<id>.csv`), and `index.html`
//! shows them all in essay order. Figure modules (`chapter1`, ...) are
//! the only place that joins model, analysis and plot.
//!
//! The builder itself is split by job: [`registry`] (the table), [`params`] (typed
//! parameters, data files, overrides), [`stamps`] (staleness), `render` (plot, page, CSV
//! and files), `gallery` (`index.html`) and `builder` ([`build`] and [`make`]).

pub mod behaviour;
pub mod chapter1;
pub mod chapter2;
pub mod chapter3;
pub mod chapter4;
pub mod chapter5;
pub mod chapter6;
pub mod chapter7;
pub mod diagrams;
pub mod digits;
pub mod experiments;
pub mod interactive;
pub mod motion;
pub mod parens;
pub mod syntax;
pub mod training;

mod builder;
pub mod essay;
mod gallery;
pub mod lint;
pub mod params;
mod registry;
mod render;
pub mod sections;
pub mod stamps;

pub use builder::{build, make, Options, Summary};
pub use gallery::write_gallery;
pub use params::{data_path, NoParams, Params};
pub(crate) use registry::insert_after;
pub use registry::{registry, select, Ctx, FigureSpec, Made};
pub use render::{Figure, Plot, Table};
