"""
The Export API: its documented objects and procedures, validation, and the export's shape.

v3/v4 answer ``{"export": {"id", "state", "isExpired", "resultRefs", ...}}``; v5 answers the record
itself and names the state ``status``. ``resultRefs`` is a string for one file, an array for
several, and absent or null when there is no data. Both are normalised to
``{id, state, isExpired, resultRefs: list[str], createdAt, updatedAt}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, NamedTuple

from airflow_provider_pardot.api.criteria import DATE_KEYWORDS, RELATIVE_DATE
from airflow_provider_pardot.api.ids import require_id
from airflow_provider_pardot.client.endpoints import export_path, v4_params
from airflow_provider_pardot.client.form import iso_datetime
from airflow_provider_pardot.client.responses import as_list
from airflow_provider_pardot.exceptions import PardotValidationError

MAX_EXPORT_FIELDS = 150

# Export states (v3/v4 "state", v5 "status"); Waiting and Processing mean it is still running.
COMPLETE = "Complete"
FAILED = "Failed"
CANCELED = "Canceled"


@dataclass(frozen=True)
class Procedure:
    """One export procedure: its date pair (``<kind>_after`` required), and its other arguments."""

    kind: str
    extra: tuple[str, ...] = ()
    #: the name of the procedure's deleted-flag argument, when it takes one (values true/false/all)
    deleted: str | None = None

    @property
    def after(self) -> str:
        return f"{self.kind}_after"

    @property
    def before(self) -> str:
        return f"{self.kind}_before"

    @property
    def arguments(self) -> tuple[str, ...]:
        return (self.after, self.before, *self.extra, *((self.deleted,) if self.deleted else ()))


# The docs spell the flag prospect_only on filter_by_created_at and prospectOnly on filter_by_updated_at.
_ACTIVITY = ("type", "prospect_only", "prospectOnly")
DELETED_VALUES = ("true", "false", "all")

_CREATED_UPDATED = {
    "filter_by_created_at": Procedure("created", deleted="deleted"),
    "filter_by_updated_at": Procedure("updated", deleted="deleted"),
}
_PROSPECT_UPDATED = {
    "filter_by_prospect_updated_at": Procedure("prospect_updated", deleted="prospect_deleted"),
    "filter_by_updated_at": Procedure("updated", deleted="deleted"),
}
#: The documented object/procedure table (Export API docs, "Procedures"). List memberships and
#: prospects share their procedures, as prospect accounts and visitors do.
EXPORT_PROCEDURES: dict[str, dict[str, Procedure]] = {
    "visitorActivity": {
        "filter_by_created_at": Procedure("created", _ACTIVITY),
        "filter_by_updated_at": Procedure("updated", _ACTIVITY),
    },
    "listMembership": _CREATED_UPDATED,
    "prospect": _CREATED_UPDATED,
    "prospectAccount": _PROSPECT_UPDATED,
    "visitor": _PROSPECT_UPDATED,
    "externalActivity": {
        "filter_by_created_at": Procedure("created"),
        "filter_by_activity_date": Procedure("activity"),
    },
}

#: v5 create options (Salesforce's v5 Export field list).
V5_OPTIONS = {"includeByteOrderMark": bool, "maxFileSizeBytes": int, "legacyDateFormat": bool}
#: Visitor activity type ids (Object Field References: 1 Click ... 38 Opportunity Unlinked).
ACTIVITY_TYPES = range(1, 39)


def _relative_time(text: str, now: datetime) -> datetime | None:
    """Where Pardot's relative dates (``today``, ``last_month``, ``3 days ago``) start."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight.replace(day=1)
    keywords = {
        "today": midnight,
        "yesterday": midnight - timedelta(days=1),
        "last_7_days": midnight - timedelta(days=7),
        "this_month": first,
        "last_month": (first - timedelta(days=1)).replace(day=1),
    }
    if text in keywords:
        return keywords[text]
    match = RELATIVE_DATE.fullmatch(text)
    if match is None:
        return None
    count = 1 if match.group(1).lower() in ("a", "an", "one") else int(match.group(1))
    return now - count * _UNITS[match.group(2).lower()]


