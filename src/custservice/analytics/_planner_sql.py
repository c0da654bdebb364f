"""Which interactions may owe a feedback request in a window, chosen in SQL.

:func:`~custservice.analytics.plan_follow_ups` asks for feedback after every
interaction resolved without feedback, ``feedback_delay`` after it was
resolved, counted in exact elapsed time: so the request falls in
``[start, end)`` exactly when ``resolved_at`` (microseconds) lies in
``[start - delay, end - delay)``. :func:`feedback_candidates` selects those
interactions from the typed columns (``resolved_at``, and ``feedback_at`` as
``NULL`` for no feedback); the planner then judges each one read back by its
own rule, so this selection only has to hold every interaction it would
propose (it holds exactly those), which ``tests/test_analytics_sql_counts.py``
checks on every SQL engine. The chosen interactions are read whole by the same
query, a page at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa

from .._time import micros
from ..interactions import Interaction
from ..storage import _common
from ..storage.sql.store import Snapshot
from ._bounds import int64

__all__ = ["feedback_candidates"]

_US = dt.timedelta(microseconds=1)
_PAGE = 500


def feedback_candidates(
    snapshot: Snapshot,
    start: dt.datetime,
    end: dt.datetime,
    delay: dt.timedelta,
    *,
    answered: bool = False,
) -> Iterator[list[Interaction]]:
    """The interactions resolved without feedback whose feedback request, ``delay``
    after the resolution, falls due in ``[start, end)``, oldest first, in pages.

    Args:
        snapshot: an open snapshot of a SQL store.
        start: the window's start (aware).
        end: the window's end (aware).
        delay: how long after the resolution the request falls due.
        answered: those with feedback too (under a survey policy, feedback
            given after the request was made leaves the request made).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed (the store's snapshot
            turns it into a ``StorageError``).
        StorageError: a row is not what the library wrote.
    """
    t = snapshot.tables["interactions"]
    c = t.c
    shift = dt.timedelta.__floordiv__(delay, _US)
    statement = (
        sa.select(c.data, c.id, c.customer_id, c.version)
        .where(
            c.resolved_at.is_not(None),
            c.resolved_at >= int64(micros(start) - shift),
            c.resolved_at < int64(micros(end) - shift),
            *(() if answered else (c.feedback_at.is_(None),)),
        )
        # Ordered by an expression: the few rows chosen are sorted, rather than the whole
        # table walked in index order to skip sorting them (on SQLite, four times slower).
        .order_by(c.opened_at + 0, c.id)
    )
    rows = snapshot.connection.execute(statement.execution_options(yield_per=_PAGE))
    for page in rows.partitions():
        yield _common.decode_rows(Interaction, "interaction", list(page), "database")
