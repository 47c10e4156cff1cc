# Ducha — every target creates what it needs (virtualenv, Airflow home, data folders).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
DAYS ?= 10
INSPECTION ?= c3-hn-2024
SEED ?= 7
# The pages' ECharts and maps (scripts/vendor_assets.py), served by the app itself: no CDN.
ASSETS := include/ducha/web/static/vendor/.stamp

# One project-local Airflow home and data root, shared by demo, airflow and the CLI.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Asia/Shanghai
export DUCHA_DATA_DIR ?= $(CURDIR)/data
export PATH := $(BIN):$(PATH)

.PHONY: help install install-dev assets browser airflow-home demo test lint format lock lock-check airflow bench clean

help:
	@echo "make demo    - sample inspection through the real DAGs on SQLite; prints where the tables are"
	@echo "make test    - unit, DAG and end-to-end tests (PostgreSQL tests need 127.0.0.1:5432)"
	@echo "make airflow - Airflow UI (standalone) on http://localhost:8080 with the same home"
	@echo "make lint    - ruff;  make lock - refresh constraints.txt;  make bench - benchmarks"
	@echo "make assets  - ECharts and the province maps for the pages, from pinned npm/PyPI packages"

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The sample generator (tools/ducha_sample): a development tool beside the runtime package.
$(VENV)/.installed-tools: $(VENV)/.installed tools/pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e tools
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-tools requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

# Pinned npm/PyPI archives, checked against their pinned hashes; a no-op while the stamp
# records the same versions.
$(ASSETS): scripts/vendor_assets.py $(VENV)/.installed
	$(BIN)/python scripts/vendor_assets.py
	touch $@

assets: $(ASSETS)
install: $(VENV)/.installed $(ASSETS)
install-dev: $(VENV)/.installed-dev

$(AIRFLOW_HOME)/.migrated: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/migrate.log; exit 1)
	touch $@

# The pool of the tasks that write the warehouse: one at a time on the embedded SQLite.
$(AIRFLOW_HOME)/.pools: $(AIRFLOW_HOME)/.migrated
	$(BIN)/airflow pools set ducha_warehouse_writers 1 "Ducha tasks that write the warehouse" > $(AIRFLOW_HOME)/pools.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/pools.log; exit 1)
	touch $@

airflow-home: $(ASSETS) $(AIRFLOW_HOME)/.migrated $(AIRFLOW_HOME)/.pools

demo: airflow-home $(VENV)/.installed-tools
	$(BIN)/python scripts/demo.py "$(INSPECTION)" "$(DAYS)" "$(SEED)"

# The pages' browser tests drive Debian's chromium (CJK fonts for readable screenshots);
# installed here when missing and we may (root), else the tests say how and skip.
browser:
	@command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    mkdir -p build; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) > build/browser-install.log 2>&1 \
	      || (tail -20 build/browser-install.log; echo "chromium not installed: the browser tests will skip (fail in CI)"); \
	  else echo "browser tests need Debian's chromium and fonts-noto-cjk (apt-get install chromium fonts-noto-cjk)"; fi

# The slowest tests are listed at the end: the suite must stay well under 20 minutes.
# It runs on TEST_WORKERS processes (pytest-xdist), a test module to a process, so a
# module's Airflow home or warehouse is set up once; most of the long tests wait on
# Airflow's services, not on a core. Then the tests marked exclusive run alone (one
# restarts PostgreSQL, one forces a scheduler race that another test's load can make it
# miss); exit status 5 is "none selected" (PYTEST_ARGS -k ...).
PYTEST_ARGS ?= --durations=30
TEST_WORKERS ?= 2
test: install-dev $(ASSETS) browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not exclusive" $(PYTEST_ARGS)
	$(BIN)/pytest -m exclusive $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The full lock: every package at the version CI tested.
lock: install-dev
	$(BIN)/pip freeze --exclude-editable | grep -v '^ducha' | LC_ALL=C sort > constraints.txt

lock-check: install-dev
	@diff <($(BIN)/pip freeze --exclude-editable | grep -v '^ducha' | LC_ALL=C sort) constraints.txt \
	  && echo "constraints.txt matches the installed environment"

airflow: airflow-home
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:8080/execution/ $(BIN)/airflow standalone

bench: install-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .airflow data .pytest_cache .ruff_cache include/ducha/web/static/vendor
