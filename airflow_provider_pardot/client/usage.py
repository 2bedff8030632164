"""The account's API usage (``x-api-usage``) and the connection's daily request budget."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_pardot.exceptions import PardotRateLimitError, PardotValidationError

#: Request header asking Pardot to report the account's usage.
USAGE_REQUEST_HEADER = "X-Return-Api-Usage"
USAGE_RESPONSE_HEADER = "x-api-usage"

_NUMBER = r"\d[\d,_]*"
_PAIR = re.compile(rf"({_NUMBER})\s*(?:/|of|out of)\s*({_NUMBER})", re.IGNORECASE)
_USED = re.compile(rf"used\D*({_NUMBER})", re.IGNORECASE)
_MAX = re.compile(rf"(?:max|limit|allowed)\D*({_NUMBER})", re.IGNORECASE)


@dataclass(frozen=True)
class ApiUsage:
    """Calls made in the last day, and the account's daily maximum when known."""

    used: int
    maximum: int | None = None

    def __str__(self) -> str:
        if self.maximum:
            return f"{self.used:,}/{self.maximum:,}"
        return f"{self.used:,}"


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def parse_usage(header: str | None) -> ApiUsage | None:
    """Read ``x-api-usage`` leniently: ``"1234/25000"``, ``"used=1234; max=25000"``, ``"1234"``."""
    if not header:
        return None
    text = header.strip()
    if match := _PAIR.search(text):
        return ApiUsage(_int(match.group(1)), _int(match.group(2)))
    used, maximum = _USED.search(text), _MAX.search(text)
    if used:
        return ApiUsage(_int(used.group(1)), _int(maximum.group(1)) if maximum else None)
    if match := re.fullmatch(_NUMBER, text):
        return ApiUsage(_int(match.group(0)))
    return None


def count_requests(count: int) -> str:
    """``"1 request"``, ``"1,234 requests"``."""
    return f"{count:,} request" + ("" if count == 1 else "s")


def usage_line(requests: int, usage: ApiUsage | str | None, who: str = "this task") -> str:
    """``"Pardot API: 37 requests by this task; account usage 1,234/25,000 today"``."""
    text = f"Pardot API: {count_requests(requests)} by {who}"
    if usage:
        text += f"; account usage {usage} today"
    return text


@dataclass(frozen=True)
class DailyBudget:
    """``daily_request_budget``: a number of requests, or a share of the daily maximum (``"80%"``)."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value) -> DailyBudget | None:
        if value is None or value == "":
            return None
        text = str(value).strip()
        try:
            if text.endswith("%"):
                percent = float(text[:-1])
                if 0 < percent <= 100:
                    return cls(percent=percent)
            else:
                count = int(text.replace(",", "").replace("_", ""))
                if count > 0:
                    return cls(count=count)
        except ValueError:
            pass
        raise PardotValidationError(
            f"daily_request_budget={value!r} is not valid: give a positive number of requests (e.g. 20000) "
            'or a percentage of the account\'s daily maximum (e.g. "80%").'
        )

    def limit_for(self, usage: ApiUsage | None) -> int | None:
        if self.count is not None:
            return self.count
        if usage is not None and usage.maximum and self.percent is not None:
            return int(usage.maximum * self.percent / 100)
        return None

    def __str__(self) -> str:
        return (
            count_requests(self.count)
            if self.count is not None
            else f"{self.percent:g}% of the daily maximum"
        )

    def check(self, usage: ApiUsage | None) -> None:
        """Raise :class:`PardotRateLimitError` when the known usage has reached the budget."""
        limit = self.limit_for(usage)
        if usage is None or limit is None or usage.used < limit:
            return
        raise PardotRateLimitError(
            f"The connection's daily_request_budget is spent: account usage {usage} today, budget {self} "
            f"({limit:,} requests). No request was sent. The allocation resets at the start of the "
            "account's day; raise daily_request_budget in the connection to allow more."
        )
