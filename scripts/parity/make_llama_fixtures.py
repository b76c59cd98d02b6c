#!/usr/bin/env python3
"""Write Llama-family parity fixtures (reference outputs) from Hugging Face transformers.

The Rust tests compare the libtorch/tch Llama implementation against what this script writes.
It is run by hand (not by CI); its outputs under tests/fixtures/llama/ are committed (~2.5 MB).

Exact command, from the repository root:

    bash scripts/parity/setup_venv.sh        # .venv-ref with the pins in requirements.txt (incl. gguf, accelerate)
    .venv-ref/bin/python scripts/parity/make_llama_fixtures.py \\
        --gguf data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out tests/fixtures/llama

Cases (one folder each under --out; --cases picks a subset, default all):

  smollm2             SmolLM2-135M-Instruct Q4_1 GGUF (not committed; sha256 checked), loaded with
                      AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=float32), i.e.
                      dequantised by transformers (gguf-py's numpy dequantisers, then llama.cpp's Q/K row
                      permutation undone). Only reference.json + reference.safetensors are written.
  tiny-random         LlamaConfig(V=512, C=64, I=160, L=2, H=4, KV=2, P=64, eps 1e-5, rope_theta 1e4,
                      tied embeddings), torch.manual_seed(0), initializer_range 0.2, then every RMSNorm
                      weight set to 1 + 0.25*u, u ~ U[-1, 1) (torch.Generator seeded 3, parameter order)
                      so a missing/wrong norm weight shows (seed 3: the first whose prompt-0 greedy top1-top2
                      margin is >= 0.04 in both variants). save_pretrained -> config.json +
                      model.safetensors, plus reference.json + reference.safetensors.
  tiny-random-untied  the same with tie_word_embeddings=False (lm_head.weight stored) and rope_theta 5e5.

Everything runs on CPU, float32, eval mode, attn_implementation="eager", batch size 1, no BOS added.
Output is deterministic: re-running with the same pinned versions rewrites identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import sys
from collections import OrderedDict

import numpy as np
import regex
import safetensors
import tokenizers
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import ReferenceBPE, bytes_to_unicode  # noqa: E402  (same folder)

# --------------------------------------------------------------------------------------------
# constants

SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_PROMPTS = [
    "The best thing about AI is its ability to",
    "Hello,\tworld!  Two  spaces\tand\ttabs.",
    "Unicode: café, naïve, 日本語, emoji 🤖",
    "def add(a, b):\n    return a + b\n",
    "In 2024, 1234567 people",
    "a",
]
SMOLLM2_LOGITS_FOR = {0, 1}
SMOLLM2_LAYERS = [0, 1, 29]
WEIGHT_CHECK_NAMES = [
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.k_proj.weight",
    "model.embed_tokens.weight",
]
SAMPLE_INDICES = [0, 1, 2, 3, 1000, 2000, 3000, 4000]
GREEDY_NEW_TOKENS = 20
GREEDY_MIN_SAFE_MARGIN = 1e-3
TOPK = 5

TINY_BASE = dict(
    vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
    tie_word_embeddings=True, hidden_act="silu", attention_bias=False, mlp_bias=False, initializer_range=0.2,
)
TINY_CASES = {
    "tiny-random": dict(TINY_BASE),
    "tiny-random-untied": dict(TINY_BASE, tie_word_embeddings=False, rope_theta=500000.0),
}
NORM_SEED = 3  # first seed with a safe (>= 0.04) prompt-0 greedy margin in both tiny variants
NORM_SPREAD = 0.25
ALL_CASES = ["smollm2", "tiny-random", "tiny-random-untied"]

# llama.cpp (gguf) tensor names -> transformers LlamaForCausalLM names
GGUF_TO_HF = [
    (r"token_embd\.weight", "model.embed_tokens.weight"),
    (r"output_norm\.weight", "model.norm.weight"),
    (r"output\.weight", "lm_head.weight"),
    (r"blk\.(\d+)\.attn_norm\.weight", r"model.layers.\1.input_layernorm.weight"),
    (r"blk\.(\d+)\.ffn_norm\.weight", r"model.layers.\1.post_attention_layernorm.weight"),
    (r"blk\.(\d+)\.attn_q\.weight", r"model.layers.\1.self_attn.q_proj.weight"),
    (r"blk\.(\d+)\.attn_k\.weight", r"model.layers.\1.self_attn.k_proj.weight"),
    (r"blk\.(\d+)\.attn_v\.weight", r"model.layers.\1.self_attn.v_proj.weight"),
    (r"blk\.(\d+)\.attn_output\.weight", r"model.layers.\1.self_attn.o_proj.weight"),
    (r"blk\.(\d+)\.ffn_gate\.weight", r"model.layers.\1.mlp.gate_proj.weight"),
    (r"blk\.(\d+)\.ffn_up\.weight", r"model.layers.\1.mlp.up_proj.weight"),
    (r"blk\.(\d+)\.ffn_down\.weight", r"model.layers.\1.mlp.down_proj.weight"),
]


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


def versions():
    return OrderedDict([
        ("torch", torch.__version__),
        ("transformers", transformers.__version__),
        ("tokenizers", tokenizers.__version__),
        ("safetensors", safetensors.__version__),
        ("numpy", np.__version__),
        ("gguf", importlib.metadata.version("gguf")),
        ("accelerate", importlib.metadata.version("accelerate")),
    ])


def fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


# --------------------------------------------------------------------------------------------
# model helpers


def finish_model(model):
    # transformers 5 flags a GGUF-loaded model as quantized (hf_quantizer set, though the weights are dense
    # float32 after dequantising) and then refuses .float(); the dtype assert below covers it.
    if getattr(model, "hf_quantizer", None) is None:
        model = model.float()
    model = model.eval()
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    assert not model.training
    for n, p in model.named_parameters():
        assert p.dtype == torch.float32 and p.device.type == "cpu", (n, p.dtype, p.device)
    return model


def is_tied(model):
    return model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


class Capture:
    """Hooks: embedding output, each block's output (resid_post), the SwiGLU product
    act_fn(gate_proj(x)) * up_proj(x) as fed to mlp.down_proj (mlp_post), and the final norm's output."""

    def __init__(self, model):
        self.data = {}
        self.handles = []
        inner = model.model
        self.handles.append(inner.embed_tokens.register_forward_hook(self._hook("embed")))
        for l, block in enumerate(inner.layers):
            self.handles.append(block.register_forward_hook(self._hook(f"resid_post.{l}")))
            self.handles.append(block.mlp.down_proj.register_forward_pre_hook(self._pre_hook(f"mlp_post.{l}")))
        self.handles.append(inner.norm.register_forward_hook(self._hook("ln_final")))

    def _store(self, name, t):
        assert name not in self.data, f"{name} captured twice"
        assert t.dim() == 3 and t.shape[0] == 1, (name, tuple(t.shape))
        self.data[name] = t[0].detach().clone().contiguous()

    def _hook(self, name):
        def fn(_module, _inp, out):
            # transformers 5.x LlamaDecoderLayer returns a bare tensor; older versions a tuple.
            self._store(name, out[0] if isinstance(out, (tuple, list)) else out)
        return fn

    def _pre_hook(self, name):
        def fn(_module, inp):
            self._store(name, inp[0])
        return fn

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def forward_last_logits(model, ids):
    x = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False)
    return out.logits[0, -1].contiguous()


