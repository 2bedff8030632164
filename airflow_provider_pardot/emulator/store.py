"""Seeded, deterministic account data (v4 field names, as the docs' object field references list them).

Every table is a list of dict rows sorted by ascending id (ids grow with created_at, with
small gaps, or with ``id_layout="clustered"`` large gaps in the first tenth), plus an index by id. Keys starting with ``_`` are internal (``_deleted``) and never
rendered. Timestamps are spread over the two years before the start of the current UTC day, so
``today`` / ``last_7_days`` criteria find rows only once records are inserted "now".
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from typing import Any

from .dates import fmt, utcnow

DEFAULT_COUNTS = {
    "campaign": 12,
    "prospect": 300,
    "list": 250,
    "listMembership": 1000,
    "dynamicContent": 30,
    "lifecycleStage": 5,
    "lifecycleHistory": 1200,
    "email": 5,
    "emailTemplate": 6,
    "visitorActivity": 600,
}

ID_BASE = {
    "campaign": 1001,
    "prospect": 20001,
    "list": 30001,
    "listMembership": 400001,
    "dynamicContent": 701,
    "lifecycleStage": 1,
    "lifecycleHistory": 500001,
    "email": 60001,
    "emailTemplate": 101,
    "visitorActivity": 900001,
}

OBJECT_NAMES = list(DEFAULT_COUNTS)

#: How seeded ids are laid out over their span (``--id-layout``): ``even`` steps 1 to 3 between
#: neighbours; ``clustered`` puts the first tenth of the records far apart (steps of 1 to 1,201,
#: 601 on average) and the other nine tenths 1 to 3 apart, so nine records in ten sit in the last
#: 3% of the span, as on an account whose records came mostly in one recent burst; ``early`` is the
#: mirror: nine records in ten in the first 3% (one early bulk import, little since).
ID_LAYOUTS = ("even", "clustered", "early")
SPARSE_SHARE = 10  # one record in SPARSE_SHARE is in the sparse part of a clustered or early layout
SPARSE_STEP = 1201
_CANON = {n.lower(): n for n in OBJECT_NAMES}


def canonical_object(name: str) -> str | None:
    """'lists', 'list_memberships', 'lifecycleHistories', 'listmembership' -> canonical name."""
    n = name.replace("_", "").replace("-", "").lower()
    for cand in (n, n[:-3] + "y" if n.endswith("ies") else n, n[:-1] if n.endswith("s") else n):
        if cand in _CANON:
            return _CANON[cand]
    return None


LIST_WORDS = [
    "Newsletter",
    "Webinar Attendees",
    "Customers",
    "Prospects & Leads",
    "Trade Show <2024>",
    "Café Owners",
    "Partners, EMEA",
    'Q3 "Hot" Leads',
    "Enterprise",
    "Churned",
    "Beta Testers",
]
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie"]
COMPANIES = ["Acme, Inc.", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", None]
STAGES = [
    ("New Prospect", 0, True),
    ("Marketing Qualified", 1, False),
    ("Sales Accepted", 2, False),
    ("Sales Qualified", 3, False),
    ("Customer", 4, True),
]
VA_TYPES = {
    1: "Click",
    2: "View",
    4: "Success",
    6: "Sent",
    11: "Open",
    12: "Unsubscribe Page",
    13: "Bounced",
    17: "Click (Third Party)",
    20: "Visit",
    21: "Custom URL click",
}

UNSUB_TEXT = "Hello %%first_name%%,\n\nThis is a message from the emulator.\n\nUnsubscribe: %%unsubscribe%%\n"
UNSUB_HTML = (
    "<html><body><p>Hello %%first_name%%,</p><p>This is a message from the emulator.</p>"
    '<a href="%%unsubscribe%%">Unsubscribe</a></body></html>'
)


_TABLE_UIDS = itertools.count(1)


class Table:
    def __init__(self, name: str, rows: list[dict], step_rng: random.Random):
        self.name = name
        self.rows = rows
        self.by_id = {r["id"]: r for r in rows}
        self._rng = step_rng
        self.next_id = (rows[-1]["id"] if rows else ID_BASE[name] - 1) + 1
        #: unique per table and bumped by every change to a row (:meth:`changed`): v5's sorted
        #: pages are cached on (uid, version)
        self.uid = next(_TABLE_UIDS)
        self.version = 0

    def changed(self) -> None:
        self.version += 1

    def new_id(self) -> int:
        i = self.next_id
        self.next_id = i + self._rng.randint(1, 3)
        return i

    def add(self, row: dict) -> dict:
        self.rows.append(row)
        self.by_id[row["id"]] = row
        self.changed()
        return row

    def live(self):
        return [r for r in self.rows if not r.get("_deleted")]


def _spread(rng: random.Random, n: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    span = (end - start).total_seconds()
    out = []
    for i in range(n):
        frac = (i + 0.1 + rng.random() * 0.8) / max(n, 1)
        out.append(start + dt.timedelta(seconds=int(span * frac)))
    return out


class Store:
    def __init__(self, seed: int = 42, counts: dict | None = None, id_layout: str = "even"):
        if id_layout not in ID_LAYOUTS:
            raise ValueError(f"id_layout must be one of {', '.join(ID_LAYOUTS)}, not {id_layout!r}")
        self.seed = seed
        self.id_layout = id_layout
        self.counts = dict(DEFAULT_COUNTS)
        if counts:
            self.counts.update(counts)
        self.lock = threading.RLock()
        self.anchor = utcnow().replace(hour=0, minute=0, second=0)
        self.start = self.anchor - dt.timedelta(days=730)
        self.tables: dict[str, Table] = {}
        self.stats: dict[int, dict] = {}
        self._build()

    # ------------------------------------------------------------------ seeding
    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    def _ids_and_times(self, name: str, rng: random.Random):
        n = self.counts[name]
        times = _spread(rng, n, self.start, self.anchor - dt.timedelta(hours=1))
        sparse = n // SPARSE_SHARE if self.id_layout != "even" else 0
        # the records far apart: the first ones (clustered) or the last ones (early)
        apart = range(sparse) if self.id_layout == "clustered" else range(n - sparse, n)
        ids, cur = [], ID_BASE[name]
        for k in range(n):
            ids.append(cur)
            cur += rng.randint(1, SPARSE_STEP if k in apart else 3)
        return ids, times

    def _updated(self, rng: random.Random, created: dt.datetime) -> dt.datetime:
        if rng.random() < 0.5:
            return created
        room = (self.anchor - dt.timedelta(minutes=30) - created).total_seconds()
        return created + dt.timedelta(seconds=int(max(room, 0) * rng.random()))

    def _build(self) -> None:
        b = {
            "campaign": self._gen_campaigns,
            "prospect": self._gen_prospects,
            "list": self._gen_lists,
            "listMembership": self._gen_memberships,
            "dynamicContent": self._gen_dynamic,
            "lifecycleStage": self._gen_stages,
            "lifecycleHistory": self._gen_history,
            "email": self._gen_emails,
            "emailTemplate": self._gen_templates,
            "visitorActivity": self._gen_activities,
        }
        for name in OBJECT_NAMES:
            rng = self._rng(name)
            rows = b[name](rng)
            self.tables[name] = Table(name, rows, self._rng(name + ":ids"))

    def _gen_campaigns(self, rng):
        ids, times = self._ids_and_times("campaign", rng)
        names = ["Website Tracking", "Database Mining", "Spring Launch", "Webinar Series", "Partner Push"]
        return [
            {
                "id": i,
                "name": f"{names[k % len(names)]} {k + 1}",
                "cost": rng.choice([None, 0, 500]),
                "created_at": fmt(t),
            }
            for k, (i, t) in enumerate(zip(ids, times, strict=False))
        ]

    def _campaign(self, rng):
        rows = self.tables["campaign"].rows
        c = rows[rng.randrange(len(rows))] if rows else {"id": 1001, "name": "Website Tracking"}
        return c

    def _gen_prospects(self, rng):
        ids, times = self._ids_and_times("prospect", rng)
        out = []
        for k, (i, t) in enumerate(zip(ids, times, strict=False)):
            camp = self._campaign(rng)
            up = self._updated(rng, t)
            out.append(
                {
                    "id": i,
                    "campaign_id": camp["id"],
                    "salutation": None,
                    "first_name": rng.choice(FIRST),
                    "last_name": rng.choice(LAST),
                    "email": f"prospect{k + 1}@example.com",
                    "password": None,
                    "company": rng.choice(COMPANIES),
                    "website": None,
                    "job_title": rng.choice([None, "Engineer", "CTO"]),
                    "department": None,
                    "country": rng.choice([None, "USA", "France", "Japan"]),
                    "address_one": None,
                    "address_two": None,
                    "city": rng.choice([None, "Atlanta", "Tokyo", "Lyon"]),
                    "state": None,
                    "territory": None,
                    "zip": None,
                    "phone": None,
                    "fax": None,
                    "source": None,
                    "annual_revenue": None,
                    "employees": None,
                    "industry": None,
                    "years_in_business": None,
                    "comments": None,
                    "notes": None,
                    "score": rng.randint(0, 200),
                    "grade": rng.choice([None, "A", "B+", "C-"]),
                    "last_activity_at": None,
                    "recent_interaction": "Never active.",
                    "crm_lead_fid": None,
                    "crm_contact_fid": None,
                    "crm_owner_fid": None,
                    "crm_account_fid": None,
                    "salesforce_fid": None,
                    "crm_last_sync": None,
                    "crm_url": None,
                    "is_do_not_email": rng.choice([None, None, None, 1]),
                    "is_do_not_call": None,
                    "opted_out": rng.choice([None, None, None, 1]),
                    "is_reviewed": None,
                    "is_starred": None,
                    "created_at": fmt(t),
                    "updated_at": fmt(up),
                    "campaign": {"id": camp["id"], "name": camp["name"]},
                }
            )
        return out

    def _gen_lists(self, rng):
        ids, times = self._ids_and_times("list", rng)
        out = []
        for k, (i, t) in enumerate(zip(ids, times, strict=False)):
            word = LIST_WORDS[k % len(LIST_WORDS)]
            out.append(
                {
                    "id": i,
                    "name": f"{word} #{k + 1}",
                    "is_public": rng.random() < 0.3,
                    "is_dynamic": rng.random() < 0.2,
                    "title": rng.choice([None, f"Title {k + 1}"]),
                    "description": rng.choice([None, "Seeded by the emulator", "Line one\nline two"]),
                    "is_crm_visible": rng.random() < 0.1,
                    "created_at": fmt(t),
                    "updated_at": fmt(self._updated(rng, t)),
                }
            )
        return out

    def _gen_memberships(self, rng):
        ids, times = self._ids_and_times("listMembership", rng)
        lists = self.tables["list"].rows
        prospects = self.tables["prospect"].rows
        out = []
        for i, t in zip(ids, times, strict=False):
            # the first lists hold most members so per-list paging is exercised
            lst = lists[min(int(rng.expovariate(1 / 8)), len(lists) - 1)] if lists else None
            pr = prospects[rng.randrange(len(prospects))] if prospects else None
            up = self._updated(rng, t)
            out.append(
                {
                    "id": i,
                    "list_id": lst["id"] if lst else None,
                    "prospect_id": pr["id"] if pr else None,
                    "opted_out": rng.random() < 0.1,
                    "created_at": fmt(t),
                    "updated_at": fmt(up),
                    "_deleted": rng.random() < 0.05,
                }
            )
        return out

    def _gen_dynamic(self, rng):
        ids, times = self._ids_and_times("dynamicContent", rng)
        out = []
        cities = ["atlanta", "Tokyo", "Paris", "Lagos", "Lima"]
        for k, (i, t) in enumerate(zip(ids, times, strict=False)):
            url = f"https://go.example.com/dcjs/139321/{i}/dc.js"
            nvar = rng.randint(1, 3)
            variations = [
                {"comparison": f"contains {c}", "content": f"Your city is <strong>{c}</strong>"}
                for c in rng.sample(cities, nvar)
            ]
            out.append(
                {
                    "id": i,
                    "name": f"DynamicContent {k + 1}",
                    "embedCode": f'<script type="text/javascript" src="{url}"></script>',
                    "embedUrl": url,
                    "baseContent": "<strong>This is my default content</strong>",
                    "basedOn": "Default Field: City",
                    "variation": variations[0] if nvar == 1 else variations,
                    "created_at": fmt(t),
                    "updated_at": fmt(self._updated(rng, t)),
                }
            )
        return out

    def _gen_stages(self, rng):
        out = []
        for k in range(self.counts["lifecycleStage"]):
            name, pos, locked = STAGES[k % len(STAGES)]
            out.append(
                {
                    "id": ID_BASE["lifecycleStage"] + k,
                    "name": name if k < len(STAGES) else f"{name} {k}",
                    "position": k,
                    "is_locked": locked,
                    "_created_at": fmt(self.start),  # v5 only (v4 stages have no dates)
                }
            )
        return out

    def _gen_history(self, rng):
        ids, times = self._ids_and_times("lifecycleHistory", rng)
        stages = [s["id"] for s in self.tables["lifecycleStage"].rows] or [1]
        prospects = self.tables["prospect"].rows
        out = []
        for i, t in zip(ids, times, strict=False):
            prev = rng.choice([None] + stages)
            out.append(
                {
                    "id": i,
                    "prospect_id": prospects[rng.randrange(len(prospects))]["id"] if prospects else None,
                    "previous_stage_id": prev,
                    "next_stage_id": rng.choice(stages),
                    "seconds_elapsed": None if prev is None else rng.randint(60, 9_000_000),
                    "created_at": fmt(t),
                }
            )
        return out

    def _gen_emails(self, rng):
        ids, times = self._ids_and_times("email", rng)
        out = []
        for k, (i, t) in enumerate(zip(ids, times, strict=False)):
            out.append(
                {
                    "id": i,
                    "name": f"Monthly Newsletter {k + 1}",
                    "isOneToOne": False,
                    "subject": f"Our news, issue {k + 1}",
                    "message": {"text": UNSUB_TEXT, "html": UNSUB_HTML},
                    "created_at": fmt(t),
                }
            )
            sent = rng.randint(500, 5000)
            soft, hard = rng.randint(0, sent // 50), rng.randint(0, sent // 50)
            delivered = sent - soft - hard
            uopens = rng.randint(delivered // 5, delivered // 2)
            opens = uopens + rng.randint(0, uopens)
            uclicks = rng.randint(0, uopens // 2)
            self.stats[i] = {
                "sent": sent,
                "delivered": delivered,
                "total_clicks": uclicks + rng.randint(0, uclicks),
                "unique_clicks": uclicks,
                "soft_bounced": soft,
                "hard_bounced": hard,
                "opt_outs": rng.randint(0, delivered // 100),
                "spam_complaints": rng.randint(0, 3),
                "opens": opens,
                "unique_opens": uopens,
            }
        return out

    def _gen_templates(self, rng):
        ids, times = self._ids_and_times("emailTemplate", rng)
        out = []
        n = len(ids)
        for k, (i, t) in enumerate(zip(ids, times, strict=False)):
            archived = k == n - 1 and n > 1  # the last one is in the recycle bin
            one_to_one = k % 2 == 0 or archived  # 0, 2, 4 (+ the archived one)
            out.append(
                {
                    "id": i,
                    "name": f"Template {k + 1}",
                    "subject": f"Template subject {k + 1}",
                    "htmlMessage": UNSUB_HTML,
                    "textMessage": UNSUB_TEXT,
                    "fromName": None,
                    "isOneToOneEmail": 1 if one_to_one else None,
                    "isArchived": 1 if archived else None,
                    "isAutoResponderEmail": 1,
                    "isDripEmail": 1,
                    "isListEmail": 1,
                    "emailType": 0,
                    "type": 3,
                    "created_at": fmt(t),
                }
            )
        return out

    def _gen_activities(self, rng):
        ids, times = self._ids_and_times("visitorActivity", rng)
        prospects = self.tables["prospect"].rows
        out = []
        for i, t in zip(ids, times, strict=False):
            typ = rng.choice(list(VA_TYPES))
            camp = self._campaign(rng)
            pr = prospects[rng.randrange(len(prospects))]["id"] if prospects and rng.random() < 0.8 else None
            out.append(
                {
                    "id": i,
                    "prospect_id": pr,
                    "visitor_id": rng.randint(10000, 99999),
                    "type": typ,
                    "type_name": VA_TYPES[typ],
                    "details": rng.choice(["Landing Page 1", "http://www.example.com/", "Newsletter, June"]),
                    "email_id": rng.choice([None, ID_BASE["email"]]),
                    "campaign_id": camp["id"],
                    "campaign": {"id": camp["id"], "name": camp["name"]},
                    "created_at": fmt(t),
                    "updated_at": fmt(t),
                }
            )
        return out

    # ------------------------------------------------------------------ mutations
    def insert(self, name: str, n: int) -> list[int]:
        """New rows with higher ids and "now" timestamps (cloned from a seeded row)."""
        with self.lock:
            table = self.tables[name]
            rng = self._rng(f"{name}:insert:{table.next_id}")
            now = fmt(utcnow())
            template = table.rows[0] if table.rows else {}
            new_ids: list[int] = []
            for _ in range(n):
                row: dict[str, Any] = {
                    k: (dict(v) if isinstance(v, dict) else v) for k, v in template.items()
                }
                row["id"] = table.new_id()
                row.pop("_deleted", None)
                for f in ("created_at", "updated_at"):
                    if f in row:
                        row[f] = now
                if name == "list":
                    row["name"] = f"Inserted list {row['id']}"
                elif name == "prospect":
                    row["email"] = f"prospect{row['id']}@example.com"
                elif name == "listMembership" and self.tables["list"].rows:
                    row["list_id"] = self.tables["list"].rows[
                        rng.randrange(min(3, len(self.tables["list"].rows)))
                    ]["id"]
                table.add(row)
                new_ids.append(row["id"])
            return new_ids

    def touch(self, name: str, ids: list[int]) -> list[int]:
        with self.lock:
            table = self.tables[name]
            now = fmt(utcnow())
            done = []
            for i in ids:
                row = table.by_id.get(int(i))
                if row is not None:
                    if "updated_at" in row:
                        row["updated_at"] = now
                    done.append(row["id"])
            table.changed()
            return done

    def delete(self, name: str, ids: list[int]) -> list[int]:
        with self.lock:
            table = self.tables[name]
            done = []
            for i in ids:
                row = table.by_id.get(int(i))
                if row is not None and not row.get("_deleted"):
                    row["_deleted"] = True
                    if "updated_at" in row:
                        row["updated_at"] = fmt(utcnow())
                    done.append(row["id"])
            table.changed()
            return done


def public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}
