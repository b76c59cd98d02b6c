//! `gpt2-explorer`: the command line over the library: argument parsing, one function
//! per subcommand that calls the library, and the shared output (a table, `--json` or
//! `--csv`; library errors told in flag names by `gpt2_explorer::cli`).
//! Subcommands: `tokens`, `next-token`, `generate` (essay section 1), `ngrams`
//! (section 2: letter and word n-grams of English text, counts or samples), `attention`
//! and `embed` (section 6), the experiments beyond the essay (`attribute`, `patch`,
//! `heads`, and `--ablate` on `next-token` / `generate`), and `synthetic`, which writes a
//! seeded random-weights GPT-2 checkpoint for offline demos and tests.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use gpt2_explorer::analysis::attention;
use gpt2_explorer::analysis::attribution::logit_attribution;
use gpt2_explorer::analysis::embedding::{text_vector, MultiToken};
use gpt2_explorer::analysis::heads::detect_heads;
use gpt2_explorer::intervene::{self, AblateMode, Ablation, PatchHook};
use gpt2_explorer::sampling::{self, Sampling};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::{Gpt2Config, LoadedModel};

#[derive(Parser)]
#[command(
    name = "gpt2-explorer",
    version,
    about = "Open up GPT-2: tokens, next-token probabilities, generation"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// `auto` (GPT-2 small if it is in the Hugging Face cache, else SmolLM2); a hub name
    /// (gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2, owner/name), found in the
    /// Hugging Face cache or downloaded; `smollm2` (offline, fetched by `make setup`);
    /// a .gguf file; or a local model folder.
    #[arg(long, default_value = "auto")]
    model: String,
    /// Never download: use the Hugging Face cache or a local folder only.
    #[arg(long)]
    offline: bool,
    /// Where the model runs: cpu, cuda (needs a `--features cuda` build and an NVIDIA
    /// GPU) or auto (the GPU when one is usable, else the CPU).
    #[arg(long, default_value = "cpu")]
    device: String,
}

impl ModelArgs {
    /// Loads the model named by --model onto the --device.
    fn load(&self) -> Result<LoadedModel> {
        let device = gpt2_explorer::model::device::resolve_device(&self.device)?;
        Ok(LoadedModel::load_with(
            &self.model,
            &gpt2_explorer::LoadOptions {
                offline: self.offline,
                device,
            },
        )?)
    }
}

#[derive(clap::Args)]
struct PromptArgs {
    /// The text. `-` reads standard input.
    prompt: Option<String>,
    /// Read the text from a file instead (must be UTF-8).
    #[arg(long, conflicts_with = "prompt")]
    file: Option<PathBuf>,
}

impl PromptArgs {
    fn text(&self) -> Result<String> {
        let (bytes, source) = match (&self.prompt, &self.file) {
            (_, Some(path)) => (
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
                path.display().to_string(),
            ),
            (Some(p), None) if p == "-" => {
                let mut b = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut b)
                    .context("cannot read standard input")?;
                (b, "standard input".to_string())
            }
            (Some(p), None) => return Ok(p.clone()),
            (None, None) => {
                bail!("no prompt given: pass the text as an argument, `-` for standard input, or --file PATH")
            }
        };
        match String::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(e) => bail!(
                "{source} is not valid UTF-8 (first bad byte at offset {}); save it as UTF-8 text",
                e.utf8_error().valid_up_to()
            ),
        }
    }
}

/// Knocking out attention heads while the model runs (TransformerLens's ablation).
#[derive(clap::Args)]
struct AblateArgs {
    /// Heads to knock out, as block.head pairs counted from 0: `--ablate 0.1,5.3`.
    #[arg(long, value_name = "L.H[,L.H...]")]
    ablate: Option<String>,
    /// What an ablated head's output (its slice of hook_z) is replaced by: zeros, or its
    /// mean over the prompt's positions.
    #[arg(long, default_value = "zero", value_name = "zero|mean")]
    ablate_mode: String,
}

