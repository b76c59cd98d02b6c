//! The parentheses-transformer figures of essay section 7 ("What lets it work: syntax,
//! meaning space"): a tiny GPT-2 (the project's own model code, 2 blocks, 8 heads,
//! feature length 128) trained here on balanced parentheses; what it predicts after two
//! sequences and how a 1-block model loses count on long ones (checked over 1000 fresh
//! sequences), and its most likely completions of longer and longer runs of "(". Training lives in [`crate::experiments::parens`]; the
//! weights are cached in data/cache/trained.
//!
//! Budget: the figure parameter `budget` is "default" (a few minutes on 2 CPU cores) or
//! "full" (closer to the essay's ~10M examples; hours on a CPU). Its default value
//! comes from the environment variable `GPT2_EXPLORER_BUDGET` (unset: "default"), so
//! `GPT2_EXPLORER_BUDGET=full make figures` builds the essay-sized version; in a
//! notebook pass `json!({"budget": "full"})`. Every caption states the budget used.

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::error::Result;
use crate::experiments::parens::{self, GrammarCheck, ParensConfig, ParensModel, TOKENS};
use crate::plot::{Colormap, Heatmap, LinePlot, Panels, Series, SeriesStyle, Span, TextPanel, ValueFormat};
use crate::train::TrainCache;

const SECTION: &str = super::sections::SYNTAX_AND_MEANING;

/// The budget named by `GPT2_EXPLORER_BUDGET` ("default" when unset).
pub fn budget_from_env() -> String {
    std::env::var("GPT2_EXPLORER_BUDGET").unwrap_or_else(|_| "default".into())
}

/// The training budget ("default" or "full") and the sequences to read the model on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextTokenParams {
    pub budget: String,
    pub sequences: Vec<String>,
}

/// The training budget, the longest run of "(" to complete, and the beam width.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionsParams {
    pub budget: String,
    pub longest: usize,
    pub beam: usize,
}

/// Sequences read for the grammar check of `parens-next-token` (drawn like the
/// training data, from seed [`CHECK_SEED`], a stream training never uses).
pub const CHECK_SEQUENCES: usize = 1000;
/// Seed of the grammar check's sequences.
pub const CHECK_SEED: u64 = 1000;

/// Section 7 figures.
pub fn section7() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "parens-next-token",
            SECTION,
            Made::Trained,
            "A small transformer (2 blocks, 8 heads, feature length 128) trained here on balanced parentheses: after each position of two sequences, its probabilities for \"(\", \")\" and End; beside it, a 1-block model trained with the same budget (the essay found that one block could not learn the language; here it learns most of it, but slips more). Both get these short sequences right. The bottom row reads both over 1000 fresh sequences like the training data: the probability put on tokens that are not allowed next, by position. The legend counts each model's errors (less than 90% on the allowed tokens); the subtitle states the training budget and the 1-block model's worst slip.",
            || NextTokenParams { budget: budget_from_env(), sequences: vec!["(())()".into(), "((()))()".into()] },
            next_token,
        ),
        FigureSpec::new(
            "parens-completions",
            SECTION,
            Made::Trained,
            "The trained 2-block parentheses transformer's most likely completions (beam search for the most probable continuation that ends) of longer and longer runs of \"(\", up to the longest that fits its context, each checked by a plain counter: is it balanced? As in the essay, it is right up to a certain length and then starts to fail. The subtitle lists where the 1-block model fails.",
            || CompletionsParams { budget: budget_from_env(), longest: 19, beam: 8 },
            completions,
        ),
    ]
}

/// Every parentheses figure.
pub fn figures() -> Vec<FigureSpec> {
    section7()
}

fn model(budget: &str, n_layer: usize) -> Result<ParensModel> {
    let cfg = ParensConfig::named(budget, n_layer)?;
    parens::train_model(&cfg, &TrainCache::default())
}

fn blocks(m: &ParensModel) -> String {
    format!(
        "{} block{}",
        m.config.n_layer,
        if m.config.n_layer == 1 { "" } else { "s" }
    )
}

