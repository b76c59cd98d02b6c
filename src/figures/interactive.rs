//! The four interactive views as figures (`figures/<id>.html`, shown inline in the
//! notebooks): `generation-stepper` (essay section 1: each sampled token's top-k table,
//! a temperature slider, several seeds), `embedding-view` (section 5: the PCA map of
//! words with hover, search and zoom), `attention-view` (section 6: head view and model
//! view) and `logit-lens-view` (beyond section 6: the block x position grid of guesses
//! with each cell's top-k). This module computes their data from the model; `views`
//! turns it into HTML. They work on any model family and any prompt a notebook passes:
//! `figures::make("attention-view", json!({"prompt": "...", "block": 3}), Some(&lm))?.show()?`.
//!
//! Each is placed in the registry right after the static figure it belongs with
//! ([`placed`]), in that figure's essay section; the gallery links the static figures
//! to them ([`SIBLINGS`]).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::params::Named;
use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::attention;
use crate::analysis::embedding;
use crate::analysis::lens::lens_logits;
use crate::analysis::pca::Pca;
use crate::error::{Error, Result};
use crate::hooks::{ActivationCache, HookFilter, HookPoint};
use crate::sampling::{self, Sampling};
use crate::views::{self, AttentionData, EmbeddingData, LensCellData, LensData, RunData, StepData, StepperData};
use crate::LoadedModel;

/// The pixel size recorded for a page (it has no static picture).
const PAGE_SIZE: (u32, u32) = (1200, 900);

/// Static figures and the interactive page shown beside them in the gallery.
pub const SIBLINGS: &[(&str, &str)] = &[
    ("next-word-top5", "generation-stepper"),
    ("sampled-five", "generation-stepper"),
    ("word-embedding-map", "embedding-view"),
    ("attention-block1-heads", "attention-view"),
    ("attention-head1-blocks", "attention-view"),
    ("logit-lens", "logit-lens-view"),
];

/// A prompt, and the block and head the attention view shows first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionViewParams {
    pub prompt: String,
    #[serde(default)]
    pub block: usize,
    #[serde(default)]
    pub head: usize,
}

/// A prompt continued `max_new_tokens` tokens at `temperature` once per seed, with the
/// `top_k` most likely tokens of every step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepperParams {
    pub prompt: String,
    pub temperature: f64,
    pub seeds: Vec<u64>,
    pub max_new_tokens: usize,
    pub top_k: usize,
}

/// A prompt and how many guesses each logit-lens cell lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LensViewParams {
    pub prompt: String,
    pub top: usize,
}

/// Groups of words (`data/figures/embedding-view.json`) and how many nearest words
/// hovering a point lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingViewParams {
    pub groups: Named<Vec<String>>,
    #[serde(default = "five")]
    pub neighbours: usize,
}

fn five() -> usize {
    5
}

/// The views, each with the id of the static figure it follows in the registry (it
/// takes that figure's essay section).
pub fn placed() -> Vec<(&'static str, FigureSpec)> {
    let s = ""; // replaced by the anchor's section in `registry`
    vec![
        (
            "sampled-five",
            FigureSpec::new("generation-stepper", s, Made::Sampled, "Interactive: “{prompt}” continued at temperature {temperature} with seeds {seeds}; click a token for the top {top_k} the model offered at that step, move the slider to re-weight them at another temperature.", || StepperParams {
                prompt: "The best thing about AI is its ability to".into(),
                temperature: 0.8,
                seeds: vec![1, 2, 3],
                max_new_tokens: 20,
                top_k: 10,
            }, stepper)
            .page(),
        ),
        (
            "word-embedding-map",
            FigureSpec::from_data_file("embedding-view", s, Made::Model, "Interactive: words placed by their token embeddings (PCA to two dimensions); hover a point for its nearest words, search, zoom with the wheel and drag to pan.", embedding_view)
                .page(),
        ),
        (
            "attention-head1-blocks",
            FigureSpec::new("attention-view", s, Made::Model, "Interactive attention on “{prompt}”: hover a token to see the earlier tokens it takes from, pick the block and heads; below, every block x head, click one to enlarge.", || AttentionViewParams {
                prompt: "When Mary and John went to the store, John gave a drink to".into(),
                block: 0,
                head: 0,
            }, attention_view)
            .page(),
        ),
        (
            "logit-lens",
            FigureSpec::new("logit-lens-view", s, Made::Model, "Interactive logit lens on “{prompt}”: the top guess after every block at every position; hover a cell for its top {top} and the rank of the final answer there.", || LensViewParams {
                prompt: "The Eiffel Tower is in the city of Paris. The Colosseum is in the city of".into(),
                top: 5,
            }, lens_view)
            .page(),
        ),
    ]
}

