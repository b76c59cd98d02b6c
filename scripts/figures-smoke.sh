#!/usr/bin/env bash
# Stand-in for the figure builder (issue 4) behind `make figures`: runs the essay's
# first example end to end and writes what it printed to figures/smoke/.
# Model: GPT-2 small when it is in the Hugging Face cache (or --model/MODEL says
# otherwise); else a seeded random-weights checkpoint of GPT-2 small's shape, which
# exercises every step but whose words are gibberish: the output says so.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/target/debug/gpt2-explorer"
OUT="$ROOT/figures/smoke"
PROMPT="The best thing about AI is its ability to"
mkdir -p "$OUT"

MODEL="${MODEL:-}"
if [ -z "$MODEL" ]; then
    if HF_HUB_OFFLINE=1 "$BIN" tokens --model gpt2 --offline "x" >/dev/null 2>&1; then
        MODEL=gpt2
    else
        MODEL="$ROOT/data/cache/synthetic-gpt2-small"
        [ -f "$MODEL/model.safetensors" ] || "$BIN" synthetic --size gpt2-small --out "$MODEL"
        echo "[figures] GPT-2 is not in the Hugging Face cache: using a random-weights checkpoint of GPT-2 small's shape ($MODEL); its words are gibberish"
    fi
fi

write() { # write FILE: stdin to FILE atomically
    cat > "$1.tmp" && mv "$1.tmp" "$1"
}

echo "[figures] next-word-top5 ($MODEL)"
"$BIN" next-token --model "$MODEL" --top 5 "$PROMPT" | tee /dev/stderr | write "$OUT/next-word-top5.txt"
"$BIN" next-token --model "$MODEL" --top 5 --json "$PROMPT" | write "$OUT/next-word-top5.json"
echo "[figures] greedy-continuation (temperature 0)"
"$BIN" generate --model "$MODEL" --max-new-tokens 20 --temperature 0 --json "$PROMPT" | tee /dev/stderr | write "$OUT/greedy-continuation.json"
echo "[figures] sampled-continuation (temperature 0.8, seed 1)"
"$BIN" generate --model "$MODEL" --max-new-tokens 20 --temperature 0.8 --seed 1 --json "$PROMPT" | tee /dev/stderr | write "$OUT/sampled-continuation.json"
echo "[figures] wrote $OUT (the figure builder of issue 4 replaces this smoke demo)"
