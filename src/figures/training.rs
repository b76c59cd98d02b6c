//! The essay's section "The training of ChatGPT" (notebook 08): a small GPT-2 trained
//! here, on the CPU, to predict the next character of the project's English sample
//! ([`crate::experiments::text_gpt`]), and what its training shows. The essay has no
//! pictures in this section; these four make its points visible:
//!
//! - `text-training-loss`: the loss against the characters seen, on the training
//!   batches and on held-out text, against three yardsticks counted from the corpus
//!   (every character equally likely, letter frequencies only, the previous character
//!   only);
//! - `text-training-samples`: what the model writes at each saved checkpoint, from
//!   random symbols to letters, words and short phrases;
//! - `heads-during-training`: the previous-token, duplicate-token and induction scores
//!   of [`crate::analysis::heads`] read at every checkpoint, and the loss on a shuffled
//!   alphabet's second copy, so that one watches such heads appear (or not) as training
//!   goes on;
//! - `training-cost`: weights against training tokens for GPT-2, GPT-3 and later
//!   models (published numbers and their sources in `data/figures/training-cost.json`),
//!   our model among them, and the cost arithmetic: about 6 x weights x tokens
//!   operations, so, with tokens growing like weights, a cost growing like the square.
//!
//! The training is shared: every figure asks [`text_gpt::train_model`] for the same
//! configuration, which trains once and caches the weights in `data/cache/trained`
//! (the figure builder, the tests and the notebook all load the same file). The
//! parameter `budget` is "default" (about two minutes on 2 cores), "small" (tens of
//! seconds) or "full" (about ten times the default); its default value comes from
//! `GPT2_EXPLORER_BUDGET` as for the parentheses figures. `corpus` is "" for the
//! default English sample, or the path of one's own UTF-8 text file or folder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::parens::budget_from_env;
use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::heads::HeadKind;
use crate::error::Result;
use crate::experiments::text_gpt::{self, HeadReport, TextData, TextGpt, TextGptConfig};
use crate::plot::{LinePlot, Panels, Series, SeriesStyle, Span, TextPanel};
use crate::train::TrainCache;

const SECTION: &str = super::sections::TRAINING;
const WIDE: (u32, u32) = (1200, 800);

/// The training budget and the corpus (shared by the loss figure).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossParams {
    /// "small", "default" or "full".
    pub budget: String,
    /// "" for the default English sample, or a path.
    pub corpus: String,
}

/// What the samples at each checkpoint continue, how long, how hot, which seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplesParams {
    pub budget: String,
    pub corpus: String,
    pub prompt: String,
    /// Characters written after the prompt.
    pub chars: usize,
    pub temperature: f64,
    pub seed: u64,
}

/// How the heads are read: shuffled alphabets of `letters` letters, `sequences` of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsParams {
    pub budget: String,
    pub corpus: String,
    /// Letters per copy (each of a-z at most once).
    pub letters: usize,
    /// Shuffles averaged over.
    pub sequences: usize,
    pub seed: u64,
}

/// A published model: its size, its training text and where the numbers come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedModel {
    pub name: String,
    /// Weights (parameters).
    pub weights: f64,
    /// Tokens trained on.
    pub tokens: f64,
    /// Training operations as published (0 when none was).
    #[serde(default)]
    pub flops: f64,
    /// Where the numbers come from.
    pub source: String,
    /// What to know about them (an estimate, a different count).
    #[serde(default)]
    pub note: String,
}

/// The training budget and corpus of our model, and the published models to set it
/// beside (from `data/figures/training-cost.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostParams {
    #[serde(default = "budget_from_env")]
    pub budget: String,
    #[serde(default)]
    pub corpus: String,
    pub models: Vec<PublishedModel>,
}

