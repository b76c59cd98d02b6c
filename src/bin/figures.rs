//! `figures`: rebuilds the essay's figures like `make` does (see `gpt2_explorer::figures`).
//!
//!   figures list                  the table of figures
//!   figures [all | ID...]         rebuild what is stale (all by default)
//!   --check                       exit 1 and name the stale figures; build nothing
//!   --force                       rebuild even what is up to date
//!   --model M                     the model for model-made figures (default auto)
//!   --out DIR                     output folder (default figures/)
//!   --jobs N                      rendering threads (default: the number of cores)
//!   --device D                    where the model runs: cpu (default), cuda, auto

use std::path::PathBuf;

use clap::Parser;
use gpt2_explorer::figures::{self, Options};
use gpt2_explorer::io::{is_broken_pipe, print_line};

#[derive(Parser)]
#[command(
    name = "figures",
    about = "Rebuild the figures of Wolfram's essay: only what is stale, PNG + SVG + CSV each, and a gallery"
)]
struct Cli {
    /// `list`, `all`, or figure ids.
    targets: Vec<String>,
    #[arg(long)]
    check: bool,
    #[arg(long)]
    force: bool,
    #[arg(long, default_value = "auto")]
    model: String,
    #[arg(long, default_value = "figures")]
    out: PathBuf,
    #[arg(long)]
    jobs: Option<usize>,
    /// Where the model runs: cpu, cuda (a `--features cuda` build) or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() {
    gpt2_explorer::io::log_to_stderr();
    gpt2_explorer::progress::set_sink(Box::new(gpt2_explorer::progress::TerminalBars));
    let cli = Cli::parse();
    std::process::exit(match run(cli) {
        Ok(code) => code,
        // A reader that went away (`figures list | head`) is not an error of ours.
        Err(e) if is_broken_pipe(e.as_ref()) => 0,
        Err(e) => {
            eprintln!("error: {}", gpt2_explorer::cli::message(&e).replace('\n', " "));
            2
        }
    });
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if cli.targets.first().map(String::as_str) == Some("list") {
        for f in figures::registry() {
            let caption = f
                .params()
                .map_or_else(|_| f.caption_template.to_string(), |p| f.caption(&p));
            print_line(format!("{:<26} {:<40} {}", f.id, f.section, caption))?;
        }
        return Ok(0);
    }
    let device = gpt2_explorer::model::device::resolve_device(&cli.device)?;
    let jobs = cli
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = Options {
        ids: cli.targets,
        out: cli.out,
        model: cli.model,
        force: cli.force,
        check: cli.check,
        jobs,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        source_root: figures::stamps::default_source_root(),
        device,
    };
    let s = figures::build(&opts)?;
    if cli.check {
        if s.stale.is_empty() && s.failed.is_empty() {
            print_line(format!("all {} figures are up to date", s.up_to_date.len()))?;
            return Ok(0);
        }
        for id in &s.stale {
            print_line(format!("stale: {id}"))?;
        }
        for (id, e) in &s.failed {
            print_line(format!("cannot check {id}: {e}"))?;
        }
        return Ok(1);
    }
    for (id, e) in &s.failed {
        eprintln!("failed: {id}: {e}");
    }
    print_line(format!(
        "figures: {} built, {} up to date, {} failed in {:.1} s; gallery: {}",
        s.built.len(),
        s.up_to_date.len(),
        s.failed.len(),
        s.seconds,
        opts.out.join("index.html").display()
    ))?;
    Ok(if s.failed.is_empty() { 0 } else { 1 })
}
