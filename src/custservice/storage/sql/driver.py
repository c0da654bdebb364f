"""What an engine does differently from the shared SQL store: the :class:`Driver` it gives.

An engine module (:mod:`.sqlite`, :mod:`.postgresql`, :mod:`.mysql`)
subclasses :class:`Driver` and overrides only what its database or driver
needs: how a snapshot begins, where the schema version is kept, the bulk
path, how its errors read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from ...errors import CustServiceError, StorageError
from .rows import row as _row

__all__ = ["BEGIN", "Driver", "engine", "first_line", "number_option"]

BEGIN = "custservice.begin"
"""Key in ``Connection.info`` while a transaction begins: ``"write"`` or ``"snapshot"``."""


class Driver:
    """What one engine does differently; the defaults suit a standard SQL server.

    Attributes:
        name: the engine's name in messages (``"PostgreSQL"``).
        where: where the database is, for messages (a path, ``host:port/db``);
            never a password.
        shared: one connection serves every thread, under a lock.
        transactional_ddl: schema changes roll back with their transaction
            (not so on MySQL and MariaDB, where each commits on its own).
        autocommit_reads: a read outside a transaction block runs on a pooled
            connection in autocommit mode (switching it costs no round trip).
        fused_writes: a change of one record is one statement of data-modifying
            ``WITH`` clauses (see :mod:`.fused`).
        second: builds an engine whose connections (not pooled) open as the
            store's do, to read beside a snapshot; ``None`` (a host's engine, an
            async store, a database in memory): the snapshot reads alone.
    """

    name = "SQL"
    shared = False
    transactional_ddl = True
    autocommit_reads = False
    fused_writes = False

    def __init__(self, where: str) -> None:
        self.where = where
        self.second: Callable[[], sa.Engine] | None = None
        self._second: sa.Engine | None = None
        self._inserts: dict[tuple[sa.Table, Any], tuple[str, Any]] = {}

    def begin_snapshot(self, conn: sa.Connection) -> None:
        """Make the transaction just begun one consistent, read-only snapshot."""

    def second_connection(self, engine: sa.Engine) -> sa.Connection | None:
        """A connection of its own, outside the store's pool, to read beside a snapshot of
        ``engine``'s from another thread (so it never waits for a connection the
        application needs); ``None`` where :attr:`second` builds none."""
        if self.second is None:
            return None
        if self._second is None:
            second = self.second()
            second.logger = engine.logger  # the store's: it never logs rows
            self._second = second
        return self._second.connect()

    def snapshot_token(self, conn: sa.Connection, head: sa.Select[Any]) -> object:
        """What lets a second connection read what the snapshot of ``conn`` reads: by
        default the change feed's counter there, ``head``, which every write moves."""
        return conn.execute(head).scalar_one()

    def join_snapshot(self, conn: sa.Connection, head: sa.Select[Any], token: object) -> bool:
        """Whether the snapshot just begun on ``conn`` reads what the one ``token`` came from
        does, making it so where the engine can: by default, whether the counters agree
        (a write committed between the two beginnings moved it)."""
        return bool(conn.execute(head).scalar_one() == token)

    def read_version(self, conn: sa.Connection, tables: Any) -> int:
        """The schema version recorded in the database: 0 for an empty one.

        Raises:
            StorageError: the database holds another application's tables.
        """
        meta = tables["custservice_meta"]
        names = set(sa.inspect(conn).get_table_names(schema=meta.schema))
        ours = {t.name for t in tables.values()}
        if "custservice_meta" not in names:
            found = names & (ours | {"customers"})
            if not found:
                return 0
            raise StorageError(
                f"{self.describe()} holds tables ({', '.join(sorted(found))}) of another "
                "application (no custservice marker); it was not changed"
            )
        values = {str(k): str(v) for k, v in conn.execute(sa.select(meta.c.key, meta.c.value))}
        if not values:
            return 0  # tables a host's migrations made from metadata(): never initialised
        if values.get("application") != "custservice":
            raise StorageError(f"{self.describe()} is marked as another application's")
        try:
            return int(values.get("schema_version", "0"))
        except ValueError:
            raise StorageError(f"{self.describe()} has an unreadable schema version") from None

    def checked(self, conn: sa.Connection) -> None:
        """Called once the database is known to be custservice's (or empty), before any
        change: the place for settings that write to the database."""

    def begin_hosted(self, conn: sa.Connection, *, write: bool) -> None:
        """On a host's engine or connection, in a transaction SQLAlchemy has begun: make
        sure the database has begun it too (a driver may wait for the first change, and
        a savepoint must not begin it in its place)."""

    def check_host(self, conn: sa.Connection) -> None:
        """Check a host's connection is set up as the store needs (it never changes one).

        Raises:
            StorageError: a setting the store relies on is missing, and how to set it.
        """

    def write_version(self, conn: sa.Connection, tables: Any, version: int) -> None:
        """Record ``version`` as the database's schema version."""
        meta = tables["custservice_meta"]
        conn.execute(sa.delete(meta).where(meta.c.key.in_(["application", "schema_version"])))
        conn.execute(
            sa.insert(meta),
            [
                {"key": "application", "value": "custservice"},
                {"key": "schema_version", "value": str(version)},
            ],
        )

    def lock_schema(self, conn: sa.Connection) -> None:
        """Make other processes upgrading the same schema wait for this one."""

    def row(self, record: Any, version: int) -> dict[str, Any]:
        """The row that stores ``record`` (see :func:`.rows.row`), as this engine can hold it."""
        return _row(record, version)

    def id_text(self, column: Any) -> Any:
        """A column of ids, read as their text (the default: the column as it is)."""
        return column

    def one_of(self, column: Any, values: sa.Select[Any]) -> Any:
        """``column`` is one of the values ``values`` selects (the default: ``IN``)."""
        return column.in_(values)

    def bulk_insert(
        self, conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]
    ) -> None:
        """Insert many rows in one go (the default: :meth:`insert_rows` of them all).

        ``rows`` may be built as they are read: an engine that streams them
        (PostgreSQL's ``COPY``) builds the next row while the server stores
        the ones before it.
        """
        self.insert_rows(conn, table, list(rows))

    def insert_rows(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows with one ``executemany`` of the driver, SQL compiled once per table.

        The rows are the library's own, already of the columns' types, so
        SQLAlchemy's per-row parameter processing (most of an insert's cost
        in Python) is skipped.
        """
        key = (table, conn.dialect)
        compiled = self._inserts.get(key)
        if compiled is None:
            statement = sa.insert(table).compile(dialect=conn.dialect)
            names = statement.positiontup if statement.positional else None
            compiled = self._inserts[key] = (str(statement), names)
        sql, names = compiled
        if names is None:
            conn.exec_driver_sql(sql, rows)
        else:
            conn.exec_driver_sql(sql, [tuple([r[n] for n in names]) for r in rows])

    def translate(self, exc: BaseException) -> CustServiceError | None:
        """This driver's error as ours, when it says more than "the database failed"."""
        return None

    def after_commit(self, conn: sa.Connection, *, erased: bool) -> None:
        """Called after the outermost write transaction commits."""

    def feed_counter(self, conn: sa.Connection) -> int:
        """The newest change-feed position a version-1 database counted outside its tables."""
        return 0

    def missing(self, conn: sa.Connection) -> StorageError:
        """The error for a database that holds no store, when none may be created."""
        return StorageError(f"{self.describe()} holds no custservice store; it was not changed")

    def create_schema(self, conn: sa.Connection, schema: str | None) -> None:
        """Create the database schema the tables go in, if the engine has schemas."""

    def before_close(self, conn: sa.Connection) -> None:
        """Called once, on the shared connection, before the store closes."""

    def describe(self) -> str:
        """The database, for messages."""
        return f"the {self.name} database {self.where}"


def engine(url: sa.URL | str, *, asynchronous: bool, **options: Any) -> sa.Engine:
    """A store's SQLAlchemy engine; for the async store, the blocking face of an async
    one (its I/O awaits through SQLAlchemy's greenlets, so the store's code is the same).
    """
    # An error chained to the library's must not quote stored data.
    options = {"hide_parameters": True, **options}
    if asynchronous:
        from sqlalchemy.ext.asyncio import create_async_engine

        return create_async_engine(url, **options).sync_engine
    return sa.create_engine(url, **options)


def first_line(exc: BaseException) -> str:
    """A driver error's first line: never its detail, which may quote row data."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary:
        return str(primary)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def number_option(key: str, value: str, kind: type[float] | type[int], what: str) -> float | int:
    """A URL option's number, or a :class:`StorageError` naming the option."""
    try:
        return kind(value)
    except ValueError:
        raise StorageError(f"{key} must be {what}, got {value!r}") from None
