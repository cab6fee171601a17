# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench install dev lint typecheck docs wheel clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[docs]"
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/lstmkit forecast --out out/forecast --force

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# the checks .ci/run runs before the tests (CONTRIBUTING.md says what they hold you to)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples setup.py
	$(BIN)/ruff format --check src tests benchmarks examples setup.py

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# the documentation site (mkdocs + mkdocstrings) into site/, warnings as errors
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# a manylinux wheel with the compiled kernel, repaired by auditwheel, in wheelhouse/
wheel: $(VENV)/.installed-dev
	rm -rf build dist wheelhouse
	$(BIN)/python -m build --wheel --outdir dist .
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/auditwheel repair --wheel-dir wheelhouse dist/*.whl
	@ls wheelhouse

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines to dodge old OpenBLAS
# bugs) pin a current OpenBLAS to slower kernels: unset for this command only.
bench: $(VENV)/.installed-dev
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist wheelhouse site *.egg-info src/*.egg-info
