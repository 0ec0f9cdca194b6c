# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= pawpularity-demo
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install browser demo test lint format bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The browser tests drive Debian's chromium through Playwright (no browser download).
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# The main job on the embedded demo data: build it, train with 2-fold CV, explain, test the
# hypotheses and write the report (`pawpularity demo` prints its path).
demo: install
	rm -rf $(DEMO)
	$(BIN)/pawpularity demo --out $(DEMO)

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check pawpularity tests bench
	$(BIN)/ruff format --check pawpularity tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix pawpularity tests bench
	$(BIN)/ruff format pawpularity tests bench

bench: install
	$(BIN)/python bench/train_throughput.py

# Also empties the cache of exported ONNX graphs (~/.cache/pawpularity/onnx).
clean:
	-test -x $(BIN)/pawpularity && $(BIN)/pawpularity cache clear
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
