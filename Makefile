# Madoguchi — the two commands: `make run` (service + demo municipalities) and `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PYTEST_WORKERS ?= 2

.PHONY: setup system-deps run test test-fast lint bench check-deploy clean-testdbs

setup: system-deps $(PIP_STAMP) $(NPM_STAMP)

system-deps:
	@bash .ci/system-deps.sh

$(PIP_STAMP): pyproject.toml .ci/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c .ci/constraints.txt -e ".[dev]"
	@touch $(PIP_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NPM_STAMP)

## Start web + Celery worker + beat with two demo municipalities (falls back to embedded PostgreSQL/broker).
run: setup
	$(PY) -m madoguchi.launcher

## The whole test suite against the local PostgreSQL and Redis (started if they are down).
test: setup
	@bash .ci/services.sh
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run --settings=madoguchi.settings.test > /dev/null
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile -q

lint: setup
	$(VENV)/bin/ruff check .

check-deploy: setup
	DJANGO_SECRET_KEY=$$(openssl rand -base64 60 | tr -d '\n') MADOGUCHI_KEK=$$(openssl rand -base64 32) \
	  MADOGUCHI_AUDIT_SIGNING_KEY=$$(openssl rand -base64 32) \
	  DATABASE_URL=postgresql://madoguchi_app@db.invalid/madoguchi \
	  DATABASE_OWNER_URL=postgresql://madoguchi_owner@db.invalid/madoguchi \
	  MADOGUCHI_AUDIT_ANCHOR_URL=s3://madoguchi-audit-anchors/checkpoints \
	  $(PY) manage.py check --deploy --fail-level WARNING --settings=madoguchi.settings.production

bench: setup
	@bash .ci/services.sh
	$(PY) bench/provision_bench.py

clean-testdbs:
	@psql -h 127.0.0.1 -U postgres -Atc "select datname from pg_database where datname like 'test_madoguchi_%'" postgres \
	  | xargs -r -I{} psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS "{}"' postgres
