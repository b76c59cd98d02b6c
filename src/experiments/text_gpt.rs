//! A small GPT-2 trained here on English text, for the essay's section "The training of
//! ChatGPT" (notebook 08, figures in [`crate::figures::training`]): the project's own
//! decoder configured as GPT-2 and built with fresh weights ([`Gpt2::new_trainable`]),
//! trained from scratch to predict the next character of the project's English sample
//! (`data/cache/corpora/english`, or any corpus given), on the CPU in a few minutes.
//! Its weights are saved at a list of steps (checkpoints) so that what it writes, how
//! well it predicts held-out text and what its attention heads do can be read at each
//! stage of training.
//!
//! **Vocabulary: characters.** GPT-2's own vocabulary of 50,257 tokens would put
//! 50,257 x C weights in the embedding alone (6.4 M at C = 128, fifteen times the rest
//! of the model), and a run of a few million characters would see most of those tokens
//! never or once. With characters the embedding is tiny, every symbol is seen thousands
//! of times, and a sample shows the stages of learning one by one: random symbols,
//! then letters in English proportions, then word-like runs and spaces, then real
//! words and short phrases. The vocabulary ([`CharVocab`]) is the `vocab_size - 1`
//! most frequent characters of the corpus, plus one token `¤` ([`OTHER`]) standing for
//! every rarer character.
//!
//! **The text** ([`TextData::load`]): the corpus's files in [`Corpus::open`]'s order,
//! each with every run of spaces, tabs and line breaks (`' '`, `\t`, `\n`, `\r`) made
//! one space and trimmed at both ends ([`normalise`]), joined by one space. The stream
//! is cut into blocks of [`BLOCK`] characters; every [`HELD_OUT_EVERY`]-th block
//! (blocks 19, 39, ...) is held out, never trained on, and measures how well the model
//! predicts text it has not seen. `scripts/fixtures/text_gpt_reference.py` repeats all
//! of this in plain Python (the test's independent reference).
//!
//! **Training** ([`train_model`]): [`crate::train::train_steps`] with Adam, each step a
//! batch of windows of `n_ctx + 1` characters at random places of the training stream
//! (seeded), the loss the mean cross-entropy of every next character. The weights of
//! every checkpoint are kept as extra (untrained) variables of the same var store, so
//! [`crate::train::TrainCache`] stores them all in one file in `data/cache/trained`
//! (`text-gpt-<hash>.safetensors`, keyed by the whole [`TextGptConfig`] and the
//! SHA-256 of the text), written atomically under a lock; the same seed gives the same
//! weights and the same loss history.
//!
//! **One thread.** Training and reading the checkpoints run on one libtorch thread
//! ([`on_one_thread`]; the caller's setting is restored afterwards). The matrices are
//! small (128 x 128), so a second thread gains little on an idle machine and costs a
//! lot on a busy one (measured on 2 busy cores: 60 steps of the small budget in 3 s on
//! one thread, 35 s on two), and the sums then come out the same bit for bit whatever
//! the number of cores of the machine.
//!
//! **Reading the checkpoints**: [`TextGpt::held_out_loss`], [`sample`] (temperature
//! sampling with the project's seeded [`Sampler`], any length: the window slides) and
//! [`head_report`] (the previous-token, duplicate-token and induction scores of
//! [`crate::analysis::heads`] on random letters repeated twice, and the loss on the
//! first and the second copy: a model with an induction head predicts the second copy
//! much better).

use std::collections::HashMap;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::analysis::heads::{detection_score, score_heads, HeadKind};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::model::{Gpt2, Gpt2Config, LanguageModel};
use crate::sampling::{Sampler, Sampling};
use crate::train::{self, check_size, History, Optimizer, TrainCache, TrainConfig};

/// The token that stands for every character outside the vocabulary.
pub const OTHER: char = '¤';
/// Characters per block of the held-out split.
pub const BLOCK: usize = 4096;
/// One block in this many is held out (the last of each group: 19, 39, ...).
pub const HELD_OUT_EVERY: usize = 20;
/// The cache's name for these nets (`text-gpt-<hash>.safetensors`).
pub const CACHE_NAME: &str = "text-gpt";

