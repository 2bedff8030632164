"""What an import does to the account: its CSV header read as prospect fields, each row applied.

Columns are v5 prospect field names (``firstName``, custom ``hobby__c``) and the special columns
``matchId`` / ``matchEmail`` / ``matchSalesforceId`` (at most one) and ``addToList`` /
``removeFromList`` (one list id per cell), compared case-insensitively. A row is applied whole or
rejected whole, with an error type and a message; the rest of the import goes on.

* Matching: the match column's value finds the prospect (by id, by email, case-insensitively,
  the most recently updated one when several share it, or by Salesforce id: ``salesforceId``,
  lead or contact id). A blank match value asks for a create. No match: a create with
  ``createOnNoMatch``, else the row is rejected. A match in the recycle bin is restored with
  ``restoreDeleted``, else rejected. Without a match column every row is a create.
* A create needs a valid ``email`` and an existing ``campaignId``.
* Values: a blank cell leaves the field as it is (``nullOverwrite`` false by default) and a value
  replaces it (``overwrite`` true by default); the import's ``fields`` options change both per
  field. ``campaignId`` is never cleared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import v5
from .dates import fmt, utcnow
from .errors import PardotError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .store import Store

#: v5 prospect field -> the store column it lives in (None: accepted, the emulator keeps no data)
COLUMNS = v5.twins(v5.PROSPECT_FIELDS)
CUSTOM = tuple(v5.OBJECTS["prospects"].custom)
MATCH_COLUMNS = ("matchId", "matchEmail", "matchSalesforceId")
LIST_COLUMNS = ("addToList", "removeFromList")
#: known fields an import may never set (Pardot's own list, in v5 names, and what the system keeps)
NEVER_IMPORTED = frozenset(
    [
        "id",
        "optedOut",
        "isEmailHardBounced",
        "emailBouncedAt",
        "emailBouncedReason",
        "isDeleted",
        "createdAt",
        "updatedAt",
        "createdById",
        "updatedById",
        "recentInteraction",
        "lastActivityAt",
    ]
)
_CANONICAL = {n.lower(): n for n in (*COLUMNS, *CUSTOM, *MATCH_COLUMNS, *LIST_COLUMNS)}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
SF_COLUMNS = ("salesforce_fid", "crm_lead_fid", "crm_contact_fid")


@dataclass(frozen=True)
class Header:
    """A batch's header: the caller's cells (trimmed) and their canonical names."""

    cells: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def match(self) -> str | None:
        return next((n for n in self.names if n in MATCH_COLUMNS), None)


def read_header(cells: list[str]) -> Header:
    """The header of a batch, or the error Pardot gives for it (159, 130)."""
    trimmed = tuple(c.strip() for c in cells)
    seen: dict[str, int] = {}
    for i, c in enumerate(trimmed):
        if c.lower() in seen:
            j = seen[c.lower()]
            raise PardotError(
                159, f"CSV header contains the same field multiple times: {c} (at index {j} and {i})"
            )
        seen[c.lower()] = i
    invalid = [c for c in trimmed if c.lower() not in _CANONICAL]
    if invalid:
        raise PardotError(159, "CSV header contains invalid default fields: " + ", ".join(invalid))
    names = tuple(_CANONICAL[c.lower()] for c in trimmed)
    if sum(n in MATCH_COLUMNS for n in names) > 1:
        raise PardotError(
            159,
            "Only one of 'matchId', 'matchEmail', and 'matchSalesforceId' may appear in import column headers.",
        )
    never = [c for c, n in zip(trimmed, names, strict=True) if n in NEVER_IMPORTED]
    if never:
        raise PardotError(130, "These fields cannot be imported: " + ", ".join(never))
    return Header(trimmed, names)


def canonical_field(name: str) -> str | None:
    """A prospect field's v5 name in its canonical case (None: not a prospect field)."""
    found = _CANONICAL.get(name.strip().lower())
    return found if found in COLUMNS or found in CUSTOM else None


