"""Export API (v3/v4 documented, v5 by analogy) with a background state machine.

* States ``Waiting -> Processing -> Complete`` (``Failed`` / ``Canceled`` via cancel or control);
  exports run one at a time, oldest first (one worker thread per emulator = one account).
  Each phase lasts ``export_delay`` seconds (Processing at least that long, longer when the files
  take longer to write).
* Results are CSV files written to the data dir while Processing (streamed in blocks) and served
  from disk in chunks. Header row = requested fields (or the object's default list), no BOM
  unless ``includeByteOrderMark``, nulls empty, dates ``YYYY-MM-DD HH:MM:SS`` (a v5 export
  created with ``legacyDateFormat: false`` gets ISO 8601 dates instead -- an assumption).
* Row volume: ``export_rows`` rows split every ``export_file_max_rows`` rows, or when
  ``export_target_bytes`` is set, rows until the total reaches that many bytes split every
  ``export_file_max_bytes`` bytes (or the export's ``maxFileSizeBytes``). Rows are built from a
  pool of pre-formatted CSV lines with only the id spliced in, so generation runs at hundreds
  of MB/s.
* Expiry: ``export_expiry_seconds`` after creation (default 7 days) -> ``isExpired: true``,
  ``resultRefs`` removed, downloads answer error 178.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import shutil
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, BinaryIO, TypedDict, cast

from .dates import add_year, fmt, fmt_v5, parse_datetime, utcnow, v4_to_v5
from .errors import PardotError
from .params import json_object, php_bool
from .worker import Worker

if TYPE_CHECKING:
    from _hashlib import HASH
    from collections.abc import Callable

VA_FIELDS = [
    "id",
    "prospect_id",
    "visitor_id",
    "type",
    "type_name",
    "details",
    "email_id",
    "email_template_id",
    "list_email_id",
    "form_id",
    "form_handler_id",
    "site_search_query_id",
    "landing_page_id",
    "paid_search_ad_id",
    "multivariate_test_variation_id",
    "visitor_page_view_id",
    "file_id",
    "custom_redirect_id",
    "campaign_id",
    "created_at",
    "updated_at",
]
LM_FIELDS = ["id", "list_id", "prospect_id", "opted_out", "created_at", "updated_at"]
PROSPECT_FIELDS = [
    "id",
    "campaign_id",
    "salutation",
    "first_name",
    "last_name",
    "email",
    "password",
    "company",
    "prospect_account_id",
    "website",
    "job_title",
    "department",
    "country",
    "address_one",
    "address_two",
    "city",
    "state",
    "territory",
    "zip",
    "phone",
    "fax",
    "source",
    "annual_revenue",
    "employees",
    "industry",
    "years_in_business",
    "comments",
    "score",
    "last_activity_at",
    "recent_interaction",
    "crm_lead_fid",
    "crm_contact_fid",
    "crm_owner_fid",
    "crm_account_fid",
    "crm_last_sync",
    "crm_url",
    "is_do_not_email",
    "is_do_not_call",
    "opted_out",
    "is_reviewed",
    "is_starred",
    "created_at",
    "updated_at",
]
PA_FIELDS = [
    "id",
    "name",
    "number",
    "description",
    "phone",
    "fax",
    "website",
    "rating",
    "site",
    "type",
    "annual_revenue",
    "industry",
    "sic",
    "employees",
    "billing_address_one",
    "billing_address_two",
    "billing_city",
    "billing_state",
    "billing_zip",
    "billing_country",
    "shipping_address_one",
    "shipping_address_two",
    "shipping_city",
    "shipping_state",
    "shipping_zip",
    "shipping_country",
    "created_at",
    "updated_at",
]
VISITOR_FIELDS = [
    "id",
    "prospect_id",
    "page_view_count",
    "ip_address",
    "hostname",
    "campaign_parameter",
    "medium_parameter",
    "source_parameter",
    "content_parameter",
    "term_parameter",
    "created_at",
    "updated_at",
]
EA_FIELDS = [
    "id",
    "extension",
    "type",
    "value",
    "prospect_id",
    "activity_date",
    "created_at",
    "created_by_id",
]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


DATE_ARG = "date"
BOOL_ARG = "bool"
DELETED_ARG = "deleted"
DELETED_ALL_ARG = "deleted_all"
TYPES_ARG = "types"


def _proc(kind: str, extra: dict | None = None) -> dict:
    args = {f"{kind}_after": DATE_ARG, f"{kind}_before": DATE_ARG}
    args.update(extra or {})
    return {
        "after": f"{kind}_after",
        "before": f"{kind}_before",
        "args": args,
        "field": {"created": "created_at", "updated": "updated_at", "activity": "activity_date"}.get(
            kind, "updated_at"
        ),
    }


VA_EXTRA = {"type": TYPES_ARG, "prospectOnly": BOOL_ARG, "prospect_only": BOOL_ARG}
EXPORT_OBJECTS: dict[str, dict] = {
    "visitorActivity": {
        "fields": VA_FIELDS,
        "extra_v5": ["visitId", "opportunityId"],
        "procedures": {
            "filter_by_created_at": _proc("created", VA_EXTRA),
            "filter_by_updated_at": _proc("updated", VA_EXTRA),
        },
    },
    "listMembership": {
        "fields": LM_FIELDS,
        "extra_v5": ["createdById", "updatedById"],
        "procedures": {
            "filter_by_created_at": _proc("created", {"deleted": DELETED_ARG}),
            "filter_by_updated_at": _proc("updated", {"deleted": DELETED_ARG}),
        },
    },
    # prospect filter_by_updated_at: "deleted" must be "all" when given (api-facts §5.1)
    "prospect": {
        "fields": PROSPECT_FIELDS,
        "extra_v5": ["createdById", "updatedById"],
        "procedures": {
            "filter_by_updated_at": _proc("updated", {"deleted": DELETED_ALL_ARG}),
            "filter_by_created_at": _proc("created", {"deleted": DELETED_ARG}),
        },
    },
    "prospectAccount": {
        "fields": PA_FIELDS,
        "extra_v5": ["createdById", "updatedById"],
        "procedures": {
            "filter_by_prospect_updated_at": _proc("prospect_updated", {"prospect_deleted": DELETED_ARG}),
            "filter_by_updated_at": _proc("updated", {"deleted": DELETED_ARG}),
        },
    },
    "visitor": {
        "fields": VISITOR_FIELDS,
        "extra_v5": [],
        "procedures": {
            "filter_by_updated_at": _proc("updated", {"deleted": DELETED_ARG}),
            "filter_by_prospect_updated_at": _proc("prospect_updated", {"prospect_deleted": DELETED_ARG}),
        },
    },
    "externalActivity": {
        "fields": EA_FIELDS,
        "extra_v5": [],
        "procedures": {
            "filter_by_created_at": _proc("created"),
            "filter_by_activity_date": _proc("activity"),
        },
    },
}
RELATION_PREFIXES = {
    "campaign",
    "prospect",
    "visitor",
    "list",
    "createdBy",
    "updatedBy",
    "prospectAccount",
    "email",
    "listEmail",
    "form",
    "landingPage",
    "emailTemplate",
    "visit",
}
STATES = ("Waiting", "Processing", "Complete", "Failed", "Canceled")
BODY_KEYS = {"object", "fields", "procedure", "includeByteOrderMark", "maxFileSizeBytes", "legacyDateFormat"}
MAX_FIELDS = 150
ID_MARK = "\x1eID\x1e"


def known_fields(obj: str) -> set[str]:
    spec = EXPORT_OBJECTS[obj]
    names = set(spec["fields"]) | {_camel(f) for f in spec["fields"]} | set(spec["extra_v5"])
    if obj == "prospect":
        names -= {"grade", "notes"}
    return names


class Canceled(Exception):
    pass


class _FileState(TypedDict):
    """The results file being written by ``Exports.generate`` (``fh`` None = no file open)."""

    fh: BinaryIO | None
    rows: int
    bytes: int
    sha: HASH | None
    path: str | None


class Export:
    def __init__(
        self,
        eid: int,
        obj: str,
        fields: list[str],
        procedure: dict,
        options: dict,
        api: str,
        after: dt.datetime,
        before: dt.datetime | None,
    ):
        self.id = eid
        self.object = obj
        self.fields = fields
        self.procedure = procedure
        self.options = options
        self.api = api
        self.after = after
        self.before = before
        self.state = "Waiting"
        self.created = utcnow()
        self.updated = self.created
        self.created_ts = time.time()
        self.forced_expired: bool | None = None
        self.pinned = False
        self.files: list[dict] | None = None
        self.gen_lock = threading.Lock()


class Exports(Worker):
    def __init__(self, emu):
        super().__init__(emu, "pardot-emulator-exports")
        self.exports: dict[int, Export] = {}
        self.next_id = 5001
        self.last_finished = 0.0
        self.start()

    @property
    def root(self) -> str:
        return os.path.join(self.emu.data_dir, "exports")

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        with self.cond:
            for e in self.exports.values():
                if e.state in ("Waiting", "Processing"):
                    e.state = "Canceled"
            self.exports.clear()
            self.next_id = 5001
            self.last_finished = 0.0
            self.cond.notify_all()
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ create
    def parse_body(self, body: bytes, content_type: str, query: dict) -> dict:
        ctype = (content_type or "").split(";")[0].strip().lower()
        if not body.strip():
            raise PardotError(152)
        if ctype in ("application/x-www-form-urlencoded",):
            return _form_body(urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        return json_object(body, ctype, also=("text/plain",))

    def create(self, data: dict, api: str) -> Export:
        unknown = set(data) - BODY_KEYS
        if unknown:
            raise PardotError(154, ", ".join(sorted(unknown)))
        obj = data.get("object")
        if not obj:
            raise PardotError(153, "object")
        if obj not in EXPORT_OBJECTS:
            # UNCERTAIN which code Pardot uses for an unknown export object; 192 reads best.
            raise PardotError(192, str(obj))
        spec = EXPORT_OBJECTS[obj]
        proc = data.get("procedure")
        if proc is None:
            raise PardotError(153, "procedure")
        if not isinstance(proc, dict):
            raise PardotError(177, "procedure must be an object")
        name = proc.get("name")
        if not name:
            raise PardotError(153, "procedure.name")
        if name not in spec["procedures"]:
            raise PardotError(174, str(name))
        pspec = spec["procedures"][name]
        args = proc.get("arguments") or {}
        if not isinstance(args, dict):
            raise PardotError(177, "arguments must be an object")
        for k in args:
            if k not in pspec["args"]:
                raise PardotError(175, k)
        if args.get(pspec["after"]) in (None, ""):
            raise PardotError(176, pspec["after"])
        now = utcnow()
        parsed: dict = {}
        for k, v in args.items():
            kind = pspec["args"][k]
            if kind == DATE_ARG:
                if v in (None, ""):
                    continue
                try:
                    parsed[k] = parse_datetime(str(v), now=now)
                except (ValueError, OverflowError):
                    raise PardotError(177, f"{k}: invalid date {v!r}") from None
            elif kind == BOOL_ARG:
                if not (isinstance(v, bool) or str(v).lower() in ("true", "false", "1", "0")):
                    raise PardotError(177, f"{k} must be true or false")
            elif kind == DELETED_ARG:
                if str(v).lower() not in ("true", "false", "all") and not isinstance(v, bool):
                    raise PardotError(177, f"{k} must be true, false or all")
            elif kind == DELETED_ALL_ARG:
                if str(v).lower() != "all":
                    raise PardotError(177, f"{k} must be all")
            elif kind == TYPES_ARG:
                items = v if isinstance(v, list) else str(v).split(",")
                for it in items:
                    try:
                        int(str(it).strip())
                    except ValueError:
                        raise PardotError(177, f"{k}: invalid type {it!r}") from None
        after = parsed[pspec["after"]]
        before = parsed.get(pspec["before"])
        if before is not None and before <= after:
            raise PardotError(177, f"{pspec['before']} must be after {pspec['after']}")
        if (before or now) > add_year(after):
            raise PardotError(177, "the date range cannot exceed 1 year")

        fields = data.get("fields")
        if fields in (None, []):
            fields = list(spec["fields"]) if api != "v5" else [_camel(f) for f in spec["fields"]]
        if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
            raise PardotError(130, "fields must be an array of strings")
        if len(fields) > MAX_FIELDS:
            raise PardotError(130, f"at most {MAX_FIELDS} fields")
        allowed = known_fields(obj)
        bad = [
            f
            for f in fields
            if f not in allowed and not ("." in f and f.split(".", 1)[0] in RELATION_PREFIXES and api == "v5")
        ]
        if bad:
            raise PardotError(130, ", ".join(bad))

        options = {}
        for k in ("includeByteOrderMark", "legacyDateFormat"):
            if k in data and data[k] is not None:
                if not isinstance(data[k], bool):
                    raise PardotError(154, f"{k} must be a boolean")
                options[k] = data[k]
        if data.get("maxFileSizeBytes") is not None:
            m = data["maxFileSizeBytes"]
            if isinstance(m, bool) or not isinstance(m, int) or m < 1024:
                raise PardotError(154, "maxFileSizeBytes must be an integer >= 1024")
            options["maxFileSizeBytes"] = m
        with self.cond:
            eid = self.next_id
            self.next_id += 1
            exp = Export(eid, obj, fields, {"name": name, "arguments": args}, options, api, after, before)
            self.exports[eid] = exp
            self.cond.notify_all()
        return exp

    # ------------------------------------------------------------------ access
    def get(self, raw_id, v5: bool = False) -> Export:
        try:
            eid = int(str(raw_id))
        except (TypeError, ValueError):
            raise PardotError(109 if v5 else 16) from None
        with self.cond:
            exp = self.exports.get(eid)
        if exp is None:
            raise PardotError(109)
        return exp

    def is_expired(self, exp: Export) -> bool:
        if exp.forced_expired is not None:
            return exp.forced_expired
        ttl = float(self.emu.config.get("export_expiry_seconds") or 7 * 86400)
        return time.time() - exp.created_ts > ttl

    def result_urls(self, exp: Export, base: str, api: str, version: str = "4") -> list[str]:
        if exp.state != "Complete" or self.is_expired(exp) or not exp.files:
            return []
        if api == "v5":
            return [f"{base}/api/v5/exports/{exp.id}/results/{i}" for i in range(1, len(exp.files) + 1)]
        return [
            f"{base}/api/export/version/{version}/do/downloadResults/id/{exp.id}/file/{i}"
            for i in range(1, len(exp.files) + 1)
        ]

    def repr_v4(self, exp: Export, base: str, version: str, with_refs: bool = True) -> dict:
        r = {"id": exp.id, "state": exp.state, "isExpired": self.is_expired(exp)}
        if with_refs:
            urls = self.result_urls(exp, base, "v4", version)
            if len(urls) == 1:
                r["resultRefs"] = urls[0]
            elif urls:
                r["resultRefs"] = urls
        r["createdAt"] = fmt(exp.created)
        r["updatedAt"] = fmt(exp.updated)
        return r

    def repr_v5(self, exp: Export, base: str) -> dict:
        from .auth import PARDOT_USER_ID

        urls = self.result_urls(exp, base, "v5")
        r = {
            "id": exp.id,
            "status": exp.state,
            "isExpired": self.is_expired(exp),
            "resultRefs": urls or None,
            "fields": list(exp.fields),
            "procedure": exp.procedure,
        }
        r.update(exp.options)
        r.update(
            {
                "createdAt": fmt_v5(exp.created),
                "updatedAt": fmt_v5(exp.updated),
                "createdById": PARDOT_USER_ID,
                "updatedById": PARDOT_USER_ID,
            }
        )
        return r

    def query(self, params: dict) -> list[Export]:
        from .objects import date_param, get, parse_int

        conds: list[Callable[..., Any]] = []
        for name, attr, op in (
            ("created_after", "created", "gt"),
            ("created_before", "created", "lt"),
            ("updated_after", "updated", "gt"),
            ("updated_before", "updated", "lt"),
        ):
            v = date_param(params, name)
            if v is not None:
                conds.append(
                    lambda e, a=attr, v=v, op=op: (
                        (fmt(getattr(e, a)) > v) if op == "gt" else (fmt(getattr(e, a)) < v)
                    )
                )
        status = get(params, "status")
        if status is not None:
            if status not in STATES:
                raise PardotError(5, "status")
            conds.append(lambda e, s=status: e.state == s)
        obj = get(params, "object")
        if obj is not None:
            conds.append(lambda e, o=obj: e.object == o)
        sort_by = get(params, "sort_by") or "id"
        if sort_by not in ("id", "created_at", "updated_at"):
            raise PardotError(19)
        order = get(params, "sort_order") or "descending"
        if order not in ("ascending", "descending"):
            raise PardotError(20)
        with self.cond:
            rows = [e for e in self.exports.values() if all(c(e) for c in conds)]
        key = {
            "id": lambda e: e.id,
            "created_at": lambda e: (e.created, e.id),
            "updated_at": lambda e: (e.updated, e.id),
        }[sort_by]
        rows.sort(key=key, reverse=order == "descending")
        offset = parse_int(get(params, "offset", "0"), 21)
        limit = min(parse_int(get(params, "limit", "200"), 23), 200)
        return rows[offset : offset + limit]

    def cancel(self, exp: Export) -> Export:
        with self.cond:
            if exp.state not in ("Waiting", "Processing"):
                raise PardotError(178, f"export is {exp.state}")
            exp.state = "Canceled"
            exp.updated = utcnow()
            exp.pinned = False
            self.cond.notify_all()
        return exp

    def force(self, exp: Export, state: str | None, expired, pinned: bool = True) -> Export:
        if state is not None:
            if state not in STATES:
                raise ValueError(f"state must be one of {STATES}")
            if state == "Complete":
                self.generate(exp, check_cancel=False)
            with self.cond:
                exp.state = state
                exp.pinned = pinned
                exp.updated = utcnow()
                if state == "Complete":
                    self.last_finished = time.time()
                self.cond.notify_all()
        if expired is not None:
            exp.forced_expired = bool(expired)
        return exp

    def file_info(self, exp: Export, base: str) -> list[dict]:
        out = []
        for i, f in enumerate(exp.files or [], start=1):
            url = (
                f"{base}/api/v5/exports/{exp.id}/results/{i}"
                if exp.api == "v5"
                else f"{base}/api/export/version/4/do/downloadResults/id/{exp.id}/file/{i}"
            )
            out.append(
                {
                    "index": i,
                    "url": url,
                    "rows": f["rows"],
                    "bytes": f["bytes"],
                    "sha256": f["sha256"],
                    "path": f["path"],
                }
            )
        return out

    def download_path(self, exp: Export, raw_n) -> str:
        if exp.state != "Complete":
            raise PardotError(178, f"export is {exp.state}")
        if self.is_expired(exp):
            raise PardotError(178, "export has expired")
        try:
            n = int(str(raw_n))
        except (TypeError, ValueError):
            raise PardotError(109) from None
        if not exp.files or not 1 <= n <= len(exp.files):
            raise PardotError(109)
        return exp.files[n - 1]["path"]

    # ------------------------------------------------------------------ worker
    def _wait_until(self, exp: Export, deadline: float, state: str) -> bool:
        """Wait until deadline; False when the export left ``state`` or got pinned meanwhile."""
        with self.cond:
            while not self._stop.is_set():
                if exp.state != state or exp.pinned:
                    return False
                remaining = deadline - time.time()
                if remaining <= 0:
                    return True
                self.cond.wait(min(remaining, 0.05))
        return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.cond:
                waiting = sorted(
                    (e for e in self.exports.values() if e.state == "Waiting" and not e.pinned),
                    key=lambda e: e.id,
                )
                if not waiting:
                    self.cond.wait(0.1)
                    continue
                exp = waiting[0]
            delay = float(self.emu.config.get("export_delay") or 0)
            if not self._wait_until(exp, max(exp.created_ts, self.last_finished) + delay, "Waiting"):
                continue
            with self.cond:
                if exp.state != "Waiting" or exp.pinned:
                    continue
                exp.state = "Processing"
                exp.updated = utcnow()
            t0 = time.time()
            try:
                self.generate(exp, check_cancel=True)
            except Canceled:
                continue
            except Exception as exc:  # pragma: no cover - disk full etc.
                with self.cond:
                    exp.state = "Failed"
                    exp.updated = utcnow()
                self.emu.log(f"export {exp.id} failed: {exc!r}")
                continue
            if not self._wait_until(exp, t0 + delay, "Processing"):
                continue
            with self.cond:
                if exp.state == "Processing" and not exp.pinned:
                    exp.state = "Complete"
                    exp.updated = utcnow()
                    self.last_finished = time.time()

    # ------------------------------------------------------------------ generation
    def generate(self, exp: Export, check_cancel: bool) -> None:
        with exp.gen_lock:
            if exp.files is not None:
                return
            cfg = self.emu.config
            target_bytes = int(cfg.get("export_target_bytes") or 0)
            rows_total = int(cfg.get("export_rows") or 0)
            max_rows = max(int(cfg.get("export_file_max_rows") or 1000), 1)
            max_bytes = int(
                exp.options.get("maxFileSizeBytes") or cfg.get("export_file_max_bytes") or 64 << 20
            )
            end = exp.before or utcnow()
            if exp.after >= end:
                rows_total, target_bytes = 0, 0  # nothing in range -> no files, no resultRefs
            folder = os.path.join(self.root, str(exp.id))
            os.makedirs(folder, exist_ok=True)
            pool_size = 4096 if target_bytes else max(min(rows_total, 4096), 1)
            iso = exp.api == "v5" and exp.options.get("legacyDateFormat") is False
            pool = _row_pool(exp, pool_size, self.emu.seed, end, iso)
            header = _csv_line(exp.fields)
            bom = "\ufeff" if exp.options.get("includeByteOrderMark") else ""
            first_id = 100_000_001 + random.Random(f"{self.emu.seed}:{exp.object}:{exp.after}").randint(
                0, 10**6
            )
            files: list[dict] = []
            state: _FileState = {"fh": None, "rows": 0, "bytes": 0, "sha": None, "path": None}

            def open_file():
                path = os.path.join(folder, f"results-{len(files) + 1:05d}.csv")
                fh = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close_file()
                head = (bom + header).encode("utf-8")
                fh.write(head)
                sha = hashlib.sha256(head)
                state.update({"fh": fh, "rows": 0, "bytes": len(head), "sha": sha, "path": path})

            def close_file():
                if state["fh"] is not None:
                    state["fh"].close()
                    sha = state["sha"]
                    assert sha is not None  # set together with fh by open_file()
                    files.append(
                        {
                            "path": state["path"],
                            "rows": state["rows"],
                            "bytes": state["bytes"],
                            "sha256": sha.hexdigest(),
                        }
                    )
                    state["fh"] = None

            def write_rows(lines: list[str]):
                i = 0
                while i < len(lines):
                    if state["fh"] is None:
                        open_file()
                    if target_bytes:
                        # fill the current file up to max_bytes (at least one row per file)
                        room = max_bytes - state["bytes"]
                        chunk: list[str] = []
                        size = 0
                        while i < len(lines):
                            ln = len(lines[i].encode("utf-8")) if not lines[i].isascii() else len(lines[i])
                            if size + ln > room and (chunk or state["rows"]):
                                break
                            chunk.append(lines[i])
                            size += ln
                            i += 1
                    else:
                        take = max_rows - state["rows"]
                        chunk = lines[i : i + take]
                        i += len(chunk)
                    if chunk:
                        data = "".join(chunk).encode("utf-8")
                        fh, sha = state["fh"], state["sha"]
                        # opened above
                        assert fh is not None
                        assert sha is not None
                        fh.write(data)
                        sha.update(data)
                        state["bytes"] += len(data)
                        state["rows"] += len(chunk)
                    full = (state["bytes"] >= max_bytes) if target_bytes else (state["rows"] >= max_rows)
                    if full or (chunk == [] and state["rows"]):
                        close_file()

            try:
                block = 8192
                produced_rows = produced_bytes = 0
                k = 0
                pre = [p for p, _ in pool]
                suf = [s for _, s in pool]
                has_id = suf[0] is not None
                # has_id: every pool line contains the id field, so no suffix is None
                id_suf = cast("list[str]", suf)
                # whole-pool template: one C-level %-format per block of pool_size rows
                tmpl = (
                    "".join(
                        pre[m].replace("%", "%%") + "%d" + id_suf[m].replace("%", "%%")
                        for m in range(pool_size)
                    )
                    if has_id
                    else "".join(pre)
                )
                while True:
                    if check_cancel and (exp.state != "Processing" or self._stop.is_set()):
                        raise Canceled()
                    if target_bytes:
                        if produced_bytes >= target_bytes:
                            break
                        n = pool_size
                        data = (
                            tmpl % tuple(range(first_id + k, first_id + k + n)) if has_id else tmpl
                        ).encode("utf-8")
                        if (
                            state["fh"] is not None
                            and state["bytes"] + len(data) <= max_bytes
                            and produced_bytes + len(data) < target_bytes
                        ):
                            sha = state["sha"]
                            assert sha is not None  # set together with fh by open_file()
                            state["fh"].write(data)
                            sha.update(data)
                            state["bytes"] += len(data)
                            state["rows"] += n
                            produced_bytes += len(data)
                            produced_rows += n
                            k += n
                            continue
                    else:
                        n = min(block, rows_total - produced_rows)
                        if n <= 0:
                            break
                    if has_id:
                        lines = [
                            pre[j % pool_size] + str(first_id + j) + id_suf[j % pool_size]
                            for j in range(k, k + n)
                        ]
                    else:
                        lines = [pre[j % pool_size] for j in range(k, k + n)]
                    if target_bytes:
                        # slow path near file / target boundaries: row by row
                        acc = []
                        for ln in lines:
                            acc.append(ln)
                            produced_bytes += len(ln.encode("utf-8"))
                            if produced_bytes >= target_bytes:
                                break
                        lines = acc
                    write_rows(lines)
                    produced_rows += len(lines)
                    k += len(lines)
                write_rows(store_lines(self.emu.store, exp, end, iso))
                close_file()
            except BaseException:
                if state["fh"] is not None:
                    state["fh"].close()
                shutil.rmtree(folder, ignore_errors=True)
                raise
            exp.files = [f for f in files if f["rows"] > 0]


#: the objects whose exports carry the store's changed rows (imports write these two)
STORE_BACKED = {"prospect": "prospect", "listMembership": "listMembership"}


def _store_value(row: dict, name: str, iso: bool):
    value = row.get(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is not None and name.endswith("_at") and iso:
        return v4_to_v5(value)
    return "" if value is None or isinstance(value, dict) else value


def store_lines(store, exp: Export, end: dt.datetime, iso: bool) -> list[str]:
    """CSV lines for the store's rows changed since start-up (imports, control API) in the range.

    Seeded rows stay synthetic (the generated pool); a row created or updated while the emulator
    runs is exported as it stands, so a DAG sees what it imported.
    """
    table = STORE_BACKED.get(exp.object)
    if table is None:
        return []
    column = exp.procedure["name"].replace("filter_by_", "")
    after, since, high = fmt(exp.after), fmt(store.anchor), fmt(end)
    deleted = str(exp.procedure["arguments"].get("deleted", "false")).lower()
    v4_names = {_camel(f): f for f in EXPORT_OBJECTS[exp.object]["fields"]}
    names = [v4_names.get(f, f) for f in exp.fields]
    with store.lock:
        rows = [
            r
            for r in store.tables[table].rows
            if after < (r.get(column) or "") <= high
            and r[column] >= since
            and (deleted == "all" or (deleted == "true") == bool(r.get("_deleted")))
        ]
        return [_csv_line([_store_value(r, n, iso) for n in names]) for r in rows]


def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


_TRICKY = [
    'Clicked "Pricing", then left',
    "Multi-line\ndetail, with comma",
    'Quote " only',
    "Café, naïve — ünïcödé",
]


def _row_pool(exp: Export, size: int, seed: int, end: dt.datetime, iso: bool) -> list[tuple[str, str | None]]:
    """Pre-formatted CSV lines split around the id: (prefix, suffix); suffix None = no id field."""
    rng = random.Random(f"{seed}:{exp.object}:{exp.procedure['name']}:{exp.after}:{end}")
    span = max((end - exp.after).total_seconds(), 2)
    field_kind = "updated" if "updated" in exp.procedure["name"] else "created"
    out: list[tuple[str, str | None]] = []
    for j in range(size):
        # strictly inside (after, end): the comparisons are exclusive
        ts = exp.after + dt.timedelta(seconds=max(1, min(int(span * (j + 0.5) / size), int(span) - 1)))
        other = ts - dt.timedelta(seconds=rng.randint(0, 86400 * 30)) if field_kind == "updated" else ts
        created, updated = (
            (other, ts) if field_kind == "updated" else (ts, ts + dt.timedelta(seconds=rng.randint(0, 3600)))
        )
        if updated > end:
            updated = ts
        values = [_value(f, rng, j, created, updated, iso) for f in exp.fields]
        line = _csv_line(values)
        if ID_MARK in line:
            p, s = line.split(ID_MARK, 1)
            out.append((p, s))
        else:
            out.append((line, None))
    return out


def _value(field: str, rng: random.Random, j: int, created: dt.datetime, updated: dt.datetime, iso: bool):
    f = field
    fm = fmt_v5 if iso else fmt
    if f == "id":
        return ID_MARK
    if f in ("created_at", "createdAt"):
        return fm(created)
    if f in (
        "updated_at",
        "updatedAt",
        "activity_date",
        "activityDate",
        "last_activity_at",
        "lastActivityAt",
        "crm_last_sync",
        "crmLastSync",
    ):
        return fm(updated) if rng.random() < 0.9 else ""
    if f in ("type",):
        return rng.choice([1, 2, 4, 6, 11, 12, 13, 17, 20, 21])
    if f in ("type_name", "typeName"):
        return rng.choice(["Click", "View", "Success", "Sent", "Open", "Visit"])
    if f == "details":
        return (
            _TRICKY[j % len(_TRICKY)]
            if j % 97 == 0
            else rng.choice(["Landing Page 1", "http://www.example.com/", "Newsletter"])
        )
    if f in ("visitor_id", "visitorId"):
        return 1_000_001 + rng.randint(0, 500_000)
    if f in ("campaign_id", "campaignId"):
        return 1001 + rng.randint(0, 11)
    if f in ("prospect_id", "prospectId"):
        return 20001 + rng.randint(0, 899)
    if f in ("list_id", "listId"):
        return 30001 + rng.randint(0, 700)
    if f in ("email",):
        return f"prospect{rng.randint(1, 300)}@example.com"
    if f in ("first_name", "firstName"):
        return rng.choice(["Ada", "Grace", "Alan", "Zoë"])
    if f in ("last_name", "lastName"):
        return rng.choice(["Lovelace", "Hopper", "O'Neil", "Turing"])
    if f in ("company", "name"):
        return rng.choice(["Acme, Inc.", "Globex", "Initech", ""])
    if f in (
        "opted_out",
        "optedOut",
        "is_do_not_email",
        "isDoNotEmail",
        "is_do_not_call",
        "isDoNotCall",
        "is_reviewed",
        "isReviewed",
        "is_starred",
        "isStarred",
    ):
        return rng.choice(["true", "false", "false", "false"])
    if f in ("score", "page_view_count", "pageViewCount"):
        return rng.randint(0, 250)
    if f.endswith("_id") or f.endswith("Id"):
        return rng.randint(1000, 99999) if rng.random() < 0.3 else ""
    if "." in f:
        return rng.choice(["Website Tracking", "Spring Launch", "integration@emulator.example"])
    if f in ("ip_address", "ipAddress"):
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return ""  # nulls are empty


def _form_body(form: dict) -> dict:
    """Form-encoded create: object=..&fields=a,b (or fields[]=, or a JSON array)&procedure=<json>
    or procedure[name]=..&procedure[arguments][created_after]=.."""
    data: dict = {}
    if "object" in form:
        data["object"] = form["object"][-1]
    fields: list[str] = []
    for key in ("fields", "fields[]"):
        for v in form.get(key, []):
            v = v.strip()
            if v.startswith("["):
                try:
                    fields.extend(json.loads(v))
                except ValueError:
                    raise PardotError(150, "fields") from None
            else:
                fields.extend(x.strip() for x in v.split(",") if x.strip())
    if fields:
        data["fields"] = fields
    if "procedure" in form:
        try:
            data["procedure"] = json.loads(form["procedure"][-1])
        except ValueError:
            raise PardotError(150, "procedure") from None
    else:
        proc: dict = {}
        for k, v in form.items():
            m = re.fullmatch(r"procedure\[name\]", k)
            if m:
                proc["name"] = v[-1]
            m = re.fullmatch(r"procedure\[arguments\]\[(\w+)\]", k)
            if m:
                proc.setdefault("arguments", {})[m.group(1)] = v[-1]
        if proc:
            data["procedure"] = proc
    for k in ("includeByteOrderMark", "legacyDateFormat"):
        if k in form:
            data[k] = php_bool(form[k][-1])  # a form value: PHP truthiness (params.py)
    if "maxFileSizeBytes" in form:
        try:
            data["maxFileSizeBytes"] = int(form["maxFileSizeBytes"][-1])
        except ValueError:
            raise PardotError(154, "maxFileSizeBytes") from None
    return data
