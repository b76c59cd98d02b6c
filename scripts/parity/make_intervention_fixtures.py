#!/usr/bin/env python3
"""Write intervention / attribution references (ablation, activation patching, steering, direct logit
attribution, gradient-x-input saliency) from Hugging Face transformers, using only PyTorch forward hooks
on the stock transformers modules (independent of the Rust code).

Run by hand from the repository root (same venv as the other parity scripts):

    bash scripts/parity/setup_venv.sh
    .venv-ref/bin/python scripts/parity/make_intervention_fixtures.py --out tests/fixtures/interventions

Options: --cases gpt2-tiny,llama-tiny,smollm2 (default: all three); --gguf PATH (SmolLM2 GGUF, default
data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf; the smollm2 case is skipped with a warning if it is
absent). Writes <out>/<case>.json. Generated with torch 2.13.0 and transformers 5.24.0 (the pins in
requirements.txt; the exact versions are recorded in every file). Output is deterministic.

Checkpoints (all loaded with attn_implementation="eager", float32, eval mode, CPU, batch 1, no BOS):
  gpt2-tiny   tests/fixtures/parity/tiny-hf        GPT-2, V=512, C=32, L=2, H=4, D=8
  llama-tiny  tests/fixtures/llama/tiny-random     Llama, V=512, C=64, L=2, H=4 (2 kv heads), D=16, tied
  smollm2     the SmolLM2-135M-Instruct Q4_1 GGUF, dequantised by transformers exactly as in
              make_llama_fixtures.py (from_pretrained(dir, gguf_file=name)); V=49152, L=30, H=9, D=64
Prompt ids are taken from the checkpoint's reference.json (tests/fixtures/llama/smollm2/reference.json for
smollm2); nothing is tokenized here.

Definitions (T tokens, L blocks, H query heads, D head width, C model width, V vocab):
  z            per-head attention output before the output projection: the input of GPT-2 `attn.c_proj` /
               Llama `self_attn.o_proj` (B, T, H*D), viewed as (B, T, H, D) (head h = columns h*D..(h+1)*D).
               Captured / replaced with register_forward_pre_hook on that projection.
  resid_pre(l) the hidden_states input of block l (forward pre-hook, with_kwargs=True, on
               transformer.h[l] / model.layers[l]; positional or keyword hidden_states both handled).
               resid_pre(0) = token embedding (+ position embedding for GPT-2).
  attn_out(l)  the output of the attention output projection (GPT-2 attn.c_proj, INCLUDING its bias;
               Llama o_proj). mlp_out(l): the output of the block's `mlp` module.
  mlp hidden   the input of GPT-2 mlp.c_proj (gelu_new(c_fc(x))) / Llama mlp.down_proj
               (silu(gate_proj(x)) * up_proj(x)).
  1. zero_heads   z[:, :, h, :] = 0 for every listed (layer, head).
  2. mean_heads   z[:, :, h, :] = mean over the T positions of z[:, :, h, :] taken from the UNABLATED run of
                  the same prompt (so with heads in two layers, the later layer's mean is still the clean one).
  3. zero_neurons mlp hidden[..., n] = 0 for the listed neurons of one block.
  4. zero_attn_out / zero_mlp_out: forward hook returning zeros for attn_out(0) (GPT-2 c_proj output incl.
                  bias) / the mlp module output of block 1.
  5. patching     metric = logits[T-1, answer] - logits[T-1, wrong]. For hook in resid_pre, attn_out, mlp_out,
                  every block l and position p: run the CORRUPT prompt with the activation at (l, p) replaced
                  by the CLEAN run's activation at (l, p) (one position, one block at a time); record metric.
                  answer = argmax of the clean last-position logits; wrong = argmax of the corrupt
                  last-position logits, or the clean runner-up if that equals answer.
  6. steering     v = resid_pre(1)[A, T_A-1] - resid_pre(1)[B, T_B-1]; prompt C is run with 2.0 * v added to
                  resid_pre(1) at EVERY position. Greedy: 6 new tokens, each a full forward (no cache) of
                  prompt C + tokens so far with the steering hook active, argmax of the last position.
  7. DLA          at the last position, target = argmax of the clean logits there; x = final residual (output
                  of the last block, before the final norm). Frozen-norm contributions (float64 from the float32
                  activations), u = lm_head.weight[target]:
                    GPT-2 LayerNorm(w, b, eps): s = 1/sqrt(var(x) + eps), var biased;
                          contribution(c) = ((c - mean(c)) * s * w) . u ; plus `bias` = b . u
                    Llama RMSNorm(w, eps): s = 1/sqrt(mean(x^2) + eps); contribution(c) = (c * s * w) . u ;
                          `bias` = 0
                  components: `embed` (wte / embed_tokens output), `pos_embed` (GPT-2 wpe output),
                  `{l}_attn_out`, `{l}_mlp_out` for every l, and `bias`; they sum to the real logit.
                  heads `L{l}H{h}`: z_h (last position) @ W_O^h (rows h*D..(h+1)*D of the projection in (in, out)
                  orientation: GPT-2 c_proj.weight[hD:(h+1)D, :], Llama o_proj.weight[:, hD:(h+1)D].T), WITHOUT
                  the output bias, through the same frozen norm. (GPT-2: sum_h L{l}H{h} + attn_bias_terms[l]
                  == {l}_attn_out, checked.)
  8. saliency     gradient x input: a forward hook on the token embedding (GPT-2 transformer.wte, Llama
                  model.embed_tokens) returns out.detach().requires_grad_(); g = d logits[T-1, target] / d emb
                  (target = argmax of the clean last-position logits); saliency[i] = sum_C emb[i] * g[i].

Logits are stored as `{"shape": [T, V], "values": [[...]]}` (full) when V <= 1000, otherwise as
`{"shape": [T, V], "last_row": [V], "top5_ids": [[5]]*T, "top5_values": [[5]]*T}`. Logit arrays are rounded to
7 significant digits; scalars (metrics, DLA values, saliency) are stored at full float precision.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from collections import OrderedDict
from contextlib import contextmanager

import torch
import transformers
from transformers import AutoModelForCausalLM

DEFAULT_GGUF = "data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TOPK = 5
STEER_LAYER = 1
STEER_SCALE = 2.0
STEER_NEW_TOKENS = 6
NEURON_LAYER = 1
NEURONS = [0, 5]

# Per-case choices. Head lists are (layer, head). Prompt indices refer to reference.json's prompts.
# The tiny models' corruptions (position, id) were picked by hand, among positions 1-3 and ids
# {7, 99, 123, 256, 400}, as the one with the largest |clean metric - corrupt metric|.
CASES = OrderedDict([
    ("gpt2-tiny", dict(
        arch="gpt2", checkpoint="tests/fixtures/parity/tiny-hf",
        prompts_from="tests/fixtures/parity/tiny-hf/reference.json",
        main_prompt=1,
        zero_heads=[[(0, 1)], [(1, 0), (1, 3)]],
        mean_heads=[[(1, 2)], [(0, 1), (1, 3)]],
        patch=dict(clean_prompt=1, corrupt_position=3, corrupt_id=7),
        steer=dict(a=2, b=3, c=1),
    )),
    ("llama-tiny", dict(
        arch="llama", checkpoint="tests/fixtures/llama/tiny-random",
        prompts_from="tests/fixtures/llama/tiny-random/reference.json",
        main_prompt=1,
        zero_heads=[[(0, 2)], [(1, 0), (0, 3)]],
        mean_heads=[[(1, 2)], [(0, 1), (1, 3)]],
        patch=dict(clean_prompt=1, corrupt_position=1, corrupt_id=256),
        steer=dict(a=2, b=3, c=1),
    )),
    ("smollm2", dict(
        arch="llama", checkpoint=None,  # --gguf
        prompts_from="tests/fixtures/llama/smollm2/reference.json",
        main_prompt=0,
        zero_heads=[[(0, 2)], [(1, 0), (0, 3)]],
        mean_heads=[[(1, 2)], [(0, 1), (1, 3)]],
        # "The best thing about AI is its ability to": " AI" (5646) -> " dogs" (5046)
        patch=dict(clean_prompt=0, corrupt_position=4, corrupt_id=5046),
        steer=dict(a=1, b=3, c=0),
    )),
])


def log(*a):
    print(*a, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def r7(x):
    return float(f"{float(x):.7g}")


def r7_list(t):
    if t.dim() == 1:
        return [r7(v) for v in t.tolist()]
    return [r7_list(row) for row in t]


# --------------------------------------------------------------------------------------------
# model access


class Arch:
    """Names of the modules the hooks go on, for GPT-2 and Llama in transformers 5.x."""

    def __init__(self, model, kind):
        self.model, self.kind = model, kind
        cfg = model.config
        if kind == "gpt2":
            self.body = model.transformer
            self.blocks = list(self.body.h)
            self.embed = self.body.wte
            self.pos = self.body.wpe
            self.norm = self.body.ln_f
            self.H = cfg.n_head
            self.C = cfg.n_embd
            self.eps = cfg.layer_norm_epsilon
        else:
            self.body = model.model
            self.blocks = list(self.body.layers)
            self.embed = self.body.embed_tokens
            self.pos = None
            self.norm = self.body.norm
            self.H = cfg.num_attention_heads
            self.C = cfg.hidden_size
            self.eps = cfg.rms_norm_eps
        self.L = len(self.blocks)
        self.V = cfg.vocab_size
        self.D = self.out_proj(0).weight.shape[0 if kind == "gpt2" else 1] // self.H

    def out_proj(self, l):
        b = self.blocks[l]
        return b.attn.c_proj if self.kind == "gpt2" else b.self_attn.o_proj

    def mlp(self, l):
        return self.blocks[l].mlp

    def mlp_down(self, l):
        m = self.blocks[l].mlp
        return m.c_proj if self.kind == "gpt2" else m.down_proj

    def w_o(self, l):
        """Output projection weight in (in = H*D, out = C) orientation."""
        p = self.out_proj(l)
        return p.weight if self.kind == "gpt2" else p.weight.T

    def o_bias(self, l):
        return self.out_proj(l).bias  # None for Llama

    def config_summary(self):
        cfg = self.model.config
        d = OrderedDict([("arch", self.kind), ("n_layer", self.L), ("n_head", self.H), ("head_dim", self.D),
                         ("d_model", self.C), ("vocab_size", self.V), ("norm_eps", self.eps)])
        if self.kind == "gpt2":
            d["d_mlp"] = self.blocks[0].mlp.c_fc.weight.shape[1]
            d["n_kv_head"] = self.H
            d["tied"] = self.model.lm_head.weight.data_ptr() == self.embed.weight.data_ptr()
        else:
            d["d_mlp"] = cfg.intermediate_size
            d["n_kv_head"] = cfg.num_key_value_heads
            d["tied"] = self.model.lm_head.weight.data_ptr() == self.embed.weight.data_ptr()
        return d


@contextmanager
def hooks(specs):
    """specs: list of (module, kind, fn) with kind in {"pre", "pre_kw", "fwd"}."""
    handles = []
    try:
        for mod, kind, fn in specs:
            if kind == "pre":
                handles.append(mod.register_forward_pre_hook(fn))
            elif kind == "pre_kw":
                handles.append(mod.register_forward_pre_hook(fn, with_kwargs=True))
            elif kind == "fwd":
                handles.append(mod.register_forward_hook(fn))
            else:
                raise ValueError(kind)
        yield
    finally:
        for h in handles:
            h.remove()


def run(model, ids, specs=()):
    """Full logits (T, V) of one forward, batch 1, no cache, with the given hooks."""
    x = torch.tensor([ids], dtype=torch.long)
    with hooks(list(specs)):
        out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False)
    return out.logits[0].detach().clone()


def _hs_get(args, kwargs):
    if len(args) > 0:
        return args[0]
    return kwargs["hidden_states"]


def _hs_set(args, kwargs, new):
    if len(args) > 0:
        return (new,) + tuple(args[1:]), kwargs
    kwargs = dict(kwargs)
    kwargs["hidden_states"] = new
    return args, kwargs


def capture_all(A, ids):
    """One clean forward capturing every activation used below, per layer, batch row 0 (T, ...)."""
    cap = {}

    def pre_kw(name):
        def fn(_m, args, kwargs):
            cap[name] = _hs_get(args, kwargs)[0].detach().clone()
        return fn

    def pre(name):
        def fn(_m, args):
            cap[name] = args[0][0].detach().clone()
        return fn

    def fwd(name):
        def fn(_m, _i, out):
            t = out[0] if isinstance(out, (tuple, list)) else out
            if t.dim() == 3:
                t = t[0]
            cap[name] = t.detach().clone()
        return fn

    specs = [(A.embed, "fwd", fwd("embed"))]
    if A.pos is not None:
        specs.append((A.pos, "fwd", fwd("pos_embed")))
    for l in range(A.L):
        specs += [
            (A.blocks[l], "pre_kw", pre_kw(f"resid_pre.{l}")),
            (A.out_proj(l), "pre", pre(f"z.{l}")),
            (A.out_proj(l), "fwd", fwd(f"attn_out.{l}")),
            (A.mlp(l), "fwd", fwd(f"mlp_out.{l}")),
            (A.mlp_down(l), "pre", pre(f"mlp_hidden.{l}")),
        ]
    specs.append((A.blocks[-1], "fwd", fwd("resid_final")))
    logits = run(A.model, ids, specs)
    T = len(ids)
    for k, v in cap.items():
        assert v.shape[0] == T, (k, tuple(v.shape))
    return logits, cap


# --------------------------------------------------------------------------------------------
# interventions


def head_replace_specs(A, heads, means=None):
    """Pre-hooks on the output projections: z[:, :, h, :] = 0 (means None) or = means[(l, h)] (D,)."""
    by_layer = OrderedDict()
    for l, h in heads:
        assert 0 <= l < A.L and 0 <= h < A.H, (l, h)
        by_layer.setdefault(l, []).append(h)
    specs = []
    for l, hs in by_layer.items():
        def fn(_m, args, l=l, hs=hs):
            x = args[0]
            B, T, HD = x.shape
            z = x.reshape(B, T, A.H, A.D).clone()
            for h in hs:
                z[:, :, h, :] = 0.0 if means is None else means[(l, h)]
            return (z.reshape(B, T, HD),) + tuple(args[1:])
        specs.append((A.out_proj(l), "pre", fn))
    return specs


def neuron_zero_specs(A, layer, neurons):
    def fn(_m, args):
        x = args[0].clone()
        x[..., neurons] = 0.0
        return (x,) + tuple(args[1:])
    return [(A.mlp_down(layer), "pre", fn)]


def zero_out_specs(mod):
    def fn(_m, _i, out):
        assert torch.is_tensor(out)
        return torch.zeros_like(out)
    return [(mod, "fwd", fn)]


def patch_specs(A, hook, l, p, clean_value):
    """Replace the activation `hook` at block l, position p with clean_value (C,)."""
    if hook == "resid_pre":
        def fn(_m, args, kwargs):
            hs = _hs_get(args, kwargs).clone()
            hs[:, p, :] = clean_value
            return _hs_set(args, kwargs, hs)
        return [(A.blocks[l], "pre_kw", fn)]

    def fwd(_m, _i, out):
        assert torch.is_tensor(out)
        out = out.clone()
        out[:, p, :] = clean_value
        return out
    mod = A.out_proj(l) if hook == "attn_out" else A.mlp(l)
    return [(mod, "fwd", fwd)]


def steer_specs(A, layer, vec):
    def fn(_m, args, kwargs):
        hs = _hs_get(args, kwargs)
        return _hs_set(args, kwargs, hs + vec)
    return [(A.blocks[layer], "pre_kw", fn)]


# --------------------------------------------------------------------------------------------
# records


def logits_record(logits, V):
    T = logits.shape[0]
    rec = OrderedDict([("shape", [T, V])])
    if V <= 1000:
        rec["values"] = r7_list(logits)
    else:
        tk = torch.topk(logits, TOPK, dim=-1)
        rec["last_row"] = r7_list(logits[-1])
        rec["top5_ids"] = tk.indices.tolist()
        rec["top5_values"] = r7_list(tk.values)
        # smallest gap between the 5th and 6th value over positions, to judge how safe top5_ids are
        tk6 = torch.topk(logits, TOPK + 1, dim=-1).values
        rec["min_gap_5_6"] = float((tk6[:, TOPK - 1] - tk6[:, TOPK]).min())
    return rec


def dla(A, cap, logits, target):
    """Direct logit attribution at the last position, float64 from the float32 activations."""
    f64 = torch.float64
    x = cap["resid_final"][-1].to(f64)
    u = A.model.lm_head.weight[target].detach().to(f64)
    w = A.norm.weight.detach().to(f64)
    if A.kind == "gpt2":
        s = 1.0 / math.sqrt(float(((x - x.mean()) ** 2).mean()) + A.eps)

        def contrib(c):
            return float((((c - c.mean()) * s * w) * u).sum())
        bias = float((A.norm.bias.detach().to(f64) * u).sum())
    else:
        s = 1.0 / math.sqrt(float((x * x).mean()) + A.eps)

        def contrib(c):
            return float(((c * s * w) * u).sum())
        bias = 0.0

    comps = OrderedDict()
    vecs = OrderedDict()
    vecs["embed"] = cap["embed"][-1].to(f64)
    if A.pos is not None:
        vecs["pos_embed"] = cap["pos_embed"][-1].to(f64)
    for l in range(A.L):
        vecs[f"{l}_attn_out"] = cap[f"attn_out.{l}"][-1].to(f64)
        vecs[f"{l}_mlp_out"] = cap[f"mlp_out.{l}"][-1].to(f64)
    recon = sum(vecs.values())
    recon_err = float((recon - x).abs().max())
    assert recon_err < 1e-4, f"components do not add up to the final residual: {recon_err}"
    for k, v in vecs.items():
        comps[k] = contrib(v)
    comps["bias"] = bias
    logit = float(logits[-1, target])
    total = sum(comps.values())
    sum_err = abs(total - logit)

    heads = OrderedDict()
    attn_bias_terms = OrderedDict()
    head_check = 0.0  # max |sum_h z_h W_O^h (+ bias) - attn_out| over C, and over the logit contributions
    for l in range(A.L):
        z = cap[f"z.{l}"][-1].to(f64).reshape(A.H, A.D)
        W = A.w_o(l).detach().to(f64)
        assert W.shape == (A.H * A.D, A.C), tuple(W.shape)
        acc = torch.zeros(A.C, dtype=f64)
        for h in range(A.H):
            hv = z[h] @ W[h * A.D:(h + 1) * A.D, :]
            acc = acc + hv
            heads[f"L{l}H{h}"] = contrib(hv)
        b = A.o_bias(l)
        if b is not None:
            bv = b.detach().to(f64)
            attn_bias_terms[str(l)] = contrib(bv)
            acc = acc + bv
        head_check = max(head_check, float((acc - vecs[f"{l}_attn_out"]).abs().max()))
        summed = sum(heads[f"L{l}H{h}"] for h in range(A.H)) + attn_bias_terms.get(str(l), 0.0)
        head_check = max(head_check, abs(summed - comps[f"{l}_attn_out"]))
    assert head_check < 1e-4, f"heads (+ bias) do not add up to attn_out: {head_check}"

    rec = OrderedDict()
    rec["position"] = logits.shape[0] - 1
    rec["target_id"] = target
    rec["logit"] = logit
    rec["norm_scale_s"] = s
    rec["components"] = comps
    rec["heads"] = heads
    if attn_bias_terms:
        rec["attn_bias_terms"] = attn_bias_terms
    rec["sum_of_components"] = total
    rec["sum_error"] = sum_err
    rec["residual_reconstruction_max_error"] = recon_err
    rec["heads_vs_attn_out_max_error"] = head_check
    return rec


def saliency(A, ids, target):
    store = {}

    def fn(_m, _i, out):
        leaf = out.detach().requires_grad_()
        store["emb"] = leaf
        return leaf

    x = torch.tensor([ids], dtype=torch.long)
    with torch.enable_grad(), hooks([(A.embed, "fwd", fn)]):
        out = A.model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False)
        y = out.logits[0, -1, target]
        (g,) = torch.autograd.grad(y, store["emb"])
    emb = store["emb"].detach()[0]
    sal = (emb * g[0]).sum(-1)
    return [float(v) for v in sal], float(y.detach())


# --------------------------------------------------------------------------------------------
# one case


def load_model(case, spec, gguf):
    if spec["checkpoint"] is not None:
        path = spec["checkpoint"]
        model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager", dtype=torch.float32)
        info = OrderedDict([("path", path),
                            ("model_safetensors_sha256", sha256_file(os.path.join(path, "model.safetensors")))])
    else:
        gdir, gname = os.path.split(os.path.abspath(gguf))
        model = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32,
                                                     attn_implementation="eager")
        info = OrderedDict([("path", os.path.relpath(gguf)), ("gguf_sha256", sha256_file(gguf)),
                            ("loader", "AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, "
                                       "dtype=float32, attn_implementation='eager') (as make_llama_fixtures.py)")])
    # a GGUF-loaded model counts as quantized in transformers 5 and refuses .float(); weights are f32 anyway
    if getattr(model, "hf_quantizer", None) is None:
        model = model.float()
    model = model.eval()
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager"
    for n, p in model.named_parameters():
        assert p.dtype == torch.float32, n
    return model, info


def make_case(case, spec, gguf):
    log(f"[{case}] loading")
    model, ckpt = load_model(case, spec, gguf)
    A = Arch(model, spec["arch"])
    with open(spec["prompts_from"], encoding="utf-8") as f:
        prompts = [p["ids"] for p in json.load(f)["prompts"]]
    V = A.V

    torch.set_grad_enabled(False)
    doc = OrderedDict()
    doc["case"] = case
    doc["generator"] = "scripts/parity/make_intervention_fixtures.py"
    doc["versions"] = OrderedDict([("torch", torch.__version__), ("transformers", transformers.__version__)])
    doc["checkpoint"] = ckpt
    doc["config"] = A.config_summary()
    doc["prompts_from"] = spec["prompts_from"]
    doc["prompts"] = prompts
    doc["bos_added"] = False
    doc["logits_format"] = ("full: {shape:[T,V], values:[T][V]}" if V <= 1000 else
                            "last_row_top5: {shape:[T,V], last_row:[V], top5_ids:[T][5], top5_values:[T][5], "
                            "min_gap_5_6}")
    doc["float_rounding"] = "logit arrays: 7 significant digits; scalars: full float64 repr"

    # ---- clean run of the main prompt
    mp = spec["main_prompt"]
    ids = prompts[mp]
    clean_logits, cap = capture_all(A, ids)
    plain = run(model, ids)
    assert torch.equal(clean_logits, plain), "capture hooks changed the logits"
    # hooks that only copy must not change anything
    assert torch.equal(run(model, ids, head_replace_specs(A, [])), plain)
    doc["main_prompt_index"] = mp
    doc["main_prompt_ids"] = ids
    doc["clean"] = OrderedDict([("prompt_index", mp), ("logits", logits_record(clean_logits, V))])

    # ---- ablations (main prompt)
    abl = []
    for heads in spec["zero_heads"]:
        lg = run(model, ids, head_replace_specs(A, heads))
        abl.append(OrderedDict([("kind", "zero_heads"), ("heads", [list(h) for h in heads]),
                                ("logits", logits_record(lg, V))]))
    for heads in spec["mean_heads"]:
        means = {(l, h): cap[f"z.{l}"].reshape(-1, A.H, A.D)[:, h, :].mean(0) for l, h in heads}
        lg = run(model, ids, head_replace_specs(A, heads, means))
        abl.append(OrderedDict([("kind", "mean_heads"), ("heads", [list(h) for h in heads]),
                                ("mean_source", "unablated run of the same prompt, mean over all T positions"),
                                ("logits", logits_record(lg, V))]))
    lg = run(model, ids, neuron_zero_specs(A, NEURON_LAYER, NEURONS))
    abl.append(OrderedDict([("kind", "zero_neurons"), ("layer", NEURON_LAYER), ("neurons", NEURONS),
                            ("logits", logits_record(lg, V))]))
    lg = run(model, ids, zero_out_specs(A.out_proj(0)))
    abl.append(OrderedDict([("kind", "zero_attn_out"), ("layer", 0), ("logits", logits_record(lg, V))]))
    lg = run(model, ids, zero_out_specs(A.mlp(1)))
    abl.append(OrderedDict([("kind", "zero_mlp_out"), ("layer", 1), ("logits", logits_record(lg, V))]))
    for a in abl:
        log(f"  [{case}] {a['kind']} {a.get('heads', a.get('neurons', a.get('layer')))}")
    doc["ablation"] = OrderedDict([("prompt_index", mp), ("cases", abl)])

    # ---- activation patching
    ps = spec["patch"]
    clean_ids = list(prompts[ps["clean_prompt"]])
    corrupt_ids = list(clean_ids)
    assert corrupt_ids[ps["corrupt_position"]] != ps["corrupt_id"] and ps["corrupt_id"] < V
    corrupt_ids[ps["corrupt_position"]] = ps["corrupt_id"]
    T = len(clean_ids)
    c_logits, c_cap = capture_all(A, clean_ids)
    k_logits = run(model, corrupt_ids)
    answer = int(c_logits[-1].argmax())
    wrong = int(k_logits[-1].argmax())
    wrong_rule = "argmax of the corrupt last-position logits"
    if wrong == answer:
        wrong = int(torch.topk(c_logits[-1], 2).indices[1])
        wrong_rule = "runner-up of the clean last-position logits (corrupt argmax == answer)"

    def metric(lg):
        return float(lg[-1, answer] - lg[-1, wrong])

    clean_m, corrupt_m = metric(c_logits), metric(k_logits)
    patch = OrderedDict()
    patch["clean_prompt_index"] = ps["clean_prompt"]
    patch["clean_ids"] = clean_ids
    patch["corrupt_ids"] = corrupt_ids
    patch["corrupt_note"] = (f"clean prompt {ps['clean_prompt']} with position {ps['corrupt_position']} "
                             f"(id {clean_ids[ps['corrupt_position']]}) replaced by id {ps['corrupt_id']} "
                             f"(reference.json has no two prompts of equal length)")
    patch["answer_id"] = answer
    patch["wrong_id"] = wrong
    patch["answer_rule"] = "argmax of the clean last-position logits"
    patch["wrong_rule"] = wrong_rule
    patch["metric"] = "logits[T-1, answer_id] - logits[T-1, wrong_id]"
    patch["clean_metric"] = clean_m
    patch["corrupt_metric"] = corrupt_m
    patch["shape"] = [A.L, T]
    for hook in ("resid_pre", "attn_out", "mlp_out"):
        mat = []
        for l in range(A.L):
            row = []
            for p in range(T):
                lg = run(model, corrupt_ids, patch_specs(A, hook, l, p, c_cap[f"{hook}.{l}"][p]))
                row.append(metric(lg))
                if p < ps["corrupt_position"]:
                    assert row[-1] == corrupt_m, (hook, l, p, row[-1], corrupt_m)  # identical activations
            mat.append(row)
        patch[hook] = mat
        log(f"  [{case}] patching {hook}: clean {clean_m:.4f} corrupt {corrupt_m:.4f} "
            f"range [{min(map(min, mat)):.4f}, {max(map(max, mat)):.4f}]")
    # sanity: patching every position of resid_pre(0) restores the clean run exactly up to float noise
    full = run(model, corrupt_ids, [(A.blocks[0], "pre_kw",
                                     lambda _m, a, k: _hs_set(a, k, c_cap["resid_pre.0"].unsqueeze(0)))])
    assert abs(metric(full) - clean_m) < 1e-4
    doc["patching"] = patch

    # ---- steering
    st = spec["steer"]
    _, cap_a = capture_all(A, prompts[st["a"]])
    _, cap_b = capture_all(A, prompts[st["b"]])
    v = cap_a[f"resid_pre.{STEER_LAYER}"][-1] - cap_b[f"resid_pre.{STEER_LAYER}"][-1]
    vec = STEER_SCALE * v
    c_ids = list(prompts[st["c"]])
    s_logits = run(model, c_ids, steer_specs(A, STEER_LAYER, vec))
    gen, margins = [], []
    cur = list(c_ids)
    for _ in range(STEER_NEW_TOKENS):
        lg = run(model, cur, steer_specs(A, STEER_LAYER, vec))[-1]
        top2 = torch.topk(lg, 2)
        nxt = int(top2.indices[0])
        margins.append(float(top2.values[0] - top2.values[1]))
        gen.append(nxt)
        cur.append(nxt)
    unsteered = []
    cur = list(c_ids)
    for _ in range(STEER_NEW_TOKENS):
        nxt = int(run(model, cur)[-1].argmax())
        unsteered.append(nxt)
        cur.append(nxt)
    steer = OrderedDict()
    steer["layer"] = STEER_LAYER
    steer["scale"] = STEER_SCALE
    steer["prompt_a_index"] = st["a"]
    steer["prompt_b_index"] = st["b"]
    steer["prompt_c_index"] = st["c"]
    steer["prompt_c_ids"] = c_ids
    steer["vector_rule"] = "v = resid_pre(layer)[A, last] - resid_pre(layer)[B, last]; add scale*v at every position"
    steer["vector"] = [float(t) for t in v]
    steer["vector_norm"] = float(v.norm())
    steer["logits"] = logits_record(s_logits, V)
    steer["n_new"] = STEER_NEW_TOKENS
    steer["generated_ids"] = gen
    steer["generated_margins"] = margins
    steer["unsteered_generated_ids"] = unsteered
    log(f"  [{case}] steering |v| {float(v.norm()):.4f}: {gen} (unsteered {unsteered}), "
        f"min margin {min(margins):.4g}")
    doc["steering"] = steer

    # ---- DLA + saliency (main prompt)
    target = int(clean_logits[-1].argmax())
    d = dla(A, cap, clean_logits, target)
    d["prompt_index"] = mp
    log(f"  [{case}] DLA target {target} logit {d['logit']:.6f} sum err {d['sum_error']:.3e} "
        f"heads err {d['heads_vs_attn_out_max_error']:.3e}")
    doc["dla"] = d
    sal, y = saliency(A, ids, target)
    assert abs(y - float(clean_logits[-1, target])) < 1e-5
    doc["saliency"] = OrderedDict([("prompt_index", mp), ("position", len(ids) - 1), ("target_id", target),
                                   ("definition", "sum_C emb[i] * d logits[T-1, target] / d emb[i]"),
                                   ("values", sal)])
    return doc, d["sum_error"]


# --------------------------------------------------------------------------------------------
# output: indented objects, scalar lists on one line


def dumps(obj, indent=0):
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in obj):
            return "[" + ",".join(json.dumps(x) for x in obj) + "]"
        items = [f"{pad} {dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(obj, float):
        assert math.isfinite(obj), obj
    return json.dumps(obj)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/interventions")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    errs = {}
    for case in args.cases.split(","):
        spec = CASES[case]
        if spec["checkpoint"] is None and not os.path.exists(args.gguf):
            log(f"WARNING: {args.gguf} not found, skipping {case}")
            continue
        doc, err = make_case(case, spec, args.gguf)
        path = os.path.join(args.out, f"{case}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps(doc) + "\n")
        with open(path, encoding="utf-8") as f:
            json.load(f)
        errs[case] = err
        log(f"[{case}] wrote {path} ({os.path.getsize(path)} bytes)")
    log("DLA |sum(components) - logit| per case: " + ", ".join(f"{k} {v:.3e}" for k, v in errs.items()))
    log(f"max DLA sum error: {max(errs.values()) if errs else float('nan'):.3e}")


if __name__ == "__main__":
    main()