/// The prompt's ids: an empty prompt, or one longer than `max` tokens, is an error.
fn prompt_ids(lm: &LoadedModel, prompt: &str, max: usize, view: &'static str) -> Result<Vec<u32>> {
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    let ids = lm.encode_prompt(prompt)?;
    if ids.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    if ids.len() > max {
        return Err(Error::ViewTooLong {
            view,
            len: ids.len(),
            max,
        });
    }
    Ok(ids)
}

fn page(page: views::Page, table: Table) -> Figure {
    Figure {
        plot: Plot::Page(page),
        table,
        size: PAGE_SIZE,
    }
}

fn attention_view(ctx: &Ctx, p: &AttentionViewParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = prompt_ids(lm, &p.prompt, views::MAX_ATTENTION_TOKENS, "attention view")?;
    let info = lm.model.info();
    if p.block >= info.n_layer {
        return Err(Error::BadBlock {
            block: p.block,
            n_blocks: info.n_layer,
        });
    }
    attention::check_head(&lm.model, p.head)?;
    let layers: Vec<usize> = (0..info.n_layer).collect();
    let patterns = attention::patterns(&lm.model, &ids, &layers)?; // L x H x (T x T)
    let tokens = lm.tokenizer.labels(&ids);
    let mut table = Table::new(&[
        "block",
        "head",
        "query_pos",
        "query_token",
        "key_pos",
        "key_token",
        "weight",
    ]);
    let m = &patterns[p.block][p.head];
    for i in 0..ids.len() {
        for j in 0..=i {
            table.push(vec![
                p.block.to_string(),
                p.head.to_string(),
                i.to_string(),
                tokens[i].clone(),
                j.to_string(),
                tokens[j].clone(),
                m.at(i, j).to_string(),
            ]);
        }
    }
    let data = AttentionData {
        title: format!("Attention on “{}”", p.prompt),
        subtitle: ctx.subtitle(&format!("{} tokens, every block and head", ids.len()))?,
        tokens,
        patterns,
        block: p.block,
        head: p.head,
    };
    Ok(page(views::attention(&data)?, table))
}

/// Labels of tokens, each listed once, with their index.
#[derive(Default)]
struct Vocab {
    ids: Vec<u32>,
}

impl Vocab {
    fn index(&mut self, id: u32) -> usize {
        match self.ids.iter().position(|&i| i == id) {
            Some(k) => k,
            None => {
                self.ids.push(id);
                self.ids.len() - 1
            }
        }
    }
}

