"""The reference side of BENCHMARKS.md: HF transformers on PyTorch, measured exactly as
`src/bin/bench.rs` measures gpt2-explorer, and printed as the same JSON object.

One process loads one model and times, on the thread count asked for:
  prefill   model(ids).logits over the whole prompt (logits for every position);
  generate  model.generate(ids, max_new_tokens=N, min_new_tokens=N, do_sample=False)
            (greedy, KV cache on: transformers' default DynamicCache);
  capture   model(ids, output_hidden_states=True, output_attentions=True), transformers'
            nearest built-in to capturing hook points (reported, not a target);
and the peak RSS of each phase (VmHWM after resetting it through /proc/self/clear_refs).

Same weights, same dtype: the synthetic GPT-2 folder is read with GPT2LMHeadModel, the
SmolLM2 GGUF with AutoModelForCausalLM(gguf_file=...), which dequantises to float32 just
as our loader does; dtype=torch.float32 on both. Attention is transformers' default
(`sdpa`), i.e. what a user gets; our side computes attention explicitly.

  .venv-ref/bin/python scripts/bench/hf_bench.py --model DIR|FILE.gguf [--threads 2] ...
"""
import argparse
import json
import os
import statistics
import sys
import time


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return None


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def prompt_ids(n, vocab):
    return [(17 + 1009 * i) % vocab for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a GPT-2 model folder or a llama .gguf file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--prompt-lens", default="8,128,1024")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--gen-prompt", type=int, default=8)
    ap.add_argument("--capture-len", type=int, default=128)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    transformers.logging.set_verbosity_error()
    device = torch.device("cuda" if a.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu")
    if a.device == "cuda" and device.type != "cuda":
        sys.exit("error: --device cuda: torch sees no CUDA GPU")
    warmup, iters = (0, 1) if a.quick else (1, max(1, a.iters))

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    if a.model.endswith(".gguf"):
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(a.model)), gguf_file=os.path.basename(a.model), dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    model = model.to(device).eval()
    sync()
    load_s = time.perf_counter() - t0
    rss_after_load = status_mib("VmRSS:")
    cfg = model.config
    vocab = cfg.vocab_size
    n_params = sum(p.numel() for p in model.parameters())

    def time_it(fn):
        reset_peak()
        for _ in range(warmup):
            fn()
        times = []
        cpu0 = time.process_time()
        for _ in range(iters):
            sync()
            t = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t)
        return times, (time.process_time() - cpu0) / iters, status_mib("VmHWM:")

    def ids_of(n):
        return torch.tensor([prompt_ids(n, vocab)], dtype=torch.long, device=device)

    prefill = []
    with torch.inference_mode():
        for n in [int(x) for x in a.prompt_lens.split(",") if x]:
            ids = ids_of(n)
            times, cpu, peak = time_it(lambda: model(ids).logits)
            prefill.append({"tokens": n, "median_ms": 1e3 * statistics.median(times), "times_ms": [1e3 * t for t in times], "cpu_ms": 1e3 * cpu, "peak_rss_mib": peak})

        gen_ids = ids_of(a.gen_prompt)
        out = {}

        def gen():
            out["ids"] = model.generate(gen_ids, attention_mask=torch.ones_like(gen_ids), max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                                        do_sample=False, use_cache=True, pad_token_id=0)
        times, gen_cpu, gen_peak = time_it(gen)
        tok_s = [a.new_tokens / t for t in times]
        generated = out["ids"][0, a.gen_prompt:].tolist()

        cap_ids = ids_of(a.capture_len)
        plain_times, plain_cpu, plain_peak = time_it(lambda: model(cap_ids).logits)
        # output_attentions needs eager attention in transformers; switch for this phase only.
        impl = getattr(model.config, "_attn_implementation", None)
        try:
            model.set_attn_implementation("eager")
            switched = True
        except Exception:
            switched = False
        cap_times, cap_cpu, cap_peak = time_it(lambda: model(cap_ids, output_hidden_states=True, output_attentions=True).logits)
        if switched and impl:
            model.set_attn_implementation(impl)

    p, c = 1e3 * statistics.median(plain_times), 1e3 * statistics.median(cap_times)
    print(json.dumps({
        "side": "transformers",
        "engine": "transformers %s, torch %s" % (transformers.__version__, torch.__version__),
        "model": a.model,
        "family": cfg.model_type,
        "n_params": n_params,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "attn_implementation": impl,
        "iters": iters,
        "load_s": load_s,
        "rss_after_load_mib": rss_after_load,
        "prefill": prefill,
        "generate": {"prompt_tokens": a.gen_prompt, "new_tokens": a.new_tokens, "median_tok_s": statistics.median(tok_s), "tok_s": tok_s, "cpu_s": gen_cpu, "peak_rss_mib": gen_peak, "ids": generated},
        "capture": {"tokens": a.capture_len, "what": "output_hidden_states + output_attentions (eager)", "plain_median_ms": p, "capture_median_ms": c,
                    "overhead": c / p - 1.0, "plain_cpu_ms": 1e3 * plain_cpu, "capture_cpu_ms": 1e3 * cap_cpu, "plain_peak_rss_mib": plain_peak, "capture_peak_rss_mib": cap_peak},
    }))


if __name__ == "__main__":
    main()
