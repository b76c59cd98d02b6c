//! Beyond the essay, after its section 6 ("Inside ChatGPT"): experiments that change
//! the model while it runs and so say which parts matter, not only what is there.
//! `head-ablation` (the essay prompt's top-5 before and after knocking out the head whose
//! loss hurts most, with every head's damage), `logit-attribution` (the top token's
//! logit split into what the embeddings, each block's attention and MLP, and each head
//! wrote), `activation-patching` (where a name lives: the share of the answer restored by
//! copying the clean run into a corrupted one at each block and position) and
//! `induction-heads` (every head's previous-token, duplicate-token and induction score,
//! for each model family that is here). Data from [`crate::intervene`] and
//! [`crate::analysis::attribution`] / [`crate::analysis::heads`].

use serde::{Deserialize, Serialize};

use super::registry::{Ctx, FigureSpec, Made};
use super::{Figure, Plot, Table};
use crate::analysis::attribution::logit_attribution;
use crate::analysis::heads::{detect_heads, HeadKind, HeadScores};
use crate::error::Result;
use crate::intervene::{self, Ablation, PatchHook, Site};
use crate::plot::{BarChart, Colormap, Heatmap, Panels, ValueFormat};
use crate::sampling::top_k;
use crate::LoadedModel;

/// The gallery section of the figures beyond the essay (also `logit-lens`, chapter 6).
pub(super) const SECTION: &str = super::sections::EXPERIMENTS;

/// The figures of this module, in the order a class meets them (notebook 06b).
pub fn figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "head-ablation",
            SECTION,
            Made::Model,
            "Knock out one attention head at a time on “{prompt}”: how far the log-probability of the model's top next token falls without each head (left), and the top {top} before and after knocking out the head that hurts most.",
            AblationParams::default,
            head_ablation,
        ),
        FigureSpec::new(
            "logit-attribution",
            SECTION,
            Made::Model,
            "Direct logit attribution on “{prompt}”: the top next token's logit split into what the embeddings, each block's attention and MLP, and the final norm's bias wrote (left), and the {top_heads} heads that wrote most (right).",
            AttributionParams::default,
            attribution,
        ),
        FigureSpec::new(
            "activation-patching",
            SECTION,
            Made::Model,
            "Activation patching: “{clean}” against “{corrupt}”; the share of logit({answer}) - logit({wrong}) restored by copying the clean run's residual stream (and attention and MLP outputs) into the corrupted run at one block and position.",
            PatchingParams::default,
            patching,
        ),
        FigureSpec::new(
            "induction-heads",
            SECTION,
            Made::Model,
            "Every head's previous-token, duplicate-token and induction score on {tokens} random tokens repeated twice (seed {seed}): the share of its attention that falls where such a head looks; each model family that is on this computer.",
            HeadsParams::default,
            induction_heads,
        ),
    ]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AblationParams {
    pub prompt: String,
    /// Rows of the before/after tables.
    pub top: usize,
}