impl AblateArgs {
    /// The ablation asked for (an empty one when --ablate is not given).
    fn ablation(&self, lm: &LoadedModel, ids: &[u32]) -> Result<Ablation> {
        let mode: AblateMode = self.ablate_mode.parse()?;
        let sites = match &self.ablate {
            Some(list) => intervene::parse_heads(list).context("--ablate")?,
            None => Vec::new(),
        };
        Ablation::new(&lm.model, &sites, mode, ids).context("--ablate")
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Split text into GPT-2 tokens.
    Tokens {
        #[command(flatten)]
        m: ModelArgs,
        #[command(flatten)]
        p: PromptArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The most likely next tokens after a prompt, with probabilities.
    NextToken {
        #[command(flatten)]
        m: ModelArgs,
        #[command(flatten)]
        p: PromptArgs,
        /// How many tokens to list.
        #[arg(long, default_value_t = 5)]
        top: usize,
        #[command(flatten)]
        a: AblateArgs,
        #[arg(long)]
        json: bool,
    },
    /// Continue a prompt one token at a time.
    Generate {
        #[command(flatten)]
        m: ModelArgs,
        #[command(flatten)]
        p: PromptArgs,
        #[arg(long, default_value_t = 20)]
        max_new_tokens: usize,
        /// 0 is greedy (always the most likely token); the essay uses 0.8.
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        temperature: f64,
        /// Seed of the sampler: the same seed gives the same text.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        a: AblateArgs,
        #[arg(long)]
        json: bool,
    },
    /// Direct logit attribution (beyond the essay): a token's logit at one position
    /// split into what the embeddings, each block's attention and MLP, the final norm's
    /// bias, and each head wrote; they sum to the logit.
    Attribute {
        #[command(flatten)]
        m: ModelArgs,
        #[command(flatten)]
        p: PromptArgs,
        /// The token whose logit is split, as text (one token, e.g. " learn"); default:
        /// the most likely next token at the position.
        #[arg(long, conflicts_with = "target_id")]
        target: Option<String>,
        /// The token by id.
        #[arg(long)]
        target_id: Option<u32>,
        /// The position, from 0 (default: the last).
        #[arg(long)]
        position: Option<usize>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// One row per term: kind (component or head), name, value.
        #[arg(long)]
        csv: bool,
    },
    /// Activation patching (beyond the essay): for every block and position, the share
    /// of logit(answer) - logit(wrong) that copying the clean run's activation into the
    /// corrupted run restores. The two prompts must have the same number of tokens.
    Patch {
        #[command(flatten)]
        m: ModelArgs,
        #[arg(long)]
        clean: String,
        #[arg(long)]
        corrupt: String,
        /// The clean prompt's answer, one token (e.g. " Mary").
        #[arg(long)]
        answer: String,
        /// The corrupted prompt's answer, one token (e.g. " John").
        #[arg(long)]
        wrong: String,
        /// What is copied: resid_pre (the residual stream entering the block), attn_out
        /// or mlp_out.
        #[arg(long, default_value = "resid_pre", value_name = "resid_pre|attn_out|mlp_out")]
        hook: String,
        #[arg(long)]
        json: bool,
    },
    /// Head detectors (beyond the essay): every head's previous-token, duplicate-token
    /// and induction score on random tokens repeated twice.
    Heads {
        #[command(flatten)]
        m: ModelArgs,
        /// Random tokens before the repeat.
        #[arg(long, default_value_t = 50)]
        tokens: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Write a seeded random-weights GPT-2 checkpoint folder (for offline demos; its
    /// text is gibberish). Copies the GPT-2 tokenizer files fetched by `make setup`.
    Synthetic {
        #[arg(long)]
        out: PathBuf,
        /// small: V=50257 P=128 C=64 L=2 H=4; gpt2-small: the full 124M shape.
        #[arg(long, value_enum, default_value_t = Size::Gpt2Small)]
        size: Size,
        #[arg(long, default_value_t = 20242)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = LayoutArg::Hub)]
        layout: LayoutArg,
    },
    /// Letter or word n-grams of English text (essay section 2): the most frequent
    /// n-grams with counts and probabilities, or seeded samples from the n-gram model.
    /// Letters are a-z (case folded); `_` marks a word boundary.
    Ngrams(NgramsArgs),
    /// Attention weights of one block (essay section 6): for every head, or only --head,
    /// how much each position takes from each earlier position. Blocks and heads count
    /// from 0.
    Attention {
        #[command(flatten)]
        m: ModelArgs,
        #[command(flatten)]
        p: PromptArgs,
        /// The block, 0 .. n_layer - 1.
        #[arg(long)]
        layer: usize,
        /// One head, 0 .. n_head - 1 (default: all heads of the block).
        #[arg(long)]
        head: Option<usize>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// One row per (head, query, key): head, query_pos, query_token, key_pos, key_token, weight.
        #[arg(long)]
        csv: bool,
    },
    /// Token embeddings of words (rows of W_E; essay sections 5-6). Each word is
    /// tokenized exactly as given: quote " word" for its mid-sentence form.
    Embed {
        #[command(flatten)]
        m: ModelArgs,
        /// The words.
        #[arg(required = true)]
        words: Vec<String>,
        /// A word of several tokens: refuse (default, with an error naming the tokens),
        /// take its first token, or the mean of its tokens.
        #[arg(long, value_enum, default_value_t = MultiTokenArg::Refuse)]
        multi_token: MultiTokenArg,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// One row per word: word, ids, tokens, how, then the C vector elements.
        #[arg(long)]
        csv: bool,
    },
}

/// The arguments of `gpt2-explorer ngrams`.
#[derive(clap::Args)]
struct NgramsArgs {
    #[arg(value_enum)]
    unit: NgramUnit,
    /// The order: letters 1 to 12, words 1 or 2.
    #[arg(long, default_value_t = 1)]
    n: usize,
    /// A UTF-8 text file, or a folder of them (files that are not UTF-8 text are
    /// skipped with a warning). Default: the English sample `make setup` fetches.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Print K samples instead of counts: K generated words (letters), K words drawn
    /// by frequency (words, n 1) or a chain of K words (words, n 2).
    #[arg(long, value_name = "K")]
    sample: Option<usize>,
    /// Seed of the sampler: the same seed gives the same samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First word of a word 2-gram chain (default: drawn by frequency).
    #[arg(long)]
    start: Option<String>,
    /// How many n-grams to list, most frequent first (0: all).
    #[arg(long, default_value_t = 30)]
    top: usize,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum NgramUnit {
    Letters,
    Words,
}

#[derive(Clone, Copy, ValueEnum)]
enum MultiTokenArg {
    Refuse,
    First,
    Mean,
}

#[derive(Clone, Copy, ValueEnum)]
enum Size {
    Small,
    Gpt2Small,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    Hub,
    Transformers,
}

fn main() {
    gpt2_explorer::io::log_to_stderr();
    gpt2_explorer::progress::set_sink(Box::new(gpt2_explorer::progress::TerminalBars));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            // --help, --version, and usage when no subcommand is given: clap prints them.
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            // A bad argument: one line, like every other error.
            _ => {
                // clap's message (and tip) without its usage block, joined into one line.
                let text = e.render().to_string();
                let parts: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                    .filter(|l| !l.is_empty())
                    .collect();
                let msg = parts.join(" ");
                let msg = msg.trim_start_matches("error:").trim();
                fail(&format!(
                    "{} (see --help)",
                    if msg.is_empty() { "invalid arguments" } else { msg }
                ));
            }
        },
    };
    if let Err(e) = run(cli) {
        // A reader that went away (`| head`) is not an error of ours.
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe && e.to_string() == STDOUT_ERROR {
            std::process::exit(0);
        }
        fail(&gpt2_explorer::cli::message(&e));
    }
}

/// Prints `error: ...` as exactly one line on standard error and exits with status 2.
fn fail(msg: &str) -> ! {
    let line = msg.trim().replace(['\r', '\n'], " ");
    let _ = writeln!(std::io::stderr(), "error: {line}");
    std::process::exit(2);
}

/// Writes one line to standard output; an error (such as a closed pipe) is returned,
/// not a panic as with `println!`.
fn out(line: impl std::fmt::Display) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{line}").context(STDOUT_ERROR)
}

const STDOUT_ERROR: &str = "cannot write to standard output";

/// Adds `"ablated": {"heads": [...], "mode": ...}` to a JSON answer when --ablate was
/// given (without it the answer keeps its documented keys).
fn with_ablated(v: &mut serde_json::Value, ablation: &Ablation, a: &AblateArgs) {
    if a.ablate.is_some() {
        let heads: Vec<String> = ablation.sites().iter().map(|s| s.to_string()).collect();
        v["ablated"] = json!({"heads": heads, "mode": a.ablate_mode});
    }
}

/// `gpt2-explorer attribute`: direct logit attribution at one position, of (--target,
/// --target-id, --position).
fn attribute(
    m: &ModelArgs,
    p: &PromptArgs,
    (target, target_id, position): (Option<String>, Option<u32>, Option<usize>),
    format: Format,
) -> Result<()> {
    let text = p.text()?;
    let lm = m.load()?;
    let ids = lm.encode_prompt(&text)?;
    let position = position.unwrap_or(ids.len() - 1);
    if position >= ids.len() {
        return Err(gpt2_explorer::Error::BadPosition {
            position,
            len: ids.len(),
        })
        .context("--position");
    }
    let target_id = match (target, target_id) {
        (_, Some(id)) => id,
        (Some(t), None) => lm.tokenizer.single_token(&t, "target").context("--target")?,
        (None, None) => lm
            .model
            .logits(&ids)?
            .get(position as i64)
            .argmax(0, false)
            .int64_value(&[]) as u32,
    };
    let a = logit_attribution(&lm.model, &ids, position, target_id)?;
    let target = lm.tokenizer.token_str(target_id);
    if format == Format::Json {
        out(
            json!({"model": lm.name, "prompt_ids": ids, "position": position, "target_id": target_id, "target": target, "logit": a.logit, "components": a.components, "heads": a.heads}),
        )?;
    } else if format == Format::Csv {
        let rows = [("component", &a.components), ("head", &a.heads)]
            .into_iter()
            .flat_map(|(kind, terms)| {
                terms
                    .iter()
                    .map(move |t| vec![kind.to_string(), t.name.clone(), t.value.to_string()])
            });
        out_csv(&["kind", "name", "value"], rows)?;
    } else {
        out(format_args!(
            "logit of {} at position {position}: {:.4} (the components sum to {:.4})",
            lm.tokenizer.token_label(target_id),
            a.logit,
            a.total()
        ))?;
        for t in &a.components {
            out(format_args!("  {:<14} {:+9.4}", t.name, t.value))?;
        }
        let mut heads = a.heads.clone();
        heads.sort_by(|x, y| y.value.abs().total_cmp(&x.value.abs()));
        out("heads that wrote most (z_h W_O^h):")?;
        for t in heads.iter().take(10) {
            out(format_args!("  {:<14} {:+9.4}", t.name, t.value))?;
        }
    }
    Ok(())
}

/// `gpt2-explorer patch`: activation patching over every block and position, for
/// [--clean, --corrupt, --answer, --wrong].
fn patch(m: &ModelArgs, [clean, corrupt, answer, wrong]: [&str; 4], hook: &str, json: bool) -> Result<()> {
    let hook: PatchHook = hook.parse().context("--hook")?;
    let lm = m.load()?;
    let clean_ids = lm.encode_prompt(clean).context("--clean")?;
    let corrupt_ids = lm.encode_prompt(corrupt).context("--corrupt")?;
    let answer_id = lm.tokenizer.single_token(answer, "answer").context("--answer")?;
    let wrong_id = lm.tokenizer.single_token(wrong, "wrong answer").context("--wrong")?;
    let r = intervene::patch_sweep(
        &lm.model,
        &clean_ids,
        &corrupt_ids,
        hook,
        &intervene::logit_diff(answer_id, wrong_id),
    )?;
    let tokens: Vec<String> = clean_ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    if json {
        out(
            json!({"model": lm.name, "hook": r.hook, "clean_ids": clean_ids, "corrupt_ids": corrupt_ids, "tokens": tokens, "answer_id": answer_id, "wrong_id": wrong_id, "clean": r.clean, "corrupt": r.corrupt, "patched": r.patched, "restored": r.restored}),
        )?;
    } else {
        out(format_args!("logit({answer}) - logit({wrong}): clean {:.3}, corrupted {:.3}; share restored by patching {} at each block (rows) and position (columns):", r.clean, r.corrupt, r.hook))?;
        out(format_args!(
            "{:>6} {}",
            "",
            clean_ids
                .iter()
                .map(|&i| format!("{:>8.8}", lm.tokenizer.token_label(i)))
                .collect::<String>()
        ))?;
        for (l, row) in r.restored.iter().enumerate() {
            out(format_args!(
                "{:>6} {}",
                format!("{l}"),
                row.iter().map(|v| format!("{v:>8.2}")).collect::<String>()
            ))?;
        }
    }
    Ok(())
}

/// `gpt2-explorer heads`: the detector scores of every head.
fn heads(m: &ModelArgs, tokens: usize, seed: u64, json: bool) -> Result<()> {
    let lm = m.load()?;
    let s = detect_heads(&lm.model, tokens, seed).context("--tokens")?;
    if json {
        out(
            json!({"model": lm.name, "tokens": s.tokens, "seed": s.seed, "previous_token": s.previous_token, "duplicate_token": s.duplicate_token, "induction": s.induction}),
        )?;
    } else {
        out(format_args!(
            "{:<8} {:>15} {:>16} {:>10}",
            "head", "previous-token", "duplicate-token", "induction"
        ))?;
        for l in 0..s.n_layer {
            for h in 0..s.n_head {
                out(format_args!(
                    "{:<8} {:>15.3} {:>16.3} {:>10.3}",
                    format!("L{l}H{h}"),
                    s.previous_token[l][h],
                    s.duplicate_token[l][h],
                    s.induction[l][h]
                ))?;
            }
        }
    }
    Ok(())
}

/// Runs one subcommand: each has its own function below.
fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Tokens { m, p, json } => tokens(&m, &p, json),
        Cmd::NextToken { m, p, top, a, json } => next_token(&m, &p, top, &a, json),
        Cmd::Generate {
            m,
            p,
            max_new_tokens,
            temperature,
            seed,
            a,
            json,
        } => generate(&m, &p, (max_new_tokens, temperature, seed), &a, json),
        Cmd::Attribute {
            m,
            p,
            target,
            target_id,
            position,
            json,
            csv,
        } => attribute(&m, &p, (target, target_id, position), Format::of(json, csv)),
        Cmd::Patch {
            m,
            clean,
            corrupt,
            answer,
            wrong,
            hook,
            json,
        } => patch(&m, [&clean, &corrupt, &answer, &wrong], &hook, json),
        Cmd::Heads { m, tokens, seed, json } => heads(&m, tokens, seed, json),
        Cmd::Synthetic {
            out,
            size,
            seed,
            layout,
        } => synthetic_model(&out, size, seed, layout),
        Cmd::Ngrams(args) => ngrams(&args),
        Cmd::Attention {
            m,
            p,
            layer,
            head,
            json,
            csv,
        } => attention_weights(&m, &p, layer, head, Format::of(json, csv)),
        Cmd::Embed {
            m,
            words,
            multi_token,
            json,
            csv,
        } => embed(&m, &words, multi_token, Format::of(json, csv)),
    }
}

