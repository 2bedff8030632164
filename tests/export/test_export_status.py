"""
One reading of an export's state (``export_status``), and the four places that wait for an export
agree on it: the create-export operator, the sensor, the trigger and the transfer.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from export_helpers import VA_ARGS, VA_FIELDS

from airflow_provider_pardot.api.exports import ExportOutcome, export_status
from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError
from airflow_provider_pardot.operators.export import PardotCreateExportOperator
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator
from airflow_provider_pardot.triggers.export import PardotExportTrigger

COMPLETE, FAILED, RUNNING = ExportOutcome.COMPLETE, ExportOutcome.FAILED, ExportOutcome.RUNNING
REFS = ["https://pi.pardot.com/api/export/version/4/do/downloadResults/id/7/file/1", "https://h/2"]


def _v4(**record) -> dict:
    return {"@attributes": {"stat": "ok", "version": 1}, "export": {"id": 7, **record}}


def _v5(**record) -> dict:
    return {"id": 7, "createdById": 1, "fields": ["id"], **record}


class TestExportStatus:
    @pytest.mark.parametrize(
        ("state", "outcome"),
        [
            ("Waiting", RUNNING),
            ("Processing", RUNNING),
            ("Complete", COMPLETE),
            ("Failed", FAILED),
            ("Canceled", FAILED),
        ],
    )
    @pytest.mark.parametrize("shape", ["v4", "v5", "normalised"])
    def test_every_state_in_every_shape(self, state, outcome, shape):
        if shape == "v4":
            export = _v4(state=state, isExpired=False, resultRefs=REFS)
        elif shape == "v5":
            export = _v5(status=state, isExpired=False, resultRefs=REFS)
        else:
            export = {"id": 7, "state": state, "isExpired": False, "resultRefs": REFS}
        status = export_status(export)
        assert status.outcome is outcome
        assert status.complete is (outcome is COMPLETE)
        assert status.failed is (outcome is FAILED)
        assert "Pardot export 7" in status.message
        assert state in status.message

    def test_complete_counts_its_files(self):
        assert export_status(_v5(status="Complete", resultRefs=REFS)).message == (
            "Pardot export 7 is Complete with 2 result file(s)."
        )
        # v3/v4 send one file as a plain string
        one = export_status(_v4(state="Complete", isExpired=False, resultRefs=REFS[0]))
        assert one.message == "Pardot export 7 is Complete with 1 result file(s)."

    @pytest.mark.parametrize("refs", [None, [], ""], ids=["null", "empty-list", "empty-string"])
    def test_complete_without_files_is_complete(self, refs):
        """Pardot leaves resultRefs out when the export found no data: a success with no files."""
        record = {"state": "Complete", "isExpired": False}
        if refs is not None:
            record["resultRefs"] = refs
        status = export_status(_v4(**record))
        assert status.outcome is COMPLETE
        assert "0 result file(s)" in status.message
        assert export_status(_v5(status="Complete")).outcome is COMPLETE

    @pytest.mark.parametrize("expired", [True, "true", "1"])
    @pytest.mark.parametrize("state", ["Complete", "Waiting"])
    def test_expired_fails_whatever_the_state(self, state, expired):
        status = export_status(_v4(state=state, isExpired=expired, resultRefs=REFS))
        assert status.outcome is FAILED
        assert "expired" in status.message
        assert f"state {state}" in status.message
        assert "Create a new export" in status.message

    def test_not_expired_when_isexpired_is_false_text(self):
        assert export_status(_v4(state="Complete", isExpired="false", resultRefs=REFS)).complete

    def test_a_failed_state_is_named_before_expiry(self):
        status = export_status(_v5(status="Canceled", isExpired=True))
        assert status.outcome is FAILED
        assert status.message == "Pardot export 7 ended in state Canceled."

    @pytest.mark.parametrize(
        ("state", "outcome"),
        [("COMPLETE", COMPLETE), ("failed", FAILED), ("Cancelled", FAILED), (" canceled ", FAILED)],
    )
    def test_states_are_read_without_regard_to_case(self, state, outcome):
        assert export_status(_v5(status=state)).outcome is outcome

    @pytest.mark.parametrize("export", [_v5(status="Queued"), _v5(), _v4(), {}, None])
    def test_unknown_or_missing_state_keeps_waiting(self, export):
        assert export_status(export).outcome is RUNNING

    def test_v4_state_wins_over_nothing_and_v5_status_is_read(self):
        assert export_status({"id": 1, "status": "Failed"}).failed
        assert export_status({"export": {"id": 1, "state": "Failed"}}).failed


# ---------------------------------------------------------------------------------------------
# The four readers agree: same export, same verdict
# ---------------------------------------------------------------------------------------------
def _drive(emulator, export_id, state):
    if state == "expired":
        emulator.set_export(export_id, state="Complete", isExpired=True)
    elif state != "running":
        emulator.set_export(export_id, state=state)


def _sensor_verdict(export_id, context):
    sensor = PardotExportSensor(task_id="wait", export_id=export_id, poke_interval=0.1)
    try:
        done = sensor.poke(context)
    except PardotExportError as err:
        return FAILED, err.message
    return (COMPLETE if done else RUNNING), None


def _trigger_verdict(export_id, context):
    async def first():
        trigger = PardotExportTrigger(export_id, poll_interval=0.1, jitter=False, timeout=0.3)
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first())
    outcome = {"success": COMPLETE, "failed": FAILED, "timeout": RUNNING}[payload["status"]]
    return outcome, payload["message"] if outcome is FAILED else None


def _transfer_verdict(export_id, context, dest):
    op = PardotExportToObjectStorageOperator(task_id="move", export_id=export_id, dest=f"file://{dest}")
    try:
        uris = op.execute(context)
    except PardotExportError as err:
        return FAILED, err.message
    except PardotApiError as err:
        return (RUNNING if "not Complete" in err.message else err), None
    assert len(uris) == 2
    return COMPLETE, None


@pytest.mark.parametrize("api_version", [5, 4])
@pytest.mark.parametrize("state", ["Complete", "Failed", "Canceled", "expired", "running"])
def test_operator_sensor_trigger_and_transfer_agree(
    emulator, set_conn, context, tmp_path, monkeypatch, state, api_version
):
    """
    The operator creates an export and waits for it on the worker; at its first poll the export is
    driven to ``state``, and the sensor, the trigger and the transfer read that same export.
    """
    emulator.config(export_delay=30, export_rows=20, export_file_max_rows=10)
    set_conn("pardot_default", emulator.url, export_api_version=api_version)
    op = PardotCreateExportOperator(
        task_id="create",
        object_name="visitorActivity",
        procedure="filter_by_created_at",
        arguments=VA_ARGS,
        fields=VA_FIELDS,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        timeout=1.5,
    )
    verdicts = {}
    original = op.hook.get_export

    def drive_then_read(export_id):
        if not verdicts:
            _drive(emulator, export_id, state)
            verdicts["sensor"] = _sensor_verdict(export_id, context)
            verdicts["trigger"] = _trigger_verdict(export_id, context)
            verdicts["transfer"] = _transfer_verdict(export_id, context, tmp_path / "out")
        return original(export_id)

    monkeypatch.setattr(op.hook, "get_export", drive_then_read)
    try:
        op.execute(context)
    except PardotExportError as err:
        verdicts["operator"] = (FAILED, err.message)
    except AirflowException as err:
        verdicts["operator"] = (RUNNING if "Timed out" in str(err) else err), None
    else:
        verdicts["operator"] = (COMPLETE, None)

    expected = {"Complete": COMPLETE, "running": RUNNING}.get(state, FAILED)
    assert {name: outcome for name, (outcome, _) in verdicts.items()} == dict.fromkeys(
        ("sensor", "trigger", "transfer", "operator"), expected
    )
    messages = {message for _, message in verdicts.values()}
    if expected is FAILED:
        assert len(messages) == 1  # word for word the same reason everywhere
        assert ("expired" if state == "expired" else f"state {state}") in messages.pop()


# ---------------------------------------------------------------------------------------------
# The trigger's event, and the one execute_complete that reads it
# ---------------------------------------------------------------------------------------------
#: An event as provider versions before the shared execute_complete serialised it (no "usage").
OLD_SUCCESS = {
    "status": "success",
    "export_id": 5,
    "export": {"id": 5, "state": "Complete", "isExpired": False, "resultRefs": ["u"], "createdAt": None},
    "message": "Pardot export 5 is Complete with 1 result file(s).",
    "requests": 3,
}
OLD_FAILED = {**OLD_SUCCESS, "status": "failed", "message": "Pardot export 5 ended in state Failed."}


def _create_op(**kw) -> PardotCreateExportOperator:
    return PardotCreateExportOperator(
        task_id="create",
        object_name="visitorActivity",
        procedure="filter_by_created_at",
        arguments=VA_ARGS,
        **kw,
    )


class TestTriggerEvent:
    def test_payload_keys_stay_as_serialised(self, pardot):
        from export_helpers import create_export

        export_id = create_export(pardot)
        pardot.wait_export(export_id)

        async def first():
            async for event in PardotExportTrigger(export_id, poll_interval=0.1, jitter=False).run():
                return event.payload

        payload = asyncio.run(first())
        assert set(payload) == {"status", "export_id", "export", "message", "requests", "usage"}
        assert payload["status"] == "success"
        assert payload["message"] == export_status(payload["export"]).message

    def test_operator_and_sensor_read_an_old_event(self, context):
        sensor = PardotExportSensor(task_id="wait", export_id=5)
        assert _create_op().execute_complete(context, OLD_SUCCESS) == 5
        assert sensor.execute_complete(context, OLD_SUCCESS) == OLD_SUCCESS["export"]
        for task in (_create_op(), sensor):
            with pytest.raises(PardotExportError, match="ended in state Failed"):
                task.execute_complete(context, OLD_FAILED)

    def test_operator_timeout_event_cancels_its_export(self, pardot, context, capsys):
        from export_helpers import create_export

        pardot.config(export_delay=30)
        op = _create_op()
        op.export_id = create_export(pardot)
        event = {
            "status": "timeout",
            "export_id": op.export_id,
            "message": "Timed out waiting",
            "requests": 4,
        }
        with pytest.raises(AirflowException, match="Timed out waiting"):
            op.execute_complete(context, event)
        assert pardot.get_export(op.export_id)["state"] == "Canceled"
        out = capsys.readouterr().out
        assert "Pardot API: 4 requests by the trigger" in out
        assert re.search(r"Pardot API: 1 requests? by this task", out)  # the cancel
