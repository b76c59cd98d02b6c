//! Asking a model to choose: the log-probability it gives each of several continuations
//! of one prompt, and sets of such choices read from `data/probes/<name>.json` (essay,
//! "What really lets ChatGPT work": the syntax a model has picked up without being
//! told the rules). A minimal pair is the simplest case: after "The keys to the
//! cabinet", does the model prefer " are" (agreeing with "keys") to " is" (agreeing with
//! the nearer "cabinet")? The same scorer serves nesting (which bracket closes), simple
//! syllogisms, and the in-context learning evaluation ([`crate::icl`]).
//!
//! A continuation is tokenized on its own (mind the leading space: `" are"`) and
//! appended to the prompt's tokens; its log-probability is the sum, over its tokens, of
//! the log-softmax of the model's logits at the position before each token (teacher
//! forcing). One forward pass per continuation. `tests/probes.rs` holds the numbers
//! against a softmax computed separately and against Hugging Face transformers.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Kind;

use crate::error::{Error, Result};
use crate::hooks::NoCapture;
use crate::model::gpt2::ids_tensor;
use crate::model::CausalLm;
use crate::tokenizer::Tokenizer;
use crate::LoadedModel;

/// How a model scores one continuation of a prompt.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// The continuation as given (e.g. `" are"`).
    pub text: String,
    pub ids: Vec<u32>,
    /// log p of each of its tokens given everything before it.
    pub token_logprobs: Vec<f64>,
    /// Their sum: log p(continuation | prompt).
    pub logprob: f64,
    /// Whether every token was the model's most likely one at its position, i.e.
    /// greedy decoding would write exactly this continuation.
    pub greedy: bool,
}

impl Scored {
    /// p(continuation | prompt).
    pub fn prob(&self) -> f64 {
        self.logprob.exp()
    }
}

/// log p of each token of `cont` after `prompt` (teacher forcing, one forward pass of
/// prompt + cont without its last token), and whether each was the most likely token
/// at its position (a tie counts as most likely).
pub fn continuation_logprobs<M: CausalLm + ?Sized>(
    model: &M,
    prompt: &[u32],
    cont: &[u32],
) -> Result<(Vec<f64>, Vec<bool>)> {
    if prompt.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    if cont.is_empty() {
        return Err(Error::EmptyContinuation);
    }
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(&cont[..cont.len() - 1]);
    let logits = model.forward(&ids_tensor(&ids), None, &mut NoCapture)?; // (1, T, V)
    let rows = logits
        .get(0) // (T, V)
        .narrow(0, prompt.len() as i64 - 1, cont.len() as i64) // (N, V): the positions before each token
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Double)
        .log_softmax(-1, Kind::Double); // (N, V)
    let best = rows.amax([-1i64].as_slice(), false); // (N)
    let mut lps = Vec::with_capacity(cont.len());
    let mut top = Vec::with_capacity(cont.len());
    for (j, &t) in cont.iter().enumerate() {
        let lp = rows.double_value(&[j as i64, t as i64]);
        lps.push(lp);
        top.push(lp >= best.double_value(&[j as i64]));
    }
    Ok((lps, top))
}

/// Scores `text` as a continuation of the prompt's tokens.
pub fn score<M: CausalLm + ?Sized>(model: &M, tok: &Tokenizer, prompt: &[u32], text: &str) -> Result<Scored> {
    if text.is_empty() {
        return Err(Error::EmptyContinuation);
    }
    let ids = tok.encode(text)?;
    let (token_logprobs, top) = continuation_logprobs(model, prompt, &ids)?;
    Ok(Scored {
        text: text.to_string(),
        ids,
        logprob: token_logprobs.iter().sum(),
        greedy: top.iter().all(|&b| b),
        token_logprobs,
    })
}

/// Several continuations of one prompt, scored.
#[derive(Debug, Clone, Serialize)]
pub struct Alternatives {
    pub prompt: String,
    pub scored: Vec<Scored>,
    /// Each continuation's probability as a share of theirs together:
    /// p_i / sum_j p_j (what the model would choose if it had only these).
    pub share: Vec<f64>,
    /// The index of the most likely one (the first of equals).
    pub best: usize,
}

/// Scores every continuation in `alternatives` after `prompt`.
pub fn score_alternatives<M: CausalLm + ?Sized>(
    model: &M,
    tok: &Tokenizer,
    prompt: &str,
    alternatives: &[&str],
) -> Result<Alternatives> {
    if alternatives.is_empty() {
        return Err(Error::NoAlternatives);
    }
    let ids = tok.encode(prompt)?;
    let scored: Vec<Scored> = alternatives
        .iter()
        .map(|a| score(model, tok, &ids, a))
        .collect::<Result<_>>()?;
    let max = scored.iter().map(|s| s.logprob).fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = scored.iter().map(|s| (s.logprob - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let best = scored.iter().position(|s| s.logprob == max).unwrap_or(0);
    Ok(Alternatives {
        prompt: prompt.to_string(),
        share: w.iter().map(|x| x / total).collect(),
        scored,
        best,
    })
}

/// One choice of a probe set: a prompt, the continuation a speaker of the language
/// would choose, and the ones that break the rule being probed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeItem {
    /// A label grouping items (e.g. "attractor", "centre-embedded").
    pub kind: String,
    pub prompt: String,
    pub right: String,
    pub wrong: Vec<String>,
}

/// A named set of choices (`data/probes/<name>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSet {
    #[serde(skip_deserializing)]
    pub name: String,
    /// What the set probes and where its items come from.
    pub about: String,
    pub items: Vec<ProbeItem>,
}

