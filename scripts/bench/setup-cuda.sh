#!/usr/bin/env bash
# `make setup-cuda`: libtorch's CUDA libraries for `--features cuda` builds.
#
# The CPU libtorch of scripts/setup.sh is PyPI's torch==2.13.0 wheel with its CUDA-only
# libraries (libtorch_cuda.so, libc10_cuda.so, ...) deleted. The reference venv
# .venv-ref (scripts/parity/setup_venv.sh, also used by `make bench`) installs the same
# wheel in full, with the nvidia-* CUDA 13 libraries beside it (several GB). So a GPU
# build links libtorch_cpu from .venv/libtorch as usual and libtorch_cuda from the
# venv (build.rs: TORCH_CUDA_LIB_DIR); this script makes sure the venv is there, checks
# that both are the same build, and prints the folder for `make build-cuda`.
# Idempotent (the venv script keeps a stamp). Running on a GPU needs an NVIDIA driver
# recent enough for CUDA 13; installing and linking work anywhere.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
say() { printf '[setup-cuda] %s\n' "$*" >&2; }
bash "$ROOT/scripts/parity/setup_venv.sh" >&2
LIB="$("$ROOT/.venv-ref/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
if [ ! -f "$LIB/libtorch_cuda.so" ]; then
    echo "error: $LIB has no libtorch_cuda.so: the torch wheel pip chose for .venv-ref is CPU-only (not x86_64 Linux?); --features cuda needs PyPI's CUDA build of torch==2.13.0" >&2
    exit 1
fi
for f in libtorch_cpu.so libc10.so; do
    if ! cmp -s "$LIB/$f" "$ROOT/.venv/libtorch/torch/lib/$f"; then
        echo "error: $LIB/$f differs from .venv/libtorch/torch/lib/$f: the two torch installs are not the same build; rerun 'make setup' and 'bash scripts/parity/setup_venv.sh' (both pin torch==2.13.0)" >&2
        exit 1
    fi
done
say "CUDA libraries of torch 2.13.0 in $LIB (same build as .venv/libtorch)"
echo "$LIB"
