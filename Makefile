# Entry points (see README):
#   make book   set up .venv if needed, run the studies, build the report into book/_build/html
#   make test   set up .venv if needed, run the test suite
# Variables: PROFILE=smoke|quick|paper (studies), JOBS (studies side by side; auto = the cores, at most 4), PYTHON (interpreter that creates the venv), PYTEST_ARGS.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
JOBS ?= auto
PYTEST_ARGS ?=
STAMP := $(VENV)/.setup-stamp
VEGA_BUNDLE := book/_static/vega-offline.js

.PHONY: setup assets studies toc book test clean

# Setup is idempotent: it reruns only when pyproject.toml or constraints.txt changed (stamp file).
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -c constraints.txt -e ".[test]"
	touch $@

# Offline vega bundle (rebuilt when the environment changes) and a check of the vendored MathJax.
assets: $(VEGA_BUNDLE)

$(VEGA_BUNDLE): $(STAMP) src/spectral_collapse/plotting/render.py scripts/make_book_assets.py
	$(PY) scripts/make_book_assets.py

# ---------------------------------------------------------------------------------------------------
# studies: executes every study notebook with papermill into book/studies/ (owned by the lead).
studies: $(STAMP)
	$(PY) -m spectral_collapse.cli studies --profile $(PROFILE) --jobs $(JOBS)
# ---------------------------------------------------------------------------------------------------

# _toc.yml lists the study notebooks present; book/api.md lists the package's modules.
toc: $(STAMP)
	$(PY) scripts/make_toc.py

book: studies assets
	$(PY) scripts/make_toc.py
	$(VENV)/bin/jupyter-book build book/

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf book/_build
