#!/usr/bin/env bash
# Create (idempotently) the git-ignored Python venv used to generate the GPT-2
# parity fixtures:  bash scripts/parity/setup_venv.sh
# Override the location with VENV=/some/dir, the interpreter with PYTHON=python3.x.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-ref}"
PYTHON="${PYTHON:-python3}"
REQ="$ROOT/scripts/parity/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
   && "$VENV/bin/python" -c 'import torch, transformers, safetensors, numpy' 2>/dev/null; then
  echo "venv $VENV already up to date"
  exit 0
fi

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
# Keep the venv out of git even without a top-level .gitignore entry.
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install -r "$REQ"
"$VENV/bin/python" -c 'import torch, transformers, safetensors, numpy; print("torch", torch.__version__, "transformers", transformers.__version__)'
echo "$want" > "$STAMP"
