"""Section 6 of ``make bench``: an audience into Pardot with the Import API, from CSV and Parquet.

``run.py --only import`` runs just this section and splices it into RESULTS.md in place of the last one.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api
from common import BENCH, BUSINESS_UNIT_ID, Emulator, airflow_env, log, median, run_measured, splice_section

PY = sys.executable
SIZES = (100_000, 1_000_000)
FORMATS = ("csv", "parquet")
#: what each run reads and how: the source's format, and the worker's extra arguments (``rows``:
#: converted by the csv module, as an install without pyarrow does)
VARIANTS = {"csv": ("csv", []), "parquet": ("parquet", []), "csv, no pyarrow": ("csv", ["rows"])}
HEADER = ["email", "first_name", "last_name", "company", "campaign_id"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella, Inc.", "Hooli", "Stark Industries"]
BEGIN, END = "<!-- import-section -->", "<!-- /import-section -->"
#: seconds between two status reads of the operator (60 in production; short here)
POLL_SECONDS = 2.0


def _last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON line in output: {text[-500:]}")


def make_sources(folder: Path, rows: int) -> dict[str, Path]:
    """``rows`` people as a warehouse would export them: a CSV file, and the same as Parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audience-{rows}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [f"person{i}@audience.example.com", f"First{i}", f"Last{i}", COMPANIES[i % 6], 1001]
            )
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"campaign_id": "int64"}))
    parquet = folder / f"audience-{rows}.parquet"
    pq.write_table(table, parquet, row_group_size=100_000)
    return {"csv": path, "parquet": parquet}


def _curl_upload(url: str, tok: str, batches: list[str]) -> float:
    """curl, ten batches an import as the operator does: create, the batches (one kept-alive process), submit."""
    auth = ["-H", f"Authorization: Bearer {tok}", "-H", f"Pardot-Business-Unit-Id: {BUSINESS_UNIT_ID}"]
    started = time.perf_counter()
    for first in range(0, len(batches), 10):
        created = subprocess.run(
            ["curl", "-sS", "-f", "-X", "POST", f"{url}/api/v5/imports?fields=id", *auth,
             "-H", "Content-Type: application/json",
             "-d", '{"operation": "Upsert", "object": "Prospect", "createOnNoMatch": true}'],
            check=True, capture_output=True,
        )  # fmt: skip
        import_id = json.loads(created.stdout)["id"]
        cmd = ["curl", "-sS", "-f"]
        for n, path in enumerate(batches[first : first + 10]):
            if n:
                cmd.append("--next")
            cmd += ["-f", "-X", "POST", f"{url}/api/v5/imports/{import_id}/batches", *auth]
            cmd += ["-F", f"file=@{path};type=text/csv"]
        subprocess.run(cmd, check=True, capture_output=True)
        subprocess.run(
            ["curl", "-sS", "-f", "-X", "PATCH", f"{url}/api/v5/imports/{import_id}", *auth,
             "-H", "Content-Type: application/json", "-d", '{"status": "Ready"}'],
            check=True, capture_output=True,
        )  # fmt: skip
    return time.perf_counter() - started


def _operator_run(emu: Emulator, source: Path, rows: int, extra: list[str]) -> dict:
    before = emu.control.state()["requests"]
    log_before = emu.control.requests()
    since = log_before[-1]["seq"] if log_before else 0
    res = run_measured(
        [PY, str(BENCH / "import_worker.py"), "run", str(source), *extra], env=airflow_env(emu.url)
    )
    data = _last_json(res["stdout"])
    if data["rows"] != rows or data["errors"] != 0 or data["created"] != rows:
        raise RuntimeError(f"import of {source.name}: {data}")
    held = {i["id"]: i for i in emu.control.imports()}
    mine = [held[i] for i in data["import_ids"]]
    data.update(
        api_calls=emu.control.state()["requests"] - before,
        imports=len(mine),
        batches=sum(i["batches"] for i in mine),
        polls=sum(
            1
            for r in emu.control.requests(since)
            if r["method"] == "GET" and re.search(r"/imports/\d+$", r["path"])
        ),
        rss_mib=res["rss_mib"],
        cpu=res["cpu"],
    )
    log(
        f"import {source.name} {' '.join(extra)}: upload {data['upload_seconds']:.2f}s, task {data['seconds']:.2f}s, "
        f"{data['api_calls']} calls ({data['imports']} imports, {data['batches']} batches), {res['rss_mib']:.0f} MiB"
    )
    return data


