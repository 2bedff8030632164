"""
Export downloads under faults: token expiry mid-file, connections cut beyond the retry budget, and
a transfer process killed with SIGKILL in the middle of a file.

Whatever happens, no file under a final name (``part-NNNNN.csv``, ``_manifest.json``) is ever
partial; a rerun completes; and the manifest matches the emulator's own files (rows, sha256).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
import threading
import time
from typing import TYPE_CHECKING
from unittest import mock

import pytest
from _faultkit import complete_export, kill_when, sha256_of

from airflow_provider_pardot.exceptions import PardotApiError
from airflow_provider_pardot.hooks.pardot import PardotHook

if TYPE_CHECKING:
    from pathlib import Path

RESULTS = r"/api/v5/exports/\d+/results/"


def _transfer(export_id, dest: Path, **kw):
    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

    kw.setdefault("checksum", "sha256")  # deliveries are checked byte for byte against the manifest
    return PardotExportToObjectStorageOperator(
        task_id="to_storage", export_id=export_id, dest=f"file://{dest}", **kw
    )


def _context():
    return {"ti": mock.MagicMock(), "task_instance": mock.MagicMock()}


def _final_names(dest: Path) -> list[str]:
    if not dest.exists():
        return []
    return sorted(p.name for p in dest.iterdir() if not p.name.startswith("."))


def _hidden(dest: Path) -> list[str]:
    if not dest.exists():
        return []
    return sorted(p.name for p in dest.iterdir() if p.name.startswith("."))


def _check_delivery(emulator, export_id, dest: Path, *, merged: bool = False) -> dict:
    """The manifest lists every file with rows and sha256 matching the disk and the emulator."""
    manifest = json.loads((dest / "_manifest.json").read_text())
    source = emulator.export_files(export_id)
    assert str(manifest["export_id"]) == str(export_id)
    for entry in manifest["files"]:
        path = dest / entry["name"]
        assert path.stat().st_size == entry["bytes"]
        assert sha256_of(path) == entry["sha256"]
    if merged:
        assert manifest["total_rows"] == sum(f["rows"] for f in source)
    else:
        assert [(f["rows"], f["sha256"], f["bytes"]) for f in manifest["files"]] == [
            (f["rows"], f["sha256"], f["bytes"]) for f in source
        ]
    assert sorted(_final_names(dest)) == sorted([*(f["name"] for f in manifest["files"]), "_manifest.json"])
    return manifest


# ---------------------------------------------------------------------------------------------
# Token expiry in the middle of a download
# ---------------------------------------------------------------------------------------------
def test_token_expires_mid_file_download_resumes(emulator, make_conn, figures):
    make_conn(max_retries=3)
    hook = PardotHook()
    export = complete_export(emulator, hook, rows=3000, file_rows=3000)
    (source,) = emulator.export_files(export["id"])
    ref = hook.get_export(export["id"])["resultRefs"][0]
    # the first download is cut off half way; by then the token has expired
    emulator.faults({"match": RESULTS, "kind": "truncate", "after_bytes": source["bytes"] // 2, "times": 1})
    issued = emulator.state()["tokens_issued"]
    digest, size, expired = hashlib.sha256(), 0, False
    for chunk in hook.iter_result(ref, chunk_size=4096):
        if not expired:
            emulator.expire_tokens()
            expired = True
        digest.update(chunk)
        size += len(chunk)
    state = emulator.state()
    figures(
        f"FAULTS token_expiry[download]: bytes={size} expected={source['bytes']} "
        f"tokens_issued={state['tokens_issued'] - issued} err184={state['errors'].get('184', 0)} "
        f"sha256_match={digest.hexdigest() == source['sha256']}"
    )
    assert size == source["bytes"]
    assert digest.hexdigest() == source["sha256"]
    assert state["tokens_issued"] - issued == 1
    assert state["errors"].get("184", 0) == 1


def test_token_expires_during_a_transfer(emulator, make_conn, figures, tmp_path):
    make_conn(max_retries=3)
    export = complete_export(emulator, PardotHook(), rows=4000, file_rows=1000)
    files = emulator.export_files(export["id"])
    # slow the files down so the token expires while the transfer is under way
    emulator.faults({"match": RESULTS, "kind": "throttle", "bytes_per_second": 400_000})
    issued = emulator.state()["tokens_issued"]
    stop = threading.Event()
    expired_at: list[int] = []

    def expire_after_first_download():
        while not stop.is_set():
            if any("/results/" in r["path"] for r in emulator.requests()):
                emulator.expire_tokens()
                expired_at.append(sum("/results/" in r["path"] for r in emulator.requests()))
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=expire_after_first_download)
    watcher.start()
    dest = tmp_path / "out"
    try:
        uris = _transfer(export["id"], dest, max_concurrency=1).execute(_context())
    finally:
        stop.set()
        watcher.join()
    state = emulator.state()
    manifest = _check_delivery(emulator, export["id"], dest)
    figures(
        f"FAULTS token_expiry[transfer]: files={len(uris)} rows={manifest['total_rows']} "
        f"expired_after_downloads={expired_at} tokens_issued={state['tokens_issued'] - issued} "
        f"err184={state['errors'].get('184', 0)}"
    )
    assert len(uris) == len(files) == 4
    assert expired_at
    assert expired_at[0] < len(files)
    assert state["tokens_issued"] - issued == 1
    assert state["errors"].get("184", 0) == 1


# ---------------------------------------------------------------------------------------------
# Cut off beyond the retry budget, then a rerun
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("merge", [False, True], ids=["files", "merged"])
def test_download_cut_beyond_retries_leaves_nothing_then_rerun_completes(
    emulator, make_conn, figures, tmp_path, merge
):
    make_conn(max_retries=2)
    export = complete_export(emulator, PardotHook(), rows=5000, file_rows=1000)
    files = emulator.export_files(export["id"])
    # file 3 never arrives whole: always cut off after a few KB
    emulator.faults({"match": RESULTS + "3$", "kind": "truncate", "after_bytes": 5000})
    dest = tmp_path / "out"
    with pytest.raises(PardotApiError, match="broke off"):
        _transfer(export["id"], dest, merge=merge).execute(_context())
    left_final, left_hidden = _final_names(dest), _hidden(dest)
    cut = sum(1 for r in emulator.requests() if r["path"].endswith("/results/3"))

    emulator.clear_faults()
    uris = _transfer(export["id"], dest, merge=merge).execute(_context())
    manifest = _check_delivery(emulator, export["id"], dest, merged=merge)
    figures(
        f"FAULTS transfer_cut[{'merged' if merge else 'files'}]: files={len(files)} attempts_on_cut_file={cut} "
        f"after_failure_final={len(left_final)} after_failure_hidden={len(left_hidden)} "
        f"rerun_files={len(uris)} rerun_rows={manifest['total_rows']} manifest_match=True"
    )
    assert left_final == [], left_final
    assert left_hidden == [], left_hidden
    assert cut == 3  # 1 + max_retries
    assert _hidden(dest) == []


# ---------------------------------------------------------------------------------------------
# SIGKILL in the middle of a file
# ---------------------------------------------------------------------------------------------
KILLED_TRANSFER = textwrap.dedent(
    """
    import sys
    from unittest import mock
    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

    op = PardotExportToObjectStorageOperator(
        task_id="killed", export_id=sys.argv[1], dest="file://" + sys.argv[2], max_concurrency=2
    )
    op.execute({"ti": mock.MagicMock(), "task_instance": mock.MagicMock()})
    print("FINISHED")
    """
)


def test_transfer_killed_mid_file_never_leaves_a_partial_final_file(emulator, make_conn, figures, tmp_path):
    make_conn(max_retries=2)
    export = complete_export(emulator, PardotHook(), rows=5000, file_rows=1000)
    files = emulator.export_files(export["id"])
    emulator.faults({"match": RESULTS, "kind": "throttle", "bytes_per_second": 100_000})
    dest = tmp_path / "out"
    partial = 0

    def partial_file_written() -> bool:
        nonlocal partial
        sizes = [p.stat().st_size for p in dest.glob(".*.tmp")] if dest.exists() else []
        partial = max(sizes, default=0)
        return partial > 20_000

    kill_when(KILLED_TRANSFER, [str(export["id"]), str(dest)], partial_file_written)
    after_kill_final, after_kill_hidden = _final_names(dest), _hidden(dest)
    # nothing under a final name after the kill: files are moved into place only when complete
    assert after_kill_final == [], after_kill_final

    emulator.clear_faults()
    uris = _transfer(export["id"], dest).execute(_context())
    manifest = _check_delivery(emulator, export["id"], dest)
    stray = _hidden(dest)
    figures(
        f"FAULTS transfer_sigkill: files={len(files)} killed_with_tmp_bytes={partial} "
        f"after_kill_final={len(after_kill_final)} after_kill_tmp={len(after_kill_hidden)} "
        f"rerun_files={len(uris)} rerun_rows={manifest['total_rows']} manifest_match=True "
        f"stray_tmp_after_rerun={len(stray)}"
    )
    assert len(uris) == len(files)
    # a SIGKILLed run cannot clean up after itself; the rerun removes what it left
    assert stray == []
