//! The table of the essay's figures: for each one its id, essay section, how it is made,
//! its caption, its typed parameters and its build function, in essay order (the list
//! is `docs/essay-figures.md`). [`FigureSpec`] hides each figure's parameter type behind
//! JSON, so that one table holds them all and notebooks can override them by name.

use serde_json::{Map, Value};

use super::params::{self, Params};
use super::{
    behaviour, chapter1, chapter2, chapter3, chapter4, chapter5, chapter6, chapter7, experiments, interactive, motion,
    training, Figure,
};
use crate::error::{Error, Result};
use crate::LoadedModel;

/// How a figure is made (the kinds of `docs/essay-figures.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Made {
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

impl Made {
    pub fn needs_model(self) -> bool {
        matches!(self, Made::Model | Made::Sampled)
    }
}

type Defaults = Box<dyn Fn() -> Result<Map<String, Value>> + Send + Sync>;
type Check = Box<dyn Fn(Map<String, Value>) -> Result<()> + Send + Sync>;
type Build = Box<dyn Fn(&Ctx, Map<String, Value>) -> Result<Figure> + Send + Sync>;

/// One figure of the essay.
pub struct FigureSpec {
    /// The id of `docs/essay-figures.md`, also the output file stem.
    pub id: &'static str,
    /// The essay section, e.g. "1. It's just adding one word at a time".
    pub section: &'static str,
    pub made: Made,
    /// What the figure shows, with `{key}` standing for a parameter's value (see
    /// [`FigureSpec::caption`]).
    pub caption_template: &'static str,
    /// Whether the defaults come from `data/figures/<id>.json`.
    pub data_file: bool,
    /// An interactive page (`<id>.html` and `<id>.csv`) instead of a picture (`.png`,
    /// `.svg`, `.csv`); see [`FigureSpec::page`].
    pub page: bool,
    defaults: Defaults,
    check: Check,
    build: Build,
}

impl FigureSpec {
    /// A figure whose parameters are the struct `P`, with defaults from `defaults`.
    pub fn new<P: Params>(
        id: &'static str,
        section: &'static str,
        made: Made,
        caption: &'static str,
        defaults: fn() -> P,
        build: fn(&Ctx, &P) -> Result<Figure>,
    ) -> Self {
        FigureSpec {
            id,
            section,
            made,
            caption_template: caption,
            data_file: false,
            page: false,
            defaults: Box::new(move || params::to_object(id, &defaults())),
            check: Box::new(move |obj| params::parse::<P>(&params::origin(id, false), obj).map(drop)),
            build: Box::new(move |ctx, obj| build(ctx, &params::parse::<P>(&ctx.origin(), obj)?)),
        }
    }

    /// A figure whose parameters `P` are read from `data/figures/<id>.json` (keys the file
    /// leaves out take `P`'s serde defaults), every time they are asked for.
    pub fn from_data_file<P: Params>(
        id: &'static str,
        section: &'static str,
        made: Made,
        caption: &'static str,
        build: fn(&Ctx, &P) -> Result<Figure>,
    ) -> Self {
        let origin = params::origin(id, true);
        FigureSpec {
            id,
            section,
            made,
            caption_template: caption,
            data_file: true,
            page: false,
            defaults: Box::new(move || {
                let p: P = params::parse(&origin, params::read_data_file(id)?)?;
                params::to_object(id, &p)
            }),
            check: Box::new(move |obj| params::parse::<P>(&params::origin(id, true), obj).map(drop)),
            build: Box::new(move |ctx, obj| build(ctx, &params::parse::<P>(&ctx.origin(), obj)?)),
        }
    }

    /// Marks the figure as an interactive page (its build returns [`super::Plot::Page`]):
    /// the builder writes `<id>.html` and `<id>.csv`.
    pub fn page(mut self) -> Self {
        self.page = true;
        self
    }

    /// The declared parameters as a JSON object (a data file is read now).
    pub fn params(&self) -> Result<Map<String, Value>> {
        (self.defaults)()
    }

