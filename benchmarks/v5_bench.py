"""Section 5 of ``make bench``: a full v5 pull of one object against Pardot's latency, on two id layouts.

``run.py --only v5`` runs just this section and splices it into RESULTS.md in place of the last one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, Emulator, airflow_env, log, median, run_measured, splice_section

PY = sys.executable
V5_RECORDS = 50_000
V5_SMALL = 5_000  # one run at this size per hook mode: peak RSS must not grow with the records
LATENCY_MS = 250
SLOTS = 5
LAYOUTS = ("even", "clustered")
LAYOUT_LABELS = {
    "even": "evenly spread (ids 1-3 apart)",
    "clustered": "clustered (nine in ten in the last 3% of the span)",
}
MODES = ("bare-v5", "hook-v5-c1", "hook-v5-c5")
LABELS = {
    "bare-v5": "bare `requests.Session` loop following `nextPageUrl` (Airbyte's way)",
    "hook-v5-c1": '`PardotHook.query("lists")`: concurrency 1',
    "hook-v5-c5": '`PardotHook.query("lists", concurrency=5)`',
}
BEGIN, END = "<!-- v5-section -->", "<!-- /v5-section -->"


def _last_json(text: str) -> dict:
    import json

    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON line in output: {text[-500:]}")


def _run(emu: Emulator, mode: str, records: int, layout: str) -> dict:
    before = emu.control.state()["requests"]
    emu.control.config(max_in_flight=0)
    res = run_measured([PY, str(BENCH / "v5_worker.py"), mode, emu.url], env=airflow_env(emu.url))
    data = _last_json(res["stdout"])
    if data["records"] != records or data["unique"] != records:
        raise RuntimeError(
            f"v5 {mode} ({layout}) pulled {data['records']} records ({data['unique']} unique), not {records}"
        )
    state = emu.control.state()
    data.update(
        api_calls=state["requests"] - before, rss_mib=res["rss_mib"], peak_in_flight=state["max_in_flight"]
    )
    log(
        f"v5 {mode} {layout} {records:,}: {data['seconds']:.2f}s, {data['api_calls']} API calls, "
        f"peak {data['peak_in_flight']} in flight, {res['rss_mib']:.0f} MiB"
    )
    return data


def _summary(rows: list[dict]) -> dict:
    return {
        "seconds": median([r["seconds"] for r in rows]),
        "api_calls": max(r["api_calls"] for r in rows),
        "cpu": median([r["cpu"] for r in rows]),
        "rss_mib": max(r["rss_mib"] for r in rows),
        "peak_in_flight": max(r["peak_in_flight"] for r in rows),
        "runs": [r["seconds"] for r in rows],
    }


def bench_v5(repeats: int, latency_ms: int = LATENCY_MS) -> dict:
    """Each client on each layout at 50,000 lists, runs interleaved; one 5,000-list run per hook mode."""
    log(f"v5: emulator with --latency-ms {latency_ms}; {V5_RECORDS:,} lists, layouts {', '.join(LAYOUTS)}")
    out: dict = {"latency_ms": latency_ms, "layouts": {}, "small": {}}
    with Emulator("--latency-ms", str(latency_ms), name="v5") as emu:
        for layout in LAYOUTS:
            emu.control.seed(lists=V5_RECORDS, id_layout=layout)
            runs: dict[str, list[dict]] = {m: [] for m in MODES}
            for _ in range(repeats):
                for mode in MODES:  # interleaved, so drift on the machine hits every client alike
                    runs[mode].append(_run(emu, mode, V5_RECORDS, layout))
            out["layouts"][layout] = {mode: _summary(rows) for mode, rows in runs.items()}
        emu.control.seed(lists=V5_SMALL, id_layout="even")
        for mode in ("hook-v5-c1", "hook-v5-c5"):
            out["small"][mode] = _run(emu, mode, V5_SMALL, "even")["rss_mib"]
        out["errors"] = emu.control.state()["errors"]
    return out


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def _targets(rows: dict, pages: int, limit: float) -> list[tuple[str, str, bool]]:
    c1, c5, bare = rows["hook-v5-c1"], rows["hook-v5-c5"], rows["bare-v5"]
    return [
        ("c=5 within 1.3 × the limit (aim 1.15)", f"{c5['seconds'] / limit:.2f} ×", c5["seconds"] <= 1.3 * limit),
        ("c=5 within 0.3 × the bare loop", f"{c5['seconds'] / bare['seconds']:.2f} ×", c5["seconds"] <= 0.3 * bare["seconds"]),
        ("c=1 within 1.1 × the bare loop", f"{c1['seconds'] / bare['seconds']:.2f} ×", c1["seconds"] <= 1.1 * bare["seconds"]),
        (f"calls at c=1 <= pages + 2 = {pages + 2} (worst run)", f"{c1['api_calls']:.0f}", c1["api_calls"] <= pages + 2),
        (f"calls at c=5 <= pages + 7 = {pages + 7} (worst run)", f"{c5['api_calls']:.0f}", c5["api_calls"] <= pages + 7),
        ("c=5 reaches five requests in flight", f"{c5['peak_in_flight']}", c5["peak_in_flight"] == SLOTS),
    ]  # fmt: skip


def report_v5(v: dict) -> list[str]:
    latency = v["latency_ms"] / 1000
    pages = math.ceil(V5_RECORDS / 1000)
    limit = pages / SLOTS * latency
    lines = [
        BEGIN,
        f"## 5. v5 object queries: {V5_RECORDS:,} list records, {v['latency_ms']} ms per request, two id layouts",
        "",
        f"The emulator answers every API request after `--latency-ms {v['latency_ms']}` (a request counts as in",
        "flight while it waits), like Pardot from a worker in another region. Plain HTTP: the latency, not",
        "TLS, is what this measures. The same records are seeded on two id layouts (`--id-layout`): evenly",
        "spread, and clustered, nine in ten in the last 3% of the id span, as on an account whose records",
        "came in one recent burst. Seconds are the pull itself (imports, interpreter start and Airflow's",
        "hook-lineage collector, built once per process on a hook's first read, excluded: `hook_lineage.py`),",
        "median of the runs; every run got every record exactly once (checked on a bitmap of ids); API calls",
        "are the emulator's count (worst run); peak in flight is the emulator's, per client; peak RSS is the",
        f"worker process's. The limit is {pages} pages over {SLOTS} slots × {latency:.2f} s = {limit:.2f} s.",
        f"Emulator errors: {v['errors'] or 'none'}.",
        "",
        "| ids | client | seconds | vs bare loop | vs limit | API calls | peak in flight | client CPU s | peak RSS MiB | runs (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for layout in LAYOUTS:
        rows = v["layouts"][layout]
        bare = rows["bare-v5"]["seconds"]
        for mode in MODES:
            row = rows[mode]
            lines.append(
                f"| {LAYOUT_LABELS[layout]} | {LABELS[mode]} | {row['seconds']:.2f} | {row['seconds'] / bare:.2f} | "
                f"{row['seconds'] / limit:.2f} | {row['api_calls']:.0f} | {row['peak_in_flight']} | {row['cpu']:.2f} | "
                f"{row['rss_mib']:.0f} | {', '.join(f'{s:.2f}' for s in row['runs'])} |"
            )
        lines.append(
            f"| {LAYOUT_LABELS[layout]} | the limit: {pages} pages / {SLOTS} slots × {latency:.2f} s | {limit:.2f} | "
            f"{limit / bare:.2f} | 1.00 | {pages} | | | | |"
        )
    lines += [
        "",
        "| target | " + " | ".join(f"{layout} | " for layout in LAYOUTS) + "|",
        "|---|" + "---:|---|" * len(LAYOUTS),
    ]
    per_layout = [_targets(v["layouts"][layout], pages, limit) for layout in LAYOUTS]
    for k, (name, _, _) in enumerate(per_layout[0]):
        cells = " | ".join(f"{rows[k][1]} | {_verdict(rows[k][2])}" for rows in per_layout)
        lines.append(f"| {name} | {cells} |")
    small = v["small"]
    growth = {m: v["layouts"]["even"][m]["rss_mib"] / small[m] for m in small}
    lines += [
        f"| peak RSS flat from {V5_SMALL:,} to {V5_RECORDS:,} records (<= 1.1 ×), c=1 / c=5 (even) | "
        f"{growth['hook-v5-c1']:.2f} × / {growth['hook-v5-c5']:.2f} × | {_verdict(max(growth.values()) <= 1.1)} | | |",
        "",
        END,
    ]
    return lines


def splice(existing: str, section: str) -> str:
    """Put ``section`` in place of the v5 section of ``existing`` (or at its end)."""
    return splice_section(existing, section, BEGIN, END)
