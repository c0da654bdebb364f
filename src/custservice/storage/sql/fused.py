"""A change of one record as one statement, where the engine allows data-modifying
``WITH`` (PostgreSQL).

Every writer takes the change feed's counter first and holds it until it
commits (see :mod:`.store`). Taken by its own statement, then the row
written, then the entry appended, the counter is held across three round
trips and the client's work between them, and writers queue behind all of
it. Here one statement takes the counter, writes the row only once it holds
it, and appends the entry: the counter is held for that statement's tail
and the commit. Writers still take turns in the same order, so positions
still follow commit order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..protocols import Kind
from .schema import owner_column

__all__ = ["FusedWrites"]

_ENTRY = ("position", "kind", "action", "record_id", "customer_id", "version", "tenant")


class FusedWrites:
    """The one-statement ``add`` and ``save`` of one table, compiled once per dialect.

    Args:
        tables: the store's tables by name.
        table: the records' table.
        kind: the records' kind, as the feed names it.
        kept_on_save: columns a save never sets from the record.
    """

    def __init__(
        self, tables: dict[str, sa.Table], table: sa.Table, kind: Kind, kept_on_save: frozenset[str]
    ) -> None:
        head, events = tables["events_head"], tables["events"]
        owner = owner_column(table)
        counter = (
            sa.update(head)
            .values(position=head.c.position + _constant(1, head.c.position))
            .returning(head.c.position)
        ).cte("counter")
        # Referring to the counter in the row's statement makes PostgreSQL take it first
        # (a one-time filter), before any row is locked: the order every writer keeps.
        taken = sa.exists(sa.select(counter.c.position))

        def new(column: str) -> Any:
            return sa.bindparam(f"new_{column}", type_=table.c[column].type)

        columns = [c.name for c in table.columns]
        added = (
            sa.insert(table)
            .from_select(columns, sa.select(*(new(c) for c in columns)).where(taken))
            .returning(table.c.id, owner.label("owner"), table.c.tenant, table.c.version)
            .cte("written")
        )
        saved = (
            sa.update(table)
            .where(
                taken,
                table.c.tenant == sa.bindparam("old_tenant"),
                table.c.id == sa.bindparam("old_id"),
                table.c.version == sa.bindparam("old_version"),
                owner == sa.bindparam("old_owner"),
            )
            .values({c: new(c) for c in columns if c not in kept_on_save and c != "tenant"})
            .values(version=table.c.version + _constant(1, table.c.version))
            .returning(table.c.id, owner.label("owner"), table.c.tenant, table.c.version)
            .cte("written")
        )
        self._add = self._entry(events, counter, added, kind, "add")
        self._save = self._entry(events, counter, saved, kind, "save")
        self._compiled: dict[tuple[str, sa.Dialect], str] = {}

    @staticmethod
    def _entry(events: sa.Table, counter: Any, written: Any, kind: Kind, action: str) -> Any:
        """The statement: the counter, the row, and the feed's entry for it."""
        entry = sa.select(
            counter.c.position,
            _constant(kind, events.c.kind),
            _constant(action, events.c.action),
            written.c.id,
            written.c.owner,
            written.c.version,
            written.c.tenant,
        ).select_from(counter.join(written, sa.true()))
        return sa.insert(events).from_select(_ENTRY, entry).returning(events.c.position)

    def add(self, conn: sa.Connection, values: dict[str, Any]) -> int:
        """Insert the row ``values`` (its tenant included) and its entry; the entry's position.

        Raises:
            sqlalchemy.exc.IntegrityError: the id is taken, or the customer missing.
        """
        params = {f"new_{k}": v for k, v in values.items()}
        position = self._run(conn, "add", params)
        assert position is not None  # the insert wrote its row, or raised
        return position

    def save(
        self, conn: sa.Connection, values: dict[str, Any], *, tenant: str, expected: int, owner: str
    ) -> int | None:
        """Write ``values`` over the stored row of ``tenant`` whose version is ``expected`` and
        whose owner is ``owner``, and its entry; the entry's position, or ``None`` (and
        nothing written, the counter taken) when no such row is stored."""
        params = {f"new_{k}": v for k, v in values.items()}
        params.update(old_tenant=tenant, old_id=values["id"], old_version=expected, old_owner=owner)
        return self._run(conn, "save", params)

    def _run(self, conn: sa.Connection, action: str, params: dict[str, Any]) -> int | None:
        # Compiled once and run as the driver's SQL: SQLAlchemy would otherwise build the
        # cache key of this large statement on every call.
        key = (action, conn.dialect)
        sql = self._compiled.get(key)
        if sql is None:
            statement = self._add if action == "add" else self._save
            compiled = statement.compile(dialect=conn.dialect)
            assert not compiled.positional, "a one-statement write needs named parameters"
            sql = self._compiled[key] = str(compiled)
        position = conn.exec_driver_sql(sql, params).scalar()
        return None if position is None else int(position)


def _constant(value: int | str, column: sa.Column[Any]) -> Any:
    """``value`` written into the SQL (the library's own constant, never user data): the
    statement then runs with only its named parameters."""
    text = str(value) if isinstance(value, int) else "'" + value + "'"
    return sa.literal_column(text, column.type)