impl Default for AblationParams {
    fn default() -> Self {
        AblationParams {
            prompt: "The best thing about AI is its ability to".into(),
            top: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionParams {
    pub prompt: String,
    /// How many heads (largest |value|) the right panel shows.
    pub top_heads: usize,
}

impl Default for AttributionParams {
    fn default() -> Self {
        AttributionParams {
            prompt: "The best thing about AI is its ability to".into(),
            top_heads: 12,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatchingParams {
    pub clean: String,
    pub corrupt: String,
    pub answer: String,
    pub wrong: String,
}

impl Default for PatchingParams {
    fn default() -> Self {
        PatchingParams {
            clean: "When Mary and John went to the store, John gave a drink to".into(),
            corrupt: "When Mary and John went to the store, Mary gave a drink to".into(),
            answer: " Mary".into(),
            wrong: " John".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadsParams {
    /// Random tokens before the repeat (2 x this in all).
    pub tokens: usize,
    pub seed: u64,
}

impl Default for HeadsParams {
    fn default() -> Self {
        HeadsParams { tokens: 50, seed: 0 }
    }
}

/// The top tokens as (id, label, probability).
type TopRows = Vec<(u32, String, f64)>;

fn top_bars(lm: &LoadedModel, logits: &tch::Tensor, k: usize, mark: u32) -> Result<(BarChart, TopRows)> {
    let top = top_k(logits, k, &lm.tokenizer)?;
    let rows: Vec<(u32, String, f64)> = top
        .iter()
        .map(|t| (t.id, lm.tokenizer.token_label(t.id), t.prob))
        .collect();
    let bars = BarChart {
        title: String::new(),
        subtitle: String::new(),
        labels: rows.iter().map(|r| r.1.clone()).collect(),
        values: rows.iter().map(|r| r.2).collect(),
        value_format: ValueFormat::Percent(1),
        x_label: "probability".into(),
        highlight: rows.iter().position(|r| r.0 == mark).into_iter().collect(),
    };
    Ok((bars, rows))
}

fn head_ablation(ctx: &Ctx, p: &AblationParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let info = lm.model.info();
    let plain = lm.model.logits(&ids)?.get(-1); // (V)
    let target = plain.argmax(0, false).int64_value(&[]) as u32;
    let base = plain.log_softmax(-1, tch::Kind::Double).double_value(&[target as i64]);
    let scan = intervene::head_ablation_scan(&lm.model, &ids, target)?; // (L, H)
    let drops: Vec<f64> = scan.iter().flatten().map(|lp| base - lp).collect();
    let worst = drops
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    let (wl, wh) = (worst / info.n_head, worst % info.n_head);
    let site = Site::Head { layer: wl, head: wh };
    let mut ablate = Ablation::zero(&lm.model, &[site])?;
    let after = lm.model.run_with_cache(&ids, &mut ablate)?.get(-1); // (V)
    let label = lm.tokenizer.token_label(target);
    let p_after = after.softmax(-1, tch::Kind::Double).double_value(&[target as i64]);
    let grid = Heatmap {
        title: String::new(),
        subtitle: String::new(),
        rows: info.n_layer,
        cols: info.n_head,
        values: drops.clone(),
        row_labels: (0..info.n_layer).map(|l| format!("block {l}")).collect(),
        col_labels: (0..info.n_head).map(|h| h.to_string()).collect(),
        x_label: "head".into(),
        y_label: "block".into(),
        colormap: Colormap::BlueWhiteRed,
        range: Some({
            let m = drops.iter().fold(0.0f64, |a, d| a.max(d.abs())).max(1e-6);
            (-m, m)
        }),
        colorbar_label: "nats lost (negative: the head was in the way)".into(),
        stretch: true,
        ..Default::default()
    };
    let (before_bars, before) = top_bars(lm, &plain, p.top, target)?;
    let (after_bars, after_rows) = top_bars(lm, &after, p.top, target)?;
    let mut table = Table::new(&["what", "block", "head", "token_id", "token", "value"]);
    for (i, d) in drops.iter().enumerate() {
        table.push(vec![
            "logprob_drop".into(),
            (i / info.n_head).to_string(),
            (i % info.n_head).to_string(),
            target.to_string(),
            label.clone(),
            d.to_string(),
        ]);
    }
    for (what, rows) in [("prob_before", &before), ("prob_after", &after_rows)] {
        for (id, tok, prob) in rows {
            table.push(vec![
                what.into(),
                wl.to_string(),
                wh.to_string(),
                id.to_string(),
                tok.clone(),
                prob.to_string(),
            ]);
        }
    }
    let panels = Panels {
        title: format!("Knocking out one head at a time: {site} matters most for {label}"),
        subtitle: ctx.subtitle(&format!(
            "log p({label}) {base:.2} with every head; {:.2} without {site}",
            base - drops[worst]
        ))?,
        panel_titles: vec![
            format!("fall of log p({label}) without each head"),
            format!(
                "every head working: p({label}) {:.1}%",
                100.0 * plain.softmax(-1, tch::Kind::Double).double_value(&[target as i64])
            ),
            format!("without {site}: p({label}) {:.1}%", 100.0 * p_after),
        ],
        columns: 3,
    };
    let w = (900 + 40 * info.n_head as u32).min(2400);
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Heatmap(grid), Plot::Bars(before_bars), Plot::Bars(after_bars)],
        },
        table,
        size: (w, 760),
    })
}

fn attribution(ctx: &Ctx, p: &AttributionParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let last = ids.len() - 1;
    let target = lm.model.logits(&ids)?.get(-1).argmax(0, false).int64_value(&[]) as u32;
    let a = logit_attribution(&lm.model, &ids, last, target)?;
    let label = lm.tokenizer.token_label(target);
    let mut heads = a.heads.clone();
    heads.sort_by(|x, y| y.value.abs().total_cmp(&x.value.abs()));
    heads.truncate(p.top_heads.max(1));
    let bars = |terms: &[crate::analysis::attribution::Term]| BarChart {
        title: String::new(),
        subtitle: String::new(),
        labels: terms.iter().map(|t| t.name.clone()).collect(),
        values: terms.iter().map(|t| t.value).collect(),
        value_format: ValueFormat::Decimal(2),
        x_label: format!("contribution to the logit of {label}"),
        highlight: Vec::new(),
    };
    let mut table = Table::new(&["kind", "name", "value"]);
    table.push(vec!["logit".into(), label.clone(), a.logit.to_string()]);
    for t in &a.components {
        table.push(vec!["component".into(), t.name.clone(), t.value.to_string()]);
    }
    for t in &a.heads {
        table.push(vec!["head".into(), t.name.clone(), t.value.to_string()]);
    }
    let panels = Panels {
        title: format!("Who wrote the logit of {label}?"),
        subtitle: ctx.subtitle(&format!("logit {:.2}; the components sum to {:.2}", a.logit, a.total()))?,
        panel_titles: vec![
            "embeddings, blocks and the final norm's bias".into(),
            format!("the {} heads that wrote most (z_h W_O^h)", heads.len()),
        ],
        columns: 2,
    };
    let h = (240 + 22 * a.components.len() as u32).clamp(700, 1800);
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Bars(bars(&a.components)), Plot::Bars(bars(&heads))],
        },
        table,
        size: (1500, h),
    })
}

fn patching(ctx: &Ctx, p: &PatchingParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let clean = lm.encode_prompt(&p.clean)?;
    let corrupt = lm.encode_prompt(&p.corrupt)?;
    let answer = lm.tokenizer.single_token(&p.answer, "answer")?;
    let wrong = lm.tokenizer.single_token(&p.wrong, "wrong answer")?;
    let metric = intervene::logit_diff(answer, wrong);
    let info = lm.model.info();
    let toks = lm.tokenizer.labels(&clean);
    let mut plots = Vec::new();
    let mut titles = Vec::new();
    let mut table = Table::new(&["hook", "block", "position", "token", "metric", "restored"]);
    let mut header = String::new();
    for hook in [PatchHook::ResidPre, PatchHook::AttnOut, PatchHook::MlpOut] {
        let r = intervene::patch_sweep(&lm.model, &clean, &corrupt, hook, &metric)?;
        header = format!("logit difference: clean {:.2}, corrupted {:.2}", r.clean, r.corrupt);
        for (l, row) in r.restored.iter().enumerate() {
            for (t, v) in row.iter().enumerate() {
                table.push(vec![
                    hook.name().into(),
                    l.to_string(),
                    t.to_string(),
                    toks[t].clone(),
                    r.patched[l][t].to_string(),
                    v.to_string(),
                ]);
            }
        }
        // Blocks bottom to top, as the residual stream flows.
        let values: Vec<f64> = r.restored.iter().rev().flatten().copied().collect();
        plots.push(Plot::Heatmap(Heatmap {
            title: String::new(),
            subtitle: String::new(),
            rows: info.n_layer,
            cols: clean.len(),
            values,
            row_labels: (0..info.n_layer).rev().map(|l| l.to_string()).collect(),
            col_labels: toks.clone(),
            x_label: "position patched".into(),
            y_label: "block".into(),
            colormap: Colormap::BlueWhiteRed,
            range: Some((-1.0, 1.0)),
            colorbar_label: "share restored".into(),
            stretch: true,
            ..Default::default()
        }));
        titles.push(match hook {
            PatchHook::ResidPre => "residual stream entering the block".to_string(),
            PatchHook::AttnOut => "attention output".to_string(),
            PatchHook::MlpOut => "MLP output".to_string(),
        });
    }
    let panels = Panels {
        title: format!("Where does {} live? Activation patching", p.answer.trim()),
        subtitle: ctx.subtitle(&header)?,
        panel_titles: titles,
        columns: 3,
    };
    let w = (3 * (140 + 46 * clean.len() as u32)).clamp(1200, 2400);
    let h = (260 + 22 * info.n_layer as u32).clamp(600, 1200);
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: (w, h),
    })
}