/// Makes every run of spaces, tabs and line breaks one space, and trims them at both
/// ends: "Call me\n  Ishmael.\n" -> "Call me Ishmael.". Other characters (a no-break
/// space, an em dash) stay as they are.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A character vocabulary: ids 0.. are characters by falling frequency, the last id is
/// [`OTHER`].
#[derive(Debug, Clone, PartialEq)]
pub struct CharVocab {
    /// id -> character; the last is [`OTHER`].
    chars: Vec<char>,
    index: HashMap<char, u8>,
    /// The ids of ASCII characters, for speed (18 M look-ups per load).
    ascii: [u8; 128],
}

impl CharVocab {
    /// The `size - 1` most frequent characters of `counts` (ties: the smaller code point
    /// first), then [`OTHER`]; fewer when the text has fewer distinct characters.
    /// `size` must be between 2 and 256.
    pub fn from_counts(counts: &HashMap<char, u64>, size: usize) -> Result<Self> {
        if !(2..=256).contains(&size) {
            return Err(train::bad_hyper_parameter(
                "vocabulary size",
                size,
                "between 2 and 256 characters (one of them stands for all the rest)",
            ));
        }
        let mut by_count: Vec<(char, u64)> = counts.iter().map(|(&c, &n)| (c, n)).filter(|p| p.1 > 0).collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut chars: Vec<char> = by_count.into_iter().map(|p| p.0).take(size - 1).collect();
        chars.push(OTHER);
        Ok(Self::from_chars(chars))
    }

    fn from_chars(chars: Vec<char>) -> Self {
        // OTHER is looked up only by id: a text holding '¤' itself maps it to OTHER too.
        let index: HashMap<char, u8> = chars[..chars.len() - 1]
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u8))
            .collect();
        let other = (chars.len() - 1) as u8;
        let mut ascii = [other; 128];
        for (&c, &i) in &index {
            if c.is_ascii() {
                ascii[c as usize] = i;
            }
        }
        CharVocab { chars, index, ascii }
    }

    /// Number of ids, [`OTHER`] included.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Never true: a vocabulary always holds [`OTHER`].
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters in id order, [`OTHER`] last.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id of [`OTHER`].
    pub fn other_id(&self) -> u8 {
        (self.chars.len() - 1) as u8
    }

    /// The id of `c` ([`OTHER`]'s for a character outside the vocabulary).
    pub fn id(&self, c: char) -> u8 {
        if c.is_ascii() {
            return self.ascii[c as usize];
        }
        self.index.get(&c).copied().unwrap_or_else(|| self.other_id())
    }

    /// Ids of a text (run through [`normalise`] first).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        normalise(text).chars().map(|c| self.id(c) as u32).collect()
    }

    /// The text of ids; an id beyond the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        ids.iter()
            .map(|&i| {
                self.chars.get(i as usize).copied().ok_or(Error::BadTokenId {
                    id: i as i64,
                    vocab: self.len(),
                })
            })
            .collect()
    }
}

/// The corpus as character ids, split into training and held-out text.
#[derive(Debug, Clone)]
pub struct TextData {
    pub vocab: CharVocab,
    /// The vocabulary size asked for (the vocabulary may be smaller).
    pub vocab_size: usize,
    /// Ids of the training text (every block but the held-out ones, in order).
    pub train: Vec<u8>,
    /// Ids of the held-out blocks, in order.
    pub held_out: Vec<u8>,
    /// How many times each id occurs in the training text and in the held-out text.
    pub train_counts: Vec<u64>,
    pub held_out_counts: Vec<u64>,
    /// SHA-256 (hex) of the normalised text as UTF-8: part of the cache key.
    pub sha256: String,
    /// "18.1 MB in 235 files" (see [`Corpus::describe`]).
    pub corpus: String,
}

