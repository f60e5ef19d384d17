# The two commands of the README: `make run` (the portal with demo data) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

export SESAME_DEV ?= 1
export DATABASE_URL ?= postgres://sesame:sesame@127.0.0.1:54329/sesame
export REDIS_URL ?= redis://127.0.0.1:63799/0
export PYTHONUNBUFFERED := 1

.PHONY: help setup run test lint bench services-down messages

help:
	@echo "make run   - the portal with demo data on http://127.0.0.1:8000 (FRONT_PORT)"
	@echo "make test  - the whole suite in parallel, ruff and check --deploy"
	@echo "make bench - the benchmarks, figures written to docs/PERFORMANCE.md"

$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	@.venv/bin/pip install -q --disable-pip-version-check --upgrade pip
	@.venv/bin/pip install -q --disable-pip-version-check ".[dev]"
	@rm -f .venv/.installed-*; touch $@

setup: $(VENV_STAMP)

run: setup
	@exec $(PY) scripts/run.py

test: setup
	@exec $(PY) scripts/suite.py $(PYTEST_ARGS)

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/mypy sesame gun tracking notifications appointments dossier

bench: setup
	@$(PY) scripts/services.py up --nginx
	@$(PY) -m bench

messages: setup
	@$(PY) manage.py makemessages -l fr -l en --ignore=.venv --ignore=.local --ignore=tests --ignore=bench --no-obsolete
	@$(PY) scripts/catalogue_fill.py $(FRENCH) || echo 'translate the strings above in locale/fr'
	@$(PY) manage.py compilemessages --ignore=.venv

services-down:
	@$(PY) scripts/services.py down
