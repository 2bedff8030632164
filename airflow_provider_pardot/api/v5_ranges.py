"""
The plan of a parallel v5 pull: which id ranges the threads page, from which end, and where a free
thread goes next. Pure bookkeeping (no request, no thread): :mod:`~airflow_provider_pardot.api.v5_paging`
holds the lock, sends the requests and hands the answers here.

A :class:`Segment` is a range of ids ``lo < id < hi`` not delivered yet. Up to two :class:`Reader`
objects page it, each on its own token chain: one upwards from ``lo`` (``orderBy=id ASC``, moving
``lo`` up to the last id it delivers), one downwards from ``hi`` (``orderBy=id DESC``, moving ``hi``
down). Each delivers only what lies strictly between the two, so the readers of a segment meet
wherever its records are, whatever the ids look like: when a page reaches or passes the other
reader's edge, every record between them has been delivered and the segment is done. A page under
way of the other reader then brings nothing new (its records all lie outside ``lo < id < hi``), so
nothing is repeated; nothing is lost because each reader's pages are contiguous from its edge.

The first two requests go out together: the lowest page (ascending; its token chain goes on) and the
ids of the highest (``fields=id``, descending: a few kB). Their densities (records per id, over the
quarter of each page that faces the middle) place the other threads, upwards from cuts: about the
same at both ends, each range is a fifth of a page short of whole rounds (its last page crosses its
end, so no range ends on a nearly empty page), the top one having the rest; one end :data:`SKEW`
times denser, the records are bunched there, and the threads start in that end, in ranges of
:data:`BUNCHED_HIGH` or :data:`BUNCHED_LOW` pages at its density, the range at the other end having
the rest. The top range is open above, so records added during the pull are read too.

A thread whose segment is done goes where the most time is left, and only where one more reader
saves a round (:meth:`Ranges.assign`): a segment paged from below only is joined from above (no
estimate needed: the two meet where the records are), except the open top one, which is cut where
half of what it is estimated to hold is left below; a segment paged from both ends is cut between
where their pages under way should end, a third of what is left to the sparser end's reader alone,
the rest to the new reader and the denser end's. An estimate only decides where threads go, never
what is delivered.

Calls: every page but a reader's last one is full of new records, so a pull costs at most
``records / limit`` calls plus one per reader, plus the highest ids (plus token failures and pages
cut short by the 100,000-record cap). A new reader starts only while the calls spent beyond
``records / limit`` so far, plus one for every reader still paging, plus one for the new reader,
stay within :data:`EXTRA_CALLS`: a full pull costs at most ``ceil(N / 1000) + 7`` calls.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.api.v5 import TOKEN_EXPIRED_CODE, TOKEN_INVALID_CODE, V5Query
from airflow_provider_pardot.exceptions import PardotApiError

if TYPE_CHECKING:
    from airflow_provider_pardot.api.v5_paging import V5Page

#: Calls a parallel pull may spend beyond ``ceil(records / limit)``.
EXTRA_CALLS = 7
#: One end this many times denser than the other: the records are bunched at that end.
SKEW = 4.0
#: A segment paged from both ends with fewer pages left than this beyond its pages under way is left
#: whole to a third reader and the reader at its denser end.
SHARE_ALL_PAGES = 1.5
#: Pages an estimate may be over by: a segment is joined only when one more reader saves a round
#: even with this many pages fewer.
SLACK = 0.25
#: How far before the estimated end of a reader's last full page a first cut goes, in pages: that
#: page crosses the cut and the reader ends without a nearly empty extra page.
CUT_MARGIN = 0.2
#: Pages at the dense end's density of the ranges the threads start in when the records are
#: bunched at the top (nearest the top first): the range at the bottom has the rest, and the thread
#: left over joins it from above, as how far down the bunch goes is unknown.
BUNCHED_HIGH = (2, 8, 16)
#: The same when they are bunched at the bottom: the top range has the rest and is open above (a
#: thread joining it from above would leave what is added during the pull to one more call).
BUNCHED_LOW = (2, 4, 8, 16)

NO_MORE = object()  # every segment is done: a free thread may stop


def first_params(
    query: V5Query, after: int | None, before: int | None, limit: int, *, down: bool = False
) -> dict[str, str]:
    return {
        "fields": query.request_fields,
        "limit": str(limit),
        "orderBy": "id DESC" if down else "id ASC",
        **query.params,
        **query.id_params(after, before),
    }


def continues(page: V5Page, limit: int) -> bool:
    """Whether more records may follow ``page``: it hit the cap, or it has a token and is full (or warned)."""
    if page.capped:
        return bool(page.values)
    return bool(page.token) and (len(page.values) >= limit or bool(page.warning))


def record_id(record: Any) -> int:
    value = record.get("id") if isinstance(record, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise PardotApiError(f"Pardot answered a record without a numeric id: {str(record)[:200]}")
    return value


def in_range(
    values: list[dict[str, Any]], after: int | None, before: int | None
) -> tuple[list[dict[str, Any]], bool, bool]:
    """
    The records of an ascending page with ``after < id < before``, and whether the page reached
    ``after`` (some id at or below it) and ``before`` (some id at or above it).
    """
    if not values:
        return values, False, False
    first, last = record_id(values[0]), record_id(values[-1])
    if (after is None or first > after) and (before is None or last < before):
        return values, False, False  # the whole page: the common case, two ids looked at
    low = 0
    if after is not None:
        while low < len(values) and record_id(values[low]) <= after:
            low += 1
    high = len(values)
    if before is not None:
        while high > low and record_id(values[high - 1]) >= before:
            high -= 1
    return values[low:high], low > 0, high < len(values)


def upper_density(values: list[dict[str, Any]]) -> float:
    """Records per id over the top quarter of an ascending page: what lies just above it is more like it."""
    start = len(values) * 3 // 4
    return (len(values) - 1 - start) / max(record_id(values[-1]) - record_id(values[start]), 1)


def lower_density(values: list[dict[str, Any]]) -> float:
    """Records per id over the bottom quarter of an ascending page: what lies just below it is more like it."""
    end = len(values) // 4
    return end / max(record_id(values[end]) - record_id(values[0]), 1)


class Segment:
    """The ids ``lo < id < hi`` not delivered yet (``hi`` None: open above), paged from one end or both."""

    def __init__(self, lo: int | None, hi: int | None, lo_density: float, hi_density: float) -> None:
        self.lo, self.hi = lo, hi
        #: records per id near each end: measured by the reader there, or estimated when cut
        self.lo_density, self.hi_density = lo_density, hi_density
        self.up: Reader | None = None
        self.down: Reader | None = None
        self.done = False

    @property
    def readers(self) -> list[Reader]:
        return [r for r in (self.up, self.down) if r is not None]


class Reader:
    """One token chain paging a segment: upwards from its ``lo``, or downwards (``down``) from its ``hi``."""

    def __init__(self, segment: Segment, *, down: bool, token: str | None = None) -> None:
        self.segment, self.down, self.token = segment, down, token
        self.stale = 0  # token failures in a row without a new record
        self.busy = False  # a request is under way
        if down:
            segment.down = self
        else:
            segment.up = self

    def request(self, query: V5Query, limit: int) -> dict[str, str]:
        """The next request's parameters (the token's, or a new query from the reader's edge)."""
        self.busy = True
        if self.token:
            return {"fields": query.request_fields, "nextPageToken": self.token}
        return first_params(query, self.segment.lo, self.segment.hi, limit, down=self.down)

    def failed(self, err: PardotApiError) -> None:
        """A request failed: start again from the edge after one token failure, otherwise raise."""
        self.busy = False
        if self.token is None or err.code not in (TOKEN_EXPIRED_CODE, TOKEN_INVALID_CODE) or self.stale:
            raise err
        self.stale, self.token = self.stale + 1, None

    def take(self, page: V5Page, limit: int) -> list[dict[str, Any]]:
        """Take an answered page: its records between the segment's edges, ascending; move this reader's edge."""
        self.busy = False
        seg = self.segment
        values = page.values[::-1] if self.down else page.values
        fresh, below, above = in_range(values, seg.lo, seg.hi)
        crossed = below if self.down else above
        if fresh:
            self.stale = 0
            full = len(values) >= limit and not crossed
            if self.down:
                seg.hi = fresh[0]["id"]
                seg.hi_density = lower_density(values) if full else seg.hi_density
            else:
                seg.lo = fresh[-1]["id"]
                seg.lo_density = upper_density(values) if full else seg.lo_density
        # a short page ends the chain at the bound it was asked with, at or past the other edge
        if crossed or not continues(page, limit) or (page.capped and not fresh):
            seg.done = True
        if seg.lo is not None and seg.hi is not None and seg.hi - seg.lo <= 1:
            seg.done = True  # no id is left between the edges
        self.token = None if page.capped else page.token  # at the cap a new query starts at the edge
        return fresh