impl TextData {
    /// Reads `corpus`, normalises it, picks the vocabulary of at most `vocab_size`
    /// characters and splits the ids (see the module docs).
    pub fn load(corpus: &Corpus, vocab_size: usize) -> Result<Self> {
        let mut text = String::with_capacity(corpus.bytes as usize);
        for path in &corpus.files {
            let raw = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let part = normalise(&raw);
            if part.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&part);
        }
        Self::from_text(&text, vocab_size, &corpus.describe())
    }

    /// The default English sample (`data/cache/corpora/english`, fetched by `make
    /// setup`).
    pub fn load_default(vocab_size: usize) -> Result<Self> {
        Self::load(&Corpus::default_english()?, vocab_size)
    }

    /// The corpus at `path`, or the default English sample when `path` is empty.
    pub fn load_path(path: &str, vocab_size: usize) -> Result<Self> {
        if path.is_empty() {
            Self::load_default(vocab_size)
        } else {
            Self::load(&Corpus::open(path)?, vocab_size)
        }
    }

    /// From text that is already normalised (see [`normalise`]); `corpus` names it.
    pub fn from_text(text: &str, vocab_size: usize, corpus: &str) -> Result<Self> {
        let mut counts: HashMap<char, u64> = HashMap::new();
        for c in text.chars() {
            *counts.entry(c).or_default() += 1;
        }
        let vocab = CharVocab::from_counts(&counts, vocab_size)?;
        let (mut train, mut held_out) = (Vec::with_capacity(text.len()), Vec::new());
        let mut train_counts = vec![0u64; vocab.len()];
        let mut held_out_counts = vec![0u64; vocab.len()];
        for (i, c) in text.chars().enumerate() {
            let id = vocab.id(c);
            if (i / BLOCK) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 {
                held_out.push(id);
                held_out_counts[id as usize] += 1;
            } else {
                train.push(id);
                train_counts[id as usize] += 1;
            }
        }
        let sha256 = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(TextData {
            vocab,
            vocab_size,
            train,
            held_out,
            train_counts,
            held_out_counts,
            sha256,
            corpus: corpus.to_string(),
        })
    }

    /// Checks that both streams hold at least one window of `n_ctx + 1` characters.
    pub fn check_fits(&self, n_ctx: usize) -> Result<()> {
        let need = n_ctx + 2;
        for (what, len) in [("training", self.train.len()), ("held-out", self.held_out.len())] {
            if len < need {
                return Err(train::bad_hyper_parameter(
                    &format!("the {what} text of {}", self.corpus),
                    format!("{len} characters"),
                    &format!(
                        "at least {need} characters for one window of the context ({n_ctx}) plus the next character; the held-out text is every {HELD_OUT_EVERY}th block of {BLOCK} characters, so give a corpus of at least {} characters",
                        HELD_OUT_EVERY * BLOCK
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Entropy of single characters in the training text, in nats: the loss of a model
    /// that knows only how often each character occurs.
    pub fn unigram_entropy(&self) -> f64 {
        entropy(&self.train_counts)
    }

    /// Entropy of a character given the one before it (pairs of neighbours in the
    /// training stream), in nats: the loss of the best model that looks back one
    /// character, on the text it was counted on.
    pub fn bigram_entropy(&self) -> f64 {
        let v = self.vocab.len();
        let mut pairs = vec![0u64; v * v];
        for w in self.train.windows(2) {
            pairs[w[0] as usize * v + w[1] as usize] += 1;
        }
        let total: u64 = pairs.iter().sum();
        let mut h = 0.0;
        for row in pairs.chunks(v) {
            let n: u64 = row.iter().sum();
            for &c in row.iter().filter(|&&c| c > 0) {
                h -= c as f64 / total as f64 * (c as f64 / n as f64).ln();
            }
        }
        h
    }

    /// A batch of `b` windows at random places of the training text: inputs (b, t)
    /// and the next characters (b, t).
    pub fn batch(&self, rng: &mut impl Rng, b: usize, t: usize) -> (Tensor, Tensor) {
        let (mut x, mut y) = (Vec::with_capacity(b * t), Vec::with_capacity(b * t));
        for _ in 0..b {
            let s = rng.random_range(0..self.train.len() - t);
            x.extend(self.train[s..s + t].iter().map(|&i| i as i64));
            y.extend(self.train[s + 1..s + t + 1].iter().map(|&i| i as i64));
        }
        let shape = [b as i64, t as i64];
        (Tensor::from_slice(&x).view(shape), Tensor::from_slice(&y).view(shape))
        // (B, T), (B, T)
    }

    /// `n` windows of `t + 1` held-out characters spread evenly over the held-out text.
    pub fn held_out_windows(&self, n: usize, t: usize) -> Vec<&[u8]> {
        let last = self.held_out.len() - t - 1;
        (0..n)
            .map(|k| k * last / n.max(1))
            .map(|s| &self.held_out[s..s + t + 1])
            .collect()
    }
}

/// -sum p ln p of the distribution given by `counts`, in nats.
pub fn entropy(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.ln()
        })
        .sum()
}

/// Everything that decides the trained weights (with the text's SHA-256: the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGptConfig {
    /// Transformer blocks (at least 2 for an induction head: it needs a head of an
    /// earlier block to have moved information first).
    pub n_layer: usize,
    /// Attention heads per block.
    pub n_head: usize,
    /// Feature length C.
    pub n_embd: usize,
    /// The context window: characters the model sees at once (and per training window).
    pub n_ctx: usize,
    /// Characters in the vocabulary, [`OTHER`] included (at most 256).
    pub vocab_size: usize,
    /// Steps after which the weights are kept (0 = before any training), increasing,
    /// none beyond `train.iterations`.
    pub checkpoints: Vec<usize>,
    /// Seed, optimiser, learning rate, steps (`epochs`) and windows per step (`batch_size`).
    pub train: TrainConfig,
}

/// 0, then `first`, 2 `first`, 4 `first`, ... below `last`, then `last`: checkpoints
/// evenly spaced on a log scale of steps, where most of the change happens early.
pub fn doubling_checkpoints(first: usize, last: usize) -> Vec<usize> {
    let mut out = vec![0];
    let mut s = first.max(1);
    while s < last {
        out.push(s);
        s *= 2;
    }
    if last > 0 {
        out.push(last);
    }
    out
}

impl TextGptConfig {
    /// What the figures and notebook 08 use: 2 blocks, 4 heads, C = 128, a context of
    /// 128 characters, 96 characters; 800 steps of 32 windows (3.3 M characters), Adam
    /// at 3e-3; checkpoints at steps 0, 4, 8, ..., 512 and 800. Measured (README): about
    /// two minutes on 2 CPU cores.
    pub fn default_budget() -> Self {
        let iterations = 800;
        TextGptConfig {
            n_layer: 2,
            n_head: 4,
            n_embd: 128,
            n_ctx: 128,
            vocab_size: 96,
            checkpoints: doubling_checkpoints(4, iterations),
            train: TrainConfig {
                seed: 1,
                optimizer: Optimizer::Adam,
                lr: 3e-3,
                iterations,
                batch_size: 32,
                progress: true,
            },
        }
    }

    /// For tests and exercises (tens of seconds): 2 blocks, 2 heads, C = 64, a context
    /// of 64 characters; 300 steps of 16 windows (0.3 M characters).
    pub fn small_budget() -> Self {
        let iterations = 300;
        TextGptConfig {
            n_layer: 2,
            n_head: 2,
            n_embd: 64,
            n_ctx: 64,
            vocab_size: 96,
            checkpoints: doubling_checkpoints(10, iterations),
            train: TrainConfig {
                seed: 1,
                optimizer: Optimizer::Adam,
                lr: 3e-3,
                iterations,
                batch_size: 16,
                progress: true,
            },
        }
    }

    /// Ten times the default's steps at a lower learning rate (about 20 minutes on 2
    /// cores, estimated from the per-step cost).
    pub fn full_budget() -> Self {
        let mut c = Self::default_budget();
        c.train.iterations = 8000;
        c.train.lr = 2e-3;
        c.checkpoints = doubling_checkpoints(4, c.train.iterations);
        c
    }

    /// The budget a figure parameter names: "small", "default" or "full".
    pub fn named(budget: &str) -> Result<Self> {
        match budget {
            "small" => Ok(Self::small_budget()),
            "default" => Ok(Self::default_budget()),
            "full" => Ok(Self::full_budget()),
            other => Err(train::bad_hyper_parameter(
                "budget",
                format!("{other:?}"),
                "\"small\", \"default\" or \"full\"",
            )),
        }
    }

    /// Checks the sizes, the checkpoints and the training hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        self.train.validate()?;
        train::check_gpt_shape(self.n_layer, self.n_head, self.n_embd)?;
        if self.n_ctx < 4 {
            return Err(train::bad_hyper_parameter(
                "context window",
                self.n_ctx,
                "at least 4 characters",
            ));
        }
        if !(2..=256).contains(&self.vocab_size) {
            return Err(train::bad_hyper_parameter(
                "vocabulary size",
                self.vocab_size,
                "between 2 and 256 characters",
            ));
        }
        let cps = &self.checkpoints;
        if cps.is_empty() || cps.windows(2).any(|w| w[0] >= w[1]) || cps.last() > Some(&self.train.iterations) {
            return Err(train::bad_hyper_parameter(
                "checkpoints",
                format!("{cps:?}"),
                &format!(
                    "at least one step, increasing, none beyond the {} training steps",
                    self.train.iterations
                ),
            ));
        }
        Ok(())
    }

    /// The GPT-2 configuration for a vocabulary of `vocab_len` characters.
    pub fn gpt2_config(&self, vocab_len: usize) -> Gpt2Config {
        Gpt2Config::preset(vocab_len, self.n_ctx, self.n_embd, self.n_layer, self.n_head)
    }

    /// Characters in one training step (windows x context).
    pub fn tokens_per_step(&self) -> usize {
        self.train.batch_size * self.n_ctx
    }

    /// "2 blocks, 4 heads, C = 128, context 128; 800 steps x 32 windows = 3.28 M characters".
    pub fn describe(&self) -> String {
        format!(
            "{} block{}, {} heads, C = {}, context {}; {} steps x {} windows = {:.2} M characters",
            self.n_layer,
            if self.n_layer == 1 { "" } else { "s" },
            self.n_head,
            self.n_embd,
            self.n_ctx,
            self.train.iterations,
            self.train.batch_size,
            (self.train.iterations * self.tokens_per_step()) as f64 / 1e6
        )
    }
}

/// The weights after `step` training steps.
pub struct Checkpoint {
    pub step: usize,
    /// Characters seen by then (steps x windows x context).
    pub tokens: usize,
    pub model: LanguageModel,
}

/// A trained text model with its checkpoints.
pub struct TextGpt {
    pub config: TextGptConfig,
    pub vocab: CharVocab,
    /// The weights at the end of training.
    pub model: LanguageModel,
    /// The weights at each of `config.checkpoints`, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// Keeps the weights alive (the models' tensors are its variables).
    pub vs: tch::nn::VarStore,
    /// The training loss of every step (nats per character).
    pub history: History,
    pub from_cache: bool,
    /// Seconds the training took when it ran (kept with the weights, so also known
    /// when they come from the cache).
    pub train_seconds: f64,
}

/// Runs `f` with libtorch's intra-op threads set to one, then restores the setting
/// (also when `f` panics).
pub fn on_one_thread<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            tch::set_num_threads(self.0);
        }
    }
    let _restore = Restore(tch::get_num_threads());
    tch::set_num_threads(1);
    f()
}

