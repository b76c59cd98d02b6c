//! In-context learning: a model picks up a task from worked examples placed in its
//! prompt, with no change to its weights (essay, "Beyond basic training": "you only
//! have to tell it something once, as part of the prompt"). A task is a list of
//! (input, output) pairs in `data/icl/<name>.json` (countries and capitals, antonyms,
//! …); for each pair in turn the prompt holds `shots` other pairs as examples, then
//! the pair's input, and the model answers right when greedy decoding would write
//! exactly the pair's output. Accuracy against the number of examples is the curve.
//!
//! Which examples: the task's pairs stand in a fixed order (the file's, or a seeded
//! shuffle of it), and the examples for pair i are the `shots` pairs after it in that
//! order, wrapping around; so the examples for 2 shots are the first two of those for
//! 4 shots, and pair i is never its own example. The answer is scored by teacher forcing
//! ([`crate::probes::continuation_logprobs`]): greedy decoding writes the answer exactly
//! when each of its tokens is the most likely at its position, so one forward pass per
//! prompt tells both whether the answer is right and its probability.

use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::CausalLm;
use crate::probes::{self, continuation_logprobs};
use crate::tokenizer::Tokenizer;
use crate::LoadedModel;

/// A task: how each example is written, and its pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    #[serde(skip_deserializing)]
    pub name: String,
    /// What the task is and where its pairs come from.
    pub about: String,
    /// How an input is written, with `{input}` for it, e.g. `"{input} ->"`.
    pub query_format: String,
    /// How an output is written after it, with `{output}`, e.g. `" {output}"`.
    pub answer_format: String,
    /// What separates one example from the next, e.g. `"\n"`.
    pub separator: String,
    /// (input, output) pairs.
    pub pairs: Vec<(String, String)>,
}

/// The folder of the committed tasks.
pub fn tasks_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join("icl")
}

impl Task {
    /// Reads `data/icl/<name>.json`, or a path ending in `.json`.
    pub fn load(name: &str) -> Result<Self> {
        let dir = tasks_dir();
        let path = probes::resolve(name, &dir);
        let mut task: Task = probes::read_json(&path, &dir, "task")?;
        task.name = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_string();
        task.check().map_err(|msg| Error::BadData { path, msg })?;
        Ok(task)
    }

    /// Whether the task can be run: at least two pairs, formats with their
    /// placeholder, nothing empty.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.pairs.len() < 2 {
            return Err(format!(
                "a task needs at least two pairs (one to ask, one as an example), got {}",
                self.pairs.len()
            ));
        }
        if !self.query_format.contains("{input}") {
            return Err(format!("query_format {:?} has no {{input}}", self.query_format));
        }
        if !self.answer_format.contains("{output}") {
            return Err(format!("answer_format {:?} has no {{output}}", self.answer_format));
        }
        if let Some(i) = self.pairs.iter().position(|(a, b)| a.is_empty() || b.is_empty()) {
            return Err(format!("pairs[{i}] has an empty input or output"));
        }
        Ok(())
    }

    /// Pair i's input as written in a prompt, e.g. "France ->".
    pub fn query(&self, i: usize) -> String {
        self.query_format.replace("{input}", &self.pairs[i].0)
    }

    /// Pair i's output as written after its input, e.g. " Paris".
    pub fn answer(&self, i: usize) -> String {
        self.answer_format.replace("{output}", &self.pairs[i].1)
    }

    /// The prompt asking pair `query` after the example pairs `examples`:
    /// "France -> Paris\nJapan -> Tokyo\nItaly ->".
    pub fn prompt(&self, query: usize, examples: &[usize]) -> String {
        let mut parts: Vec<String> = examples.iter().map(|&e| self.query(e) + &self.answer(e)).collect();
        parts.push(self.query(query));
        parts.join(&self.separator)
    }
}

