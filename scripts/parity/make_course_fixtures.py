#!/usr/bin/env python3
"""Write the reference fixture for the chat formatting and the continuation scorer
(src/chat.rs, src/probes.rs; notebooks 09 and 10) with Hugging Face transformers.

The Rust test tests/behaviour.rs compares against what this script writes. Run by hand (not
by CI); the output, tests/fixtures/course/reference.json (a few KB), is committed.

Exact command, from the repository root (after `make setup` has put the GGUF in data/cache):

    bash scripts/parity/setup_venv.sh            # .venv-ref, pins in requirements.txt
    .venv-ref/bin/python scripts/parity/make_course_fixtures.py \\
        --gguf data/cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out tests/fixtures/course

Writes reference.json with:

  chat_template   the Jinja text of the GGUF's `tokenizer.chat_template` (read with PyPI gguf)
  chats           for several conversations: the messages, add_generation_prompt, the text
                  transformers' `apply_chat_template(..., tokenize=False)` renders, and its token
                  ids (the tokenizer transformers builds from the GGUF, add_special_tokens=False).
                  The same text is rendered a second time with plain jinja2 (sandboxed, trim_blocks,
                  lstrip_blocks, as transformers does) and must be identical.
  scores          for several prompts and continuations: the token ids of prompt and of each
                  continuation (tokenized on its own), and log p of each continuation token given
                  everything before it, from log_softmax of the float32 logits of
                  AutoModelForCausalLM.from_pretrained(dir, gguf_file=name) (dequantised GGUF).

Output is deterministic (re-running rewrites identical bytes with the same pinned versions).
"""

from __future__ import annotations

import argparse
import json
import os

import torch
from gguf import GGUFReader
from jinja2.sandbox import ImmutableSandboxedEnvironment
from transformers import AutoModelForCausalLM, AutoTokenizer
import transformers

CHATS = [
    ("one user turn", [{"role": "user", "content": "What is the capital of France?"}], True),
    ("own system message", [{"role": "system", "content": "Answer in one word."},
                            {"role": "user", "content": "What is the capital of France?"}], True),
    ("several turns", [{"role": "user", "content": "Hi!"},
                       {"role": "assistant", "content": "Hello! How can I help?"},
                       {"role": "user", "content": "Name a colour.\nJust one."}], True),
    ("no generation prompt", [{"role": "user", "content": "Tell me a joke"}], False),
]

SCORES = [
    ("The keys to the cabinet", [" are", " is"]),
    ("The key that the men found", [" is", " are"]),
    ("( [ { } ( )", [" ]", " )", " }"]),
    ("All apples are sweet and all lemons are sour. This fruit is not sweet, so it is not",
     [" an apple", " a lemon"]),
    ("France -> Paris\nJapan ->", [" Tokyo", " Mexico City"]),
]


def template_of(path: str) -> str:
    reader = GGUFReader(path)
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    gdir, gname = os.path.split(os.path.abspath(args.gguf))
    template = template_of(args.gguf)

    tok = AutoTokenizer.from_pretrained(gdir, gguf_file=gname)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    compiled = env.from_string(template)
    chats = []
    for label, messages, agp in CHATS:
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=agp)
        again = compiled.render(messages=messages, add_generation_prompt=agp)
        assert text == again, (label, text, again)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        chats.append({"label": label, "messages": messages, "add_generation_prompt": agp,
                      "text": text, "ids": ids})

    model = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    scores = []
    with torch.no_grad():
        for prompt, conts in SCORES:
            p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
            alts = []
            for c in conts:
                c_ids = tok(c, add_special_tokens=False)["input_ids"]
                x = torch.tensor([p_ids + c_ids[:-1]], dtype=torch.long)
                logp = torch.log_softmax(model(x).logits[0].double(), dim=-1)  # (T, V)
                lps = [float(logp[len(p_ids) - 1 + j, t]) for j, t in enumerate(c_ids)]
                alts.append({"text": c, "ids": c_ids, "token_logprobs": lps})
            scores.append({"prompt": prompt, "prompt_ids": p_ids, "alternatives": alts})

    os.makedirs(args.out, exist_ok=True)
    ref = {
        "generator": "scripts/parity/make_course_fixtures.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "gguf": gname,
        "chat_template": template,
        "chats": chats,
        "scores": scores,
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
