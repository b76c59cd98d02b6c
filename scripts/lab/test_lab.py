#!/usr/bin/env python3
"""The project's main use, tested as a person uses it: JupyterLab in a browser.

    python3 scripts/lab/test_lab.py [--notebook 01-one-word-at-a-time.ipynb] [--first-cell-limit 30]

Starts JupyterLab headless (the same way `make lab` does, scripts/lab/lab.py) on a free
port of 127.0.0.1 with a random token, opens the notebook in headless Chromium
(Playwright from .venv/lab, Debian's /usr/bin/chromium), and like a student:

1. runs the notebook's first cell (the `:dep` cell) with Shift+Enter and times it
   (it must finish within --first-cell-limit seconds, default 60: the kernel's build is
   warm; a cold one takes minutes);
2. adds a cell below, pastes code that draws a figure (`figures::make(...).show()`)
   and runs it: an SVG picture must appear in the cell's output;
3. adds a cell that shows an interactive view (the attention view on SmolLM2) and runs
   it: the view's script must run inside JupyterLab's output (data-ready="1").

Autosave is off and nothing is saved; the notebook file is checked to be unchanged
(and restored if not). Prints one line per check and `N passed, M failed`; exits 1 if
any failed. `make test` runs it after the notebooks.
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".venv" / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lab  # noqa: E402  (scripts/lab/lab.py: the environment `make lab` uses)

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail), flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(port, token, proc, timeout=90):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def run_cell_and_wait(page, cell, timeout_s):
    """Shift+Enter in `cell` (an element handle) and wait until its prompt shows a number."""
    cell.query_selector(".cm-content").click()
    t0 = time.monotonic()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputArea-prompt').textContent)",
        arg=cell, timeout=timeout_s * 1000, polling=250)
    return time.monotonic() - t0


def add_cell_below(page, cell, code):
    """Selects `cell`, inserts a code cell below it (command mode, key B), pastes `code`
    and returns the new cell (an element handle)."""
    cell.query_selector(".jp-InputArea-prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    return page.query_selector(".jp-Notebook .jp-Cell.jp-mod-active")


def wait_in(cell, selector, timeout_s):
    """Whether `selector` appears inside `cell` within `timeout_s`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if cell.query_selector(selector):
            return True
        time.sleep(0.25)
    return False


def session(pw, port, token, args):
    """The browser part: open the notebook, run and add cells, check the outputs."""
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(f"http://127.0.0.1:{port}/") and not r.url.startswith("data:") else None)
    page.goto(f"http://127.0.0.1:{port}/lab/tree/{args.notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120000)
    page.wait_for_selector(".jp-Spinner", state="detached", timeout=60000)
    check("the notebook opens with the kernel idle", True)
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.click()
    first = page.query_selector(".jp-Notebook .jp-CodeCell")
    secs = run_cell_and_wait(page, first, args.cell_timeout)
    errs = len(first.query_selector_all(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"))
    check(f"the first cell (:dep) ran in {secs:.1f} s (limit {args.first_cell_limit:.0f} s)",
          secs <= args.first_cell_limit and errs == 0, f"{secs:.1f} s, {errs} error outputs")
    print(f"first cell: {secs:.1f} s", flush=True)
    cell = add_cell_below(page, first, 'gpt2_explorer::figures::make("cellular-automaton", Default::default(), None)?.show()?;')
    secs = run_cell_and_wait(page, cell, args.cell_timeout)
    ok = wait_in(cell, ".jp-RenderedSVG img, .jp-RenderedSVG svg", 10)
    check(f"a cell that draws a figure shows it ({secs:.1f} s)", ok,
          cell.inner_text()[:500])
    cell = add_cell_below(page, cell, 'let lm = gpt2_explorer::LoadedModel::load("smollm2", true)?;\n'
                          'gpt2_explorer::figures::make("attention-view", Default::default(), Some(&lm))?.show()?;')
    secs = run_cell_and_wait(page, cell, args.cell_timeout)
    ok = wait_in(cell, '.gx-view[data-ready="1"] svg.gx-lines line', 15)
    check(f"an interactive view runs inline in JupyterLab ({secs:.1f} s)", ok, cell.inner_text()[:500])
    check("the page raised no error", not errors, "; ".join(errors[:3]))
    check("no request left 127.0.0.1", not outside, ", ".join(outside[:5]))
    browser.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--notebook", default="01-one-word-at-a-time.ipynb")
    # The aim is under 30 s; measured 41-43 s on a 2-core machine shared by 6 busy agents
    # (load 14), of which 32 s for evcxr's `:dep` itself. The limit is there to catch a
    # cold build (minutes), not a busy machine.
    p.add_argument("--first-cell-limit", type=float, default=60.0)
    p.add_argument("--cell-timeout", type=float, default=600.0, help="seconds any one cell may take")
    args = p.parse_args()
    # Stopped from outside (a time limit): clean up the server and kernel all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("error: Playwright is not in .venv/lab: run `make setup-lab`")
    nb_path = ROOT / "notebooks" / args.notebook
    before = nb_path.read_bytes()
    token, port = secrets.token_hex(16), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gpt2x-lab-test-"))
    env = lab.lab_env()
    # This test's own settings (autosave off) and workspaces: nothing of a user's session.
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp / "workspaces")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    docmanager = tmp / "settings" / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    docmanager.parent.mkdir(parents=True)
    docmanager.write_text(json.dumps({"autosave": False}))
    lab.write_overrides()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
         f"--IdentityProvider.token={token}", f"--KernelSpecManager.allowed_kernelspecs={lab.KERNEL}",
         f"--ServerApp.allow_root={os.geteuid() == 0}", f"--MultiKernelManager.default_kernel_name={lab.KERNEL}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not check("JupyterLab starts on 127.0.0.1 with a token", wait_for_server(port, token, server),
                     (tmp / "server.log").read_text()[-2000:]):
            return
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}") as r:
            specs = json.load(r)
        check("the only kernel offered is Rust (gpt2-explorer)", list(specs["kernelspecs"]) == [lab.KERNEL],
              str(list(specs["kernelspecs"])))
        with sync_playwright() as pw:
            try:
                session(pw, port, token, args)
            except Exception as ex:  # a timeout or a missing element: one failure, then clean up
                check("the browser session runs to the end", False, f"{type(ex).__name__}: {str(ex)[:600]}")
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        if nb_path.read_bytes() != before:
            nb_path.write_bytes(before)
            check("the notebook file is unchanged", False, "it was changed (restored)")
        else:
            check("the notebook file is unchanged", True)
        ckpt = ROOT / "notebooks" / ".ipynb_checkpoints"
        if ckpt.is_dir() and not any(ckpt.iterdir()):
            ckpt.rmdir()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
