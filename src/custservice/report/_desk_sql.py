"""The desk's open cases, counted in SQL over the typed columns of ``cases``.

A case is open when its ``status`` is neither solved nor closed
(:data:`~custservice.report._desk.FINISHED`, the rule the streamed count
applies); the open cases are counted in one statement grouped by ``team``
and ``priority``, with those whose ``assignee`` is ``NULL``.
``tests/test_report_sql.py`` checks on every SQL engine that the counts are
those streamed from the same records.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from ..enums import Priority
from ..storage.sql.store import Snapshot
from ._desk import FINISHED, OpenCases

__all__ = ["read_open_case_counts"]


def read_open_case_counts(snapshot: Snapshot) -> Callable[[], OpenCases]:
    """Begin reading, ahead, the open cases of the store read by ``snapshot``, counted by
    team and priority; the function returned waits for them.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed (the store's snapshot
            turns it into a ``StorageError``).
    """
    c = snapshot.tables["cases"].c
    statement = (
        sa.select(c.team, c.priority, sa.func.count(), sa.func.count(c.assignee))
        .where(c.status.not_in(sorted(s.value for s in FINISHED)))
        .group_by(c.team, c.priority)
    )
    ahead = snapshot.read_ahead(statement)

    def counted() -> OpenCases:
        counts: dict[tuple[str | None, Priority], int] = {}
        unassigned = 0
        for team, priority, n, assigned in ahead.rows():
            counts[team, Priority(priority)] = int(n)
            unassigned += int(n) - int(assigned)
        return OpenCases(counts, unassigned)

    return counted
