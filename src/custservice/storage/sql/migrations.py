"""Bringing a database to the current schema, in one transaction, with nothing lost.

A database is at version 0 (empty: every table is created), 1 (written by
custservice 0.1.0: records as text only), 2 (typed columns, before the
desk's) or :data:`~.schema.VERSION`. Each
step of :data:`STEPS` takes it one version up; all the steps it lacks run in
one transaction with the version recorded at its end, so a process killed
mid-upgrade leaves the old schema as it was (on engines whose schema changes
are transactional: SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...errors import StorageError
from .. import _common
from ..protocols import Kind
from . import schema as _schema
from .rows import row as _row

if TYPE_CHECKING:
    from .driver import Driver
    from .store import SqlStore

__all__ = ["STEPS", "prepare"]

_KIND: dict[str, Kind] = {"customers": "customer", "interactions": "interaction", "cases": "case"}

Step = Callable[[sa.Connection, Any, "Driver"], None]


def _create(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """0 → current: every table, and the change feed's counter at 0.

    Tables a host's own migrations already made from
    :func:`custservice.storage.metadata` are kept as they are.
    """
    md = next(iter(tables.values())).metadata
    md.create_all(conn)
    head = tables["events_head"]
    if conn.execute(sa.select(head.c.position)).first() is None:
        conn.execute(sa.insert(head).values(singleton=1, position=0))


def _typed_columns(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """1 → 2: typed columns beside each record's text, filled from the text; the feed's
    counter kept where it was (positions are never reused)."""
    inspector = sa.inspect(conn)
    _add_columns(conn, tables, fill_all=True)
    events: sa.Table = tables["events"]
    indexes = {i["name"] for i in inspector.get_indexes("events", schema=events.schema)}
    for index in events.indexes:
        if index.name not in indexes:
            index.create(conn)
    head: sa.Table = tables["events_head"]
    position = conn.execute(sa.select(sa.func.max(events.c.position))).scalar() or 0
    if inspector.has_table("events_head", schema=head.schema):
        stored = conn.execute(sa.select(head.c.position)).scalar() or 0
        position = max(position, int(stored))
        head.drop(conn)
    position = max(position, driver.feed_counter(conn))
    head.create(conn)
    conn.execute(sa.insert(head).values(singleton=1, position=position))
    meta: sa.Table = tables["custservice_meta"]
    if not inspector.has_table("custservice_meta", schema=meta.schema):
        meta.create(conn)


def _desk_columns(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """2 → 3: the desk's typed columns (a case's priority, channel, assignee and team, an
    interaction's team) and the indexes of a desk's queues, filled from the records' text.

    Run after 1 → 2 in the same upgrade, it finds nothing to add and reads no record.
    """
    _add_columns(conn, tables, fill_all=False)


def _add_columns(conn: sa.Connection, tables: Any, *, fill_all: bool) -> None:
    """Add every typed column and index of the record tables that the database lacks, and
    fill the typed columns of each table given a column (of every table, with
    ``fill_all``) from the records' text."""
    preparer = conn.dialect.identifier_preparer
    inspector = sa.inspect(conn)
    for name in ("customers", "interactions", "cases"):
        table: sa.Table = tables[name]
        present = {c["name"] for c in inspector.get_columns(name, schema=table.schema)}
        missing = [column for column in table.columns if column.name not in present]
        for column in missing:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {preparer.format_table(table)} "
                f"ADD COLUMN {preparer.format_column(column)} {kind}"
            )
        if missing or fill_all:
            _fill(conn, table)
        indexes = {i["name"] for i in inspector.get_indexes(name, schema=table.schema)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)


def _fill(conn: sa.Connection, table: sa.Table, page: int = 2000) -> None:
    """Derive the typed columns of every row from its stored text, page by page."""
    kind: Kind = _KIND[table.name]
    cls = _common.TYPE_OF[kind]
    typed = [
        c.name
        for c in table.columns
        if c.name not in ("id", "customer_id", "opened_at", "version", "data")
    ]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"))
        .values({name: sa.bindparam(name) for name in typed})
    )
    after: Any = None
    while True:
        query = (
            sa.select(table.c.id, table.c.data, table.c.version).order_by(table.c.id).limit(page)
        )
        if after is not None:
            query = query.where(table.c.id > after)
        rows = conn.execute(query).all()
        if not rows:
            return
        records = _common.decode_rows(cls, kind, [(r[1],) for r in rows], "database")
        params = []
        for (rid, _, version), record in zip(rows, records, strict=True):
            values = _row(record, version)
            params.append({"_id": rid, **{name: values[name] for name in typed}})
        conn.execute(update, params)
        after = rows[-1][0]


