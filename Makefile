# LabNet: `make run` (the demo platform on SQLite) and `make test` (the test suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := labnet:create_app

.PHONY: venv run test test-postgres test-browser test-all bench bench-bookings lint clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

## The demo platform: migrate the SQLite database under instance/, load the demo data
## the first time, print the demo accounts, serve http://127.0.0.1:$(PORT) with the job
## scheduler beside it. The scheduler is started here, once, outside the server (which runs
## without the reloader, so nothing starts twice: RELIABILITY §2.2.1), and is stopped when
## the server stops. Both build e-mailed links from LABNET_BASE_URL (the server's address).
run: export LABNET_BASE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	$(BIN)/flask db upgrade
	$(BIN)/flask labnet seed-demo --if-empty
	$(BIN)/flask labnet demo-accounts
	@$(BIN)/flask labnet scheduler & sched=$$!; \
	trap 'kill $$sched 2>/dev/null; wait $$sched 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --no-reload --host 127.0.0.1 --port $(PORT)

## The default suite: SQLite, real SMTP on loopback; no PostgreSQL, no browser.
test: venv
	$(BIN)/pytest

## The whole suite (browser tests aside) against the local PostgreSQL server.
test-postgres: venv
	LABNET_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -m "not browser"

## Chromium driven by Playwright (needs Debian's chromium at /usr/bin/chromium).
test-browser: venv
	$(BIN)/pytest -m browser

test-all: test test-postgres test-browser

## Benchmarks: JSON ratios against the trivial route, SQL queries per page at two scales.
bench: venv
	$(BIN)/python -m benchmarks.run

## Booking benchmarks: availability, booking requests, the manager's queue and /labs with
## the availability filter, against /ping, with 10,000 and 1,000,000 bookings.
bench-bookings: venv
	$(BIN)/python -m benchmarks.bookings

lint: venv
	$(BIN)/ruff check labnet tests benchmarks migrations

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
