#!/usr/bin/env python3
"""Writes the student versions of the notebooks: every cell tagged `solution` removed.

    python3 scripts/student-notebooks.py [--out DIR] [NOTEBOOK.ipynb ...]

`make student-notebooks` runs it. With no notebooks named it takes every
notebooks/*.ipynb. Each exercise's worked solution is a code cell whose metadata has
"tags": ["solution"] (the course convention, as in nbgrader); the student copy has
exactly those cells removed and every other cell unchanged, byte for byte: the JSON is
written back in the layout it was read in (nbformat's one-space indent, or two or four
spaces; keys in their order; UTF-8 or \\u escapes; the file's final newline, or its
absence). A file in any
other layout is rewritten with nbformat's, and the script says so. The copies go to DIR (default
student-notebooks/, git-ignored), each written atomically.

Keep DIR beside notebooks/ (one folder below the project): the first cell's
`:dep gpt2-explorer = { path = ".." }` is relative, so a copy elsewhere must be moved
there before it runs. Any other DIR is written too, with a note saying so.

Every notebook is read and checked before anything is written: a file that is missing,
is not JSON, or is not a notebook (no "cells" list, a cell without "cell_type", tags
that are not a list of strings) stops the run with one `error:` line naming the file,
and nothing is written. Exit status 0 on success, 1 on bad input.

Only the Python standard library is used (no nbformat needed).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "solution"


class BadNotebook(Exception):
    pass


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    p.add_argument("--out", type=Path, default=ROOT / "student-notebooks",
                   help="folder for the student copies (default: student-notebooks/)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    return p.parse_args()


def serialize(nb, indent, final_newline, ascii_only=False):
    """JSON laid out as nbformat and Jupyter write it: `indent` spaces, keys in the order
    they were read, UTF-8 as is (or \\u escapes), "key": value, commas at line ends."""
    text = json.dumps(nb, indent=indent, ensure_ascii=ascii_only)
    return text + ("\n" if final_newline else "")


def is_solution(cell, where):
    """Whether `cell` is tagged `solution`; malformed metadata is an error."""
    if not isinstance(cell, dict):
        raise BadNotebook(f"{where} is not a JSON object")
    if not isinstance(cell.get("cell_type"), str):
        raise BadNotebook(f"{where} has no \"cell_type\"")
    meta = cell.get("metadata", {})
    if not isinstance(meta, dict):
        raise BadNotebook(f"{where}: \"metadata\" is not an object")
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadNotebook(f"{where}: \"tags\" must be a list of strings, got {json.dumps(tags)}")
    return TAG in tags


def student_version(path):
    """(text of the student copy, solution cells removed, cells in all, whether the
    input was in nbformat's layout)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadNotebook("no such file")
    except OSError as e:
        raise BadNotebook(f"cannot be read: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadNotebook(f"not UTF-8 (byte {e.start})")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadNotebook(f"not a notebook: invalid JSON at line {e.lineno} column {e.colno} ({e.msg})")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise BadNotebook("not a notebook: no \"cells\" list at the top level")
    cells = nb["cells"]
    keep = [c for i, c in enumerate(cells) if not is_solution(c, f"cell {i + 1}")]
    final_newline = text.endswith("\n")
    # The layout the file was written in (nbformat: 1 space; some editors: 2 or 4), so
    # that what is kept comes out byte for byte; another layout is rewritten with 1.
    layouts = [(i, a) for a in (False, True) for i in (1, 2, 4)]
    layout = next((la for la in layouts if serialize(nb, la[0], final_newline, la[1]) == text), None)
    out = dict(nb, cells=keep)
    indent, ascii_only = layout or (1, False)
    student = serialize(out, indent, final_newline, ascii_only)
    return student, len(cells) - len(keep), len(cells), layout is not None


def write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main():
    args = parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("error: no notebooks found in notebooks/", file=sys.stderr)
        return 1
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        print(f"error: two notebooks are named {dup}; their student copies would overwrite each other",
              file=sys.stderr)
        return 1
    # Read and check everything first: bad input writes nothing.
    done = []
    for p in paths:
        try:
            done.append((p, *student_version(p)))
        except BadNotebook as e:
            print(f"error: {p}: {e}", file=sys.stderr)
            return 1
    out = args.out
    if out.exists() and not out.is_dir():
        print(f"error: {out} exists and is not a folder; pass another --out", file=sys.stderr)
        return 1
    try:
        out.mkdir(parents=True, exist_ok=True)
        for p, text, removed, n, canonical in done:
            write_atomically(out / p.name, text)
            if not args.quiet:
                note = "" if canonical else " (reformatted: the input was not in nbformat's layout)"
                print(f"{p.name}: {removed} solution cell{'s' * (removed != 1)} removed, {n - removed} kept{note}")
    except OSError as e:
        print(f"error: cannot write to {out}: {e.strerror}", file=sys.stderr)
        return 1
    total = sum(d[2] for d in done)
    print(f"wrote {len(done)} student notebook{'s' * (len(done) != 1)} to {out} ({total} solution cells removed)")
    if out.resolve().parent != ROOT:
        print(f"note: their first cell reads `:dep gpt2-explorer = {{ path = \"..\" }}`: move {out} "
              f"into the project folder (beside notebooks/) before running them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
