# MoE log g book — the two commands of the contract are `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN ?=
NOISE ?=
NOTEBOOKS ?=
FLUX_KIND ?=

.PHONY: help venv test lint pytest book book-html check-html run data lab grid benchmark clean clean-runs clean-stats

help:
	@echo "make book      build the HTML book on the embedded data (runs every notebook)"
	@echo "make test      lint + unit tests + small notebook runs"
	@echo "make data      write data/default/{train,val,test}/dataset.h5 from the committed grid"
	@echo "make run NOISE=0.35 [RUN=name] execute the notebooks at new parameters into runs/<name>"
	@echo "                (RUN defaults to noise0.35; without NOISE to default)"
	@echo "make run FLUX_KIND=distorted RUN=continuum  the same models on spectra whose"
	@echo "                continuum shape is randomly distorted (or normalized: divided by it)"
	@echo "make book-html rebuild the HTML from the runs present (no notebook executed)"
	@echo "make check-html open the built book offline in headless Chromium (plots, math, console)"
	@echo "make lab       open JupyterLab on the notebooks"
	@echo "make benchmark run the performance benchmarks in benchmarks/"
	@echo "make clean-stats delete the statistics store (data/cache/stats or \$$MOE_STATS_DIR)"

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

# Two pytest workers with one BLAS thread each (the two cores, no oversubscription); the
# tests that read the executed tiny notebooks share one worker (tests/conftest.py).
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup

test: lint pytest

data: $(STAMP)
	$(PY) -m moehelpers data

book: $(STAMP)
	$(PY) -m moehelpers book --run $(or $(RUN),default)

book-html: $(STAMP)
	$(PY) -m moehelpers book --no-execute

check-html: $(STAMP)
	$(PY) -m moehelpers check-html

run: $(STAMP)
	$(PY) -m moehelpers run $(if $(RUN),--name $(RUN)) $(if $(NOISE),--noise $(NOISE)) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS)) $(if $(FLUX_KIND),-p flux_kind=$(FLUX_KIND))

# JUPYTER_PATH first: the venv's "python3" kernel (the one papermill uses) wins over any
# user-level kernel of the same name. JupyterLab refuses to run as root without
# --allow-root (containers, CI); the flag is added only when the effective uid is 0.
LAB_ARGS ?=
lab: $(STAMP)
	JUPYTER_PATH=$(CURDIR)/$(VENV)/share/jupyter $(VENV)/bin/jupyter lab notebooks/$(if $(filter 0,$(shell id -u)), --allow-root) $(LAB_ARGS)

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
	$(PY) benchmarks/gram_rate.py
	$(PY) benchmarks/stream_fit.py
	@if [ -f runs/$(or $(RUN),default)/run.json ]; then $(PY) benchmarks/book_time.py --from-run $(or $(RUN),default); \
	else $(PY) benchmarks/book_time.py; fi

clean:
	rm -rf _build

clean-runs:
	rm -rf runs

# The statistics store (stored Ridge paths shared by the notebooks of every run; safe to
# delete at any time: entries are recomputed on the next miss).
clean-stats:
	rm -rf $${MOE_STATS_DIR:-data/cache/stats}
