# Two commands do all the set-up on a fresh machine:
#   make test   -- create .venv (if missing or pyproject.toml changed), run the whole test suite
#   make demo   -- create .venv, run the main job on a shipped example
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.hwgen-installed
JOBS   ?= auto

.PHONY: venv test demo lint clean train-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal -q -ra tests

lint: $(STAMP)
	$(BIN)/ruff check hwgen sim boards tests benchmarks examples

demo: $(STAMP)
	$(BIN)/hwgen doctor
	$(BIN)/python examples/demo.py

# Optional: the environment that trains and exports the example models (torch, brevitas).
TRAIN_VENV := .venv-train
train-venv: $(TRAIN_VENV)/.installed
$(TRAIN_VENV)/.installed: pyproject.toml
	@test -x $(TRAIN_VENV)/bin/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[train]'
	@touch $@

clean:
	rm -rf $(VENV) $(TRAIN_VENV) .pytest_cache build *.egg-info