_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "fortnight": timedelta(weeks=2),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}


def _parse_time(name: str, value: Any, now: datetime | None = None) -> tuple[datetime, str]:
    """Return the value as an aware datetime (for checks) and as the string to send."""
    if isinstance(value, str) and (relative := _relative_time(value.strip(), now or datetime.now(UTC))):
        return relative, value.strip()
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds") if value.tzinfo else value.strftime("%Y-%m-%d %H:%M:%S")
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        parsed = iso_datetime(text)
        if parsed is None:
            raise PardotValidationError(
                f"{name}={value!r} is not a date and time; use 'YYYY-MM-DD HH:MM:SS', ISO 8601, a datetime, "
                f"one of {', '.join(DATE_KEYWORDS)}, or a relative date such as '3 days ago'."
            )
        moment = parsed
    else:
        raise PardotValidationError(f"{name} must be a date and time, not {value!r}.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, text


def _one_year_after(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + 1, day=28)


def validate_export(
    object_name: str,
    procedure: str,
    arguments: dict[str, Any] | None,
    fields: list[str] | None = None,
    options: dict[str, Any] | None = None,
    *,
    api_version: int = 5,
    now: datetime | None = None,
) -> None:
    """Refuse an export Pardot would refuse, with a message that says what to change."""
    spec = _procedure(object_name, procedure)
    if not isinstance(arguments, dict):
        raise PardotValidationError(f"arguments must be a dict of procedure arguments, not {arguments!r}.")
    unknown = [a for a in arguments if a not in spec.arguments]
    if unknown:
        raise PardotValidationError(
            f"{', '.join(map(repr, unknown))} is not an argument of {object_name}.{procedure}; "
            f"its arguments are {', '.join(spec.arguments)}."
        )
    if arguments.get(spec.after) in (None, ""):
        raise PardotValidationError(f"{object_name}.{procedure} needs the argument {spec.after!r}.")
    _check_date_range(spec, arguments, now or datetime.now(UTC))
    _check_flags(spec, arguments)
    if fields is not None:
        _check_fields(fields)
    _check_options(options or {}, api_version)


def _procedure(object_name: str, procedure: str) -> Procedure:
    table = EXPORT_PROCEDURES.get(object_name)
    if table is None:
        raise PardotValidationError(
            f"{object_name!r} cannot be exported. Exportable objects: {', '.join(EXPORT_PROCEDURES)}."
        )
    spec = table.get(procedure)
    if spec is None:
        raise PardotValidationError(
            f"{procedure!r} is not an export procedure of {object_name}; use one of {', '.join(table)}."
        )
    return spec


def _check_date_range(spec: Procedure, arguments: dict[str, Any], now: datetime) -> None:
    """``*_before`` after ``*_after``, and at most one year (measured to now without ``*_before``)."""
    after, _ = _parse_time(spec.after, arguments[spec.after], now)
    if arguments.get(spec.before) not in (None, ""):
        before, _ = _parse_time(spec.before, arguments[spec.before], now)
        if before <= after:
            raise PardotValidationError(
                f"{spec.before} ({arguments[spec.before]}) must be after {spec.after} ({arguments[spec.after]})."
            )
        end, end_name = before, spec.before
    else:
        end, end_name = now, f"now (no {spec.before} given)"
    if end > _one_year_after(after):
        raise PardotValidationError(
            f"An export covers at most one year: {spec.after} ({arguments[spec.after]}) to {end_name} is longer. "
            "Split it into several exports."
        )


def _check_flags(spec: Procedure, arguments: dict[str, Any]) -> None:
    """The deleted flag, visitor activity types and the prospect-only flag."""
    if spec.deleted and spec.deleted in arguments:
        value = arguments[spec.deleted]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in DELETED_VALUES:
            raise PardotValidationError(
                f"{spec.deleted} must be one of {', '.join(DELETED_VALUES)}, not {value!r}."
            )
    if "type" in arguments:
        types = arguments["type"]
        items = [types] if isinstance(types, (int, str)) else list(types)
        for item in items:
            for part in str(item).split(","):
                if not part.strip().isdigit() or int(part) not in ACTIVITY_TYPES:
                    raise PardotValidationError(
                        f"type must hold visitor activity type ids 1-38, not {types!r}."
                    )
    for flag in ("prospect_only", "prospectOnly"):
        if flag in arguments and str(arguments[flag]).lower() not in ("true", "false"):
            raise PardotValidationError(f"{flag} must be true or false, not {arguments[flag]!r}.")


def _check_fields(fields: list[str]) -> None:
    if isinstance(fields, str) or not all(isinstance(f, str) and f.strip() for f in fields):
        raise PardotValidationError("fields must be a list of field names.")
    if not fields:
        raise PardotValidationError("fields must not be empty; leave it out to export every field.")
    if len(fields) > MAX_EXPORT_FIELDS:
        raise PardotValidationError(
            f"An export takes at most {MAX_EXPORT_FIELDS} fields; {len(fields)} were given."
        )
    if len(set(fields)) != len(fields):
        raise PardotValidationError("fields lists a field more than once.")


def _check_options(options: dict[str, Any], api_version: int) -> None:
    for name, value in options.items():
        if name not in V5_OPTIONS:
            raise PardotValidationError(
                f"{name!r} is not an export option; options are {', '.join(V5_OPTIONS)}."
            )
        if api_version != 5:
            raise PardotValidationError(
                f"{name} is a v5 Export API option; set export_api_version 5 in the connection."
            )
        kind = V5_OPTIONS[name]
        if kind is bool and not isinstance(value, bool):
            raise PardotValidationError(f"{name} must be true or false, not {value!r}.")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise PardotValidationError(f"{name} must be a positive number of bytes, not {value!r}.")


def export_create_body(
    object_name: str,
    procedure: str,
    arguments: dict[str, Any],
    fields: list[str] | None,
    options: dict[str, Any] | None,
    *,
    api_version: int,
) -> dict[str, Any]:
    """The JSON body of an export create request."""
    args: dict[str, Any] = {}
    for name, value in arguments.items():
        args[name] = _parse_time(name, value)[1] if name.endswith(("_after", "_before")) else value
    body: dict[str, Any] = {"object": object_name, "procedure": {"name": procedure, "arguments": args}}
    if fields:
        body["fields"] = list(fields)
    if api_version == 5:
        body.update(options or {})
    return body


def _record(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("export"), dict):
        return body["export"]
    return body if isinstance(body, dict) else {}


def normalise_export(body: Any) -> dict[str, Any]:
    """``{id, state, isExpired, resultRefs: list[str], createdAt, updatedAt}`` from any version's answer."""
    record = _record(body)
    expired = record.get("isExpired", False)
    if isinstance(expired, str):
        expired = expired.strip().lower() in ("true", "1")
    refs = [str(ref) for ref in as_list(record.get("resultRefs")) if ref]
    return {
        "id": record.get("id"),
        "state": record.get("state", record.get("status")),
        "isExpired": bool(expired),
        "resultRefs": refs,
        "createdAt": record.get("createdAt"),
        "updatedAt": record.get("updatedAt"),
    }


def normalise_export_list(body: Any) -> list[dict[str, Any]]:
    """The exports of a query: v3/v4 ``result.export`` (0/1/many) or v5 ``values``."""
    if isinstance(body, dict) and "values" in body:
        rows = as_list(body["values"])
    elif isinstance(body, dict) and isinstance(body.get("result"), dict):
        rows = as_list(body["result"].get("export"))
    else:
        rows = []
    return [normalise_export(row) for row in rows]


#: Each Export API operation: its HTTP method and whether it may be repeated.
EXPORT_OPERATIONS: dict[str, tuple[str, bool]] = {
    "create": ("POST", False),
    "read": ("GET", True),
    "query": ("GET", True),
    "cancel": ("POST", True),  # canceling twice leaves the export canceled
}


@dataclass(frozen=True)
class ExportCall:
    """One Export API request, the same for both hooks: ``hook.call(c.method, c.path, **c.options)``."""

    operation: str
    method: str
    path: str
    options: dict[str, Any]
    export_id: int | str | None = None

    def answer(self, body: Any) -> Any:
        """The answer normalised: an export (a list of them for a query; a bare cancel names its id)."""
        if self.operation == "query":
            return normalise_export_list(body)
        if self.operation == "cancel" and not body:
            return {"id": self.export_id}
        return normalise_export(body)


def export_call(
    api_version: int, operation: str, export_id: int | str | None = None, **options: Any
) -> ExportCall:
    """
    Build an Export API request: path, method, repeatability, and ``format=json`` for v3/v4.

    :param options: more :class:`~airflow_provider_pardot.client.pipeline.CallOptions`; a
        ``params`` dict is added to the query string (a query's filters)
    """
    if export_id is not None:
        require_id("export_id", export_id)
    method, idempotent = EXPORT_OPERATIONS[operation]
    params = options.pop("params", None) or {}
    if api_version != 5:
        params = v4_params(params)
    options = {"params": params or None, "idempotent": idempotent, **options}
    return ExportCall(operation, method, export_path(api_version, operation, export_id), options, export_id)


class ExportOutcome(Enum):
    """What a Pardot job's state (an export's, an import's) means for a task that waits for it."""

    #: Complete (and not expired): an export's files can be downloaded, an import's rows are applied.
    COMPLETE = "complete"
    #: Failed, Canceled (Cancelled) or expired: waiting longer cannot help.
    FAILED = "failed"
    #: Waiting, Processing, Open, or a state this provider does not know: wait.
    RUNNING = "running"

    @classmethod
    def of(cls, state: Any) -> ExportOutcome:
        """The outcome of a state as Pardot spells it, read without regard to case."""
        return _OUTCOMES.get(str(state).strip().lower(), cls.RUNNING)


#: The final states by their lower-case names (exports say Canceled, imports Cancelled).
_OUTCOMES = {
    COMPLETE.lower(): ExportOutcome.COMPLETE,
    FAILED.lower(): ExportOutcome.FAILED,
    CANCELED.lower(): ExportOutcome.FAILED,
    "cancelled": ExportOutcome.FAILED,
}


class ExportStatus(NamedTuple):
    """A job's :class:`ExportOutcome`, and a sentence saying so (for the log, or the error)."""

    outcome: ExportOutcome
    message: str

    @property
    def complete(self) -> bool:
        return self.outcome is ExportOutcome.COMPLETE

    @property
    def failed(self) -> bool:
        return self.outcome is ExportOutcome.FAILED


def job_status(
    job: str, record: dict[str, Any], field: str, expired_reason: str, detail: str
) -> ExportStatus:
    """
    The one reading of a Pardot job's state, for exports and imports alike: a final state is named
    before expiry, expiry before completion.

    :param job: ``"export"`` or ``"import"``
    :param record: the normalised job: ``id``, ``isExpired`` and its state under ``field``
    :param field: Pardot's word for the state (``state`` for exports, ``status`` for imports)
    :param expired_reason: why an expired job cannot be waited for, and what to do instead
    :param detail: what the sentence of a complete job adds after ``is Complete``
    """
    name, state = f"Pardot {job} {record['id']}", record[field]
    outcome = ExportOutcome.of(state)
    if outcome is ExportOutcome.FAILED:
        return ExportStatus(outcome, f"{name} ended in {field} {state}.")
    if record["isExpired"]:
        return ExportStatus(ExportOutcome.FAILED, f"{name} has expired ({field} {state}): {expired_reason}")
    if outcome is ExportOutcome.COMPLETE:
        return ExportStatus(outcome, f"{name} is Complete{detail}.")
    return ExportStatus(outcome, f"{name} is {state}.")


def export_status(export: Any) -> ExportStatus:
    """
    Read an export's state: whether it is complete, failed (and why) or running.

    ``export`` is an export as any Export API version answers it (v3/v4 ``{"export": {"state": ...}}``,
    v5 ``{"status": ...}``) or as the hook normalises it.
    """
    record = normalise_export(export)
    files = f" with {len(record['resultRefs'])} result file(s)"
    return job_status("export", record, "state", _EXPORT_GONE, files)


_EXPORT_GONE = "its result files are gone (Pardot keeps them 7 days). Create a new export."
