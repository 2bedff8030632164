#!/usr/bin/env bash
# The demo behind `make demo`: runs example_dags/example_pardot_export.py end to end in a real
# Airflow (`airflow dags test`) against the local Pardot emulator. No Salesforce account, no
# credentials and no network are needed.
#
#   1. starts the Pardot emulator on a free port (stopped when this script exits)
#   2. makes a fresh AIRFLOW_HOME in .airflow-home-demo/ and migrates its SQLite database
#   3. creates the `pardot` pool (5 slots; PARDOT_EXAMPLE_POOL=pardot puts the DAG's Pardot tasks
#      in it, the production recipe) and the `pardot_default` connection (an env var)
#   4. runs `airflow dags test example_pardot_export <date>` and shows the sensor's deferred wait
#   5. prints where the files landed and their row counts (from _manifest.json)
#
# Expects `airflow` and a Python with airflow-provider-pardot on PATH (`make demo` puts the venv
# there). Environment knobs: DEMO_DATE (logical date, default today in UTC: the run exports the
# previous day), DEMO_HOME, DEMO_OUTPUT, PYTHON, PARDOT_EXAMPLE_POLL_SECONDS (the sensor's poll
# interval, here 1 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python}"
DEMO_HOME="${DEMO_HOME:-$ROOT/.airflow-home-demo}"
DEMO_OUTPUT="${DEMO_OUTPUT:-$ROOT/demo-output}"
DEMO_DATE="${DEMO_DATE:-$(date -u +%Y-%m-%d)}"
DAG_ID="example_pardot_export"

command -v airflow >/dev/null || { echo "demo: 'airflow' is not on PATH (run it with: make demo)" >&2; exit 1; }

say() { printf '\n==> %s\n' "$*"; }
fail() {
    echo "demo: $1" >&2
    [[ -n "${2:-}" && -f "$2" ]] && { echo "---- last lines of $2 ----" >&2; tail -n 60 "$2" >&2; }
    exit 1
}

rm -rf "$DEMO_HOME"
mkdir -p "$DEMO_HOME"
rm -rf "$DEMO_OUTPUT/visitor_activity"
mkdir -p "$DEMO_OUTPUT"

# ---------------------------------------------------------------- 1. the emulator
say "Starting the Pardot emulator"
PORT_FILE="$DEMO_HOME/emulator.port"
"$PYTHON" -m airflow_provider_pardot.emulator --port 0 --port-file "$PORT_FILE" --quiet \
    --data-dir "$DEMO_HOME/emulator-data" --export-delay 2 >"$DEMO_HOME/emulator.log" 2>&1 &
EMULATOR_PID=$!
cleanup() {
    if kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 300); do
    [[ -s "$PORT_FILE" ]] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || fail "the emulator exited" "$DEMO_HOME/emulator.log"
    sleep 0.1
done
[[ -s "$PORT_FILE" ]] || fail "the emulator did not start within 30 s" "$DEMO_HOME/emulator.log"
EMULATOR_URL="http://127.0.0.1:$(cat "$PORT_FILE")"
echo "Pardot emulator: $EMULATOR_URL (control API: $EMULATOR_URL/_emulator/state)"

# ---------------------------------------------------------------- 2. Airflow
export AIRFLOW_HOME="$DEMO_HOME"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/example_dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$DEMO_HOME/airflow.db"
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
export PYTHONUNBUFFERED=1
# The pardot_default connection (any well-formed credentials work against the emulator).
AIRFLOW_CONN_PARDOT_DEFAULT="$("$PYTHON" - "$EMULATOR_URL" <<'PY'
import json, sys
url = sys.argv[1]
print(json.dumps({
    "conn_type": "pardot", "host": url,
    "login": "integration@emulator.example", "password": "emulator-password",
    "extra": {"business_unit_id": "0Uv000000000001AAA", "client_id": "emulator-client-id",
              "client_secret": "emulator-client-secret", "login_url": url, "auth_type": "password"},
}))
PY
)"
export AIRFLOW_CONN_PARDOT_DEFAULT
# Where the example DAG writes (its Variable pardot_export_dest), and a short poll interval.
export AIRFLOW_VAR_PARDOT_EXPORT_DEST="file://$DEMO_OUTPUT"
export PARDOT_EXAMPLE_POLL_SECONDS="${PARDOT_EXAMPLE_POLL_SECONDS:-1}"

