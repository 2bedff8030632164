"""The v5 Import API: imports, their batches, their status over polls, and their error files.

* Create (``Open``, or ``Waiting`` when created ``Ready`` with its only batch), add batches while
  ``Open`` (at most 10, each at most 10 MB of CSV with one header row and the same header in every
  batch), submit with ``{"status": "Ready"}`` (``Waiting``), then ``Processing`` and ``Complete``.
* Pace: each of ``Waiting`` and ``Processing`` is answered to ``import_polls`` reads of the import
  before it moves on (0: the first read after the submit answers ``Complete``); with
  ``import_delay`` set, a phase also ends after that many seconds. Rows are applied to the store
  when the import enters ``Processing`` (a background thread); ``Complete`` waits for them.
  ``import_final_status`` (``Complete``, ``Failed`` or ``Cancelled``) is where processing ends;
  ``Failed`` and ``Cancelled`` imports apply nothing.
* Expiry: an ``Open`` import expires ``import_open_expiry_seconds`` after creation (24 h; it then
  never imports anything), a finished one ``import_expiry_seconds`` after it finished (7 days).
* Limits: ``import_batch_daily_limit`` batches a day (error 164), counted on every batch accepted.
* Errors: rejected rows are written to a CSV file (the caller's header and row, plus ``errorType``
  and ``errorMessage``); ``GET .../errors`` answers 302 to it, served without authentication at
  ``/files/imports/{id}/errors/{key}`` (the key is random, as a storage link would be).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field

from . import import_rows, multipart
from .dates import fmt_v5, utcnow
from .errors import PardotError
from .params import get, json_object
from .worker import Worker

MAX_BATCH_BYTES = 10 * 1024 * 1024
MAX_BATCHES = 10
STATUSES = ("Open", "Waiting", "Processing", "Complete", "Failed", "Cancelled")
FINAL = ("Complete", "Failed", "Cancelled")
FIELDS = [
    "id",
    "status",
    "operation",
    "object",
    "createOnNoMatch",
    "restoreDeleted",
    "isExpired",
    "batchesRef",
    "errorsRef",
    "createdCount",
    "updatedCount",
    "errorCount",
    "createdAt",
    "updatedAt",
    "createdById",
    "updatedById",
]
CREATE_KEYS = {"operation", "object", "status", "createOnNoMatch", "restoreDeleted", "fields"}
#: how long a read due to see ``Complete`` waits for the rows to be applied
APPLY_WAIT = 2.0
FIRST_ID = 7001


@dataclass
class Import:
    id: int
    options: import_rows.Options
    status: str = "Open"
    header: import_rows.Header | None = None
    batches: list[str] = field(default_factory=list)
    #: data rows in the batches
    rows: int = 0
    created_ts: float = field(default_factory=time.time)
    created: str = field(default_factory=lambda: fmt_v5(utcnow()))
    updated: str = ""
    #: when the current status began, and the reads that saw it
    phase_ts: float = 0.0
    polls: int = 0
    applied: bool = False
    outcome: import_rows.Outcome | None = None
    errors_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    forced_expired: bool | None = None
    pinned: bool = False
    #: where processing ends (``import_final_status`` when it was submitted)
    final: str = "Complete"
    apply_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.updated = self.created
        self.phase_ts = self.created_ts

    def move(self, status: str) -> None:
        self.status = status
        self.updated = fmt_v5(utcnow())
        self.phase_ts = time.time()
        self.polls = 0


def _bool(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise PardotError(154, f"{key} must be true or false")
    return value


def _field_options(raw) -> dict[str, dict[str, bool]]:
    """``fields``: ``{"email": {"overwrite": true, "nullOverwrite": false}}`` or a list of
    ``{"field": "email", "overwrite": ..., "nullOverwrite": ...}``."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        if not all(isinstance(o, dict) and o.get("field") for o in raw):
            raise PardotError(153, "Each column option must include a field name")
        raw = {o["field"]: {k: v for k, v in o.items() if k != "field"} for o in raw}
    if not isinstance(raw, dict):
        raise PardotError(154, "fields must be an object keyed by field name")
    out: dict[str, dict[str, bool]] = {}
    for name, opts in raw.items():
        canonical = import_rows.canonical_field(str(name))
        if canonical is None:
            raise PardotError(130, f"fields: {name}")
        if not isinstance(opts, dict) or set(opts) - {"overwrite", "nullOverwrite"}:
            raise PardotError(154, f"fields.{name} takes overwrite and nullOverwrite")
        out[canonical] = {k: _bool(opts, k) for k in opts}
    return out


