//! Essay section 1, "It's just adding one word at a time": the next-word table, text
//! grown by always taking the top word (and how it turns repetitive), text grown by
//! sampling at temperature 0.8 (seeds recorded), the rank/probability power law, and a
//! card for the GPT-3 quotes that cannot be reproduced here.

use serde_json::{json, Value};

use super::{Ctx, Figure, FigureSpec, Kind, Plot, Table};
use crate::error::Result;
use crate::plot::{BarChart, LinePlot, Series, SeriesStyle, Span, TextPanel, ValueFormat};
use crate::sampling::{self, Sampling, Step};
use crate::tokenizer::readable;

const SECTION: &str = "1. It's just adding one word at a time";
const PROMPT: &str = "The best thing about AI is its ability to";
const SOURCE: &str = include_str!("chapter1.rs");
const WIDE: (u32, u32) = (1200, 800);

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    let f = |id, kind, caption, params: fn() -> Value, build: fn(&Ctx) -> Result<Figure>| FigureSpec { id, section: SECTION, kind, caption, params, source: SOURCE, build };
    vec![
        f("next-word-top5", Kind::Model, "The five most likely next words after the prompt, with their probabilities.", || json!({"prompt": PROMPT, "top": 5}), next_word_top5),
        f("greedy-continuation", Kind::Model, "Text grown one word at a time, always taking the most likely word (temperature 0).", || json!({"prompt": PROMPT, "steps": 7, "temperature": 0.0}), greedy_continuation),
        f("greedy-long", Kind::Model, "A long zero-temperature continuation: always taking the top word tends to go flat and repetitive (GPT-2 soon loops; larger, newer models less so).", || json!({"prompt": PROMPT, "new_tokens": 100, "temperature": 0.0}), greedy_long),
        f("sampled-continuation", Kind::Sampled, "Text grown by sampling each word at temperature 0.8: lower-ranked words get a chance.", || json!({"prompt": PROMPT, "steps": 7, "temperature": 0.8, "seed": 1}), sampled_continuation),
        f("sampled-five", Kind::Sampled, "Five temperature-0.8 continuations of the same prompt, one per seed.", || json!({"prompt": PROMPT, "new_tokens": 30, "temperature": 0.8, "seeds": [1, 2, 3, 4, 5]}), sampled_five),
        f("rank-probability-loglog", Kind::Model, "Probability of each possible next token against its rank, on log-log axes: roughly a power law.", || json!({"prompt": PROMPT, "top": 10000}), rank_probability),
        f("sampled-long", Kind::Sampled, "One long temperature-0.8 continuation.", || json!({"prompt": PROMPT, "new_tokens": 100, "temperature": 0.8, "seed": 7}), sampled_long),
        f("gpt3-quotes", Kind::NotReproducible, "The essay's GPT-3 outputs at temperature 0 and 0.8: not reproducible here.", || json!({}), gpt3_quotes),
    ]
}

fn next_word_top5(ctx: &Ctx) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(ctx.str("prompt"))?;
    let logits = lm.model.logits(&ids)?; // (T, V)
    let top = sampling::top_k(&logits.get(-1), ctx.u64("top") as usize, &lm.tokenizer)?;
    let mut table = Table::new(&["rank", "id", "token", "prob", "logprob"]);
    for (i, t) in top.iter().enumerate() {
        table.push(vec![(i + 1).to_string(), t.id.to_string(), t.token.clone(), t.prob.to_string(), t.logprob.to_string()]);
    }
    let plot = BarChart {
        title: format!("“{}” …", ctx.str("prompt")),
        subtitle: ctx.subtitle("next-word probabilities")?,
        labels: top.iter().map(|t| readable(&t.token)).collect(),
        values: top.iter().map(|t| t.prob).collect(),
        value_format: ValueFormat::Percent(1),
        x_label: "probability".into(),
        highlight: vec![0],
    };
    Ok(Figure { plot: Plot::Bars(plot), table, size: WIDE })
}

/// Rows step, id, token, prob and the text so far, for a list of generated steps.
fn steps_table(ctx: &Ctx, steps: &[Step]) -> Result<Table> {
    let lm = ctx.model()?;
    let mut table = Table::new(&["step", "id", "token", "prob"]);
    for (i, s) in steps.iter().enumerate() {
        table.push(vec![(i + 1).to_string(), s.id.to_string(), lm.tokenizer.token_str(s.id), s.prob.to_string()]);
    }
    Ok(table)
}

/// A numbered list: the prompt and the words so far, the newest highlighted.
fn growing_list(ctx: &Ctx, title: &str, what: &str, steps: &[Step]) -> Result<Figure> {
    let lm = ctx.model()?;
    let prompt = ctx.str("prompt");
    let mut list = Vec::new();
    for n in 1..=steps.len() {
        let mut spans = vec![Span::prompt(prompt)];
        if n > 1 {
            let before: Vec<u32> = steps[..n - 1].iter().map(|s| s.id).collect();
            spans.push(Span::generated(lm.tokenizer.decode(&before)?));
        }
        spans.push(Span::highlight(lm.tokenizer.token_str(steps[n - 1].id)));
        spans.push(Span::plain(format!("   ({:.1}%)", 100.0 * steps[n - 1].prob)));
        list.push(spans);
    }
    let plot = TextPanel { title: title.into(), subtitle: ctx.subtitle(what)?, paragraphs: vec![], list };
    Ok(Figure { plot: Plot::Text(plot), table: steps_table(ctx, steps)?, size: WIDE })
}

