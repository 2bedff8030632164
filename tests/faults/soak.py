"""
Soak run (``make soak``): the fault suite's scenarios, repeated against one emulator until the
time is up, with figures printed after every round.

    SOAK_SECONDS=600 SOAK_PAGES=1000 .venv/bin/python tests/faults/soak.py

Each round: a paging run of ``SOAK_PAGES`` pages (200 lists a page; default 1,000 pages =
200,000 lists) with ~10% of the requests failing (5xx, resets before and after processing,
error 66, delays past the timeout), lists inserted and updated between pages and the token
expiring every few seconds; an export transfer whose downloads are cut off and whose token
expires; and one-to-one sends whose connection drops after Pardot recorded them. Exits 1 on
the first lost or repeated record, bad delivery or double send.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-soak-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
sys.path[:0] = [str(HERE), str(HERE.parent)]

from _faultkit import (  # noqa: E402
    FaultScheduler,
    complete_export,
    fault_mix,
    paging_run,
    sha256_of,
)
from emulator_control import EmulatorControl  # noqa: E402
from identities import BUSINESS_UNIT_ID, CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME  # noqa: E402

from airflow_provider_pardot.emulator.launch import EmulatorProcess  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
PAGES = int(os.environ.get("SOAK_PAGES", "1000"))
TIMEOUT = float(os.environ.get("SOAK_TIMEOUT", "5"))


def start_emulator(workdir: Path) -> tuple[EmulatorProcess, EmulatorControl]:
    process = EmulatorProcess(workdir=workdir, stderr=None).start()
    return process, EmulatorControl(process.url, timeout=120)


def set_connection(emulator: EmulatorControl, **extra) -> None:
    conn = {
        "conn_type": "pardot",
        "host": emulator.url,
        "login": USERNAME,
        "password": PASSWORD,
        "extra": {
            "business_unit_id": BUSINESS_UNIT_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "login_url": emulator.url,
            "auth_type": "password",
            "max_retries": 10,
            "retry_backoff": 0.01,
            "timeout": TIMEOUT,
            **extra,
        },
    }
    os.environ["AIRFLOW_CONN_PARDOT_DEFAULT"] = json.dumps(conn)


def paging_round(emulator: EmulatorControl, n: int) -> bool:
    from airflow_provider_pardot.hooks.pardot import PardotHook

    emulator.reset()
    emulator.seed(lists=PAGES * 200 - 1)
    emulator.config(token_ttl=20)  # the token expires several times during the run
    scheduler = FaultScheduler(emulator, rate=0.10, mix=fault_mix(delay_seconds=TIMEOUT + 1), rng_seed=n)
    result = paging_run(emulator, PardotHook(), mutate_every_pages=10, scheduler=scheduler, rng_seed=n)
    print(result.figure(f"soak paging #{n}"), flush=True)
    return (result.lost, result.duplicated, result.out_of_order, result.extra["unexpected"]) == (0, 0, 0, 0)


def transfer_round(emulator: EmulatorControl, n: int, workdir: Path) -> bool:
    from unittest import mock

    from airflow_provider_pardot.hooks.pardot import PardotHook
    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

    emulator.reset()
    export = complete_export(emulator, PardotHook(), rows=20_000, file_rows=2_000)
    source = emulator.export_files(export["id"])
    emulator.faults({"match": r"/results/", "kind": "truncate", "after_bytes": 30_000, "probability": 0.3})
    emulator.expire_tokens()
    dest = workdir / f"transfer-{n}"
    PardotExportToObjectStorageOperator(
        task_id="soak", export_id=export["id"], dest=f"file://{dest}", max_concurrency=4, checksum="sha256"
    ).execute({"ti": mock.MagicMock(), "task_instance": mock.MagicMock()})
    manifest = json.loads((dest / "_manifest.json").read_text())
    ok = [(f["rows"], f["sha256"]) for f in manifest["files"]] == [(f["rows"], f["sha256"]) for f in source]
    ok = ok and all(sha256_of(dest / f["name"]) == f["sha256"] for f in manifest["files"])
    state = emulator.state()
    print(
        f"FAULTS soak transfer #{n}: files={len(source)} rows={manifest['total_rows']} "
        f"faults={state['faults_injected']} tokens_issued={state['tokens_issued']} manifest_match={ok}",
        flush=True,
    )
    return ok


def send_round(emulator: EmulatorControl, n: int) -> bool:
    from airflow_provider_pardot.exceptions import PardotAmbiguousSendError
    from airflow_provider_pardot.hooks.pardot import PardotHook

    emulator.reset()
    emulator.faults({"match": r"/do/send", "kind": "reset_after", "probability": 0.5})
    hook = PardotHook()
    prospects = emulator.records("prospect")[:20]
    # a fresh token first: a send refused with 184 behind a dropped connection never happened
    hook.read("prospect", prospects[0])
    ambiguous = 0
    for pid in prospects:
        try:
            hook.send_one_to_one_email(prospect_id=pid, campaign_id=1001, email_template_id=101)
        except PardotAmbiguousSendError:
            ambiguous += 1
    sends = emulator.sends()
    attempts = sum(1 for r in emulator.requests() if "/do/send" in r["path"])
    log = [r for r in emulator.requests() if "/do/send" in r["path"]]
    processed = sum(1 for r in log if r["status"] == 200 or r["fault"] == "reset_after")
    ok = len(sends) == processed == len(prospects)
    if not ok:
        print("send log:", [(r["path"].rsplit("/", 1)[-1], r["status"], r["fault"]) for r in log], flush=True)
        print("errors:", emulator.state()["errors"], flush=True)
    print(
        f"FAULTS soak sends #{n}: sends={len(prospects)} ambiguous={ambiguous} send_requests={attempts} "
        f"sends_on_server={len(sends)} double_sends={len(sends) - len({s.get('prospect_email') or s.get('id') for s in sends})}",
        flush=True,
    )
    return ok


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="pardot-soak-"))
    proc, emulator = start_emulator(workdir)
    set_connection(emulator)
    started = time.monotonic()
    rounds = failures = 0
    try:
        while rounds == 0 or time.monotonic() - started < SECONDS:
            rounds += 1
            for ok in (
                paging_round(emulator, rounds),
                transfer_round(emulator, rounds, workdir),
                send_round(emulator, rounds),
            ):
                failures += 0 if ok else 1
            if failures:
                break
    finally:
        proc.stop()
    print(
        f"FAULTS soak: rounds={rounds} seconds={time.monotonic() - started:.0f} failures={failures}",
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
