# The two commands of the README: `make figures` and `make test`.
# Both install what is missing into the project folder first (scripts/setup.sh).
SHELL := /bin/bash
CARGO ?= cargo
export LIBTORCH := $(CURDIR)/.venv/libtorch/torch

.PHONY: setup build figures test parity-fixtures clean-cache

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --bins

# Until the figure builder exists (issue 4) this runs the chapter-1 smoke demo:
# the next-word table and a greedy continuation, on the offline synthetic
# GPT-2-small-shaped checkpoint (or on --model gpt2 when it is cached).
figures: build
	@bash scripts/figures-smoke.sh

test: setup
	$(CARGO) test

# Regenerate the committed parity fixtures from HF transformers (by hand; see scripts/parity/README.md).
parity-fixtures:
	bash scripts/parity/setup_venv.sh
	bash scripts/parity/fetch_tokenizer.sh /tmp/gpt2-tokenizer
	.venv-ref/bin/python scripts/parity/make_fixtures.py --tokenizer-dir /tmp/gpt2-tokenizer --out tests/fixtures/parity

clean-cache:
	rm -rf data/cache