/// How a subcommand prints: a table for people, JSON, or CSV (`--json`, `--csv`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Csv,
}

impl Format {
    fn of(json: bool, csv: bool) -> Self {
        match (json, csv) {
            (true, _) => Format::Json,
            (false, true) => Format::Csv,
            _ => Format::Text,
        }
    }
}

/// Prints a CSV table (RFC 4180 quoting via the `csv` crate).
fn out_csv<S: AsRef<str>>(header: &[S], rows: impl IntoIterator<Item = Vec<String>>) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header.iter().map(AsRef::as_ref))?;
    for row in rows {
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("CSV: {e}"))?;
    out(String::from_utf8(bytes)?.trim_end())
}

/// `gpt2-explorer tokens`: the prompt's token ids and tokens.
fn tokens(m: &ModelArgs, p: &PromptArgs, json: bool) -> Result<()> {
    let text = p.text()?;
    // Only the tokenizer is needed: the weights are not read.
    let (name, tokenizer) = LoadedModel::load_tokenizer(&m.model, m.offline)?;
    let ids = tokenizer.encode(&text)?;
    if json {
        let tokens: Vec<String> = ids.iter().map(|&i| tokenizer.token_str(i)).collect();
        out(json!({"model": name, "ids": ids, "tokens": tokens}))?;
    } else {
        for id in ids {
            out(format_args!("{id:>6}  {}", tokenizer.token_label(id)))?;
        }
    }
    Ok(())
}