fn next_token(_ctx: &Ctx, p: &NextTokenParams) -> Result<Figure> {
    let seqs = &p.sequences;
    let models = [model(&p.budget, 2)?, model(&p.budget, 1)?];
    let checks = [
        parens::check_grammar(&models[0], CHECK_SEED, CHECK_SEQUENCES)?,
        parens::check_grammar(&models[1], CHECK_SEED, CHECK_SEQUENCES)?,
    ];
    let mut panel_titles = Vec::new();
    let mut plots = Vec::new();
    // Heat-map rows fill the probabilities; grammar-check rows (sequence "sampled")
    // fill the mean and worst probability on forbidden tokens at that position.
    let mut table = Table::new(&[
        "blocks",
        "sequence",
        "position",
        "token",
        "p_open",
        "p_close",
        "p_end",
        "mean_forbidden",
        "worst_forbidden",
    ]);
    // One row per sequence, the two models side by side.
    for s in seqs {
        let ids = parens::parse(s)?;
        for m in &models {
            let probs = m.next_probs(&ids)?; // T rows of 3
            let mut values = Vec::with_capacity(3 * ids.len());
            for tok in 0..3 {
                values.extend(probs.iter().map(|p| p[tok]));
            }
            for (pos, p) in probs.iter().enumerate() {
                table.push(vec![
                    m.config.n_layer.to_string(),
                    s.clone(),
                    (pos + 1).to_string(),
                    s[pos..pos + 1].to_string(),
                    p[0].to_string(),
                    p[1].to_string(),
                    p[2].to_string(),
                    String::new(),
                    String::new(),
                ]);
            }
            panel_titles.push(format!("{} · {s}", blocks(m)));
            plots.push(Plot::Heatmap(Heatmap {
                rows: 3,
                cols: ids.len(),
                values,
                row_labels: TOKENS.iter().map(|t| t.to_string()).collect(),
                col_labels: s.chars().map(|c| c.to_string()).collect(),
                x_label: "sequence so far (up to and including this token)".into(),
                y_label: "next token".into(),
                colormap: Colormap::Viridis,
                range: Some((0.0, 1.0)),
                annotate: ValueFormat::Percent(0),
                colorbar: false,
                stretch: true,
                ..Default::default()
            }));
        }
    }
    // The grammar check: mean and worst probability on forbidden tokens by position.
    let series = |pick: fn(&GrammarCheck) -> &Vec<f64>| -> Vec<Series> {
        models
            .iter()
            .zip(&checks)
            .map(|(m, c)| Series {
                name: format!(
                    "{}: {} errors, mean {:.3}%",
                    blocks(m),
                    c.errors,
                    100.0 * c.mean_forbidden()
                ),
                points: pick(c)
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| ((i + 1) as f64, v.max(1e-6)))
                    .collect(),
                style: SeriesStyle::LineAndPoints,
            })
            .collect()
    };
    let forbidden_plot = |pick: fn(&GrammarCheck) -> &Vec<f64>| {
        Plot::Lines(LinePlot {
            x_label: "position in the sequence".into(),
            y_label: "probability (log)".into(),
            series: series(pick),
            log_y: true,
            ..Default::default()
        })
    };
    panel_titles.push(format!(
        "mean on forbidden tokens ({CHECK_SEQUENCES} sequences, {} positions)",
        checks[0].positions
    ));
    plots.push(forbidden_plot(|c| &c.forbidden_by_position));
    panel_titles.push("worst case at each position".into());
    plots.push(forbidden_plot(|c| &c.worst_by_position));
    for (m, c) in models.iter().zip(&checks) {
        for (i, (mean, worst)) in c.forbidden_by_position.iter().zip(&c.worst_by_position).enumerate() {
            table.push(vec![
                m.config.n_layer.to_string(),
                "sampled".into(),
                (i + 1).to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                mean.to_string(),
                worst.to_string(),
            ]);
        }
    }
    let worst_1 = &checks[1];
    let panels = Panels {
        title: format!(
            "What comes next in a parentheses sequence? 2 blocks: {} errors, 1 block: {}",
            checks[0].errors, checks[1].errors
        ),
        subtitle: format!(
            "budget \"{}\": {}; an error: less than {:.0}% on allowed tokens. 1 block's worst: {:.0}% on forbidden tokens after {}",
            p.budget.as_str(),
            models[0].config.describe().replacen("2 blocks, ", "2 or 1 blocks, ", 1),
            100.0 * parens::ERROR_BELOW,
            100.0 * worst_1.worst,
            parens::render(&worst_1.worst_prefix),
        ),
        panel_titles,
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: (1200, 400 + 330 * (seqs.len() as u32 + 1)),
    })
}

