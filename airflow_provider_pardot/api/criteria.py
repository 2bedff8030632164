"""
The documented query criteria of each Pardot object, and their validation.

One table per object, taken from the Pardot v3/v4 docs (lists, dynamic content, lifecycle
histories, list memberships, ...). ``PardotHook.query`` and the query transfer validate against
it before any request leaves the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from airflow_provider_pardot.client.form import iso_datetime, pardot_bool, parse_bool
from airflow_provider_pardot.exceptions import PardotValidationError

#: The relative values every Pardot date criterion accepts.
DATE_KEYWORDS = ("today", "yesterday", "last_7_days", "this_month", "last_month")

_CREATED = ("created_after", "created_before")
_UPDATED = ("updated_after", "updated_before")
_IDS = ("id_greater_than", "id_less_than")


@dataclass(frozen=True)
class ObjectCriteria:
    """What one object's ``do/query`` accepts."""

    dates: tuple[str, ...]
    integers: tuple[str, ...] = _IDS
    strings: tuple[str, ...] = ()
    booleans: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: sort_by values and their default sort order
    sorts: dict[str, str] = field(default_factory=lambda: {"id": "ascending"})

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.dates, *self.integers, *self.strings, *self.booleans)


QUERY_CRITERIA: dict[str, ObjectCriteria] = {
    "list": ObjectCriteria(
        dates=(*_CREATED, *_UPDATED),
        strings=("name",),
        sorts={
            "created_at": "descending",
            "id": "ascending",
            "name": "ascending",
            "updated_at": "descending",
        },
    ),
    "dynamicContent": ObjectCriteria(
        dates=(*_CREATED, *_UPDATED),
        sorts={"created_at": "descending", "id": "ascending", "updated_at": "descending"},
    ),
    "lifecycleHistory": ObjectCriteria(
        dates=_CREATED,
        sorts={"created_at": "ascending", "id": "ascending"},
    ),
    "listMembership": ObjectCriteria(
        dates=(*_CREATED, *_UPDATED),
        integers=(*_IDS, "list_id", "prospect_id"),
        booleans={"deleted": ("true", "false", "all")},
        sorts={"created_at": "descending", "id": "ascending", "updated_at": "descending"},
    ),
    "lifecycleStage": ObjectCriteria(dates=(), sorts={"id": "ascending", "position": "ascending"}),
    "visitorActivity": ObjectCriteria(
        dates=(*_CREATED, *_UPDATED),
        integers=(*_IDS, "prospect_id", "visitor_id", "campaign_id", "email_id"),
        strings=("type", "prospect_ids", "visitor_ids", "campaign_ids", "form_ids", "landing_page_ids"),
        booleans={"prospect_only": ("true", "false")},
        sorts={"created_at": "descending", "id": "ascending"},
    ),
    "prospect": ObjectCriteria(
        dates=(*_CREATED, *_UPDATED, "last_activity_after", "last_activity_before"),
        integers=(*_IDS, "list_id", "assigned_to_user"),
        strings=(
            "score_greater_than",
            "score_less_than",
            "grade_equal_or_greater_than",
            "grade_equal_or_less_than",
        ),
        booleans={
            "deleted": ("true", "false", "all"),
            "assigned": ("true", "false"),
            "is_starred": ("true", "false"),
            "new": ("true", "false"),
        },
        sorts={
            "created_at": "descending",
            "id": "ascending",
            "updated_at": "descending",
            "last_activity_at": "descending",
        },
    ),
}

#: Parameters that change what a row looks like, accepted for every object.
OUTPUT_VALUES = ("full", "simple", "mobile", "bulk")
#: Paging parameters that ``query()`` owns; giving them would break exactly-once paging.
PAGING_PARAMS = ("limit", "offset")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
RELATIVE_DATE = re.compile(
    r"(\d+|a|an|one)\s+(second|minute|hour|day|week|fortnight|month|year)s?\s+ago", re.IGNORECASE
)