/// `gpt2-explorer next-token`: the most likely next tokens.
fn next_token(m: &ModelArgs, p: &PromptArgs, top: usize, a: &AblateArgs, json: bool) -> Result<()> {
    let text = p.text()?;
    let lm = m.load()?;
    let ids = lm.encode_prompt(&text)?;
    let mut ablation = a.ablation(&lm, &ids)?;
    let logits = lm.model.run_with_cache(&ids, &mut ablation)?; // (T, V)
    let table = sampling::top_k(&logits.get(-1), top, &lm.tokenizer)?;
    if json {
        let mut v = json!({"model": lm.name, "prompt_ids": ids, "top": table});
        with_ablated(&mut v, &ablation, a);
        out(v)?;
    } else {
        out(&text)?;
        for (rank, t) in table.iter().enumerate() {
            out(format_args!(
                "{:>3}. {:<16} {:>7.3}%   logprob {:>8.4}   id {}",
                rank + 1,
                lm.tokenizer.token_label(t.id),
                100.0 * t.prob,
                t.logprob,
                t.id
            ))?;
        }
    }
    Ok(())
}

/// `gpt2-explorer generate`: the prompt continued by (new tokens, temperature, seed).
fn generate(
    m: &ModelArgs,
    p: &PromptArgs,
    (max_new_tokens, temperature, seed): (usize, f64, u64),
    a: &AblateArgs,
    json: bool,
) -> Result<()> {
    let rule = Sampling::new(temperature, seed)?;
    let text = p.text()?;
    let lm = m.load()?;
    let ids = lm.encode_prompt(&text)?;
    let mut ablation = a.ablation(&lm, &ids)?;
    let steps = sampling::generate_steps_with(&lm.model, &ids, max_new_tokens, rule, &mut ablation, |_| {})?;
    let new_ids: Vec<u32> = steps.iter().map(|s| s.id).collect();
    let continuation = lm.tokenizer.decode(&new_ids)?;
    if json {
        let mut v = json!({"model": lm.name, "prompt_ids": ids, "generated_ids": new_ids, "text": continuation, "seed": seed, "temperature": temperature});
        with_ablated(&mut v, &ablation, a);
        out(v)?;
    } else {
        out(format_args!("{text}{continuation}"))?;
    }
    Ok(())
}