class Rejected(Exception):
    """A row the import skips: ``kind`` (Pardot's error type) and a message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Options:
    create_on_no_match: bool = False
    restore_deleted: bool = False
    #: field -> {"overwrite": bool, "nullOverwrite": bool}
    fields: dict[str, dict[str, bool]] = field(default_factory=dict)

    def overwrite(self, name: str) -> bool:
        return self.fields.get(name, {}).get("overwrite", True)

    def null_overwrite(self, name: str) -> bool:
        return name != "campaignId" and self.fields.get(name, {}).get("nullOverwrite", False)


# ---------------------------------------------------------------------------- values
def _typed(store: Store, name: str, raw: str) -> Any:
    """A non-blank cell as the store keeps it, or the row's rejection."""
    value = raw.strip()
    if name == "email":
        if not _EMAIL.match(value):
            raise Rejected("Invalid Email", f"Invalid email address: {value!r}")
        return value
    if name == "campaignId":
        if not value.isdigit() or int(value) not in store.tables["campaign"].by_id:
            raise Rejected("Field Validation Failure", f"Invalid campaign ID: {value!r}")
        return int(value)
    if name == "score":
        try:
            return int(value)
        except ValueError:
            raise Rejected("Field Validation Failure", f"score must be an integer: {value!r}") from None
    if name.startswith("is") or name == "doNotSell":
        low = value.lower()
        if low not in _TRUE | _FALSE:
            raise Rejected("Field Validation Failure", f"{name} must be true or false: {value!r}")
        return 1 if low in _TRUE else None
    return raw


def _list_id(store: Store, raw: str, adding: bool) -> int:
    value = raw.strip()
    row = store.tables["list"].by_id.get(int(value)) if value.isdigit() else None
    if row is None or row.get("_deleted"):
        raise Rejected("Invalid List", f"Invalid list ID: {value!r} (one list id per cell)")
    if adding and row.get("is_dynamic"):
        raise Rejected("Invalid List", f"List {value} is dynamic: its members cannot be added by import")
    return int(value)


@dataclass
class Row:
    """One CSV row read against the store: its field values, lists and match value."""

    values: dict[str, Any]
    blanks: list[str]
    add: list[int]
    remove: list[int]
    match: str | None


def read_row(store: Store, header: Header, cells: list[str]) -> Row:
    row = Row({}, [], [], [], None)
    for name, cell in zip(header.names, cells, strict=True):
        if name in MATCH_COLUMNS:
            row.match = cell.strip()
        elif name in LIST_COLUMNS:
            if cell.strip():
                (row.add if name == "addToList" else row.remove).append(
                    _list_id(store, cell, name == "addToList")
                )
        elif not cell.strip():
            row.blanks.append(name)
        else:
            row.values[name] = _typed(store, name, cell)
    return row


# ---------------------------------------------------------------------------- matching
class Index:
    """Prospects by email and Salesforce id, memberships by (list, prospect): built once an import."""

    def __init__(self, store: Store):
        self.store = store
        self.by_email: dict[str, list[dict]] = {}
        self.by_sfid: dict[str, list[dict]] = {}
        for r in store.tables["prospect"].rows:
            self.add_prospect(r)
        self.members = {(m["list_id"], m["prospect_id"]): m for m in store.tables["listMembership"].rows}

    def forget_email(self, r: dict) -> None:
        key = (r.get("email") or "").lower()
        self.by_email[key] = [x for x in self.by_email.get(key, []) if x is not r]

    def add_prospect(self, r: dict) -> None:
        keys = [(self.by_email, r["email"].lower())] if r.get("email") else []
        keys += [(self.by_sfid, str(r[col])) for col in SF_COLUMNS if r.get(col)]
        for index, key in keys:
            same = index.setdefault(key, [])
            if not any(x is r for x in same):
                same.append(r)

    def find(self, column: str, value: str) -> list[dict]:
        if column == "matchId":
            if not value.isdigit():
                raise Rejected("Invalid Prospect ID", f"matchId must be a prospect id: {value!r}")
            found = self.store.tables["prospect"].by_id.get(int(value))
            return [found] if found is not None else []
        if column == "matchEmail":
            return self.by_email.get(value.lower(), [])
        return self.by_sfid.get(value, [])


def _target(index: Index, header: Header, row: Row, options: Options) -> dict | None:
    """The prospect a row updates (None: the row creates one), or its rejection."""
    column = header.match
    if column is None or not row.match:
        return None
    found = index.find(column, row.match)
    live = [r for r in found if not r.get("_deleted")]
    if live:
        return max(live, key=lambda r: (r.get("updated_at") or "", r["id"]))
    if found and options.restore_deleted:
        return found[0]  # restored by _update
    if found:
        raise Rejected("Archived Prospects", f"The prospect matched by {column} is in the recycle bin")
    if options.create_on_no_match:
        return None
    raise Rejected("No Match", f"No prospect matches {column} {row.match!r} (createOnNoMatch is false)")


