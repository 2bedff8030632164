"""Section 5 of ``make bench``: a full pull of one object on v4 and on v5, against Pardot's latency.

``run.py --only v5`` runs just this section and splices it into RESULTS.md in place of the last one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, Emulator, airflow_env, log, median, run_measured, splice_section

PY = sys.executable
V5_RECORDS = 100_000
V5_SMALL = 10_000
LATENCY_MS = 250
MODES = ("hook-v4", "hook-v5-c1", "hook-v5-c5", "bare-v5")
LABELS = {
    "hook-v4": '`PardotHook.query("list")`: v4, 200 a call, today',
    "hook-v5-c1": '`PardotHook.query("lists")`: v5, concurrency 1',
    "hook-v5-c5": '`PardotHook.query("lists", concurrency=5)`: v5',
    "bare-v5": "bare `requests.Session` loop following `nextPageUrl` (Airbyte's way)",
}
BEGIN, END = "<!-- v5-section -->", "<!-- /v5-section -->"


def _last_json(text: str) -> dict:
    import json

    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON line in output: {text[-500:]}")


def _run(emu: Emulator, mode: str, records: int) -> dict:
    before = emu.control.state()["requests"]
    res = run_measured([PY, str(BENCH / "v5_worker.py"), mode, emu.url], env=airflow_env(emu.url))
    data = _last_json(res["stdout"])
    if data["records"] != records or data["unique"] != records:
        raise RuntimeError(
            f"v5 {mode} pulled {data['records']} records ({data['unique']} unique), not {records}"
        )
    data.update(api_calls=emu.control.state()["requests"] - before, rss_mib=res["rss_mib"])
    log(
        f"v5 {mode} {records:,}: {data['seconds']:.2f}s, {data['api_calls']} API calls, {res['rss_mib']:.0f} MiB"
    )
    return data


def bench_v5(repeats: int, latency_ms: int = LATENCY_MS) -> dict:
    """Every client at 10,000 and 100,000 lists; the slow v4 hook runs once per size."""
    log(f"v5: emulator with --latency-ms {latency_ms}; {V5_SMALL:,} then {V5_RECORDS:,} lists")
    out: dict = {"latency_ms": latency_ms, "sizes": {}}
    with Emulator("--latency-ms", str(latency_ms), name="v5") as emu:
        for size in (V5_SMALL, V5_RECORDS):
            emu.control.seed(lists=size)
            runs: dict[str, list[dict]] = {m: [] for m in MODES}
            for rep in range(repeats):
                for mode in MODES:  # interleaved, so drift on the machine hits every client alike
                    if mode == "hook-v4" and rep:
                        continue
                    runs[mode].append(_run(emu, mode, size))
            out["sizes"][size] = {
                mode: {
                    "seconds": median([r["seconds"] for r in rows]),
                    "api_calls": median([r["api_calls"] for r in rows]),
                    "cpu": median([r["cpu"] for r in rows]),
                    "rss_mib": max(r["rss_mib"] for r in rows),
                    "runs": [r["seconds"] for r in rows],
                }
                for mode, rows in runs.items()
            }
        out["max_in_flight"] = emu.control.state()["max_in_flight"]
        out["errors"] = emu.control.state()["errors"]
    return out


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def report_v5(v: dict) -> list[str]:
    latency = v["latency_ms"] / 1000
    big, small = v["sizes"][V5_RECORDS], v["sizes"][V5_SMALL]
    pages = math.ceil(V5_RECORDS / 1000)
    limit = big["hook-v5-c5"]["api_calls"] / 5 * latency
    lines = [
        BEGIN,
        f"## 5. v5 object queries: {V5_RECORDS:,} list records, {v['latency_ms']} ms per request",
        "",
        f"The emulator answers every API request after `--latency-ms {v['latency_ms']}` (a request counts as in",
        "flight while it waits), like Pardot from a worker in another region. Plain HTTP: the latency, not",
        "TLS, is what this measures. Seconds are the pull itself (imports and interpreter start excluded),",
        "median of the runs; API calls are the emulator's count; peak RSS is the worker process's.",
        f"Peak in flight over the section: {v['max_in_flight']}; emulator errors: {v['errors'] or 'none'}.",
        "",
        "| client | records | seconds | API calls | client CPU s | peak RSS MiB | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for size, rows in ((V5_RECORDS, big), (V5_SMALL, small)):
        for mode in MODES:
            row = rows[mode]
            lines.append(
                f"| {LABELS[mode]} | {size:,} | {row['seconds']:.2f} | {row['api_calls']:.0f} | {row['cpu']:.2f} | "
                f"{row['rss_mib']:.0f} | {', '.join(f'{s:.2f}' for s in row['runs'])} |"
            )
    lines.append(
        f"| the limit: calls / 5 × latency ({big['hook-v5-c5']['api_calls']:.0f} / 5 × {latency:.2f} s) | "
        f"{V5_RECORDS:,} | {limit:.2f} | | | | |"
    )
    c1, c5, bare = big["hook-v5-c1"], big["hook-v5-c5"], big["bare-v5"]
    rss_growth = c5["rss_mib"] / small["hook-v5-c5"]["rss_mib"]
    rss_growth_c1 = c1["rss_mib"] / small["hook-v5-c1"]["rss_mib"]
    lines += [
        "",
        "| target | measured | |",
        "|---|---:|---|",
        f"| v5 calls at concurrency 1 <= ceil(N/1000) + 2 = {pages + 2} | {c1['api_calls']:.0f} | "
        f"{_verdict(c1['api_calls'] <= pages + 2)} |",
        f"| v5 calls at concurrency 5 <= ceil(N/1000) + 7 = {pages + 7} | {c5['api_calls']:.0f} | "
        f"{_verdict(c5['api_calls'] <= pages + 7)} |",
        f"| a full pull costs a fifth of v4's calls: v5 / v4 at concurrency 1 (5) | "
        f"{c1['api_calls'] / big['hook-v4']['api_calls']:.3f} ({c5['api_calls'] / big['hook-v4']['api_calls']:.3f}) | "
        f"{_verdict(round(c5['api_calls'] / big['hook-v4']['api_calls'], 2) <= 0.2)} |",
        f"| wall time at concurrency 5 <= 0.3 × the bare loop's | {c5['seconds'] / bare['seconds']:.2f} × | "
        f"{_verdict(c5['seconds'] <= 0.3 * bare['seconds'])} |",
        f"| wall time at concurrency 5 <= 1.3 × the limit | {c5['seconds'] / limit:.2f} × | "
        f"{_verdict(c5['seconds'] <= 1.3 * limit)} |",
        f"| peak RSS flat from {V5_SMALL:,} to {V5_RECORDS:,} records (<= 1.1 ×): concurrency 5 / 1 | "
        f"{rss_growth:.2f} × / {rss_growth_c1:.2f} × | {_verdict(max(rss_growth, rss_growth_c1) <= 1.1)} |",
        "",
        END,
    ]
    return lines


def splice(existing: str, section: str) -> str:
    """Put ``section`` in place of the v5 section of ``existing`` (or at its end)."""
    return splice_section(existing, section, BEGIN, END)