/// `gpt2-explorer synthetic`: a seeded random-weights checkpoint folder.
fn synthetic_model(out: &std::path::Path, size: Size, seed: u64, layout: LayoutArg) -> Result<()> {
    let cfg = match size {
        Size::Small => Gpt2Config::preset(50257, 128, 64, 2, 4),
        Size::Gpt2Small => Gpt2Config::gpt2_small(),
    };
    let layout = match layout {
        LayoutArg::Hub => Layout::Hub,
        LayoutArg::Transformers => Layout::Transformers,
    };
    synthetic::write_model_folder(out, &cfg, seed, layout, &gpt2_explorer::gpt2_tokenizer_dir())?;
    eprintln!(
        "wrote a synthetic (random-weights) GPT-2 checkpoint, seed {seed}, to {}",
        out.display()
    );
    Ok(())
}

/// `gpt2-explorer attention`: one block's attention weights.
fn attention_weights(m: &ModelArgs, p: &PromptArgs, layer: usize, head: Option<usize>, format: Format) -> Result<()> {
    let text = p.text()?;
    let lm = m.load()?;
    if let Some(h) = head {
        attention::check_head(&lm.model, h)?;
    }
    let ids = lm.encode_prompt(&text)?;
    let all = attention::block_patterns(&lm.model, &ids, layer)?;
    let heads: Vec<usize> = head.map_or_else(|| (0..all.len()).collect(), |h| vec![h]);
    let tokens: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
    if format == Format::Json {
        let patterns: Vec<Vec<Vec<f64>>> = heads
            .iter()
            .map(|&h| all[h].values.chunks(all[h].cols).map(<[f64]>::to_vec).collect())
            .collect();
        out(
            json!({"model": lm.name, "layer": layer, "heads": heads, "ids": ids, "tokens": tokens, "patterns": patterns}),
        )?;
    } else if format == Format::Csv {
        let mut rows = Vec::new();
        for &h in &heads {
            for q in 0..ids.len() {
                for k in 0..ids.len() {
                    rows.push(vec![
                        h.to_string(),
                        q.to_string(),
                        tokens[q].clone(),
                        k.to_string(),
                        tokens[k].clone(),
                        all[h].at(q, k).to_string(),
                    ]);
                }
            }
        }
        out_csv(
            &["head", "query_pos", "query_token", "key_pos", "key_token", "weight"],
            rows,
        )?;
    } else {
        let labels: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect();
        for &h in &heads {
            out(format_args!(
                "block {layer}, head {h}: row = position attending, columns = positions attended to (per cent)"
            ))?;
            for (q, label) in labels.iter().enumerate() {
                let cells: Vec<String> = (0..=q).map(|k| format!("{:>5.1}", 100.0 * all[h].at(q, k))).collect();
                out(format_args!("{q:>4} {label:<14} {}", cells.join(" ")))?;
            }
        }
    }
    Ok(())
}

