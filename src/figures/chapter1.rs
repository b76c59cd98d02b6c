//! Essay section 1, "It's just adding one word at a time": the next-word table, text
//! grown by always taking the top word (and how it turns repetitive), text grown by
//! sampling at a temperature (0.8 by default; seeds recorded), the rank/probability power law, and a
//! card for the GPT-3 quotes that cannot be reproduced here.

use serde::{Deserialize, Serialize};

use super::{essay, Ctx, Figure, FigureSpec, Made, NoParams, Plot, Table};
use crate::error::Result;
use crate::plot::{BarChart, LinePlot, Series, SeriesStyle, Span, TextPanel, ValueFormat};
use crate::sampling::{self, Sampling, Step};
use crate::tokenizer::readable;

const SECTION: &str = super::sections::ONE_WORD_AT_A_TIME;
const PROMPT: &str = "The best thing about AI is its ability to";
const WIDE: (u32, u32) = (1200, 800);

/// A prompt and how many of its most likely next tokens to show.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopParams {
    pub prompt: String,
    pub top: usize,
}

/// A prompt grown by always taking the top token, `steps` tokens long.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreedyParams {
    pub prompt: String,
    pub steps: usize,
}

/// A prompt grown by sampling at `temperature` with `seed`, `steps` tokens long.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampledParams {
    pub prompt: String,
    pub steps: usize,
    pub temperature: f64,
    pub seed: u64,
}

/// A prompt and several sampled continuations of it, one per seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsParams {
    pub prompt: String,
    pub steps: usize,
    pub temperature: f64,
    pub seeds: Vec<u64>,
}

fn prompt() -> String {
    PROMPT.to_string()
}

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new("next-word-top5", SECTION, Made::Model, "The {top} most likely next words after the prompt, with their probabilities.", || TopParams { prompt: prompt(), top: 5 }, next_word_top5),
        FigureSpec::new("greedy-continuation", SECTION, Made::Model, "Text grown one word at a time, always taking the most likely word (temperature 0).", || GreedyParams { prompt: prompt(), steps: 7 }, greedy_continuation),
        FigureSpec::new("greedy-long", SECTION, Made::Model, "A long zero-temperature continuation ({steps} tokens). The essay's GPT-2 soon falls into a loop, repeating one sentence; newer models such as SmolLM2 often do not. The figure measures which happened (the share of 8-token runs that repeat an earlier one) and says so.", || GreedyParams { prompt: prompt(), steps: 100 }, greedy_long),
        FigureSpec::new("sampled-continuation", SECTION, Made::Sampled, "Text grown by sampling each word at temperature {temperature}: lower-ranked words get a chance.", || SampledParams { prompt: prompt(), steps: 7, temperature: 0.8, seed: 1 }, sampled_continuation),
        FigureSpec::new("sampled-five", SECTION, Made::Sampled, "Continuations of the same prompt at temperature {temperature}, one per seed ({seeds}).", || SeedsParams { prompt: prompt(), steps: 30, temperature: 0.8, seeds: vec![1, 2, 3, 4, 5] }, sampled_five),
        FigureSpec::new("rank-probability-loglog", SECTION, Made::Model, "Probability of each possible next token against its rank, on log-log axes: roughly a power law.", || TopParams { prompt: prompt(), top: 10000 }, rank_probability),
        FigureSpec::new("sampled-long", SECTION, Made::Sampled, "One long continuation ({steps} tokens) at temperature {temperature}.", || SampledParams { prompt: prompt(), steps: 100, temperature: 0.8, seed: 7 }, sampled_long),
        FigureSpec::new("gpt3-quotes", SECTION, Made::NotReproducible, "The essay's GPT-3 outputs at temperature 0 and 0.8: not reproducible here.", NoParams::default, gpt3_quotes),
    ]
}

