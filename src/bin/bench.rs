//! `bench`: our side of the speed comparison with HF transformers (BENCHMARKS.md).
//! One process loads one model and measures, on the thread count and device asked for:
//! prefill latency at several prompt lengths, greedy generation with the KV cache
//! (tokens/s), the cost of capturing every hook point against none, peak resident
//! memory (RSS) of each phase, and the machine's streaming read bandwidth (for the
//! decode-speed bound). It prints one JSON object; `scripts/bench/hf_bench.py` prints
//! the same for transformers, and `scripts/bench/run.py` interleaves the two and writes
//! BENCHMARKS.md. Serves no essay figure: it keeps live teaching fast.
//!
//!   bench --model PATH|smollm2 [--threads 2] [--device cpu] [--prompt-lens 8,128,1024]
//!         [--new-tokens 128] [--gen-prompt 8] [--capture-len 128] [--iters 5] [--quick]
//!
//! Prompts are synthetic token ids, `(17 + 1009 i) mod V`, the same formula as the
//! Python side, so both sides run the same ids without tokenising anything.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use tch::{Kind, Tensor};

use gpt2_explorer::model::device::{device_name, resolve_device};
use gpt2_explorer::model::gpt2::ids_tensor;
use gpt2_explorer::sampling::{self, Sampling};
use gpt2_explorer::{ActivationCache, CausalLm, LanguageModel, LoadedModel, NoCapture};

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Time prefill, generation and capture of one model (our side of BENCHMARKS.md); prints JSON"
)]
struct Cli {
    /// A model folder, a .gguf file, or `smollm2` (never downloads).
    #[arg(long)]
    model: String,
    /// Intra-op threads (libtorch's set_num_threads); the Python side uses the same.
    #[arg(long, default_value_t = 2)]
    threads: i32,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Prompt lengths for the prefill latency, comma-separated.
    #[arg(long, default_value = "8,128,1024", value_delimiter = ',')]
    prompt_lens: Vec<usize>,
    /// New tokens per generation run (greedy, KV cache).
    #[arg(long, default_value_t = 128)]
    new_tokens: usize,
    /// Prompt length of the generation runs.
    #[arg(long, default_value_t = 8)]
    gen_prompt: usize,
    /// Prompt length of the capture-all vs no-capture comparison.
    #[arg(long, default_value_t = 128)]
    capture_len: usize,
    /// Timed repetitions of each measurement (after one untimed warm-up).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// One repetition, no warm-up, no bandwidth: for CI, so the benchmark cannot rot.
    #[arg(long)]
    quick: bool,
}

fn main() {
    gpt2_explorer::io::log_to_stderr();
    gpt2_explorer::progress::set_sink(Box::new(gpt2_explorer::progress::TerminalBars));
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // A reader that went away (`bench ... | head`) is not an error of ours.
        if gpt2_explorer::io::is_broken_pipe(e.as_ref()) {
            std::process::exit(0);
        }
        eprintln!("error: {}", gpt2_explorer::cli::message(&e).replace('\n', " "));
        std::process::exit(2);
    }
}

/// The prompt both sides use: `(17 + 1009 i) mod V`.
fn prompt_ids(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((17 + 1009 * i) % vocab) as u32).collect()
}