def read_options(data: dict) -> tuple[import_rows.Options, bool]:
    """The create body's options, and whether it asks for ``Ready`` (with its file)."""
    unknown = set(data) - CREATE_KEYS
    if unknown:
        raise PardotError(154, ", ".join(sorted(unknown)))
    for key, only in (("operation", "Upsert"), ("object", "Prospect")):
        if not data.get(key):
            raise PardotError(153, key)
        if str(data[key]).lower() != only.lower():
            raise PardotError(154, f"{key} must be {only!r}")
    status = data.get("status")
    if status is not None and str(status).lower() not in ("open", "ready"):
        raise PardotError(154, "Requested state must be open or ready")
    options = import_rows.Options(
        _bool(data, "createOnNoMatch"), _bool(data, "restoreDeleted"), _field_options(data.get("fields"))
    )
    return options, str(status).lower() == "ready"


def read_csv(data: bytes) -> tuple[list[str], int]:
    """A batch's header cells and its row count, or error 159."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PardotError(159, "The file is not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        width, count = len(header or ()), 0
        for row in reader:
            if not row:
                continue
            if len(row) != width:
                raise PardotError(159, f"Row {count + 1} has {len(row)} columns; the header has {width}")
            count += 1
    except csv.Error as e:
        raise PardotError(159, str(e)) from None
    if not header or count == 0:
        raise PardotError(159, "The file is empty or contains no data")
    return header, count


def the_file(parts: list[multipart.Part], required: bool) -> bytes | None:
    """The one file of a request: the part named ``file`` (any case) and any other file part
    but ``input`` (which some clients send as a JSON file)."""
    files = [p for p in parts if p.name.lower() != "input" and (p.is_file or p.name.lower() == "file")]
    if len(files) > 1:
        raise PardotError(163)
    if not files and required:
        raise PardotError(162)
    return files[0].data if files else None


def create_body(body: bytes, content_type: str) -> tuple[dict, bytes | None]:
    """A create's options and its optional first batch: JSON, or multipart ``input`` + ``file``."""
    parts = multipart.parse(body, content_type)
    if parts is None:
        return json_object(body, content_type), None
    inputs = multipart.by_name(parts, "input")
    data = json_object(inputs[-1].data, "application/json") if inputs else {}
    return data, the_file(parts, required=False)


def parse_fields(params: dict, required: bool) -> list[str] | None:
    """The ``fields`` parameter (13 when required and absent, 51 for an unknown name)."""
    raw = get(params, "fields")
    if raw is None or not raw.strip():
        if required:
            raise PardotError(13, "fields")
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        if name not in FIELDS:
            raise PardotError(51, f"fields. It contains an invalid or unknown field: {name}")
    return names


def check_header(imp: Import, header: import_rows.Header) -> None:
    """The checks a batch's header meets against its import (130, 227, 13)."""
    if imp.header is not None and imp.header.cells != header.cells:
        raise PardotError(130, "Header row for file didn't match initial file")
    missing = sorted(set(imp.options.fields) - set(header.names))
    if missing:
        raise PardotError(227, ", ".join(missing))
    if imp.options.create_on_no_match or header.match is None:
        need = [f"'{c}' column" for c in ("email", "campaignId") if c not in header.names]
        if need:
            raise PardotError(13, ", ".join(need))