/// "Five" for 5 (one to twelve in words, larger counts as digits).
fn count_word(n: usize) -> String {
    const WORDS: [&str; 12] = [
        "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
    ];
    n.checked_sub(1)
        .and_then(|i| WORDS.get(i))
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

fn next_word_top5(ctx: &Ctx, p: &TopParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let logits = lm.model.logits(&ids)?; // (T, V)
    let top = sampling::top_k(&logits.get(-1), p.top, &lm.tokenizer)?;
    let mut table = Table::new(&["rank", "id", "token", "prob", "logprob"]);
    for (i, t) in top.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            t.id.to_string(),
            t.token.clone(),
            t.prob.to_string(),
            t.logprob.to_string(),
        ]);
    }
    let plot = BarChart {
        title: format!("“{}” …", p.prompt),
        subtitle: match essay::next_word_note(lm, &p.prompt) {
            Some(note) => ctx.subtitle(&format!("next-word probabilities · {note}"))?,
            None => ctx.subtitle("next-word probabilities")?,
        },
        labels: top.iter().map(|t| readable(&t.token)).collect(),
        values: top.iter().map(|t| t.prob).collect(),
        value_format: ValueFormat::Percent(1),
        x_label: "probability".into(),
        highlight: vec![0],
    };
    Ok(Figure {
        plot: Plot::Bars(plot),
        table,
        size: WIDE,
    })
}

/// Rows step, id, token, prob and the text so far, for a list of generated steps.
fn steps_table(ctx: &Ctx, steps: &[Step]) -> Result<Table> {
    let lm = ctx.model()?;
    let mut table = Table::new(&["step", "id", "token", "prob"]);
    for (i, s) in steps.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            s.id.to_string(),
            lm.tokenizer.token_str(s.id),
            s.prob.to_string(),
        ]);
    }
    Ok(table)
}

/// A numbered list: the prompt and the words so far, the newest highlighted.
fn growing_list(ctx: &Ctx, prompt: &str, title: &str, what: &str, steps: &[Step]) -> Result<Figure> {
    let lm = ctx.model()?;
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
    let plot = TextPanel {
        title: title.into(),
        subtitle: ctx.subtitle(what)?,
        paragraphs: vec![],
        list,
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table: steps_table(ctx, steps)?,
        size: WIDE,
    })
}

fn run(ctx: &Ctx, prompt: &str, n: usize, rule: Sampling) -> Result<Vec<Step>> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(prompt)?;
    sampling::generate_steps(&lm.model, &ids, n, rule, |_| {})
}

fn greedy_continuation(ctx: &Ctx, p: &GreedyParams) -> Result<Figure> {
    let steps = run(ctx, &p.prompt, p.steps, Sampling::Greedy)?;
    growing_list(
        ctx,
        &p.prompt,
        "Always the most likely next word",
        "temperature 0",
        &steps,
    )
}

fn sampled_continuation(ctx: &Ctx, p: &SampledParams) -> Result<Figure> {
    let rule = Sampling::new(p.temperature, p.seed)?;
    let steps = run(ctx, &p.prompt, p.steps, rule)?;
    let (t, seed) = (p.temperature, p.seed);
    growing_list(
        ctx,
        &p.prompt,
        &format!("Sampling the next word at temperature {t}"),
        &format!("temperature {t}, seed {seed}"),
        &steps,
    )
}

/// One paragraph: the prompt in grey, the continuation in black.
fn long_text(ctx: &Ctx, prompt: &str, title: &str, what: &str, steps: &[Step]) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
    let plot = TextPanel {
        title: title.into(),
        subtitle: ctx.subtitle(what)?,
        paragraphs: vec![vec![Span::prompt(prompt), Span::generated(lm.tokenizer.decode(&ids)?)]],
        list: vec![],
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table: steps_table(ctx, steps)?,
        size: WIDE,
    })
}

/// Runs of this many tokens are compared to find loops in `greedy-long`.
const LOOP_RUN: usize = 8;

fn greedy_long(ctx: &Ctx, p: &GreedyParams) -> Result<Figure> {
    let n = p.steps;
    let steps = run(ctx, &p.prompt, n, Sampling::Greedy)?;
    let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
    let share = sampling::repeated_run_share(&ids, LOOP_RUN);
    let verdict = if share >= 0.2 {
        format!(
            "It has fallen into a loop: {:.0}% of its runs of {LOOP_RUN} tokens repeat an earlier one, as in the essay's GPT-2.",
            100.0 * share
        )
    } else {
        format!(
            "This model does not become repetitive here: only {:.0}% of its runs of {LOOP_RUN} tokens repeat an earlier one. The essay's GPT-2 soon loops, repeating the same sentence; run with --model gpt2 (when its weights are in the Hugging Face cache) to see it.",
            100.0 * share
        )
    };
    let mut fig = long_text(
        ctx,
        &p.prompt,
        &format!("Temperature 0 for {n} tokens"),
        &format!("{n} tokens, always the top word"),
        &steps,
    )?;
    if let Plot::Text(t) = &mut fig.plot {
        t.paragraphs.push(vec![Span::highlight(verdict)]);
    }
    fig.table.headers.push(format!("repeated_{LOOP_RUN}_token_runs_share"));
    for r in &mut fig.table.rows {
        r.push(share.to_string());
    }
    Ok(fig)
}

