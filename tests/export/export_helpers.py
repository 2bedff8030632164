"""Helpers shared by the export pipeline tests."""

from __future__ import annotations

VA_ARGS = {"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"}
VA_FIELDS = ["id", "prospect_id", "type_name", "details", "created_at"]


def create_export(emulator, api_version: int = 5, rows: int | None = None, **kw) -> int:
    """Create an export straight through the hook and return its id."""
    from airflow_provider_pardot.hooks.pardot import PardotHook

    if rows is not None:
        emulator.config(export_rows=rows)
    hook = PardotHook()
    export = hook.create_export(
        kw.pop("object_name", "visitorActivity"),
        kw.pop("procedure", "filter_by_created_at"),
        kw.pop("arguments", VA_ARGS),
        kw.pop("fields", VA_FIELDS),
        **kw,
    )
    return export["id"]
