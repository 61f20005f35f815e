# LedgerSync: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_ENV := var/demo.env
DEMO_DB := var/demo.sqlite3
PORT ?= 8000
XERO_PORT ?= 8101
TIKTOK_PORT ?= 8102

.PHONY: demo test lint format bench clean venv

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Secrets for the demo only, generated once per checkout into var/ (ignored by git).
$(DEMO_ENV): | $(STAMP)
	mkdir -p var
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	print('SECRET_KEY=' + secrets.token_urlsafe(40)); print('CREDENTIALS_KEY=' + Fernet.generate_key().decode())" > $(DEMO_ENV)

# The sandbox servers, a django-q2 cluster and the admin, until Ctrl-C (the demo command starts
# and stops them all: reconciliation/demo/live.py).
demo: $(STAMP) $(DEMO_ENV)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm var/sandboxes/*.pickle
	set -a; . ./$(DEMO_ENV); set +a; export DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/$(DEMO_DB); \
	$(PY) manage.py migrate --no-input -v0 && \
	exec $(PY) manage.py demo --live --web-port $(PORT) --xero-port $(XERO_PORT) --tiktok-port $(TIKTOK_PORT)

# The suite honours DATABASE_URL (SQLite by default); CI runs it again on PostgreSQL.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run -v0
	DEBUG=1 $(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The orders benchmark gets a fresh database of its own (its maps would clash with the demo's).
# BENCH_DATABASE_URL=postgres://... runs both on PostgreSQL (the database is flushed first).
BENCH_ORDERS ?= 1000
# The map import benchmark: a generated SKU sheet of this many rows, as CSV and as XLSX.
BENCH_SHEET_ROWS ?= 50000
# The dashboard benchmark: the demo, then its postings copied up to this many.
BENCH_POSTINGS ?= 100000
BENCH_DATABASE_URL ?= sqlite:///$(CURDIR)/var/bench.sqlite3
bench: $(STAMP)
	mkdir -p var && rm -f var/bench.sqlite3
	export DEBUG=1 DATABASE_URL=$(BENCH_DATABASE_URL) \
	  CREDENTIALS_KEY=$$($(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"); \
	$(PY) manage.py migrate --no-input -v0 && $(PY) manage.py flush --no-input && \
	$(PY) manage.py bench --orders 0 && \
	rm -f var/bench.sqlite3 && $(PY) manage.py migrate --no-input -v0 && $(PY) manage.py flush --no-input && \
	$(PY) manage.py bench --only-orders --orders $(BENCH_ORDERS) && \
	$(PY) manage.py bench --only-sheets --sheet-rows $(BENCH_SHEET_ROWS) && \
	rm -f var/bench.sqlite3 && $(PY) manage.py migrate --no-input -v0 && $(PY) manage.py flush --no-input && \
	$(PY) manage.py bench --only-dashboard --postings $(BENCH_POSTINGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