/// Splits "h.0.ln_1.weight" into var-store sub-paths under `root` and makes an
/// untrained variable of `shape` there.
fn untrained_var(root: &tch::nn::Path, name: &str, shape: &[i64]) -> Tensor {
    let mut parts: Vec<&str> = name.split('.').collect();
    let leaf = parts.pop().expect("a variable name is not empty");
    let sub = parts.iter().fold(root.clone(), |p, part| p / *part);
    sub.zeros_no_train(leaf, shape)
}

/// Trains (or loads from `cache`) the model of `cfg` on `data`, keeping the weights at
/// every checkpoint. `data` must have been loaded with `cfg.vocab_size`.
pub fn train_model(cfg: &TextGptConfig, data: &TextData, cache: &TrainCache) -> Result<TextGpt> {
    on_one_thread(|| train_on_this_thread(cfg, data, cache))
}

fn train_on_this_thread(cfg: &TextGptConfig, data: &TextData, cache: &TrainCache) -> Result<TextGpt> {
    cfg.validate()?;
    if data.vocab_size != cfg.vocab_size {
        return Err(train::bad_hyper_parameter(
            "vocabulary size",
            cfg.vocab_size,
            &format!(
                "the size the text was loaded with ({}): load it with TextData::load(corpus, {})",
                data.vocab_size, cfg.vocab_size
            ),
        ));
    }
    data.check_fits(cfg.n_ctx)?;
    let v = data.vocab.len();
    let gcfg = cfg.gpt2_config(v);
    let (mut vs, model) = train::seeded(cfg.train.seed, |p| Gpt2::new_trainable(&(p / "model"), gcfg.clone()))?;
    // The model's variables by checkpoint name ("h.0.ln_1.weight"), sorted.
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter_map(|(k, t)| k.strip_prefix("model.").map(|n| (n.to_string(), t)))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let root = vs.root();
    let snapshots: Vec<Vec<Tensor>> = (0..cfg.checkpoints.len())
        .map(|k| {
            let at = &root / "checkpoint" / k;
            named.iter().map(|(n, t)| untrained_var(&at, n, &t.size())).collect()
        })
        .collect();
    let seconds_var = root.zeros_no_train("train_seconds", &[1]); // (1)
    let snapshot = |k: usize| {
        tch::no_grad(|| {
            for ((_, live), kept) in named.iter().zip(&snapshots[k]) {
                let mut kept = kept.shallow_clone();
                kept.copy_(live);
            }
        })
    };
    let key = json!({
        "experiment": "next character of English text",
        "config": cfg,
        "text_sha256": data.sha256,
        "vocabulary": data.vocab.chars().iter().collect::<String>(),
    });
    let trained = cache.load_or_train(CACHE_NAME, &key, &mut vs, |vs| {
        let start = Instant::now();
        let mut next = 0;
        let history = train::train_steps(vs, &cfg.train, |step, rng| {
            while next < cfg.checkpoints.len() && cfg.checkpoints[next] == step {
                snapshot(next);
                next += 1;
            }
            let (x, y) = data.batch(rng, cfg.train.batch_size, cfg.n_ctx); // (B, T), (B, T)
            let logits = model.forward_train(&x)?; // (B, T, V)
            Ok(logits.view([-1, v as i64]).cross_entropy_for_logits(&y.view([-1])))
            // ()
        })?;
        while next < cfg.checkpoints.len() {
            snapshot(next);
            next += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        tch::no_grad(|| {
            let _ = seconds_var.shallow_clone().fill_(seconds);
        });
        Ok(history)
    })?;
    let train_seconds = seconds_var.double_value(&[0]);
    let checkpoints = cfg
        .checkpoints
        .iter()
        .zip(&snapshots)
        .map(|(&step, kept)| {
            let tensors = named
                .iter()
                .zip(kept)
                .map(|((n, _), t)| (n.clone(), t.shallow_clone()))
                .collect();
            Ok(Checkpoint {
                step,
                tokens: step * cfg.tokens_per_step(),
                model: Gpt2::from_tensors(&gcfg, tensors, Device::Cpu)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TextGpt {
        config: cfg.clone(),
        vocab: data.vocab.clone(),
        model,
        checkpoints,
        vs,
        history: trained.history,
        from_cache: trained.from_cache,
        train_seconds,
    })
}

/// Weights of a GPT-2 of this shape: V C (token embeddings, shared with the output),
/// plus P C (positions), plus L (12 C^2 + 13 C) (attention and MLP matrices and biases,
/// two LayerNorms), plus 2 C (the final LayerNorm). Holds for every released GPT-2.
pub fn gpt2_weights(vocab: usize, positions: usize, width: usize, blocks: usize) -> u64 {
    let (v, p, c, l) = (vocab as u64, positions as u64, width as u64, blocks as u64);
    v * c + p * c + l * (12 * c * c + 13 * c) + 2 * c
}

/// The number of weights of a model (every tensor of its checkpoint).
pub fn count_weights(model: &LanguageModel) -> Result<u64> {
    let listed = LanguageModel::expected_tensors(&model.info(), model.names())?;
    Ok(listed.iter().map(|(_, s)| s.iter().product::<i64>() as u64).sum())
}

/// The mean cross-entropy (nats per character) of `model` on `windows` (each `t + 1`
/// ids: inputs and the next characters).
pub fn loss_on(model: &LanguageModel, windows: &[&[u8]]) -> Result<f64> {
    let t = windows.first().map_or(0, |w| w.len() as i64 - 1);
    let x: Vec<i64> = windows
        .iter()
        .flat_map(|w| w[..w.len() - 1].iter().map(|&i| i as i64))
        .collect();
    let y: Vec<i64> = windows.iter().flat_map(|w| w[1..].iter().map(|&i| i as i64)).collect();
    let n = windows.len() as i64;
    let logits = model.forward(&Tensor::from_slice(&x).view([n, t]), None, &mut crate::NoCapture)?; // (N, T, V)
    let v = logits.size()[2];
    Ok(logits
        .view([-1, v])
        .to_kind(Kind::Double)
        .cross_entropy_for_logits(&Tensor::from_slice(&y)) // ()
        .double_value(&[]))
}

/// Held-out windows read by [`TextGpt::held_out_loss`].
pub const HELD_OUT_WINDOWS: usize = 64;

impl TextGpt {
    /// The loss of each checkpoint on [`HELD_OUT_WINDOWS`] windows of held-out text
    /// spread over all of it (text no training step saw), in nats per character.
    pub fn held_out_loss(&self, data: &TextData) -> Result<Vec<f64>> {
        let windows = data.held_out_windows(HELD_OUT_WINDOWS, self.config.n_ctx);
        on_one_thread(|| self.checkpoints.iter().map(|c| loss_on(&c.model, &windows)).collect())
    }

    /// The checkpoint taken at `step`, or an error listing the steps there are.
    pub fn checkpoint(&self, step: usize) -> Result<&Checkpoint> {
        self.checkpoints.iter().find(|c| c.step == step).ok_or_else(|| {
            train::bad_hyper_parameter(
                "checkpoint step",
                step,
                &format!("one of the steps kept: {:?}", self.config.checkpoints),
            )
        })
    }

    /// Weights of the model (all tensors, the shared embedding counted once).
    pub fn weights(&self) -> Result<u64> {
        count_weights(&self.model)
    }

    /// Characters seen in all of training.
    pub fn tokens_seen(&self) -> usize {
        self.config.train.iterations * self.config.tokens_per_step()
    }

    /// The training cost by the usual estimate, 6 x weights x characters: about 2
    /// multiply-adds per weight per character forward, twice that backward.
    pub fn training_flops(&self) -> Result<f64> {
        Ok(6.0 * self.weights()? as f64 * self.tokens_seen() as f64)
    }
}

/// Continues `prompt` by `n` characters sampled at `temperature` (0: always the most
/// likely) with a seeded [`Sampler`], the model seeing at most its last `n_ctx`
/// characters (the window slides along, so any length works). Returns the new text.
pub fn sample(
    model: &LanguageModel,
    vocab: &CharVocab,
    prompt: &str,
    n: usize,
    temperature: f64,
    seed: u64,
) -> Result<String> {
    on_one_thread(|| sample_here(model, vocab, prompt, n, temperature, seed))
}

fn sample_here(
    model: &LanguageModel,
    vocab: &CharVocab,
    prompt: &str,
    n: usize,
    temperature: f64,
    seed: u64,
) -> Result<String> {
    let mut ids = vocab.encode(prompt);
    if ids.is_empty() {
        return Err(Error::EmptyPrompt);
    }
    let mut sampler = Sampler::new(Sampling::new(temperature, seed)?);
    let ctx = model.info().n_ctx;
    let start = ids.len();
    for _ in 0..n {
        let window = &ids[ids.len().saturating_sub(ctx)..];
        let logits = model.forward(&crate::model::gpt2::ids_tensor(window), None, &mut crate::NoCapture)?; // (1, T, V)
        ids.push(sampler.pick(&logits.get(0).get(-1))?);
    }
    vocab.decode(&ids[start..])
}

/// Head scores and copy losses of one model, averaged over several random sequences.
#[derive(Debug, Clone, Serialize)]
pub struct HeadReport {
    /// Mean score of each head, per kind in [`HeadKind::ALL`] order: (L, H) each.
    pub scores: Vec<Vec<Vec<f64>>>,
    /// What a head that spreads its attention evenly over the positions it can see
    /// scores, per kind (the floor to read the scores against).
    pub uniform: Vec<f64>,
    /// Mean loss (nats per character) on the first copy of the random letters and on
    /// the second copy (positions 1..n and n..2n of each sequence's predictions).
    pub first_copy_loss: f64,
    pub second_copy_loss: f64,
}

impl HeadReport {
    /// The best head of `kind`: (block, head, score).
    pub fn best(&self, kind: HeadKind) -> (usize, usize, f64) {
        let k = HeadKind::ALL.iter().position(|&x| x == kind).expect("a known kind");
        let mut best = (0, 0, f64::NEG_INFINITY);
        for (l, row) in self.scores[k].iter().enumerate() {
            for (h, &s) in row.iter().enumerate() {
                if s > best.2 {
                    best = (l, h, s);
                }
            }
        }
        best
    }
}

/// The score of a head that attends evenly to every position it can see (row i:
/// 1/(i+1) on positions 0..=i), on `tokens`, for each kind in [`HeadKind::ALL`] order.
pub fn uniform_scores(tokens: &[u32]) -> Vec<f64> {
    let t = tokens.len() as i64;
    let rows = Tensor::arange(t, (Kind::Double, Device::Cpu)) + 1.0; // (T)
    let uniform = Tensor::ones([t, t], (Kind::Double, Device::Cpu)).tril(0) / rows.unsqueeze(1); // (T, T)
    HeadKind::ALL
        .iter()
        .map(|k| detection_score(&uniform, &k.detection_pattern(tokens)))
        .collect()
}

/// A shuffled alphabet, twice, as ids of `vocab`: `n` of the vocabulary's letters a-z,
/// each at most once, in an order drawn with `seed`, then the same `n` again. With no
/// letter repeated inside a copy, the only earlier copy of a letter in the second half
/// is its twin in the first, so the places a previous-token, duplicate or induction head
/// should look are exact (as with TransformerLens's random tokens from a large
/// vocabulary).
pub fn repeated_letters(vocab: &CharVocab, n: usize, seed: u64) -> Result<Vec<u32>> {
    let mut letters: Vec<u32> = ('a'..='z')
        .map(|c| vocab.id(c) as u32)
        .filter(|&i| i != vocab.other_id() as u32)
        .collect();
    if n < 2 || n > letters.len() {
        return Err(train::bad_hyper_parameter(
            "letters per copy",
            n,
            &format!("between 2 and the {} letters a-z in the vocabulary", letters.len()),
        ));
    }
    letters.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    letters.truncate(n);
    Ok(letters.iter().chain(letters.iter()).copied().collect())
}

/// The heads of `model` on `sequences` shuffled alphabets of `n` letters, each followed by
/// its repeat (seeds `seed`, `seed + 1`, ...; see [`repeated_letters`]): every head's
/// previous-token, duplicate-token and induction score, averaged, and the mean loss on
/// letters 2..n of each copy (the first letter of either copy cannot be foreseen).
pub fn head_report(
    model: &LanguageModel,
    vocab: &CharVocab,
    n: usize,
    sequences: usize,
    seed: u64,
) -> Result<HeadReport> {
    on_one_thread(|| head_report_here(model, vocab, n, sequences, seed))
}

fn head_report_here(
    model: &LanguageModel,
    vocab: &CharVocab,
    n: usize,
    sequences: usize,
    seed: u64,
) -> Result<HeadReport> {
    let info = model.info();
    if n < 2 || 2 * n > info.n_ctx {
        return Err(train::bad_hyper_parameter(
            "letters per copy",
            n,
            &format!("between 2 and half the context window ({})", info.n_ctx / 2),
        ));
    }
    check_size("random sequences", sequences as i64)?;
    let mut scores = vec![vec![vec![0.0; info.n_head]; info.n_layer]; 3];
    let mut uniform = vec![0.0; 3];
    let (mut first, mut second) = (0.0, 0.0);
    let share = 1.0 / sequences as f64;
    for s in 0..sequences as u64 {
        let tokens = repeated_letters(vocab, n, seed + s)?;
        let hs = score_heads(model, &tokens, seed + s)?;
        for (k, kind) in HeadKind::ALL.iter().enumerate() {
            for (l, row) in hs.of(*kind).iter().enumerate() {
                for (h, &v) in row.iter().enumerate() {
                    scores[k][l][h] += share * v;
                }
            }
        }
        for (u, v) in uniform.iter_mut().zip(uniform_scores(&tokens)) {
            *u += share * v;
        }
        let ids: Vec<i64> = tokens.iter().map(|&i| i as i64).collect();
        let logits = model.forward(&Tensor::from_slice(&ids).unsqueeze(0), None, &mut crate::NoCapture)?; // (1, 2n, V)
        let logp = logits
            .get(0)
            .narrow(0, 0, 2 * n as i64 - 1)
            .log_softmax(-1, Kind::Double); // (2n-1, V)
        let next = Tensor::from_slice(&ids[1..]).unsqueeze(1); // (2n-1, 1)
        let nll = logp.gather(1, &next, false).squeeze_dim(1).neg(); // (2n-1)
        let nll = Vec::<f64>::try_from(nll)?;
        // Prediction p is of token p + 1: letters 2..n of the first copy are tokens 1..n,
        // of the second tokens n + 1..2n.
        first += share * nll[..n - 1].iter().sum::<f64>() / (n - 1) as f64;
        second += share * nll[n..].iter().sum::<f64>() / (n - 1) as f64;
    }
    Ok(HeadReport {
        scores,
        uniform,
        first_copy_loss: first,
        second_copy_loss: second,
    })
}
