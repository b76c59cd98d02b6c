//! What a trained model does when it is asked, rather than what is inside it: the
//! essay's "Beyond basic training" (an instruction-tuned model with and without its
//! chat template, `chat-template`; learning a task from examples in the prompt,
//! `icl-accuracy`) and the probes of "What really lets ChatGPT work" (agreement,
//! nesting and syllogisms as choices between continuations, `syntax-probes`). Data from
//! [`crate::chat`], [`crate::icl`] and [`crate::probes`]; notebooks 09 and 10 call the
//! plotting functions ([`icl_figure`], [`probes_figure`]) on results they already have.

use serde::{Deserialize, Serialize};

use super::registry::{Ctx, FigureSpec, Made};
use super::{Figure, Plot, Table};
use crate::chat::{self, ChatTemplate, Message};
use crate::error::Result;
use crate::icl::{self, IclCurve, Task};
use crate::plot::{BarChart, LinePlot, Panels, Series, SeriesStyle, Span, TextPanel, ValueFormat};
use crate::probes::{self, ProbeReport, ProbeSet};
use crate::LoadedModel;

const BEYOND: &str = super::sections::BEYOND_BASIC_TRAINING;
const SYNTAX: &str = super::sections::SYNTAX_AND_MEANING;

/// The figures of "Beyond basic training" (placed before section 7's).
pub fn training_figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "chat-template",
            BEYOND,
            Made::Model,
            "“{question}” given to the model as plain text to continue (left) and laid out in the model's own chat template (right), greedy, at most {max_new_tokens} tokens.",
            ChatParams::default,
            chat_template,
        ),
        FigureSpec::new(
            "icl-accuracy",
            BEYOND,
            Made::Model,
            "In-context learning: the share of questions the model answers right (greedy) and the mean probability of the right answer, against the number of worked examples in its prompt; tasks {tasks} (data/icl/).",
            IclParams::default,
            icl_accuracy,
        ),
    ]
}

/// The probes of section 7 (placed after the parentheses figures).
pub fn syntax_figures() -> Vec<FigureSpec> {
    vec![FigureSpec::new(
        "syntax-probes",
        SYNTAX,
        Made::Model,
        "Grammar the model follows without being told the rules: for each probe set ({sets}; data/probes/), the share of items where it gives the right continuation a higher probability than every wrong one, and, for the set {detail}, the right one's share of the probability item by item.",
        ProbesParams::default,
        syntax_probes,
    )]
}

/// A question and how long the answers may grow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatParams {
    pub question: String,
    pub max_new_tokens: usize,
}

impl Default for ChatParams {
    fn default() -> Self {
        ChatParams {
            question: "What is the capital of France?".into(),
            max_new_tokens: 40,
        }
    }
}

/// Tasks (names in `data/icl/`), numbers of examples, and the order examples are
/// drawn in (`seed`: none keeps the file's order).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IclParams {
    pub tasks: Vec<String>,
    pub shots: Vec<usize>,
    pub seed: Option<u64>,
}

impl Default for IclParams {
    fn default() -> Self {
        IclParams {
            tasks: vec!["capitals".into(), "antonyms".into()],
            shots: vec![0, 1, 2, 4, 8, 16],
            seed: None,
        }
    }
}

/// Probe sets (names in `data/probes/`) and the one shown item by item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbesParams {
    pub sets: Vec<String>,
    pub detail: String,
}

impl Default for ProbesParams {
    fn default() -> Self {
        ProbesParams {
            sets: vec!["agreement".into(), "nesting".into(), "syllogisms".into()],
            detail: "agreement".into(),
        }
    }
}

