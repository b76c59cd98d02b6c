#!/usr/bin/env bash
# `make setup-cuda`: a CUDA libtorch for `--features cuda` builds (`make build-cuda`),
# in .venv/libtorch-cuda/torch: the full PyPI torch==2.13.0 wheel with the nvidia-*
# CUDA 13 libraries it depends on (cuBLAS, cuDNN, NCCL, ...; several GB). The CPU
# install of scripts/setup.sh drops libtorch_cuda to save space, so this is separate.
# Idempotent: a stamp makes a second run install nothing. Needs an x86_64 Linux with an
# NVIDIA driver recent enough for CUDA 13 to *run* (installing works anywhere).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TORCH_VERSION=2.13.0
LT="$ROOT/.venv/libtorch-cuda"
STAMP="$LT/.installed-torch-$TORCH_VERSION"
say() { printf '[setup-cuda] %s\n' "$*"; }
if [ -f "$STAMP" ] && [ -f "$LT/torch/lib/libtorch_cuda.so" ]; then
    say "CUDA libtorch $TORCH_VERSION already in .venv/libtorch-cuda"
    exit 0
fi
say "installing torch==$TORCH_VERSION with its CUDA libraries from PyPI into .venv/libtorch-cuda (several GB)"
rm -rf "$LT.tmp"
# With dependencies: the nvidia-* wheels land beside torch/ (nvidia/...), where
# libtorch_cuda.so's rpath ($ORIGIN/../../nvidia/...) finds them.
try() { python3 -m pip install --disable-pip-version-check --progress-bar on --target "$LT.tmp" "torch==$TORCH_VERSION"; }
if ! try; then
    say "pip failed; retrying once"
    rm -rf "$LT.tmp"
    try || { echo "error: could not install torch==$TORCH_VERSION from PyPI into .venv/libtorch-cuda (network or disk space?); rerun 'make setup-cuda'" >&2; exit 1; }
fi
if [ ! -f "$LT.tmp/torch/lib/libtorch_cuda.so" ]; then
    rm -rf "$LT.tmp"
    echo "error: the torch==$TORCH_VERSION wheel pip chose has no libtorch_cuda.so (a CPU-only platform?); --features cuda needs x86_64 Linux" >&2
    exit 1
fi
rm -rf "$LT"
mv "$LT.tmp" "$LT"
touch "$STAMP"
say "CUDA libtorch installed: $(du -sh "$LT" | cut -f1); build with 'make build-cuda', run with --device cuda"
