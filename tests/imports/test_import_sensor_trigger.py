"""PardotImportSensor (poke, reschedule, deferrable) and PardotImportTrigger against the emulator."""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from import_helpers import CAMPAIGN, api_log

from airflow_provider_pardot.exceptions import PardotImportError
from airflow_provider_pardot.hooks.pardot import PardotHook
from airflow_provider_pardot.sensors.imports import PardotImportSensor
from airflow_provider_pardot.triggers.imports import PardotImportTrigger


def _submitted(rows: int = 2) -> int:
    """An import submitted elsewhere (here: through the hook) with ``rows`` new prospects."""
    hook = PardotHook()
    import_id = hook.create_import(createOnNoMatch=True)["id"]
    lines = "".join(
        f"s{i}.{import_id}@sensor.example.com,s{i}.{import_id}@sensor.example.com,{CAMPAIGN}\n"
        for i in range(rows)
    )
    hook.add_import_batch(import_id, b"email,matchEmail,campaignId\n" + lines.encode())
    hook.submit_import(import_id)
    return import_id


def _sensor(import_id, **kw) -> PardotImportSensor:
    return PardotImportSensor(task_id="wait", import_id=import_id, poke_interval=0.05, **kw)


def _first_event(trigger):
    async def first():
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger yielded nothing")

    return asyncio.run(first())


class TestSensor:
    def test_fields_and_defaults(self):
        sensor = _sensor(1)
        assert sensor.template_fields == ("import_id", "pardot_conn_id")
        assert sensor.timeout == 24 * 3600

    def test_poke_returns_the_import(self, emulator, make_conn, context):
        emulator.config(import_polls=2)
        make_conn()
        import_id = _submitted()
        record = _sensor(import_id, mode="poke").execute(context)
        assert (record["id"], record["status"], record["createdCount"]) == (import_id, "Complete", 2)
        reads = [r for r in api_log(emulator) if r["method"] == "GET" and r["path"].endswith(str(import_id))]
        assert len(reads) >= 3  # Waiting, Processing, Complete

    def test_several_ids_return_a_list(self, pardot, context):
        ids = [_submitted(1), _submitted(3)]
        records = _sensor(ids).execute(context)
        assert [r["createdCount"] for r in records] == [1, 3]

    @pytest.mark.parametrize("how", ["Failed", "Cancelled", "expired"])
    def test_fails_at_once_without_retries(self, pardot, context, how):
        import_id = _submitted()
        if how == "expired":
            pardot.set_import(import_id, isExpired=True)
        else:
            pardot.set_import(import_id, status=how)
        with pytest.raises(PardotImportError) as err:
            _sensor(import_id).execute(context)
        assert isinstance(err.value, AirflowFailException)
        assert (how.lower() if how == "expired" else how) in str(err.value)

    def test_times_out(self, pardot, context):
        import_id = _submitted()
        pardot.set_import(import_id, status="Processing")
        with pytest.raises(AirflowSensorTimeout):
            _sensor(import_id, timeout=0.3).execute(context)

    def test_reschedule_mode(self, pardot, context, monkeypatch):
        try:
            from airflow.sdk.exceptions import AirflowRescheduleException
        except ImportError:  # Airflow 2: the first reschedule date comes from the metadata DB
            from airflow.exceptions import AirflowRescheduleException

            monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)
        import_id = _submitted()
        pardot.set_import(import_id, status="Processing")
        with pytest.raises(AirflowRescheduleException):
            _sensor(import_id, mode="reschedule").execute(context)
        pardot.set_import(import_id, status="Complete")
        assert _sensor(import_id, mode="reschedule").execute(context)["status"] == "Complete"

    def test_deferrable(self, pardot, context):
        import_id = _submitted()
        pardot.set_import(import_id, status="Processing")
        sensor = _sensor(import_id, deferrable=True)
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute(context)
        trigger = deferred.value.trigger
        assert isinstance(trigger, PardotImportTrigger)
        pardot.set_import(import_id, status="Complete")
        trigger.jitter = False
        event = _first_event(trigger)
        assert _sensor(import_id, deferrable=True).execute_complete(context, event.payload)["id"] == import_id

    def test_deferrable_returns_at_once_when_complete(self, pardot, context):
        import_id = _submitted()
        assert _sensor(import_id, deferrable=True).execute(context)["status"] == "Complete"


class TestTrigger:
    def test_serialises_and_rebuilds(self):
        trigger = PardotImportTrigger([7001, "7002"], pardot_conn_id="c", poll_interval=5, timeout=60)
        path, kwargs = trigger.serialize()
        assert path == "airflow_provider_pardot.triggers.imports.PardotImportTrigger"
        again = PardotImportTrigger(**kwargs)
        assert again.serialize() == (path, kwargs)
        assert kwargs["import_ids"] == [7001, 7002]

    def test_success_reads_each_import_until_complete(self, emulator, make_conn):
        emulator.config(import_polls=2)
        make_conn()
        ids = [_submitted(1), _submitted(2)]
        event = _first_event(PardotImportTrigger(ids, poll_interval=0.01, jitter=False))
        assert event.payload["status"] == "success"
        assert [event.payload["imports"][str(i)]["createdCount"] for i in ids] == [1, 2]
        assert event.payload["requests"] >= 6

    @pytest.mark.parametrize("status", ["Failed", "Cancelled"])
    def test_failed(self, pardot, status):
        import_id = _submitted()
        pardot.set_import(import_id, status=status)
        event = _first_event(PardotImportTrigger(import_id, poll_interval=0.01, jitter=False))
        assert event.payload["status"] == "failed"
        assert status in event.payload["message"]

    def test_timeout_and_error(self, pardot):
        import_id = _submitted()
        pardot.set_import(import_id, status="Waiting")
        event = _first_event(PardotImportTrigger(import_id, poll_interval=0.05, timeout=0.2, jitter=False))
        assert event.payload["status"] == "timeout"
        assert "Waiting" in event.payload["message"]
        event = _first_event(
            PardotImportTrigger(999999, poll_interval=0.01, jitter=False, max_poll_failures=1)
        )
        assert event.payload["status"] == "error"

    def test_5xx_and_66_on_reads_are_waited_out(self, pardot):
        import_id = _submitted()
        pardot.faults(
            {"match": r"/imports/\d+$", "method": "GET", "kind": "status", "status": 503, "times": 2},
        )
        event = _first_event(PardotImportTrigger(import_id, poll_interval=0.01, jitter=False))
        assert event.payload["status"] == "success"
        pardot.faults({"match": r"/imports/\d+$", "method": "GET", "kind": "error", "code": 66, "times": 2})
        event = _first_event(PardotImportTrigger(import_id, poll_interval=0.01, jitter=False))
        assert event.payload["status"] == "success"
