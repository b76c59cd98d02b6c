//! The parentheses-transformer figures of essay section 7 ("What lets it work: syntax,
//! meaning space"): a tiny GPT-2 (the project's own model code, 2 blocks, 8 heads,
//! feature length 128) trained here on balanced parentheses; what it predicts after two
//! sequences (and how a 1-block model does worse), and its most likely completions of
//! longer and longer runs of "(". Training lives in [`crate::experiments::parens`]; the
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
use crate::experiments::parens::{self, ParensConfig, ParensModel, TOKENS};
use crate::plot::{Colormap, Heatmap, Panels, Span, TextPanel, ValueFormat};
use crate::train::TrainCache;

const SECTION: &str = super::sections::SYNTAX_AND_MEANING;
const WIDE: (u32, u32) = (1200, 800);

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

/// Section 7 figures.
pub fn section7() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "parens-next-token",
            SECTION,
            Made::Trained,
            "A small transformer (2 blocks, 8 heads, feature length 128) trained here on balanced parentheses: after each position of two sequences, its probabilities for \"(\", \")\" and End. Below, a 1-block model trained with the same budget, for comparison (the essay found 1 block does worse). \"legal >= x%\" in a panel title: the least probability the model puts on the tokens allowed next, over every valid prefix of up to 8 tokens. The subtitle states the training budget.",
            || NextTokenParams { budget: budget_from_env(), sequences: vec!["(())()".into(), "((()))()".into()] },
            next_token,
        ),
        FigureSpec::new(
            "parens-completions",
            SECTION,
            Made::Trained,
            "The trained parentheses transformer's most likely completions (beam search for the most probable continuation that ends) of longer and longer runs of \"(\" (up to the longest that fits its context), each checked by a plain counter: is it balanced?",
            || CompletionsParams { budget: budget_from_env(), longest: 15, beam: 8 },
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

/// "legal >= 99.1%": the least probability the model puts on allowed next tokens, over
/// every valid prefix of up to 8 tokens.
fn quality(m: &ParensModel) -> Result<String> {
    let (_, worst, _) = parens::legal_mass(m, 8)?;
    Ok(format!("legal >= {:.1}%", 100.0 * worst))
}

fn next_token(_ctx: &Ctx, p: &NextTokenParams) -> Result<Figure> {
    let seqs = &p.sequences;
    let models = [model(&p.budget, 2)?, model(&p.budget, 1)?];
    let scores = [quality(&models[0])?, quality(&models[1])?];
    let mut panel_titles = Vec::new();
    let mut plots = Vec::new();
    let mut table = Table::new(&["blocks", "sequence", "position", "token", "p_open", "p_close", "p_end"]);
    for (m, score) in models.iter().zip(&scores) {
        for s in seqs {
            let ids = parens::parse(s)?;
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
                ]);
            }
            panel_titles.push(format!(
                "{} block{} · {s} · {score}",
                m.config.n_layer,
                if m.config.n_layer == 1 { "" } else { "s" }
            ));
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
    let panels = Panels {
        title: "What comes next in a parentheses sequence?".into(),
        subtitle: format!("budget \"{}\": {}", p.budget.as_str(), models[0].config.describe()),
        panel_titles,
        columns: seqs.len().max(1),
    };
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: WIDE,
    })
}

fn completions(_ctx: &Ctx, p: &CompletionsParams) -> Result<Figure> {
    let m = model(&p.budget, 2)?;
    // n "(" need n ")" and End: at most (max_len - 1) / 2 opens fit the context.
    let longest = p.longest.max(1).min((m.config.max_len - 1) / 2);
    let mut list = Vec::new();
    let mut table = Table::new(&["opens", "completion", "balanced", "probability"]);
    for n in 1..=longest {
        let prefix = vec![parens::OPEN; n];
        let (added, prob) = m.complete(&prefix, p.beam)?.unwrap_or_default();
        let ok = parens::is_balanced_completion(&prefix, &added);
        let shown = if added.is_empty() {
            "(no End within the context)".to_string()
        } else {
            parens::render(&added)
        };
        list.push(vec![
            Span::prompt(parens::render(&prefix)),
            if ok {
                Span::generated(shown.clone())
            } else {
                Span::highlight(shown.clone())
            },
            Span::plain(format!(
                "   {} (p = {:.2})",
                if ok { "balanced" } else { "WRONG" },
                prob
            )),
        ]);
        table.push(vec![n.to_string(), shown, ok.to_string(), prob.to_string()]);
    }
    let plot = TextPanel {
        title: "Most likely completions of longer and longer runs of \"(\"".into(),
        subtitle: format!("budget \"{}\": {}", p.budget.as_str(), m.config.describe()),
        paragraphs: vec![],
        list,
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: WIDE,
    })
}
