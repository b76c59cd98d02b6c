# The two commands of the README: `make figures` and `make test`.
# Both install what is missing into the project folder first (scripts/setup.sh).
SHELL := /bin/bash
CARGO ?= cargo
export LIBTORCH := $(CURDIR)/.venv/libtorch/torch

.PHONY: setup setup-notebooks build figures test lint notebooks parity-fixtures clean-cache bench bench-quick setup-cuda build-cuda bench-ngrams lab setup-lab

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --bins

# Rebuilds every stale figure into figures/ (PNG, SVG, CSV, index.html). Pass builder
# options with ARGS, e.g. `make figures ARGS="--model smollm2 --force"`.
figures: build
	./target/debug/figures all $(ARGS)

# The whole suite: the formatting and lint gates, the cargo tests (the interactive views
# in headless Chromium among them), every notebook run headless, then JupyterLab driven
# in headless Chromium.
test: setup setup-notebooks setup-lab lint
	@bash scripts/setup-test.sh
	$(CARGO) test
	$(NOTEBOOKS_RUN)
	$(LAB_TEST)

# The gates: rustfmt (rustfmt.toml) and clippy with every warning an error, over the
# library, the binaries, the tests and the benches.
lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# evcxr_jupyter, the runner's Python packages and the kernelspec (scripts/setup-notebooks.sh).
setup-notebooks:
	@bash scripts/setup-notebooks.sh

# Runs every notebooks/*.ipynb headless on the evcxr kernel (scripts/notebooks/run.py);
# the executed copies go to target/notebooks/. `make notebooks NB=notebooks/01-...ipynb`
# runs only the ones named.
NOTEBOOKS_RUN = python3 scripts/notebooks/run.py $(NB)
notebooks: setup setup-notebooks
	$(NOTEBOOKS_RUN)

# Student copies of the notebooks without the cells tagged `solution` (as nbgrader does),
# into the git-ignored student-notebooks/ (scripts/student-notebooks.py).
.PHONY: student-notebooks
student-notebooks:
	python3 scripts/student-notebooks.py $(NB)

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

# Speed against HF transformers, side by side (BENCHMARKS.md; scripts/bench/). Sets up
# the reference venv .venv-ref (torch + transformers) on first use. Pass driver options
# with BENCH_ARGS, e.g. `make bench BENCH_ARGS="--runs 5 --threads 4"`. The `bench`
# binary is built in the dev profile like everything else (dependencies at opt-level 2):
# the time is spent in libtorch's kernels, which are the same on both sides.
bench: setup
	$(CARGO) build --bin bench --bin gpt2-explorer
	bash scripts/parity/setup_venv.sh
	@test -d data/cache/synthetic-gpt2-small || ./target/debug/gpt2-explorer synthetic --size gpt2-small --out data/cache/synthetic-gpt2-small
	python3 scripts/bench/run.py $(BENCH_ARGS)

# The benchmark's quick mode with both sides (tiny checkpoint, one iteration) into
# target/bench/quick.md; `make test` runs our side of it (tests/bench.rs).
bench-quick: setup
	$(CARGO) build --bin bench --bin gpt2-explorer
	bash scripts/parity/setup_venv.sh
	@test -d target/bench/tiny || ./target/debug/gpt2-explorer synthetic --size small --out target/bench/tiny
	python3 scripts/bench/run.py --quick --tiny-model target/bench/tiny --out target/bench/quick.md --json-out target/bench/quick.json

# GPU: libtorch's CUDA libraries come from the reference venv .venv-ref (the same PyPI
# torch==2.13.0 wheel as .venv/libtorch, installed in full); the binaries are built with
# `--features cuda` into target/release/ (scripts/bench/setup-cuda.sh, BENCHMARKS.md).
setup-cuda: setup
	@bash scripts/bench/setup-cuda.sh >/dev/null

build-cuda: setup
	TORCH_CUDA_LIB_DIR="$$(bash scripts/bench/setup-cuda.sh)" $(CARGO) build --release --features cuda --bins

# JupyterLab and Playwright (the browser tests) into .venv/lab (scripts/setup-lab.sh).
setup-lab: setup-notebooks
	@bash scripts/setup-lab.sh

# JupyterLab on notebooks/ at 127.0.0.1 with the project's kernel, after warming the
# kernel's build (scripts/lab/lab.py); `make lab PORT=8890` for another port. LAB_TEST
# (run by `make test`) opens a notebook in it in headless Chromium (scripts/lab/test_lab.py).
LAB_TEST = python3 scripts/lab/test_lab.py
lab: setup setup-notebooks setup-lab
	python3 scripts/lab/lab.py $(if $(PORT),--port $(PORT))
