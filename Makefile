# The two commands: `make run` (the playground on this machine) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
API_PORT ?= 6443

.PHONY: run test lint bench services install install-dev clean assets

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Embedded mode: SQLite in ./var, no Redis. A demo user "demo" with a cluster "demo" and a kubeconfig
# (var/demo.kubeconfig) naming the API port serve listens on: `make run API_PORT=…` changes both.
run: $(VENV)/.dev
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --api-port $(API_PORT)
	$(PY) manage.py serve --http-port $(PORT) --api-port $(API_PORT)

# PostgreSQL and Redis started if they are not running; the linters (ruff, the import contracts of
# pyproject.toml); the front end's pure logic with Node's test runner; the whole suite against real kubectl.
test: $(VENV)/.dev services
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	node --test frontend/test/*.test.mjs
	PLAYGROUND_TEST_DATABASE=postgres $(PY) -m pytest

services:
	scripts/services.sh

# The linters alone (make test runs them too); `ruff check --fix .` mends what it can.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: $(VENV)/.dev services
	$(PY) bench/api_latency.py
	$(PY) bench/cluster_create.py
	$(PY) bench/engine.py
	$(PY) bench/network.py
	$(PY) bench/page_apply.py
	$(PY) bench/live_fanout.py
	$(PY) bench/autoscaling.py
	$(PY) bench/lessons.py
	$(PY) bench/lessons.py --classroom
	$(PY) bench/classroom_grid.py
	$(PY) bench/classroom.py

# The cluster page's front end (frontend/ → static/dist, committed): only needed after changing frontend/.
assets:
	cd frontend && npm ci && npm run build

clean:
	rm -rf var .pytest_cache
