# dancu: `make demo` runs the platform with demo data; `make test` runs every check CI runs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# One test process per core (pytest-xdist); each has its own test database, on SQLite and PostgreSQL.
# Each pass ends by naming its fifteen slowest tests: CI's time is kept under 30 minutes, and on a slow
# machine those are where to look first.
PYTEST := $(BIN)/pytest -p no:cacheprovider -n auto --durations=15

.PHONY: demo test install lint typecheck migrations-check test-sqlite test-postgres coverage serve clean

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

# The domain code: every write (services), every read (selectors, scopes) and the domain-free library.
DOMAIN_CODE := src/dancu/*/services.py,src/dancu/*/services/*.py,src/dancu/*/selectors.py,src/dancu/*/*/selectors.py,src/dancu/*/scope.py,src/dancu/lib/*.py

# Both passes of `make test` under coverage, combined (pyproject.toml, [tool.coverage.run]): the lines no
# test runs, file by file, then the domain code alone. Not part of `make test`: measuring makes the passes
# about 40 % longer, and CI must end within 30 minutes.
coverage: $(STAMP)
	scripts/ensure-chromium
	$(BIN)/coverage erase
	$(PYTEST) --cov --cov-report=
	scripts/with-postgres $(PYTEST) -m "not one_database" --cov --cov-append --cov-report=
	$(BIN)/coverage report --skip-covered --sort=cover --show-missing
	$(BIN)/coverage report --skip-covered --show-missing --include='$(DOMAIN_CODE)'

clean:
	rm -rf $(VENV) var/*.sqlite3*