def csv_rows(path: str):
    """The data rows of a stored batch (its header skipped)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if row:
                yield row


class Imports(Worker):
    """Every import of the account, and the thread that applies submitted ones."""

    def __init__(self, emu):
        super().__init__(emu, "pardot-emulator-imports")
        self.imports: dict[int, Import] = {}
        self.next_id = FIRST_ID
        self.batches_today = 0
        self._queue: list[Import] = []
        self.start()

    @property
    def root(self) -> str:
        return os.path.join(self.emu.data_dir, "imports")

    def reset(self) -> None:
        with self.cond:
            self.imports.clear()
            self._queue.clear()
            self.next_id = FIRST_ID
            self.batches_today = 0
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ create, batches, submit
    def _take_batch(self, dry: bool = False) -> None:
        """Count a batch against the daily limit (164); ``dry``: only check there is room."""
        limit = int(self.emu.config["import_batch_daily_limit"])
        with self.cond:
            if self.batches_today >= limit:
                raise PardotError(164, f"{limit} batches a day")
            if not dry:
                self.batches_today += 1

    def create(self, data: dict, file: bytes | None) -> Import:
        options, ready = read_options(data)
        self._take_batch(dry=True)
        if ready and file is None:
            raise PardotError(162, "An import created Ready needs its file")
        checked = self._checked_file(file, options) if file is not None else None
        with self.cond:
            imp = Import(self.next_id, options)
            self.next_id += 1
            self.imports[imp.id] = imp
        if file is not None and checked is not None:
            self._store_batch(imp, checked, file)
        if ready:
            self.submit(imp, {"status": "Ready"})
        return imp

    def _checked_file(
        self, data: bytes, options: import_rows.Options, imp: Import | None = None
    ) -> tuple[import_rows.Header, int]:
        """A batch's header and row count, once the file passed every check."""
        if len(data) > MAX_BATCH_BYTES:
            raise PardotError(204, "Limit of 10MB exceeded", status=413)
        cells, count = read_csv(data)
        header = import_rows.read_header(cells)
        check_header(imp or Import(0, options), header)
        return header, count

    @staticmethod
    def _room(imp: Import) -> None:
        """161 unless the import is Open, 160 (HTTP 429) when it holds its 10 batches."""
        if imp.status != "Open":
            raise PardotError(161, f"Current status is {imp.status}")
        if len(imp.batches) >= MAX_BATCHES:
            raise PardotError(
                160, f"Over batch per import limits (Currently set to {MAX_BATCHES})", status=429
            )

    def _store_batch(self, imp: Import, checked: tuple[import_rows.Header, int], data: bytes) -> None:
        folder = os.path.join(self.root, str(imp.id))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"batch-{secrets.token_hex(4)}.csv")
        with open(path, "wb") as fh:
            fh.write(data)
        with self.cond:  # checked again: another request may have submitted or filled the import
            try:
                self._room(imp)
                self._take_batch()
            except PardotError:
                os.remove(path)
                raise
            imp.header = imp.header or checked[0]
            imp.rows += checked[1]
            imp.batches.append(path)
            imp.updated = fmt_v5(utcnow())

    def add_batch(self, imp: Import, data: bytes) -> None:
        self._take_batch(dry=True)
        if self.is_expired(imp):
            raise PardotError(2, "Cannot add a batch to an expired import")
        self._room(imp)
        self._store_batch(imp, self._checked_file(data, imp.options, imp), data)

    def submit(self, imp: Import, data: dict) -> Import:
        if set(data) - {"status"}:
            raise PardotError(51, "Only status can be set")
        if str(data.get("status")) != "Ready":
            raise PardotError(154, 'Requested state must be "Ready"')
        with self.cond:
            if imp.status != "Open":
                raise PardotError(155)
            if self.is_expired(imp):
                raise PardotError(2, "Cannot update an expired import")
            if not imp.batches:
                raise PardotError(156)
            imp.final = str(self.emu.config["import_final_status"])
            imp.move("Waiting")
        return imp

    # ------------------------------------------------------------------ status
    def get(self, raw_id: str) -> Import:
        imp = self.imports.get(int(raw_id)) if raw_id.isdigit() else None
        if imp is None:
            raise PardotError(109)
        return imp

    def is_expired(self, imp: Import) -> bool:
        if imp.forced_expired is not None:
            return imp.forced_expired
        cfg = self.emu.config
        if imp.status == "Open":
            return time.time() - imp.created_ts > float(cfg["import_open_expiry_seconds"])
        if imp.status in FINAL:
            return time.time() - imp.phase_ts > float(cfg["import_expiry_seconds"])
        return False

    def _due(self, imp: Import) -> bool:
        delay = self.emu.config["import_delay"]
        timed_out = delay is not None and time.time() - imp.phase_ts >= float(delay)
        return timed_out or imp.polls > int(self.emu.config["import_polls"])

    def advance(self, imp: Import, poll: bool) -> Import:
        """Move a submitted import on: a read (``poll``) counts, time too when ``import_delay`` is set."""
        with self.cond:
            if imp.pinned or imp.status not in ("Waiting", "Processing"):
                return imp
            imp.polls += poll
            if imp.status == "Waiting" and self._due(imp):
                imp.move("Processing")
                imp.polls = int(poll)
                self._queue.append(imp)
                self.cond.notify_all()
            if imp.status == "Processing" and self._due(imp):
                deadline = time.time() + (APPLY_WAIT if poll else 0)
                while not imp.applied and time.time() < deadline and not self._stop.is_set():
                    self.cond.wait(0.05)
                if imp.applied:
                    imp.move(imp.final)
        return imp

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.cond:
                if self.emu.config["import_delay"] is not None:
                    for imp in list(self.imports.values()):
                        self.advance(imp, poll=False)
                if not self._queue:
                    self.cond.wait(0.05)
                    continue
                imp = self._queue.pop(0)
            self.apply(imp)

    def apply(self, imp: Import) -> None:
        """Apply a submitted import's rows to the store (once), and write its error file."""
        with imp.apply_lock:  # the worker and a forced Complete may both get here
            if imp.applied:
                return
            outcome = import_rows.Outcome()
            try:
                if imp.final == "Complete":
                    outcome = self._apply_batches(imp, imp.header)
            except Exception as exc:  # pragma: no cover - a bug or a full disk: Pardot's Failed
                self.emu.log(f"import {imp.id} failed: {exc!r}")
                imp.final = "Failed"
            with self.cond:
                imp.outcome = outcome if imp.final == "Complete" else None
                imp.applied = True
                self.cond.notify_all()

    def errors_path(self, imp: Import) -> str:
        return os.path.join(self.root, str(imp.id), f"errors-{imp.errors_key}.csv")

    def _apply_batches(self, imp: Import, header: import_rows.Header | None) -> import_rows.Outcome:
        path = self.errors_path(imp)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([*(header.cells if header else ()), "errorType", "errorMessage"])
            if header is None:  # forced Complete without a batch: nothing to apply
                return import_rows.Outcome()

            def rows():
                for batch in imp.batches:
                    yield from csv_rows(batch)

            def reject(cells: list[str], why: import_rows.Rejected) -> None:
                writer.writerow([*cells, why.kind, why.message])

            write = bool(self.emu.config["import_apply_rows"])
            return import_rows.apply_rows(self.emu.store, header, rows(), imp.options, reject, write)

    # ------------------------------------------------------------------ answers
    def represent(self, imp: Import, base: str, fields: list[str] | None = None) -> dict:
        """The import in v5's shape: ``fields`` (every field when None), ``id`` first."""
        from .auth import PARDOT_USER_ID

        expired = self.is_expired(imp)
        out = imp.outcome
        url = f"{base}/api/v5/imports/{imp.id}"
        full = {
            "id": imp.id,
            "status": imp.status,
            "operation": "Upsert",
            "object": "Prospect",
            "createOnNoMatch": imp.options.create_on_no_match,
            "restoreDeleted": imp.options.restore_deleted,
            "isExpired": expired,
            "batchesRef": f"{url}/batches" if imp.status == "Open" and not expired else None,
            "errorsRef": f"{url}/errors" if out and out.errors and not expired else None,
            "createdCount": out.created if out else None,
            "updatedCount": out.updated if out else None,
            "errorCount": out.errors if out else None,
            "createdAt": imp.created,
            "updatedAt": imp.updated,
            "createdById": PARDOT_USER_ID,
            "updatedById": PARDOT_USER_ID,
        }
        names = FIELDS if fields is None else ["id", *sorted(set(fields) - {"id"})]
        return {k: full[k] for k in names}

    def query(self, filters: dict[str, str], limit: int, after_id: int) -> list[Import]:
        """Imports in id order after ``after_id``, at most ``limit``, that pass ``filters``."""
        status = filters.get("status")
        low, high = filters.get("updatedAtAfterOrEqualTo"), filters.get("updatedAtBeforeOrEqualTo")
        with self.cond:
            rows = sorted(self.imports.values(), key=lambda i: i.id)
        rows = [
            i
            for i in rows
            if i.id > after_id
            and (status is None or i.status == status)
            and (low is None or i.updated >= low)
            and (high is None or i.updated <= high)
        ]
        return rows[:limit]

    def errors_file(self, imp: Import) -> str:
        """The stored error file of a finished import (the redirect's target), or Pardot's error."""
        if imp.status != "Complete" or imp.outcome is None:
            raise PardotError(109, "Import is not finished processing", status=400)
        if self.is_expired(imp):
            raise PardotError(2, "The import has expired")
        return self.errors_path(imp)

    def control_view(self, imp: Import, base: str) -> dict:
        """What the control API shows of an import: its v5 record and how it stands inside."""
        extra = {
            "batches": len(imp.batches),
            "rows": imp.rows,
            "polls": imp.polls,
            "applied": imp.applied,
            "pinned": imp.pinned,
        }
        return self.represent(imp, base) | extra

    def force(self, imp: Import, status: str | None, expired, pinned: bool = True) -> Import:
        """Control API: put an import in a status (Complete applies it first) or expire it."""
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}")
            if status == "Complete" and not imp.applied:
                imp.final = "Complete"
                self.apply(imp)
            with self.cond:
                imp.move(status)
                imp.pinned = pinned
        if expired is not None:
            imp.forced_expired = bool(expired)
        return imp


