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

.PHONY: venv venv-af2 lint test test-unit test-af2 test-ui test-deploy demo bench soak clean

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv
	$(UV) pip install -q -p $(VENV)/bin/python "apache-airflow==$(AIRFLOW_3)" -e ".[test,deploy]"
	touch $@

venv: $(VENV)/.installed

$(VENV2)/.installed: pyproject.toml $(VENV)/.installed
	test -x $(VENV2)/bin/python || $(PYTHON) -m venv $(VENV2)
	$(UV) pip install -q -p $(VENV2)/bin/python "apache-airflow==$(AIRFLOW_2)" -e ".[test]"
	touch $@

venv-af2: $(VENV2)/.installed

lint: venv
	$(VENV)/bin/ruff check airflow_provider_pardot tests example_dags scripts benchmarks
	$(VENV)/bin/mypy

# The whole suite on the newest Airflow 3 (browser and deployment tests included).
test-unit: venv
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The same suite on Airflow 2.11, in its own venv. The browser test, the deployment test and the
# emulator's own tests (which import no Airflow) run once, on Airflow 3.
test-af2: venv-af2
	$(VENV2)/bin/python -m pytest -m "not ui and not deploy" --ignore=tests/emulator --ignore=tests/deploy $(PYTEST_ARGS)

test: lint test-unit test-af2

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
	rm -rf $(VENV) $(VENV2) .pytest_cache .mypy_cache .ruff_cache test-artifacts

# A 10-minute fault soak: paging, transfers and sends through injected faults (not part of make test).
soak: venv
	SOAK_SECONDS=$${SOAK_SECONDS:-600} SOAK_PAGES=$${SOAK_PAGES:-1000} $(VENV)/bin/python tests/faults/soak.py