fn stepper(ctx: &Ctx, p: &StepperParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let prompt = prompt_ids(lm, &p.prompt, usize::MAX, "generation stepper")?;
    if p.seeds.is_empty() || p.seeds.len() > views::MAX_SEEDS {
        return Err(ctx.bad_input(format!(
            "`seeds` has {} seeds; the stepper shows 1 to {} side by side",
            p.seeds.len(),
            views::MAX_SEEDS
        )));
    }
    if p.max_new_tokens == 0 || p.max_new_tokens > views::MAX_STEPS {
        return Err(ctx.bad_input(format!(
            "`max_new_tokens` is {}; the stepper shows 1 to {} steps",
            p.max_new_tokens,
            views::MAX_STEPS
        )));
    }
    if p.top_k == 0 || p.top_k > views::MAX_TOP_K {
        return Err(ctx.bad_input(format!("`top_k` is {}; give 1 to {}", p.top_k, views::MAX_TOP_K)));
    }
    let temps = views::stepper_temperatures();
    let temps_t = Tensor::from_slice(&temps).unsqueeze(1); // (N, 1)
    let mut vocab = Vocab::default();
    let mut runs = Vec::new();
    let mut table = Table::new(&["seed", "step", "token_id", "token", "prob_at_t1", "rank", "top_k"]);
    for &seed in &p.seeds {
        let rule = Sampling::new(p.temperature, seed)?;
        let new = sampling::generate(&lm.model, &prompt, p.max_new_tokens, rule, |_| {})?;
        // One pass over prompt + text: the logits at position P - 1 + s chose step s.
        let mut all = prompt.clone();
        all.extend_from_slice(&new[..new.len() - 1]);
        let logits = lm.model.logits(&all)?.to_kind(Kind::Double); // (T, V)
        let mut steps = Vec::new();
        for (s, &chosen) in new.iter().enumerate() {
            let l = logits.get((prompt.len() - 1 + s) as i64); // (V)
            let (vals, idx) = l.topk(p.top_k as i64, -1, true, true); // (k), (k)
            let vals = Vec::<f64>::try_from(&vals)?;
            let idx = Vec::<i64>::try_from(&idx)?;
            let chosen_logit = l.double_value(&[chosen as i64]);
            let rank = 1 + l.gt(chosen_logit).sum(Kind::Int64).int64_value(&[]) as usize;
            let log_z = Vec::<f64>::try_from(&(l.unsqueeze(0) / &temps_t).logsumexp([-1], false))?; // (N)
            let prob = (chosen_logit - l.logsumexp([-1], false).double_value(&[])).exp();
            let top: Vec<(usize, f32)> = idx
                .iter()
                .zip(&vals)
                .map(|(&i, &v)| (vocab.index(i as u32), v as f32))
                .collect();
            table.push(vec![
                seed.to_string(),
                (s + 1).to_string(),
                chosen.to_string(),
                lm.tokenizer.token_label(chosen),
                prob.to_string(),
                rank.to_string(),
                top.iter()
                    .map(|&(k, _)| lm.tokenizer.token_label(vocab.ids[k]))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ]);
            steps.push(StepData {
                chosen: vocab.index(chosen),
                chosen_logit: chosen_logit as f32,
                chosen_rank: rank,
                top,
                log_z,
            });
        }
        runs.push(RunData { seed, steps });
    }
    let data = StepperData {
        title: format!("Generating from “{}”, one token at a time", p.prompt),
        subtitle: ctx.subtitle(&format!(
            "{} new tokens at temperature {}, seeds {}",
            p.max_new_tokens,
            p.temperature,
            p.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ))?,
        prompt: p.prompt.clone(),
        temperature: p.temperature,
        temperatures: temps,
        vocab: vocab.ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect(),
        labels: vocab.ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect(),
        runs,
    };
    Ok(page(views::stepper(&data)?, table))
}

