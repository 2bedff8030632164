"""PardotCreateExportOperator and PardotCancelExportOperator against the emulator."""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, TaskDeferred
from export_helpers import VA_ARGS, VA_FIELDS, create_export

from airflow_provider_pardot.exceptions import PardotExportError, PardotValidationError
from airflow_provider_pardot.operators.export import PardotCancelExportOperator, PardotCreateExportOperator
from airflow_provider_pardot.triggers.export import PardotExportTrigger


def _op(**kw) -> PardotCreateExportOperator:
    params = {
        "task_id": "create",
        "object_name": "visitorActivity",
        "procedure": "filter_by_created_at",
        "arguments": VA_ARGS,
        "fields": VA_FIELDS,
    }
    params.update(kw)
    return PardotCreateExportOperator(**params)


def _export_posts(emulator) -> list[dict]:
    return [r for r in emulator.requests() if r["method"] == "POST" and "export" in r["path"]]


class TestCreateExport:
    def test_template_fields_and_defaults(self):
        op = _op()
        assert op.template_fields == (
            "object_name",
            "procedure",
            "arguments",
            "fields",
            "export_options",
            "pardot_conn_id",
        )
        assert op.pardot_conn_id == "pardot_default"
        assert op.wait_for_completion is False
        assert op.timeout == 7 * 24 * 3600

    def test_creates_and_returns_id_with_link(self, pardot, context, capsys):
        op = _op()
        export_id = op.execute(context)
        assert isinstance(export_id, int)
        assert pardot.get_export(export_id)["state"] in ("Waiting", "Processing", "Complete")
        link = context["ti"].pushed["pardot_export"]
        assert link == {"host": pardot.url, "export_id": export_id}
        assert "Pardot API: 1 request by this task; account usage" in capsys.readouterr().out
        posts = _export_posts(pardot)
        assert len(posts) == 1
        assert posts[0]["path"] == "/api/v5/exports"

    def test_v4_export_api(self, emulator, set_conn, context):
        emulator.config(export_delay=0.05)
        set_conn("pardot_default", emulator.url, export_api_version=4)
        export_id = _op().execute(context)
        assert _export_posts(emulator)[0]["path"] == "/api/export/version/4/do/create"
        emulator.wait_export(export_id)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"object_name": "opportunity"}, "cannot be exported"),
            ({"procedure": "filter_by_whatever"}, "not an export procedure"),
            ({"arguments": {"created_after": "2024-01-01 00:00:00", "bogus": 1}}, "not an argument"),
            ({"arguments": {}}, "needs the argument"),
            (
                {
                    "arguments": {
                        "created_after": "2024-02-01 00:00:00",
                        "created_before": "2024-01-01 00:00:00",
                    }
                },
                "must be after",
            ),
            (
                {
                    "arguments": {
                        "created_after": "2022-01-01 00:00:00",
                        "created_before": "2024-01-01 00:00:00",
                    }
                },
                "at most one year",
            ),
            ({"fields": [f"f{i}" for i in range(151)]}, "at most 150"),
            (
                {
                    "object_name": "listMembership",
                    "arguments": {**VA_ARGS, "deleted": "maybe"},
                },
                "deleted must be one of",
            ),
        ],
    )
    def test_validation_before_any_request(self, pardot, context, kwargs, message):
        with pytest.raises(PardotValidationError, match=message):
            _op(**kwargs).execute(context)
        assert pardot.requests() == []

    def test_v5_options_are_sent(self, pardot, context):
        export_id = _op(export_options={"includeByteOrderMark": True}).execute(context)
        pardot.wait_export(export_id)
        files = pardot.export_files(export_id)
        from airflow_provider_pardot.hooks.pardot import PardotHook

        first = b"".join(PardotHook().iter_result(files[0]["url"]))
        assert first.startswith(b"\xef\xbb\xbf")

    def test_wait_polling(self, pardot, context):
        export_id = _op(wait_for_completion=True, deferrable=False, poll_interval=0.1).execute(context)
        assert pardot.get_export(export_id)["state"] == "Complete"

    def test_wait_polling_fails_on_canceled(self, pardot, context, monkeypatch):
        op = _op(wait_for_completion=True, deferrable=False, poll_interval=0.1)
        original = op.hook.get_export

        def cancel_then_read(export_id):
            pardot.set_export(export_id, state="Canceled")
            return original(export_id)

        monkeypatch.setattr(op.hook, "get_export", cancel_then_read)
        pardot.config(export_delay=5)
        with pytest.raises(PardotExportError, match="Canceled") as err:
            op.execute(context)
        assert isinstance(err.value, AirflowFailException)

    def test_wait_polling_timeout_cancels(self, pardot, context):
        pardot.config(export_delay=30)
        op = _op(wait_for_completion=True, deferrable=False, poll_interval=0.1, timeout=0.3)
        with pytest.raises(AirflowException, match="Timed out"):
            op.execute(context)
        assert pardot.get_export(op.export_id)["state"] == "Canceled"

    def test_deferrable_defers_after_create_and_completes(self, pardot, context):
        op = _op(wait_for_completion=True, deferrable=True, poll_interval=0.2)
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(context)
        # the create POST ran on the worker, before deferring
        assert len(_export_posts(pardot)) == 1
        trigger = deferred.value.trigger
        assert isinstance(trigger, PardotExportTrigger)
        assert deferred.value.method_name == "execute_complete"
        assert trigger.export_id == op.export_id
        assert trigger.poll_interval == 0.2
        assert trigger.end_time is not None
        event = asyncio.run(_first_event(trigger))
        assert event.payload["status"] == "success"
        assert event.payload["export"]["state"] == "Complete"
        assert op.execute_complete(context, event.payload) == op.export_id

    def test_execute_complete_failures(self, context):
        op = _op()
        with pytest.raises(PardotExportError, match="Failed"):
            op.execute_complete(
                context, {"status": "failed", "export_id": 1, "message": "export 1 ended in state Failed."}
            )
        with pytest.raises(AirflowException, match="boom"):
            op.execute_complete(context, {"status": "error", "export_id": 1, "message": "boom"})

    def test_on_kill_cancels_unfinished_export(self, pardot, context):
        pardot.config(export_delay=30)
        op = _op()
        export_id = op.execute(context)
        op.on_kill()
        assert pardot.get_export(export_id)["state"] == "Canceled"

    def test_on_kill_is_best_effort(self, pardot, context):
        op = _op()
        export_id = op.execute(context)
        pardot.wait_export(export_id)
        op.on_kill()  # Pardot refuses (178: state does not allow it); nothing raises
        assert pardot.get_export(export_id)["state"] == "Complete"


class TestCancelExport:
    def test_cancels(self, pardot, context):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        result = PardotCancelExportOperator(task_id="cancel", export_id=export_id).execute(context)
        assert result["state"] == "Canceled"
        assert pardot.get_export(export_id)["state"] == "Canceled"
        assert PardotCancelExportOperator.template_fields == ("export_id", "pardot_conn_id")

    def test_refused_cancel_is_logged_not_raised(self, pardot, context, capsys):
        export_id = create_export(pardot)
        pardot.wait_export(export_id)
        result = PardotCancelExportOperator(task_id="cancel", export_id=export_id).execute(context)
        assert result is None
        assert "refused to cancel" in capsys.readouterr().out

    def test_cancel_path_unknown_is_not_fatal(self, pardot, context, capsys):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        pardot.faults({"kind": "status", "status": 404, "match": r"/do/cancel$"})
        assert PardotCancelExportOperator(task_id="cancel", export_id=export_id).execute(context) is None
        assert "refused to cancel" in capsys.readouterr().out


async def _first_event(trigger):
    async for event in trigger.run():
        return event
    return None
