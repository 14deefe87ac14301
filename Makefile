# Two commands for a fresh machine: `make serve` and `make test`.
# Both create the virtual environment (.venv) and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): most tests wait on servers and clusters, so two share 2 cores
# well; a module's tests stay in one process (--dist loadfile: its fixtures start once).
TEST_PROCESSES ?= 2

.PHONY: serve test lint demo-data compliance clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/openeo-dedl serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	scripts/ensure-postgres.sh
	scripts/ensure-node.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

demo-data: $(BIN)/.installed
	$(BIN)/openeo-dedl demo-data

# Runs the openEO compliance suite against a fresh server and rewrites docs/compliance.md.
compliance: $(BIN)/.installed
	$(BIN)/python -m tests.compliance.report

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
