# The two commands of the README: `make run` and `make test`. Everything else is a step of theirs.
# Needs only Python 3.11 and make: uv is installed into .tools/, the app's packages into .venv/.

PYTHON ?= python3.11
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compiled bytecode for the installed packages, written once at install time, and for the
# project's own modules as they are first imported: without it every Python process (each test
# worker, each app under test) compiles Streamlit, pandas and the rest again, seconds each time.
export UV_COMPILE_BYTECODE := 1
unexport PYTHONDONTWRITEBYTECODE
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test check lint typecheck pytest pytest-postgres browser-test setup demo-db clean bench translations

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

setup: $(VENV)/.synced

# Starts the app on the demo database (data/demo.duckdb), created and seeded on first start.
run: setup
	PROGRAM_DEMO=1 PROGRAM_DATABASE=$${PROGRAM_DATABASE:-data/demo.duckdb} $(VENV)/bin/streamlit run app.py \
		--server.address $(HOST) --server.port $(PORT) --server.headless true

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# Each test's temporary database lives in memory (/dev/shm) where the machine has it: a test
# commits often, and every commit waits for the disk otherwise. A fresh folder per run, removed
# after it, so two runs at once do not clear each other's files.
TESTS_TMP := $(if $(wildcard /dev/shm/.),/dev/shm,$(or $(TMPDIR),/tmp))
TESTS_IN_MEMORY = tmp=$$(mktemp -d $(TESTS_TMP)/program-tests.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT &&

# Tests without a browser run on two processes (pytest-xdist): each test has its own temporary
# database, so they share nothing. Browser tests share one server per module, so each module
# runs whole on one of two processes (--dist loadfile): 6.5 minutes instead of 9.5 here.
BROWSER_TESTS = $(VENV)/bin/pytest -q -m browser -n 2 --dist loadfile --basetemp="$$tmp"
pytest: setup
	$(TESTS_IN_MEMORY) $(VENV)/bin/pytest -q -n 2 -m "not browser" --basetemp="$$tmp"
	$(TESTS_IN_MEMORY) $(BROWSER_TESTS)

# The store and domain tests again on PostgreSQL: a throwaway server from Debian's packages on a
# free loopback port (scripts/postgres_cluster.py), in memory like the tests' files, stopped and
# removed at the end whatever happens.
pytest-postgres: setup
	$(TESTS_IN_MEMORY) pg=$$(mktemp -d $(TESTS_TMP)/program-postgres.XXXXXX) && \
	trap '$(VENV)/bin/python -m scripts.postgres_cluster stop "$$pg"; rm -rf "$$pg" "$$tmp"' EXIT && \
	url=$$($(VENV)/bin/python -m scripts.postgres_cluster start "$$pg") && \
	PROGRAM_TEST_POSTGRES=$$url $(VENV)/bin/pytest -q -n 2 --engine postgresql -m "not browser" \
		--basetemp="$$tmp"

test: lint typecheck pytest pytest-postgres

# The inner loop: lint, types and every test that needs no browser and is not marked slow.
check: lint typecheck
	$(TESTS_IN_MEMORY) $(VENV)/bin/pytest -q -n 2 -m "not browser and not slow" --basetemp="$$tmp"

browser-test: setup
	$(TESTS_IN_MEMORY) $(BROWSER_TESTS)

# Dashboard queries at 1,000, 5,000 and 20,000 cohorts: ours, bare SQL and pandas side by side;
# writes benchmarks/RESULTS.md. Databases are generated on first use into data/bench/ (minutes).
# The submission load test is separate: see benchmarks/RESULTS.md.
bench: setup
	$(VENV)/bin/python -m benchmarks.queries $(BENCH_ARGS)

# The participant's words in other languages (README, "Adding a language"): gathers every marked
# sentence into locale/messages.pot and merges new ones into each locale/*/LC_MESSAGES/messages.po,
# then shows how much of each is translated. The app compiles the catalogs itself when it starts.
translations: setup
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k Nn_:1,2 --no-location --sort-output \
		--add-comments=Translators: --project=group-program --no-wrap -o locale/messages.pot .
	$(VENV)/bin/pybabel update -i locale/messages.pot -d locale --no-fuzzy-matching \
		--ignore-obsolete --no-wrap
	$(VENV)/bin/python -m program.i18n

clean:
	rm -rf .tools $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Regenerates every image in docs/screenshots/ (needs /usr/bin/chromium): a fresh demo server,
# each page as the role that uses it, at laptop and phone size.
.PHONY: screenshots
screenshots: setup
	$(VENV)/bin/python -m scripts.screenshots
