"""Date handling. The emulator's account time zone is UTC (Pardot answers in the API user's
time zone; a UTC user is the simplest faithful choice). v3/v4 timestamps are
``YYYY-MM-DD HH:MM:SS`` without zone, v5 ones ISO 8601 with an offset."""

from __future__ import annotations

import datetime as dt
import re

FMT = "%Y-%m-%d %H:%M:%S"
UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def fmt(d: dt.datetime) -> str:
    return d.strftime(FMT)


def fmt_v5(d: dt.datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"


def v4_to_v5(s: str | None) -> str | None:
    if not s:
        return s
    return s.replace(" ", "T") + "+00:00"


_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def parse_datetime(value: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """Parse the date values Pardot accepts in criteria and export arguments.

    Keywords ``today, yesterday, last_7_days, this_month, last_month`` (start of that period),
    ``now``, and absolute dates: ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS]``, ISO 8601 with ``T``,
    fractions and ``Z`` / ``+HH:MM`` offsets (converted to UTC). Hour 24 rolls over to the next
    day like PHP's strtotime (the docs' own example uses ``2019-12-31 24:59:59``).
    Raises ValueError for anything else.
    """
    if value is None:
        raise ValueError("empty")
    s = str(value).strip()
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0)
    kw = s.lower()
    if kw == "now":
        return now
    if kw == "today":
        return today
    if kw == "yesterday":
        return today - dt.timedelta(days=1)
    if kw == "last_7_days":
        return today - dt.timedelta(days=7)
    if kw == "this_month":
        return today.replace(day=1)
    if kw == "last_month":
        first = today.replace(day=1)
        prev = first - dt.timedelta(days=1)
        return prev.replace(day=1)
    m = _ISO.match(s)
    if not m:
        raise ValueError(f"invalid date {s!r}")
    y, mo, d, hh, mi, ss, _frac, tz = m.groups()
    hour = int(hh or 0)
    minute = int(mi or 0)
    second = int(ss or 0)
    if hour > 24 or minute > 59 or second > 59:
        raise ValueError(f"invalid time {s!r}")
    base = dt.datetime(int(y), int(mo), int(d))  # raises ValueError on bad dates
    result = base + dt.timedelta(hours=hour, minutes=minute, seconds=second)
    if tz and tz.upper() != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        off = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        result = result - sign * off
    return result


def add_year(d: dt.datetime) -> dt.datetime:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)