def format_date_criterion(name: str, value: Any) -> str:
    """
    Return a Pardot date criterion as a string, or raise :class:`PardotValidationError`.

    Accepts ``today``, ``yesterday``, ``last_7_days``, ``this_month``, ``last_month``, a
    :class:`~datetime.datetime` or :class:`~datetime.date`, an ISO 8601 string, or a relative GNU
    date (``"3 days ago"``).
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.isoformat(timespec="seconds")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str):
        text = value.strip()
        if text in DATE_KEYWORDS or _ISO_DATE.fullmatch(text) or RELATIVE_DATE.fullmatch(text):
            if _ISO_DATE.fullmatch(text):
                _check_calendar(name, text)
            return text
    raise PardotValidationError(
        f"{name}={value!r} is not a date Pardot accepts. Use one of {', '.join(DATE_KEYWORDS)}, "
        "a datetime, an ISO 8601 string such as '2024-05-01 00:00:00', or a relative date such as '3 days ago'."
    )


def _check_calendar(name: str, text: str) -> None:
    if iso_datetime(text) is None:
        raise PardotValidationError(f"{name}={text!r} is not a real calendar date and time.")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise PardotValidationError(f"{name} must be a positive integer, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PardotValidationError(f"{name} must be a positive integer, not {value!r}.") from None
    if number < 0 or str(number) != str(value).strip().lstrip("+"):
        raise PardotValidationError(f"{name} must be a positive integer, not {value!r}.")
    return number


def _boolean_criterion(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """
    A boolean criterion as ``1``/``0`` (Pardot reads ``false`` as true, the PHP way).

    A three-way criterion (``deleted``: true, false or all) is an enum Pardot matches by its
    documented words (error 27 when it is anything else), so it keeps them.
    """
    text = str(value).strip().lower()
    if "all" in allowed:
        if text not in allowed:
            raise PardotValidationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
        return text
    try:
        return pardot_bool(parse_bool(name, value))
    except PardotValidationError:
        raise PardotValidationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.") from None


def supported_objects() -> str:
    return ", ".join(sorted(QUERY_CRITERIA))


def _criterion(object_name: str, spec: ObjectCriteria, name: str, value: Any) -> Any:
    """One criterion as a request parameter, or :class:`PardotValidationError` naming what is accepted."""
    if name == "output":
        if value not in OUTPUT_VALUES:
            raise PardotValidationError(f"output must be one of {', '.join(OUTPUT_VALUES)}, not {value!r}.")
        return value
    if name == "sort_by":
        if value not in spec.sorts:
            raise PardotValidationError(
                f"sort_by={value!r} is not a sort option of {object_name}. Use one of {', '.join(spec.sorts)}."
            )
        return value
    if name == "sort_order":
        if value not in ("ascending", "descending"):
            raise PardotValidationError(f"sort_order must be 'ascending' or 'descending', not {value!r}.")
        return value
    if name in spec.dates:
        return format_date_criterion(name, value)
    if name in spec.integers:
        return _positive_int(name, value)
    if name in spec.booleans:
        return _boolean_criterion(name, value, spec.booleans[name])
    if name in spec.strings:
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        if not str(value).strip():
            raise PardotValidationError(f"{name} must not be empty.")
        return str(value)
    raise PardotValidationError(
        f"{name!r} is not a query criterion of {object_name}. Documented criteria: "
        f"{', '.join(spec.names)}; plus output, sort_by, sort_order."
    )


def validate_query(object_name: str, criteria: dict[str, Any]) -> dict[str, Any]:
    """
    Validate ``criteria`` for ``object_name`` and return them as request parameters.

    ``sort_by``/``sort_order`` are checked against the object's documented sort options; ``limit``
    and ``offset`` are refused because the hook pages by itself.
    """
    spec = QUERY_CRITERIA.get(object_name)
    if spec is None:
        raise PardotValidationError(
            f"Unknown Pardot object {object_name!r} for query. Supported objects: {supported_objects()}."
        )
    params: dict[str, Any] = {}
    for name, value in criteria.items():
        if value is None:
            continue
        if name in PAGING_PARAMS:
            raise PardotValidationError(
                f"{name!r} is not accepted: query() pages through every matching record by id by itself "
                "(use max_records= to stop early)."
            )
        params[name] = _criterion(object_name, spec, name, value)
    for low, high in (("id_greater_than", "id_less_than"),):
        if low in params and high in params and params[low] >= params[high]:
            raise PardotValidationError(f"{low} ({params[low]}) must be below {high} ({params[high]}).")
    return params
