"""The cases a backlog counts, read from a SQL store.

:func:`~custservice.analytics.backlog` hands a store that offers
``sql_snapshot()`` to :func:`case_flows`, which reads, in one snapshot, every
case opened by the instant and not merged (``merged_into`` is NULL):

- a case whose statuses have not changed since the instant
  (``status_changed_at`` at or before it) reads at the instant as over its
  whole history, so what the backlog needs of it comes from its typed
  columns: ``opened_at``, ``resolution`` (its time to its latest
  resolution, NULL while open) and ``reopens``, each written with the case
  by the rules the backlog applies;
- any other case is read from its stored text, page by page, and what the
  rules read of it (:class:`~custservice.service_levels.CaseFacts`) is taken
  from it at the instant, without building the case, as the scorecard's
  service targets do.

SQL only selects: the rules are the backlog's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import sqlalchemy as sa

from ..storage import _common
from ..storage.sql.store import Snapshot
from .case_flow import Flow, flow

__all__ = ["case_flows"]

_BATCH = 2000


def case_flows(
    open_snapshot: Callable[[], AbstractContextManager[Snapshot]], at: int
) -> Iterator[Flow]:
    """What the backlog reads at ``at`` (microseconds since 1970, UTC) of every case opened
    by then and not merged, from one snapshot held while they are read.

    Raises:
        StorageError: the database failed, or a stored case is not what the library
            wrote.
    """
    with open_snapshot() as snapshot:
        c = snapshot.tables["cases"].c
        conn = snapshot.connection
        counted = [c.merged_into.is_(None), c.opened_at <= at]
        settled = sa.select(c.opened_at, c.resolution, c.reopens).where(
            *counted, c.status_changed_at <= at
        )
        for page in conn.execute(settled.execution_options(yield_per=_BATCH)).partitions():
            for opened, resolution, reopens in page:
                opened = int(opened)
                yield opened, None if resolution is None else opened + int(resolution), int(reopens)
        changed = sa.select(c.data).where(*counted, c.status_changed_at > at)
        for page in conn.execute(changed.execution_options(yield_per=500)).partitions():
            for facts, _, _ in _common.read_case_facts(list(page), at, "database"):
                yield flow(facts)
