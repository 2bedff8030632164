"""PardotExportToObjectStorageOperator / PardotQueryToObjectStorageOperator over real HTTP."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from export_helpers import create_export

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError, PardotValidationError
from airflow_provider_pardot.files.streams import CsvRowCounter
from airflow_provider_pardot.transfers.pardot_to_object_storage import (
    PardotExportToObjectStorageOperator,
    PardotQueryToObjectStorageOperator,
)

if TYPE_CHECKING:
    from pathlib import Path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _downloads(emulator, since: int = 0) -> list[dict]:
    return [r for r in emulator.requests(since) if "/results/" in r["path"] or "downloadResults" in r["path"]]


def _transfer(export_id, dest, **kw) -> PardotExportToObjectStorageOperator:
    return PardotExportToObjectStorageOperator(task_id="move", export_id=export_id, dest=str(dest), **kw)


@pytest.fixture
def ready_export(pardot):
    """A Complete v5 export of 2,500 rows in 3 files."""
    export_id = create_export(pardot)
    pardot.wait_export(export_id)
    return export_id


class TestRowCounter:
    @pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 10_000])
    def test_counts_quoted_newlines_at_any_chunk_boundary(self, chunk_size):
        rows = [
            ["id", "details"],
            ["1", 'multi\nline, "quoted"'],
            ["2", "plain"],
            ["3", "a\r\nb"],
            ["4", '"'],
        ]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        data = buffer.getvalue().encode()
        counter = CsvRowCounter()
        for start in range(0, len(data), chunk_size):
            counter.feed(data[start : start + chunk_size])
        assert counter.rows == 4

    def test_matches_the_csv_module_on_random_data_and_chunkings(self):
        import random

        rng = random.Random(7)
        values = ["a", "b,c", 'q"uo"te', "multi\nline", "", "x\r\ny", '"', '""\n"', "é, ü"]
        for _ in range(300):
            rows = [[rng.choice(values) for _ in range(3)] for _ in range(rng.randint(0, 30))]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows([["h1", "h2", "h3"], *rows])
            data = buffer.getvalue().encode()
            counter, start = CsvRowCounter(), 0
            while start < len(data):
                size = rng.randint(1, 40)
                counter.feed(data[start : start + size])
                start += size
            assert counter.rows == len(rows)

    def test_last_line_without_newline_and_empty(self):
        counter = CsvRowCounter()
        counter.feed(b"a,b\n1,2\n3,4")
        assert counter.rows == 2
        assert CsvRowCounter().rows == 0


class TestExportTransfer:
    def test_defaults(self):
        op = _transfer(1, "file:///tmp/x")
        assert op.template_fields == ("export_id", "dest", "dest_conn_id", "object_name", "pardot_conn_id")
        assert op.pool_slots == 4
        assert _transfer(1, "file:///tmp/x", max_concurrency=9).pool_slots == 5
        assert _transfer(1, "file:///tmp/x", max_concurrency=9, pool_slots=2).pool_slots == 2
        assert _transfer(1, "file:///tmp/x", merge=True).pool_slots == 1
        with pytest.raises(ValueError, match="file_format"):
            _transfer(1, "file:///tmp/x", file_format="xlsx")
        with pytest.raises(ValueError, match="checksum must be one of md5, sha256 or None"):
            _transfer(1, "file:///tmp/x", checksum="crc32")

    def test_multi_file_byte_identical_with_manifest(self, pardot, ready_export, tmp_path, context, capsys):
        dest = tmp_path / "out"
        uris = _transfer(ready_export, f"file://{dest}", max_concurrency=3, checksum="sha256").execute(
            context
        )
        files = pardot.export_files(ready_export)
        assert len(files) == 3
        assert uris == [f"file://{dest}/part-{i:05d}.csv" for i in range(3)]
        assert _listing(dest) == ["_manifest.json", "part-00000.csv", "part-00001.csv", "part-00002.csv"]
        for i, info in enumerate(files):
            assert _sha((dest / f"part-{i:05d}.csv").read_bytes()) == info["sha256"]
        manifest = json.loads((dest / "_manifest.json").read_text())
        assert manifest["export_id"] == ready_export
        assert [f["uri"] for f in manifest["files"]] == uris
        assert [f["rows"] for f in manifest["files"]] == [f["rows"] for f in files]
        assert [f["bytes"] for f in manifest["files"]] == [f["bytes"] for f in files]
        assert [f["sha256"] for f in manifest["files"]] == [f["sha256"] for f in files]
        assert all(f["export_id"] == ready_export for f in manifest["files"])
        assert manifest["total_rows"] == 2500
        out = capsys.readouterr().out
        assert "MB/s" in out
        assert "3/3 files" in out
        assert "Pardot API: " in out
        assert context["ti"].pushed["pardot_export"]["export_id"] == ready_export
        assert pardot.state()["max_in_flight"] <= 5

    @pytest.mark.parametrize("checksum", [None, "md5"])
    def test_manifest_checksum_only_when_asked(self, pardot, ready_export, tmp_path, context, checksum):
        _transfer(ready_export, f"file://{tmp_path}", checksum=checksum).execute(context)
        entries = json.loads((tmp_path / "_manifest.json").read_text())["files"]
        assert len(entries) == 3
        for entry in entries:
            body = (tmp_path / entry["name"]).read_bytes()
            assert entry["bytes"] == len(body)
            assert "sha256" not in entry
            if checksum is None:
                assert "md5" not in entry
            else:
                assert entry["md5"] == hashlib.md5(body).hexdigest()

    def test_single_file_string_result_refs(self, emulator, set_conn, tmp_path, context):
        emulator.config(export_delay=0.05)
        set_conn("pardot_default", emulator.url, export_api_version=4)
        export_id = create_export(emulator, rows=10)
        emulator.wait_export(export_id)
        from airflow_provider_pardot.hooks.pardot import PardotHook

        # the v4 read answers a plain string for a single file

        body = PardotHook().call(
            "GET", f"/api/export/version/4/do/read/id/{export_id}", params={"format": "json"}
        )
        assert isinstance(body["export"]["resultRefs"], str)
        uris = _transfer(export_id, f"file://{tmp_path}").execute(context)
        (info,) = emulator.export_files(export_id)
        assert uris == [f"file://{tmp_path}/part-00000.csv"]
        assert _sha((tmp_path / "part-00000.csv").read_bytes()) == info["sha256"]
        assert json.loads((tmp_path / "_manifest.json").read_text())["files"][0]["rows"] == 10

    def test_merge_single_header(self, pardot, ready_export, tmp_path, context):
        uris = _transfer(ready_export, f"file://{tmp_path}", merge=True).execute(context)
        assert uris == [f"file://{tmp_path}/part-00000.csv"]
        assert _listing(tmp_path) == ["_manifest.json", "part-00000.csv"]
        files = pardot.export_files(ready_export)
        from airflow_provider_pardot.hooks.pardot import PardotHook

        hook = PardotHook()
        parts = [b"".join(hook.iter_result(f["url"])) for f in files]
        header = parts[0].split(b"\n", 1)[0] + b"\n"
        expected = header + b"".join(p[len(header) :] for p in parts)
        merged = (tmp_path / "part-00000.csv").read_bytes()
        assert merged == expected
        assert merged.count(header) == 1
        rows = list(csv.reader(io.StringIO(merged.decode())))
        assert len(rows) - 1 == 2500
        manifest = json.loads((tmp_path / "_manifest.json").read_text())
        assert manifest["files"][0]["rows"] == 2500
        assert manifest["files"][0]["bytes"] == len(merged)
        assert manifest["merged"] is True

    def test_parquet(self, pardot, ready_export, tmp_path, context):
        import pyarrow.parquet as pq

        uris = _transfer(ready_export, f"file://{tmp_path}", file_format="parquet").execute(context)
        assert uris == [f"file://{tmp_path}/part-{i:05d}.parquet" for i in range(3)]
        files = pardot.export_files(ready_export)
        manifest = json.loads((tmp_path / "_manifest.json").read_text())
        for i, info in enumerate(files):
            table = pq.read_table(tmp_path / f"part-{i:05d}.parquet")
            assert table.num_rows == info["rows"]
            assert table.column_names == ["id", "prospect_id", "type_name", "details", "created_at"]
            assert manifest["files"][i]["rows"] == info["rows"]
            assert manifest["files"][i]["bytes"] == (tmp_path / f"part-{i:05d}.parquet").stat().st_size
        details = pq.read_table(tmp_path / "part-00000.parquet").column("details").to_pylist()
        assert "Multi-line\ndetail, with comma" in details

    def test_parquet_merged(self, pardot, ready_export, tmp_path, context):
        import pyarrow.parquet as pq

        _transfer(ready_export, f"file://{tmp_path}", file_format="parquet", merge=True).execute(context)
        assert _listing(tmp_path) == ["_manifest.json", "part-00000.parquet"]
        assert pq.read_table(tmp_path / "part-00000.parquet").num_rows == 2500

    def test_dropped_connection_resumes_identical(self, pardot, ready_export, tmp_path, context):
        pardot.faults({"kind": "truncate", "after_bytes": 5000, "match": r"/results/", "times": 2})
        _transfer(ready_export, f"file://{tmp_path}").execute(context)
        assert pardot.faults()["faults_injected"] == 2
        for i, info in enumerate(pardot.export_files(ready_export)):
            assert _sha((tmp_path / f"part-{i:05d}.csv").read_bytes()) == info["sha256"]

    def test_only_hidden_temporaries_while_downloading(self, pardot, ready_export, tmp_path, context):
        """Mid-transfer, nothing is visible under a final name; afterwards no temporary remains."""
        import threading

        pardot.faults({"kind": "throttle", "bytes_per_second": 100_000, "match": r"/results/"})
        seen: list[list[str]] = []
        final_sizes: dict[str, set[int]] = {}
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                names = _listing(tmp_path)
                seen.append(names)
                for name in names:
                    if not name.startswith("."):
                        try:
                            final_sizes.setdefault(name, set()).add((tmp_path / name).stat().st_size)
                        except FileNotFoundError:
                            pass
                stop.wait(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            _transfer(ready_export, f"file://{tmp_path}").execute(context)
        finally:
            stop.set()
            watcher.join()
        during = [names for names in seen if any(n.endswith(".tmp") for n in names)]
        assert during, "the watcher never saw the download in progress"
        for names in during:
            assert all(n.endswith(".tmp") or n.startswith("part-") for n in names), names
        # a final name only ever showed a whole file
        expected = {f"part-{i:05d}.csv": f["bytes"] for i, f in enumerate(pardot.export_files(ready_export))}
        for name, sizes in final_sizes.items():
            if name in expected:
                assert sizes == {expected[name]}, (name, sizes)
        assert _listing(tmp_path) == ["_manifest.json", "part-00000.csv", "part-00001.csv", "part-00002.csv"]

    def test_exhausted_retries_leave_nothing(self, pardot, ready_export, tmp_path, context):
        # the second file breaks off every time: the first completes, then the run fails
        pardot.faults({"kind": "truncate", "after_bytes": 3000, "match": r"/results/2$"})
        dest = tmp_path / "out"
        with pytest.raises(PardotApiError, match="broke off"):
            _transfer(ready_export, f"file://{dest}", max_concurrency=1).execute(context)
        assert _listing(dest) == []

    def test_exhausted_retries_parallel_leave_nothing(self, pardot, ready_export, tmp_path, context):
        pardot.faults({"kind": "status", "status": 503, "match": r"/results/3$"})
        dest = tmp_path / "out"
        with pytest.raises(PardotApiError):
            _transfer(ready_export, f"file://{dest}", max_concurrency=3).execute(context)
        assert _listing(dest) == []

    def test_overwrite_false_refuses_before_download(self, pardot, ready_export, tmp_path, context):
        (tmp_path / "part-00001.csv").write_text("mine")
        since = pardot.requests()[-1]["seq"]
        with pytest.raises(AirflowFailException, match="overwrite"):
            _transfer(ready_export, f"file://{tmp_path}").execute(context)
        assert _downloads(pardot, since) == []
        assert _listing(tmp_path) == ["part-00001.csv"]
        assert (tmp_path / "part-00001.csv").read_text() == "mine"

    def test_overwrite_true_replaces_and_removes_stale_parts(self, pardot, ready_export, tmp_path, context):
        for i in range(5):
            (tmp_path / f"part-{i:05d}.csv").write_text("old")
        (tmp_path / "_manifest.json").write_text("{}")
        (tmp_path / "notes.txt").write_text("keep")
        _transfer(ready_export, f"file://{tmp_path}", overwrite=True).execute(context)
        assert _listing(tmp_path) == [
            "_manifest.json",
            "notes.txt",
            "part-00000.csv",
            "part-00001.csv",
            "part-00002.csv",
        ]
        assert json.loads((tmp_path / "_manifest.json").read_text())["total_rows"] == 2500

    @pytest.mark.parametrize(
        "foreign",
        ["http://evil.example.com/api/v5/exports/1/results/3", "https://127.0.0.1:1/x", "file:///etc/passwd"],
    )
    def test_foreign_result_host_refused_before_download(
        self, pardot, ready_export, tmp_path, context, foreign
    ):
        # The emulator always names its own host, so the foreign URL is spliced into its real answer.
        op = _transfer(ready_export, f"file://{tmp_path}")
        real_get_export = op.hook.get_export

        def with_foreign_ref(export_id):
            export = real_get_export(export_id)
            export["resultRefs"] = [*export["resultRefs"][:2], foreign]
            return export

        op.hook.get_export = with_foreign_ref
        since = pardot.requests()[-1]["seq"]
        with pytest.raises(PardotValidationError, match="Refusing to download"):
            op.execute(context)
        assert _downloads(pardot, since) == []  # not even the two good files
        assert _listing(tmp_path) == []

    @pytest.mark.parametrize("state", ["Failed", "Canceled"])
    def test_failed_export_fails_at_once(self, pardot, tmp_path, context, state):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        pardot.set_export(export_id, state=state)
        with pytest.raises(PardotExportError, match=state):
            _transfer(export_id, f"file://{tmp_path}").execute(context)

    def test_expired_export_fails_at_once(self, pardot, ready_export, tmp_path, context):
        pardot.set_export(ready_export, isExpired=True)
        with pytest.raises(PardotExportError, match="expired"):
            _transfer(ready_export, f"file://{tmp_path}").execute(context)

    def test_unfinished_export_is_not_fail_fast(self, pardot, tmp_path, context):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        with pytest.raises(PardotApiError, match="not Complete") as err:
            _transfer(export_id, f"file://{tmp_path}").execute(context)
        assert not isinstance(err.value, AirflowFailException)

    def test_export_without_data(self, pardot, tmp_path, context):
        pardot.config(export_rows=0)
        export_id = create_export(pardot)
        pardot.wait_export(export_id)
        assert _transfer(export_id, f"file://{tmp_path}").execute(context) == []
        manifest = json.loads((tmp_path / "_manifest.json").read_text())
        assert manifest["files"] == []
        assert manifest["total_rows"] == 0

    def test_s3_through_moto(self, pardot, ready_export, s3_bucket, context):
        uris = _transfer(
            ready_export, f"s3://{s3_bucket}/pardot/run1/", dest_conn_id="aws_test", max_concurrency=3
        ).execute(context)
        assert uris == [f"s3://{s3_bucket}/pardot/run1/part-{i:05d}.csv" for i in range(3)]
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        client = S3Hook(aws_conn_id="aws_test").get_conn()
        keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"])
        assert keys == [
            f"pardot/run1/{n}" for n in ("_manifest.json", *(f"part-{i:05d}.csv" for i in range(3)))
        ]
        for i, info in enumerate(pardot.export_files(ready_export)):
            body = client.get_object(Bucket=s3_bucket, Key=f"pardot/run1/part-{i:05d}.csv")["Body"].read()
            assert _sha(body) == info["sha256"]
        manifest = json.loads(
            client.get_object(Bucket=s3_bucket, Key="pardot/run1/_manifest.json")["Body"].read()
        )
        assert manifest["total_rows"] == 2500
        # overwrite=False is enforced on S3 too
        with pytest.raises(AirflowFailException):
            _transfer(ready_export, f"s3://{s3_bucket}/pardot/run1/", dest_conn_id="aws_test").execute(
                context
            )

    def test_s3_failure_leaves_nothing(self, pardot, ready_export, s3_bucket, context):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        pardot.faults({"kind": "status", "status": 503, "match": r"/results/2$"})
        with pytest.raises(PardotApiError):
            _transfer(ready_export, f"s3://{s3_bucket}/fail/", dest_conn_id="aws_test").execute(context)
        listing = S3Hook(aws_conn_id="aws_test").get_conn().list_objects_v2(Bucket=s3_bucket, Prefix="fail/")
        assert listing.get("KeyCount", 0) == 0


class TestQueryTransfer:
    def _op(self, dest, file_format, **kw):
        return PardotQueryToObjectStorageOperator(
            task_id="query",
            object_name="list",
            criteria=kw.pop("criteria", {}),
            dest=str(dest),
            file_format=file_format,
            **kw,
        )

    @pytest.mark.parametrize("file_format", ["jsonl", "csv", "parquet"])
    def test_formats(self, pardot, tmp_path, context, file_format):
        expected = pardot.records("list")
        uris = self._op(f"file://{tmp_path}", file_format).execute(context)
        path = tmp_path / f"part-00000.{file_format}"
        assert uris == [f"file://{path}"]
        if file_format == "jsonl":
            ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
        elif file_format == "csv":
            ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(path.read_text()))]
        else:
            import pyarrow.parquet as pq

            ids = pq.read_table(path).column("id").to_pylist()
        assert sorted(ids) == sorted(expected)
        manifest = json.loads((tmp_path / "_manifest.json").read_text())
        assert manifest["files"][0]["rows"] == len(expected)
        assert manifest["files"][0]["bytes"] == path.stat().st_size
        assert _listing(tmp_path) == ["_manifest.json", f"part-00000.{file_format}"]

    def test_sha256_in_manifest_when_asked(self, pardot, tmp_path, context):
        self._op(f"file://{tmp_path}", "jsonl", checksum="sha256").execute(context)
        (entry,) = json.loads((tmp_path / "_manifest.json").read_text())["files"]
        assert entry["sha256"] == _sha((tmp_path / "part-00000.jsonl").read_bytes())

    def test_bad_criteria_refused_before_anything(self, pardot, tmp_path, context):
        with pytest.raises(PardotValidationError):
            self._op(f"file://{tmp_path}/q", "jsonl", criteria={"bogus": 1}).execute(context)
        assert pardot.requests() == []
        assert not (tmp_path / "q").exists()

    def test_failure_leaves_nothing(self, pardot, tmp_path, context):
        pardot.faults({"kind": "status", "status": 503, "match": r"/api/list/"})
        with pytest.raises(PardotApiError):
            self._op(f"file://{tmp_path}", "csv").execute(context)
        assert _listing(tmp_path) == []


def test_random_chunking_of_real_export_counts(pardot, ready_export):
    """The row counter agrees with the csv module on the emulator's tricky rows, any chunking."""
    from airflow_provider_pardot.hooks.pardot import PardotHook

    info = pardot.export_files(ready_export)[0]
    data = b"".join(PardotHook().iter_result(info["url"]))
    rng = random.Random(7)
    counter = CsvRowCounter()
    pos = 0
    while pos < len(data):
        step = rng.randint(1, 5000)
        counter.feed(data[pos : pos + step])
        pos += step
    assert counter.rows == info["rows"] == len(list(csv.reader(io.StringIO(data.decode())))) - 1
