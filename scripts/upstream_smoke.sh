#!/usr/bin/env bash
# `make upstream-smoke`: what would the newest releases do to us? Not part of `make test`.
# For each Airflow line, a fresh venv resolved afresh (no lock, uv's cache refreshed) to the newest
# versions pyproject.toml allows, then:
#   - the packages whose version differs from the lock (what `make lock` would change)
#   - a short smoke: the example DAGs parse, and the export example runs end to end (airflow dags
#     test) against the emulator.
# A failure here is news about upstream, not about main: pin the culprit in constraints/*.in (with
# the reason), or fix our code, before `make lock`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$ROOT/.venv/bin/uv}"
PYTHON="${PYTHON:-python3}"
SMOKE="tests/e2e/test_example_dags.py::test_example_dags_have_no_import_errors tests/e2e/test_example_dags.py::test_export_dag_runs_end_to_end"
status=0

smoke() {  # <name> <airflow requirement> <extras> <lock>
    local venv="$ROOT/.venv-upstream-$1"
    echo "==> $1: newest of $2"
    rm -rf "$venv" && "$PYTHON" -m venv "$venv"
    if ! "$UV" pip install -q --compile-bytecode --refresh --upgrade -p "$venv/bin/python" "$2" -e ".[$3]"; then
        echo "==> $1: the newest versions do not install together"; status=1; return
    fi
    echo "--- versions that differ from $4 (lock -> newest):"
    "$UV" pip freeze -p "$venv/bin/python" | "$PYTHON" scripts/lock_diff.py "$4"
    # shellcheck disable=SC2086
    if "$venv/bin/python" -m pytest -q -p no:cacheprovider --timeout 300 $SMOKE; then
        echo "==> $1: smoke passed"
    else
        echo "==> $1: SMOKE FAILED with the newest versions (main's locks still hold)"; status=1
    fi
}

smoke 3 "apache-airflow>=3,<4" test constraints/airflow-3.txt
smoke 2 "apache-airflow>=2.11,<2.12" test constraints/airflow-2.txt
exit $status
