#!/usr/bin/env python3
"""Runs the evcxr notebooks headless and fails loudly if any cell fails.

    python3 scripts/notebooks/run.py [NOTEBOOK.ipynb ...]

With no arguments it runs every notebooks/*.ipynb, in name order. Each notebook gets
a fresh kernel (the `gpt2x-rust` kernelspec that scripts/setup.sh writes into
.venv/jupyter), started in the notebook's own folder so that `:dep gpt2-explorer =
{ path = ".." }` finds the crate. The executed copies, outputs included, go to
target/notebooks/ (git-ignored). Prints one line per cell, the cell's text output
(shortened; -q hides it), and at the end `N passed, M failed`; exits 1 naming the
notebook and cell when a cell fails, the kernel does not start or dies, or a cell runs
past --timeout.

A cell fails when evcxr reports an error (it does not compile, the evaluation process
crashed) and also when it writes to stderr anything but lines starting with `note: `:
evcxr answers "ok" to a cell that panicked or returned early through `?`, and only
prints the panic or the error there.

`make notebooks` runs it after `make setup`; `make test` runs it after `cargo test`.
"""

import argparse
import json
import os
import queue
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "gpt2x-rust"
# nbclient & co., pinned, installed by scripts/setup.sh (pip --target), ahead of
# anything installed elsewhere.
sys.path.insert(0, str(ROOT / ".venv" / "py"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    p.add_argument("--timeout", type=int, default=2400,
                   help="seconds one cell may run (default 2400: the first cell of the first run compiles "
                        "the crate and its dependencies, many minutes on 2 cores)")
    p.add_argument("--startup-timeout", type=int, default=120, help="seconds the kernel may take to start")
    p.add_argument("--out", type=Path, default=ROOT / "target" / "notebooks",
                   help="folder for the executed notebooks (default target/notebooks)")
    p.add_argument("-q", "--quiet", action="store_true", help="only progress lines, not the cells' output")
    return p.parse_args()


def setup_jupyter_env(runtime_dir):
    """Our kernelspec first on the search path; no user configuration of Jupyter or
    evcxr; connection files in a private temporary folder."""
    kernels = ROOT / ".venv" / "jupyter"
    spec = kernels / "kernels" / KERNEL / "kernel.json"
    if not spec.is_file():
        sys.exit(f"error: no kernelspec at {spec}; run 'make setup' first")
    seed_lockfile(json.loads(spec.read_text()).get("env", {}).get("EVCXR_TMPDIR"))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(kernels) + (os.pathsep + old if old else "")
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    os.environ["JUPYTER_CONFIG_DIR"] = str(runtime_dir / "config")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime_dir / "runtime")
    # Nor the user's evcxr start-up files (~/.config/evcxr: init.evcxr, prelude.rs).
    os.environ["EVCXR_CONFIG_DIR"] = str(runtime_dir / "evcxr-config")


def seed_lockfile(evcxr_tmpdir):
    """evcxr builds the notebook's crates in its own Cargo project (EVCXR_TMPDIR); the
    project's Cargo.lock, copied there, makes it use the same crate versions as
    `cargo build` and `cargo test` (already downloaded, tested) instead of the newest."""
    if not evcxr_tmpdir:
        return
    lock, dst = ROOT / "Cargo.lock", Path(evcxr_tmpdir) / "Cargo.lock"
    Path(evcxr_tmpdir).mkdir(parents=True, exist_ok=True)
    if not dst.is_file() or dst.read_bytes() != lock.read_bytes():
        shutil.copyfile(lock, dst)


def short(text, max_lines=15, indent="    | "):
    lines = text.rstrip("\n").split("\n")
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return "\n".join(indent + line for line in lines)


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Lines a cell may write to stderr without failing: notes from the library, such as
# which model `auto` chose.
STDERR_OK = re.compile(r"^(note: .*|\s*)$")
# After a cell's reply, evcxr may still be forwarding its last output lines: wait for
# this many seconds of silence (at most LINGER_MAX) and keep what arrives.
LINGER, LINGER_MAX = 0.3, 5.0


class CellFailed(Exception):
    pass


def output_text(out):
    """The text of one output, as a terminal would show it."""
    kind = out.get("output_type")
    if kind == "stream":
        return out.get("text", "")
    if kind in ("execute_result", "display_data"):
        data = out.get("data", {})
        if "text/plain" in data:
            return data["text/plain"] + "\n"
        return "[" + ", ".join(sorted(data)) + "]\n"
    if kind == "error":
        return "\n".join(out.get("traceback") or [f"{out.get('ename')}: {out.get('evalue')}"]) + "\n"
    return ""


def why_failed(cell, status):
    """Why a cell counts as failed, or None. evcxr replies "ok" even when the cell
    panicked or returned early through `?` (it only prints the error), so stderr is
    checked too: anything there but notes is a failure."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {ANSI.sub('', str(out.get('evalue', '')))}"
    if status != "ok":
        return f"the kernel replied {status!r}"
    stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")
    lines = [l for l in ANSI.sub("", stderr).split("\n") if not STDERR_OK.match(l)]
    if any("panicked at" in l for l in lines):
        i = next(k for k, l in enumerate(lines) if "panicked at" in l)
        return "panic: " + " ".join(lines[i:i + 2])
    if lines:
        return "error on stderr (a `?` that returned early?): " + lines[0]
    return None


async def drain_late_output(client, cell, msg_id):
    """Appends the stream output of this cell that arrives after its reply."""
    from nbformat.v4 import output_from_msg
    quiet_until = time.monotonic() + LINGER
    hard_stop = time.monotonic() + LINGER_MAX
    while True:
        wait = min(quiet_until, hard_stop) - time.monotonic()
        if wait <= 0:
            return
        try:
            msg = await client.kc.iopub_channel.get_msg(timeout=wait)
        except queue.Empty:
            return
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
            cell.outputs.append(output_from_msg(msg))
            quiet_until = time.monotonic() + LINGER


def run_one(path, args):
    """Runs one notebook; returns None when every cell passed, else a one-line reason."""
    try:
        import nbformat
    except ImportError:
        sys.exit("error: nbformat/nbclient are not in .venv/py; run 'make setup' first")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    name = path.name
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    state = {"start": 0.0, "cell": None}

    def label(cell_index):
        return f"cell {code.index(cell_index) + 1}/{len(code)}" if cell_index in code else f"cell #{cell_index}"

    def on_cell_start(cell, cell_index, **_):
        if cell_index not in code:
            return
        state["start"], state["cell"] = time.monotonic(), cell_index
        first = next((l for l in cell.source.split("\n") if l.strip()), "")
        print(f"[{name}] {label(cell_index)} ... {first[:60]}", flush=True)

    async def on_cell_executed(cell, cell_index, execute_reply, **_):
        if cell_index not in code:
            return
        status = execute_reply["content"]["status"] if execute_reply else "no reply"
        if execute_reply:
            await drain_late_output(client, cell, execute_reply["parent_header"]["msg_id"])
        dt = time.monotonic() - state["start"]
        reason = why_failed(cell, status)
        if not args.quiet or reason:
            text = ANSI.sub("", "".join(output_text(o) for o in cell.get("outputs", [])))
            if text.strip():
                print(short(text, 200 if reason else 15), flush=True)
        print(f"[{name}] {label(cell_index)} {'FAILED' if reason else 'ok'} ({dt:.1f} s)", flush=True)
        if reason:
            raise CellFailed(f"{label(cell_index)} failed: {reason}")

    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=True,  # on_cell_executed decides, with stderr taken into account
        interrupt_on_timeout=False,
        record_timing=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},  # the kernel's working directory
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    t0 = time.monotonic()
    print(f"[{name}] starting kernel {KERNEL} in {path.resolve().parent}", flush=True)
    reason = None
    try:
        client.execute()
    except CellFailed as e:
        reason = str(e)
    except CellExecutionError as e:  # not expected with allow_errors, but just in case
        reason = f"a cell failed: {e.ename}: {e.evalue}"
    except CellTimeoutError:
        reason = f"{label(state['cell'])} ran past {args.timeout} s (--timeout)"
    except DeadKernelError as e:
        reason = f"the kernel died during {label(state['cell'])}: {e}"
    except Exception as e:  # kernel did not start, bad notebook, ...
        traceback.print_exc()
        reason = f"{type(e).__name__}: {e}"
    finally:
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / name
        tmp = out.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, out)
    reason = reason and reason.strip().split("\n")[0]
    dt = time.monotonic() - t0
    if reason:
        print(f"[{name}] FAILED in {dt:.0f} s: {reason} (executed copy: {out})", flush=True)
    else:
        print(f"[{name}] passed in {dt:.0f} s (executed copy: {out})", flush=True)
    return reason


def main():
    args = parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        sys.exit("error: no notebooks to run")
    for p in paths:
        if not p.is_file():
            sys.exit(f"error: no such notebook: {p}")
    with tempfile.TemporaryDirectory(prefix="gpt2x-jupyter-") as tmp:
        setup_jupyter_env(Path(tmp))
        failures = []
        for p in paths:
            try:
                reason = run_one(p, args)
            except Exception as e:  # an unreadable notebook, a full disk, ...
                traceback.print_exc()
                reason = f"{type(e).__name__}: {e}".split("\n")[0]
                print(f"[{p.name}] FAILED: {reason}", flush=True)
            if reason:
                failures.append((p.name, reason))
    print(f"{len(paths) - len(failures)} passed, {len(failures)} failed", flush=True)
    for name, reason in failures:
        print(f"  FAILED {name}: {reason}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
