#!/usr/bin/env bash
# Counting benchmark of essay section 2 (`make bench-ngrams`): counts the letters and
# words of one ~100 MB English text file (the default sample of data/cache/corpora/english
# repeated) with `gpt2-explorer ngrams words --n 1` and with a straightforward Python
# reference (scripts/bench_ngrams_ref.py: collections.Counter + re), on the same file,
# one core each, checks that both find the same words, and prints MB/s and the ratio.
#   --quick          a ~20 MB file and one run each (for CI)
#   PROFILE=release  build with `cargo build --release` (compiles every dependency again);
#                    by default the crate alone is built at opt-level 3 on top of the
#                    dependencies `make build` already compiled (CARGO_PROFILE_DEV_OPT_LEVEL=3;
#                    the next ordinary build recompiles the crate once)
# Times are each side's own measurement of reading + checking + counting (the Rust
# binary's start-up, loading libtorch, is left out; so is Python's), as CPU time of the
# counting thread (fair on a busy machine) and as wall time; the best of the runs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
MB=100
RUNS=3
if [ "${1:-}" = "--quick" ]; then MB=20; RUNS=1; fi
export LIBTORCH="${LIBTORCH:-$ROOT/.venv/libtorch/torch}"
PY="${PYTHON:-python3}"

bash scripts/fetch-corpora.sh
OUT="$ROOT/target/bench-ngrams"
mkdir -p "$OUT"
if [ "${PROFILE:-}" = "release" ]; then
    cargo build --release --bin gpt2-explorer
    cp target/release/gpt2-explorer "$OUT/gpt2-explorer"
    BUILD="cargo build --release"
else
    CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo build --bin gpt2-explorer
    cp target/debug/gpt2-explorer "$OUT/gpt2-explorer"
    BUILD="dev profile, crate at opt-level 3, dependencies at opt-level 2"
fi

TEXT="$OUT/english-${MB}mb.txt"
if [ ! -f "$TEXT" ]; then
    echo "[bench] writing a ${MB} MB text file by repeating data/cache/corpora/english"
    : > "$TEXT.tmp"
    while [ "$(stat -c %s "$TEXT.tmp")" -lt $((MB * 1000 * 1000)) ]; do
        find data/cache/corpora/english -type f -name '*.txt' | sort | xargs cat >> "$TEXT.tmp"
    done
    head -c $((MB * 1000 * 1000)) "$TEXT.tmp" > "$TEXT.cut" && rm "$TEXT.tmp"
    # Cut at the last newline so no character is split.
    python3 -c "import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d[:d.rfind(b'\n')+1])" "$TEXT.cut" "$TEXT"
    rm "$TEXT.cut"
fi

rust_runs=(); py_runs=()
for i in $(seq "$RUNS"); do
    taskset -c 0 "$OUT/gpt2-explorer" ngrams words --n 1 --corpus "$TEXT" --json --top 10 > "$OUT/rust-$i.json"
    taskset -c 0 "$PY" scripts/bench_ngrams_ref.py "$TEXT" > "$OUT/python-$i.json"
    rust_runs+=("$OUT/rust-$i.json"); py_runs+=("$OUT/python-$i.json")
done
python3 - "$BUILD" "$("$PY" --version 2>&1)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "${rust_runs[*]}" "${py_runs[*]}" <<'PY'
import json, sys
build, pyver, cores, load = sys.argv[1:5]
rust = [json.load(open(p)) for p in sys.argv[5].split()]
py = [json.load(open(p)) for p in sys.argv[6].split()]
r0, p0 = rust[0], py[0]
same = r0["total"] == p0["total"] and r0["distinct"] == p0["distinct"] and [[g["ngram"], g["count"]] for g in r0["ngrams"]] == p0["top"]
mb = r0["bytes"] / 1e6
def best(runs, key):
    vals = [x[key] for x in runs if x.get(key) is not None]
    return min(vals) if vals else None
rw, rc, pw, pc = best(rust, "seconds"), best(rust, "cpu_seconds"), best(py, "seconds"), best(py, "cpu_seconds")
print(f"file: {mb:.1f} MB; words: {r0['total']:,}, distinct {r0['distinct']:,}; Rust and Python agree: {same}")
print(f"machine: {cores} cores, load average {load} at the end; best of {len(rust)} run(s), each side pinned to core 0")
print(f"rust   ({build}): CPU {rc:.3f} s = {mb / rc:,.0f} MB/s; wall {rw:.3f} s = {mb / rw:,.0f} MB/s")
print(f"python ({pyver}, collections.Counter + re): CPU {pc:.3f} s = {mb / pc:,.1f} MB/s; wall {pw:.3f} s = {mb / pw:,.1f} MB/s")
print(f"ratio: Rust is {pc / rc:.1f}x faster by CPU time ({pw / rw:.1f}x by wall time)")
if not same:
    sys.exit("error: the Rust and Python counts disagree")
PY
