"""PardotExportSensor (poke, reschedule, deferrable) and PardotExportTrigger against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    TaskDeferred,
)
from export_helpers import create_export

from airflow_provider_pardot.exceptions import PardotExportError
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.triggers.export import PardotExportTrigger

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent


async def _first_event(trigger) -> TriggerEvent:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger yielded nothing")


def run_trigger(trigger) -> TriggerEvent:
    return asyncio.run(_first_event(trigger))


def _sensor(export_id, **kw) -> PardotExportSensor:
    return PardotExportSensor(task_id="wait", export_id=export_id, poke_interval=0.1, **kw)


def _finish(emulator, export_id, state):
    """Drive the export to a final state: Complete, Failed, Canceled or expired."""
    if state == "expired":
        emulator.set_export(export_id, state="Complete", isExpired=True)
    elif state == "Complete":
        emulator.wait_export(export_id)
    else:
        emulator.set_export(export_id, state=state)


class TestSensor:
    def test_fields(self):
        sensor = _sensor(1)
        assert sensor.template_fields == ("export_id", "pardot_conn_id")
        assert sensor.timeout == 7 * 24 * 3600

    def test_poke_mode_success_returns_export(self, pardot, context, capsys):
        export_id = create_export(pardot)
        export = _sensor(export_id, mode="poke").execute(context)
        assert export["id"] == export_id
        assert export["state"] == "Complete"
        assert export["isExpired"] is False
        assert len(export["resultRefs"]) == 3
        assert "Pardot API: " in capsys.readouterr().out

    @pytest.mark.parametrize("state", ["Failed", "Canceled", "expired"])
    def test_poke_mode_fails_at_once(self, pardot, context, state):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        _finish(pardot, export_id, state)
        with pytest.raises(PardotExportError, match=state) as err:
            _sensor(export_id, mode="poke").execute(context)
        assert isinstance(err.value, AirflowFailException)

    def test_poke_mode_times_out(self, pardot, context):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        with pytest.raises(AirflowSensorTimeout):
            _sensor(export_id, mode="poke", timeout=0.3).execute(context)

    def test_reschedule_mode(self, pardot, context, monkeypatch):
        try:
            from airflow.sdk.exceptions import AirflowRescheduleException
        except ImportError:  # Airflow 2: the first reschedule date comes from the metadata DB
            from airflow.exceptions import AirflowRescheduleException

            monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)

        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        with pytest.raises(AirflowRescheduleException):
            _sensor(export_id, mode="reschedule").execute(context)
        pardot.set_export(export_id, state="Complete")
        assert _sensor(export_id, mode="reschedule").execute(context)["state"] == "Complete"
        pardot.set_export(export_id, state="Complete", isExpired=True)
        with pytest.raises(PardotExportError, match="expired"):
            _sensor(export_id, mode="reschedule").execute(context)

    def test_deferrable_returns_at_once_when_complete(self, pardot, context):
        export_id = create_export(pardot)
        pardot.wait_export(export_id)
        assert _sensor(export_id, deferrable=True).execute(context)["state"] == "Complete"

    def test_deferrable_fails_at_once_on_first_poke(self, pardot, context):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        pardot.set_export(export_id, state="Failed")
        with pytest.raises(PardotExportError, match="Failed"):
            _sensor(export_id, deferrable=True).execute(context)

    def test_deferrable_defers_and_completes(self, pardot, context):
        pardot.config(export_delay=0.5)
        export_id = create_export(pardot)
        sensor = _sensor(export_id, deferrable=True, timeout=60)
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute(context)
        trigger = deferred.value.trigger
        assert isinstance(trigger, PardotExportTrigger)
        assert deferred.value.timeout.total_seconds() == 60
        assert trigger.poll_interval == 0.1
        assert trigger.end_time == pytest.approx(time.time() + 60, abs=5)
        event = run_trigger(trigger)
        assert event.payload["status"] == "success"
        export = sensor.execute_complete(context, event.payload)
        assert export["state"] == "Complete"
        assert export["id"] == export_id

    @pytest.mark.parametrize("state", ["Failed", "Canceled", "expired"])
    def test_deferrable_fails_on_final_state(self, pardot, context, state):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        sensor = _sensor(export_id, deferrable=True)
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute(context)
        _finish(pardot, export_id, state)
        event = run_trigger(deferred.value.trigger)
        assert event.payload["status"] == "failed"
        assert state in event.payload["message"]
        with pytest.raises(PardotExportError, match=state) as err:
            sensor.execute_complete(context, event.payload)
        assert isinstance(err.value, AirflowFailException)

    def test_execute_complete_timeout_and_error(self, context):
        sensor = _sensor(1)
        with pytest.raises(AirflowSensorTimeout):
            sensor.execute_complete(context, {"status": "timeout", "message": "late"})
        with pytest.raises(AirflowException, match="nope"):
            sensor.execute_complete(context, {"status": "error", "message": "nope"})


class TestTrigger:
    def test_serialize_round_trip(self):
        trigger = PardotExportTrigger(export_id=42, pardot_conn_id="my_pardot", poll_interval=30, timeout=100)
        classpath, kwargs = trigger.serialize()
        assert classpath == "airflow_provider_pardot.triggers.export.PardotExportTrigger"
        assert kwargs["end_time"] == pytest.approx(time.time() + 100, abs=5)
        module, name = classpath.rsplit(".", 1)
        rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)
        assert rebuilt.export_id == 42
        assert rebuilt.pardot_conn_id == "my_pardot"

    def test_serialize_through_airflow_serde(self):
        from airflow.serialization.serialized_objects import BaseSerialization

        trigger = PardotExportTrigger(export_id=7, poll_interval=5, end_time=1234.5)
        classpath, kwargs = trigger.serialize()
        restored = BaseSerialization.deserialize(BaseSerialization.serialize(kwargs))
        assert PardotExportTrigger(**restored).serialize() == (classpath, kwargs)

    def test_success_event(self, pardot):
        export_id = create_export(pardot)
        event = run_trigger(PardotExportTrigger(export_id, poll_interval=0.1))
        payload = event.payload
        assert payload["status"] == "success"
        assert payload["export_id"] == export_id
        assert payload["export"]["state"] == "Complete"
        assert len(payload["export"]["resultRefs"]) == 3
        assert payload["requests"] >= 1

    def test_v4_success_event_with_single_file(self, emulator, set_conn):
        emulator.config(export_delay=0.05)
        set_conn("pardot_default", emulator.url, export_api_version=4)
        export_id = create_export(emulator, rows=10)
        event = run_trigger(PardotExportTrigger(export_id, poll_interval=0.1))
        assert event.payload["status"] == "success"
        assert len(event.payload["export"]["resultRefs"]) == 1

    def test_timeout_event(self, pardot):
        pardot.config(export_delay=30)
        export_id = create_export(pardot)
        started = time.monotonic()
        event = run_trigger(PardotExportTrigger(export_id, poll_interval=0.1, timeout=0.5))
        assert event.payload["status"] == "timeout"
        assert "Waiting" in event.payload["message"] or "Processing" in event.payload["message"]
        assert time.monotonic() - started < 3

    def test_error_event_never_raises(self, pardot):
        event = run_trigger(PardotExportTrigger(999999, poll_interval=0.1, jitter=False))
        assert event.payload["status"] == "error"
        assert "999999" in event.payload["message"]

    def test_error_event_on_bad_connection(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_BROKEN", '{"conn_type": "pardot", "host": "http://127.0.0.1:9"}')
        event = run_trigger(PardotExportTrigger(1, pardot_conn_id="broken", poll_interval=0.1))
        assert event.payload["status"] == "error"

    def test_transient_poll_failures_are_tolerated(self, pardot):
        export_id = create_export(pardot)
        pardot.wait_export(export_id)
        # each poll's own retries (max_retries=3) are exhausted once; the next poll succeeds
        pardot.faults({"kind": "status", "status": 503, "match": rf"/exports/{export_id}$", "times": 4})
        event = run_trigger(PardotExportTrigger(export_id, poll_interval=0.1, jitter=False))
        assert event.payload["status"] == "success"

    def test_polls_are_spread_and_report_within_one_interval(self, pardot):
        """Many triggers: first polls spread over the interval; completion seen within one interval."""
        pardot.config(export_delay=2.0)
        export_id = create_export(pardot)
        interval = 1.0
        triggers = [PardotExportTrigger(export_id, poll_interval=interval) for _ in range(20)]
        since = pardot.requests()[-1]["seq"]

        async def finish_time(trigger) -> float:
            await _first_event(trigger)
            return time.time()

        def watch_completion() -> float:
            pardot.wait_export(export_id, timeout=30)
            return time.time()

        async def run_all():
            started = time.time()
            completed = asyncio.create_task(asyncio.to_thread(watch_completion))
            finished = await asyncio.gather(*(finish_time(t) for t in triggers))
            return started, await completed, finished

        started, completed, finished = asyncio.run(run_all())
        # every trigger reported within one interval (plus a little slack) of completion
        assert max(finished) - completed <= interval + 0.3
        reads = [r for r in pardot.requests(since) if r["path"].endswith(f"/exports/{export_id}")]
        first_polls = sorted(r["time"] - started for r in reads)[:20]
        # not in lockstep: the first 20 polls are spread over the first interval
        assert first_polls[-1] - first_polls[0] > interval / 3
        assert first_polls[-1] <= interval + 0.3
        assert pardot.state()["max_in_flight"] <= 5


class TestTriggerOnKill:
    """Airflow 3.3 calls ``on_kill`` when a user kills a deferred task."""

    def test_cancels_the_export_it_was_told_to(self, pardot):
        pardot.config(export_delay=60)  # still running when the kill comes, however slow the start
        export_id = create_export(pardot)
        trigger = PardotExportTrigger(export_id=export_id, poll_interval=1, cancel_on_kill=True)
        asyncio.run(trigger.on_kill())
        assert pardot.get_export(export_id)["state"] == "Canceled"

    def test_sensor_trigger_leaves_the_export_alone(self, pardot):
        export_id = create_export(pardot)
        before = len(pardot.requests())
        asyncio.run(PardotExportTrigger(export_id=export_id, poll_interval=1).on_kill())
        assert len(pardot.requests()) == before
        assert pardot.get_export(export_id)["state"] != "Canceled"

    def test_refused_cancel_is_only_logged(self, pardot):
        export_id = create_export(pardot)
        pardot.set_export(export_id, state="Complete")
        asyncio.run(PardotExportTrigger(export_id=export_id, cancel_on_kill=True).on_kill())  # no raise
        assert pardot.get_export(export_id)["state"] == "Complete"
