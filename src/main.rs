//! `gpt2-explorer`: the command line over the library (no logic of its own).
//! Subcommands: `tokens`, `next-token`, `generate` (essay section 1), `attention` and
//! `embed` (section 6), and `synthetic`, which writes a seeded random-weights GPT-2
//! checkpoint for offline demos and tests.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use gpt2_explorer::analysis::attention;
use gpt2_explorer::analysis::embedding_module::{word_vector, MultiToken};
use gpt2_explorer::sampling::{self, Sampling};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::{Gpt2Config, LoadedModel};

#[derive(Parser)]
#[command(name = "gpt2-explorer", version, about = "Open up GPT-2: tokens, next-token probabilities, generation")]
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
            (_, Some(path)) => (std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?, path.display().to_string()),
            (Some(p), None) if p == "-" => {
                let mut b = Vec::new();
                std::io::stdin().read_to_end(&mut b).context("cannot read standard input")?;
                (b, "standard input".to_string())
            }
            (Some(p), None) => return Ok(p.clone()),
            (None, None) => bail!("no prompt given: pass the text as an argument, `-` for standard input, or --file PATH"),
        };
        match String::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(e) => bail!("{source} is not valid UTF-8 (first bad byte at offset {}); save it as UTF-8 text", e.utf8_error().valid_up_to()),
        }
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
                fail(&format!("{} (see --help)", if msg.is_empty() { "invalid arguments" } else { msg }));
            }
        },
    };
    if let Err(e) = run(cli) {
        // A reader that went away (`| head`) is not an error of ours.
        let broken_pipe = e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe));
        if broken_pipe && e.to_string() == STDOUT_ERROR {
            std::process::exit(0);
        }
        fail(&format!("{e:#}"));
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

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Tokens { m, p, json } => {
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
        }
        Cmd::NextToken { m, p, top, json } => {
            let text = p.text()?;
            let lm = LoadedModel::load(&m.model, m.offline)?;
            let ids = lm.encode_prompt(&text)?;
            let logits = lm.model.logits(&ids)?; // (T, V)
            let table = sampling::top_k(&logits.get(-1), top, &lm.tokenizer)?;
            if json {
                out(json!({"model": lm.name, "prompt_ids": ids, "top": table}))?;
            } else {
                out(&text)?;
                for (rank, t) in table.iter().enumerate() {
                    out(format_args!("{:>3}. {:<16} {:>7.3}%   logprob {:>8.4}   id {}", rank + 1, lm.tokenizer.token_label(t.id), 100.0 * t.prob, t.logprob, t.id))?;
                }
            }
        }
        Cmd::Generate { m, p, max_new_tokens, temperature, seed, json } => {
            let rule = Sampling::new(temperature, seed)?;
            let text = p.text()?;
            let lm = LoadedModel::load(&m.model, m.offline)?;
            let ids = lm.encode_prompt(&text)?;
            let new_ids = sampling::generate(&lm.model, &ids, max_new_tokens, rule, |_| {})?;
            let continuation = lm.tokenizer.decode(&new_ids)?;
            if json {
                out(json!({"model": lm.name, "prompt_ids": ids, "generated_ids": new_ids, "text": continuation, "seed": seed, "temperature": temperature}))?;
            } else {
                out(format_args!("{text}{continuation}"))?;
            }
        }
        Cmd::Synthetic { out, size, seed, layout } => {
            let cfg = match size {
                Size::Small => Gpt2Config::preset(50257, 128, 64, 2, 4),
                Size::Gpt2Small => Gpt2Config::gpt2_small(),
            };
            let layout = match layout {
                LayoutArg::Hub => Layout::Hub,
                LayoutArg::Transformers => Layout::Transformers,
            };
            synthetic::write_model_folder(&out, &cfg, seed, layout, &gpt2_explorer::gpt2_tokenizer_dir())?;
            eprintln!("wrote a synthetic (random-weights) GPT-2 checkpoint, seed {seed}, to {}", out.display());
        }
        Cmd::Attention { m, p, layer, head, json, csv } => {
            let text = p.text()?;
            let lm = LoadedModel::load(&m.model, m.offline)?;
            attention::check_layer(&lm.model, layer)?;
            if let Some(h) = head {
                attention::check_head(&lm.model, h)?;
            }
            let ids = lm.encode_prompt(&text)?;
            let all = attention::block_patterns(&lm.model, &ids, layer)?;
            let heads: Vec<usize> = head.map_or_else(|| (0..all.len()).collect(), |h| vec![h]);
            let tokens: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_str(i)).collect();
            if json {
                let patterns: Vec<Vec<Vec<f64>>> = heads.iter().map(|&h| all[h].values.chunks(all[h].cols).map(<[f64]>::to_vec).collect()).collect();
                out(json!({"model": lm.name, "layer": layer, "heads": heads, "ids": ids, "tokens": tokens, "patterns": patterns}))?;
            } else if csv {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(["head", "query_pos", "query_token", "key_pos", "key_token", "weight"])?;
                for &h in &heads {
                    for q in 0..ids.len() {
                        for k in 0..ids.len() {
                            w.write_record([h.to_string(), q.to_string(), tokens[q].clone(), k.to_string(), tokens[k].clone(), all[h].at(q, k).to_string()])?;
                        }
                    }
                }
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("CSV: {e}"))?;
                out(String::from_utf8(bytes)?.trim_end())?;
            } else {
                let labels: Vec<String> = ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect();
                for &h in &heads {
                    out(format_args!("block {layer}, head {h}: row = position attending, columns = positions attended to (per cent)"))?;
                    for (q, label) in labels.iter().enumerate() {
                        let cells: Vec<String> = (0..=q).map(|k| format!("{:>5.1}", 100.0 * all[h].at(q, k))).collect();
                        out(format_args!("{q:>4} {label:<14} {}", cells.join(" ")))?;
                    }
                }
            }
        }
        Cmd::Embed { m, words, multi_token, json, csv } => {
            let lm = LoadedModel::load(&m.model, m.offline)?;
            let rule = match multi_token {
                MultiTokenArg::Refuse => MultiToken::Refuse,
                MultiTokenArg::First => MultiToken::First,
                MultiTokenArg::Mean => MultiToken::Mean,
            };
            // Every word is checked before anything is printed.
            let vectors = words.iter().map(|w| word_vector(&lm.model, &lm.tokenizer, w, rule)).collect::<std::result::Result<Vec<_>, _>>()?;
            if json {
                out(json!({"model": lm.name, "multi_token": rule, "words": vectors}))?;
            } else if csv {
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut header = vec!["word".to_string(), "ids".into(), "tokens".into(), "how".into()];
                header.extend((0..vectors[0].vector.len()).map(|i| format!("e{i}")));
                w.write_record(&header)?;
                for v in &vectors {
                    let ids: Vec<String> = v.ids.iter().map(|i| i.to_string()).collect();
                    let mut row = vec![v.word.clone(), ids.join(" "), v.tokens.join("|"), v.how.clone()];
                    row.extend(v.vector.iter().map(|x| x.to_string()));
                    w.write_record(&row)?;
                }
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("CSV: {e}"))?;
                out(String::from_utf8(bytes)?.trim_end())?;
            } else {
                for v in &vectors {
                    let norm = v.vector.iter().map(|x| x * x).sum::<f64>().sqrt();
                    let head: Vec<String> = v.vector.iter().take(6).map(|x| format!("{x:+.4}")).collect();
                    let labels: Vec<String> = v.ids.iter().map(|&i| lm.tokenizer.token_label(i)).collect();
                    out(format_args!("{:<14} ids {:?} ({}; {})  |v| {norm:.4}  [{} ... {} values]", v.word, v.ids, labels.join(" "), v.how, head.join(" "), v.vector.len()))?;
                }
            }
        }
    }
    Ok(())
}