fn chat_template(ctx: &Ctx, p: &ChatParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let plain = chat::complete(lm, &p.question, p.max_new_tokens, None)?;
    let mut table = Table::new(&["mode", "prompt", "reply", "ended"]);
    table.push(vec![
        "plain".into(),
        plain.prompt.clone(),
        plain.text.clone(),
        plain.ended.to_string(),
    ]);
    let left = TextPanel {
        title: String::new(),
        subtitle: format!("{} prompt tokens, greedy", plain.prompt_tokens),
        paragraphs: vec![vec![
            Span::prompt(plain.prompt.clone()),
            Span::generated(plain.text.clone()),
        ]],
        list: vec![],
    };
    let right = match ChatTemplate::of_model(lm) {
        Ok(t) => {
            let c = chat::complete(
                lm,
                &t.format(&[Message::user(&p.question)], true),
                p.max_new_tokens,
                Some(t.end_of_turn()),
            )?;
            table.push(vec![
                "chat template".into(),
                c.prompt.clone(),
                c.text.clone(),
                c.ended.to_string(),
            ]);
            TextPanel {
                title: String::new(),
                subtitle: format!(
                    "{} prompt tokens; {}",
                    c.prompt_tokens,
                    if c.ended {
                        "the model ended its turn itself"
                    } else {
                        "cut at the token limit"
                    }
                ),
                paragraphs: vec![vec![Span::prompt(c.prompt.clone()), Span::generated(c.text.clone())]],
                list: vec![],
            }
        }
        Err(why) => {
            table.push(vec![
                "chat template".into(),
                String::new(),
                format!("(none: {why})"),
                "false".into(),
            ]);
            TextPanel {
                title: String::new(),
                subtitle: String::new(),
                paragraphs: vec![
                    vec![Span::highlight("This model has no chat template.")],
                    vec![Span::plain(why.to_string())],
                ],
                list: vec![],
            }
        }
    };
    let panels = Panels {
        title: format!("“{}”", p.question),
        subtitle: ctx.subtitle("grey: the prompt as the model sees it; black: what it wrote")?,
        panel_titles: vec![
            "as plain text to continue".into(),
            "in the model's chat template".into(),
        ],
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Text(left), Plot::Text(right)],
        },
        table,
        size: (1500, 560),
    })
}

fn icl_accuracy(ctx: &Ctx, p: &IclParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let curves = p
        .tasks
        .iter()
        .map(|name| icl::evaluate(lm, &Task::load(name)?, &p.shots, p.seed))
        .collect::<Result<Vec<_>>>()?;
    icl_figure(&curves, lm)
}

/// The in-context learning curves of one model: accuracy (left) and mean probability
/// of the right answer (right) against the number of examples in the prompt.
pub fn icl_figure(curves: &[IclCurve], lm: &LoadedModel) -> Result<Figure> {
    let mut table = Table::new(&["task", "shots", "pair", "answer", "logprob", "correct"]);
    for c in curves {
        for it in &c.items {
            table.push(vec![
                c.task.clone(),
                it.shots.to_string(),
                it.pair.to_string(),
                it.answer.clone(),
                it.logprob.to_string(),
                it.correct.to_string(),
            ]);
        }
    }
    let series = |values: fn(&IclCurve) -> &Vec<f64>| -> Vec<Series> {
        curves
            .iter()
            .map(|c| Series {
                name: c.task.clone(),
                points: c.shots.iter().zip(values(c)).map(|(&k, &v)| (k as f64, v)).collect(),
                style: SeriesStyle::LineAndPoints,
            })
            .collect()
    };
    let plot = |y_label: &str, values: fn(&IclCurve) -> &Vec<f64>| LinePlot {
        title: String::new(),
        subtitle: String::new(),
        x_label: "worked examples in the prompt".into(),
        y_label: y_label.into(),
        series: series(values),
        log_x: false,
        log_y: false,
    };
    let pairs: Vec<String> = curves
        .iter()
        .map(|c| format!("{} ({} pairs)", c.task, c.items.len() / c.shots.len().max(1)))
        .collect();
    let panels = Panels {
        title: "Learning from the prompt: more examples, better answers".into(),
        subtitle: format!("{} · {} · the weights never change", pairs.join(", "), lm.caption()),
        panel_titles: vec![
            "share answered right (greedy, exact)".into(),
            "mean probability of the right answer".into(),
        ],
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![
                Plot::Lines(plot("accuracy", |c| &c.accuracy)),
                Plot::Lines(plot("p(answer)", |c| &c.mean_prob)),
            ],
        },
        table,
        size: (1500, 650),
    })
}

