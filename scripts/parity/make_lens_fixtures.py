#!/usr/bin/env python3
"""Write logit-lens references from Hugging Face transformers (for tests/chapter6.rs).

The logit lens reads next-token logits off the residual stream after every block:
final_norm(resid) @ W_U. This script computes it with transformers' own modules on the
committed tiny checkpoints (a GPT-2 and a tied Llama) and writes, per case,
tests/fixtures/lens/<case>.safetensors with `p{p}.lens` [L+1, T, V] (row 0: the stream
entering block 0, row l+1: after block l) and `p{p}.ids` [T] (float32, exact). Run by hand from
the repository root; the outputs are committed:

    .venv-ref/bin/python scripts/parity/make_lens_fixtures.py

How the rows are made (independent of the Rust code): `output_hidden_states=True` gives
L+1 tensors. For GPT-2 and Llama in transformers, hidden_states[0] is the embedding
output and hidden_states[i] (0 < i < L) the output of block i-1, but the LAST entry has
already been through the final norm; so the last block's output is captured with a
forward hook on the last block instead. Each row is then passed through the model's own
final norm module (`transformer.ln_f` / `model.norm`) and `lm_head`. The script asserts
that the last row equals the model's logits.
"""

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

CASES = {
    "tiny-hf": ("tests/fixtures/parity/tiny-hf", "transformer", "ln_f", "h"),
    "llama-tiny-random": ("tests/fixtures/llama/tiny-random", "model", "norm", "layers"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/lens")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for case, (folder, base, norm_name, blocks_name) in CASES.items():
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
        body = getattr(model, base)
        norm = getattr(body, norm_name)
        blocks = getattr(body, blocks_name)
        ref = json.loads((Path(folder) / "reference.json").read_text())
        tensors = {}
        for p, prompt in enumerate(ref["prompts"]):
            ids = torch.tensor([prompt["ids"]], dtype=torch.long)
            if not 2 <= ids.shape[1] <= 32:  # small files: prompts of 2 to 32 tokens
                continue
            last = {}
            hook = blocks[-1].register_forward_hook(lambda m, i, o: last.__setitem__("x", o[0] if isinstance(o, tuple) else o))
            with torch.no_grad():
                res = model(ids, output_hidden_states=True)
                hook.remove()
                rows = list(res.hidden_states[:-1]) + [last["x"]]
                assert len(rows) == len(blocks) + 1
                lens = torch.stack([model.lm_head(norm(r))[0] for r in rows])  # (L+1, T, V)
            diff = (lens[-1] - res.logits[0]).abs().max().item()
            assert diff < 1e-5, f"{case} p{p}: last lens row differs from the logits by {diff}"
            tensors[f"p{p}.lens"] = lens.contiguous()
            tensors[f"p{p}.ids"] = ids[0].to(torch.float32).contiguous()  # exact: ids < 2^24; the Rust reader takes float tensors
            print(f"{case} p{p}: T={ids.shape[1]} lens {tuple(lens.shape)}, last row vs logits {diff:.2e}")
        save_file(tensors, str(out / f"{case}.safetensors"))


if __name__ == "__main__":
    main()
