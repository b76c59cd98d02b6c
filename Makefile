# The two commands of the README: `make figures` and `make test`.
# Both install what is missing into the project folder first (scripts/setup.sh).
SHELL := /bin/bash
CARGO ?= cargo
export LIBTORCH := $(CURDIR)/.venv/libtorch/torch

.PHONY: setup setup-notebooks build figures test notebooks parity-fixtures clean-cache bench-ngrams

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --bins

# Rebuilds every stale figure into figures/ (PNG, SVG, CSV, index.html). Pass builder
# options with ARGS, e.g. `make figures ARGS="--model smollm2 --force"`.
figures: build
	./target/debug/figures all $(ARGS)

# The whole suite: the cargo tests, then every notebook run headless.
test: setup setup-notebooks
	@bash scripts/setup-test.sh
	$(CARGO) test
	$(NOTEBOOKS_RUN)

# evcxr_jupyter, the runner's Python packages and the kernelspec (scripts/setup-notebooks.sh).
setup-notebooks:
	@bash scripts/setup-notebooks.sh

# Runs every notebooks/*.ipynb headless on the evcxr kernel (scripts/notebooks/run.py);
# the executed copies go to target/notebooks/. `make notebooks NB=notebooks/01-...ipynb`
# runs only the ones named.
NOTEBOOKS_RUN = python3 scripts/notebooks/run.py $(NB)
notebooks: setup setup-notebooks
	$(NOTEBOOKS_RUN)

# Regenerate the committed parity fixtures from HF transformers (by hand; see scripts/parity/README.md).
parity-fixtures:
	bash scripts/parity/setup_venv.sh
	bash scripts/parity/fetch_tokenizer.sh /tmp/gpt2-tokenizer
	.venv-ref/bin/python scripts/parity/make_fixtures.py --tokenizer-dir /tmp/gpt2-tokenizer --out tests/fixtures/parity

# Letter/word counting speed against a Python collections.Counter reference on the same
# 100 MB file (scripts/bench-ngrams.sh; `make bench-ngrams ARGS=--quick` for 20 MB).
bench-ngrams: setup
	bash scripts/bench-ngrams.sh $(ARGS)

clean-cache:
	rm -rf data/cache
