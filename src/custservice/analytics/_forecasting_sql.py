"""The openings arrivals are learnt from, counted in a SQL store.

:func:`~custservice.analytics.arrivals` hands a store that offers
``sql_snapshot()`` to :func:`opened_counts`. In one snapshot it counts the
interactions per stretch of ``step`` microseconds of ``opened_at``, where
``step`` divides the interval, a day, every UTC offset of the calendar's zone
over the span of the stored openings and every instant that offset changes:
then each stretch lies within one interval and one day on the zone's wall
clock, so the counts per stretch are the counts per interval the forecast
takes, with no interaction read. When the zone's offsets share no such step
of a minute or more (local mean times with seconds), each opening is read
instead. The counting into intervals, days and holidays is the forecast's own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import sqlalchemy as sa

from ..storage.sql.store import Snapshot
from ._scorecard_sql import _floor_div, _offsets

__all__ = ["opened_counts"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY = 86_400_000_000
_MINUTE = 60_000_000
_BATCH = 5000


def _step(zone: str, lo: int, hi: int, interval: int) -> int | None:
    """The longest stretch (µs) that divides ``interval``, a day, and every UTC offset of
    ``zone`` over ``[lo, hi]`` and the instant it takes effect; ``None`` below a minute."""
    pieces = _offsets(zone, lo, hi)
    if pieces is None:
        return None
    step = math.gcd(interval, _DAY)
    for k, (start, offset) in enumerate(pieces):
        step = math.gcd(step, offset) if k == 0 else math.gcd(step, offset, start)
    return step if step >= _MINUTE else None


def opened_counts(
    open_snapshot: Callable[[], AbstractContextManager[Snapshot]], zone: str, interval: int
) -> Iterator[tuple[dt.datetime, int]]:
    """How many interactions were opened in each stretch of time (its first instant, in
    UTC, and the count), the stretches lying each within one ``interval`` (µs) and one
    day of ``zone``'s wall clock; from one snapshot held while they are read.

    Raises:
        StorageError: the database failed.
    """
    with open_snapshot() as snapshot:
        conn = snapshot.connection
        column = snapshot.tables["interactions"].c.opened_at
        lo, hi = conn.execute(sa.select(sa.func.min(column), sa.func.max(column))).one()
        if lo is None:
            return
        step = _step(zone, int(lo), int(hi), interval)
        if step is None:
            rows = conn.execute(sa.select(column).execution_options(yield_per=_BATCH))
            for page in rows.partitions():
                for (us,) in page:
                    yield _EPOCH + dt.timedelta(microseconds=int(us)), 1
            return
        key = _floor_div(column, step).label("k")
        for k, n in conn.execute(sa.select(key, sa.func.count()).group_by(key)):
            yield _EPOCH + dt.timedelta(microseconds=int(k) * step), int(n)
