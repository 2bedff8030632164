#!/usr/bin/env bash
# `make dist`: the package a user installs is the one tested.
#   1. builds the sdist and the wheel into dist/ (uv build, hatchling)
#   2. checks their metadata with `twine check --strict`
#   3. installs the built wheel (not an editable checkout) into a fresh venv, .venv-dist, with
#      Airflow 3 and the pinned versions of constraints/airflow-3.txt (our stand-in for Airflow's
#      constraints file, which pins the same way)
#   4. there, from outside the checkout: `airflow providers get airflow-provider-pardot` must name
#      the built version, the package must be imported from the venv, and every example DAG must
#      parse with no import error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$ROOT/.venv/bin/uv}"
PYTHON="${PYTHON:-python3}"
AIRFLOW_3="${AIRFLOW_3:-3.3.2}"
DIST_VENV="$ROOT/.venv-dist"

rm -rf dist "$DIST_VENV"
"$UV" build -q --out-dir dist
wheel=(dist/*.whl)
sdist=(dist/*.tar.gz)
"$ROOT/.venv/bin/twine" check --strict "${wheel[@]}" "${sdist[@]}"

"$PYTHON" -m venv "$DIST_VENV"
"$UV" pip install -q --compile-bytecode -p "$DIST_VENV/bin/python" -c constraints/airflow-3.txt \
    "apache-airflow==$AIRFLOW_3" "${wheel[0]}"


work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"  # nothing of the checkout on sys.path from here on
export AIRFLOW_HOME="$work/airflow-home" AIRFLOW__CORE__LOAD_EXAMPLES=False
"$DIST_VENV/bin/airflow" providers get airflow-provider-pardot -o json > providers.json
"$DIST_VENV/bin/python" - "$ROOT/example_dags" "${wheel[0]}" <<'PY'
import json
import sys
from importlib.metadata import version
from pathlib import Path

import airflow_provider_pardot

examples, wheel = Path(sys.argv[1]), sys.argv[2]
built = version("airflow-provider-pardot")
assert built == airflow_provider_pardot.__version__, (built, airflow_provider_pardot.__version__)
assert "site-packages" in airflow_provider_pardot.__file__, airflow_provider_pardot.__file__
assert f"-{built}-" in wheel, (built, wheel)
shown = json.loads(Path("providers.json").read_text())
assert shown[0]["Provider"] == "airflow-provider-pardot", shown
assert shown[0]["Version"] == built, shown

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 2
    from airflow.models.dagbag import DagBag

bag = DagBag(str(examples))  # AIRFLOW__CORE__LOAD_EXAMPLES=False: only ours
assert not bag.import_errors, bag.import_errors
assert len(bag.dag_ids) == len(list(examples.glob("example_*.py"))), sorted(bag.dag_ids)
print(f"dist: wheel {Path(wheel).name} installed from dist/, provider {built} registered, "
      f"{len(bag.dag_ids)} example DAGs parse: {', '.join(sorted(bag.dag_ids))}")
PY
