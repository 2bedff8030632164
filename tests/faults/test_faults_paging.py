"""
Paging under faults: every record exactly once while ~10% of the requests fail, rows are inserted
and updated between pages, and the access token expires in the middle of the run.

``PARDOT_FAULTS_PAGES`` sets the size of the run in ``make test`` (default 1,000 pages, 200,000
lists, about 45 s); longer runs are in ``soak.py`` (``make soak``).
"""

from __future__ import annotations

import os

import pytest
from _faultkit import FaultScheduler, fault_mix, paging_run

from airflow_provider_pardot.hooks.pardot import PardotHook

PAGES = int(os.environ.get("PARDOT_FAULTS_PAGES", "1000"))
TIMEOUT = 1.0


def test_paging_under_faults_loses_and_repeats_nothing(emulator, make_conn, figures):
    emulator.seed(lists=PAGES * 200 - 1)  # the last of PAGES pages is short
    hook = PardotHook(pardot_conn_id=make_conn(timeout=TIMEOUT, max_retries=10, retry_backoff=0.005))
    scheduler = FaultScheduler(emulator, rate=0.10, mix=fault_mix(delay_seconds=TIMEOUT + 0.5))

    result = paging_run(
        emulator, hook, mutate_every_pages=10, expire_tokens_at_pages=(PAGES // 3,), scheduler=scheduler
    )
    figures(result.figure())

    assert result.lost == 0
    assert result.duplicated == 0
    assert result.out_of_order == 0
    assert result.extra["unexpected"] == 0
    assert result.rows == result.expected
    assert result.inserted > 0
    assert result.updated > 0
    assert result.pages >= PAGES
    # the mix really happened: about 10% of the requests failed, in every kind
    assert result.faults >= 0.05 * result.attempts
    assert {"status", "reset_before", "reset_after", "error", "delay"} <= set(result.by_kind)
    # the expired token was replaced transparently
    assert result.tokens_issued >= 2
    assert emulator.state()["errors"].get("184", 0) >= 1


@pytest.mark.parametrize("kind", ["status", "reset_before", "reset_after", "error", "delay"])
def test_each_fault_kind_alone_is_survived(emulator, make_conn, figures, kind):
    """Every other page fails with one kind of fault: still every record exactly once."""
    emulator.seed(lists=2000)
    hook = PardotHook(pardot_conn_id=make_conn(timeout=TIMEOUT, max_retries=4, retry_backoff=0.005))
    rule = {"status": 503, "code": 66, "seconds": TIMEOUT + 0.5}
    emulator.faults({"match": r"/do/query", "kind": kind, "probability": 0.5, **rule})
    result = paging_run(emulator, hook, mutate_every_pages=3, insert_per_mutation=3, update_per_mutation=5)
    figures(result.figure(f"paging[{kind}]"))
    assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 0)
    assert result.rows == result.expected
    assert result.by_kind.get(kind, 0) >= 3
