# dancu: `make demo` runs the platform with demo data; `make test` runs every check CI runs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# One test process per core (pytest-xdist); each has its own test database, on SQLite and PostgreSQL.
PYTEST := $(BIN)/pytest -p no:cacheprovider -n auto

.PHONY: demo test install lint typecheck migrations-check test-sqlite test-postgres serve clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dancu demo

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

migrations-check: $(STAMP)
	DANCU_VAR_DIR=$$(mktemp -d) $(BIN)/dancu makemigrations --check --dry-run

test-sqlite: $(STAMP)
	scripts/ensure-chromium
	$(PYTEST)

# Tests marked one_database prove nothing PostgreSQL could change: those that touch no database and the
# browser tests (both marked in tests/conftest.py), the demo's (`make demo` runs on SQLite) and the Spark
# backend against DuckDB's (two minutes of a JVM). The SQLite pass runs them.
test-postgres: $(STAMP)
	scripts/with-postgres $(PYTEST) -m "not one_database"

test: lint typecheck migrations-check test-sqlite test-postgres

clean:
	rm -rf $(VENV) var/*.sqlite3*
