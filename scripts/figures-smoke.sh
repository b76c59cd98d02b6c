#!/usr/bin/env bash
# Stand-in for the figure builder (issue 4) behind `make figures`: runs the essay's
# first example end to end and writes what it printed to figures/smoke/.
# Model: MODEL=... (any --model value), default `auto`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/target/debug/gpt2-explorer"
OUT="$ROOT/figures/smoke"
PROMPT="The best thing about AI is its ability to"
mkdir -p "$OUT"

# `auto`: GPT-2 small when it is in the Hugging Face cache, else the real pretrained
# SmolLM2-135M-Instruct that `make setup` fetched (the binary prints one line saying so).
MODEL="${MODEL:-auto}"

write() { # write FILE: stdin to FILE atomically
    cat > "$1.tmp" && mv "$1.tmp" "$1"
}

echo "[figures] next-word-top5 ($MODEL)"
"$BIN" next-token --model "$MODEL" --top 5 "$PROMPT" | tee /dev/stderr | write "$OUT/next-word-top5.txt"
"$BIN" next-token --model "$MODEL" --top 5 --json "$PROMPT" 2>/dev/null | write "$OUT/next-word-top5.json"
echo "[figures] greedy-continuation (temperature 0)"
"$BIN" generate --model "$MODEL" --max-new-tokens 20 --temperature 0 --json "$PROMPT" | tee /dev/stderr | write "$OUT/greedy-continuation.json"
echo "[figures] sampled-continuation (temperature 0.8, seed 1)"
"$BIN" generate --model "$MODEL" --max-new-tokens 20 --temperature 0.8 --seed 1 --json "$PROMPT" | tee /dev/stderr | write "$OUT/sampled-continuation.json"
echo "[figures] wrote $OUT (the figure builder of issue 4 replaces this smoke demo)"
