"""Analysis for README.md: where the export operator's time goes.

    .venv/bin/python benchmarks/export_variants.py [--size BYTES] [--repeats N] [--variants ,sha256,no-count]

Runs the operator on one export with parts of its per-byte work switched off or swapped
(``BENCH_VARIANT``, see export_worker.apply_variant) or with ``checksum="sha256"``, next to curl,
and prints MiB/s medians.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api
from common import Emulator, airflow_env, log, median
from run import MIB, _curl, _worker, scratch_root

VARIANTS = ["", "sha256", "no-count"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1 << 30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated; empty = as shipped")
    args = parser.parse_args()
    variants = args.variants.split(",")
    scratch = scratch_root()
    rates: dict[str, list[float]] = {v or "as shipped": [] for v in variants}
    rates["curl"] = []
    try:
        with Emulator(
            "--export-delay", "0", "--data-dir", str(scratch / "emulator-data"), name="variants"
        ) as emu:
            emu.control.config(export_target_bytes=args.size, export_file_max_bytes=64 * MIB)
            tok = api.token(emu.url)
            export_id = api.create_export(emu.url, tok)
            emu.control.wait_export(export_id, timeout=900)
            files = emu.control.export_files(export_id)
            total = sum(f["bytes"] for f in files)
            for rep in range(args.repeats):
                for variant in variants:
                    env = airflow_env(emu.url, max_retries=3)
                    env["BENCH_VARIANT"] = variant
                    dest = scratch / "dest"
                    shutil.rmtree(dest, ignore_errors=True)
                    mode = "operator-sha256" if variant == "sha256" else "operator"
                    data = _worker(mode, emu.url, export_id, dest, env)
                    rates[variant or "as shipped"].append(total / MIB / data["seconds"])
                    log(
                        f"{rep + 1}/{args.repeats} {variant or 'as shipped'}: {rates[variant or 'as shipped'][-1]:.0f} MiB/s"
                    )
                shutil.rmtree(scratch / "dest", ignore_errors=True)
                data = _curl(files, tok, scratch / "dest", parallel=4, ca=None)
                rates["curl"].append(total / MIB / data["seconds"])
                shutil.rmtree(scratch / "dest", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| operator variant | MiB/s (median) | runs |\n|---|---:|---|")
    for name, values in rates.items():
        print(f"| {name} | {median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} |")


if __name__ == "__main__":
    main()