/// The order examples are drawn in: the file's (`None`) or a shuffle seeded by `seed`.
pub fn order(n: usize, seed: Option<u64>) -> Vec<usize> {
    let mut o: Vec<usize> = (0..n).collect();
    if let Some(s) = seed {
        o.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(s));
    }
    o
}

/// The examples for pair `query`: the `shots` pairs after it in `order`, wrapping.
pub fn examples(order: &[usize], query: usize, shots: usize) -> Vec<usize> {
    let at = order.iter().position(|&p| p == query).unwrap_or(0);
    (1..=shots).map(|k| order[(at + k) % order.len()]).collect()
}

/// One question of the evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct IclItem {
    pub shots: usize,
    /// The pair asked (index into the task's pairs).
    pub pair: usize,
    pub prompt: String,
    pub answer: String,
    /// log p(answer | prompt).
    pub logprob: f64,
    /// Whether greedy decoding writes exactly the answer.
    pub correct: bool,
}

/// Accuracy and mean probability of the right answer for each number of examples.
#[derive(Debug, Clone, Serialize)]
pub struct IclCurve {
    pub task: String,
    pub shots: Vec<usize>,
    /// Share of pairs answered right, per entry of `shots`.
    pub accuracy: Vec<f64>,
    /// Mean p(answer | prompt), per entry of `shots`.
    pub mean_prob: Vec<f64>,
    /// Every question, `shots` by `shots`.
    pub items: Vec<IclItem>,
}

/// Asks every pair of `task` with each number of examples in `shots`.
pub fn evaluate_with<M: CausalLm + ?Sized>(
    model: &M,
    tok: &Tokenizer,
    task: &Task,
    shots: &[usize],
    seed: Option<u64>,
) -> Result<IclCurve> {
    let n = task.pairs.len();
    task.check().map_err(|msg| Error::BadHyperParameter {
        name: format!("task `{}`", task.name),
        value: String::new(),
        rule: msg,
    })?;
    if shots.is_empty() {
        return Err(Error::BadHyperParameter {
            name: "shots".into(),
            value: "[]".into(),
            rule: "a list of at least one number of examples".into(),
        });
    }
    if let Some(&k) = shots.iter().find(|&&k| k >= n) {
        return Err(Error::BadHyperParameter {
            name: "shots".into(),
            value: k.to_string(),
            rule: format!(
                "at most {} for task `{}` (each prompt's examples are the task's other pairs)",
                n - 1,
                task.name
            ),
        });
    }
    let order = order(n, seed);
    let progress = crate::progress::start("in-context", (shots.len() * n) as u64);
    let mut items = Vec::with_capacity(shots.len() * n);
    let (mut accuracy, mut mean_prob) = (Vec::new(), Vec::new());
    for &k in shots {
        let (mut right, mut prob) = (0usize, 0.0);
        for pair in 0..n {
            let prompt = task.prompt(pair, &examples(&order, pair, k));
            let answer = task.answer(pair);
            let (lps, top) = continuation_logprobs(model, &tok.encode(&prompt)?, &tok.encode(&answer)?)?;
            let logprob: f64 = lps.iter().sum();
            let correct = top.iter().all(|&b| b);
            right += correct as usize;
            prob += logprob.exp();
            items.push(IclItem {
                shots: k,
                pair,
                prompt,
                answer,
                logprob,
                correct,
            });
            progress.update(items.len() as u64, &format!("{} examples", k));
        }
        accuracy.push(right as f64 / n as f64);
        mean_prob.push(prob / n as f64);
    }
    progress.finish();
    Ok(IclCurve {
        task: task.name.clone(),
        shots: shots.to_vec(),
        accuracy,
        mean_prob,
        items,
    })
}

/// [`evaluate_with`] on a loaded model.
pub fn evaluate(lm: &LoadedModel, task: &Task, shots: &[usize], seed: Option<u64>) -> Result<IclCurve> {
    evaluate_with(&lm.model, &lm.tokenizer, task, shots, seed)
}
