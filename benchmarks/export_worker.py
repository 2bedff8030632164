"""One export transfer in a fresh process: ``export_worker.py MODE URL EXPORT_ID DEST_DIR``.

MODE ``operator``: PardotExportToObjectStorageOperator(export_id, dest="file://DEST_DIR").execute()
with a minimal context; ``operator-sha256`` the same with ``checksum="sha256"``. MODE ``naive``: every result file read whole with requests, parsed with
pandas.read_csv and written back with DataFrame.to_csv, one after another.
Prints one JSON line: bytes written, seconds of the transfer itself, RSS after imports and the
process's peak RSS (ru_maxrss) at the end.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from common import setup_airflow_in_process


def rss_now_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def apply_variant(variant: str) -> None:
    """Analysis only (README.md): switch the row counting off."""
    from airflow_provider_pardot.files import streams as transfer

    parts = set(filter(None, variant.split("+")))
    if "no-count" in parts:
        transfer.CsvRowCounter.feed = lambda self, chunk: None


def run_operator(
    url: str, export_id: int, dest: Path, checksum: str | None = None
) -> tuple[int, float, float, dict]:
    from unittest import mock

    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

    apply_variant(os.environ.get("BENCH_VARIANT", ""))

    op = PardotExportToObjectStorageOperator(
        task_id="transfer",
        export_id=export_id,
        dest=f"file://{dest}",
        max_concurrency=int(os.environ.get("BENCH_CONCURRENCY", "4")),
        checksum=checksum,
    )
    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    ti = mock.MagicMock()
    context = {"ti": ti, "task_instance": ti}
    base = rss_now_mib()
    t0 = time.perf_counter()
    uris = op.execute(context)
    seconds = time.perf_counter() - t0
    manifest = json.loads((dest / "_manifest.json").read_text())
    return (
        manifest["total_bytes"],
        seconds,
        base,
        {"files": len(uris), "rows": manifest["total_rows"], "requests": op.hook.request_count},
    )


def run_naive(url: str, export_id: int, dest: Path) -> tuple[int, float, float, dict]:
    import pandas as pd
    import requests
    from api import get_export, headers, token

    base = rss_now_mib()
    t0 = time.perf_counter()
    tok = token(url)
    refs = get_export(url, tok, export_id)["resultRefs"] or []
    refs = [refs] if isinstance(refs, str) else refs
    dest.mkdir(parents=True, exist_ok=True)
    written = rows = 0
    session = requests.Session()
    for i, ref in enumerate(refs):
        response = session.get(ref, headers=headers(tok), timeout=600)
        response.raise_for_status()
        import io

        frame = pd.read_csv(io.BytesIO(response.content), dtype=str, keep_default_na=False)
        out = dest / f"part-{i:05d}.csv"
        frame.to_csv(out, index=False)
        written += out.stat().st_size
        rows += len(frame)
        del frame, response
    seconds = time.perf_counter() - t0
    return written, seconds, base, {"files": len(refs), "rows": rows, "requests": len(refs) + 1}


def main() -> None:
    mode, url, export_id, dest = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    setup_airflow_in_process(url, max_retries=3)
    if mode.startswith("operator"):
        import airflow_provider_pardot.transfers.pardot_to_object_storage  # noqa: F401
    else:
        import pandas  # noqa: F401
        import requests  # noqa: F401
    runner = {
        "operator": run_operator,
        "operator-sha256": lambda *a: run_operator(*a, checksum="sha256"),
        "naive": run_naive,
    }[mode]
    nbytes, seconds, base, extra = runner(url, export_id, dest)
    print(
        json.dumps(
            {
                "mode": mode,
                "bytes": nbytes,
                "seconds": seconds,
                "rss_after_imports_mib": base,
                "peak_rss_mib": peak_mib(),
                **extra,
            }
        )
    )


if __name__ == "__main__":
    main()
