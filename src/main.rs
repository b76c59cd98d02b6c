//! `gpt2-explorer`: the command line over the library (no logic of its own).
//! Subcommands: `tokens`, `next-token`, `generate` (essay section 1), and `synthetic`,
//! which writes a seeded random-weights GPT-2 checkpoint for offline demos and tests.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

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
    /// Where the model runs: cpu, cuda (needs a `--features cuda` build and an NVIDIA
    /// GPU) or auto (the GPU when one is usable, else the CPU).
    #[arg(long, default_value = "cpu")]
    device: String,
}

impl ModelArgs {
    /// Loads the model named by --model onto the --device.
    fn load(&self) -> Result<LoadedModel> {
        gpt2_explorer::model::device::set_default_device(gpt2_explorer::model::device::resolve_device(&self.device)?);
        Ok(LoadedModel::load(&self.model, self.offline)?)
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
            let lm = m.load()?;
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
            let lm = m.load()?;
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
    }
    Ok(())
}
