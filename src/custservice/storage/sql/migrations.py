"""Bringing a database to the current schema, in one transaction, with nothing lost.

A database is at version 0 (empty: every table is created), 1 (written by
custservice 0.1.0: records as text only), 2 (typed columns, before the
desk's), 3 (before tenants), 4 (before the merged cases' column), 5 (before a
case's reply and resolution times and the tags' columns), 6 (before rows kept only the
part of a record's text their columns do not hold) or :data:`~.schema.VERSION`. Each
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
from .schema import NO_TENANT

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
    _no_tenant(conn, tables)


def _no_tenant(conn: sa.Connection, tables: Any) -> None:
    """List the "tenant" of the records of no tenant, if it is not listed yet."""
    known: sa.Table = tables["tenants"]
    if conn.execute(sa.select(known.c.tenant).where(known.c.tenant == NO_TENANT)).first() is None:
        conn.execute(sa.insert(known).values(tenant=NO_TENANT))


def _typed_columns(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """1 → 2: typed columns beside each record's text, filled from the text; the feed's
    counter kept where it was (positions are never reused)."""
    inspector = sa.inspect(conn)
    _add_columns(conn, tables, fill_all=True)
    events: sa.Table = tables["events"]
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
    interaction's team), filled from the records' text.

    Run after 1 → 2 in the same upgrade, it finds nothing to add and reads no record.
    """
    _add_columns(conn, tables, fill_all=False)


_OLD = "_v3_"
"""The prefix of a record table's name while the upgrade to tenants rebuilds it."""


def _tenants(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """3 → 4: tenants. Each record table is rebuilt with the tenant leading its key, its
    foreign key and its indexes (no engine changes a primary key in place alike), its rows
    copied as the records of no tenant; the feed gains the tenant; ``tenants`` is made.

    Every part checks what is already there first, so the step also finishes its own
    partial work on engines that commit each schema change on its own (MariaDB).
    """
    inspector = sa.inspect(conn)
    schema = tables["customers"].schema
    present = set(inspector.get_table_names(schema=schema))
    preparer = conn.dialect.identifier_preparer
    for name in _schema.RECORD_TABLES:
        table: sa.Table = tables[name]
        old = _OLD + name
        if name not in present or old in present:
            continue
        if "tenant" in {c["name"] for c in inspector.get_columns(name, schema=schema)}:
            continue  # already rebuilt
        # Free the names the new table takes: its foreign key's and its indexes'.
        if conn.dialect.name != "sqlite":  # SQLite's go with the table
            mysql = conn.dialect.name in ("mysql", "mariadb")
            drop = "DROP FOREIGN KEY" if mysql else "DROP CONSTRAINT"
            for key in inspector.get_foreign_keys(name, schema=schema):
                key_name = preparer.quote(str(key["name"]))
                conn.exec_driver_sql(
                    f"ALTER TABLE {preparer.format_table(table)} {drop} {key_name}"
                )
        for index in inspector.get_indexes(name, schema=schema):
            _drop_index(conn, name, schema, index["name"])
        conn.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(table)} RENAME TO {preparer.quote(old)}"
        )
        present.add(old)
        present.discard(name)
    for name in _schema.RECORD_TABLES:  # the customers first: the others refer to them
        table = tables[name]
        if name not in present:
            table.create(conn)
        old = _OLD + name
        empty = conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
        if old in present and empty:  # one statement copies all: nothing, or everything
            source = sa.Table(old, sa.MetaData(), autoload_with=conn, schema=schema)
            # The columns both have; the typed columns of later versions, which the new
            # table already has (a later step finds nothing to add), are filled here.
            copied = [c.name for c in table.columns if c.name in source.c]
            conn.execute(
                sa.insert(table).from_select(copied, sa.select(*(source.c[c] for c in copied)))
            )
            if any(c.name not in source.c and c.name != "tenant" for c in table.columns):
                _fill(conn, table)
    for name in reversed(_schema.RECORD_TABLES):  # the customers last: others referred to them
        old = _OLD + name
        if old in present:
            sa.Table(old, sa.MetaData(), schema=schema).drop(conn)
    events: sa.Table = tables["events"]
    if "tenant" not in {c["name"] for c in inspector.get_columns("events", schema=schema)}:
        column = events.c.tenant
        conn.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(events)} ADD COLUMN "
            f"{preparer.format_column(column)} {column.type.compile(dialect=conn.dialect)} "
            f"NOT NULL DEFAULT ''"
        )
    wanted = {str(index.name) for index in events.indexes}
    for index in inspector.get_indexes("events", schema=schema):
        if index["name"] not in wanted:
            _drop_index(conn, "events", schema, index["name"])
    _create_indexes(conn, events)
    tables["tenants"].create(conn, checkfirst=True)
    _no_tenant(conn, tables)