fn run(ctx: &Ctx, n: usize, rule: Sampling) -> Result<Vec<Step>> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(ctx.str("prompt"))?;
    sampling::generate_steps(&lm.model, &ids, n, rule, |_| {})
}

fn greedy_continuation(ctx: &Ctx) -> Result<Figure> {
    let steps = run(ctx, ctx.u64("steps") as usize, Sampling::Greedy)?;
    growing_list(ctx, "Always the most likely next word", "temperature 0", &steps)
}

fn sampled_continuation(ctx: &Ctx) -> Result<Figure> {
    let rule = Sampling::new(ctx.f64("temperature"), ctx.u64("seed"))?;
    let steps = run(ctx, ctx.u64("steps") as usize, rule)?;
    growing_list(ctx, "Sampling the next word at temperature 0.8", &format!("temperature 0.8, seed {}", ctx.u64("seed")), &steps)
}

/// One paragraph: the prompt in grey, the continuation in black.
fn long_text(ctx: &Ctx, title: &str, what: &str, steps: &[Step]) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
    let plot = TextPanel { title: title.into(), subtitle: ctx.subtitle(what)?, paragraphs: vec![vec![Span::prompt(ctx.str("prompt")), Span::generated(lm.tokenizer.decode(&ids)?)]], list: vec![] };
    Ok(Figure { plot: Plot::Text(plot), table: steps_table(ctx, steps)?, size: WIDE })
}

fn greedy_long(ctx: &Ctx) -> Result<Figure> {
    let n = ctx.u64("new_tokens") as usize;
    let steps = run(ctx, n, Sampling::Greedy)?;
    long_text(ctx, "Temperature 0 for 100 tokens", &format!("{n} tokens, always the top word"), &steps)
}

fn sampled_long(ctx: &Ctx) -> Result<Figure> {
    let n = ctx.u64("new_tokens") as usize;
    let seed = ctx.u64("seed");
    let steps = run(ctx, n, Sampling::new(ctx.f64("temperature"), seed)?)?;
    long_text(ctx, "Temperature 0.8 for 100 tokens", &format!("{n} tokens, temperature 0.8, seed {seed}"), &steps)
}

fn sampled_five(ctx: &Ctx) -> Result<Figure> {
    let lm = ctx.model()?;
    let n = ctx.u64("new_tokens") as usize;
    let t = ctx.f64("temperature");
    let seeds: Vec<u64> = ctx.params["seeds"].as_array().map(|a| a.iter().filter_map(|v| v.as_u64()).collect()).unwrap_or_default();
    let mut table = Table::new(&["seed", "generated_ids", "text"]);
    let mut list = Vec::new();
    for &seed in &seeds {
        let steps = run(ctx, n, Sampling::new(t, seed)?)?;
        let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
        let text = lm.tokenizer.decode(&ids)?;
        table.push(vec![seed.to_string(), ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" "), text.clone()]);
        list.push(vec![Span::prompt(ctx.str("prompt")), Span::generated(text)]);
    }
    let plot = TextPanel { title: "Five continuations at temperature 0.8".into(), subtitle: ctx.subtitle(&format!("{n} tokens each, seeds {seeds:?}"))?, paragraphs: vec![], list };
    Ok(Figure { plot: Plot::Text(plot), table, size: WIDE })
}

fn rank_probability(ctx: &Ctx) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(ctx.str("prompt"))?;
    let logits = lm.model.logits(&ids)?; // (T, V)
    let k = (ctx.u64("top") as usize).min(lm.model.info().vocab_size);
    let top = sampling::top_k(&logits.get(-1), k, &lm.tokenizer)?;
    let mut table = Table::new(&["rank", "id", "token", "prob"]);
    for (i, t) in top.iter().enumerate() {
        table.push(vec![(i + 1).to_string(), t.id.to_string(), t.token.clone(), t.prob.to_string()]);
    }
    let points: Vec<(f64, f64)> = top.iter().enumerate().map(|(i, t)| ((i + 1) as f64, t.prob)).collect();
    let plot = LinePlot {
        title: "Next-token probability against rank".into(),
        subtitle: ctx.subtitle(&format!("the {k} most likely tokens after “{}”", ctx.str("prompt")))?,
        x_label: "rank".into(),
        y_label: "probability".into(),
        series: vec![Series { name: String::new(), points, style: SeriesStyle::Points }],
        log_x: true,
        log_y: true,
    };
    Ok(Figure { plot: Plot::Lines(plot), table, size: WIDE })
}

fn gpt3_quotes(_ctx: &Ctx) -> Result<Figure> {
    let mut table = Table::new(&["note"]);
    table.push(vec!["The essay shows GPT-3 outputs; GPT-3's weights are not public, so they cannot be reproduced here.".into()]);
    let plot = TextPanel {
        title: "Not reproducible here: GPT-3".into(),
        subtitle: "essay section 1 · no model".into(),
        paragraphs: vec![
            vec![Span::plain("At this point the essay shows what GPT-3, a much larger model than GPT-2, writes from the same prompt at temperature 0 and at temperature 0.8.")],
            vec![Span::plain("GPT-3's weights have never been published, so these outputs cannot be recomputed; we do not imitate them. The figures above show the same experiment with the model at hand.")],
            vec![Span::prompt("Read the original: Stephen Wolfram, “What Is ChatGPT Doing … and Why Does It Work?” (2023), section “It's Just Adding One Word at a Time”.")],
        ],
        list: vec![],
    };
    Ok(Figure { plot: Plot::Text(plot), table, size: WIDE })
}