/// The most likely completion of a run of `opens` "(".
struct Run {
    opens: usize,
    /// The tokens added, End last (empty when no continuation ends within the context).
    added: Vec<i64>,
    balanced: bool,
    probability: f64,
}

/// The most likely completion of each run of 1..=`longest` "(" and whether it is balanced.
fn completion_runs(m: &ParensModel, longest: usize, beam: usize) -> Result<Vec<Run>> {
    (1..=longest)
        .map(|opens| {
            let prefix = vec![parens::OPEN; opens];
            let (added, probability) = m.complete(&prefix, beam)?.unwrap_or_default();
            let balanced = parens::is_balanced_completion(&prefix, &added);
            Ok(Run {
                opens,
                added,
                balanced,
                probability,
            })
        })
        .collect()
}

/// "balanced", or what is wrong: "WRONG: 2 left open", "WRONG: closes 1 too many".
fn verdict(prefix: &[i64], added: &[i64], ok: bool) -> String {
    if ok {
        return "balanced".into();
    }
    if added.is_empty() {
        return "WRONG: never ends".into();
    }
    let mut depth = 0i64;
    for &t in prefix.iter().chain(added) {
        match t {
            parens::OPEN => depth += 1,
            parens::CLOSE => depth -= 1,
            _ => break,
        }
        if depth < 0 {
            return "WRONG: closes one too many".into();
        }
    }
    format!("WRONG: ends with {depth} left open")
}

/// "4, 5, 9" or "none".
fn failed_runs(runs: &[Run]) -> String {
    let bad: Vec<String> = runs
        .iter()
        .filter(|r| !r.balanced)
        .map(|r| r.opens.to_string())
        .collect();
    if bad.is_empty() {
        "none".into()
    } else {
        bad.join(", ")
    }
}

fn completions(_ctx: &Ctx, p: &CompletionsParams) -> Result<Figure> {
    let m = model(&p.budget, 2)?;
    let one = model(&p.budget, 1)?;
    // n "(" need n ")" and End: at most (max_len - 1) / 2 opens fit the context.
    let longest = p.longest.max(1).min((m.config.max_len - 1) / 2);
    let runs = completion_runs(&m, longest, p.beam)?;
    let runs_one = completion_runs(&one, longest, p.beam)?;
    let mut list = Vec::new();
    let mut table = Table::new(&["opens", "completion", "balanced", "probability", "balanced_1_block"]);
    for (run, one) in runs.iter().zip(&runs_one) {
        let prefix = vec![parens::OPEN; run.opens];
        let shown = if run.added.is_empty() {
            "(no End within the context)".to_string()
        } else {
            parens::render(&run.added)
        };
        list.push(vec![
            Span::prompt(parens::render(&prefix)),
            if run.balanced {
                Span::generated(shown.clone())
            } else {
                Span::highlight(shown.clone())
            },
            Span::plain(format!(
                "   {} (p = {:.1e})",
                verdict(&prefix, &run.added, run.balanced),
                run.probability
            )),
        ]);
        table.push(vec![
            run.opens.to_string(),
            shown,
            run.balanced.to_string(),
            run.probability.to_string(),
            one.balanced.to_string(),
        ]);
    }
    let right_up_to = runs.iter().take_while(|r| r.balanced).count();
    let plot = TextPanel {
        title: "Most likely completions of longer and longer runs of \"(\"".into(),
        subtitle: format!(
            "budget \"{}\": {}. Right up to {right_up_to} \"(\"; wrong at {}. The 1-block model is wrong at {}",
            p.budget.as_str(),
            m.config.describe(),
            failed_runs(&runs),
            failed_runs(&runs_one),
        ),
        paragraphs: vec![],
        list,
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: (1200, 300 + 40 * longest as u32),
    })
}
