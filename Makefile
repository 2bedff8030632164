# Two commands set up everything on a fresh machine:
#   make demo   - create .venv, install, start the Pardot emulator, run the main job through Airflow
#   make test   - create the venvs, install with test extras, run the whole suite (Airflow 3 and 2.11)
SHELL := /bin/bash
PYTHON ?= python3
AIRFLOW_3 ?= 3.3.2
AIRFLOW_2 ?= 2.11.2
VENV := .venv
VENV2 := .venv-af2
UV := $(VENV)/bin/uv
PYTEST_ARGS ?=
# The exact versions every venv installs (make lock writes them; see the README's "Pinned test
# environments"). uv itself is pinned too: it resolves everything else.
LOCK_3 := constraints/airflow-3.txt
LOCK_2 := constraints/airflow-2.txt
UV_VERSION := 0.13.10
# Installs compile bytecode as pip does by default (uv does not): where PYTHONDONTWRITEBYTECODE is
# set, every Airflow process (each test's `airflow dags test`, each DAG parse) would otherwise
# compile Airflow from source, about 2 s of CPU a process.
INSTALL = $(UV) pip install -q --compile-bytecode
COMPILE = $(UV) pip compile -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --upgrade pyproject.toml

.PHONY: venv venv-af2 lint test test-unit test-af2 test-ui test-deploy demo bench soak clean lock upstream-smoke dist

$(VENV)/.installed: pyproject.toml $(LOCK_3)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(INSTALL) -p $(VENV)/bin/python -c $(LOCK_3) "apache-airflow==$(AIRFLOW_3)" -e ".[test,deploy]"
	touch $@

venv: $(VENV)/.installed

$(VENV2)/.installed: pyproject.toml $(LOCK_2) $(VENV)/.installed
	test -x $(VENV2)/bin/python || $(PYTHON) -m venv $(VENV2)
	$(INSTALL) -p $(VENV2)/bin/python -c $(LOCK_2) "apache-airflow==$(AIRFLOW_2)" -e ".[test]"
	touch $@

venv-af2: $(VENV2)/.installed

lint: venv
	$(VENV)/bin/ruff check airflow_provider_pardot tests example_dags scripts benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pre-commit validate-config .pre-commit-config.yaml

# The whole suite on the newest Airflow 3 (browser and deployment tests included).
test-unit: venv
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The same suite on Airflow 2.11, in its own venv. The browser test, the deployment test and the
# emulator's own tests (which import no Airflow) run once, on Airflow 3.
test-af2: venv-af2
	$(VENV2)/bin/python -m pytest -m "not ui and not deploy" --ignore=tests/emulator --ignore=tests/deploy $(PYTEST_ARGS)

test: lint dist test-unit test-af2

# Re-resolve both locks to the newest versions that fit pyproject.toml and constraints/*.in.
# A decision, not a side effect: run `make upstream-smoke` first, read the diff, then run make test.
lock: venv
	$(COMPILE) constraints/airflow-3.in --extra test --extra deploy --extra amazon --extra parquet -o $(LOCK_3)
	$(COMPILE) constraints/airflow-2.in --extra test --extra amazon --extra parquet -o $(LOCK_2)

# What tomorrow's releases would do to us: fresh venvs with the newest versions (no locks) of each
# Airflow line, then a short smoke (the export example DAG end to end, on each line). Not part of
# make test; see the README's "Pinned test environments".
upstream-smoke: venv
	bash scripts/upstream_smoke.sh

# Build the sdist and wheel, check them with twine, install the built wheel (not -e) into a fresh
# venv with the Airflow 3 lock, and check the installed provider there (scripts/check_dist.sh).
dist: venv
	bash scripts/check_dist.sh

# The browser test alone: airflow standalone + Debian's headless Chromium driven by Playwright.
test-ui: venv
	$(VENV)/bin/python -m pytest -m ui tests/ui $(PYTEST_ARGS)

# The deployment test alone: CeleryExecutor over PostgreSQL and Redis (Debian packages, installed
# with apt-get when missing), scheduler, dag-processor, triggerer, api-server and two workers.
test-deploy: venv
	$(VENV)/bin/python -m pytest -m deploy tests/deploy $(PYTEST_ARGS)

demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

BENCH_ARGS ?=

# Benchmarks against the emulator (~4-8 min); writes benchmarks/RESULTS.md. Not part of make test.
bench: venv venv-af2
	$(UV) pip install -q -p $(VENV)/bin/python -r benchmarks/requirements.txt
	$(VENV)/bin/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(VENV2) .venv-dist .venv-upstream-* dist .pytest_cache .mypy_cache .ruff_cache test-artifacts

# A 10-minute fault soak: paging, transfers and sends through injected faults (not part of make test).
soak: venv
	SOAK_SECONDS=$${SOAK_SECONDS:-600} SOAK_PAGES=$${SOAK_PAGES:-1000} $(VENV)/bin/python tests/faults/soak.py
