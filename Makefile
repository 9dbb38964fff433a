# Two entry points: `make demo` (set up + main job) and `make test` (set up + tests).
# Each installs what it needs into one local .venv, and only when pyproject.toml or constraints.txt change:
#   demo: seqprep with [torch,plot] (the CNN-LSTM and the HTML report), nothing else
#   test: everything the tests import: [all,dev,tf] (TensorFlow for the Keras-on-TensorFlow tests)
#   bench: [all,bench]
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --progress-bar on -c constraints.txt

.PHONY: setup demo test lint bench clean

$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing seqprep[torch,plot] for the demo (torch CPU build, matplotlib; a few minutes the first time)"
	$(PIP) -e ".[torch,plot]"
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing seqprep[all,dev,tf] for the tests (torch, keras, TensorFlow, dask, pytest, ...)"
	$(PIP) -e ".[all,dev,tf]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing seqprep[all,bench] for the benchmarks"
	$(PIP) -e ".[all,bench]"
	touch $@

setup: $(VENV)/.installed-test

demo: $(VENV)/.installed-demo
	$(BIN)/seqprep demo
	@echo "==> the run directory and its report.html are under runs/demo (runs/demo-<time> when runs/demo exists)"

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy
	KERAS_BACKEND=torch $(BIN)/python -m pytest -q -n 2

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