    /// The caption for these parameters.
    pub fn caption(&self, params: &Map<String, Value>) -> String {
        params::fill(self.caption_template, params)
    }

    /// Checks `params` against the figure's parameter struct, without building.
    pub fn check(&self, params: Map<String, Value>) -> Result<()> {
        (self.check)(params)
    }

    /// Builds the figure from `params` (checked against the figure's parameter struct).
    pub fn build(&self, params: Map<String, Value>, model: Option<&LoadedModel>) -> Result<Figure> {
        let ctx = Ctx {
            id: self.id,
            data_file: self.data_file,
            model: if self.made.needs_model() { model } else { None },
        };
        (self.build)(&ctx, params)
    }
}

/// What a build function gets besides its parameters: which figure it is and, for
/// model figures, the model.
pub struct Ctx<'a> {
    pub id: &'static str,
    data_file: bool,
    model: Option<&'a LoadedModel>,
}

impl Ctx<'_> {
    /// The model (only for figures made from one).
    pub fn model(&self) -> Result<&LoadedModel> {
        self.model.ok_or(Error::NoModel {
            figure: self.id.to_string(),
        })
    }
    /// The caption line of a model figure: "<what> · <model>".
    pub fn subtitle(&self, what: &str) -> Result<String> {
        Ok(format!("{what} · {}", self.model()?.caption()))
    }
    /// [`Ctx::subtitle`] followed, for a model other than GPT-2 small, by the essay's
    /// GPT-2 small numbers (blocks, heads, width) to compare with.
    pub fn subtitle_vs_essay(&self, what: &str) -> Result<String> {
        let mut s = self.subtitle(what)?;
        if let Some(note) = super::essay::architecture_note(self.model()?) {
            s = format!("{s} · {note}");
        }
        Ok(s)
    }
    /// Where the parameters came from, for messages: the data file, or the figure.
    pub fn origin(&self) -> String {
        params::origin(self.id, self.data_file)
    }
    /// An error about the figure's input, naming where it came from.
    pub fn bad_input(&self, msg: impl Into<String>) -> Error {
        Error::FigureInput {
            origin: self.origin(),
            msg: msg.into(),
        }
    }
}

/// Every figure, in essay order; the interactive views right after the static figure
/// they belong with, in its section.
pub fn registry() -> Vec<FigureSpec> {
    let mut list: Vec<FigureSpec> = [
        chapter1::figures(),
        chapter2::figures(),
        chapter3::figures(),
        chapter4::figures(),
        chapter5::figures(),
        chapter6::figures(),
        experiments::figures(),
        training::figures(),
        behaviour::training_figures(),
        chapter7::figures(),
        // Beyond the essay's pictures, its question put to a number (notebook 11).
        motion::figures(),
    ]
    .into_iter()
    .flatten()
    .collect();
    insert_after(&mut list, "parens-completions", behaviour::syntax_figures());
    for (after, mut view) in interactive::placed() {
        view.section = list
            .iter()
            .find(|f| f.id == after)
            .map_or("Interactive views", |f| f.section);
        insert_after(&mut list, after, vec![view]);
    }
    list
}

/// Puts `more` right after the figure `id` in `list` (at the end if `id` is not there):
/// how a chapter places figures another module makes (digits, parentheses) in essay order.
pub(crate) fn insert_after(list: &mut Vec<FigureSpec>, id: &str, more: Vec<FigureSpec>) {
    let at = list.iter().position(|f| f.id == id).map_or(list.len(), |i| i + 1);
    list.splice(at..at, more);
}

/// Picks the figures named in `ids` (all when empty); an unknown id is an error listing
/// the valid ones.
pub fn select(ids: &[String]) -> Result<Vec<FigureSpec>> {
    let all = registry();
    if ids.is_empty() || ids.iter().any(|i| i == "all") {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|f| f.id).collect();
    if let Some(bad) = ids.iter().find(|i| !known.contains(&i.as_str())) {
        return Err(Error::UnknownFigure {
            id: bad.clone(),
            known: known.join(", "),
        });
    }
    Ok(all.into_iter().filter(|f| ids.iter().any(|i| i == f.id)).collect())
}