/// The folder of the committed probe sets.
pub fn probes_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join("probes")
}

/// A name (`agreement`: `data/probes/agreement.json`) or a path to a `.json` file.
pub(crate) fn resolve(name: &str, dir: &Path) -> PathBuf {
    if name.ends_with(".json") || name.contains('/') {
        PathBuf::from(name)
    } else {
        dir.join(format!("{name}.json"))
    }
}

/// The `.json` names in `dir`, for error messages.
pub(crate) fn known_names(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.join(", ")
}

/// Reads a JSON data file of `what` (a probe set, a task) with one-line errors.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path, dir: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.into(),
                what: format!("no such {what}; the committed ones: {}", known_names(dir)),
            }
        } else {
            Error::io(path, e)
        }
    })?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| Error::BadData {
        path: path.into(),
        msg: format!("not a {what}: at `{}`: {}", e.path(), e.inner()),
    })
}

impl ProbeSet {
    /// Reads `data/probes/<name>.json`, or a path ending in `.json`.
    pub fn load(name: &str) -> Result<Self> {
        let dir = probes_dir();
        let path = resolve(name, &dir);
        let mut set: ProbeSet = read_json(&path, &dir, "probe set")?;
        set.name = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_string();
        let bad = |msg: String| Error::BadData {
            path: path.clone(),
            msg,
        };
        if set.items.is_empty() {
            return Err(bad("the set has no items".into()));
        }
        for (i, it) in set.items.iter().enumerate() {
            if it.prompt.is_empty()
                || it.right.is_empty()
                || it.wrong.is_empty()
                || it.wrong.iter().any(String::is_empty)
            {
                return Err(bad(format!(
                    "items[{i}] needs a prompt, a right continuation and at least one wrong one, none empty"
                )));
            }
            if it.wrong.contains(&it.right) {
                return Err(bad(format!("items[{i}]: {:?} is both right and wrong", it.right)));
            }
        }
        Ok(set)
    }
}

/// How the model did on one item.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub item: ProbeItem,
    /// The right continuation first, then the wrong ones in order.
    pub alternatives: Alternatives,
    /// log p(right) minus the largest log p(wrong): above 0 means right.
    pub margin: f64,
    pub correct: bool,
}

/// How the model did on a probe set.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub set: String,
    pub results: Vec<ProbeResult>,
}

impl ProbeReport {
    /// The share of items where the right continuation is strictly the most likely.
    pub fn accuracy(&self) -> f64 {
        self.results.iter().filter(|r| r.correct).count() as f64 / self.results.len().max(1) as f64
    }
    /// (kind, right, items) per kind, in order of first appearance.
    pub fn by_kind(&self) -> Vec<(String, usize, usize)> {
        let mut out: Vec<(String, usize, usize)> = Vec::new();
        for r in &self.results {
            let i = match out.iter().position(|k| k.0 == r.item.kind) {
                Some(i) => i,
                None => {
                    out.push((r.item.kind.clone(), 0, 0));
                    out.len() - 1
                }
            };
            out[i].1 += r.correct as usize;
            out[i].2 += 1;
        }
        out
    }
}

/// Runs every item of `set` on a model and its tokenizer.
pub fn run_with<M: CausalLm + ?Sized>(model: &M, tok: &Tokenizer, set: &ProbeSet) -> Result<ProbeReport> {
    let task = crate::progress::start("probes", set.items.len() as u64);
    let mut results = Vec::with_capacity(set.items.len());
    for (i, item) in set.items.iter().enumerate() {
        let mut alts: Vec<&str> = vec![item.right.as_str()];
        alts.extend(item.wrong.iter().map(String::as_str));
        let a = score_alternatives(model, tok, &item.prompt, &alts)?;
        let wrong_best = a.scored[1..]
            .iter()
            .map(|s| s.logprob)
            .fold(f64::NEG_INFINITY, f64::max);
        let margin = a.scored[0].logprob - wrong_best;
        results.push(ProbeResult {
            item: item.clone(),
            alternatives: a,
            margin,
            correct: margin > 0.0,
        });
        task.update(i as u64 + 1, &set.name);
    }
    task.finish();
    Ok(ProbeReport {
        set: set.name.clone(),
        results,
    })
}

/// Runs every item of `set` on a loaded model.
pub fn run(lm: &LoadedModel, set: &ProbeSet) -> Result<ProbeReport> {
    run_with(&lm.model, &lm.tokenizer, set)
}
