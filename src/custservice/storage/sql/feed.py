"""A SQL store's change feed, read from its ``events`` table in pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..._validation import integer
from .. import _common
from ..protocols import ChangeEvent
from .repositories import INT64_MAX, PAGE

if TYPE_CHECKING:
    from .store import SqlStore

__all__ = ["SqlFeed"]


class SqlFeed:
    """The change feed, in the ``events`` table."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        e = store._tables["events"]
        tenant = store._tenant
        mine = [] if tenant is None else [e.c.tenant == tenant]
        self._select = (
            sa.select(
                e.c.position,
                e.c.kind,
                e.c.action,
                e.c.record_id,
                e.c.customer_id,
                e.c.version,
                e.c.tenant,
            )
            .where(e.c.position > sa.bindparam("after"), *mine)
            .order_by(e.c.position)
        )
        self._latest = (
            sa.select(store._tables["events_head"].c.position)
            if tenant is None
            else sa.select(sa.func.max(e.c.position)).where(*mine)
        )

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries with a position greater than ``position``, in order, read in pages.

        Raises:
            ValidationError: ``position`` is not a whole number.
        """
        position = min(max(integer(position, "position"), 0), INT64_MAX)
        return _common.while_open(self._follow(self._page(position)), self._store._check_open)

    def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        with self._store._connection() as conn:
            found = conn.execute(self._latest).scalar()
        return 0 if found is None else int(found)

    def _follow(self, rows: list[Any]) -> Iterator[ChangeEvent]:
        UUID = uuid.UUID
        while True:
            for position, kind, action, record_id, customer_id, version, tenant in rows:
                yield ChangeEvent(
                    position,
                    kind,
                    action,
                    UUID(str(record_id)),
                    UUID(str(customer_id)),
                    version,
                    tenant or None,
                )
            if len(rows) < PAGE:
                return
            rows = self._page(rows[-1][0])

    def _page(self, position: int) -> list[Any]:
        with self._store._connection() as conn:
            return list(conn.execute(self._select.limit(PAGE), {"after": position}).all())