def _baseline(source: Path, extra: list[str], url: str) -> dict:
    """The task process before it reads a row (median of three), and what importing pyarrow cost it."""
    made = [
        _last_json(
            run_measured(
                [PY, str(BENCH / "import_worker.py"), "baseline", str(source), *extra], env=airflow_env(url)
            )["stdout"]
        )
        for _ in range(3)
    ]
    return {key: median([m[key] for m in made]) for key in made[0]}


def bench_import(repeats: int, scratch: Path) -> dict:
    """Every size, CSV and Parquet through the operator, and curl with the same batches."""
    out: dict = {"sizes": {}, "poll_seconds": POLL_SECONDS, "baselines": {}}
    with Emulator(name="import") as emu:
        # rows are read and checked but not stored: the emulator's store is not what is measured
        emu.control.config(import_polls=0, import_apply_rows=False, import_batch_daily_limit=1_000_000)
        for size in SIZES:
            # made in a child: the driver stays small, and a child inherits its parent's peak RSS
            subprocess.run([PY, __file__, str(scratch / "sources"), str(size)], check=True)
            sources = {f: scratch / "sources" / f"audience-{size}.{f}" for f in FORMATS}
            made = scratch / f"batches-{size}"
            shutil.rmtree(made, ignore_errors=True)
            made.mkdir(parents=True)
            premade = _last_json(
                run_measured(
                    [PY, str(BENCH / "import_worker.py"), "premake", str(sources["csv"]), str(made)],
                    env=airflow_env(emu.url),
                )["stdout"]
            )
            for name, (file_format, extra) in VARIANTS.items():
                out["baselines"].setdefault(name, _baseline(sources[file_format], extra, emu.url))
            runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
            curl: list[float] = []
            for _ in range(repeats):  # interleaved, so drift on the machine hits every client alike
                for name, (file_format, extra) in VARIANTS.items():
                    runs[name].append(_operator_run(emu, sources[file_format], size, extra))
                curl.append(_curl_upload(emu.url, api.token(emu.url), premade["batches"]))
                log(f"curl {len(premade['batches'])} batches of {size:,} rows: {curl[-1]:.2f}s")
            out["sizes"][size] = {
                "batches_made": len(premade["batches"]),
                "bytes": sum(Path(p).stat().st_size for p in premade["batches"]),
                "curl": median(curl),
                "curl_runs": curl,
                **{
                    f: {
                        key: median([r[key] for r in rows])
                        for key in (
                            "upload_seconds",
                            "seconds",
                            "api_calls",
                            "imports",
                            "batches",
                            "polls",
                            "cpu",
                        )
                    }
                    | {
                        "rss_mib": max(r["rss_mib"] for r in rows),
                        "runs": [r["upload_seconds"] for r in rows],
                    }
                    for f, rows in runs.items()
                },
            }
            shutil.rmtree(made, ignore_errors=True)
        out["errors"] = emu.control.state()["errors"]
        out["max_in_flight"] = emu.control.state()["max_in_flight"]
    return out


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def report_import(v: dict) -> list[str]:
    pyarrow = v["baselines"]["csv"]
    lines = [
        BEGIN,
        "## 6. Imports: an audience into Pardot from CSV and Parquet (v5 Import API)",
        "",
        "`ObjectStorageToPardotOperator` (5 columns renamed, `email` also sent as `matchEmail`, every row",
        "added to one list, `create_on_no_match=True`) reads a local file of N people and imports it into",
        "the emulator, which checks every row of every batch but does not store them (`import_apply_rows`",
        "off: the emulator's store is not what is measured). pyarrow is installed, so the batches are cut",
        "by Arrow; *csv, no pyarrow* makes the same batches with the csv module. *Upload* is conversion +",
        "create + batches + submit, timed inside the task (for CSV it includes importing pyarrow); *task*",
        f"adds the wait (status read every {v['poll_seconds']:.0f} s here, 60 s by default). curl uploads the same batch",
        "files, made beforehand by the same code: create, every batch in one kept-alive process",
        "(`--next`), submit.",
        "API calls are the emulator's count; peak RSS is the task process's. *Baseline* is that process",
        "before it reads a row (Airflow, the provider, requests, the source's file system, and pyarrow's",
        "modules but in the *no pyarrow* runs), measured in a process of its own that stops there;",
        "*growth* is the peak above it.",
        "Medians of the runs.",
        f"Importing pyarrow (with `compute` and `csv`) into that process for a CSV source: {pyarrow['pyarrow_import_seconds']:.2f} s, "
        f"{pyarrow['pyarrow_import_mib']:.0f} MiB. Peak in flight: {v['max_in_flight']}; emulator errors: {v['errors'] or 'none'}.",
        "",
        "| rows | source | imports | batches | status reads | API calls | v4 batchUpsert calls (N/50) | one call a prospect | upload s | task s | curl s | curl / upload | baseline MiB | peak RSS MiB | growth MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for size, row in v["sizes"].items():
        size = int(size)
        for f in VARIANTS:
            r = row[f]
            base = v["baselines"][f]["baseline_mib"]
            ratio = row["curl"] / r["upload_seconds"]
            lines.append(
                f"| {size:,} | {f} | {r['imports']:.0f} | {r['batches']:.0f} | {r['polls']:.0f} | {r['api_calls']:.0f} | "
                f"{math.ceil(size / 50):,} | {size:,} | {r['upload_seconds']:.2f} | {r['seconds']:.2f} | "
                f"{row['curl']:.2f} | {ratio:.2f} | {base:.0f} | {r['rss_mib']:.0f} | {r['rss_mib'] - base:.0f} |"
            )
            target = r["imports"] * 2 + r["batches"] + r["polls"]
            checks.append(
                f"| calls <= imports × (2 + batches) + status reads, {size:,} {f} | {r['api_calls']:.0f} <= {target:.0f} | "
                f"{_verdict(r['api_calls'] <= target)} |"
            )
            checks.append(
                f"| conversion + upload vs curl (curl / upload >= 0.8), {size:,} {f} | {ratio:.2f} | {_verdict(ratio >= 0.8)} |"
            )
    small, big = (v["sizes"][s] for s in sorted(v["sizes"], key=int))
    for f in VARIANTS:
        checks.append(
            f"| peak RSS flat, {f}: 100k -> 1M (at most 1.1 ×) | {small[f]['rss_mib']:.0f} -> {big[f]['rss_mib']:.0f} MiB | "
            f"{_verdict(big[f]['rss_mib'] <= 1.1 * small[f]['rss_mib'])} |"
        )
        checks.append(
            f"| peak RSS < 150 MiB, {f} 1M (baseline {v['baselines'][f]['baseline_mib']:.0f} MiB) | {big[f]['rss_mib']:.0f} MiB | "
            f"{_verdict(big[f]['rss_mib'] < 150)} |"
        )
    lines += ["", "| target | measured | |", "|---|---:|---|", *checks, "", END]
    return lines


def splice(existing: str, section: str) -> str:
    """Put ``section`` in place of the import section of ``existing`` (or at its end)."""
    return splice_section(existing, section, BEGIN, END)


if __name__ == "__main__":  # make the sources: import_bench.py <folder> <rows>
    make_sources(Path(sys.argv[1]), int(sys.argv[2]))