STEPS: list[Step] = [_create, _typed_columns, _desk_columns]
"""Step ``n`` takes a database from version ``n`` to ``n + 1``; step 0 creates the
current schema outright, so a new database takes one step."""


def prepare(conn: sa.Connection, store: SqlStore, *, migrate: bool, create: bool) -> int:
    """Check the database is custservice's and current; bring it up to date if allowed.

    On a connection already in a transaction (a host's), the upgrade is a
    savepoint in it, and nothing else the host began is ended.

    Returns:
        the schema version the database had (0: it held no store).

    Raises:
        StorageError: another application's database, a newer schema, an
            outdated one when ``migrate`` is false, or none when ``create`` is.
    """
    hosted = conn.in_transaction()  # a host's transaction: never ended here
    try:
        return _prepare(conn, store, hosted, migrate=migrate, create=create)
    finally:
        if not hosted and conn.in_transaction():
            conn.rollback()  # what a check began, on a connection left as it was found


def _prepare(
    conn: sa.Connection, store: SqlStore, hosted: bool, *, migrate: bool, create: bool
) -> int:
    from .driver import BEGIN

    driver = store.driver
    tables = store._tables
    latest = _schema.VERSION
    version = _checked(driver.read_version(conn, tables), latest, driver)
    if version == 0 and not create and store._owns_engine:
        raise driver.missing(conn)  # a host's database: told below how to create it
    if store._owns_engine:
        driver.checked(conn)
    else:  # a host's database keeps its settings
        driver.check_host(conn)
    if not hosted and conn.in_transaction():
        conn.rollback()
    if version == latest:
        return version
    if not migrate:
        raise StorageError(
            f"{driver.describe()} "
            + ("holds no custservice store" if version == 0 else f"has schema version {version}")
            + f", not {latest}: bring it up to date with `custservice migrate --store URL` "
            "or custservice.storage.migrate(…); nothing was changed"
        )
    if hosted and not driver.transactional_ddl:
        raise StorageError(
            f"{driver.describe()} commits every schema change on its own, which would commit "
            "the transaction this connection is in: migrate it with "
            "`custservice migrate --store URL` or custservice.storage.migrate(engine)"
        )
    if hosted:
        driver.begin_hosted(conn, write=True)
        transaction: sa.Transaction = conn.begin_nested()
    else:
        conn.info[BEGIN] = "write"
        try:
            transaction = conn.begin()
        finally:
            del conn.info[BEGIN]
        if not store._owns_engine:
            driver.begin_hosted(conn, write=True)
    try:
        driver.lock_schema(conn)
        # Another process may have done it meanwhile.
        version = _checked(driver.read_version(conn, tables), latest, driver)
        if version == 0 and not create:
            raise driver.missing(conn)
        if version < latest:
            if version == 0:
                driver.create_schema(conn, store._schema)
                _create(conn, tables, driver)
            else:
                for step in STEPS[version:]:
                    step(conn, tables, driver)
            driver.write_version(conn, tables, latest)
        transaction.commit()
    except BaseException as exc:
        if transaction.is_active:
            transaction.rollback()
        if isinstance(exc, StorageError | sa.exc.SQLAlchemyError):
            raise
        raise StorageError(
            f"upgrading {driver.describe()} from schema version {version} to {latest} failed "
            f"({type(exc).__name__}: {exc}); nothing was changed"
        ) from exc
    return version


def _checked(version: int, latest: int, driver: Driver) -> int:
    if version > latest:
        raise StorageError(
            f"{driver.describe()} has schema version {version}, newer than this version of "
            f"custservice understands ({latest}); upgrade custservice to open it"
        )
    return version