@torch.no_grad()
def greedy(model, prompt_ids, n_new):
    """Manual argmax loop, full forward (no cache) each step."""
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
def greedy_generate(model, prompt_ids, n_new, pad_token_id):
    """model.generate greedy with EOS stopping disabled (eos_token_id=None), so it always runs n_new steps."""
    x = torch.tensor([prompt_ids], dtype=torch.long)
    out = model.generate(
        input_ids=x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n_new,
        min_new_tokens=None, eos_token_id=None, pad_token_id=pad_token_id,
    )
    return out[0, len(prompt_ids):].tolist()


def greedy_record(model, prompt_ids, p, n_new, pad_token_id, runs=None):
    if runs is not None and p in runs:
        new, margins = runs[p]
    else:
        new, margins = greedy(model, prompt_ids, n_new)
    gen = greedy_generate(model, prompt_ids, n_new, pad_token_id)
    g = OrderedDict()
    g["prompt_index"] = p
    g["n_new"] = n_new
    g["new_ids"] = new
    g["min_margin"] = min(margins)
    g["argmin_step"] = int(np.argmin(margins))
    g["margins"] = margins
    g["generate_matches"] = gen == new
    if gen != new:
        g["generate_new_ids"] = gen
        log(f"  WARNING: model.generate differs from manual greedy: {gen} vs {new}")
    return g


