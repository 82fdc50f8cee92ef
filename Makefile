# LabNet: `make run` (the demo platform on SQLite) and `make test` (the test suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := labnet:create_app

.PHONY: venv venv-run run test test-slow test-postgres test-browser test-all lint typecheck \
	lock bench bench-bookings load load-host clean vnu messages translations lighthouse

## Installs come from the lock files in requirements/ (pip-compile from pyproject.toml's
## ranges; `make lock` writes them again), then LabNet itself without dependencies.
## `make run` needs only what the app needs; the tests add the test, browser and dev tools.
$(VENV)/.created:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	touch $@

$(VENV)/.installed-run: $(VENV)/.created requirements/run.txt pyproject.toml
	$(BIN)/pip install -q -r requirements/run.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed: $(VENV)/.created requirements/dev.txt pyproject.toml
	$(BIN)/pip install -q -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed-run

venv-run: $(VENV)/.installed-run
venv: $(VENV)/.installed

## The demo platform: migrate the SQLite database under instance/, load the demo data
## the first time, print the demo accounts, serve http://127.0.0.1:$(PORT) with the job
## scheduler beside it. The scheduler is started here, once, outside the server (which runs
## without the reloader, so nothing starts twice: RELIABILITY §2.2.1), and is stopped when
## the server stops. Both build e-mailed links from LABNET_BASE_URL (the server's address).
run: export LABNET_BASE_URL ?= http://127.0.0.1:$(PORT)
run: venv-run
	$(BIN)/flask db upgrade
	$(BIN)/flask labnet seed-demo --if-empty
	$(BIN)/flask labnet demo-accounts
	@$(BIN)/flask labnet scheduler & sched=$$!; \
	trap 'kill $$sched 2>/dev/null; wait $$sched 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --no-reload --host 127.0.0.1 --port $(PORT)

## Test processes: one per core (pytest-xdist); `make test WORKERS=0` runs in one process.
WORKERS ?= auto

## The default suite: SQLite, real SMTP on loopback; no PostgreSQL, no browser, no
## multi-process races (`make test-slow`).
test: venv
	$(BIN)/pytest -n $(WORKERS)

## The multi-process races and CLI processes on SQLite (CI runs them; so does test-postgres).
test-slow: venv
	$(BIN)/pytest -m slow

## The whole suite (browser tests aside, races included) against the local PostgreSQL
## server; each test process works in its own database copied from the migrated one.
test-postgres: venv
	LABNET_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -n $(WORKERS) -m "not browser"

## Chromium driven by Playwright (needs Debian's chromium at /usr/bin/chromium).
## The Nu HTML Checker (npm's vnu-jar, run with Java 17) for the browser suite's HTML check.
VNU_VERSION := 26.9.27
VNU_JAR := $(VENV)/vnu/node_modules/vnu-jar/build/dist/vnu.jar
$(VNU_JAR):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/vnu vnu-jar@$(VNU_VERSION)
vnu: $(VNU_JAR)

## Lighthouse (npm, pinned: 13 wants Node 22) on the demo platform's main pages:
## accessibility and mobile performance (benchmarks/lighthouse.py; needs /usr/bin/chromium).
LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE := $(VENV)/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE):
	npm install --silent --no-audit --no-fund -E --prefix $(VENV)/lighthouse lighthouse@$(LIGHTHOUSE_VERSION)
lighthouse: venv $(LIGHTHOUSE)
	$(BIN)/python -m benchmarks.lighthouse

test-browser: venv vnu
	$(BIN)/pytest -m browser

test-all: test test-slow test-postgres test-browser lint

## Benchmarks: JSON ratios against the trivial route, SQL queries per page at two scales.
bench: venv
	$(BIN)/python -m benchmarks.run

## Booking benchmarks: availability, booking requests, the manager's queue and /labs with
## the availability filter, against /ping, with 10,000 and 1,000,000 bookings.
bench-bookings: venv
	$(BIN)/python -m benchmarks.bookings

## Load test, one command (benchmarks/load/full.py): a private PostgreSQL cluster and Redis
## (never the shared ones: the fault run restarts them), the 10,000-lab / 1,000,000-booking
## catalogue seeded once, gunicorn, Locust (its own .venv-load) in steps until p95 or errors
## break, a soak at 70 % and the fault run. LOAD_* variables bound it (README, Load test);
## LOAD_SMOKE=1 is a short check. `make load-host` runs the mix once against a LabNet
## already serving on loopback (LOAD_HOST, LOAD_USERS, LOAD_TIME).
load: venv-run
	$(BIN)/python -m benchmarks.load.full

load-host:
	benchmarks/load/run.sh

## ruff over the code, mypy over the models, permissions and services (pyproject.toml).
lint: venv
	$(BIN)/ruff check labnet tests benchmarks migrations
	$(BIN)/mypy

## The lock files again from pyproject.toml's ranges (needs the package index).
lock: venv
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/run.txt pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra test --extra browser --extra dev -o requirements/dev.txt pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/load.txt requirements/load.in

## Translations (labnet/i18n.py, docs/TRANSLATING.md): `make messages` extracts every marked
## text into labnet/translations/messages.pot and adds the new ones to each language's
## catalogue; after translating, `make translations` compiles the .mo files LabNet reads
## (they are committed, so a fresh clone needs no compile step; a test checks they match).
BABEL_KEYWORDS := -k _ -k _l -k gettext -k ngettext:1,2 -k lazy_gettext -k _ln:1,2 -k lazy_ngettext:1,2 -k pgettext:1c,2
messages: venv
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output --project LabNet --ignore-dirs ".* __pycache__" \
		-o labnet/translations/messages.pot labnet
	$(BIN)/pybabel -q update -i labnet/translations/messages.pot -d labnet/translations \
		--no-fuzzy-matching --ignore-obsolete

translations: venv
	$(BIN)/pybabel -q compile -d labnet/translations

clean:
	rm -rf $(VENV) .venv-load *.egg-info .pytest_cache
