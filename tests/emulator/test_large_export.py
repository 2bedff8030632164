from __future__ import annotations

import hashlib
import time


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_256_mib_export_streams_with_small_rss(api, emulator):
    pid = emulator.pid
    emulator.config(export_delay=0, export_target_bytes=256 << 20, export_file_max_bytes=64 << 20)
    body = {
        "object": "visitorActivity",
        "procedure": {"name": "filter_by_created_at", "arguments": {"created_after": "last_month"}},
    }
    t0 = time.monotonic()
    eid = api.s.post(api.url + "/api/v5/exports", json=body, headers=api.headers()).json()["id"]
    emulator.wait_export(eid, timeout=60)
    gen = time.monotonic() - t0
    files = emulator.export_files(eid)
    total = sum(f["bytes"] for f in files)
    assert total >= 256 << 20
    assert len(files) in (4, 5)
    assert all(f["bytes"] <= 64 << 20 for f in files)
    peak = _rss_kb(pid)
    for f in files:
        h = hashlib.sha256()
        with api.s.get(f["url"], headers=api.headers(), stream=True) as r:
            assert r.status_code == 200
            assert int(r.headers["Content-Length"]) == f["bytes"]
            for chunk in r.iter_content(1 << 20):
                h.update(chunk)
                peak = max(peak, _rss_kb(pid)) if len(chunk) else peak
        assert h.hexdigest() == f["sha256"]
        peak = max(peak, _rss_kb(pid))
    assert peak < 200 * 1024, f"emulator RSS reached {peak} kB"
    print(f"generated {total / 1e6:.0f} MB in {gen:.1f}s, peak RSS {peak / 1024:.0f} MiB")