fn syntax_probes(ctx: &Ctx, p: &ProbesParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let reports = p
        .sets
        .iter()
        .map(|name| probes::run(lm, &ProbeSet::load(name)?))
        .collect::<Result<Vec<_>>>()?;
    probes_figure(&reports, &p.detail, lm)
}

/// Probe results of one model: accuracy per set and kind (left; the chance level of a
/// kind is 1 / number of alternatives), and the right continuation's share of the
/// probability for every item of the set `detail` (right; wrong answers highlighted).
/// `detail` must be one of the reports' sets.
pub fn probes_figure(reports: &[ProbeReport], detail: &str, lm: &LoadedModel) -> Result<Figure> {
    let mut table = Table::new(&[
        "set",
        "kind",
        "prompt",
        "right",
        "wrong",
        "logprob_right",
        "logprob_wrong_best",
        "share_right",
        "correct",
    ]);
    let (mut labels, mut values) = (Vec::new(), Vec::new());
    for r in reports {
        for (kind, right, n) in r.by_kind() {
            let alts = r
                .results
                .iter()
                .find(|x| x.item.kind == kind)
                .map_or(2, |x| x.alternatives.scored.len());
            labels.push(format!(
                "{} · {kind} ({n} items, chance {:.0}%)",
                r.set,
                100.0 / alts as f64
            ));
            values.push(right as f64 / n as f64);
        }
        for x in &r.results {
            table.push(vec![
                r.set.clone(),
                x.item.kind.clone(),
                x.item.prompt.clone(),
                x.item.right.clone(),
                x.item.wrong.join("|"),
                x.alternatives.scored[0].logprob.to_string(),
                (x.alternatives.scored[0].logprob - x.margin).to_string(),
                x.alternatives.share[0].to_string(),
                x.correct.to_string(),
            ]);
        }
    }
    let shown = reports
        .iter()
        .find(|r| r.set == detail)
        .ok_or_else(|| crate::Error::BadParameter {
            origin: "figure `syntax-probes`".into(),
            key: "detail".into(),
            msg: format!(
                "`{detail}` is not one of the sets shown ({})",
                reports.iter().map(|r| r.set.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })?;
    let accuracy = BarChart {
        title: String::new(),
        subtitle: String::new(),
        labels,
        values,
        value_format: ValueFormat::Percent(0),
        x_label: "share of items right".into(),
        highlight: vec![],
    };
    let items = BarChart {
        title: String::new(),
        subtitle: String::new(),
        labels: shown
            .results
            .iter()
            .map(|x| format!("{} →{}", x.item.prompt, x.item.right))
            .collect(),
        values: shown.results.iter().map(|x| x.alternatives.share[0]).collect(),
        value_format: ValueFormat::Percent(0),
        x_label: "p(right) / p(right or wrong)".into(),
        highlight: shown
            .results
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.correct)
            .map(|(i, _)| i)
            .collect(),
    };
    let n = shown.results.len() as u32;
    let panels = Panels {
        title: "Does the model follow the grammar?".into(),
        subtitle: format!(
            "each item: a prompt and continuations, one right; scored by the model's probabilities · {}",
            lm.caption()
        ),
        panel_titles: vec![
            "accuracy by probe set and kind".into(),
            format!("{detail}: item by item (highlighted: wrong)"),
        ],
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Bars(accuracy), Plot::Bars(items)],
        },
        table,
        size: (1700, (300 + 26 * n).clamp(700, 1600)),
    })
}