@torch.no_grad()
def compute_reference(model, prompts, internals_for, logits_for, layers=None, with_embed=False):
    """Returns (tensors, top5 list). internals_for/logits_for: sets of prompt indices; layers: which
    layers' per-layer tensors to store (default all)."""
    tensors = OrderedDict()
    top5 = []
    cfg = model.config
    L, H = cfg.num_hidden_layers, cfg.num_attention_heads
    layers = list(range(L)) if layers is None else layers
    for p, pr in enumerate(prompts):
        ids = pr["ids"]
        T = len(ids)
        x = torch.tensor([ids], dtype=torch.long)
        want_int = p in internals_for
        cap = Capture(model)
        try:
            out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False,
                        output_attentions=want_int)
        finally:
            cap.remove()
        logits = out.logits[0, -1].contiguous()
        assert torch.equal(logits, forward_last_logits(model, ids)), "output_attentions changed the logits"
        logprobs = torch.log_softmax(logits, dim=-1)
        tk = torch.topk(logprobs, TOPK + 1)
        top5.append(OrderedDict([
            ("prompt_index", p),
            ("ids", tk.indices[:TOPK].tolist()),
            ("logprobs", [float(v) for v in tk.values[:TOPK]]),
            ("gap_5_6", float(tk.values[TOPK - 1] - tk.values[TOPK])),
        ]))
        # consistency checks
        d = cap.data
        assert torch.allclose(model.model.norm(d[f"resid_post.{L - 1}"]), d["ln_final"], atol=1e-6)
        assert torch.allclose(logits, d["ln_final"][-1] @ model.lm_head.weight.T, atol=1e-4, rtol=1e-5)
        assert torch.equal(d["embed"], model.model.embed_tokens.weight[torch.tensor(ids)])
        if p in logits_for:
            tensors[f"p{p}.logits"] = logits
        if want_int:
            assert out.attentions is not None and len(out.attentions) == L
            if with_embed:
                tensors[f"p{p}.embed"] = d["embed"]
            for l in layers:
                a = out.attentions[l][0].contiguous()
                assert a.shape == (H, T, T), a.shape
                assert torch.allclose(a.sum(-1), torch.ones(a.shape[:2]), atol=1e-5)
                assert float(torch.triu(a, diagonal=1).abs().max()) == 0.0
                tensors[f"p{p}.attn_pattern.{l}"] = a
                assert d[f"mlp_post.{l}"].shape == (T, cfg.intermediate_size)
                tensors[f"p{p}.mlp_post.{l}"] = d[f"mlp_post.{l}"]
                tensors[f"p{p}.resid_post.{l}"] = d[f"resid_post.{l}"]
            tensors[f"p{p}.ln_final"] = d["ln_final"]
    for k, v in tensors.items():
        assert v.dtype == torch.float32 and v.is_contiguous(), k
    return tensors, top5