/// The other family, loaded offline when it is here (for the side-by-side panels).
fn other_family(lm: &LoadedModel) -> (String, Result<LoadedModel>) {
    let name = match lm.model.info().family {
        crate::model::Family::Gpt2 => "smollm2",
        crate::model::Family::Llama => "gpt2",
    };
    (name.to_string(), LoadedModel::load(name, true))
}

fn heads_grid(scores: &HeadScores, kind: HeadKind) -> Plot {
    Plot::Heatmap(Heatmap {
        title: String::new(),
        subtitle: String::new(),
        rows: scores.n_layer,
        cols: scores.n_head,
        values: scores.of(kind).iter().flatten().copied().collect(),
        row_labels: (0..scores.n_layer).map(|l| l.to_string()).collect(),
        col_labels: (0..scores.n_head).map(|h| h.to_string()).collect(),
        x_label: "head".into(),
        y_label: "block".into(),
        colormap: Colormap::Viridis,
        range: Some((0.0, 1.0)),
        colorbar_label: "score".into(),
        stretch: true,
        ..Default::default()
    })
}

fn induction_heads(ctx: &Ctx, p: &HeadsParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let (other_name, other) = other_family(lm);
    let mut models: Vec<(String, &LoadedModel)> = vec![(lm.name.clone(), lm)];
    if let Ok(o) = &other {
        models.push((other_name.clone(), o));
    }
    let mut plots = Vec::new();
    let mut titles = Vec::new();
    let mut table = Table::new(&["model", "kind", "block", "head", "score"]);
    let mut best = Vec::new();
    for (name, m) in &models {
        let scores = detect_heads(&m.model, p.tokens, p.seed)?;
        for kind in HeadKind::ALL {
            for (l, row) in scores.of(kind).iter().enumerate() {
                for (h, s) in row.iter().enumerate() {
                    table.push(vec![
                        name.clone(),
                        kind.name().into(),
                        l.to_string(),
                        h.to_string(),
                        s.to_string(),
                    ]);
                }
            }
            let (l, h, s) = scores.best(kind);
            titles.push(format!("{name}: {} (best L{l}H{h} {s:.2})", kind.name()));
            plots.push(heads_grid(&scores, kind));
        }
        let (l, h, s) = scores.best(HeadKind::Induction);
        best.push(format!("{name}: best induction head L{l}H{h} ({s:.2})"));
    }
    if other.is_err() {
        best.push(format!(
            "{other_name} is not on this computer (--model {other_name} once online adds it)"
        ));
    }
    let columns = 3;
    let panels = Panels {
        title: "Previous-token, duplicate-token and induction heads".into(),
        subtitle: ctx.subtitle(&best.join(" · "))?,
        panel_titles: titles,
        columns,
    };
    let rows = plots.len().div_ceil(columns) as u32;
    Ok(Figure {
        plot: Plot::Grid { panels, plots },
        table,
        size: (1800, (160 + 560 * rows).min(1800)),
    })
}