class Ranges:
    """
    The segments of one parallel pull and where its threads go; every method runs under the caller's lock.

    :meth:`begin` takes the first two answers, :meth:`request`, :meth:`take` and :meth:`failed` follow a
    reader's pages, :meth:`assign` gives a free thread its next reader.
    """

    def __init__(self, query: V5Query, concurrency: int, limit: int) -> None:
        self.query, self.concurrency, self.limit = query, concurrency, limit
        self.segments: list[Segment] = []
        self.readers: list[Reader] = []
        self.top = 0  # the highest id when the pull began
        self._mean_densities = (0.0, 0.0)  # records per id over the whole of the lowest and the highest page
        self.calls = 0  # answered (or failed) requests
        self.records = 0  # records delivered

    def begin(self, first: V5Page, top_ids: list[int]) -> list[Reader]:
        """
        Plan from the lowest page (ascending, full: its chain goes on) and the ids of the highest
        (descending): the readers to start, the first one the lowest page's.
        """
        query = self.query
        head, _, _ = in_range(first.values, query.id_after, query.id_before)
        low = head[-1]["id"]
        self.top = top_ids[0] if top_ids and top_ids[0] > low else low
        self.calls, self.records = 2, len(head)
        up = upper_density(head)
        quarter = top_ids[-(len(top_ids) // 4 + 1) :]
        down = (len(quarter) - 1) / max(quarter[0] - quarter[-1], 1) if len(quarter) > 1 else up
        # open above (to the query's bound): records added during the pull are read too
        self._mean_densities = (
            (len(head) - 1) / max(low - head[0]["id"], 1),
            (len(top_ids) - 1) / max(top_ids[0] - top_ids[-1], 1) if len(top_ids) > 1 else up,
        )
        gap = Segment(low, query.id_before, up, down)
        self.segments = [gap]
        readers = [self._start(gap, down=False, token=None if first.capped else first.token)]
        return readers + self._first_cuts(gap)

    def _start(self, segment: Segment, *, down: bool, token: str | None = None) -> Reader:
        reader = Reader(segment, down=down, token=token)
        self.readers.append(reader)
        return reader

    def _first_cuts(self, gap: Segment) -> list[Reader]:
        """
        Readers for the other threads, upwards from cuts of the ids above the lowest page.

        About even: each range a fifth of a page short of whole rounds (its last page crosses its end),
        the top one has the rest. Bunched at one end: ranges of :data:`BUNCHED_HIGH` or
        :data:`BUNCHED_LOW` pages from that end at its density, the range at the other end has the rest.
        """
        lo, hi, up, down = gap.lo or 0, self.top + 1, gap.lo_density, gap.hi_density
        # (ranges are sized at the densities over the whole of the two pages: the least noisy)
        low, high = self._mean_densities
        if down > SKEW * up:
            cuts = [
                hi - pages * self.limit / high for pages in self._bunched(BUNCHED_HIGH, self.concurrency - 2)
            ]
        elif up > SKEW * down:
            cuts = [
                lo + pages * self.limit / low for pages in self._bunched(BUNCHED_LOW, self.concurrency - 1)
            ]
        else:
            pages = (hi - lo) * (low + high) / 2 / self.limit
            rounds = math.ceil(pages / self.concurrency)
            step = (hi - lo) * (rounds - CUT_MARGIN) / max(pages, 1)
            cuts = [lo + step * k for k in range(1, self.concurrency)]
        readers = []
        for cut in sorted(cuts, reverse=True):  # the top first: each cut leaves the gap below it
            if not lo + 1 < int(cut) <= self.top or not self._affordable():
                continue
            readers.append(self._split_at(gap, int(cut), self._density_at(gap, cut), upper=True))
        return readers

    @staticmethod
    def _bunched(pages: tuple[int, ...], free: int) -> list[float]:
        """How far the first ``free`` cuts go from the dense end, in pages at its density."""
        return [sum(pages[:k]) - k * CUT_MARGIN for k in range(1, min(free, len(pages)) + 1)]

    def _split_at(self, seg: Segment, cut: int, density: float, *, upper: bool) -> Reader:
        """
        Cut ``seg`` at ``cut``: it keeps the ids below ``cut`` and its upward reader; a new segment has the
        rest and the downward reader. A new reader joins the upper part from below (``upper``) or the
        lower part from above.
        """
        part = Segment(cut - 1, seg.hi, density, seg.hi_density)
        part.down, seg.down = seg.down, None
        if part.down is not None:
            part.down.segment = part
        # the upward reader drops what its page under way brings from here up
        seg.hi, seg.hi_density = cut, density
        self.segments.append(part)
        return self._start(part, down=False) if upper else self._start(seg, down=True)

    def _density_at(self, seg: Segment, at: float) -> float:
        """The density expected at ``at`` inside ``seg``: between its ends', or its denser end's when bunched."""
        low, high = seg.lo_density, seg.hi_density
        if max(low, high) > SKEW * min(low, high):
            return max(low, high)
        lo, hi = seg.lo or 0, self._end(seg)
        return low + (high - low) * (at - lo) / max(hi - lo, 1)

    def _end(self, seg: Segment) -> int:
        return self.top + 1 if seg.hi is None or seg.hi > self.top + 1 else seg.hi

    def _edges(self, seg: Segment) -> tuple[float, float]:
        """Where the segment's edges should be once its pages under way are answered."""
        lo, hi = float(seg.lo or 0), float(self._end(seg))
        # a page under way at the denser end's density: the least it covers
        page = self.limit / max(seg.lo_density, seg.hi_density, 1e-9)
        if seg.up is not None and seg.up.busy:
            lo += page
        if seg.down is not None and seg.down.busy:
            hi -= page
        return lo, hi

    def _left(self, seg: Segment, *, most: bool = False) -> float:
        """Estimated pages in ``seg`` beyond its pages under way: by the mean of its end densities, or
        their geometric mean when one is :data:`SKEW` times the other (the records may be anywhere between)."""
        lo, hi = self._edges(seg)
        low, high = seg.lo_density, seg.hi_density
        if seg.done or hi <= lo or not low or not high:
            return 0.0
        bunched = max(low, high) > SKEW * min(low, high)
        density = (max(low, high) if most else (low * high) ** 0.5) if bunched else (low + high) / 2
        return (hi - lo) * density / self.limit

    def _covered(self, seg: Segment) -> bool:
        """Whether one page holds every record left between the segment's edges, even at its denser end's density."""
        lo, hi = seg.lo or 0, self._end(seg)
        return (hi - lo - 1) * max(seg.lo_density, seg.hi_density) <= self.limit

    def _affordable(self) -> bool:
        """Whether one more reader keeps the pull within ``records / limit + EXTRA_CALLS`` calls."""
        spent = self.calls - self.records / self.limit
        paging = sum(1 for r in self.readers if r.busy or (not r.segment.done and r in r.segment.readers))
        return spent + paging + 1 <= EXTRA_CALLS

    def assign(self) -> Reader | object | None:
        """
        A reader for a free thread: None to wait (for an answer), or :data:`NO_MORE`.

        The segment with the most pages left for each of its readers, where one more reader saves a
        round: paged from below only, it is joined from above (the open top one is halved instead);
        from both ends, it is cut (:meth:`_cut`).
        """
        active = [s for s in self.segments if not s.done]
        if not active:
            return NO_MORE
        paged = [s for s in active if s.readers]
        if paged and self._affordable():
            seg = max(paged, key=lambda s: self._left(s, most=len(s.readers) == 1) / len(s.readers))
            left, readers = self._left(seg, most=len(seg.readers) == 1), len(seg.readers)
            # only where one more reader saves a round (its first page goes out beside the pages under way)
            if math.ceil(left / readers - SLACK) > math.ceil(max(left - 1, 0) / (readers + 1) - SLACK):
                if readers == 2:
                    return self._cut(seg, left)
                return self._halve(seg, self._left(seg)) if self._open(seg) else self._join(seg)
        return None

    def _open(self, seg: Segment) -> bool:
        """Whether ``seg`` is the top segment, paged from below and open above (to the query's bound)."""
        return seg.down is None and self._end(seg) != seg.hi

    def _join(self, seg: Segment) -> Reader:
        """A reader for the free end of a segment paged from one end (never the open top one)."""
        return self._start(seg, down=seg.down is None)

    def _halve(self, seg: Segment, left: float) -> Reader | None:
        """
        Cut the open top segment for a new reader upwards from the cut (a reader from above would leave
        what is added during the pull to one more call): its reader keeps half of what is left, less a
        fifth of a page so that its last page crosses the cut, measured from the denser end.
        """
        lo, hi = self._edges(seg)
        keep = max(1.0, round(left / 2)) - CUT_MARGIN
        if seg.lo_density >= seg.hi_density:
            cut = lo + keep * self.limit / seg.lo_density
        else:
            cut = hi - (left - keep) * self.limit / seg.hi_density
        if not (seg.lo or 0) + 1 < int(cut) < self._end(seg):
            return None
        return self._split_at(seg, int(cut), self._density_at(seg, cut), upper=True)

    def _cut(self, seg: Segment, left: float) -> Reader | None:
        """
        Cut a segment paged from both ends for a third reader, between where its two readers' pages
        under way should end: a third of what is left to the end with the sparser records, paged from
        there alone; the rest to the new reader and the reader at the denser end. Less than
        :data:`SHARE_ALL_PAGES` left: all of it to them (the new reader's page goes out beside the pages
        under way, the others may be done with theirs).
        """
        lo, hi = self._edges(seg)
        upper = seg.hi_density >= seg.lo_density  # the pair goes where the records are denser
        share = left / 3 if left > SHARE_ALL_PAGES else 0.0  # the single reader's
        if share and max(seg.lo_density, seg.hi_density) > SKEW * min(seg.lo_density, seg.hi_density):
            # bunched: measured from the dense end, at its density
            pages = left - share
            cut = (
                hi - pages * self.limit / seg.hi_density
                if upper
                else lo + pages * self.limit / seg.lo_density
            )
        else:
            cut = lo + (hi - lo) * (share / left if upper else 1 - share / left)
        if not lo <= cut <= hi:
            cut = lo + (hi - lo) * (share / left if upper else 1 - share / left)
        if not (seg.lo or 0) + 1 < int(cut) < self._end(seg):
            return None
        return self._split_at(seg, int(cut), self._density_at(seg, cut), upper=upper)

    def request(self, reader: Reader) -> dict[str, str] | None:
        """
        The reader's next request, or None when it is done: its segment is, or the other reader's page
        under way should bring the rest (it then leaves the segment to that reader and is free).
        """
        seg = reader.segment
        other = seg.up if reader.down else seg.down
        if not seg.done and other is not None and other.busy and self._covered(seg):
            if reader.down:
                seg.down = None
            else:
                seg.up = None
            return None
        return None if seg.done else reader.request(self.query, self.limit)

    def take(self, reader: Reader, page: V5Page) -> list[dict[str, Any]]:
        fresh = reader.take(page, self.limit)
        self.calls += 1
        self.records += len(fresh)
        return fresh

    def failed(self, reader: Reader, err: PardotApiError) -> None:
        self.calls += 1
        reader.failed(err)
