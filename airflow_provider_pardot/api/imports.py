"""
The Import API (v5): the columns Pardot reads, the limits, the options, and an import's state.

An import upserts prospects and changes list memberships from CSV batches. Its rules, as this
provider applies them:

- Columns are v5 prospect field names (``email``, ``firstName``, ``campaignId``; custom fields
  end in ``__c``) and the special columns ``matchEmail``, ``matchId``, ``matchSalesforceId``,
  ``addToList`` and ``removeFromList`` (Pardot compares those without regard to case). A v3/v4
  snake_case name such as ``first_name`` is refused by Pardot's v5 import; the message here
  suggests its camelCase spelling.
- Exactly one match column. Pardot allows none, but then every row creates a prospect, and a
  task retried after a crash would create them again; with a match column, a retry updates what
  the first try created.
- Creating unmatched rows (``createOnNoMatch``) needs ``email`` and ``campaignId`` columns.
- How several list ids share one ``addToList`` cell is not documented: one id goes in a cell, and
  a record bound for several lists becomes several rows (:class:`ImportRows`), the later ones
  carrying only the match column and a list.
- A batch is at most 10 MB of CSV and an import at most 10 batches; the account processes at most
  1,000 batches a day.
- An import is ``Open`` (batches may be added) until it is submitted (``status`` set to
  ``Ready``); then ``Waiting``, ``Processing`` and ``Complete``, or ``Failed`` / ``Cancelled``.
  An import never submitted imports nothing and expires after 24 hours.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.api.exports import job_status
from airflow_provider_pardot.api.v5 import CUSTOM_FIELD, V5_OBJECTS
from airflow_provider_pardot.client.form import parse_bool
from airflow_provider_pardot.exceptions import PardotValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow_provider_pardot.api.exports import ExportStatus

#: Bytes of CSV in one batch: Pardot refuses more than 10 MB (HTTP 413); the decimal reading of
#: "10 MB" keeps every batch under both 10,000,000 and 10 MiB.
MAX_BATCH_BYTES = 10_000_000
#: Batches in one import (the 11th is refused with error 160).
MAX_BATCHES_PER_IMPORT = 10
#: List ids a record may be added to, or removed from.
MAX_LISTS = 20

MATCH_COLUMNS = ("matchEmail", "matchId", "matchSalesforceId")
ADD_TO_LIST = "addToList"
REMOVE_FROM_LIST = "removeFromList"
LIST_COLUMNS = (ADD_TO_LIST, REMOVE_FROM_LIST)
_SPECIAL = {name.lower(): name for name in (*MATCH_COLUMNS, *LIST_COLUMNS)}

#: Prospect fields an import never sets, and why (the rest of the v5 prospect fields are read).
NEVER_IMPORTED: dict[str, str] = {
    "id": "a prospect's id is Pardot's; to update a prospect by its id, name the column matchId",
    "optedOut": "opt-outs are the prospect's own choice and are not imported",
    "isEmailHardBounced": "Pardot sets it from bounces",
    "emailBouncedReason": "Pardot sets it from bounces",
    "emailBouncedAt": "Pardot sets it from bounces",
    "isDeleted": "Pardot sets it (see restore_deleted)",
    "createdAt": "Pardot sets it",
    "updatedAt": "Pardot sets it",
    "createdById": "Pardot sets it",
    "updatedById": "Pardot sets it",
}
#: v3/v4 names whose v5 spelling is not their camelCase.
_RENAMED_IN_V5 = {"salesforce_fid": "salesforceId", "prospect_id": "matchId", "crm_id": "matchSalesforceId"}

IMPORTABLE_FIELDS = tuple(f for f in V5_OBJECTS["prospects"].fields if f not in NEVER_IMPORTED)

#: The v5 objects an import writes, as lineage names them.
PROSPECTS_OBJECT = "prospects"
LIST_MEMBERSHIPS_OBJECT = "listMemberships"

#: The status of an import that was created and not submitted yet (v5 ``status``).
OPEN = "Open"
#: The status a submit sends (v5 ``status``); it is never read back: Pardot answers Waiting, and
#: the states of an import are read by :func:`import_status`.
READY = "Ready"
#: Pardot's error when a submit meets an import that is no longer Open (it was submitted already).
NOT_OPEN_CODE = 155
#: The fields asked for when reading an import.
IMPORT_FIELDS = (
    "id",
    "status",
    "isExpired",
    "createdCount",
    "updatedCount",
    "errorCount",
    "errorsRef",
    "batchesRef",
    "createdAt",
    "updatedAt",
)


# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------
def _camel(snake: str) -> str:
    head, *rest = snake.strip("_").split("_")
    return head.lower() + "".join(part[:1].upper() + part[1:].lower() for part in rest if part)


def suggestion(name: str) -> str | None:
    """The column Pardot would read for ``name``, when it is a near miss (case, snake_case, typo)."""
    lowered = name.lower()
    if lowered in _RENAMED_IN_V5:
        return _RENAMED_IN_V5[lowered]
    known = {f.lower(): f for f in (*IMPORTABLE_FIELDS, *_SPECIAL.values())}
    for candidate in (lowered, _camel(name).lower(), lowered.replace("_", "")):
        if candidate in known:
            return known[candidate]
    import difflib  # only to word a refusal: not loaded to parse a DAG

    close = difflib.get_close_matches(name, [*IMPORTABLE_FIELDS, *_SPECIAL.values()], n=1, cutoff=0.8)
    return close[0] if close else None


def check_column(name: Any) -> str:
    """Return the column as Pardot reads it (special columns in their documented spelling), or refuse it."""
    if not isinstance(name, str) or not name.strip():
        raise PardotValidationError(f"Column names must be non-empty text, not {name!r}.")
    text = name.strip()
    if text.lower() in _SPECIAL:
        return _SPECIAL[text.lower()]
    if text in IMPORTABLE_FIELDS or CUSTOM_FIELD.fullmatch(text):
        return text
    never = next((n for n in (text, _camel(text)) if n in NEVER_IMPORTED), None)
    if never is not None:
        raise PardotValidationError(
            f"Column {text!r}: Pardot never imports the field {never} ({NEVER_IMPORTED[never]}). "
            f"Drop it with columns={{{text!r}: None}}."
        )
    hint = suggestion(text)
    target = repr(hint) if hint else "'<a Pardot field>'"
    fix = f"rename it with columns={{{text!r}: {target}}}"
    raise PardotValidationError(
        f"Column {text!r} is not a field Pardot imports: {fix}, or drop it with columns={{{text!r}: None}}. "
        "Pardot reads v5 prospect field names (email, firstName, campaignId, ...; custom fields end in "
        f"__c) and the special columns {', '.join(_SPECIAL.values())}."
    )


def rename(source_columns: Sequence[str], columns: dict[str, Any] | None) -> list[tuple[int, str]]:
    """
    Apply ``columns`` (source name -> Pardot name; ``None`` drops; a list copies into several columns).

    Returns ``(source index, Pardot name)`` for each column sent, in the source's order.
    """
    mapping = dict(columns or {})
    unknown = [key for key in mapping if key not in source_columns]
    if unknown:
        raise PardotValidationError(
            f"columns renames {', '.join(map(repr, unknown))}, which the source does not have; "
            f"its columns are {', '.join(map(repr, source_columns))}."
        )
    out: list[tuple[int, str]] = []
    for index, name in enumerate(source_columns):
        target = mapping.get(name, name)
        targets = target if isinstance(target, (list, tuple)) else [target]
        out.extend((index, t) for t in targets if t is not None)
    return out


@dataclass(frozen=True)
class ImportHeader:
    """A validated header: the columns sent, and where the match and list columns are."""

    columns: tuple[str, ...]
    match: str

    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(c for c in LIST_COLUMNS if c in self.columns)


def validate_header(
    names: Iterable[str], *, create_on_no_match: bool, extra_lists: Sequence[str] = ()
) -> ImportHeader:
    """
    Check the columns of an import (after renaming) before any request; return them as Pardot reads them.

    :param extra_lists: the list columns the operator adds to every row (``addToList`` for
        ``add_to_lists``, ...)
    """
    columns = [check_column(n) for n in names]
    seen: dict[str, str] = {}
    for column in columns:
        if column.lower() in seen:
            raise PardotValidationError(
                f"Column {column!r} appears twice (Pardot compares column names without regard to case); "
                "keep one of them."
            )
        seen[column.lower()] = column
    matches = [c for c in columns if c in MATCH_COLUMNS]
    if len(matches) > 1:
        raise PardotValidationError(
            f"Only one match column may be sent; found {', '.join(matches)}. Drop the others with columns=."
        )
    if not matches:
        raise PardotValidationError(
            "Every row must be matched, so that a retried task updates what an earlier try created instead "
            f"of creating it again: add one of {', '.join(MATCH_COLUMNS)}, e.g. "
            "columns={'email': ['email', 'matchEmail']} (with create_on_no_match=True to create the "
            "prospects that do not exist yet)."
        )
    if create_on_no_match:
        missing = [c for c in ("email", "campaignId") if c not in columns]
        if missing:
            raise PardotValidationError(
                f"create_on_no_match=True creates prospects, and Pardot needs {' and '.join(missing)} "
                "columns for that: add them (campaignId is the Pardot campaign of the new prospects)."
            )
    for column in extra_lists:
        if column not in columns:
            columns.append(column)
    if len(columns) == 1:
        raise PardotValidationError(
            f"Nothing to import: only the match column {matches[0]} is sent. Add prospect fields, or lists "
            "with add_to_lists / remove_from_lists."
        )
    return ImportHeader(tuple(columns), matches[0])


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------
_ID = re.compile(r"[0-9]+")


def validate_list_ids(name: str, ids: Any) -> list[int]:
    """``add_to_lists`` / ``remove_from_lists``: at most 20 positive integers (or their text)."""
    if ids is None:
        return []
    if isinstance(ids, (str, int)) and not isinstance(ids, bool):
        ids = [part for part in re.split(r"[\s,;\[\]]+", str(ids)) if part]
    if not isinstance(ids, (list, tuple, set)):
        raise PardotValidationError(f"{name} must be a list of Pardot list ids, not {ids!r}.")
    out: list[int] = []
    for value in ids:
        text = "" if isinstance(value, bool) else str(value).strip()
        if not _ID.fullmatch(text) or int(text) == 0:
            raise PardotValidationError(f"{name}: {value!r} is not a Pardot list id (a positive integer).")
        if int(text) not in out:
            out.append(int(text))
    if len(out) > MAX_LISTS:
        raise PardotValidationError(
            f"{name} names {len(out)} lists; Pardot changes at most {MAX_LISTS} lists of a record in one "
            "import. Split them over several imports."
        )
    return out


def validate_lists(add: Any, remove: Any) -> tuple[list[int], list[int]]:
    adds, removes = validate_list_ids("add_to_lists", add), validate_list_ids("remove_from_lists", remove)
    both = sorted(set(adds) & set(removes))
    if both:
        raise PardotValidationError(f"Lists {both} are both in add_to_lists and remove_from_lists: keep one.")
    return adds, removes


def import_create_body(**options: Any) -> dict[str, Any]:
    """
    The JSON of ``POST /api/v5/imports``: an Upsert of prospects, with the v5 options given.

    :param options: ``createOnNoMatch``, ``restoreDeleted`` (booleans), ``fields`` (per-field
        ``overwrite`` / ``nullOverwrite`` options, as Pardot takes them)
    """
    body: dict[str, Any] = {"operation": "Upsert", "object": "Prospect"}
    for key, value in options.items():
        if key in ("createOnNoMatch", "restoreDeleted"):
            body[key] = parse_bool(key, value)
        elif key == "fields":
            if not isinstance(value, dict):
                raise PardotValidationError(f"fields must map column names to their options, not {value!r}.")
            body[key] = value
        else:
            raise PardotValidationError(
                f"Unknown import option {key!r}: create_import takes createOnNoMatch, restoreDeleted and fields."
            )
    return body


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------
_CELL_IDS = re.compile(r"[\s,;|]+")


@dataclass
class ImportRows:
    """
    Turns source rows into import rows: renamed, matched, one list id a cell.

    A row whose match value is blank is not sent (it would create a new prospect on every run);
    nor is one whose list cell holds something other than list ids. :meth:`shape` returns the
    reason instead, and the transfer reports it as a rejected row.
    """

    header: ImportHeader
    #: ``(source index, column)`` for each column sent from the source (list columns included)
    picks: list[tuple[int, str]]
    add_to_lists: list[int] = field(default_factory=list)
    remove_from_lists: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = self.header.columns
        self._fields = [(i, names.index(c)) for i, c in self.picks if c not in LIST_COLUMNS]
        self._match = names.index(self.header.match)
        self._list_sources = {c: i for i, c in self.picks if c in LIST_COLUMNS}
        self._list_slots = {c: names.index(c) for c in self.header.lists}
        # Without list cells in the source, every record gets the same list cells: the fields come
        # first, in the header's order, then the lists (picked at C speed, a million rows a second).
        self._same_lists = not self._list_sources
        if self._same_lists:
            sources = [i for i, _ in self._fields]
            self._pick = operator.itemgetter(*sources, *sources[:1] if len(sources) == 1 else ())
            self._single = len(sources) == 1
            self._match_source = self._fields[self._match][0]
            self._tails = self._list_cells()

    def _list_cells(self) -> list[tuple[str, ...]]:
        """The list cells of each row of a record: one id a cell, ``add_to_lists`` and ``remove_from_lists`` side by side."""
        given = {
            ADD_TO_LIST: [str(i) for i in self.add_to_lists],
            REMOVE_FROM_LIST: [str(i) for i in self.remove_from_lists],
        }
        count = max([len(given[c]) for c in self.header.lists] or [1])
        return [
            tuple(given[c][n] if n < len(given[c]) else "" for c in self.header.lists)
            for n in range(max(count, 1))
        ]

    def columnar(self) -> tuple[tuple[int, ...], int, tuple[tuple[str, ...], ...]] | None:
        """
        How :meth:`shape` builds the rows of a record with a match value, for a converter that works a column at a time.

        ``(fields, match, tails)``: the source column of each field column in the header's order,
        the match column's place among them, and the list cells of each row of a record (the
        later rows carry only the match value). ``None`` when the source has list cells of its
        own: those are read and checked row by row.
        """
        if not self._same_lists:
            return None
        return tuple(i for i, _ in self._fields), self._match, tuple(self._tails)

    def project(self, row: Sequence[str]) -> list[str]:
        """A source row in the import's columns, as given (list cells included), for reporting it."""
        out = [""] * len(self.header.columns)
        for source, target in self._fields:
            out[target] = row[source] if source < len(row) else ""
        for column, source in self._list_sources.items():
            out[self._list_slots[column]] = row[source] if source < len(row) else ""
        return out

    def shape(self, row: Sequence[str]) -> list[list[str]] | str:
        """The import rows of one source row, or why it cannot be sent."""
        if not self._same_lists or len(row) <= self._match_source:
            return self._shape_cells(row)
        match = row[self._match_source]
        if not match.strip():
            return self._blank_match()
        picked = self._pick(row)
        first = [*(picked[:1] if self._single else picked), *self._tails[0]]
        if len(self._tails) == 1:
            return [first]
        blank = [""] * len(self._fields)
        blank[self._match] = match
        return [first, *([*blank, *tail] for tail in self._tails[1:])]

    def _blank_match(self) -> str:
        return (
            f"blank {self.header.match}: a row without a match value would create a new prospect on every run"
        )

    def _shape_cells(self, row: Sequence[str]) -> list[list[str]] | str:
        """:meth:`shape` for sources with list cells of their own: each cell read, checked and merged."""
        out = [""] * len(self.header.columns)
        for source, target in self._fields:
            out[target] = row[source] if source < len(row) else ""
        if not out[self._match].strip():
            return self._blank_match()
        lists: dict[str, list[str]] = {}
        for column, given in ((ADD_TO_LIST, self.add_to_lists), (REMOVE_FROM_LIST, self.remove_from_lists)):
            at = self._list_sources.get(column)
            cell = row[at] if at is not None and at < len(row) else ""
            ids = [part for part in _CELL_IDS.split(cell) if part]
            if any(not _ID.fullmatch(i) or int(i) == 0 for i in ids):
                return f"{column} must hold Pardot list ids (positive integers), not {cell!r}"
            merged = list(dict.fromkeys([*(str(int(i)) for i in ids), *map(str, given)]))
            if len(merged) > MAX_LISTS:
                return f"{column} names {len(merged)} lists; at most {MAX_LISTS} lists a record"
            lists[column] = merged
        count = max((len(v) for v in lists.values()), default=0)
        rows = [out]
        for _ in range(1, count):
            extra = [""] * len(out)
            extra[self._match] = out[self._match]
            rows.append(extra)
        for column, ids in lists.items():
            if column in self._list_slots:
                for n, list_id in enumerate(ids):
                    rows[n][self._list_slots[column]] = list_id
        return rows


