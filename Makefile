# Two commands: `make run` (set up + start the web lab on http://127.0.0.1:$(PORT)) and
# `make test` (lint + every test on two pytest-xdist workers, the browser tests in Debian's
# chromium, installed if missing).
# Both create .venv when missing and install the pinned CPU torch before the package,
# so pip never resolves `torch>=2.4` to a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
STAMP := $(VENV)/.installed
PORT ?= 8050
CHROMIUM ?= /usr/bin/chromium

.PHONY: run demo test setup lint browser clean plotly-bundle

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The pin also constrains every later install, so no dependency can upgrade torch.
# The test-only oracle curvlinops needs backpack-for-pytorch, which declares torchvision; the
# torchvision wheels in reach are built for CUDA torch and fail to load beside the CPU one,
# and neither package imports it for what the tests use: so both go in with --no-deps,
# after their other dependencies.
ORACLE_DEPS := einops einconv opt-einsum linear_operator unfoldNd tqdm
ORACLE := curvlinops-for-pytorch==3.0.1 backpack-for-pytorch==1.7.1

$(STAMP): $(BIN)/python pyproject.toml
	echo "$(TORCH_PIN)" > $(VENV)/constraints.txt
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -c $(VENV)/constraints.txt -e '.[dev,ray]'
	$(BIN)/pip install --quiet -c $(VENV)/constraints.txt $(ORACLE_DEPS)
	$(BIN)/pip install --quiet --no-deps $(ORACLE)
	touch $(STAMP)

setup: $(STAMP)

# The web lab, bound to 127.0.0.1; it prints its address. Ctrl+C stops it.
run: setup
	$(BIN)/losslab serve --port $(PORT)

demo: setup
	$(BIN)/losslab demo --out demo

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

# The browser tests drive Debian's chromium through Playwright (never `playwright install`,
# which downloads a browser). Install it when missing; without root or network, say so and let
# those tests skip with that reason.
browser:
	@if [ -x $(CHROMIUM) ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		(apt-get update -qq && apt-get install -y -qq chromium) || \
		echo "could not install chromium: the browser tests will be skipped"; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		echo "installing chromium for the browser tests (sudo apt-get)"; \
		(sudo apt-get update -qq && sudo apt-get install -y -qq chromium) || \
		echo "could not install chromium: the browser tests will be skipped"; \
	else \
		echo "chromium is missing and installing it needs root: run"; \
		echo "    sudo apt-get install -y chromium"; \
		echo "to run the browser tests; until then they are skipped."; \
	fi

test: setup lint browser
	$(BIN)/python -m pytest -n 2

# The web lab's plotly.js (only the trace types it draws), vendored in the package: rebuild it
# after adding a trace type to scripts/plotly-bundle/entry.js. Needs node and npm; `make run`
# and `make test` never do.
plotly-bundle:
	scripts/build_plotly_bundle.sh

clean:
	rm -rf $(VENV) demo .pytest_cache