/// The figures of this section, in the order notebook 08 shows them.
pub fn figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new(
            "text-training-loss",
            SECTION,
            Made::Trained,
            "A small GPT-2 (the project's own model code, fresh random weights) trained here on the CPU to predict the next character of English text: its loss against the characters it has seen, on each training batch and on held-out text it never trained on, beside what simpler predictors score (every character equally likely; letter frequencies only; the previous character only). Budget \"{budget}\".",
            || LossParams { budget: budget_from_env(), corpus: String::new() },
            loss,
        ),
        FigureSpec::new(
            "text-training-samples",
            SECTION,
            Made::Trained,
            "What the model writes at each saved checkpoint, continuing “{prompt}” for {chars} characters at temperature {temperature} (seed {seed}, the same at every checkpoint): random symbols, then letters in English proportions, then word-like runs, then words and short phrases.",
            || SamplesParams {
                budget: budget_from_env(),
                corpus: String::new(),
                prompt: "The ".into(),
                chars: 150,
                temperature: 0.8,
                seed: 1,
            },
            samples,
        ),
        FigureSpec::new(
            "heads-during-training",
            SECTION,
            Made::Trained,
            "The same head detectors as `induction-heads`, run on every checkpoint of the training: on a shuffled alphabet ({letters} letters) followed by the same letters again ({sequences} shuffles, seed {seed}), the best head's share of attention on the previous character, on an earlier copy of the current character (duplicate) and on the character after that copy (induction), against a head that spreads its attention evenly; and the loss on the first and the second copy (an induction head makes the second copy easy).",
            || HeadsParams { budget: budget_from_env(), corpus: String::new(), letters: 26, sequences: 4, seed: 1 },
            heads,
        ),
        FigureSpec::from_data_file(
            "training-cost",
            SECTION,
            Made::Trained,
            "Weights against training tokens for published models (numbers and sources in data/figures/training-cost.json) and the small model trained here; the essay's observation: weights roughly as many as training tokens, so a training cost of about 6 x weights x tokens grows like the square of the size.",
            cost,
        ),
    ]
}

type DataCache = Mutex<HashMap<(String, usize), Arc<TextData>>>;

/// The text of `corpus` with a vocabulary of `vocab_size`, read once per process and
/// shared by the figures.
fn data(corpus: &str, vocab_size: usize) -> Result<Arc<TextData>> {
    static CACHE: OnceLock<DataCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (corpus.to_string(), vocab_size);
    if let Some(d) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(d.clone());
    }
    let d = Arc::new(TextData::load_path(corpus, vocab_size)?);
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, d.clone());
    Ok(d)
}

/// The data and the trained model of `budget` on `corpus`.
fn trained(budget: &str, corpus: &str) -> Result<(Arc<TextData>, TextGpt)> {
    let cfg = TextGptConfig::named(budget)?;
    let d = data(corpus, cfg.vocab_size)?;
    let m = text_gpt::train_model(&cfg, &d, &TrainCache::default())?;
    Ok((d, m))
}

/// The subtitle: budget, configuration, weights, vocabulary, the training time when it ran.
fn subtitle(m: &TextGpt, _d: &TextData, budget: &str) -> Result<String> {
    Ok(format!(
        "budget \"{budget}\": {} · {:.0}k weights · {} symbols · trained in {:.0} s",
        m.config.describe(),
        m.weights()? as f64 / 1e3,
        m.vocab.len(),
        m.train_seconds
    ))
}

fn flat(name: String, y: f64, x0: f64, x1: f64) -> Series {
    Series {
        name,
        points: vec![(x0, y), (x1, y)],
        style: SeriesStyle::Line,
    }
}