# ---------------------------------------------------------------------------------------------
# An import's state
# ---------------------------------------------------------------------------------------------
def _count(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def normalise_import(body: Any) -> dict[str, Any]:
    """``{id, status, isExpired, createdCount, updatedCount, errorCount, errorsRef, batchesRef, ...}``."""
    record = body if isinstance(body, dict) else {}
    expired = record.get("isExpired", False)
    if isinstance(expired, str):
        expired = expired.strip().lower() in ("true", "1")
    return {
        "id": record.get("id"),
        "status": record.get("status", record.get("state")),
        "isExpired": bool(expired),
        "createdCount": _count(record.get("createdCount")),
        "updatedCount": _count(record.get("updatedCount")),
        "errorCount": _count(record.get("errorCount")),
        "errorsRef": record.get("errorsRef"),
        "batchesRef": record.get("batchesRef"),
        "createdAt": record.get("createdAt"),
        "updatedAt": record.get("updatedAt"),
    }


def import_status(record: Any) -> ExportStatus:
    """
    Read an import's state: whether it is complete, failed (and why) or running.

    ``Failed``, ``Cancelled`` and an expired import end the wait; ``Open`` (not submitted, or a
    read that lags the submit), ``Waiting`` and ``Processing`` are waited for.
    """
    record = normalise_import(record)
    counts = f": {record['createdCount'] or 0} created, {record['updatedCount'] or 0} updated, "
    counts += f"{record['errorCount'] or 0} rejected"
    return job_status("import", record, "status", _IMPORT_GONE, counts)


_IMPORT_GONE = "Pardot expires imports not submitted within 24 hours, and forgets their results 7 days after they complete."


def imports_to_read(records: dict[str, dict[str, Any]], import_ids: Sequence[int]) -> list[int]:
    """
    The imports a wait for ``import_ids`` reads next: every one whose last record (in ``records``,
    by id as text) is not Complete. A Complete import is never read again.
    """
    return [i for i in import_ids if str(i) not in records or not import_status(records[str(i)]).complete]


def imports_complete(records: dict[str, dict[str, Any]], import_ids: Sequence[int]) -> bool:
    """Whether the last record of every one of ``import_ids`` is Complete."""
    return not imports_to_read(records, import_ids)
