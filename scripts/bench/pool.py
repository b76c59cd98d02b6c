#!/usr/bin/env python3
"""Pool several `make bench` results files (target/bench/results.json) into one table of
paired ratios: within each run the two sides were measured back to back, so each run
gives one ratio per measurement (> 1: we do better); the table shows the median, the
smallest and the largest over all runs. On a machine whose speed drifts between runs
this is steadier than any one bench's medians.

    python3 scripts/bench/pool.py scripts/bench/results/*.json
"""
import json
import statistics
import sys


def ratios(paths):
    pooled = {}
    for path in paths:
        with open(path) as f:
            results = json.load(f)["results"]
        for model, sides in results.items():
            rows = pooled.setdefault(model, {})
            for ours, theirs in zip(sides["ours"], sides["transformers"]):
                for po, pt in zip(ours["prefill"], theirs["prefill"]):
                    rows.setdefault(f"prefill {po['tokens']} tokens (speed ratio)", []).append(pt["median_ms"] / po["median_ms"])
                rows.setdefault("generation tokens/s (speed ratio)", []).append(ours["generate"]["median_tok_s"] / theirs["generate"]["median_tok_s"])
                cap = ours["capture"]
                rows.setdefault("capture overhead (ours, %)", []).append(100 * (cap["capture_median_ms"] / cap["plain_median_ms"] - 1))
    return pooled


def main(paths):
    if not paths:
        sys.exit("usage: pool.py RESULTS_JSON...")
    for model, rows in ratios(paths).items():
        n = len(next(iter(rows.values())))
        print(f"\n**{model}** ({n} runs from {len(paths)} files)\n")
        print("| measurement | median | min | max |")
        print("|---|---:|---:|---:|")
        for name, values in rows.items():
            fmt = "{:.1f}" if "%" in name else "{:.2f}x"
            print(f"| {name} | " + " | ".join(fmt.format(v) for v in (statistics.median(values), min(values), max(values))) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
