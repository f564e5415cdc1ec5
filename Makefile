# llmlab: `make lab` to learn, `make test` to check. Both create/reuse .venv and reinstall
# the project only when pyproject.toml changed (stamp file inside .venv).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.llmlab-installed
# The legacy SDK world (anthropic 0.x / openai 2.x on httpx): `make test-legacy`, run by CI too.
LEGACY_VENV  := .venv-legacy
LEGACY_PY    := $(LEGACY_VENV)/bin/python
LEGACY_STAMP := $(LEGACY_VENV)/.llmlab-installed

.DEFAULT_GOAL := help
.PHONY: help lab test test-legacy lint labs check-labs solutions banners clean venv node-clients

help:
	@echo "make lab        start JupyterLab on labs/ (http://127.0.0.1:8888)"
	@echo "make test       lint, type-check, unit tests, and run every notebook"
	@echo "make test-legacy  unit tests + solutions/ under the legacy SDKs (anthropic 0.x, openai 2.x)"
	@echo "make lint       ruff + mypy only"
	@echo "make labs       regenerate labs/ from solutions/"
	@echo "make solutions  re-execute solutions/ in place to refresh their stored outputs"
	@echo "make banners    re-measure the cost/time banner atop each solution (then make labs)"
	@echo "make clean      remove caches and build leftovers (keeps .venv)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "llmlab needs Python 3.11+; '$(PYTHON)' is older (try: make PYTHON=python3.12 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# postBuild (what Binder runs) also sets up this venv's JupyterLab: no news pop-up, no
# update check, labs/ as the front page. Its install step is for images only.
$(STAMP): pyproject.toml constraints/current.txt postBuild | $(PY)
	$(PY) -m pip install -e ".[test,frameworks]" -c constraints/current.txt
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" LLMLAB_POSTBUILD_SKIP_INSTALL=1 bash postBuild
	@touch $(STAMP)

venv: $(STAMP)

$(LEGACY_PY):
	$(PYTHON) -m venv $(LEGACY_VENV)

$(LEGACY_STAMP): pyproject.toml constraints/legacy.txt | $(LEGACY_PY)
	$(LEGACY_PY) -m pip install -e ".[test]" -c constraints/legacy.txt
	@touch $(LEGACY_STAMP)

# Loopback only. Root is refused by Jupyter unless asked; containers often run as root.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab labs/ --ServerApp.ip=127.0.0.1 \
		$(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP) node-clients
	PY=$(PY) bash tests/run_all.sh

# The official Node SDKs that tests/sim/test_node_clients.py points at the HTTP simulator
# (versions pinned in tests/node/package-lock.json). Without npm those tests skip, saying why.
NODE_STAMP := tests/node/node_modules/.llmlab-installed
node-clients: $(NODE_STAMP)
$(NODE_STAMP): tests/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/node --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the Node SDK client tests will be skipped"; fi

# The same checks in the legacy world, less what does not depend on the SDKs (lint, the
# browser, labs/): unit tests and the strict nbval of solutions/.
test-legacy: $(LEGACY_STAMP)
	PY=$(LEGACY_PY) LLMLAB_WORLD=legacy bash tests/run_all.sh

lint: $(STAMP)
	$(PY) -m ruff check llmlab tests
	$(PY) -m mypy llmlab

labs: $(STAMP)
	$(PY) -m llmlab.notebooks build

check-labs: $(STAMP)
	$(PY) -m llmlab.notebooks check

# Stored outputs are what nbval compares against: produce them under the same settings as
# `make test` (fast simulator clock, inline matplotlib).
solutions: $(STAMP)
	@set -e; nbs=$$(find solutions -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort); \
	if [ -z "$$nbs" ]; then echo "no notebooks in solutions/ yet"; exit 0; fi; \
	LLMLAB_TIME_SCALE=0.05 MPLBACKEND=module://matplotlib_inline.backend_inline \
		$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $$nbs

# Executes each solution twice (time scale 1.0 for the learner's runtime, 0.05 for the stored
# outputs and the billed figure) and rewrites its banner; one notebook:
# `$(PY) -m llmlab.notebooks banner solutions/NN_x.ipynb` (add --reuse-runtime to skip the slow run).
banners: $(STAMP)
	$(PY) -m llmlab.notebooks banner

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .benchmarks test-artifacts build *.egg-info
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) \
		-type d -print0 | xargs -0 rm -rf
