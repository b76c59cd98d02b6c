//! Essay section "Meaning space and semantic laws of motion" (our chapter 7, notebook
//! 11): the essay asks whether a text's path through feature space follows a law of
//! motion, and finds nothing "geometrically obvious". Figure `step-cosines` puts the
//! simplest law, inertia (the next step points the way the last one did), to a number
//! at every block: the mean cosine between successive steps of the path, for each
//! position's own hidden state and for the running mean that the `trajectory` figures
//! draw, each against the same points visited in random orders (src/analysis/motion.rs).

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::motion::{self, MotionTest};
use crate::error::Result;
use crate::plot::{LinePlot, Series, SeriesStyle};

const SECTION: &str = super::sections::SYNTAX_AND_MEANING;

/// The text whose path is measured: `text` as given when it is not empty, else the
/// prompt and `steps` greedy tokens; `shuffles` random orders drawn from `seed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionParams {
    pub prompt: String,
    pub steps: usize,
    #[serde(default)]
    pub text: String,
    pub shuffles: usize,
    pub seed: u64,
    #[serde(default)]
    pub skip_first: bool,
}

impl Default for MotionParams {
    fn default() -> Self {
        MotionParams {
            prompt: "The best thing about AI is its ability to".into(),
            steps: 40,
            text: String::new(),
            shuffles: 200,
            seed: 1,
            skip_first: true,
        }
    }
}

/// The chapter's measurement figures, placed after `trajectory-3d`.
pub fn figures() -> Vec<FigureSpec> {
    vec![FigureSpec::new(
        "step-cosines",
        SECTION,
        Made::Model,
        "Is there a law of motion? The mean cosine between successive steps of a text's path at every block, for each position's hidden state and for the running mean (the text so far), against {shuffles} random orders of the same points (seed {seed}).",
        MotionParams::default,
        step_cosines,
    )]
}

fn step_cosines(ctx: &Ctx, p: &MotionParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let (ids, what) = if p.text.trim().is_empty() {
        let ids = motion::greedy_ids(lm, &p.prompt, p.steps)?;
        (ids, format!("prompt + {} greedy tokens", p.steps))
    } else {
        let ids = lm.encode_prompt(&p.text)?;
        let n = ids.len();
        (ids, format!("a text of {n} tokens"))
    };
    let from = usize::from(p.skip_first && ids.len() > 1);
    if ids.len() < from + 3 {
        return Err(ctx.bad_input(format!(
            "the text has {} tokens; a path needs at least {} (give a longer prompt or text, or more steps)",
            ids.len(),
            from + 3
        )));
    }
    if p.shuffles == 0 {
        return Err(ctx.bad_input("shuffles must be at least 1 (200 gives a steady baseline)"));
    }
    let blocks = motion::by_block(lm, &ids, from, p.shuffles, p.seed)?;
    let mut table = Table::new(&[
        "block",
        "points",
        "path",
        "mean_cosine",
        "shuffled_cosine",
        "shuffled_cosine_sd",
        "p_value",
        "velocity_error",
        "shuffled_velocity_error",
    ]);
    let row = |table: &mut Table, b: usize, m: &MotionTest| {
        table.push(vec![
            b.to_string(),
            m.points.to_string(),
            m.smoothing.describe().to_string(),
            m.mean_cosine.to_string(),
            m.shuffled_cosine.to_string(),
            m.shuffled_cosine_sd.to_string(),
            m.p_value.to_string(),
            m.velocity_error.to_string(),
            m.shuffled_velocity_error.to_string(),
        ]);
    };
    for b in &blocks {
        row(&mut table, b.block, &b.token);
        row(&mut table, b.block, &b.text_so_far);
    }
    let line = |name: &str, style: SeriesStyle, f: &dyn Fn(&motion::BlockMotion) -> f64| Series {
        name: name.into(),
        points: blocks.iter().map(|b| (b.block as f64, f(b))).collect(),
        style,
    };
    let series = vec![
        line("token path", SeriesStyle::LineAndPoints, &|b| b.token.mean_cosine),
        line("token path, shuffled", SeriesStyle::Line, &|b| b.token.shuffled_cosine),
        line("text so far", SeriesStyle::LineAndPoints, &|b| {
            b.text_so_far.mean_cosine
        }),
        line("text so far, shuffled", SeriesStyle::Line, &|b| {
            b.text_so_far.shuffled_cosine
        }),
    ];
    let skipped = if from > 0 { " (first left out)" } else { "" };
    let plot = LinePlot {
        title: "Does the last step predict the next?".into(),
        subtitle: ctx.subtitle(&format!("{what}{skipped} · {} shuffles, seed {}", p.shuffles, p.seed))?,
        x_label: "block".into(),
        y_label: "mean cos(step, next step) of the residual stream".into(),
        series,
        log_x: false,
        log_y: false,
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: (1200, 800),
    })
}