# ---------------------------------------------------------------------------- query parameters
QUERY_FILTERS = ("status", "updatedAtAfterOrEqualTo", "updatedAtBeforeOrEqualTo")
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000


def _filters(params: dict) -> dict[str, str]:
    from .dates import parse_datetime

    out: dict[str, str] = {}
    for name in QUERY_FILTERS:
        raw = get(params, name)
        if raw is None:
            continue
        if name == "status":
            if raw not in STATUSES:
                raise PardotError(51, f"status. It must be one of {', '.join(STATUSES)}")
            out[name] = raw
            continue
        try:
            out[name] = fmt_v5(parse_datetime(raw))
        except (ValueError, OverflowError):
            raise PardotError(51, f"{name}. It must be an ISO 8601 date-time with its offset") from None
    return out


def query_state(params: dict) -> dict:
    """A query's filters, limit and resume point: from ``nextPageToken`` or from the parameters."""
    token = get(params, "nextPageToken")
    if token is not None:
        extra = sorted(k for k in params if k not in ("fields", "nextPageToken", "format"))
        if extra:
            raise PardotError(51, f"{extra[0]}. No parameter but fields may be sent with nextPageToken")
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            _ = (state["filters"], int(state["limit"]), int(state["after"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise PardotError(211) from None
        return state
    unknown = sorted(set(params) - {"fields", "limit", "format", *QUERY_FILTERS})
    if unknown:
        raise PardotError(51, f"{unknown[0]}. Filters: {', '.join(QUERY_FILTERS)}")
    raw = get(params, "limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise PardotError(51, f"limit. It must be a positive integer up to {MAX_LIMIT}: {raw!r}")
    return {"filters": _filters(params), "limit": int(raw), "after": 0}


def next_token(state: dict, last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({**state, "after": last_id}).encode()).decode("ascii")