fn sampled_long(ctx: &Ctx, p: &SampledParams) -> Result<Figure> {
    let (n, t, seed) = (p.steps, p.temperature, p.seed);
    let steps = run(ctx, &p.prompt, n, Sampling::new(t, seed)?)?;
    long_text(
        ctx,
        &p.prompt,
        &format!("Temperature {t} for {n} tokens"),
        &format!("{n} tokens, temperature {t}, seed {seed}"),
        &steps,
    )
}

fn sampled_five(ctx: &Ctx, p: &SeedsParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let (n, t, seeds) = (p.steps, p.temperature, &p.seeds);
    let mut table = Table::new(&["seed", "generated_ids", "text"]);
    let mut list = Vec::new();
    for &seed in seeds {
        let steps = run(ctx, &p.prompt, n, Sampling::new(t, seed)?)?;
        let ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
        let text = lm.tokenizer.decode(&ids)?;
        table.push(vec![
            seed.to_string(),
            ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" "),
            text.clone(),
        ]);
        list.push(vec![Span::prompt(&p.prompt), Span::generated(text)]);
    }
    let plot = TextPanel {
        title: format!("{} continuations at temperature {t}", count_word(seeds.len())),
        subtitle: ctx.subtitle(&format!("{n} tokens each, seeds {seeds:?}"))?,
        paragraphs: vec![],
        list,
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: WIDE,
    })
}

fn rank_probability(ctx: &Ctx, p: &TopParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = lm.encode_prompt(&p.prompt)?;
    let logits = lm.model.logits(&ids)?; // (T, V)
    let k = p.top.min(lm.model.info().vocab_size);
    let top = sampling::top_k(&logits.get(-1), k, &lm.tokenizer)?;
    let mut table = Table::new(&["rank", "id", "token", "prob"]);
    for (i, t) in top.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            t.id.to_string(),
            t.token.clone(),
            t.prob.to_string(),
        ]);
    }
    let points: Vec<(f64, f64)> = top.iter().enumerate().map(|(i, t)| ((i + 1) as f64, t.prob)).collect();
    let plot = LinePlot {
        title: "Next-token probability against rank".into(),
        subtitle: ctx.subtitle(&format!("the {k} most likely tokens after “{}”", p.prompt))?,
        x_label: "rank".into(),
        y_label: "probability".into(),
        series: vec![Series {
            name: String::new(),
            points,
            style: SeriesStyle::Points,
        }],
        log_x: true,
        log_y: true,
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

fn gpt3_quotes(_ctx: &Ctx, _p: &NoParams) -> Result<Figure> {
    let mut table = Table::new(&["note"]);
    table.push(vec![
        "The essay shows GPT-3 outputs; GPT-3's weights are not public, so they cannot be reproduced here.".into(),
    ]);
    let plot = TextPanel {
        title: "Not reproducible here: GPT-3".into(),
        subtitle: "essay section 1 · no model".into(),
        paragraphs: vec![
            vec![Span::plain("At this point the essay shows what GPT-3, a much larger model than GPT-2, writes from the same prompt at temperature 0 and at temperature 0.8.")],
            vec![Span::plain("GPT-3's weights have never been published, so these outputs cannot be recomputed; we do not imitate them. The figures above show the same experiment with the model at hand.")],
            vec![Span::prompt("Read the original: Stephen Wolfram, “What Is ChatGPT Doing … and Why Does It Work?” (2023), section “It's Just Adding One Word at a Time”:")],
            vec![Span::prompt(essay::URL)],
        ],
        list: vec![],
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: WIDE,
    })
}
