"""
Paging a v5 object query: every matching record exactly once, in 1,000-record pages, on up to five
parallel id ranges that follow the records.

One id range is paged upwards by a :class:`Span`: the first page asks ``limit=1000&orderBy=id ASC``
with the caller's filters and ``idGreaterThan``/``idLessThan`` for the range; later pages send only
``fields`` and ``nextPageToken``, as Pardot requires. When a token sequence ends at Pardot's
100,000-record cap (``Pardot-Warning``: "Record count for nextPageToken sequence has been
exceeded") or a token expires (error 210, or 211 unreadable), the range starts again with
``idGreaterThan`` the last id seen. Pages come in ascending id order (the query asks for it), so a
page is checked by its first and last ids only: records at or below the last id delivered, or at
or above the range's end, are dropped, so nothing is repeated whatever the server does; nothing is
lost because the next query always starts right after the last id delivered. A short page (fewer
records than the limit, and no warning) ends the range, as in v3/v4 paging. :func:`page_range` is
concurrency 1: one span over the whole query.

:class:`ParallelPages` pages on ``concurrency`` threads, in ranges that follow the records rather
than the width of the id span (records come in bursts: an import, a campaign, the last year of five
of activity, so a few percent of the span may hold nearly all of them). Its first page and the ids
of the last page (``fields=id``, highest first) go out together; the density of each (records per
id over its top quarter, where a burst shows first) says where the records are:

* about the same at both ends: the ids above the first page are cut into ``concurrency`` ranges of
  equal width;
* one end :data:`SKEW` times denser: the threads start in that end, in ranges of 2, 4, 8 and 16
  pages at its density (how deep the burst goes is unknown: the small ranges end first and their
  threads go where the estimates below send them), and the first thread has the rest.

The last range is open above, so records added during the pull are read too. A thread whose range
ends takes work from the others (:meth:`ParallelPages._steal`): from the range with the most pages
left, as estimated from its last id and the density of its last full page, tempered by what borders
on its end. Below a burst, a sparse range may hide the burst's lower part: it counts at least the
pages the range above it was given, and is cut from below its end at the burst's density. Below a
sparse stretch, a dense range ends its records before its ids: it counts at most twice what the
range below it was given (or what it has read in a row). The cut is agreed under a lock before
either side reads past it: the owner drops whatever its page under way brings at or above the cut and stops there, the
thief starts right at it, so ranges never overlap. A cut goes a fifth of a page before where the
range below it should end a full page, so that page crosses it and the range ends without a nearly
empty extra page.

Calls: every range ends with one page that is not full (or empty), at most one call more than its
records need. The threads keep the sum of those within seven calls (:data:`EXTRA_CALLS`): a range
is cut only while the calls spent beyond ``records / limit`` so far, plus one for every open range,
plus one for the new one, stay within it. So a full pull costs at most ``ceil(N / 1000) + 7`` calls
(token failures aside). Memory holds a few pages whatever the number of records: the threads put
pages into one bounded queue. Threads stop when the consumer stops iterating or any range fails;
the failure is raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_pardot.api.v5 import (
    CAP_WARNING_TEXT,
    TOKEN_EXPIRED_CODE,
    TOKEN_INVALID_CODE,
    V5_PAGE_LIMIT,
    V5Query,
    shape,
)
from airflow_provider_pardot.exceptions import PardotApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

#: How long a blocked or idle thread waits before it checks again whether the consumer has gone.
_PUT_POLL_SECONDS = 0.05
#: Calls a parallel pull may spend beyond ``ceil(records / limit)``.
EXTRA_CALLS = 7
#: A range is cut only when more than one page is left after its page under way: a quarter page more,
#: and the thief saves the owner a round at no cost (one partial page either way).
MIN_STEAL_PAGES = 1.25
#: How far before the estimated end of the owner's last full page the cut goes, in pages.
CUT_MARGIN = 0.2
#: One end of the span this many times denser than the other: the threads start there.
SKEW = 4.0


@dataclass
class V5Page:
    """One answered query page."""

    values: list[dict[str, Any]]
    token: str | None
    warning: str

    @property
    def capped(self) -> bool:
        return CAP_WARNING_TEXT in self.warning.lower()

    @classmethod
    def from_body(cls, body: Any, warning: str | None) -> V5Page:
        body = body if isinstance(body, dict) else {}
        token = body.get("nextPageToken") or _token_in(body.get("nextPageUrl"))
        values = body.get("values") or []
        return cls(
            values=values if isinstance(values, list) else [], token=token or None, warning=warning or ""
        )


def _token_in(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    found = parse_qs(urlsplit(url).query).get("nextPageToken")
    return found[0] if found else None


def first_params(query: V5Query, after: int | None, before: int | None, limit: int) -> dict[str, str]:
    return {
        "fields": query.request_fields,
        "limit": str(limit),
        "orderBy": "id ASC",
        **query.params,
        **query.id_params(after, before),
    }


def continues(page: V5Page, limit: int) -> bool:
    """Whether more records may follow ``page``: it hit the cap, or it has a token and is full (or warned)."""
    if page.capped:
        return bool(page.values)
    return bool(page.token) and (len(page.values) >= limit or bool(page.warning))


def _record_id(record: Any) -> int:
    record_id = record.get("id") if isinstance(record, dict) else None
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise PardotApiError(f"Pardot answered a record without a numeric id: {str(record)[:200]}")
    return record_id


def _in_range(
    values: list[dict[str, Any]], after: int | None, before: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """The records of an ascending page with ``after < id < before``, and whether it reached ``before``."""
    if not values:
        return values, False
    first, last = _record_id(values[0]), _record_id(values[-1])
    if (after is None or first > after) and (before is None or last < before):
        return values, False  # the whole page: the common case, two ids looked at
    low = 0
    if after is not None:
        while low < len(values) and _record_id(values[low]) <= after:
            low += 1
    high = len(values)
    if before is not None:
        while high > low and _record_id(values[high - 1]) >= before:
            high -= 1
    return values[low:high], high < len(values)


def upper_density(values: list[dict[str, Any]]) -> float:
    """Records per id over the top quarter of an ascending page: what lies just above it is more like it."""
    start = len(values) * 3 // 4
    return (len(values) - 1 - start) / max(_record_id(values[-1]) - _record_id(values[start]), 1)


def lower_density(values: list[dict[str, Any]]) -> float:
    """Records per id over the bottom quarter of an ascending page: what lies just below it is more like it."""
    end = len(values) // 4
    return end / max(_record_id(values[end]) - _record_id(values[0]), 1)


class Span:
    """One id range ``after < id < before`` (``before`` None: open above), paged upwards."""

    def __init__(self, after: int | None, before: int | None, density: float | None = None) -> None:
        self.start = self.after = after
        self.before = before
        #: records per id over the top quarter of the span's last full page (None until one came)
        self.density = density
        #: records per id over the bottom quarter of its first full page: what its start borders on
        self.first_density: float | None = None
        self.run = 0  # full pages in a row at about the same density
        self.token: str | None = None
        self.stale = 0  # token failures in a row without a new record
        self.busy = False  # a request is under way
        self.done = False

    def request(self, query: V5Query, limit: int) -> dict[str, str]:
        """The next request's parameters (the token's, or a new query right after the last id)."""
        self.busy = True
        if self.token:
            return {"fields": query.request_fields, "nextPageToken": self.token}
        return first_params(query, self.after, self.before, limit)

    def failed(self, err: PardotApiError) -> None:
        """A request failed: go on past the last id after one token failure, otherwise raise."""
        self.busy = False
        if self.token is None or err.code not in (TOKEN_EXPIRED_CODE, TOKEN_INVALID_CODE) or self.stale:
            raise err
        self.stale, self.token = self.stale + 1, None

    def take(self, page: V5Page, limit: int) -> list[dict[str, Any]]:
        """Take an answered page: return its new records in range; note where the span goes on."""
        self.busy = False
        fresh, crossed = _in_range(page.values, self.after, self.before)
        if fresh:
            last = fresh[-1]["id"]
            if len(page.values) >= limit and not crossed:
                density = upper_density(page.values)
                same = self.density is not None and self.run and 0.5 < density / self.density < 2
                self.run = self.run + 1 if same else 1
                self.density = density
                if self.first_density is None:
                    self.first_density = lower_density(page.values)
            self.stale, self.after = 0, last
        if crossed or not continues(page, limit) or (page.capped and not fresh):
            # (a new query past the same last id would answer the same page again)
            self.done = True
        # at the cap a new query starts past the last id; otherwise the token goes on
        self.token = None if page.capped else page.token
        return fresh


def page_range(
    fetch: Callable[[dict[str, str]], V5Page],
    query: V5Query,
    after: int | None,
    before: int | None,
    limit: int,
    first: V5Page | None = None,
) -> Generator[list[dict[str, Any]], None, None]:
    """
    Yield the pages of records with ``after < id < before``, ascending by id, each record once.

    :param first: the range's first page when it was already fetched (with ``first_params``)
    """
    span = Span(after, before)
    while not span.done:
        if first is not None:
            page, first = first, None
        else:
            params = span.request(query, limit)
            try:
                page = fetch(params)
            except PardotApiError as err:
                span.failed(err)
                continue
        fresh = span.take(page, limit)
        if fresh:
            yield fresh


def split_ids(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """Cut the ids ``low < id <= high`` into at most ``parts`` ranges ``(after, last)``, equal in width."""
    width = high - low
    parts = max(1, min(parts, width))
    edges = [low + (width * k) // parts for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts)]


_NO_MORE = object()  # every span has ended: an idle thread may go


class ParallelPages:
    """
    Page one query's id range on ``concurrency`` threads; :meth:`pages` yields pages as they arrive.

    Order: the first page (the lowest ids), then the pages of the ranges interleaved in the order
    they are answered; within a page, ids ascend.
    """

    def __init__(
        self, fetch: Callable[[dict[str, str]], V5Page], query: V5Query, concurrency: int, limit: int
    ) -> None:
        self.fetch = fetch
        self.query = query
        self.concurrency = concurrency
        self.limit = limit
        self._pages: queue.Queue[Any] = queue.Queue(maxsize=concurrency)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()  # guards the spans and the counts below
        self._spans: list[Span] = []
        self._top = 0  # the highest id when the pull began
        self._top_density = 0.0  # records per id over the last page
        self._calls = 0  # answered (or failed) requests
        self._records = 0  # records delivered

    def pages(self) -> Generator[list[dict[str, Any]], None, None]:
        query = self.query
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pardot-v5-max-id") as pool:
            highest = pool.submit(self._highest_ids)
            first = self.fetch(first_params(query, query.id_after, query.id_before, self.limit))
            top_ids = highest.result()
        head, _ = _in_range(first.values, query.id_after, query.id_before)
        if not continues(first, self.limit) or not head:
            # one page holds it all (or a warned page with no record: page the range on one thread)
            yield from page_range(self.fetch, query, query.id_after, query.id_before, self.limit, first=first)
            return
        yield head
        low = head[-1]["id"]
        self._top = top_ids[0] if top_ids and top_ids[0] > low else low
        self._calls, self._records = 2, len(head)
        self._spans = self._first_spans(low, upper_density(head), top_ids)
        try:
            yield from self._run()
        finally:
            self._close()

    def _highest_ids(self) -> list[int]:
        """The ids of the last page, highest first (``fields=id``: a few kB)."""
        params = {
            **first_params(self.query, self.query.id_after, self.query.id_before, self.limit),
            "fields": "id",
            "orderBy": "id DESC",
        }
        values = self.fetch(params).values
        ids = [v.get("id") if isinstance(v, dict) else None for v in values]
        return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]

    def _first_spans(self, low: int, low_density: float, top_ids: list[int]) -> list[Span]:
        """
        Cut the ids above the first page for the threads, by what the first and the last page show.

        Where both show about the same density the cut is into equal widths. Where one end is
        :data:`SKEW` times denser, the records are bunched there: the threads start in that end,
        in ranges of 2, 4, 8, ... pages at its density, each ending a fifth of a page before the next
        one starts (the owner of the other end has the rest).
        """
        top = self._top
        high_density = (len(top_ids) - 1) / max(top_ids[0] - top_ids[-1], 1) if len(top_ids) > 1 else 0.0
        self._top_density = high_density
        densities: list[float | None]
        if high_density > SKEW * low_density:
            cuts = self._cuts_down(top_ids[-1], high_density, low)
            densities = [low_density, *[high_density] * len(cuts)]
        elif low_density > SKEW * high_density > 0:
            cuts = self._cuts_up(low, low_density, top)
            densities = [*[low_density] * len(cuts), None]
        else:
            cuts = [last + 1 for _, last in split_ids(low, top, self.concurrency)[:-1]]
            densities = [low_density, *[None] * len(cuts)]
        starts = [low] + [cut - 1 for cut in cuts]
        # the last range is open above: records added during the pull are read too
        ends: list[int | None] = [*cuts, self.query.id_before]
        return [Span(after, before, density) for after, before, density in zip(starts, ends, densities, strict=True)]

    def _cuts_up(self, low: int, density: float, top: int) -> list[int]:
        """Cuts above ``low``: 2, 4, 8, ... pages apart at ``density`` (ascending, below ``top``)."""
        cuts, at, pages = [], float(low), 2
        for _ in range(self.concurrency - 1):
            at += (pages - CUT_MARGIN) * self.limit / density
            if at >= top:
                break
            cuts.append(int(at))
            pages *= 2
        return cuts

    def _cuts_down(self, edge: int, density: float, low: int) -> list[int]:
        """
        Cuts below the last page (which starts at ``edge``), ascending: the top range a fifth short of
        2 pages (so it ends on a short page, not on an empty one), then 4, 8, ... pages.
        """
        width = self.limit / density
        cuts, at, pages = [], edge - (1 - CUT_MARGIN) * width, 4
        for _ in range(self.concurrency - 1):
            if at <= low + width:
                break
            cuts.append(int(at))
            at -= (pages - CUT_MARGIN) * width
            pages *= 2
        return sorted(cuts)

    def _run(self) -> Iterator[list[dict[str, Any]]]:
        spans = list(self._spans)
        for number, span in enumerate(spans):
            thread = threading.Thread(target=self._work, args=(span,), name=f"pardot-v5-{number}", daemon=True)
            self._threads.append(thread)
            thread.start()
        running = len(spans)
        while running:
            item = self._pages.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item

    def _work(self, span: Span | None) -> None:
        try:
            while span is not None:
                if not self._page(span):
                    return
                span = self._next_span()
            self._put(None)
        except BaseException as err:  # surfaced in the consumer's thread
            self._put(err)

    def _page(self, span: Span) -> bool:
        """Page ``span`` to its end (which may move down meanwhile); False once the consumer has gone."""
        while not self._stop.is_set():
            with self._changed:
                if span.done:
                    return True
                params = span.request(self.query, self.limit)
            try:
                page = self.fetch(params)
            except PardotApiError as err:
                with self._changed:
                    self._calls += 1
                    span.failed(err)
                continue
            with self._changed:
                fresh = span.take(page, self.limit)
                self._calls += 1
                self._records += len(fresh)
                self._changed.notify_all()
            if fresh and not self._put(fresh):
                return False
        return False

    def _next_span(self) -> Span | None:
        """A new span cut from the busiest one, once there is one worth cutting; None when all ended."""
        with self._changed:
            while not self._stop.is_set():
                got = self._steal()
                if got is _NO_MORE:
                    return None
                if isinstance(got, Span):
                    return got
                self._changed.wait(_PUT_POLL_SECONDS)
        return None

    def _pages_left(self, span: Span) -> float:
        """
        Estimated pages ``span`` has left after its request under way (0 when unknown).

        By its own last full page, unless the records just above its end are :data:`SKEW` times
        denser or sparser than its own. Below a burst, a sparse span may hide the burst's lower part:
        it is taken to hold at least as many pages as the span above it was given. Below a sparse
        stretch, a dense span's records end before it does: it is taken to hold at most twice as many
        pages as the span below it was given, or as it has read in a row at its density.
        """
        if span.done or not span.density or span.after is None:
            return 0.0
        pages = max(0.0, (self._end(span) - self._position(span)) * span.density / self.limit)
        above = self._density_above(span)
        if above > SKEW * span.density:
            return max(pages, self._size(self._span_from(self._end(span) - 1)))
        if 0 < above * SKEW < span.density and span.start is not None:
            below = self._size(self._span_to(span.start + 1))
            return min(pages, 2 * max(below, span.run, 1))
        return pages

    def _end(self, span: Span) -> int:
        """Where the span's records end: its bound, or past the highest id when the pull began."""
        return self._top + 1 if span.before is None else min(span.before, self._top + 1)

    def _position(self, span: Span) -> float:
        """Where the span's last id should be once its request under way is answered."""
        after = span.after or 0
        return after + (self.limit / span.density if span.busy and span.density else 0.0)

    def _span_from(self, start: int) -> Span | None:
        return next((s for s in self._spans if s.start == start), None)

    def _span_to(self, before: int) -> Span | None:
        return next((s for s in self._spans if s.before == before), None)

    def _size(self, span: Span | None) -> float:
        """The pages a span was given, at its density (0 when unknown)."""
        if span is None or span.start is None or not span.density:
            return 0.0
        return (self._end(span) - span.start) * span.density / self.limit

    def _density_above(self, span: Span) -> float:
        """The density of the records just above the span's end (the last page's for the open span; 0: unknown)."""
        if span.before is None or span.before == self.query.id_before:
            return self._top_density
        above = self._span_from(span.before - 1)
        if above is None:
            return 0.0
        return above.first_density or above.density or 0.0

    def _steal(self) -> Span | object | None:
        """
        Cut the span with the most pages left for an idle thread (lock held): the new span, None to wait,
        or _NO_MORE.

        The call budget comes first: every open span may still cost one call more than its records,
        and so may the new one. A fair share is everyone's pages left (and under way) over the threads.
        A sparse span below a burst gives the thief a fair share (or half its pages) from below its
        end, at the burst's density; any other keeps half its pages or what makes up a fair share with
        its page under way, whichever is less, and the thief takes the rest.
        """
        open_spans = [s for s in self._spans if not s.done]
        if not open_spans:
            return _NO_MORE
        spent = self._calls - self._records / self.limit
        if spent + len(open_spans) + 1 > EXTRA_CALLS:
            return None
        left = {id(s): self._pages_left(s) for s in open_spans}
        fair = (sum(left.values()) + sum(1 for s in open_spans if s.busy)) / self.concurrency
        victim = max(open_spans, key=lambda s: left[id(s)])
        pages = left[id(victim)]
        if pages < MIN_STEAL_PAGES:
            return None
        above = self._density_above(victim)
        if victim.density and above > SKEW * victim.density:
            share = max(1, round(min(fair, pages / 2)))
            cut = self._end(victim) - (share - CUT_MARGIN) * self.limit / above
            thief = self._cut(victim, int(cut), above)
        else:
            keep = max(1, round(min(pages / 2, fair - victim.busy)))
            density = victim.density or 1.0  # (known: a span without one has no pages left to give)
            thief = self._cut(victim, int(self._position(victim) + (keep - CUT_MARGIN) * self.limit / density))
        if thief is not None:
            self._spans.append(thief)
        return thief

    def _cut(self, victim: Span, cut: int, density: float | None = None) -> Span | None:
        """Give the ids from ``cut`` up to the thief, if ``cut`` is above the victim's page under way."""
        if victim.after is None or not self._position(victim) + 1 < cut < self._end(victim):
            return None
        thief = Span(cut - 1, victim.before, density or victim.density)
        victim.before = cut  # the owner drops what its page under way brings from here up
        return thief

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=_PUT_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _close(self) -> None:
        """Stop the producers and wait for them (a request under way finishes or times out first)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()


def _shaped(page: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """
    The page's records with the caller's fields in their order, looked at once for the whole page.

    Pardot answers the fields in its own order, and ``id`` also when the caller did not ask for it
    (the paging needs it): a page whose first record has exactly those keys is put in order by one
    comprehension a record; anything else (related objects, a field missing) goes through
    :func:`~airflow_provider_pardot.api.v5.shape`.
    """
    keys = list(page[0])
    if keys == fields:
        return page  # already as asked
    if len(keys) - ("id" in keys and "id" not in fields) == len(fields) and set(fields) <= set(keys):
        try:
            return [{name: record[name] for name in fields} for record in page]
        except (KeyError, TypeError):
            pass  # records of other shapes in the page: one at a time
    return [shape(record, fields) for record in page]


def v5_records(
    fetch: Callable[[dict[str, str]], V5Page], query: V5Query, *, concurrency: int, max_records: int | None
) -> Iterator[dict[str, Any]]:
    """Yield the query's records (shaped to the fields asked), stopping after ``max_records``."""
    if max_records == 0:
        return
    limit = min(V5_PAGE_LIMIT, max_records) if max_records else V5_PAGE_LIMIT
    pages: Generator[list[dict[str, Any]], None, None]
    if concurrency == 1:
        pages = page_range(fetch, query, query.id_after, query.id_before, limit)
    else:
        pages = ParallelPages(fetch, query, concurrency, limit).pages()
    room = max_records
    try:
        for page in pages:
            page = _shaped(page, query.fields)
            if room is not None and len(page) >= room:
                yield from page[:room]
                return
            yield from page
            if room is not None:
                room -= len(page)
    finally:
        pages.close()  # stops and joins the threads of a parallel query
