//! The benchmark's quick mode (BENCHMARKS.md), run by `make test` so that it cannot
//! rot: the `bench` binary on a tiny synthetic checkpoint, one iteration, through the
//! same driver as `make bench` (scripts/bench/run.py, our side only: the transformers
//! side needs the reference venv and runs in `make bench-quick`). Also checks the
//! `--device` errors a machine without a GPU must give, and the pooling script's
//! arithmetic (scripts/bench/pool.py).

mod common;

use std::process::Command;

use common::{assert_one_line_error, Sandbox};

const BENCH: &str = env!("CARGO_BIN_EXE_bench");

fn driver() -> String {
    format!("{}/scripts/bench/run.py", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn quick_benchmark_runs_end_to_end_and_writes_its_section() {
    let sb = Sandbox::new();
    let tiny = sb.synthetic_small("tiny");
    let md = sb.path("BENCHMARKS.md");
    // An existing file keeps what lies outside the markers.
    std::fs::write(&md, "# Benchmarks\n\nhand-written text\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\n## Counting n-grams\nother section\n").unwrap();
    let json = sb.path("quick.json");
    let out = Command::new("python3")
        .arg(driver())
        .args([
            "--quick",
            "--ours-only",
            "--tiny-model",
            tiny.to_str().unwrap(),
            "--bench-bin",
            BENCH,
        ])
        .args(["--out", md.to_str().unwrap(), "--json-out", json.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the quick benchmark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("hand-written text") && text.contains("## Counting n-grams\nother section"),
        "text outside the markers was lost:\n{text}"
    );
    assert!(!text.contains("\nold\n"), "the old section was not replaced:\n{text}");
    assert_eq!(text.matches("<!-- bench:begin -->").count(), 1);
    for needle in [
        "make bench-quick",
        "prefill 8 tokens (ms)",
        "prefill 32 tokens (ms)",
        "generation (tokens/s)",
        "logits bitwise equal with and without capture: True",
        "Machine:",
    ] {
        assert!(text.contains(needle), "BENCHMARKS.md lacks `{needle}`:\n{text}");
    }

    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &v["results"]["tiny-synthetic"]["ours"][0];
    assert_eq!(r["dtype"], "float32");
    assert_eq!(r["threads"], 2);
    assert_eq!(r["device"], "cpu");
    // The tiny checkpoint: V=50257, P=128, C=64, L=2 -> 50257*64 + 128*64 + 2 blocks of
    // (2*64 LayerNorm + 64*192+192 + 64*64+64 + 2*64 + 64*256+256 + 256*64+64) + 2*64.
    let block = 2 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 2 * 64 + 64 * 256 + 256 + 256 * 64 + 64;
    assert_eq!(
        r["n_params"].as_i64().unwrap(),
        50257 * 64 + 128 * 64 + 2 * block + 2 * 64
    );
    assert_eq!(r["generate"]["ids"].as_array().unwrap().len(), 8, "8 new tokens");
    assert!(r["generate"]["median_tok_s"].as_f64().unwrap() > 0.0);
    assert_eq!(
        r["capture"]["hooks"].as_i64().unwrap(),
        2 + 2 * 13 + 2,
        "every GPT-2 hook point of 2 blocks: embed, pos_embed, 13 per block, ln_final, logits"
    );
    assert_eq!(r["capture"]["logits_bitwise_equal"], true);
    for p in r["prefill"].as_array().unwrap() {
        assert!(
            p["median_ms"].as_f64().unwrap() > 0.0 && p["peak_rss_mib"].as_f64().unwrap() > 50.0,
            "{p}"
        );
    }
}

#[test]
fn bench_rejects_a_cuda_device_without_gpu_support_in_one_line() {
    let sb = Sandbox::new();
    let tiny = sb.synthetic_small("tiny");
    let out = Command::new(BENCH)
        .args(["--model", tiny.to_str().unwrap(), "--quick", "--device", "cuda"])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["--device cuda", "features cuda"]);
    let out = Command::new(BENCH)
        .args(["--model", tiny.to_str().unwrap(), "--quick", "--device", "tpu"])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["unknown device `tpu`", "cpu, cuda"]);
    // auto falls back to the CPU on a machine (or build) without a usable GPU.
    let out = Command::new(BENCH)
        .args([
            "--model",
            tiny.to_str().unwrap(),
            "--quick",
            "--device",
            "auto",
            "--prompt-lens",
            "4",
            "--new-tokens",
            "2",
            "--capture-len",
            "4",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["device"],
        if gpt2_explorer::model::device::cuda_usable() {
            "cuda:0"
        } else {
            "cpu"
        }
    );
}

#[test]
fn cli_rejects_a_cuda_device_without_gpu_support_in_one_line() {
    let sb = Sandbox::new();
    let tiny = sb.synthetic_small("tiny");
    let out = sb.run(&[
        "generate",
        "--model",
        tiny.to_str().unwrap(),
        "--device",
        "cuda",
        "hello",
    ]);
    assert_one_line_error(&out, &["--device cuda", "make setup-cuda"]);
}

/// scripts/bench/pool.py (BENCHMARKS.md's pooled table) on two hand-made results files:
/// each run's ratio is formed within the run, then the median, min and max over runs.
#[test]
fn pooling_pairs_each_run_then_takes_the_median() {
    let sb = Sandbox::new();
    let run = |ours_ms: f64, theirs_ms: f64, ours_tok_s: f64, theirs_tok_s: f64, cap_ms: f64| {
        serde_json::json!({
            "ours": {"prefill": [{"tokens": 8, "median_ms": ours_ms}], "generate": {"median_tok_s": ours_tok_s}, "capture": {"capture_median_ms": cap_ms, "plain_median_ms": 100.0}},
            "transformers": {"prefill": [{"tokens": 8, "median_ms": theirs_ms}], "generate": {"median_tok_s": theirs_tok_s}},
        })
    };
    let file = |name: &str, runs: Vec<serde_json::Value>| {
        let ours: Vec<_> = runs.iter().map(|r| r["ours"].clone()).collect();
        let theirs: Vec<_> = runs.iter().map(|r| r["transformers"].clone()).collect();
        let path = sb.path(name);
        std::fs::write(
            &path,
            serde_json::json!({"results": {"m": {"ours": ours, "transformers": theirs}}}).to_string(),
        )
        .unwrap();
        path
    };
    let a = file("a.json", vec![run(50.0, 100.0, 30.0, 20.0, 110.0)]);
    let b = file(
        "b.json",
        vec![
            run(100.0, 100.0, 20.0, 20.0, 120.0),
            run(100.0, 80.0, 40.0, 20.0, 130.0),
        ],
    );
    let out = Command::new("python3")
        .arg(format!("{}/scripts/bench/pool.py", env!("CARGO_MANIFEST_DIR")))
        .args([&a, &b])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // prefill ratios 2.0, 1.0, 0.8; generation 1.5, 1.0, 2.0; capture 10, 20, 30 %.
    for row in [
        "**m** (3 runs from 2 files)",
        "| prefill 8 tokens (speed ratio) | 1.00x | 0.80x | 2.00x |",
        "| generation tokens/s (speed ratio) | 1.50x | 1.00x | 2.00x |",
        "| capture overhead (ours, %) | 20.0 | 10.0 | 30.0 |",
    ] {
        assert!(text.contains(row), "pool.py output lacks `{row}`:\n{text}");
    }
}
