# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint types unit faults bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reconcile demo

# The three at once: mypy (a fresh clone has no cache) and the unit tests' waits leave a core free often enough
# that the checks cost little wall time beside the tests. Each one's output is printed whole when it ends.
test: $(STAMP)
	@$(MAKE) --no-print-directory --output-sync=target -j3 lint types unit

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

# Bytecode compiled once, first: where PYTHONDONTWRITEBYTECODE is set, every test worker and every command line
# a test starts in a process of its own would compile our 300 modules again (a quarter of its start-up).
unit: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 src tests bench
	$(BIN)/pytest -q

# The fault-injection suite (tests/faults): 560 seeded trials, apart from `make test`, which runs a sample.
faults: $(STAMP)
	$(BIN)/python -m tests.faults --markdown

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .reconcile .mypy_cache .ruff_cache .pytest_cache
