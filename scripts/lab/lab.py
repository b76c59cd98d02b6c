#!/usr/bin/env python3
"""`make lab`: JupyterLab on notebooks/, at 127.0.0.1, with the project's Rust kernel.

    python3 scripts/lab/lab.py [--port 8888] [--no-warm]

First it warms the kernel's build: a one-cell notebook with the notebooks' `:dep` line
runs through scripts/notebooks/run.py in evcxr's kept build folder (.venv/evcxr-tmp),
so the library is compiled there now (minutes after a change of the sources, seconds
otherwise) and the first cell of any notebook then takes seconds. Then it starts
JupyterLab from .venv/lab (scripts/setup-lab.sh) with nothing from the user's Jupyter
set-up: configuration, data, settings and workspaces live in .venv/lab, and the only
kernel offered is "Rust (gpt2-explorer)" (.venv/jupyter). It prints the URL with its
token; Ctrl-C stops it. Works with no network after set-up.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / ".venv" / "lab"
KERNEL = "gpt2x-rust"


def lab_env():
    """The environment JupyterLab runs in: our packages, our kernelspec, our folders."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(LAB)
    env["JUPYTER_PATH"] = os.pathsep.join([str(ROOT / ".venv" / "jupyter"), str(LAB / "share" / "jupyter")])
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["JUPYTER_CONFIG_DIR"] = str(LAB / "config")
    env["JUPYTER_DATA_DIR"] = str(LAB / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(LAB / "runtime")
    env["JUPYTERLAB_DIR"] = str(LAB / "share" / "jupyter" / "lab")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(LAB / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(LAB / "workspaces")
    return env


def write_overrides():
    """No news or update checks (they would reach the network)."""
    path = LAB / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}, indent=1)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def dep_lines():
    """The `:dep` lines of the first notebook's first code cell, with the crate's path
    made absolute (evcxr records it so; the warm-up runs elsewhere)."""
    first = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    nb = json.loads(first.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    lines = [l for l in "".join(cell["source"]).splitlines() if l.startswith(":dep")]
    return [l.replace('path = ".."', 'path = ' + json.dumps(str(ROOT))) for l in lines]


def warm():
    """Runs the `:dep` cell and one call into the library on the kernel, as a notebook
    would; returns the seconds it took."""
    folder = ROOT / "target" / "lab"
    folder.mkdir(parents=True, exist_ok=True)
    nb = {
        "cells": [
            {"cell_type": "code", "id": "warm-0", "metadata": {}, "outputs": [], "execution_count": None,
             "source": "\n".join(dep_lines())},
            {"cell_type": "code", "id": "warm-1", "metadata": {}, "outputs": [], "execution_count": None,
             "source": "gpt2_explorer::figures::registry().len()"},
        ],
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": "Rust (gpt2-explorer)", "language": "rust"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = folder / "warm-up.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    print("[lab] warming the kernel's build (compiles the library in .venv/evcxr-tmp after a change: "
          "minutes on 2 cores; seconds when nothing changed)", flush=True)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "notebooks" / "run.py"), "-q",
                        "--out", str(folder / "executed"), str(path)])
    if r.returncode != 0:
        sys.exit("error: warming the kernel failed (see above); `make notebooks NB=notebooks/01-one-word-at-a-time.ipynb` shows more")
    secs = time.monotonic() - t0
    print(f"[lab] kernel build warm ({secs:.0f} s)", flush=True)
    return secs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8888")))
    p.add_argument("--no-warm", action="store_true", help="skip warming the kernel's build")
    args = p.parse_args()
    if not (LAB / "jupyterlab").is_dir():
        sys.exit("error: JupyterLab is not installed in .venv/lab: run `make lab` (it runs scripts/setup-lab.sh)")
    if not (ROOT / ".venv" / "jupyter" / "kernels" / KERNEL / "kernel.json").is_file():
        sys.exit("error: the kernelspec is missing: run `make setup-notebooks`")
    if not args.no_warm:
        warm()
    write_overrides()
    token = secrets.token_hex(16)
    url = f"http://127.0.0.1:{args.port}/lab?token={token}"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={args.port}",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
           f"--IdentityProvider.token={token}", f"--KernelSpecManager.allowed_kernelspecs={KERNEL}", f"--ServerApp.allow_root={os.geteuid() == 0}", f"--MultiKernelManager.default_kernel_name={KERNEL}",
           "--LabApp.news_url=None", "--ServerApp.open_browser=False"]
    print(f"[lab] JupyterLab on notebooks/ with the kernel \"Rust (gpt2-explorer)\"; open\n\n    {url}\n\n"
          "[lab] in a browser on this computer (Ctrl-C here stops it)", flush=True)
    try:
        os.execve(sys.executable, cmd, lab_env())
    except OSError as e:
        sys.exit(f"error: cannot start JupyterLab: {e}")


if __name__ == "__main__":
    main()
