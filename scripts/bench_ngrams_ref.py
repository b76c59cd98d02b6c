#!/usr/bin/env python3
"""The straightforward Python reference of scripts/bench-ngrams.sh: counts the letters
and words of one UTF-8 file with collections.Counter and re, by the definitions of
src/analysis/ngram.rs (ASCII letters, ASCII case folding; words may hold ' or U+2019
between letters), and prints JSON with the time taken (reading and decoding included).
Standard library only."""
import json, re, sys, time
from collections import Counter

path = sys.argv[1]
t0, c0 = time.perf_counter(), time.process_time()
data = open(path, "rb").read()
data.decode("utf-8")  # the Rust side checks the file is UTF-8 text too
low = data.lower()  # bytes.lower() folds ASCII only
byte_counts = Counter(low)
letters = {chr(b): byte_counts[b] for b in range(97, 123)}
words = Counter(w.replace(b"\xe2\x80\x99", b"'") for w in re.findall(rb"[a-z]+(?:(?:'|\xe2\x80\x99)[a-z]+)*", low))
lengths = Counter()
for w, n in words.items():
    lengths[len(w) - w.count(b"'")] += n
top = sorted(words.items(), key=lambda x: (-x[1], x[0]))[:10]
seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({
    "bytes": len(data),
    "seconds": seconds,
    "cpu_seconds": cpu_seconds,
    "total": sum(words.values()),
    "distinct": len(words),
    "letters": sum(letters.values()),
    "top": [[w.decode(), n] for w, n in top],
}))
