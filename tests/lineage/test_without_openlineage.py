"""Without the OpenLineage provider nothing changes. In a fresh interpreter where neither the
OpenLineage client nor any module of the provider can be imported (but its ``get_provider_info``,
which Airflow's provider discovery reads from the installed package), the hook's reads and both
transfers work as before, and the hook still reports its reads to Airflow's hook lineage collector
(which any reader plugin may read, not only OpenLineage's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from unittest import mock

    DISCOVERY = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "openlineage" or (
                name.startswith("airflow.providers.openlineage.") and name not in DISCOVERY
            ):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NotInstalled())

    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    reported = []
    # The one collector of the process (cached); on Airflow 2 common.compat adds its asset methods
    # to the instance, so the instance is where the recording goes.
    collector = get_hook_lineage_collector()
    add_input_asset = collector.add_input_asset

    def recording(*args, **kwargs):
        reported.append(kwargs.get("uri"))
        return add_input_asset(*args, **kwargs)

    collector.add_input_asset = recording

    from airflow_provider_pardot.hooks.pardot import PardotHook
    from airflow_provider_pardot.transfers.pardot_to_object_storage import (
        PardotExportToObjectStorageOperator,
        PardotQueryToObjectStorageOperator,
    )

    hook = PardotHook()
    lists = sum(1 for _ in hook.query("list"))
    export = hook.create_export(
        "visitorActivity", "filter_by_created_at",
        {"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"},
    )
    while (export := hook.get_export(export["id"]))["state"] != "Complete":
        pass
    downloaded = sum(len(c) for ref in export["resultRefs"] for c in hook.iter_result(ref))
    context = {"ti": mock.MagicMock()}
    query = PardotQueryToObjectStorageOperator(
        task_id="q", object_name="list", criteria={}, dest=sys.argv[1] + "/lists", file_format="csv"
    )
    move = PardotExportToObjectStorageOperator(task_id="m", export_id=export["id"], dest=sys.argv[1] + "/va")
    written = query.execute(context) + move.execute(context)
    print(json.dumps({
        "lists": lists,
        "downloaded": downloaded,
        "written": len(written),
        "query_rows": query.delivery.rows,
        "export_rows": move.delivery.rows,
        "reported": sorted({u.rpartition("/")[2] for u in reported if u and u.startswith("pardot://")}),
        "openlineage": sorted(
            m for m in sys.modules if "openlineage" in m and "pardot" not in m and m not in DISCOVERY
        ),
    }))
    """
)


def test_hook_and_transfers_work_without_openlineage(make_conn, emulator, tmp_path):
    emulator.config(export_delay=0.05)
    make_conn()
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"file://{tmp_path / 'out'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["lists"] > 0
    assert result["downloaded"] > 0
    assert result["query_rows"] == result["lists"]
    assert result["export_rows"] == 2500
    assert result["written"] == 4  # one query file, three export files
    assert result["reported"] == ["list", "visitorActivity"]  # the downloads' object, from create_export
    assert result["openlineage"] == []