def write_reference(case_dir, ref, tensors):
    save_file(dict(tensors), os.path.join(case_dir, "reference.safetensors"), metadata={"format": "pt"})
    ref["tensors"] = {k: list(v.shape) for k, v in tensors.items()}
    with open(os.path.join(case_dir, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")


# --------------------------------------------------------------------------------------------
# tiny random models


def tiny_prompts(vocab, n_positions):
    rng = np.random.default_rng(20240)
    return [
        {"ids": [0]},
        {"ids": [5, 17, 300, 2, 511, 42, 42, 42]},
        {"ids": rng.integers(0, vocab, 20).tolist()},
        {"ids": rng.integers(0, vocab, n_positions).tolist()},
    ]


@torch.no_grad()
def make_tiny(out_dir, case):
    kw = TINY_CASES[case]
    case_dir = os.path.join(out_dir, case)
    fresh_dir(case_dir)
    cfg = LlamaConfig(**kw)
    cfg.architectures = ["LlamaForCausalLM"]
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    norms = []
    g = torch.Generator().manual_seed(NORM_SEED)
    for n, p in model.named_parameters():
        if n.endswith("layernorm.weight") or n == "model.norm.weight":
            assert torch.equal(p, torch.ones_like(p)), n
            p.copy_(1.0 + NORM_SPREAD * (torch.rand(p.shape, generator=g) * 2.0 - 1.0))
            norms.append(n)
    model = finish_model(model)
    assert is_tied(model) == kw["tie_word_embeddings"]

    model.save_pretrained(case_dir, safe_serialization=True)
    written = sorted(os.listdir(case_dir))
    if "generation_config.json" in written:
        os.remove(os.path.join(case_dir, "generation_config.json"))
    st_path = os.path.join(case_dir, "model.safetensors")
    saved = load_file(st_path)
    with safetensors.safe_open(st_path, "pt") as f:
        st_meta = f.metadata()
        keys = {k: [str(f.get_slice(k).get_dtype()), f.get_slice(k).get_shape()] for k in f.keys()}
    msd = model.state_dict()
    for k, v in saved.items():
        assert torch.equal(msd[k], v), k
    assert ("lm_head.weight" in saved) == (not kw["tie_word_embeddings"]), sorted(saved)
    with open(os.path.join(case_dir, "config.json"), encoding="utf-8") as f:
        config_json = json.load(f)

    prompts = tiny_prompts(cfg.vocab_size, cfg.max_position_embeddings)
    all_p = set(range(len(prompts)))
    log(f"[{case}] references")
    tensors, top5 = compute_reference(model, prompts, all_p, all_p)

    # greedy: prompt 0, falling back to the prompt with the safest margin if it is < 1e-3
    P = cfg.max_position_embeddings
    candidates = [p for p, pr in enumerate(prompts) if len(pr["ids"]) + GREEDY_NEW_TOKENS <= P]
    runs = {}
    for p in candidates:
        runs[p] = greedy(model, prompts[p]["ids"], GREEDY_NEW_TOKENS)
        log(f"  [{case}] greedy prompt {p}: min_margin {min(runs[p][1]):.6g}")
        if p == candidates[0] and min(runs[p][1]) >= GREEDY_MIN_SAFE_MARGIN:
            break
    chosen = candidates[0]
    note = None
    if min(runs[chosen][1]) < GREEDY_MIN_SAFE_MARGIN:
        best = max(runs, key=lambda p: min(runs[p][1]))
        note = (f"prompt {chosen} min_margin {min(runs[chosen][1]):.3g} < {GREEDY_MIN_SAFE_MARGIN}; "
                f"switched to prompt {best}")
        log("  " + note)
        chosen = best
    gr = greedy_record(model, prompts[chosen]["ids"], chosen, GREEDY_NEW_TOKENS, 0, runs)
    if note:
        gr["note"] = note

    # reload through the HF loader: must be bit-identical
    m2 = finish_model(LlamaForCausalLM.from_pretrained(case_dir, attn_implementation="eager", dtype=torch.float32))
    assert is_tied(m2) == kw["tie_word_embeddings"]
    for pr in prompts:
        assert torch.equal(forward_last_logits(m2, pr["ids"]), forward_last_logits(model, pr["ids"]))

    ref = OrderedDict()
    ref["case"] = case
    ref["versions"] = versions()
    ref["config"] = config_json
    ref["weights"] = (f"model.safetensors (save_pretrained, LlamaForCausalLM(config) after torch.manual_seed(0); "
                      f"then RMSNorm weights = 1 + {NORM_SPREAD}*(2*torch.rand(shape, generator=Generator seeded "
                      f"{NORM_SEED})-1), drawn in parameter order: {', '.join(norms)})")
    ref["save_pretrained_wrote"] = written
    ref["safetensors_metadata"] = st_meta
    ref["keys"] = keys
    ref["tied"] = kw["tie_word_embeddings"]
    ref["bos_added"] = False
    ref["prompts"] = prompts
    ref["greedy"] = gr
    ref["top5"] = top5
    write_reference(case_dir, ref, tensors)
    return {"greedy": gr, "keys": keys}


# --------------------------------------------------------------------------------------------
# SmolLM2 (GGUF)


class SmolLMReferenceBPE(ReferenceBPE):
    """llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM pre-tokenizer: split off every \\p{N} character, then the
    GPT-2 regex on what is left; then plain byte-level BPE by merge rank."""

    DIGIT = regex.compile(r"\p{N}")

    def encode(self, text):
        out = []
        pos = 0
        pieces = []
        for m in self.DIGIT.finditer(text):
            if m.start() > pos:
                pieces.append((False, text[pos:m.start()]))
            pieces.append((True, m.group()))
            pos = m.end()
        if pos < len(text):
            pieces.append((False, text[pos:]))
        for is_digit, piece in pieces:
            words = [piece] if is_digit else regex.findall(self.PAT, piece)
            for w in words:
                w = "".join(self.byte_encoder[b] for b in w.encode("utf-8"))
                out.extend(self.encoder[t] for t in self.bpe(w))
        return out


def gguf_string_array(reader, key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def gguf_scalar(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    v = f.contents()
    if isinstance(v, (np.generic,)):
        v = v.item()
    return v


def build_tokenizer_checks(reader, hf_tok):
    """Two independent re-implementations of SmolLM2's tokenizer from the GGUF vocab + merges:
    (a) `tokenizers` with the original SmolLM2 tokenizer.json pre-tokenizer
        Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)],
    (b) a pure-Python llama.cpp 'smollm' pre-tokenizer + rank BPE."""
    toks = gguf_string_array(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ")) for m in gguf_string_array(reader, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(toks)}
    assert len(vocab) == len(toks) == 49152, len(toks)
    ref_a = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=merges))
    ref_a.pre_tokenizer = tokenizers.pre_tokenizers.Sequence([
        tokenizers.pre_tokenizers.Digits(individual_digits=True),
        tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    ref_b = SmolLMReferenceBPE(vocab, merges)
    missing_bytes = sorted(b for b, ch in bytes_to_unicode().items() if ch not in vocab)

    def encode(text):
        a = hf_tok.encode(text, add_special_tokens=False)
        b = ref_a.encode(text).ids
        c = ref_b.encode(text)
        assert a == b == c, f"tokenizers disagree on {text!r}:\n transformers {a}\n tokenizers {b}\n python {c}"
        assert hf_tok.decode(a) == text, f"round trip failed for {text!r}"
        return a

    return encode, missing_bytes


def unpermute_rows(w, n_head):
    """transformers' LlamaTensorProcessor._reverse_permute_weights: GGUF (llama.cpp) -> HF rows."""
    dim = w.shape[0] // n_head // 2
    return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def permute_rows(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF -> GGUF rows."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensor_summary(arr):
    a = np.ascontiguousarray(arr, dtype="<f4")
    flat = a.reshape(-1)
    return OrderedDict([
        ("shape", list(a.shape)),
        ("sum_f64", float(a.astype(np.float64).sum())),
        ("sha256_f32le", hashlib.sha256(a.tobytes()).hexdigest()),
        ("sample_indices", SAMPLE_INDICES),
        ("samples", [float(flat[i]) for i in SAMPLE_INDICES]),
        ("samples_f32_hex", [f32_hex(flat[i]) for i in SAMPLE_INDICES]),
    ])


def gguf_to_hf_name(name, n_layers):
    for pat, repl in GGUF_TO_HF:
        m = regex.fullmatch(pat, name)
        if m:
            out = m.expand(repl)
            if m.groups():
                assert 0 <= int(m.group(1)) < n_layers, name
            return out
    return None


@torch.no_grad()
def weight_checks(reader, model):
    """Compare every transformers state-dict entry with gguf-py's dequantisation of the raw GGUF tensor."""
    from gguf import dequantize

    cfg = model.config
    H, KV = cfg.num_attention_heads, cfg.num_key_value_heads
    sd = model.state_dict()
    by_name = {t.name: t for t in reader.tensors}
    result = OrderedDict()
    result["dequantiser"] = ("gguf-py gguf.quants.dequantize (numpy float32; Q4_1: f32(d)*f32(q) + f32(m), "
                             "Q8_0: f32(q)*f32(d), two separate roundings, no FMA; d, m stored f16)")
    result["name_map"] = [[p, r] for p, r in GGUF_TO_HF]
    counts = {"equal_raw": 0, "equal_unpermuted": 0}
    hf_seen = set()
    for t in reader.tensors:
        hf_name = gguf_to_hf_name(t.name, cfg.num_hidden_layers)
        assert hf_name is not None and hf_name in sd, (t.name, hf_name)
        hf_seen.add(hf_name)
        raw = dequantize(t.data, t.tensor_type).astype(np.float32)
        hf = sd[hf_name].numpy()
        assert raw.shape == hf.shape, (t.name, raw.shape, hf.shape)
        if ".attn_q." in t.name or ".attn_k." in t.name:
            n = H if ".attn_q." in t.name else KV
            assert np.array_equal(hf, unpermute_rows(raw, n)), t.name
            assert np.array_equal(permute_rows(hf, n), raw), t.name
            assert not np.array_equal(hf, raw), t.name
            counts["equal_unpermuted"] += 1
        else:
            assert np.array_equal(hf, raw), t.name
            counts["equal_raw"] += 1
    missing = sorted(set(sd) - hf_seen)
    # lm_head.weight is tied to model.embed_tokens.weight (no output.weight in the file)
    assert missing == ["lm_head.weight"] and is_tied(model), missing
    result["all_tensors_checked"] = len(reader.tensors)
    result["counts"] = counts
    result["hf_entries_not_in_gguf"] = missing
    result["qk_permutation"] = (
        "transformers un-permutes llama.cpp's Q/K row permutation: for Q (n=num_attention_heads=9) and K "
        "(n=num_key_value_heads=3), head_dim d=64: hf = raw.reshape(n, d/2, 2, C).swapaxes(1, 2).reshape(n*d, C), "
        "i.e. hf row h*d + k*(d/2) + j == raw (GGUF) row h*d + 2*j + k (j < d/2, k in {0,1}); equivalently "
        "raw = llama.cpp permute(hf) = hf.reshape(n, 2, d/2, C).swapaxes(1, 2).reshape(n*d, C). GGUF keeps each "
        "rotary pair (x[2j], x[2j+1]) adjacent (GPT-J / interleaved RoPE); HF Llama uses rotate_half "
        "(pairs (x[j], x[j+d/2]))."
    )
    tensors = OrderedDict()
    gguf_names = {"model.layers.0.self_attn.q_proj.weight": "blk.0.attn_q.weight",
                  "model.layers.0.self_attn.k_proj.weight": "blk.0.attn_k.weight",
                  "model.embed_tokens.weight": "token_embd.weight"}
    for name in WEIGHT_CHECK_NAMES:
        t = by_name[gguf_names[name]]
        raw = dequantize(t.data, t.tensor_type).astype(np.float32)
        hf = sd[name].numpy()
        entry = OrderedDict()
        entry["gguf_name"] = t.name
        entry["gguf_type"] = t.tensor_type.name
        entry["gguf_ne"] = [int(x) for x in t.shape]
        entry["transformers"] = tensor_summary(hf)
        entry["gguf_dequantised_raw"] = tensor_summary(raw)
        entry["equal_raw"] = bool(np.array_equal(hf, raw))
        if name != "model.embed_tokens.weight":
            n = H if "q_proj" in name else KV
            entry["n_head_for_permutation"] = n
            entry["equal_unpermute_raw"] = bool(np.array_equal(hf, unpermute_rows(raw, n)))
        tensors[name] = entry
    result["tensors"] = tensors
    return result


def gguf_metadata(reader):
    md = OrderedDict()
    for k, f in reader.fields.items():
        if k.startswith("GGUF.") or k in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                          "tokenizer.ggml.token_type", "tokenizer.ggml.scores"):
            continue
        v = f.contents()
        if isinstance(v, np.generic):
            v = v.item()
        md[k] = v
    for k in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"):
        if k in reader.fields:
            md[k + " (count)"] = len(reader.fields[k].data)
    types = OrderedDict()
    for t in reader.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    md["tensor_types (count)"] = types
    return md


@torch.no_grad()
def make_smollm2(out_dir, gguf_path):
    from gguf import GGUFReader

    case = "smollm2"
    case_dir = os.path.join(out_dir, case)
    fresh_dir(case_dir)
    gdir, gname = os.path.split(os.path.abspath(gguf_path))
    digest = sha256_file(gguf_path)
    if digest != SMOLLM2_GGUF_SHA256:
        log(f"WARNING: {gguf_path} sha256 {digest} differs from the expected {SMOLLM2_GGUF_SHA256}")
    reader = GGUFReader(gguf_path)

    log(f"[{case}] tokenizer")
    tok = AutoTokenizer.from_pretrained(gdir, gguf_file=gname)
    encode, missing_bytes = build_tokenizer_checks(reader, tok)

    log(f"[{case}] model (transformers dequantises the GGUF)")
    model = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32,
                                                 attn_implementation="eager")
    model = finish_model(model)
    assert type(model).__name__ == "LlamaForCausalLM", type(model)
    assert is_tied(model)
    cfg = model.config

    log(f"[{case}] weight checks against gguf-py")
    wchecks = weight_checks(reader, model)

    prompts = []
    for text in SMOLLM2_PROMPTS:
        ids = encode(text)
        default_ids = tok.encode(text)  # add_special_tokens left at its default
        prompts.append(OrderedDict([
            ("text", text), ("ids", ids), ("tokens", tok.convert_ids_to_tokens(ids)),
            ("default_encode_ids", default_ids),
        ]))
    adds_bos = any(pr["default_encode_ids"] != pr["ids"] for pr in prompts)

    log(f"[{case}] references")
    tensors, top5 = compute_reference(model, prompts, {0}, SMOLLM2_LOGITS_FOR, layers=SMOLLM2_LAYERS,
                                      with_embed=True)
    for t in top5:
        t["tokens"] = [tok.decode([i]) for i in t["ids"]]
        t["probs"] = [math.exp(v) for v in t["logprobs"]]

    log(f"[{case}] greedy")
    gr = greedy_record(model, prompts[0]["ids"], 0, GREEDY_NEW_TOKENS, cfg.pad_token_id)
    gr["text"] = tok.decode(gr["new_ids"])
    gr["full_text"] = tok.decode(prompts[0]["ids"] + gr["new_ids"])
    gr["contains_eos"] = cfg.eos_token_id in gr["new_ids"]

    config_dict = cfg.to_dict()
    config_dict["_name_or_path"] = gname  # the from_pretrained folder; path-independent output
    summary = OrderedDict()
    for k in ("model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
              "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps",
              "rope_parameters", "max_position_embeddings", "tie_word_embeddings", "attention_bias",
              "mlp_bias", "bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        summary[k] = config_dict.get(k)
    rope = config_dict.get("rope_parameters") or {}
    summary["rope_theta"] = rope.get("rope_theta", config_dict.get("rope_theta"))

    tinfo = OrderedDict()
    tinfo["class"] = f"{type(tok).__module__}.{type(tok).__name__}"
    for name in ("bos", "eos", "unk", "pad"):
        tinfo[f"{name}_token"] = getattr(tok, f"{name}_token")
        tinfo[f"{name}_token_id"] = getattr(tok, f"{name}_token_id")
    tinfo["add_bos_token_attr"] = getattr(tok, "add_bos_token", None)
    tinfo["gguf_add_bos_token"] = gguf_scalar(reader, "tokenizer.ggml.add_bos_token")
    tinfo["adds_bos_by_default"] = adds_bos
    tinfo["ids_recorded_with"] = "add_special_tokens=False (no BOS)"
    tinfo["gguf_pre"] = gguf_scalar(reader, "tokenizer.ggml.pre")
    tinfo["backend_pre_tokenizer"] = json.loads(tok.backend_tokenizer.to_str())["pre_tokenizer"]
    tinfo["byte_values_without_a_token"] = missing_bytes
    tinfo["cross_check"] = (
        "every prompt encodes identically with transformers' GGUF tokenizer, with `tokenizers` BPE(GGUF vocab, "
        "merges) + Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)] "
        "(SmolLM2's tokenizer.json pre-tokenizer), and with a pure-Python llama.cpp 'smollm' pre-tokenizer "
        "(split each \\p{N}, then the GPT-2 regex) + rank BPE; decode(ids) == text. NB transformers 5.24 does not "
        "know tokenizer.ggml.pre='smollm' and falls back to plain ByteLevel (no digit split); that is harmless "
        "here because the vocab has no multi-digit or space+digit tokens/merges."
    )

    ref = OrderedDict()
    ref["case"] = case
    ref["versions"] = versions()
    ref["gguf"] = OrderedDict([
        ("file", gname), ("sha256", digest), ("size", os.path.getsize(gguf_path)),
        ("metadata", gguf_metadata(reader)),
    ])
    ref["load"] = ("AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32, "
                   "attn_implementation='eager').eval(); AutoTokenizer.from_pretrained(dir, gguf_file=name)")
    ref["config_summary"] = summary
    ref["config"] = config_dict
    ref["tokenizer"] = tinfo
    ref["weight_checks"] = wchecks
    ref["prompts"] = prompts
    ref["greedy"] = gr
    ref["top5"] = top5
    ref["stored_layers"] = SMOLLM2_LAYERS
    write_reference(case_dir, ref, tensors)
    return {"greedy": gr, "top5": top5, "summary": summary, "tokenizer": tinfo, "weights": wchecks}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", default="data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                    help="SmolLM2-135M-Instruct Q4_1 GGUF (default %(default)s)")
    ap.add_argument("--out", default="tests/fixtures/llama", help="output folder (default %(default)s)")
    ap.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated subset of " + ",".join(ALL_CASES))
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c}")

    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    log("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    summary = {}
    for case in ("tiny-random", "tiny-random-untied"):
        if case in cases:
            summary[case] = make_tiny(args.out, case)
    if "smollm2" in cases:
        summary["smollm2"] = make_smollm2(args.out, args.gguf)
    for root, _, files in os.walk(args.out):
        for fn in files:
            os.chmod(os.path.join(root, fn), 0o644)  # safetensors writes 0600

    for case in ("tiny-random", "tiny-random-untied"):
        if case in summary:
            g = summary[case]["greedy"]
            log(f"[{case}] keys: " + ", ".join(f"{k} {v[0]} {v[1]}" for k, v in summary[case]["keys"].items()))
            log(f"[{case}] greedy prompt {g['prompt_index']} min_margin {g['min_margin']:.6g} "
                f"generate_matches {g['generate_matches']} new_ids {g['new_ids']}")
    if "smollm2" in summary:
        s = summary["smollm2"]
        log("[smollm2] config: " + json.dumps(s["summary"]))
        t = s["tokenizer"]
        log(f"[smollm2] tokenizer bos {t['bos_token']!r}={t['bos_token_id']} eos {t['eos_token']!r}={t['eos_token_id']} "
            f"adds_bos_by_default {t['adds_bos_by_default']} (gguf add_bos_token {t['gguf_add_bos_token']})")
        for name, e in s["weights"]["tensors"].items():
            log(f"[smollm2] {name}: equal_raw {e['equal_raw']} equal_unpermute_raw {e.get('equal_unpermute_raw')} "
                f"sum {e['transformers']['sum_f64']!r}")
        t0 = s["top5"][0]
        log("[smollm2] p0 top5: " + ", ".join(f"{i} {tk!r} p={p:.4f}" for i, tk, p in zip(t0["ids"], t0["tokens"], t0["probs"])))
        g = s["greedy"]
        log(f"[smollm2] greedy min_margin {g['min_margin']:.6g} (step {g['argmin_step']}) generate_matches "
            f"{g['generate_matches']} contains_eos {g['contains_eos']}")
        log(f"[smollm2] greedy text: {g['text']!r}")
    total = 0
    for root, _, files in os.walk(args.out):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    log(f"total size under {args.out}: {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