fn lens_view(ctx: &Ctx, p: &LensViewParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let ids = prompt_ids(lm, &p.prompt, views::MAX_LENS_TOKENS, "logit-lens view")?;
    if p.top == 0 || p.top > views::MAX_TOP_K {
        return Err(ctx.bad_input(format!("`top` is {}; give 1 to {}", p.top, views::MAX_TOP_K)));
    }
    let n_layer = lm.model.info().n_layer;
    let mut hooks = vec![HookPoint::ResidPre(0)];
    hooks.extend((0..n_layer).map(HookPoint::ResidPost));
    let mut cache = ActivationCache::new(HookFilter::Only(hooks.clone()));
    let _logits = lm.model.run_with_cache(&ids, &mut cache)?; // (T, V)
    let mut rows = Vec::new();
    let mut logp = Vec::new();
    for (r, hook) in hooks.iter().enumerate() {
        rows.push(if r == 0 {
            "embed".to_string()
        } else {
            format!("block {}", r - 1)
        });
        let resid = cache.get(*hook)?.get(0); // (T, C)
        logp.push(lens_logits(&lm.model, &resid).log_softmax(-1, Kind::Double));
        // (T, V)
    }
    let last = logp.last().expect("at least the embedding row");
    let answers = Vec::<i64>::try_from(&last.argmax(-1, false))?; // (T)
    let answer_t = Tensor::from_slice(&answers).unsqueeze(1); // (T, 1)
    let mut vocab = Vocab::default();
    let final_answer: Vec<usize> = answers.iter().map(|&a| vocab.index(a as u32)).collect();
    let tokens = lm.tokenizer.labels(&ids);
    let mut headers = vec!["row".to_string(), "position".into(), "input_token".into()];
    for k in 1..=p.top {
        headers.push(format!("guess{k}"));
        headers.push(format!("prob{k}"));
    }
    headers.push("final_answer".into());
    headers.push("final_answer_rank".into());
    let mut table = Table { headers, rows: vec![] };
    let mut cells = Vec::new();
    for (r, lp) in logp.iter().enumerate() {
        let (vals, idx) = lp.topk(p.top as i64, -1, true, true); // (T, k), (T, k)
        let at_answer = lp.gather(1, &answer_t, false); // (T, 1)
        let ranks = Vec::<i64>::try_from(&(lp.gt_tensor(&at_answer).sum_dim_intlist(-1, false, Kind::Int64) + 1))?; // (T)
        let mut row = Vec::new();
        for i in 0..ids.len() {
            let pr: Vec<f64> = Vec::<f64>::try_from(&vals.get(i as i64).exp())?;
            let id: Vec<i64> = Vec::<i64>::try_from(&idx.get(i as i64))?;
            let mut line = vec![rows[r].clone(), i.to_string(), tokens[i].clone()];
            for (t, q) in id.iter().zip(&pr) {
                line.push(lm.tokenizer.token_label(*t as u32));
                line.push(q.to_string());
            }
            line.push(lm.tokenizer.token_label(answers[i] as u32));
            line.push(ranks[i].to_string());
            table.push(line);
            row.push(LensCellData {
                t: id.iter().map(|&t| vocab.index(t as u32)).collect(),
                p: pr,
                rank: ranks[i] as usize,
            });
        }
        cells.push(row);
    }
    let data = LensData {
        title: format!("The logit lens on “{}”", p.prompt),
        subtitle: ctx.subtitle("the residual stream after every block, through the final norm and the unembedding")?,
        rows,
        tokens,
        vocab: vocab.ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect(),
        k: p.top,
        cells,
        final_answer,
    };
    Ok(page(views::lens(&data)?, table))
}

fn embedding_view(ctx: &Ctx, p: &EmbeddingViewParams) -> Result<Figure> {
    let lm = ctx.model()?;
    let mut words = Vec::new();
    let mut group_of = Vec::new();
    for (g, (_, list)) in p.groups.0.iter().enumerate() {
        for w in embedding::word_vectors(lm, list)? {
            words.push(w);
            group_of.push(g);
        }
    }
    if words.len() < 3 {
        return Err(ctx.bad_input(format!("`groups` has {} words; the map needs at least 3", words.len())));
    }
    if words.len() > views::MAX_WORDS {
        return Err(ctx.bad_input(format!(
            "`groups` has {} words; the map shows at most {}",
            words.len(),
            views::MAX_WORDS
        )));
    }
    let vectors: Vec<Vec<f64>> = words.iter().map(|w| w.vector.clone()).collect();
    let pca = Pca::fit(&vectors, 2)?;
    let xy = pca.project(&vectors);
    let k = p.neighbours.clamp(1, 20).min(words.len() - 1);
    let mut table = Table::new(&["word", "group", "token_ids", "pc1", "pc2", "nearest"]);
    let mut points = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let mut near: Vec<(usize, f64)> = (0..words.len())
            .filter(|&j| j != i)
            .map(|j| (j, embedding::cosine(&w.vector, &words[j].vector)))
            .collect();
        near.sort_by(|a, b| b.1.total_cmp(&a.1));
        near.truncate(k);
        table.push(vec![
            w.word.clone(),
            p.groups.0[group_of[i]].0.clone(),
            w.ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
            xy[i][0].to_string(),
            xy[i][1].to_string(),
            near.iter()
                .map(|&(j, c)| format!("{}:{c:.3}", words[j].word))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
        points.push((
            w.word.clone(),
            group_of[i],
            xy[i][0],
            xy[i][1],
            u8::from(w.ids.len() > 1),
            near,
        ));
    }
    let data = EmbeddingData {
        title: "Words in embedding space".into(),
        subtitle: ctx.subtitle(&format!("token embeddings (W_E), {}", pca.describe()))?,
        x_label: pca.axis_label(0),
        y_label: pca.axis_label(1),
        groups: p.groups.0.iter().map(|g| g.0.clone()).collect(),
        points,
    };
    Ok(page(views::embedding(&data)?, table))
}
