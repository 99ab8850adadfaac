# One entry point: every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_FACES ?= ../shared/data/faces

.PHONY: run test test-fast lint bench clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/faceorganizer gui $(PHOTOS)

test: $(STAMP)
	@test -d $(SHARED_FACES) || { echo "missing $(SHARED_FACES): the real-photo tests need it"; exit 2; }
	$(BIN)/ruff check faceorganizer tests benchmarks
	$(BIN)/ruff format --check faceorganizer tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The fast tier: fake models and generated photos, no ../shared needed, under a minute.
test-fast: $(STAMP)
	$(BIN)/ruff check faceorganizer tests benchmarks
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check faceorganizer tests benchmarks
	$(BIN)/ruff format --check faceorganizer tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
