#!/usr/bin/env python3
"""Driver of `make bench`: runs our `bench` binary and transformers' side
(scripts/bench/hf_bench.py) on the same checkpoints, thread count and dtype,
interleaved (ours, theirs, then theirs, ours, ...), several runs, and writes the medians
and the ratios into BENCHMARKS.md between the `bench:begin` / `bench:end` markers,
with the machine and the exact command. Standard library only.

  python3 scripts/bench/run.py [--runs 3] [--threads 2] [--models synthetic-gpt2-small,smollm2]
  python3 scripts/bench/run.py --quick [--ours-only]   # CI: tiny checkpoint, one iteration

Every process is separate, so each side's peak RSS is its own.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {
    "synthetic-gpt2-small": os.path.join(ROOT, "data", "cache", "synthetic-gpt2-small"),
    "smollm2": os.path.join(ROOT, "data", "cache", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    load = " / ".join("%.2f" % x for x in os.getloadavg())
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(), "loadavg_at_start": load}


def run_side(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("error: %s failed (exit %d): %s" % (shlex.join(cmd), p.returncode, (p.stderr.strip().splitlines() or ["no output"])[-1]))
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit("error: %s printed no JSON result" % shlex.join(cmd))
    r = json.loads(lines[-1])
    r["process_wall_s"] = wall
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(runs):
    """Medians over runs of each run's own median, per measurement."""
    first = runs[0]
    s = {"engine": first["engine"], "threads": first["threads"], "dtype": first["dtype"], "device": first["device"],
         "n_params": first["n_params"], "load_s": med([r["load_s"] for r in runs]),
         "rss_after_load_mib": med([r["rss_after_load_mib"] for r in runs]), "prefill": {}}
    for i, p in enumerate(first["prefill"]):
        s["prefill"][p["tokens"]] = {"ms": med([r["prefill"][i]["median_ms"] for r in runs]), "cpu_ms": med([r["prefill"][i].get("cpu_ms") for r in runs]),
                                     "peak": med([r["prefill"][i]["peak_rss_mib"] for r in runs])}
    s["tok_s"] = med([r["generate"]["median_tok_s"] for r in runs])
    s["gen_cpu_s"] = med([r["generate"].get("cpu_s") for r in runs])
    s["new_tokens"] = first["generate"]["new_tokens"]
    s["gen_peak"] = med([r["generate"]["peak_rss_mib"] for r in runs])
    s["gen_ids"] = first["generate"]["ids"]
    c = [r["capture"] for r in runs]
    s["capture"] = {k: med([x.get(k) for x in c]) for k in ("plain_median_ms", "capture_median_ms", "overhead", "plain_cpu_ms", "capture_cpu_ms", "plain_peak_rss_mib", "capture_peak_rss_mib")}
    s["capture"].update({k: c[0][k] for k in ("tokens", "hooks", "captured_mib", "logits_bitwise_equal", "what") if k in c[0]})
    s["bandwidth"] = med([r.get("read_bandwidth_gb_s") for r in runs])
    s["bytes_per_token"] = first.get("weight_bytes_per_token")
    s["attn"] = first.get("attn_implementation")
    return s


def fmt(x, nd=1):
    return "n/a" if x is None else ("%.*f" % (nd, x))


def ratio(num, den):
    return None if not num or not den else num / den