/// `gpt2-explorer embed`: token embeddings of words.
fn embed(m: &ModelArgs, words: &[String], multi_token: MultiTokenArg, format: Format) -> Result<()> {
    let lm = m.load()?;
    let rule = match multi_token {
        MultiTokenArg::Refuse => MultiToken::Refuse,
        MultiTokenArg::First => MultiToken::First,
        MultiTokenArg::Mean => MultiToken::Mean,
    };
    // Every word is checked before anything is printed.
    let vectors = words
        .iter()
        .map(|w| text_vector(&lm, w, rule))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if format == Format::Json {
        out(json!({"model": lm.name, "multi_token": rule, "words": vectors}))?;
    } else if format == Format::Csv {
        let mut header = vec!["word".to_string(), "ids".into(), "tokens".into(), "how".into()];
        header.extend((0..vectors[0].vector.len()).map(|i| format!("e{i}")));
        let rows = vectors.iter().map(|v| {
            let ids: Vec<String> = v.ids.iter().map(|i| i.to_string()).collect();
            let mut row = vec![v.word.clone(), ids.join(" "), v.tokens.join("|"), v.how.clone()];
            row.extend(v.vector.iter().map(|x| x.to_string()));
            row
        });
        out_csv(&header, rows)?;
    } else {
        for v in &vectors {
            let norm = v.vector.iter().map(|x| x * x).sum::<f64>().sqrt();
            let head: Vec<String> = v.vector.iter().take(6).map(|x| format!("{x:+.4}")).collect();
            let labels: Vec<String> = v.ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect();
            out(format_args!(
                "{:<14} ids {:?} ({}; {})  |v| {norm:.4}  [{} ... {} values]",
                v.word,
                v.ids,
                labels.join(" "),
                v.how,
                head.join(" "),
                v.vector.len()
            ))?;
        }
    }
    Ok(())
}

