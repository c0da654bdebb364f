"""What :func:`~custservice.analytics.health` counts, in SQL, for every customer at once.

:func:`read_recent_verdicts` reads the typed columns of ``interactions`` in one
statement grouped by customer, between the bounds of a
:class:`~custservice.analytics.health.Span` (the numbers ``health`` applies
to records):

- the interactions read are those opened in ``[first, now]``
  (``opened_at``); the latest of their openings is the last contact;
- of those, feedback given by ``now`` (``feedback_at``) on an interaction
  opened at or after ``earlier_from`` counts, by its verdict
  (``feedback_verdict``): in the recent window when the interaction opened
  at or after ``recent_from``, else in the earlier one.

``tests/test_analytics_sql_counts.py`` checks on every SQL engine that these
counts, judged by :func:`~custservice.analytics.health.judged`, give the
health :func:`~custservice.analytics.health` gives from the records.
Open breaches need the service-target engine: they are counted in Python,
from the cases themselves (:func:`~custservice.analytics.health.open_breach`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..enums import Verdict
from ..storage.sql.store import Snapshot
from ._bounds import int64
from .health import Span
from .verdicts import VerdictCounts

__all__ = ["Counted", "read_recent_verdicts"]

Counted = tuple[VerdictCounts, VerdictCounts, int]
"""A customer's recent verdicts, earlier verdicts, and last contact (microseconds)."""

_VERDICTS = (Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED)  # by rank


def read_recent_verdicts(snapshot: Snapshot, span: Span) -> Callable[[], dict[uuid.UUID, Counted]]:
    """Begin reading, ahead (:meth:`~custservice.storage.sql.Snapshot.read_ahead`), per
    customer with an interaction in ``[span.first, span.now]``: the verdicts of the
    recent and of the earlier window, and the last contact in microseconds. The
    function returned waits for them.

    A customer with no such interaction is not in the result: their verdicts are
    empty and they have no last contact.

    Args:
        snapshot: an open snapshot of a SQL store.
        span: the bounds, from the instant, window and weights judged at.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed (the store's snapshot
            turns it into a ``StorageError``).
    """
    c = snapshot.tables["interactions"].c
    now, recent_from = int64(span.now), int64(span.recent_from)
    counted = sa.and_(c.feedback_at <= now, c.opened_at >= int64(span.earlier_from))
    recent = c.opened_at >= recent_from
    earlier = c.opened_at < recent_from

    def count(window: sa.ColumnElement[bool], verdict: Verdict) -> sa.ColumnElement[Any]:
        is_it = sa.and_(counted, window, c.feedback_verdict == verdict.value)
        return sa.func.count(sa.case((is_it, sa.literal_column("1"))))

    statement = (
        sa.select(
            c.customer_id,
            sa.func.max(c.opened_at),
            *(count(recent, v) for v in _VERDICTS),
            *(count(earlier, v) for v in _VERDICTS),
        )
        .where(c.opened_at >= int64(span.first), c.opened_at <= now)
        .group_by(c.customer_id)
    )
    ahead = snapshot.read_ahead(statement)

    def counted_per_customer() -> dict[uuid.UUID, Counted]:
        out: dict[uuid.UUID, Counted] = {}
        for customer_id, last, *n in ahead.rows():
            counts = [int(v) for v in n]
            out[uuid.UUID(str(customer_id))] = (
                VerdictCounts(*counts[:3]),
                VerdictCounts(*counts[3:]),
                int(last),
            )
        return out

    return counted_per_customer
