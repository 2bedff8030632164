"""One timed pull of every ``list`` record, in a fresh process: ``query_worker.py MODE URL``.

MODE is ``hook`` (PardotHook.query), ``bare`` (a requests.Session loop over the same
id_greater_than pages, same headers, format=json, output=bulk) or ``pypardot4`` (PyPardot4's client paging
with ``offset`` and ``total_results``, as its users do). Prints one JSON line: records,
seconds, client CPU seconds during the pull, and the id checksum.
"""

from __future__ import annotations

import json
import sys
import time

from common import BUSINESS_UNIT_ID, LOGIN, PASSWORD, setup_airflow_in_process

PAGE = 200


def pull_hook(url: str):
    from airflow_provider_pardot.hooks.pardot import PardotHook

    hook = PardotHook()
    ids = [row["id"] for row in hook.query("list")]
    return ids, hook.request_count


def pull_bare(url: str):
    import requests

    session = requests.Session()
    token = session.post(
        f"{url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "username": LOGIN,
            "password": PASSWORD,
        },
        timeout=60,
    ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "Pardot-Business-Unit-Id": BUSINESS_UNIT_ID,
        "X-Return-Api-Usage": "1",
        "Accept": "application/json",
    }
    ids: list[int] = []
    cursor = None
    calls = 0
    while True:
        params = {
            "format": "json",
            "output": "bulk",
            "sort_by": "id",
            "sort_order": "ascending",
            "limit": PAGE,
        }
        if cursor is not None:
            params["id_greater_than"] = cursor
        response = session.get(
            f"{url}/api/list/version/4/do/query", params=params, headers=headers, timeout=60
        )
        calls += 1
        response.raise_for_status()
        rows = (response.json()["result"] or {}).get("list") or []
        if isinstance(rows, dict):
            rows = [rows]
        ids.extend(r["id"] for r in rows)
        if len(rows) < PAGE:
            return ids, calls
        cursor = rows[-1]["id"]


def pull_pypardot4(url: str):
    from pypardot import client as pypardot_client
    from pypardot.client import PardotAPI

    # PyPardot4 hard-codes https://pi.pardot.com as a module constant read by _full_path at call
    # time: point it at the emulator for this process (its files are not touched).
    pypardot_client.BASE_URI = url
    calls = {"n": 0}
    import requests

    real_get, real_post = requests.get, requests.post

    def counting_get(*a, **kw):
        calls["n"] += 1
        return real_get(*a, **kw)

    def counting_post(*a, **kw):
        calls["n"] += 1
        return real_post(*a, **kw)

    pypardot_client.requests.get = counting_get
    pypardot_client.requests.post = counting_post
    p = PardotAPI(email=LOGIN, password=PASSWORD, user_key="0123456789abcdef0123456789abcdef")
    if not p.authenticate():  # as its README shows: log in first (api_key login, one POST)
        raise RuntimeError("PyPardot4 could not log in to the emulator (is it running with --legacy-auth?)")
    ids: list[int] = []
    offset = 0
    while True:  # the airflow-plugins/pardot_plugin pattern: offset steps until total_results
        result = p.lists.query(offset=offset, limit=PAGE)
        rows = result["list"]
        if isinstance(rows, dict):
            rows = [rows]
        ids.extend(r["id"] for r in rows)
        offset += PAGE
        if offset >= int(result["total_results"]) or not rows:
            return ids, calls["n"]


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    setup_airflow_in_process(url)
    if mode == "hook":  # import cost is not part of the pull
        import airflow_provider_pardot.hooks.pardot  # noqa: F401
    elif mode == "pypardot4":
        import pypardot.client  # noqa: F401
    else:
        import requests  # noqa: F401
    pull = {"hook": pull_hook, "bare": pull_bare, "pypardot4": pull_pypardot4}[mode]
    cpu0, t0 = time.process_time(), time.perf_counter()
    ids, calls = pull(url)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    print(
        json.dumps(
            {
                "mode": mode,
                "records": len(ids),
                "unique": len(set(ids)),
                "seconds": seconds,
                "cpu": cpu,
                "client_calls": calls,
            }
        )
    )


if __name__ == "__main__":
    main()
