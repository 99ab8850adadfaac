# One entry point: every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_FACES ?= ../shared/data/faces
# The bundle's own build environment (CPU-only torch), created by packaging/build_bundle.sh.
BUNDLE_VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/faceorganizer/bundle-venv-cpu

.PHONY: run test test-fast lint bench clean venv package test-bundle install-desktop \
	uninstall-desktop

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
	$(BIN)/ruff check faceorganizer tests benchmarks packaging
	$(BIN)/ruff format --check faceorganizer tests benchmarks packaging
	$(BIN)/lint-imports
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The fast tier, chosen by need: every test that loads no real model and reads no shared photo
# (fakes and generated files; markers in tests/helpers/needs.py), no ../shared needed, under a
# minute; tests marked slow (tens of seconds each) are left to make test.
FAST_TIER := not real_model and not shared_photos and not bundle and not slow

test-fast: $(STAMP)
	$(BIN)/ruff check faceorganizer tests benchmarks packaging
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "$(FAST_TIER)" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check faceorganizer tests benchmarks packaging
	$(BIN)/ruff format --check faceorganizer tests benchmarks packaging
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py

# The one-folder desktop bundle, dist/FaceOrganizer/ (its own build environment, not .venv).
package:
	PYTHON=$(PYTHON) BUNDLE_VENV=$(BUNDLE_VENV) bash packaging/build_bundle.sh

# The tests of the built bundle: here a missing or stale bundle fails them (`make test` skips
# them then).
test-bundle: $(STAMP)
	QT_QPA_PLATFORM=offscreen FACEORGANIZER_REQUIRE_BUNDLE=1 \
		$(BIN)/python -m pytest -q tests/packaging/test_bundle.py

# The app in the current user's application menu, running this checkout's .venv.
install-desktop: $(STAMP)
	$(BIN)/python packaging/stage_desktop_files.py build/desktop
	sh packaging/install-desktop.sh --from build/desktop/share --exec "$(abspath $(BIN))/faceorganizer"

uninstall-desktop:
	sh packaging/install-desktop.sh --uninstall

clean:
	rm -rf $(VENV) build dist *.egg-info