say "Preparing Airflow in $DEMO_HOME ($(airflow version 2>/dev/null | tail -n 1))"
airflow db migrate >"$DEMO_HOME/db-migrate.log" 2>&1 || fail "airflow db migrate failed" "$DEMO_HOME/db-migrate.log"
airflow pools set pardot 5 "Pardot API: 5 concurrent requests per business unit" \
    >"$DEMO_HOME/pools.log" 2>&1 || fail "could not create the pardot pool" "$DEMO_HOME/pools.log"
export PARDOT_EXAMPLE_POOL=pardot
echo "pool 'pardot': 5 slots; connection 'pardot_default' -> $EMULATOR_URL"

# ---------------------------------------------------------------- 3. the DAG
say "Running: airflow dags test $DAG_ID $DEMO_DATE"
LOG="$DEMO_HOME/dags-test.log"
started=$(date +%s)
if ! airflow dags test "$DAG_ID" "$DEMO_DATE" >"$LOG" 2>&1; then
    fail "airflow dags test failed (full log: $LOG)" "$LOG"
fi
if grep -Eq "state=failed|state=upstream_failed|Dag run in failure state|DagRun Finished: .*state=failed" "$LOG"; then
    fail "a task failed (full log: $LOG)" "$LOG"
fi
grep -E "Marking task as SUCCESS|task_id=.*state=success|Dag run .*success|DagRun Finished" "$LOG" | tail -n 8 || true
echo "dags test took $(( $(date +%s) - started )) s (full log: $LOG)"

# The emulator takes about 4 s per export (--export-delay 2 per phase): the sensor finds it
# unfinished at its first check and hands the waiting to the triggerer (run inline by dags test).
say "The export sensor's wait"
grep -oE "Waiting for Pardot export [0-9]+ in the triggerer|Pardot export [0-9]+ is (Waiting|Processing)\.|Pardot export [0-9]+ is Complete with [0-9]+ result file\(s\)\." "$LOG" \
    || echo "(the export was complete at the sensor's first check: nothing to wait for)"

# ---------------------------------------------------------------- 4. the result
say "Files written"
"$PYTHON" - "$DEMO_OUTPUT" <<'PY'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
manifests = sorted(out.rglob("_manifest.json"))
if not manifests:
    sys.exit(f"demo: no _manifest.json under {out}")
for manifest_path in manifests:
    manifest = json.loads(manifest_path.read_text())
    files = manifest.get("files", [])
    print(f"{manifest_path.parent}/  (Pardot export {manifest.get('export_id')})")
    for f in files:
        name = f.get("name") or Path(str(f.get("uri", "?"))).name
        print(f"  {name:<16} {f.get('rows', 0):>8,} rows {f.get('bytes', 0):>12,} bytes")
    total_rows = manifest.get("total_rows", sum(f.get("rows", 0) for f in files))
    total_bytes = manifest.get("total_bytes", sum(f.get("bytes", 0) for f in files))
    print(f"  {'total':<16} {total_rows:>8,} rows {total_bytes:>12,} bytes in {len(files)} file(s)")
    print(f"  manifest: {manifest_path}")
PY

"$PYTHON" - "$EMULATOR_URL" <<'PY' || true
import json
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/_emulator/state", timeout=10) as resp:
    s = json.load(resp)
errors = ", ".join(f"{code}: {n}" for code, n in s["errors"].items()) or "none"
n = s["requests"]
print(f"Emulator: {n:,} API request{'' if n == 1 else 's'}, at most {s['max_in_flight']} in flight, errors: {errors}")
PY
say "Demo complete"