def _drop_index(conn: sa.Connection, table: str, schema: str | None, index: Any) -> None:
    # On a table of its own: an index made on the store's would join its metadata.
    conn.execute(
        sa.schema.DropIndex(sa.Index(index, _table=sa.Table(table, sa.MetaData(), schema=schema)))
    )


def _create_indexes(conn: sa.Connection, table: sa.Table) -> None:
    """Create the indexes of ``table`` the database lacks."""
    inspector = sa.inspect(conn)
    indexes = {i["name"] for i in inspector.get_indexes(table.name, schema=table.schema)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(conn)


def _merge_column(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """4 → 5: a case's ``merged_into`` (the case it is merged into, if it is), and its
    index, filled from the records' text.

    Run after an earlier step in the same upgrade, it finds nothing to add and reads no
    record.
    """
    _add_columns(conn, tables, fill_all=False)
    _create_indexes(conn, tables["cases"])


def _add_columns(conn: sa.Connection, tables: Any, *, fill_all: bool) -> None:
    """Add every typed column of the record tables that the database lacks, and fill the
    typed columns of each table given a column (of every table, with ``fill_all``) from
    the records' text. The indexes come with the tables' rebuild of 3 → 4, which every
    older database goes through."""
    preparer = conn.dialect.identifier_preparer
    inspector = sa.inspect(conn)
    for name in ("customers", "interactions", "cases"):
        table: sa.Table = tables[name]
        present = {c["name"] for c in inspector.get_columns(name, schema=table.schema)}
        missing = [c for c in table.columns if c.name not in present and c.name != "tenant"]
        for column in missing:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {preparer.format_table(table)} "
                f"ADD COLUMN {preparer.format_column(column)} {kind}"
            )
        if missing or fill_all:
            _fill(conn, table)


def _fill(conn: sa.Connection, table: sa.Table, page: int = 2000) -> None:
    """Derive the typed columns of every row from its stored text, page by page, and
    write that text as rows keep it now: without what the columns hold (the record is
    read anyway; a shorter row is a smaller file and a faster scan)."""
    kind: Kind = _KIND[table.name]
    cls = _common.TYPE_OF[kind]
    typed = [
        c.name
        for c in table.columns
        if c.name not in ("tenant", "id", "customer_id", "opened_at", "version")
    ]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"))
        .values({name: sa.bindparam(name) for name in typed})
    )
    owner = _schema.owner_column(table)
    after: Any = None
    while True:
        query = (
            sa.select(table.c.data, table.c.id, owner, table.c.version)
            .order_by(table.c.id)
            .limit(page)
        )
        if after is not None:
            query = query.where(table.c.id > after)
        rows = list(conn.execute(query).all())
        if not rows:
            return
        records = _common.decode_rows(cls, kind, rows, "database")
        params = []
        for (_, rid, _, version), record in zip(rows, records, strict=True):
            values = _row(record, version)
            params.append({"_id": rid, **{name: values[name] for name in typed}})
        conn.execute(update, params)
        after = rows[-1][1]


def _measure_columns(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """5 → 6: a case's ``first_reply`` and ``resolution`` (microseconds from its opening),
    and the ``tags`` of cases and interactions, filled from the records' text.

    Run after an earlier step in the same upgrade, it finds nothing to add and reads no
    record.
    """
    _add_columns(conn, tables, fill_all=False)


def _row_text(conn: sa.Connection, tables: Any, driver: Driver) -> None:
    """6 → 7: rows written from now on keep in ``data`` only what their columns do not
    hold. Nothing is rewritten: the whole text of a row written before reads the same,
    and each row takes the shorter form when its record is next saved."""


STEPS: list[Step] = [
    _create,
    _typed_columns,
    _desk_columns,
    _tenants,
    _merge_column,
    _measure_columns,
    _row_text,
]
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
