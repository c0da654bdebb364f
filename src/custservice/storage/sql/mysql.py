"""MySQL and MariaDB (``mysql://…``, ``mariadb://…``), through PyMySQL.

Open one with ``open_store("mariadb://user:password@host:3306/dbname")``. It
needs the ``mysql`` extra: ``pip install "custservice[mysql]"``, which brings
PyMySQL (pure Python: it installs from a wheel alone); without it, opening
such a URL raises a :class:`StorageError` that says so.

Options go in the query string: ``max_size=N`` (default 10), the most
connections the store's pool opens (a snapshot that reads ahead opens one
more of its own while it lasts), and ``timeout=SECONDS`` (default 30),
how long an operation waits for a free one. The tables live in the URL's
database, with the ``utf8mb4`` character set and its binary collation, so
any Unicode text is stored and compared exactly, as on the other engines.

What MySQL and MariaDB do differently from the shared SQL store:

- write transactions run at ``READ COMMITTED``, as on PostgreSQL: each
  statement reads what is committed when it runs, so a save from a stale
  version inside a :meth:`~.store.SqlStore.transaction` block is a
  :class:`ConcurrencyError` even when the block read before another
  process saved (at the server's default, ``REPEATABLE READ``, the block
  would read its first read's snapshot); snapshot reads begin
  ``WITH CONSISTENT SNAPSHOT, READ ONLY`` at ``REPEATABLE READ``, the one
  level at which that snapshot holds;
- their schema changes commit on their own, so creating the tables is not
  one transaction. The marker table is created first and the others after
  it, each followed by its indexes: a process killed while creating them
  leaves an empty marker table and some tables, and the next open finds
  the database unfinished, and makes the tables and indexes missing;
- the server's errors are read by their error numbers.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlalchemy as sa

from ...errors import CustServiceError, StorageError
from ..registry import redact
from . import driver as _driver
from . import schema as _schema
from .driver import Driver, first_line, number_option
from .joined import joined_store
from .store import SqlStore

__all__ = ["open_mysql_store"]

_INSTALL = 'the MySQL and MariaDB backend needs PyMySQL: pip install "custservice[mysql]"'
_SCHEMES = ("mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql")
_LOST = {2003, 2006, 2013, 2055}
"""Client errors that mean the connection is gone."""
_CONFLICT = {1205, 1213}
"""Lock wait timeout and deadlock: the transaction was rolled back."""


def open_mysql_store(
    url: str | sa.Engine | sa.Connection,
    *,
    create: bool = True,
    migrate: bool = True,
    schema: str | None = None,
    asynchronous: bool = False,
) -> SqlStore:
    """Open the store a ``mysql://`` or ``mariadb://`` URL names (their entry points).

    Args:
        url: ``mariadb://user:password@host:port/dbname``, optionally with
            ``?max_size=N`` and ``?timeout=SECONDS``.
        create: ``False`` opens only a database that already holds a store.
        migrate: bring an older schema up to date.
        schema: (a host's engine or connection) as for
            :func:`custservice.storage.open_store`.
        asynchronous: for the async store, through aiomysql (PyMySQL driven
            from asyncio); called from SQLAlchemy's greenlets, as
            :func:`custservice.open_async_store` does.

    Raises:
        StorageError: PyMySQL is not installed, the URL is malformed, the
            server cannot be reached, or the database holds another
            application's tables or a newer schema.
    """
    if not isinstance(url, str):  # a host's engine or connection
        return joined_store(url, schema=schema, create=create, migrate=migrate)
    try:
        import pymysql
    except ImportError as exc:
        raise StorageError(_INSTALL) from exc
    scheme, sep, _ = url.partition("://")
    if scheme.lower() not in _SCHEMES or not sep:
        raise StorageError(
            f"malformed MySQL URL {redact(url)!r}: expected mariadb://user@host:port/dbname"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StorageError(f"malformed MySQL URL {redact(url)!r}: {exc}") from None
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise StorageError(f"the MySQL URL {redact(url)!r} names no database")
    options = {"max_size": 10, "timeout": 30.0}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "max_size":
            options[key] = number_option(key, value, int, "a whole number of connections")
        elif key == "timeout":
            options[key] = number_option(key, value, float, "a number of seconds")
        else:
            raise StorageError(
                f"unknown MySQL URL option {key!r}; known options: max_size, timeout"
            )
    max_size, timeout = options["max_size"], options["timeout"]
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise StorageError(f"max_size must be a whole number, 1 or more, got {max_size!r}")
    if not 0 < timeout <= threading.TIMEOUT_MAX:
        raise StorageError("timeout must be a number of seconds, more than 0")
    host = parts.hostname or "localhost"
    where = f"{host}:{port or 3306}/{database}"
    connect = {
        "host": host,
        "port": port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
        "charset": "utf8mb4",
        "connect_timeout": 10,
    }
    if asynchronous:
        import aiomysql  # type: ignore[import-untyped]

        # aiomysql names the database "db"; the rest as PyMySQL.
        options_async = {k: v for k, v in connect.items() if k != "database"}
        options_async["db"] = database
        made: dict[str, Any] = {"async_creator": lambda: aiomysql.connect(**options_async)}
    else:
        made = {"creator": lambda: pymysql.connect(**connect)}
    engine = _driver.engine(
        "mysql+aiomysql://" if asynchronous else "mysql+pymysql://",
        asynchronous=asynchronous,
        **made,
        pool_size=max_size,
        max_overflow=0,
        pool_timeout=timeout,
        pool_recycle=3600,  # the server drops connections idle past wait_timeout
        isolation_level="READ COMMITTED",
    )
    driver = _MySQL(where)
    if not asynchronous:
        driver.second = lambda: _driver.engine(
            "mysql+pymysql://",
            asynchronous=False,
            **made,
            poolclass=sa.pool.NullPool,
            isolation_level="READ COMMITTED",
        )
    try:
        return SqlStore(engine, driver, migrate=migrate, create=create)
    except BaseException:
        engine.dispose()
        raise


class _MySQL(Driver):
    name = "MySQL"
    transactional_ddl = False

    def begin_snapshot(self, conn: sa.Connection) -> None:
        # For this transaction only: the connection's own level is READ COMMITTED.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def create_schema(self, conn: sa.Connection, schema: str | None) -> None:
        """The marker table first (so that a creation killed half way leaves tables known
        to be ours), then any index missing from a table such a creation left: each
        table's indexes are made after it, and each schema change commits on its own."""
        tables = {t.name: t for t in _schema.metadata(schema).tables.values()}
        tables["custservice_meta"].create(conn, checkfirst=True)
        inspector = sa.inspect(conn)
        for table in tables.values():
            if not inspector.has_table(table.name, schema=schema):
                continue  # created whole, indexes included, by the creation that follows
            present = {i["name"] for i in inspector.get_indexes(table.name, schema=schema)}
            for index in table.indexes:
                if index.name not in present:
                    index.create(conn)

    def translate(self, exc: BaseException) -> CustServiceError | None:
        import pymysql

        if not isinstance(exc, pymysql.err.MySQLError):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in _CONFLICT:
            return StorageError(
                f"a concurrent transaction conflicted with this one ({first_line(exc)}); "
                "it was rolled back, nothing was changed: try again"
            )
        if code in _LOST or isinstance(exc, pymysql.err.InterfaceError):
            return StorageError(
                f"lost the connection to {self.describe()} ({first_line(exc)}); "
                "its transaction was rolled back: nothing was changed"
            )
        return None
