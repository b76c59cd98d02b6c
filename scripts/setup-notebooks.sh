#!/usr/bin/env bash
# What the notebooks need, beyond `make setup`: installed into the project folder,
# idempotently (a second run checks stamps and installs nothing). Called by
# `make notebooks` and `make test` (not by `make figures`, which needs none of it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }

# ---------- notebooks: evcxr_jupyter, the runner's Python packages, the kernelspec ----------
#   .venv/evcxr/bin/evcxr_jupyter   the Rust Jupyter kernel, built from crates.io (long)
#   .venv/py/                       nbclient & co., pinned in scripts/notebooks/requirements.txt
#   .venv/jupyter/kernels/gpt2x-rust/kernel.json   the kernelspec scripts/notebooks/run.py uses
#   .venv/evcxr-tmp/                evcxr's build folder, kept so re-runs reuse compiled crates
EVCXR_VERSION=0.22.0
EVX="$ROOT/.venv/evcxr"
EVX_STAMP="$EVX/.installed-evcxr_jupyter-$EVCXR_VERSION"
if [ -f "$EVX_STAMP" ] && [ -x "$EVX/bin/evcxr_jupyter" ]; then
    say "evcxr_jupyter $EVCXR_VERSION already in .venv/evcxr"
else
    say "building evcxr_jupyter $EVCXR_VERSION from crates.io into .venv/evcxr (10-15 minutes on 2 cores, once)"
    rm -rf "$EVX.tmp"
    t0=$SECONDS
    # Its own target folder (deleted afterwards), not the project's; and from a neutral
    # folder, so that the project's .cargo/config.toml does not apply.
    (cd / && CARGO_TARGET_DIR="$EVX.tmp/build" cargo install --locked \
        --root "$EVX.tmp" "evcxr_jupyter@$EVCXR_VERSION")
    rm -rf "$EVX.tmp/build"
    rm -rf "$EVX"
    mv "$EVX.tmp" "$EVX"
    touch "$EVX_STAMP"
    say "evcxr_jupyter built in $((SECONDS - t0)) s"
fi

# Not a venv (Debian's python3 has no `venv` without python3-venv): a plain package
# folder, as for libtorch; scripts/notebooks/run.py puts it first on sys.path. The
# packages include compiled ones (pyzmq), so the stamp names the Python too.
PYV="$ROOT/.venv/py"
REQ="$ROOT/scripts/notebooks/requirements.txt"
PY_STAMP="$PYV/.installed-$(python3 -c 'import sys; print(sys.implementation.cache_tag)')-$(sha256sum "$REQ" | cut -c1-16)"
if [ -f "$PY_STAMP" ]; then
    say "notebook runner's Python packages already in .venv/py"
else
    say "installing the notebook runner's Python packages into .venv/py (scripts/notebooks/requirements.txt)"
    rm -rf "$PYV.tmp"
    python3 -m pip install --disable-pip-version-check --quiet --no-deps --target "$PYV.tmp" -r "$REQ"
    # Every import the runner needs resolves from the pinned set alone.
    PYTHONPATH="$PYV.tmp" python3 -s -c 'import nbclient, nbformat, jupyter_client, zmq, jsonschema'
    rm -rf "$PYV"
    mv "$PYV.tmp" "$PYV"
    touch "$PY_STAMP"
    say "notebook runner's Python packages installed"
fi

# The kernelspec holds absolute paths, so it is (re)written whenever they change,
# e.g. after the project folder moved; otherwise it is left alone.
KSPEC="$ROOT/.venv/jupyter/kernels/gpt2x-rust"
mkdir -p "$KSPEC" "$ROOT/.venv/evcxr-tmp"
python3 - "$ROOT" "$KSPEC/kernel.json" <<'PY'
import json, os, sys
root, path = sys.argv[1], sys.argv[2]
lib = os.path.join(root, ".venv/libtorch/torch/lib")
spec = {
    "argv": [os.path.join(root, ".venv/evcxr/bin/evcxr_jupyter"), "--control_file", "{connection_file}"],
    "display_name": "Rust (gpt2-explorer)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        "LIBTORCH": os.path.join(root, ".venv/libtorch/torch"),
        # evcxr loads each cell as a shared library that links libtorch: no rpath there.
        "LD_LIBRARY_PATH": lib,
        # evcxr's build folder, kept between runs so compiled crates are reused.
        "EVCXR_TMPDIR": os.path.join(root, ".venv/evcxr-tmp"),
    },
}
text = json.dumps(spec, indent=1) + "\n"
try:
    same = open(path).read() == text
except OSError:
    same = False
if same:
    print("[setup] kernelspec gpt2x-rust already in .venv/jupyter/kernels")
else:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print("[setup] wrote the kernelspec .venv/jupyter/kernels/gpt2x-rust/kernel.json")
PY