def model_section(name, path, o, t, runs):
    L = ["### %s" % name, "", "`%s`: %s parameters, float32 on both sides, %d threads, device %s; %d interleaved runs (medians of per-run medians)." %
         (os.path.relpath(path, ROOT), "{:,}".format(o["n_params"]), o["threads"], o["device"], runs), ""]
    if t:
        L += ["| measurement | ours | transformers | ours/theirs (speed) | CPU time ours / theirs | ours/theirs by CPU time |", "|---|---:|---:|---:|---:|---:|"]
        for n, p in o["prefill"].items():
            tp = t["prefill"].get(n, {})
            L.append("| prefill %d tokens (ms) | %s | %s | **%sx** | %s / %s ms | %sx |" % (n, fmt(p["ms"]), fmt(tp.get("ms")), fmt(ratio(tp.get("ms"), p["ms"]), 2),
                                                                              fmt(p["cpu_ms"], 0), fmt(tp.get("cpu_ms"), 0), fmt(ratio(tp.get("cpu_ms"), p["cpu_ms"]), 2)))
        L.append("| generation, %d new tokens greedy, KV cache (tokens/s) | %s | %s | **%sx** | %s / %s s | %sx |" % (o["new_tokens"], fmt(o["tok_s"]), fmt(t["tok_s"]), fmt(ratio(o["tok_s"], t["tok_s"]), 2),
                                                                                                          fmt(o["gen_cpu_s"], 2), fmt(t["gen_cpu_s"], 2), fmt(ratio(t["gen_cpu_s"], o["gen_cpu_s"]), 2)))
        for n, p in o["prefill"].items():
            tp = t["prefill"].get(n, {}).get("peak")
            L.append("| peak RSS, prefill %d (MiB) | %s | %s | %s | | |" % (n, fmt(p["peak"], 0), fmt(tp, 0), fmt(ratio(tp, p["peak"]), 2)))
        L.append("| peak RSS, generation (MiB) | %s | %s | %s | | |" % (fmt(o["gen_peak"], 0), fmt(t["gen_peak"], 0), fmt(ratio(t["gen_peak"], o["gen_peak"]), 2)))
        L.append("| RSS after loading (MiB) | %s | %s | %s | | |" % (fmt(o["rss_after_load_mib"], 0), fmt(t["rss_after_load_mib"], 0), fmt(ratio(t["rss_after_load_mib"], o["rss_after_load_mib"]), 2)))
        L.append("| load time (s) | %s | %s | %s | | |" % (fmt(o["load_s"], 2), fmt(t["load_s"], 2), fmt(ratio(t["load_s"], o["load_s"]), 2)))
        same = 0
        for a, b in zip(o["gen_ids"], t["gen_ids"]):
            if a != b:
                break
            same += 1
        L += ["", "Greedy tokens: the two sides agree on the first %d of %d generated tokens%s." %
              (same, len(o["gen_ids"]), "" if same == len(o["gen_ids"]) else " (random weights give near-ties; a last-bit difference can flip one)")]
        L.append("transformers side: %s, attention `%s` (its default)." % (t["engine"], t["attn"]))
    else:
        L += ["| measurement | ours |", "|---|---:|"]
        for n, p in o["prefill"].items():
            L.append("| prefill %d tokens (ms) | %s |" % (n, fmt(p["ms"])))
        L.append("| generation (tokens/s) | %s |" % fmt(o["tok_s"]))
    c = o["capture"]
    cpu_over = ratio(c.get("capture_cpu_ms"), c.get("plain_cpu_ms"))
    L += ["", "Capture (ours): every hook point (%s tensors, %s MiB) on a %s-token forward: %s ms against %s ms plain, overhead **%s%%** by wall time (%s%% by CPU time); peak RSS %s vs %s MiB; logits bitwise equal with and without capture: %s." %
          (c.get("hooks"), fmt(c.get("captured_mib")), c.get("tokens"), fmt(c["capture_median_ms"]), fmt(c["plain_median_ms"]), fmt(100 * c["overhead"]),
           fmt(None if cpu_over is None else 100 * (cpu_over - 1)), fmt(c["capture_peak_rss_mib"], 0), fmt(c["plain_peak_rss_mib"], 0), c.get("logits_bitwise_equal"))]
    if t:
        tc = t["capture"]
        L.append("For scale, transformers' `output_hidden_states=True, output_attentions=True` (eager attention) costs %s ms against %s ms plain (%s%%); "
                 "TransformerLens's `run_with_cache` is the conceptual peer of our capture (not installed here, not measured)." %
                 (fmt(tc["capture_median_ms"]), fmt(tc["plain_median_ms"]), "%+.1f" % (100 * tc["overhead"])))
    if o.get("bandwidth") and o.get("bytes_per_token"):
        bw, b = o["bandwidth"], o["bytes_per_token"]
        bound = bw * 1e9 / b
        L += ["", "Decode vs the memory-bandwidth limit: a step reads %s MB of f32 weights; the measured streaming read bandwidth (sum over 512 MiB, %d threads) is %s GB/s, so at most %s tokens/s; we reach %s tokens/s (%s%% of the bound)." %
              (fmt(b / 1e6, 0), o["threads"], fmt(bw, 1), fmt(bound, 1), fmt(o["tok_s"]), fmt(100 * o["tok_s"] / bound, 0))]
    return L


