# Entry points (see README):
#   make book   set up .venv if needed, run the studies, build the report into book/_build/html
#   make test   set up .venv if needed, run the test suite (tests marked slow or gpu left out; its time: notebooks/benchmarks.ipynb)
#   make test-slow  the same installation, then only the long end-to-end tests (marked slow); .ci/run runs make test, then make test-slow on the built book's tests
#   make lab    install JupyterLab and jupyterlab-myst (the optional `lab` extra) into .venv and open notebooks/ with the project's kernel
#   make report DATA=folder:/path MODEL=/path/to/pipeline [PROFILE=quick] [OUT=dir] [DATA_OPTIONS='{"task": "sr"}']
#               a book for your images and your diffusers model in a folder of its own (after `make book` or `make test`)
# Variables: PROFILE=smoke|quick|paper (studies), JOBS (studies side by side; auto = the cores, at most 4), CLUSTER (local, tcp://host:8786 or slurm: book/cluster.md), PYTHON (interpreter that creates the venv), PYTEST_ARGS.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
JOBS ?= auto
PYTEST_ARGS ?=
STAMP := $(VENV)/.setup-stamp
LAB_STAMP := $(VENV)/.lab-stamp
VEGA_BUNDLE := book/_static/vega-offline.js

.PHONY: setup assets studies toc book test test-slow lab report clean

# Setup is idempotent: it reruns only when pyproject.toml or constraints.txt changed (stamp file).
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the suite and its pinned dependencies into $(VENV) (once; a few minutes on a fresh clone)"
	$(PY) -m pip install -c constraints.txt -e ".[test]" --quiet --disable-pip-version-check
	touch $@

# Offline vega bundle (vega, vega-lite and vega-embed built by vl-convert, no network; not committed), rebuilt when
# the environment changes, so that charts in Altair's interactive HTML mode draw offline.
assets: $(VEGA_BUNDLE)

$(VEGA_BUNDLE): $(STAMP) src/spectral_collapse/plotting/render.py
	$(PY) -c "from spectral_collapse.plotting.render import write_vega_bundle; print('wrote', write_vega_bundle('$@'))"

# studies: executes every study notebook (notebooks/) that is missing or stale with papermill into book/studies/,
# each after the studies it reads, JOBS side by side.
studies: $(STAMP)
	$(PY) -m spectral_collapse.cli studies --profile $(PROFILE) --jobs $(JOBS) $(if $(CLUSTER),--cluster "$(CLUSTER)")

# book/studies/<study>.ipynb: one page per study, written from its executed chapters (both datasets side by side;
# build output, not committed: the book's Sphinx extension writes them too); _toc.yml lists those pages;
# book/api.md lists the package's modules.
toc: $(STAMP)
	$(PY) scripts/make_toc.py

book: studies assets
	$(PY) scripts/make_toc.py
	$(VENV)/bin/jupyter-book build book/

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# the tests marked slow (pyproject.toml's default -m leaves them out; a later -m takes its place)
test-slow: $(STAMP)
	$(VENV)/bin/pytest -m "slow and not gpu" $(PYTEST_ARGS)

# JupyterLab and jupyterlab-myst (MyST markdown and the chapters' answer paragraphs, Markdown outputs, rendered after
# Run All), pinned like the rest (constraints.txt), installed once (stamp) into the same .venv. The kernel
# "python3" is the project's: .venv's Python, declared in .venv/share/jupyter, which JUPYTER_PATH puts before any
# user-wide kernel of that name. Saving a notebook clears its outputs (notebooks/ holds sources; the book holds the
# executed copies). Edit notebooks/<study>.ipynb, save, and `make book` runs the edit.
lab: $(LAB_STAMP)
	@echo "JupyterLab on notebooks/ (the study notebooks): open the http://localhost URL it prints below"
	JUPYTER_PATH=$(abspath $(VENV))/share/jupyter $(VENV)/bin/jupyter lab notebooks/ \
	  --MultiKernelManager.default_kernel_name=python3 \
	  --ContentsManager.pre_save_hook=spectral_collapse.pipeline.notebook.strip_outputs \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

$(LAB_STAMP): $(STAMP)
	@echo "installing JupyterLab into $(VENV) (once)"
	$(PY) -m pip install -c constraints.txt -e ".[test,lab]" --quiet --disable-pip-version-check
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" > /dev/null
	touch $@

# report: every study that applies to your model, on your data, into reports/<data>--<model>-<profile>-<digest>/ (or
# OUT): results, cell cache, executed chapters, pages and HTML. The project's book/ and data/ are left as they are.
# It uses the environment `make book` / `make test` installed and installs nothing itself.
DATA ?=
MODEL ?=
OUT ?=
DATA_OPTIONS ?=
REPORT_JOBS ?= 1
CLUSTER ?=
report:
	@test -x $(PY) || { echo "make report: no $(VENV) yet; run \`make book\` or \`make test\` first (they install it)" >&2; exit 2; }
	@test -n "$(DATA)" -a -n "$(MODEL)" || { echo "make report needs DATA=folder:/path/to/images MODEL=/path/to/diffusers/pipeline (optional PROFILE=smoke|quick|paper, OUT=folder, DATA_OPTIONS='{\"task\": \"sr\", \"factor\": 4}')" >&2; exit 2; }
	$(PY) -m spectral_collapse report --data "$(DATA)" --model "$(MODEL)" --profile $(PROFILE) --jobs $(REPORT_JOBS) \
	  $(if $(OUT),--out "$(OUT)") $(if $(DATA_OPTIONS),--data-options '$(DATA_OPTIONS)') $(if $(CLUSTER),--cluster "$(CLUSTER)")

clean:
	rm -rf book/_build
