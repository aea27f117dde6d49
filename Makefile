# MoE log g book — the two commands of the contract are `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN ?= default
NOISE ?=
NOTEBOOKS ?=

.PHONY: help venv test lint pytest book run data lab grid benchmark clean clean-runs

help:
	@echo "make book      build the HTML book on the embedded data (runs every notebook)"
	@echo "make test      lint + unit tests + small notebook runs"
	@echo "make data      write data/default/{train,val,test}/dataset.h5 from the committed grid"
	@echo "make run RUN=name NOISE=0.35   execute the notebooks at new parameters into runs/<name>"
	@echo "make lab       open JupyterLab on the notebooks"
	@echo "make benchmark run the performance benchmarks in benchmarks/"

# The virtual environment is (re)installed whenever the pinned requirements change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (moehelpers)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

pytest: $(STAMP)
	$(VENV)/bin/pytest

test: lint pytest

data: $(STAMP)
	$(PY) -m moehelpers data

book: $(STAMP)
	$(PY) -m moehelpers book --run $(RUN)

run: $(STAMP)
	$(PY) -m moehelpers run --name $(RUN) $(if $(NOISE),--noise $(NOISE)) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS))

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Rebuilding the grid takes hours and needs SME; the result is committed under data/grid/.
grid: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-grid.txt
	$(PY) tools/build_grid.py fetch
	$(PY) tools/build_grid.py prepare
	$(PY) tools/build_grid.py build --workers 2
	$(PY) tools/build_grid.py assemble

# One command each (see README); records go to benchmarks/results/, the scaling page plots
# them. book_time reads runs/$(RUN)/run.json when a run exists instead of rebuilding the
# book, else times `python -m moehelpers book` end to end.
benchmark: $(STAMP)
	$(PY) benchmarks/ridge_path.py
	$(PY) benchmarks/stream_fit.py
	@if [ -f runs/$(RUN)/run.json ]; then $(PY) benchmarks/book_time.py --from-run $(RUN); \
	else $(PY) benchmarks/book_time.py; fi

clean:
	rm -rf _build

clean-runs:
	rm -rf runs