def main():
    ap = argparse.ArgumentParser(description="Benchmark gpt2-explorer against HF transformers (see BENCHMARKS.md)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="synthetic-gpt2-small,smollm2")
    ap.add_argument("--bench-bin", default=os.path.join(ROOT, "target", "debug", "bench"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv-ref", "bin", "python"))
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--json-out", default=os.path.join(ROOT, "target", "bench", "results.json"))
    ap.add_argument("--quick", action="store_true", help="tiny checkpoint (--tiny-model), one run, one iteration: for CI")
    ap.add_argument("--tiny-model", help="with --quick: the tiny checkpoint folder")
    ap.add_argument("--ours-only", action="store_true", help="skip the transformers side")
    ap.add_argument("--note", default="", help="a line added under the heading, e.g. 'provisional: busy machine'")
    ap.add_argument("--render-only", metavar="RESULTS_JSON", help="write the Results section from a saved (possibly interrupted) results file; measure nothing")
    a = ap.parse_args()

    if a.render_only:
        saved = json.load(open(a.render_only))
        argv = "python3 scripts/bench/run.py " + shlex.join(saved.get("argv", []))
        write_section(a.out, render(saved["results"], saved["machine"], saved["started"], "make bench", argv, a.note))
        print("[bench] wrote %s from %s" % (a.out, a.render_only), file=sys.stderr)
        return

    if a.quick:
        if not a.tiny_model:
            sys.exit("error: --quick needs --tiny-model DIR (make bench-quick writes one with `gpt2-explorer synthetic --size small`)")
        models = [("tiny-synthetic", a.tiny_model)]
        common = ["--prompt-lens", "8,32", "--new-tokens", "8", "--capture-len", "16", "--quick"]
        runs = 1
    else:
        models = []
        for m in a.models.split(","):
            if m not in MODELS and not os.path.exists(m):
                sys.exit("error: unknown model `%s`: use %s or a path" % (m, ", ".join(MODELS)))
            models.append((m, MODELS.get(m, m)))
        common = ["--iters", str(a.iters)]
        runs = a.runs
    for name, path in models:
        if not os.path.exists(path):
            sys.exit("error: %s is missing (%s): run `make setup` (SmolLM2) or `make parity-fixtures` / `gpt2-explorer synthetic --out %s` (synthetic GPT-2)" % (name, path, path))
    if not os.access(a.bench_bin, os.X_OK):
        sys.exit("error: %s is not built: run `make bench` (it builds it)" % a.bench_bin)
    if not a.ours_only and not os.access(a.python, os.X_OK):
        sys.exit("error: %s is missing: run `bash scripts/parity/setup_venv.sh` (make bench does), or pass --ours-only" % a.python)

    info = machine()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    threads = ["--threads", str(a.threads), "--device", a.device]
    results = {}
    for name, path in models:
        ours_runs, theirs_runs = [], []
        for r in range(runs):
            ours = lambda: ours_runs.append(run_side([a.bench_bin, "--model", path] + threads + common))
            theirs = lambda: theirs_runs.append(run_side([a.python, os.path.join(ROOT, "scripts", "bench", "hf_bench.py"), "--model", path] + threads + common))
            order = [ours] if a.ours_only else ([ours, theirs] if r % 2 == 0 else [theirs, ours])
            for f in order:
                f()
                # Saved after every process, so an interrupted benchmark keeps what it measured
                # (render it with --render-only).
                results[name] = {"path": path, "ours": ours_runs, "transformers": theirs_runs}
                save_json(a.json_out, info, started, results)
            print("[bench] %s: run %d/%d done" % (name, r + 1, runs), file=sys.stderr)

    cmd = "make bench" if not a.quick else "make bench-quick"
    argv = "python3 scripts/bench/run.py " + shlex.join(sys.argv[1:])
    save_json(a.json_out, info, started, results)
    write_section(a.out, render(results, info, started, cmd, argv, a.note))
    print("[bench] wrote %s and %s" % (a.out, a.json_out), file=sys.stderr)


def render(results, info, started, cmd, argv, note):
    """The Results section: machine, command, and one table per model measured."""
    head = ["## Results (written by `%s`)" % cmd, ""]
    if note:
        head += ["**%s**" % note, ""]
    head += ["- Run: %s; command: `%s` (driver: `%s`)." % (started, cmd, argv),
             "- Machine: %s, %s logical cores, %s RAM, Linux %s; load average at start %s." % (info["cpu"], info["cores"], info["memory"], info["kernel"], info["loadavg_at_start"]),
             "- Ratios are speed ratios ours/theirs: their time / our time for latencies, our tokens/s / theirs for generation, their RSS / ours for memory; > 1 means we do better.",
             "- CPU time is the process's user + system time per timed call (all threads): on a busy machine it moves much less than wall time, so its ratio is the steadier comparison there; on a quiet machine trust the wall-time ratio.",
             ""]
    sections = []
    for name, r in results.items():
        if not r["ours"]:
            continue
        o = summarise(r["ours"])
        t = summarise(r["transformers"]) if r["transformers"] else None
        sections += model_section(name, r["path"], o, t, len(r["ours"])) + [""]
    return head + sections


def save_json(path, info, started, results):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump({"machine": info, "started": started, "argv": sys.argv[1:], "results": results}, f, indent=1)
    os.replace(path + ".tmp", path)


def write_section(out, lines):
    """Replaces what lies between the markers of `out` (or appends the block)."""
    block = "\n".join([BEGIN] + lines + [END]) + "\n"
    text = open(out).read() if os.path.exists(out) else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        post = rest.split(END, 1)[1].lstrip("\n")
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
