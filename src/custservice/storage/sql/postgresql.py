"""PostgreSQL (``postgresql://…``): the path for applications that outgrow one machine.

Open one with ``open_store("postgresql://user:password@host:5432/dbname")``
(``postgres://`` and ``postgresql+psycopg://`` name the same backend). It
needs the ``postgres`` extra: ``pip install "custservice[postgres]"``, which
brings psycopg 3; without it, opening such a URL raises a
:class:`StorageError` that says so, and importing ``custservice`` still works.

Options go in the query string. These are the library's own:

- ``schema=NAME``: the PostgreSQL schema the tables live in (default
  ``public``; created when the store first migrates it). Several stores, or
  test runs, can share a database, each in its own schema. The name is used
  exactly as written (letters, digits, ``_``; at most 63 characters).
- ``min_size=N`` (default 1) and ``max_size=N`` (default 10): the
  connections the store's pool opens at once and keeps open when idle, and
  the most it opens (a snapshot that reads ahead, as the report's does,
  opens one more of its own while it lasts).
- ``timeout=SECONDS`` (default 30): how long an operation waits for a free
  pooled connection before giving up with a :class:`StorageError`.

Every other option is a libpq connection parameter passed on unchanged
(``sslmode=require``, ``application_name=helpdesk``, ``connect_timeout=5``;
``connect_timeout`` defaults to 10 seconds here).

What PostgreSQL does differently from the shared SQL store: snapshot reads
(``export``, scorecards) run in ``REPEATABLE READ READ ONLY`` transactions;
schema upgrades of one schema take turns under an advisory lock; bulk
ingest sends rows with ``COPY … FROM STDIN``; the server's errors are read
by their SQLSTATE. Features used: tables, indexes, foreign keys, savepoints,
``COPY``, ``pg_advisory_xact_lock`` (only while migrating), transactional
DDL and ``CREATE SCHEMA IF NOT EXISTS``. No sequences, triggers, stored
procedures, ``LISTEN``/``NOTIFY`` or extensions.

Lost connections: a connection the server closed (a restart, an
administrator's ``pg_terminate_backend``) fails the one operation that was
using it with a :class:`StorageError` (its transaction rolled back by the
server, nothing stored); the pool then replaces every connection opened
before the loss, and the next operation works. A server that cannot be
reached is a :class:`StorageError` saying so; no password is ever shown.

Logging: a lost connection is logged as a warning on this module's logger
(``custservice.storage.sql.postgresql``); SQLAlchemy's pool logs what it
invalidates on ``sqlalchemy.pool`` (at ``INFO``). The ``custservice``,
``sqlalchemy`` and ``psycopg`` loggers are given a :class:`logging.NullHandler`
when this module loads, so an application that configured no logging sees
nothing on stderr; one that configured logging gets these records as it asked
(no level or propagation is changed).
"""

from __future__ import annotations

import hashlib
import logging
import operator
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from ...errors import CustServiceError, StorageError
from .. import _common
from ..registry import redact
from . import driver as _driver
from .driver import Driver, first_line, number_option
from .joined import joined_store
from .store import SqlStore

