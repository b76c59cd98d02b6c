#!/usr/bin/env bash
# JupyterLab (for `make lab`) and Playwright (for the browser tests), pinned in
# scripts/lab/requirements.txt, installed into the project folder (.venv/lab, pip
# --target, nothing system-wide), idempotently: a second run checks the stamp and
# installs nothing. Called by `make lab` and `make test`, after scripts/setup-notebooks.sh
# (the kernel and its kernelspec) and scripts/setup-test.sh (Debian's chromium).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }

LAB="$ROOT/.venv/lab"
REQ="$ROOT/scripts/lab/requirements.txt"
# Compiled packages (pyzmq, greenlet, ...) tie the folder to one Python: the stamp names it.
STAMP="$LAB/.installed-$(python3 -c 'import sys; print(sys.implementation.cache_tag)')-$(sha256sum "$REQ" | cut -c1-16)"
if [ -f "$STAMP" ]; then
    say "JupyterLab and Playwright already in .venv/lab"
else
    say "installing JupyterLab and Playwright into .venv/lab (scripts/lab/requirements.txt; about 110 MB of downloads, once)"
    rm -rf "$LAB.tmp"
    python3 -m pip install --disable-pip-version-check --root-user-action=ignore --quiet --no-deps --target "$LAB.tmp" -r "$REQ"
    # Every import the lab and the tests need resolves from the pinned set alone.
    PYTHONPATH="$LAB.tmp" python3 -s -c 'import jupyterlab, jupyter_server, playwright.sync_api, nbformat'
    rm -rf "$LAB"
    mv "$LAB.tmp" "$LAB"
    touch "$STAMP"
    say "JupyterLab and Playwright installed"
fi