# ---------------------------------------------------------------------------- changes
def _set(store: Store, prospect: dict, name: str, value: Any) -> None:
    if name in CUSTOM:
        prospect.setdefault("_custom", {})[name] = value
        return
    column = COLUMNS.get(name)
    if column is None:
        return
    prospect[column] = value
    if name == "campaignId":
        camp = store.tables["campaign"].by_id[value]
        prospect["campaign"] = {"id": camp["id"], "name": camp["name"]}


def _check_new(row: Row) -> None:
    if "email" not in row.values:
        raise Rejected("Invalid Email", "A new prospect needs an email value")
    if "campaignId" not in row.values:
        raise Rejected("Field Validation Failure", "A new prospect needs a campaignId value")


def _create(index: Index, row: Row) -> dict:
    store = index.store
    table = store.tables["prospect"]
    template = table.rows[0] if table.rows else {}
    prospect: dict[str, Any] = {k: None for k in template if not k.startswith("_")}
    now = fmt(utcnow())
    prospect.update({"id": table.new_id(), "created_at": now, "updated_at": now})
    prospect["recent_interaction"] = "Never active."
    for name, value in row.values.items():
        _set(store, prospect, name, value)
    table.add(prospect)
    index.add_prospect(prospect)
    return prospect


def _update(index: Index, prospect: dict, row: Row, options: Options) -> None:
    store = index.store
    prospect["_deleted"] = False
    for name, value in row.values.items():
        if options.overwrite(name) or _current(prospect, name) is None:
            if name == "email":
                index.forget_email(prospect)
            _set(store, prospect, name, value)
    for name in row.blanks:
        if options.null_overwrite(name):
            _set(store, prospect, name, None)
    if "email" in row.values:
        index.add_prospect(prospect)
    prospect["updated_at"] = fmt(utcnow())


def _current(prospect: dict, name: str) -> Any:
    if name in CUSTOM:
        return (prospect.get("_custom") or {}).get(name)
    column = COLUMNS.get(name)
    return prospect.get(column) if column else None


def _memberships(index: Index, prospect_id: int, row: Row) -> None:
    table = index.store.tables["listMembership"]
    now = fmt(utcnow())
    for list_id in row.add:
        member = index.members.get((list_id, prospect_id))
        if member is None:
            member = table.add(
                {
                    "id": table.new_id(),
                    "list_id": list_id,
                    "prospect_id": prospect_id,
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                    "_deleted": False,
                }
            )
            index.members[(list_id, prospect_id)] = member
        elif member.get("_deleted"):
            member.update({"_deleted": False, "updated_at": now})
    for list_id in row.remove:
        member = index.members.get((list_id, prospect_id))
        if member is not None and not member.get("_deleted"):
            member.update({"_deleted": True, "updated_at": now})
    table.changed()


# ---------------------------------------------------------------------------- an import
@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    errors: int = 0


def _apply_one(index: Index, header: Header, cells: list[str], options: Options, write: bool) -> bool:
    """Apply one row; True when it creates a prospect, False when it updates one."""
    row = read_row(index.store, header, cells)
    target = _target(index, header, row, options)
    creating = target is None
    if target is None:
        _check_new(row)
        if write:
            target = _create(index, row)
    elif write:
        _update(index, target, row, options)
    if write and target is not None:
        _memberships(index, target["id"], row)
    return creating


def apply_rows(
    store: Store,
    header: Header,
    rows: Iterable[list[str]],
    options: Options,
    reject: Callable[[list[str], Rejected], None],
    write: bool = True,
) -> Outcome:
    """Apply each row (``write=False``: check and count only); a rejected row goes to ``reject``."""
    out = Outcome()
    with store.lock:
        index = Index(store)
        for cells in rows:
            try:
                created = _apply_one(index, header, cells, options, write)
            except Rejected as e:
                out.errors += 1
                reject(cells, e)
                continue
            if created:
                out.created += 1
            else:
                out.updated += 1
        store.tables["prospect"].changed()
    return out
