# oncall-sync: `make demo` runs one sync on the embedded defaults, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export GX_ANALYTICS_ENABLED := false
export PYTHONPATH := $(CURDIR)/include

.PHONY: venv test test-fast test-production test-browser screenshots check lint typecheck demo airflow bench migrate lock clean

# The virtualenv is rebuilt whenever requirements.txt or pyproject.toml changes.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==26.3
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# The whole suite. The production shape and the browser journeys run in a second pytest process:
# Playwright's sync API keeps an event loop running in its process, which later asyncio.run()
# calls would trip over. They skip, saying why, without PostgreSQL (ONCALL_SYNC_TEST_PG_DSN),
# Redis or Chromium.
test: $(STAMP)
	$(BIN)/pytest -q -m "not production and not browser"
	$(BIN)/pytest -q -m "production or browser"

# Everything but the production shape and the browser journeys (minutes faster while developing).
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not production and not browser"

# docker-compose.yaml's services started natively (needs PostgreSQL and Redis on 127.0.0.1, and
# ONCALL_SYNC_TEST_PG_DSN): a sync through the REST API, a worker killed mid-extract. ~4 min.
test-production: $(STAMP)
	$(BIN)/pytest -q -m production tests/production

# The operator's and analyst's journeys in headless Chromium (apt: chromium) on the production
# shape, and `make airflow`; screenshots of each step in build/browser/. Needs what
# test-production needs. ~8 min.
test-browser: $(STAMP)
	$(BIN)/pytest -q -m browser tests/browser

# The journeys again, their screenshots published into docs/images/journey/ for docs/operating.md.
screenshots: $(STAMP)
	rm -rf build/browser
	$(BIN)/pytest -q -m browser tests/browser/test_journeys.py
	$(BIN)/python -m tests.browser.screenshots

lint: $(STAMP)
	$(BIN)/ruff check include dags plugins tests bench
	$(BIN)/ruff format --check include dags plugins tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# MAIL=1: invitations are mailed to a local mail sink (var/mail/) and the report counts them.
demo: $(STAMP)
	$(BIN)/python -m oncall_sync.demo $(if $(MAIL),--mail)

airflow: $(STAMP)
	$(BIN)/python -m oncall_sync.demo --standalone

bench: $(STAMP)
	$(BIN)/python -m bench

migrate: $(STAMP)
	$(BIN)/python -m oncall_sync.store migrate

# Re-resolve requirements.in into exact pins (needs the package index).
lock:
	rm -rf /tmp/oncall-sync-lock && $(PYTHON) -m venv /tmp/oncall-sync-lock
	/tmp/oncall-sync-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Exact pins of every package, generated from requirements.in by 'make lock'. Python 3.11."; \
	  /tmp/oncall-sync-lock/bin/pip freeze; } > requirements.txt

clean:
	rm -rf $(VENV) airflow_home staging .pytest_cache .mypy_cache .ruff_cache