fn loss(_ctx: &Ctx, p: &LossParams) -> Result<Figure> {
    let (d, m) = trained(&p.budget, &p.corpus)?;
    let held = m.held_out_loss(&d)?;
    let tps = m.config.tokens_per_step() as f64;
    let mut table = Table::new(&["what", "step", "characters_seen", "loss_nats"]);
    let steps: Vec<(f64, f64)> = m
        .history
        .loss
        .iter()
        .enumerate()
        .map(|(i, &l)| ((i + 1) as f64 * tps, l))
        .collect();
    for (i, &l) in m.history.loss.iter().enumerate() {
        table.push(vec![
            "training batch".into(),
            (i + 1).to_string(),
            ((i + 1) as f64 * tps).to_string(),
            l.to_string(),
        ]);
    }
    for (c, &l) in m.checkpoints.iter().zip(&held) {
        table.push(vec![
            "held-out text".into(),
            c.step.to_string(),
            c.tokens.to_string(),
            l.to_string(),
        ]);
    }
    let v = m.vocab.len();
    let refs = [
        (format!("every character equally likely (ln {v})"), (v as f64).ln()),
        ("letter frequencies only (1-gram)".to_string(), d.unigram_entropy()),
        ("the previous character only (2-gram)".to_string(), d.bigram_entropy()),
    ];
    for (name, y) in &refs {
        table.push(vec![name.clone(), String::new(), String::new(), y.to_string()]);
    }
    let (x0, x1) = (tps, m.tokens_seen() as f64);
    let mut series = vec![
        Series {
            name: "each training batch".into(),
            points: steps,
            style: SeriesStyle::Line,
        },
        Series {
            name: "held-out text, at the checkpoints".into(),
            points: m
                .checkpoints
                .iter()
                .zip(&held)
                .map(|(c, &l)| (c.tokens as f64, l))
                .collect(),
            style: SeriesStyle::LineAndPoints,
        },
    ];
    series.extend(refs.iter().map(|(n, y)| flat(n.clone(), *y, x0, x1)));
    let plot = LinePlot {
        title: "Training a small GPT-2 on English text: the loss".into(),
        subtitle: subtitle(&m, &d, &p.budget)?,
        x_label: "characters seen (log scale)".into(),
        y_label: "loss: cross-entropy, nats per character".into(),
        series,
        log_x: true,
        log_y: false,
    };
    Ok(Figure {
        plot: Plot::Lines(plot),
        table,
        size: WIDE,
    })
}

/// "1.31 M" / "16 k" / "512".
fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.2} M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0} k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn samples(_ctx: &Ctx, p: &SamplesParams) -> Result<Figure> {
    let (d, m) = trained(&p.budget, &p.corpus)?;
    let held = m.held_out_loss(&d)?;
    let mut table = Table::new(&["step", "characters_seen", "held_out_loss", "prompt", "sample"]);
    let mut list = Vec::new();
    for (c, l) in m.checkpoints.iter().zip(&held) {
        let text = text_gpt::sample(&c.model, &m.vocab, &p.prompt, p.chars, p.temperature, p.seed)?;
        list.push(vec![
            Span::plain(format!(
                "step {} ({} characters seen, held-out loss {:.2}):  ",
                c.step,
                count(c.tokens),
                l
            )),
            Span::prompt(p.prompt.clone()),
            Span::generated(text.clone()),
        ]);
        table.push(vec![
            c.step.to_string(),
            c.tokens.to_string(),
            l.to_string(),
            p.prompt.clone(),
            text,
        ]);
    }
    let plot = TextPanel {
        title: "What the model writes as it learns".into(),
        subtitle: subtitle(&m, &d, &p.budget)?,
        paragraphs: vec![],
        list,
    };
    Ok(Figure {
        plot: Plot::Text(plot),
        table,
        size: (1200, 1100),
    })
}

/// The head reports of every checkpoint.
pub fn head_reports(m: &TextGpt, letters: usize, sequences: usize, seed: u64) -> Result<Vec<HeadReport>> {
    m.checkpoints
        .iter()
        .map(|c| text_gpt::head_report(&c.model, &m.vocab, letters, sequences, seed))
        .collect()
}