__all__ = ["open_postgres_store", "postgres_store"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_INSTALL = 'the PostgreSQL backend needs psycopg: pip install "custservice[postgres]"'
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_LOST = ("08", "57P01", "57P02", "57P03")
"""SQLSTATEs (a class, or codes) of a connection the server closed or never opened."""
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")
"""What ``pg_export_snapshot()`` names a snapshot with."""

_log = _common.logger(__name__)
# Without a handler anywhere up their chain, a warning of the libraries this module
# drives would reach Python's last-resort handler, and stderr. A NullHandler only stops
# that fallback: records still propagate to whatever the application configured.
for _name in ("sqlalchemy", "psycopg"):
    if not any(isinstance(h, logging.NullHandler) for h in logging.getLogger(_name).handlers):
        logging.getLogger(_name).addHandler(logging.NullHandler())


def open_postgres_store(
    url: str | sa.Engine | sa.Connection,
    *,
    create: bool = True,
    migrate: bool = True,
    schema: str | None = None,
    asynchronous: bool = False,
) -> SqlStore:
    """Open the store a ``postgresql://`` URL names (the ``postgresql`` entry point).

    Args:
        url: ``postgresql://user:password@host:port/dbname``, optionally with
            ``?schema=NAME``, ``?min_size=N``, ``?max_size=N``,
            ``?timeout=SECONDS`` and any libpq connection parameter.
        create: ``False`` opens only a schema that already holds a store, and
            creates nothing.
        migrate: bring an older schema up to date.
        schema: (a host's engine or connection) as for
            :func:`custservice.storage.open_store`.
        asynchronous: for the async store, through psycopg's async
            connections; called from SQLAlchemy's greenlets, as
            :func:`custservice.open_async_store` does.

    Raises:
        StorageError: psycopg is not installed, the URL is malformed, the
            server cannot be reached, or the schema is not a custservice
            schema or has a newer schema version; or, with ``create=False``,
            the schema does not exist or holds no store.
    """
    if not isinstance(url, str):  # a host's engine or connection
        return joined_store(url, schema=schema, create=create, migrate=migrate)
    conninfo, options = _parse_url(url)
    return postgres_store(
        conninfo, create=create, migrate=migrate, asynchronous=asynchronous, **options
    )


def postgres_store(
    conninfo: str,
    *,
    schema: str = "public",
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 30.0,
    create: bool = True,
    migrate: bool = True,
    asynchronous: bool = False,
) -> SqlStore:
    """A store in one schema of a PostgreSQL database; see the module documentation.

    Raises:
        StorageError: as :func:`open_postgres_store`.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise StorageError(_INSTALL) from exc
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise StorageError(
            f"schema must be a name of letters, digits and _ (at most 63), got {schema!r}"
        )
    for name, value, least in (("min_size", min_size, 0), ("max_size", max_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise StorageError(f"{name} must be a whole number, {least} or more, got {value!r}")
    if max_size < min_size:
        raise StorageError(f"max_size ({max_size}) is smaller than min_size ({min_size})")
    if not 0 < timeout <= threading.TIMEOUT_MAX:  # also refuses NaN and infinity
        raise StorageError(
            f"timeout must be a number of seconds, more than 0 and at most "
            f"{threading.TIMEOUT_MAX:g}"
        )
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        raise StorageError(f"malformed PostgreSQL connection string: {exc}") from None
    where = (
        f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
        f"/{params.get('dbname') or params.get('user') or ''}"
    )

    def unreachable(exc: Exception) -> StorageError:
        # Not a DB-API error, so SQLAlchemy passes it on as it is: a connection
        # never made is not a "lost" one.
        return StorageError(f"cannot connect to PostgreSQL at {where}: {first_line(exc)}")

    def connect() -> Any:
        try:
            return psycopg.connect(conninfo)
        except psycopg.OperationalError as exc:
            raise unreachable(exc) from exc

    async def connect_async() -> Any:
        try:
            return await psycopg.AsyncConnection.connect(conninfo)
        except psycopg.OperationalError as exc:
            raise unreachable(exc) from exc

    engine = _driver.engine(
        "postgresql+psycopg_async://" if asynchronous else "postgresql+psycopg://",
        asynchronous=asynchronous,
        **({"async_creator": connect_async} if asynchronous else {"creator": connect}),
        pool_size=max_size,
        max_overflow=0,
        pool_timeout=timeout,
    )
    driver = _PostgreSQL(where, schema)
    if not asynchronous:
        driver.second = lambda: _driver.engine(
            "postgresql+psycopg://", asynchronous=False, creator=connect, poolclass=sa.pool.NullPool
        )
    try:
        store = SqlStore(engine, driver, schema=schema, migrate=migrate, create=create)
        # QueuePool opens connections only when asked, then keeps them: open the first
        # min_size now (the one that checked the schema is among them).
        held: list[Any] = []
        try:
            for _ in range(min_size):
                held.append(engine.raw_connection())
        finally:
            for conn in held:
                conn.close()
    except BaseException:
        engine.dispose()
        raise
    return store


class _PostgreSQL(Driver):
    name = "PostgreSQL"
    autocommit_reads = True
    fused_writes = True

    def __init__(self, where: str, schema: str) -> None:
        super().__init__(where)
        self.schema = schema

    def describe(self) -> str:
        return f"schema {self.schema!r} of the PostgreSQL database {self.where}"

    def row(self, record: Any, version: int) -> dict[str, Any]:
        # PostgreSQL text cannot hold U+0000. ``data`` escapes it (JSON); a typed column
        # shows it as U+FFFD, which the analytics take as "cannot be grouped in SQL".
        values = super().row(record, version)
        if "\\u0000" not in values["data"]:
            return values  # every typed column comes from the record, so none holds one
        for key, value in values.items():
            if type(value) is str and "\x00" in value and key != "data":
                values[key] = value.replace("\x00", "\ufffd")
        return values

    def id_text(self, column: Any) -> Any:
        # The server's text of a UUID: psycopg would build a UUID object of each, which
        # SQLAlchemy then turns into text, at twice the cost of the rest of the row.
        return sa.cast(column, sa.Text)

    def one_of(self, column: Any, values: sa.Select[Any]) -> Any:
        # An array built once, before the scan: the index on (tenant, …) is then sought
        # for each value. With ``IN``, the planner, misled by a table of tenants it has
        # no statistics for (too small to be analyzed), may scan that whole index.
        return column == sa.any_(sa.func.array(values.scalar_subquery()))

    def begin_snapshot(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def snapshot_token(self, conn: sa.Connection, head: sa.Select[Any]) -> object:
        # An error here would abort the snapshot's transaction: a standby, which may not
        # export its snapshots, gives none (and the snapshot reads alone).
        return conn.exec_driver_sql(
            "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_export_snapshot() END"
        ).scalar_one()

    def join_snapshot(self, conn: sa.Connection, head: sa.Select[Any], token: object) -> bool:
        # The very snapshot, whatever was written since (begin_snapshot made it repeatable).
        if not isinstance(token, str) or not _SNAPSHOT_ID.fullmatch(token):
            return False
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{token}'")
        return True

    def lock_schema(self, conn: sa.Connection) -> None:
        digest = hashlib.sha256(f"custservice migrate {self.schema}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": key})

    def missing(self, conn: sa.Connection) -> StorageError:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_namespace WHERE nspname = %(name)s", {"name": self.schema}
        ).first()
        if found is None:
            return StorageError(
                f"schema {self.schema!r} does not exist in the PostgreSQL database "
                f"{self.where}; nothing was created"
            )
        return super().missing(conn)

    def create_schema(self, conn: sa.Connection, schema: str | None) -> None:
        if schema is not None:
            conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))

    def bulk_insert(
        self, conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]
    ) -> None:
        names = [c.name for c in table.columns]
        target = f"{conn.dialect.identifier_preparer.format_table(table)} ({', '.join(names)})"
        raw: Any = conn.connection.driver_connection
        ordered = operator.itemgetter(*names)  # every row has every column of its table
        sql = f"COPY {target} FROM STDIN"
        if not isinstance(raw, _psycopg().Connection):  # the async store's connection
            from sqlalchemy.util import await_only

            await_only(_copy_async(raw, sql, map(ordered, rows)))
            return
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for values in rows:
                write(ordered(values))

    def translate(self, exc: BaseException) -> CustServiceError | None:
        import psycopg

        errors = psycopg.errors
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return StorageError(
                f"a concurrent transaction conflicted with this one ({first_line(exc)}); "
                "it was rolled back, nothing was changed: try again"
            )
        if isinstance(exc, errors.CharacterNotInRepertoire | errors.UntranslatableCharacter):
            return StorageError(f"PostgreSQL refused the text: {first_line(exc)}")
        if isinstance(exc, psycopg.OperationalError) and (
            exc.sqlstate is None or exc.sqlstate.startswith(_LOST)
        ):
            _log.warning(
                "lost a connection to PostgreSQL at %s (schema %r); the pool replaces it",
                self.where,
                self.schema,
            )
            return StorageError(
                f"lost the connection to PostgreSQL at {self.where} ({first_line(exc)}); "
                "its transaction was rolled back: nothing was changed"
            )
        return None


def _psycopg() -> Any:
    import psycopg

    return psycopg


async def _copy_async(raw: Any, sql: str, rows: Any) -> None:
    """``COPY`` on an async connection (the async store's bulk path)."""
    async with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for values in rows:
            await copy.write_row(values)


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in _SCHEMES or not sep:
        raise StorageError(
            f"malformed PostgreSQL URL {redact(url)!r}: expected postgresql://user@host:port/dbname"
        )
    try:
        parts = urlsplit("postgresql://" + rest)
    except ValueError as exc:  # an unbalanced "[" or "]" in the host
        raise StorageError(f"malformed PostgreSQL URL {redact(url)!r}: {exc}") from None
    options: dict[str, Any] = {}
    libpq: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("min_size", "max_size"):
            options[key] = number_option(key, value, int, "a whole number of connections")
        elif key == "timeout":
            options[key] = number_option(key, value, float, "a number of seconds")
        elif key == "schema":
            options[key] = value
        else:
            libpq.append((key, value))
    if not any(key == "connect_timeout" for key, _ in libpq):
        libpq.append(("connect_timeout", "10"))
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(libpq), ""))
    return conninfo, options