/// CPU time of this thread so far (Linux: /proc/thread-self/schedstat), so that the
/// counting benchmark is fair on a busy machine; None elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse::<f64>().ok().map(|ns| ns / 1e9)
}

/// `gpt2-explorer ngrams`: counts or samples, as a table, JSON or CSV.
fn ngrams(args: &NgramsArgs) -> Result<()> {
    use gpt2_explorer::analysis::ngram::{LetterModel, WordCounts};
    use gpt2_explorer::corpus::Corpus;
    let NgramsArgs {
        unit,
        n,
        ref corpus,
        sample,
        seed,
        ref start,
        top,
        ..
    } = *args;
    let format = Format::of(args.json, args.csv);
    if unit == NgramUnit::Words && n != 1 && n != 2 {
        bail!("words: --n must be 1 or 2 (word 1-grams or 2-grams), got {n}");
    }
    if start.is_some() && !(unit == NgramUnit::Words && n == 2 && sample.is_some()) {
        bail!("--start only applies to `ngrams words --n 2 --sample K`");
    }
    let started = std::time::Instant::now();
    let cpu_started = thread_cpu_seconds();
    let c = Corpus::open_or_default(corpus.as_deref())?;
    for s in &c.skipped {
        log::warn!("skipped {}: {}", s.path.display(), s.reason);
    }
    let corpus_name = c.root.display().to_string();
    let unit_name = if unit == NgramUnit::Letters { "letters" } else { "words" };
    if let Some(k) = sample {
        let samples: Vec<String> = match unit {
            NgramUnit::Letters => LetterModel::count(&c, n)?.sample_words(k, seed),
            NgramUnit::Words => {
                let w = WordCounts::count(&c, n)?;
                if n == 1 {
                    w.sample_independent(k, 0, seed)?
                } else {
                    let first = match start.clone() {
                        Some(s) => s,
                        None => w.sample_independent(1, 0, seed)?.remove(0),
                    };
                    w.sample_chains(&first, 1, k, seed)?.remove(0)
                }
            }
        };
        if format == Format::Json {
            out(json!({"unit": unit_name, "n": n, "corpus": corpus_name, "seed": seed, "samples": samples}))?;
        } else if format == Format::Csv {
            out_csv(
                &["index", "sample"],
                samples
                    .iter()
                    .enumerate()
                    .map(|(i, s)| vec![(i + 1).to_string(), s.clone()]),
            )?;
        } else {
            out(samples.join(" "))?;
        }
        return Ok(());
    }
    let (rows, total, distinct): (Vec<(String, u64)>, u64, usize) = match unit {
        NgramUnit::Letters => {
            let m = LetterModel::count(&c, n)?;
            let all = m.ngrams();
            (
                all.iter()
                    .take(if top == 0 { all.len() } else { top })
                    .cloned()
                    .collect(),
                m.total(),
                all.len(),
            )
        }
        NgramUnit::Words => {
            let w = WordCounts::count(&c, n)?;
            if n == 1 {
                (w.top(top), w.total, w.vocabulary())
            } else {
                (w.top_pairs(top), w.total.saturating_sub(1), w.distinct_pairs())
            }
        }
    };
    // Opening (every file read once to check it is text) and counting, not printing.
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds().zip(cpu_started).map(|(b, a)| b - a);
    let p = |count: u64| count as f64 / total.max(1) as f64;
    if format == Format::Json {
        let list: Vec<_> = rows
            .iter()
            .map(|(g, count)| json!({"ngram": g, "count": count, "probability": p(*count)}))
            .collect();
        out(
            json!({"unit": unit_name, "n": n, "corpus": corpus_name, "bytes": c.bytes, "seconds": seconds, "cpu_seconds": cpu_seconds, "total": total, "distinct": distinct, "ngrams": list}),
        )?;
    } else if format == Format::Csv {
        out_csv(
            &["ngram", "count", "probability"],
            rows.iter()
                .map(|(g, count)| vec![g.clone(), count.to_string(), p(*count).to_string()]),
        )?;
    } else {
        out(format_args!(
            "{unit_name} {n}-grams of {} ({}): {total} in all, {distinct} distinct",
            corpus_name,
            c.describe()
        ))?;
        for (g, count) in &rows {
            out(format_args!("{g:<16} {count:>12} {:>10.6}", p(*count)))?;
        }
    }
    Ok(())
}