fn heads(_ctx: &Ctx, p: &HeadsParams) -> Result<Figure> {
    let (d, m) = trained(&p.budget, &p.corpus)?;
    let reports = head_reports(&m, p.letters, p.sequences, p.seed)?;
    let mut table = Table::new(&["step", "characters_seen", "kind", "block", "head", "score"]);
    for (c, r) in m.checkpoints.iter().zip(&reports) {
        for (k, kind) in HeadKind::ALL.iter().enumerate() {
            for (l, row) in r.scores[k].iter().enumerate() {
                for (h, s) in row.iter().enumerate() {
                    table.push(vec![
                        c.step.to_string(),
                        c.tokens.to_string(),
                        kind.name().into(),
                        l.to_string(),
                        h.to_string(),
                        s.to_string(),
                    ]);
                }
            }
            table.push(vec![
                c.step.to_string(),
                c.tokens.to_string(),
                format!("{} (even attention)", kind.name()),
                String::new(),
                String::new(),
                r.uniform[k].to_string(),
            ]);
        }
        for (what, v) in [
            ("loss on the first copy", r.first_copy_loss),
            ("loss on the second copy", r.second_copy_loss),
        ] {
            table.push(vec![
                c.step.to_string(),
                c.tokens.to_string(),
                what.into(),
                String::new(),
                String::new(),
                v.to_string(),
            ]);
        }
    }
    // Log scale of characters seen: the checkpoint before training (0) is left out of
    // the lines (it is in the CSV), the even-attention level stands for it.
    let at = |f: &dyn Fn(&HeadReport) -> f64| -> Vec<(f64, f64)> {
        m.checkpoints
            .iter()
            .zip(&reports)
            .filter(|(c, _)| c.tokens > 0)
            .map(|(c, r)| (c.tokens as f64, f(r)))
            .collect()
    };
    let last = reports.last().expect("at least one checkpoint");
    let mut score_series = Vec::new();
    for kind in HeadKind::ALL {
        let (l, h, s) = last.best(kind);
        score_series.push(Series {
            name: format!("{} (best head; at the end: block {l} head {h}, {s:.2})", kind.name()),
            points: at(&|r: &HeadReport| r.best(kind).2),
            style: SeriesStyle::LineAndPoints,
        });
    }
    let x0 = at(&|_| 0.0).first().map_or(1.0, |p| p.0);
    let x1 = m.tokens_seen() as f64;
    let k_prev = 0;
    let k_ind = 2;
    score_series.push(flat(
        format!(
            "even attention: previous-token {:.3}, induction {:.3}",
            last.uniform[k_prev], last.uniform[k_ind]
        ),
        last.uniform[k_prev],
        x0,
        x1,
    ));
    let scores = LinePlot {
        x_label: "characters seen (log scale)".into(),
        y_label: "share of the head's attention".into(),
        series: score_series,
        log_x: true,
        ..Default::default()
    };
    let n_letters = p.letters.min(26) as f64;
    let copies = LinePlot {
        x_label: "characters seen (log scale)".into(),
        y_label: "loss, nats per character".into(),
        series: vec![
            Series {
                name: "first copy (random: nothing to go on)".into(),
                points: at(&|r: &HeadReport| r.first_copy_loss),
                style: SeriesStyle::LineAndPoints,
            },
            Series {
                name: "second copy (could be copied from the first)".into(),
                points: at(&|r: &HeadReport| r.second_copy_loss),
                style: SeriesStyle::LineAndPoints,
            },
            flat(format!("guessing among {n_letters} letters"), n_letters.ln(), x0, x1),
        ],
        log_x: true,
        ..Default::default()
    };
    let panels = Panels {
        title: "Heads appearing during training".into(),
        subtitle: subtitle(&m, &d, &p.budget)?,
        panel_titles: vec![
            "Best head of each kind, at every checkpoint".into(),
            "Loss on a shuffled alphabet and on its repeat".into(),
        ],
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Lines(scores), Plot::Lines(copies)],
        },
        table,
        size: (1500, 750),
    })
}

/// "3.14e23".
fn sci(x: f64) -> String {
    format!("{x:.2e}").replace("e", " x 10^")
}