/// One line of /proc/self/status in MiB (VmRSS, VmHWM).
fn status_mib(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak-RSS mark (VmHWM) to the current RSS, so a phase's peak can be read.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).expect("finite timings"));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// CPU seconds this process has used so far, all threads (utime + stime of
/// /proc/self/stat, in USER_HZ = 100 ticks per second): on a busy machine a steadier
/// measure of work than wall time.
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // After the command name: state is field 3, utime field 14, stime field 15.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Waits for the device to finish queued work (a no-op on the CPU).
fn sync(device: tch::Device) {
    if let tch::Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// What [`time_it`] measured: wall seconds of each call, CPU seconds per call (mean
/// over the timed calls), and the phase's peak RSS.
struct Timing {
    times: Vec<f64>,
    cpu_s: f64,
    peak_mib: Option<f64>,
}

/// Times `f` `iters` times after `warmup` untimed calls.
fn time_it(warmup: usize, iters: usize, device: tch::Device, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    reset_peak();
    for _ in 0..warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(iters);
    let cpu0 = cpu_seconds();
    for _ in 0..iters {
        sync(device);
        let t0 = Instant::now();
        f()?;
        sync(device);
        times.push(t0.elapsed().as_secs_f64());
    }
    let cpu_s = (cpu_seconds() - cpu0) / iters as f64;
    Ok(Timing {
        times,
        cpu_s,
        peak_mib: status_mib("VmHWM:"),
    })
}

/// Parameters, and bytes of weights a decoding step reads (f32): every tensor of the
/// model's own list once, of the input embeddings only one row each, the unembedding
/// (tied or not) whole.
fn weight_bytes_per_token(lm: &LanguageModel) -> (i64, i64) {
    // Every tensor of the checkpoint, as the model's own list names them.
    let numel = |shape: &Vec<i64>| shape.iter().product::<i64>();
    let info = lm.info();
    let tensors = LanguageModel::expected_tensors(&info, lm.names()).expect("the model's own configuration");
    let embedding = format!("{}.weight", lm.names().wte);
    let position = lm.names().wpe.map(|n| format!("{n}.weight"));
    let n_embd = info.d_model;
    let total: i64 = tensors.iter().map(|(_, s)| numel(s)).sum();
    let tied = !tensors.iter().any(|(n, _)| n == "lm_head.weight");
    // Read per token: every matrix once, but of the input embeddings (token, position)
    // only one row each; a tied token embedding is read whole as the unembedding.
    let mut per_token = total;
    for (name, shape) in &tensors {
        if Some(name) == position.as_ref() || (*name == embedding && !tied) {
            per_token -= numel(shape) - n_embd as i64;
        }
    }
    if tied {
        per_token += n_embd as i64; // the input row, besides the whole matrix as unembedding
    }
    (total, 4 * per_token)
}

/// Streaming read bandwidth in GB/s: the median time to sum a 512 MiB f32 tensor.
fn read_bandwidth(device: tch::Device) -> f64 {
    let n: i64 = 128 << 20; // 128 Mi floats = 512 MiB
    let x = Tensor::ones([n], (Kind::Float, device));
    let mut times = Vec::new();
    for i in 0..6 {
        sync(device);
        let t0 = Instant::now();
        let s = x.sum(Kind::Float);
        let _ = s.double_value(&[]);
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    (n as f64 * 4.0) / median(&times) / 1e9
}

fn run(cli: Cli) -> Result<()> {
    if cli.threads < 1 {
        bail!("--threads must be at least 1");
    }
    tch::set_num_threads(cli.threads);
    tch::set_num_interop_threads(1);
    let device = resolve_device(&cli.device)?;
    let (warmup, iters) = if cli.quick { (0, 1) } else { (1, cli.iters.max(1)) };

    let t0 = Instant::now();
    let lm = LoadedModel::load_with(&cli.model, &gpt2_explorer::LoadOptions { offline: true, device })
        .with_context(|| format!("cannot load --model {}", cli.model))?;
    sync(device);
    let load_s = t0.elapsed().as_secs_f64();
    let rss_after_load = status_mib("VmRSS:");
    let model = &lm.model;
    let info = model.info();
    let (n_params, bytes_per_token) = weight_bytes_per_token(model);
    let n_ctx = model.n_ctx();

    // Prefill: one forward pass over the whole prompt, logits for every position (as
    // transformers' model(ids).logits).
    let mut prefill = Vec::new();
    for &len in &cli.prompt_lens {
        if len == 0 || len > n_ctx {
            bail!("--prompt-lens: {len} is outside 1..={n_ctx} (the model's context window)");
        }
        let ids = ids_tensor(&prompt_ids(len, info.vocab_size)); // (1, T)
        let m = time_it(warmup, iters, device, || {
            let logits = model.forward(&ids, None, &mut NoCapture)?; // (1, T, V)
            drop(logits);
            Ok(())
        })?;
        prefill.push(json!({"tokens": len, "median_ms": 1e3 * median(&m.times), "times_ms": m.times.iter().map(|t| 1e3 * t).collect::<Vec<_>>(), "cpu_ms": 1e3 * m.cpu_s, "peak_rss_mib": m.peak_mib}));
    }

    // Generation: greedy, KV cache, exactly new_tokens new tokens.
    let gen_prompt = prompt_ids(cli.gen_prompt, info.vocab_size);
    let mut generated = Vec::new();
    let gen = time_it(warmup, iters, device, || {
        generated = sampling::generate(model, &gen_prompt, cli.new_tokens, Sampling::Greedy, |_| {})?;
        Ok(())
    })?;
    let tok_s: Vec<f64> = gen.times.iter().map(|t| cli.new_tokens as f64 / t).collect();

    // Capture: the same forward pass with every hook point recorded, against none.
    let cap_ids = ids_tensor(&prompt_ids(cli.capture_len.min(n_ctx), info.vocab_size)); // (1, T)
    let plain_m = time_it(warmup, iters, device, || {
        drop(model.forward(&cap_ids, None, &mut NoCapture)?);
        Ok(())
    })?;
    let mut n_hooks = 0;
    let mut captured_bytes = 0i64;
    let cap_m = time_it(warmup, iters, device, || {
        let mut cache = ActivationCache::all();
        drop(model.forward(&cap_ids, None, &mut cache)?);
        n_hooks = cache.len();
        captured_bytes = cache
            .hooks()
            .iter()
            .map(|h| cache.get(*h).map_or(0, |t| t.numel() as i64 * 4))
            .sum();
        Ok(())
    })?;
    // The guarantee the capture path keeps: the logits are bitwise the same.
    let plain = model.forward(&cap_ids, None, &mut NoCapture)?;
    let with = model.forward(&cap_ids, None, &mut ActivationCache::all())?;
    let bitwise_equal = plain.equal(&with);
    let (plain_ms, cap_ms) = (1e3 * median(&plain_m.times), 1e3 * median(&cap_m.times));

    let bandwidth = if cli.quick { None } else { Some(read_bandwidth(device)) };
    let report: Value = json!({
        "side": "ours",
        "engine": format!("gpt2-explorer {} (tch 0.26, libtorch {})", env!("CARGO_PKG_VERSION"), "2.13.0"),
        "model": lm.name,
        "family": info.family,
        "n_params": n_params,
        "weight_bytes_per_token": bytes_per_token,
        "threads": tch::get_num_threads(),
        "device": device_name(device),
        "dtype": "float32",
        "iters": iters,
        "load_s": load_s,
        "rss_after_load_mib": rss_after_load,
        "prefill": prefill,
        "generate": {"prompt_tokens": cli.gen_prompt, "new_tokens": cli.new_tokens, "median_tok_s": median(&tok_s), "tok_s": tok_s, "cpu_s": gen.cpu_s, "peak_rss_mib": gen.peak_mib, "ids": generated},
        "capture": {"tokens": cap_ids.size()[1], "hooks": n_hooks, "captured_mib": captured_bytes as f64 / 1048576.0, "plain_median_ms": plain_ms, "capture_median_ms": cap_ms, "overhead": cap_ms / plain_ms - 1.0, "plain_cpu_ms": 1e3 * plain_m.cpu_s, "capture_cpu_ms": 1e3 * cap_m.cpu_s, "plain_peak_rss_mib": plain_m.peak_mib, "capture_peak_rss_mib": cap_m.peak_mib, "logits_bitwise_equal": bitwise_equal},
        "read_bandwidth_gb_s": bandwidth,
    });
    gpt2_explorer::io::print_line(report)?;
    Ok(())
}
