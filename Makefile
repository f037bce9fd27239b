# `make` builds .venv with horde installed editable, the hot path compiled with
# mypyc when a C compiler is there (docs/dev/compiled.md); `make demo` and
# `make test` build it first too. PYTHON may name any interpreter >= 3.11.
# HORDE_BUILD=pure|compiled|auto (default auto) is read by the build and at run time.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The compiled modules and every source whose hash the build records: when one
# of them is newer than the last build, `make` compiles again (an edited hot
# path would otherwise run as pure Python, with a warning, until rebuilt).
BUILT := $(VENV)/.built
HOT := $(wildcard horde/*.py horde/http/*.py horde/stats/*.py) setup.py

.PHONY: all demo test lint typecheck bench clean

all: $(BUILT)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "horde needs Python 3.11 or newer on PATH (or PYTHON=/path/to/python3.11)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)
	touch $(BUILT)

$(BUILT): $(STAMP) $(HOT)
	@$(BIN)/horde --version 2>/dev/null | grep -q "(compiled with" \
	    || $(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/horde --version
	touch $(BUILT)

demo: $(BUILT)
	$(BIN)/horde demo

# The suite against both builds, under 10 minutes: with a compiled build, all of
# it compiled, then once more in pure Python without the tests marked `process`
# (real horde processes and browsers, tests/conftest.py), which exercise process
# plumbing rather than the hot path. Without one (no C compiler, or
# HORDE_BUILD=pure), all of it in pure Python, once.
# The suite mostly waits on real processes, so it runs in TEST_JOBS pytest-xdist
# workers (tests/conftest.py says how tests are grouped and ordered for them);
# TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= 3
PYTEST := $(BIN)/python -m pytest -q $(if $(filter-out 0,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder)

test: $(BUILT)
	@if [ "$$HORDE_BUILD" != pure ] && HORDE_BUILD=auto $(BIN)/horde --version 2>/dev/null \
	        | grep -q "(compiled with"; then \
	    echo "== tests 1/2: compiled build (HORDE_BUILD=compiled), the whole suite"; \
	    HORDE_BUILD=compiled $(PYTEST); first=$$?; \
	    echo "== tests 2/2: pure Python (HORDE_BUILD=pure), without the 'process' tests"; \
	    HORDE_BUILD=pure $(PYTEST) -m "not process"; second=$$?; \
	    if [ $$first != 0 ]; then exit $$first; fi; exit $$second; \
	elif [ "$$HORDE_BUILD" = compiled ]; then \
	    echo "HORDE_BUILD=compiled, but: $$(HORDE_BUILD=auto $(BIN)/horde --version)" >&2; exit 2; \
	else \
	    echo "== tests: pure Python ($$(HORDE_BUILD=auto $(BIN)/horde --version 2>&1)), the whole suite"; \
	    HORDE_BUILD=pure $(PYTEST); \
	fi

lint: $(STAMP)
	$(BIN)/ruff check horde tests bench
	$(BIN)/mypy

bench: $(BUILT)
	$(BIN)/python bench/record_cost.py

clean:
	rm -rf $(VENV) build *.egg-info horde/_compiled.json
	find horde -name '*.so' -delete