fn cost(ctx: &Ctx, p: &CostParams) -> Result<Figure> {
    if p.models.is_empty() {
        return Err(ctx.bad_input("`models` is empty; list at least one published model"));
    }
    for m in &p.models {
        if !(m.weights > 0.0 && m.tokens > 0.0 && m.flops >= 0.0) {
            return Err(ctx.bad_input(format!(
                "model `{}`: weights and tokens must be > 0 and flops >= 0 (0: not published)",
                m.name
            )));
        }
    }
    let (d, ours) = trained(&p.budget, &p.corpus)?;
    let (w, t) = (ours.weights()? as f64, ours.tokens_seen() as f64);
    let our_flops = ours.training_flops()?;
    let rate = our_flops / ours.train_seconds.max(1e-9);
    let mut table = Table::new(&[
        "model",
        "weights",
        "tokens",
        "tokens_per_weight",
        "flops_6nd",
        "flops_published",
        "source",
        "note",
    ]);
    let mut series = Vec::new();
    for m in &p.models {
        table.push(vec![
            m.name.clone(),
            m.weights.to_string(),
            m.tokens.to_string(),
            (m.tokens / m.weights).to_string(),
            (6.0 * m.weights * m.tokens).to_string(),
            if m.flops > 0.0 {
                m.flops.to_string()
            } else {
                String::new()
            },
            m.source.clone(),
            m.note.clone(),
        ]);
        series.push(Series {
            name: format!("{} ({:.1} tokens per weight)", m.name, m.tokens / m.weights),
            points: vec![(m.weights, m.tokens)],
            style: SeriesStyle::Points,
        });
    }
    let our_name = "our small GPT-2 (characters as tokens)".to_string();
    table.push(vec![
        our_name.clone(),
        w.to_string(),
        t.to_string(),
        (t / w).to_string(),
        our_flops.to_string(),
        String::new(),
        format!("trained here: {}", ours.config.describe()),
        format!(
            "{} on {}",
            if ours.from_cache {
                "loaded from the cache"
            } else {
                "trained now"
            },
            d.corpus
        ),
    ]);
    series.push(Series {
        name: format!("{our_name} ({:.1} tokens per weight)", t / w),
        points: vec![(w, t)],
        style: SeriesStyle::Points,
    });
    let lo = p
        .models
        .iter()
        .map(|m| m.weights.min(m.tokens))
        .fold(w.min(t), f64::min)
        / 3.0;
    let hi = p
        .models
        .iter()
        .map(|m| m.weights.max(m.tokens))
        .fold(w.max(t), f64::max)
        * 3.0;
    series.push(Series {
        name: "tokens = weights (the essay's rule of thumb)".into(),
        points: vec![(lo, lo), (hi, hi)],
        style: SeriesStyle::Line,
    });
    let scatter = LinePlot {
        x_label: "weights (log scale)".into(),
        y_label: "training tokens (log scale)".into(),
        series,
        log_x: true,
        log_y: true,
        ..Default::default()
    };
    // The arithmetic, with the largest published model as the example.
    let big = p
        .models
        .iter()
        .max_by(|a, b| a.weights.total_cmp(&b.weights))
        .expect("checked non-empty");
    let big_flops = 6.0 * big.weights * big.tokens;
    let years = big_flops / rate / (365.25 * 86400.0);
    let mut paragraphs = vec![
        vec![Span::plain(
            "Training cost ≈ 6 x weights x tokens: each token passes every weight once forward (a multiply and an add: 2 operations) and about twice that backward (4 more).",
        )],
        vec![Span::plain(format!(
            "Ours: 6 x {} weights x {} characters = {} operations, done in {:.0} s here: {:.1} G operations per second.",
            w as u64,
            t as u64,
            sci(our_flops),
            ours.train_seconds,
            rate / 1e9
        ))],
        vec![Span::plain(format!(
            "{}: 6 x {} x {} = {} operations{}.",
            big.name,
            sci(big.weights),
            sci(big.tokens),
            sci(big_flops),
            if big.flops > 0.0 {
                format!(" (published: {})", sci(big.flops))
            } else {
                String::new()
            }
        ))],
        vec![Span::highlight(format!(
            "At this computer's rate that is {} years: {:.0e} times our run.",
            if years >= 1e4 { sci(years) } else { format!("{years:.0}") },
            big_flops / our_flops
        ))],
        vec![Span::plain(
            "If a model of n weights needs about n tokens to set them (the essay's observation: in the plot, points near the diagonal), training costs about 6 n x n = 6 n² operations: ten times the weights, a hundred times the cost. Newer small models (far above the diagonal) are trained on many more tokens per weight, because a small model is cheaper to run afterwards.".to_string(),
        )],
    ];
    paragraphs.push(vec![Span::prompt(format!(
        "Sources: {}",
        p.models
            .iter()
            .map(|m| format!("{}: {}", m.name, m.source))
            .collect::<Vec<_>>()
            .join("; ")
    ))]);
    let text = TextPanel {
        title: String::new(),
        subtitle: String::new(),
        paragraphs,
        list: vec![],
    };
    let panels = Panels {
        title: "How big, how much text, how much computing".into(),
        subtitle: format!(
            "published models (data/figures/training-cost.json) and ours: {}",
            ours.config.describe()
        ),
        panel_titles: vec!["Weights against training tokens".into(), "The cost arithmetic".into()],
        columns: 2,
    };
    Ok(Figure {
        plot: Plot::Grid {
            panels,
            plots: vec![Plot::Lines(scatter), Plot::Text(text)],
        },
        table,
        size: (1600, 800),
    })
}
