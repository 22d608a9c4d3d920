# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint typecheck imports bench bench-queue bench-kb bench-filing bench-reports bench-dashboard bench-worker-kill bench-broker bench-policy-move messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py rundev

test: $(VENV)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy .

# The apps depend in one direction: the layers contract in pyproject.toml [tool.importlinter].
imports: $(VENV)/.installed
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench_calendar

# Needs PostgreSQL: seeds 1,000,000 tickets over 100 tenants into its own database once
# (about 3 minutes), then measures the queue, the breach sweep and a calendar edit.
BENCH_DB ?= supportdesk_bench
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/$(BENCH_DB)
bench-queue: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(BENCH_DB) 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=1 $(PY) manage.py seed_load --tenants 100 --tickets 1000000 --big-open 100000 || echo "(load data already seeded)"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m benchmarks.bench_queue

# Needs PostgreSQL: 2 x 10,000 articles in their own database (seeded on the first run), then
# suggest and search in-process and over HTTP (gunicorn on a loopback port), beside the old query.
BENCH_KB_DB ?= supportdesk_bench_kb
bench-kb: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(BENCH_KB_DB) 2>/dev/null || true
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_KB_DB) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_KB_DB) $(PY) -m benchmarks.bench_kb

# Needs PostgreSQL and Redis: files tickets by the portal API at 8 and 32 connections (gunicorn
# on a loopback port), beside the counter locked for the whole filing; checks gap-free numbers.
BENCH_FILING_DB ?= supportdesk_bench_filing
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/15
bench-filing: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(BENCH_FILING_DB) 2>/dev/null || true
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_FILING_DB) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_FILING_DB) REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m benchmarks.bench_filing

# Needs the load data of bench-queue (seeded there once): the monthly report of a small and
# the big tenant inside the 1,000,000-ticket database, beside the old join.
bench-reports: $(VENV)/.installed
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m benchmarks.bench_reports

# Needs PostgreSQL: a database of its own, emptied and seeded on each run (about a minute):
# the dashboard and the biggest organisation's report page of a tenant with 100,000 tickets in
# the month, then the monthly task for BENCH_DASHBOARD_TENANTS of 100 small tenants (each takes
# about half a minute today, mostly WeasyPrint), beside per-ticket baselines. BENCH_PROFILE=1
# adds a cProfile top 10 of the report page and of one tenant's task.
BENCH_DASHBOARD_DB ?= supportdesk_bench_dashboard
BENCH_DASHBOARD_TENANTS ?= 100
bench-dashboard: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(BENCH_DASHBOARD_DB) 2>/dev/null || true
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_DASHBOARD_DB) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_DASHBOARD_DB) $(PY) -m benchmarks.bench_dashboard $(BENCH_DASHBOARD_TENANTS)

# Needs PostgreSQL and both brokers: kill -9s Celery workers on each broker while they send
# 1,000 notice mails, and prints recovery times and duplicates side by side (about 5 minutes).
BENCH_KILL_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/supportdesk_bench_kill
BENCH_BROKERS ?= amqp://guest:guest@127.0.0.1:5672// redis://127.0.0.1:6379/1
bench-worker-kill: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(notdir $(BENCH_KILL_DATABASE_URL)) 2>/dev/null || true
	DATABASE_URL=$(BENCH_KILL_DATABASE_URL) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_KILL_DATABASE_URL) $(PY) -m benchmarks.bench_worker_kill $(BENCH_BROKERS)

# Needs nothing running: on a temporary SQLite database and data folder, a 30 s filing burst
# over the portal API (gunicorn on a loopback port) with the worker and beat `make run` starts,
# then the time until the filesystem broker is empty, beside the old polling (about 6 minutes).
bench-broker: $(VENV)/.installed
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(PY) -m benchmarks.bench_embedded_broker

# Needs PostgreSQL: open tickets moving to another SLA policy after a plan change, the bulk
# path beside the one-by-one move, in a database of its own emptied on each run.
BENCH_MOVE_DB ?= supportdesk_bench_move
bench-policy-move: $(VENV)/.installed
	createdb -h 127.0.0.1 -U postgres $(BENCH_MOVE_DB) 2>/dev/null || true
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_MOVE_DB) DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_MOVE_DB) $(PY) -m benchmarks.bench_policy_move

messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l sv -l nl --ignore=.venv --ignore=data
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) data
