#!/usr/bin/env python3
"""Write the GGUF reader's reference fixtures for SmolLM2-135M-Instruct (Q4_1) with ggml's own tools.

The Rust tests (tests/gguf.rs) compare src/gguf.rs against what this script writes. It is run by
hand (not by CI); its outputs under tests/fixtures/smollm2/ are committed (~200 KB), so neither CI
nor the Rust build needs Python.

Exact command, from the repository root (after `make setup` has put the GGUF file in data/cache):

    bash scripts/parity/setup_venv.sh            # .venv-ref, pins in requirements.txt (gguf, transformers)
    .venv-ref/bin/python scripts/parity/make_gguf_fixtures.py \\
        --gguf data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out tests/fixtures/smollm2

Writes:

  dequant.json              header (GGUF version, tensor/kv counts, alignment, data offset, sha256
                            of the file), every metadata key with its GGUF type and value (arrays:
                            element type, length and first 5 elements; f32/f64 also as hex bits),
                            and for EVERY tensor: name, ggml type, GGUF dims `ne` (ne[0] fastest),
                            numpy shape (= ne reversed), offset in the data section, sha256 of the
                            dequantised float32 little-endian bytes in numpy row-major order, and
                            16 (flat index, f32 bits as 8 hex digits) samples: the first and last
                            element and 14 positions drawn by numpy default_rng(seed = 1000 + tensor
                            index). Dequantisation: PyPI gguf's GGUFReader + gguf.quants.dequantize.
  tokenizer-reference.json  for several prompts: ids from transformers' tokenizer built from the
                            GGUF (AutoTokenizer.from_pretrained(dir, gguf_file=name)), its decode
                            of those ids, and the ids from the same tokenizer with the pre-tokenizer
                            of SmolLM2's own tokenizer.json (Sequence[Digits(individual_digits),
                            ByteLevel(add_prefix_space=False)], which is also llama.cpp's `smollm`
                            pre-tokenizer). transformers 5.24's GGUF loader uses a plain ByteLevel
                            pre-tokenizer for `smollm`; the two differ only where a space precedes
                            a non-ASCII numeric character (e.g. " ²"), which the prompt
                            "a ² b ³" records.

Output is deterministic (re-running rewrites identical bytes with the same pinned versions).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

from gguf import GGUFReader, GGUFValueType
from gguf.quants import dequantize

PROMPTS = [
    ("ascii", "The best thing about AI is its ability to"),
    ("digits", "In 2024, 1234567 people"),
    ("whitespace", "  two  spaces\tand\ttabs\n\nnew lines"),
    ("unicode", "café naïve 日本語 🤖"),
    ("code", "def f(x):\n    return x**2"),
    ("special", "<|im_start|>user\nHi there<|im_end|>\n"),
    ("numeric-non-ascii", "a ² b ³"),
]

N_SAMPLES = 16


def f32_bits(x) -> str:
    return f"{int(np.float32(x).view(np.uint32)):08x}"


def f64_bits(x) -> str:
    return f"{int(np.float64(x).view(np.uint64)):016x}"


def scalar_json(vtype: GGUFValueType, value):
    if vtype == GGUFValueType.FLOAT32:
        return {"value": float(value), "bits": f32_bits(value)}
    if vtype == GGUFValueType.FLOAT64:
        return {"value": float(value), "bits": f64_bits(value)}
    if vtype == GGUFValueType.BOOL:
        return {"value": bool(value)}
    if vtype == GGUFValueType.STRING:
        return {"value": str(value)}
    return {"value": int(value)}


def metadata_json(reader: GGUFReader) -> dict:
    out = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue  # the header, written separately
        types = field.types
        if types[0] == GGUFValueType.ARRAY:
            if len(types) > 2:
                raise SystemExit(f"{key}: nested arrays are not expected in this file")
            items = field.contents()
            entry = {"type": "ARRAY", "elem_type": types[1].name, "len": len(items)}
            entry["first"] = [scalar_json(types[1], v)["value"] for v in items[:5]]
            if types[1] in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
                entry["first_bits"] = [scalar_json(types[1], v)["bits"] for v in items[:5]]
            if key == "tokenizer.ggml.token_type":
                counts: dict[str, int] = {}
                for v in items:
                    counts[str(int(v))] = counts.get(str(int(v)), 0) + 1
                entry["counts"] = dict(sorted(counts.items()))
            out[key] = entry
        else:
            out[key] = {"type": types[0].name, **scalar_json(types[0], field.contents())}
    return out


def tensors_json(reader: GGUFReader) -> list:
    out = []
    for index, t in enumerate(reader.tensors):
        values = dequantize(t.data, t.tensor_type)
        ne = [int(x) for x in t.shape]
        shape = list(reversed(ne))
        values = np.ascontiguousarray(values, dtype="<f4").reshape(shape)
        assert values.dtype == np.float32
        flat = values.reshape(-1)
        n = flat.size
        rng = np.random.default_rng(1000 + index)
        picks = [0, n - 1] + [int(i) for i in rng.integers(0, n, size=N_SAMPLES - 2)]
        out.append(
            {
                "name": t.name,
                "type": t.tensor_type.name,
                "ne": ne,
                "shape": shape,
                "offset": int(t.data_offset) - data_section_offset(reader),
                "n_bytes": int(t.n_bytes),
                "sha256": hashlib.sha256(flat.tobytes()).hexdigest(),
                "samples": [[i, f32_bits(flat[i])] for i in picks],
            }
        )
    return out


def data_section_offset(reader: GGUFReader) -> int:
    return int(reader.data_offset)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenizer_reference(path: str) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import tokenizers
    import transformers
    from tokenizers import Tokenizer, pre_tokenizers
    from transformers import AutoTokenizer

    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    backend = tok.backend_tokenizer
    hf_json_style = Tokenizer.from_str(backend.to_str())
    hf_json_style.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    cases = []
    for label, text in PROMPTS:
        ids = [int(i) for i in tok(text, add_special_tokens=False)["input_ids"]]
        assert ids == [int(i) for i in tok(text)["input_ids"]], "transformers added special tokens (BOS?)"
        digits_ids = [int(i) for i in hf_json_style.encode(text, add_special_tokens=False).ids]
        cases.append(
            {
                "label": label,
                "text": text,
                "transformers_gguf_ids": ids,
                "digits_bytelevel_ids": digits_ids,
                "tokens": tok.convert_ids_to_tokens(digits_ids),
                "decoded": tok.decode(ids),
            }
        )
    return {
        "generator": "scripts/parity/make_gguf_fixtures.py",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "gguf": gguf_version()},
        "vocab_size": len(tok),
        "bos_token": tok.bos_token,
        "eos_token": tok.eos_token,
        "transformers_pre_tokenizer": str(backend.pre_tokenizer),
        "cases": cases,
    }


def gguf_version() -> str:
    from importlib.metadata import version

    return version("gguf")


def write_json(path: str, obj) -> None:
    text = json.dumps(obj, indent=1, ensure_ascii=False) + "\n"
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(f"wrote {path} ({len(text.encode())} bytes)", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default="data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", default="tests/fixtures/smollm2")
    args = ap.parse_args()

    reader = GGUFReader(args.gguf)
    alignment = reader.alignment
    header = {
        "generator": "scripts/parity/make_gguf_fixtures.py",
        "versions": {"gguf": gguf_version(), "numpy": np.__version__},
        "file": os.path.basename(args.gguf),
        "file_size": os.path.getsize(args.gguf),
        "sha256": sha256_file(args.gguf),
        "gguf_version": int(reader.fields["GGUF.version"].contents()),
        "tensor_count": int(reader.fields["GGUF.tensor_count"].contents()),
        "kv_count": int(reader.fields["GGUF.kv_count"].contents()),
        "alignment": int(alignment),
        "data_offset": data_section_offset(reader),
    }
    tensors = tensors_json(reader)
    for t in tensors:
        assert t["offset"] % alignment == 0, t
    type_counts: dict[str, int] = {}
    for t in tensors:
        type_counts[t["type"]] = type_counts.get(t["type"], 0) + 1
    dequant = {
        **header,
        "tensor_type_counts": dict(sorted(type_counts.items())),
        "metadata": metadata_json(reader),
        "tensors": tensors,
    }
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "dequant.json"), dequant)
    write_json(os.path.join(args.out, "tokenizer-reference.json"), tokenizer_reference(args.gguf))


if __name__ == "__main__":
    main()
