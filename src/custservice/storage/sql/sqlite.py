"""SQLite (``sqlite:///path``): the embedded default, on the stdlib ``sqlite3``.

Open one with ``open_store("sqlite:///relative/path.db")`` or
``open_store("sqlite:////absolute/path.db")`` (four slashes: the scheme's
three, then the root of the absolute path); ``sqlite:///:memory:`` gives a
private in-memory database. Options go in the query string:
``?busy_timeout=10`` (seconds to wait for another process's write,
default 5), ``?synchronous=normal`` (faster commits that may lose the
last transactions, never the file's consistency, on a power cut; the
default ``full`` loses nothing that committed) and ``?cache_mb=64`` (the
page cache, in MiB).

What SQLite does differently from the shared SQL store:

- one connection serves every thread of the store, under one lock (SQLite
  lets one writer in at a time anyway); write transactions begin with
  ``BEGIN IMMEDIATE``, so processes sharing a file take turns (waiting up
  to the busy timeout) and a stale save is a :class:`ConcurrencyError`,
  never "database is locked";
- the file runs in WAL mode (readers never wait for writers), with foreign
  keys enforced and ``secure_delete`` on, so erased data is overwritten;
  ``forget`` checkpoints the WAL into the file when it commits, and
  ``close`` checkpoints and removes it, so a forgotten customer's bytes do
  not linger in either file;
- the file is marked with ``PRAGMA application_id`` (:data:`APPLICATION_ID`)
  and its schema version with ``PRAGMA user_version``: another
  application's database, a newer schema, or a file that is not SQLite is
  refused and left exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import sqlalchemy as sa

from ...errors import CustServiceError, StorageError
from . import driver as _driver
from .driver import BEGIN, Driver, number_option
from .joined import joined_store
from .store import SqlStore

__all__ = ["APPLICATION_ID", "open_sqlite_store"]

APPLICATION_ID = 0x63737663
"""``PRAGMA application_id`` of every custservice database (the bytes ``csvc``)."""

_SECOND_CACHE = "PRAGMA cache_size = -2048"
"""The page cache of a connection reading beside a snapshot, 2 MiB (SQLite's default):
its queries scan once, and the operating system caches the file anyway."""

_BUSY_TIMEOUT_MAX = (2**31 - 1) // 1000
"""The longest busy timeout SQLite takes, in seconds (it counts milliseconds in a C int)."""


def open_sqlite_store(
    url: str | sa.Engine | sa.Connection,
    *,
    create: bool = True,
    migrate: bool = True,
    schema: str | None = None,
    asynchronous: bool = False,
) -> SqlStore:
    """Open the SQLite store a ``sqlite://`` URL names (the ``sqlite`` entry point).

    Args:
        url: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or
            ``sqlite:///:memory:``, optionally with ``?busy_timeout=SECONDS``,
            ``?synchronous=full|normal`` and ``?cache_mb=MIB``.
        create: ``False`` opens only a file that already holds a store: a
            missing file is not created, an empty one not initialised.
        migrate: bring an older file to the current schema.
        schema: (a host's engine or connection) as for
            :func:`custservice.storage.open_store`.
        asynchronous: as for :func:`sqlite_store`.

    Given a host's SQLAlchemy engine or connection in place of a URL, the
    store works on it (:mod:`.joined`): then ``create`` and ``migrate``
    default to what the caller passes, and :func:`~custservice.storage.open_store`
    passes ``False``.

    Raises:
        StorageError: the URL is malformed, or the file cannot be opened, is
            not a custservice database, or has a newer schema; or, with
            ``create=False``, the file does not exist or holds no store.

    Examples:
        >>> with open_sqlite_store("sqlite:///:memory:") as store:
        ...     store.customers.count()
        0
    """
    if not isinstance(url, str):  # a host's engine or connection
        return joined_store(url, schema=schema, create=create, migrate=migrate)
    path, options = _parse_url(url)
    return sqlite_store(path, create=create, migrate=migrate, asynchronous=asynchronous, **options)


def sqlite_store(
    path: str | os.PathLike[str],
    *,
    busy_timeout: float = 5.0,
    synchronous: str = "full",
    cache_mb: int = 64,
    create: bool = True,
    migrate: bool = True,
    asynchronous: bool = False,
) -> SqlStore:
    """A store in one SQLite file; see the module documentation.

    Args:
        path: the database file (created if missing), or ``":memory:"``.
        busy_timeout: seconds to wait for another connection's write lock
            before giving up with a :class:`StorageError`.
        synchronous: ``"full"`` (the default: a committed transaction
            survives a power cut) or ``"normal"`` (faster commits; the last
            transactions may be lost on a power cut, the file stays sound).
        cache_mb: the most memory, in MiB, SQLite may use to cache pages.
        create: ``False`` opens only a file that already holds a store.
        migrate: bring an older file to the current schema.
        asynchronous: for the async store, through ``aiosqlite`` (a pool of
            connections instead of one shared by threads); called from
            SQLAlchemy's greenlets, as :func:`custservice.open_async_store` does.

    Raises:
        StorageError: the file cannot be opened, is not a custservice
            database, or has a schema newer than this version of the library.
    """
    path = os.fspath(path)
    if not isinstance(synchronous, str) or synchronous.lower() not in ("full", "normal"):
        raise StorageError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
    if not 0 <= busy_timeout <= _BUSY_TIMEOUT_MAX:  # also refuses NaN
        raise StorageError(
            f"busy_timeout must be a number of seconds from 0 to {_BUSY_TIMEOUT_MAX}"
        )
    if isinstance(cache_mb, bool) or not isinstance(cache_mb, int) or cache_mb < 1:
        raise StorageError(f"cache_mb must be a whole number of MiB, 1 or more, got {cache_mb!r}")
    if "\x00" in path:
        raise StorageError(f"cannot open the SQLite database {path!r}: a NUL character in the path")
    target = sa.URL.create("sqlite+pysqlite", database=path)
    if not create:
        if path == ":memory:":
            raise StorageError(
                "sqlite:///:memory: makes a new, empty database each time it is opened: "
                "there is no existing store to open"
            )
        if not os.path.exists(path):
            raise StorageError(f"no such SQLite database file: {path!r}; nothing was created")
        # mode=rw: should the file go away meanwhile, SQLite fails rather than create it.
        target = sa.URL.create(
            "sqlite+pysqlite",
            database=f"file:{quote(os.path.abspath(path))}?mode=rw",
            query={"uri": "true"},
        )
    if asynchronous:
        if path == ":memory:":
            raise StorageError(
                "sqlite:///:memory: cannot back an async store: each of its connections "
                "would see a database of its own; use a file"
            )
        target = target.set(drivername="sqlite+aiosqlite")
    pragmas = (
        f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}",
        "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON",
        f"PRAGMA synchronous = {synchronous.upper()}",
        f"PRAGMA cache_size = {-1024 * cache_mb}",
    )
    # One connection shared by threads; the async store's tasks take turns through a pool.
    pool = None if asynchronous else sa.pool.StaticPool
    engine = _engine(target, pragmas, busy_timeout, asynchronous=asynchronous, pool=pool)
    driver = _SQLite(path, busy_timeout)
    driver.shared = not asynchronous
    if path != ":memory:" and not asynchronous:
        # Connections of their own, opened when a snapshot reads beside its own and
        # closed when it ends: none lingers on the file.
        driver.second = lambda: _engine(
            target,
            (*pragmas, _SECOND_CACHE),
            busy_timeout,
            asynchronous=False,
            pool=sa.pool.NullPool,
        )
    try:
        return SqlStore(engine, driver, migrate=migrate, create=create)
    except BaseException:
        engine.dispose()
        raise


def _engine(
    target: sa.URL,
    pragmas: tuple[str, ...],
    busy_timeout: float,
    *,
    asynchronous: bool,
    pool: type[sa.pool.Pool] | None,
) -> sa.Engine:
    """An engine of connections to the file that run ``pragmas`` when they open, from
    ``pool`` (``None``: SQLAlchemy's choice)."""
    engine = _driver.engine(
        target,
        asynchronous=asynchronous,
        connect_args={
            "timeout": busy_timeout,
            "check_same_thread": False,
            "cached_statements": 256,
        },
        **({} if pool is None else {"poolclass": pool}),
    )

    @sa.event.listens_for(engine, "connect")
    def connect(dbapi: sqlite3.Connection, record: Any) -> None:
        # The store begins transactions itself (below): the driver's own begins
        # would come too late for BEGIN IMMEDIATE and break savepoints.
        dbapi.isolation_level = None
        cursor = dbapi.cursor()  # sqlite3's, or aiosqlite's as SQLAlchemy adapts it
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def begin(conn: sa.Connection) -> None:
        how = conn.info.get(BEGIN)
        if how == "write":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif how == "snapshot":
            conn.exec_driver_sql("BEGIN")
        # Otherwise a read outside a transaction: each statement is its own.

    return engine


class _SQLite(Driver):
    name = "SQLite"
    shared = True

    def __init__(self, path: str, busy_timeout: float | None) -> None:
        super().__init__(path)
        self._busy_timeout = busy_timeout

    def describe(self) -> str:
        return f"the SQLite database {self.where!r}"

    def read_version(self, conn: sa.Connection, tables: Any) -> int:
        app = conn.exec_driver_sql("PRAGMA application_id").scalar_one()
        version = conn.exec_driver_sql("PRAGMA user_version").scalar_one()
        if app == APPLICATION_ID:
            return int(version)
        objects = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
        if app == 0 and version == 0 and objects == 0:
            return 0  # a new, empty database
        if app == 0 and version == 0 and _has_meta(conn):
            # Tables a host's migrations made from metadata(); an empty marker table
            # says they were never initialised, a marked one is another application's.
            return super().read_version(conn, tables)
        raise StorageError(
            f"{self.where!r} is a SQLite database of another application "
            f"(application_id {app}); it was not changed"
        )

    def missing(self, conn: sa.Connection) -> StorageError:
        return StorageError(
            f"{self.where!r} is empty: not a custservice database; it was not changed"
        )

    def checked(self, conn: sa.Connection) -> None:
        # WAL once the file is known to be ours: another application's file is left as it was.
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        if str(mode).lower() not in ("wal", "memory"):
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")

    def begin_hosted(self, conn: sa.Connection, *, write: bool) -> None:
        # sqlite3 begins at the first change; a SAVEPOINT before it would begin a
        # transaction of its own, which its RELEASE would commit behind the host's back.
        dbapi: Any = conn.connection.driver_connection
        if not dbapi.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def check_host(self, conn: sa.Connection) -> None:
        # A record of a customer not stored is refused by the foreign keys, which SQLite
        # enforces only on connections that ask for them.
        if not conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one():
            raise StorageError(
                f"the connections to {self.where!r} do not enforce foreign keys, which the "
                "store relies on: run PRAGMA foreign_keys = ON on each new connection "
                '(an sa.event.listens_for(engine, "connect") listener)'
            )

    def write_version(self, conn: sa.Connection, tables: Any, version: int) -> None:
        super().write_version(conn, tables, version)
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")

    def feed_counter(self, conn: sa.Connection) -> int:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'"
        ).scalar_one()
        if not found:
            return 0
        seq = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'events'").scalar()
        return int(seq or 0)

    def translate(self, exc: BaseException) -> CustServiceError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_BUSY_SNAPSHOT":
            return StorageError(
                f"another connection wrote to {self.where!r} after this transaction read "
                "from it; nothing was changed: run the transaction again"
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            waited = "" if self._busy_timeout is None else f" ({self._busy_timeout:g} s)"
            return StorageError(
                f"the database {self.where!r} stayed locked by another connection for longer "
                f"than the busy timeout{waited}; nothing was changed"
            )
        if name.startswith("SQLITE_NOTADB"):
            return StorageError(f"{self.where!r} is not a SQLite database; it was not changed")
        if name.startswith("SQLITE_CORRUPT"):
            return StorageError(f"the SQLite database {self.where!r} is corrupt")
        if name.startswith("SQLITE_CANTOPEN"):
            return StorageError(f"cannot open the SQLite database {self.where!r}: {exc}")
        return None

    def after_commit(self, conn: sa.Connection, *, erased: bool) -> None:
        if erased:
            # Move the erased pages into the file and empty the WAL now, not at close.
            self._checkpoint(conn)

    def before_close(self, conn: sa.Connection) -> None:
        self._checkpoint(conn)

    def _checkpoint(self, conn: sa.Connection) -> None:
        """Copy the WAL into the file and empty it, unless another connection is using it.

        Best effort, and without waiting: SQLite would wait the whole busy timeout for
        a reader elsewhere to finish, holding this store's lock all that time. The WAL
        is then emptied by a later checkpoint, at the latest when the last connection
        to the file closes.
        """
        with suppress(sa.exc.DBAPIError):
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            try:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                waits = int((self._busy_timeout or 0) * 1000)
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {waits}")
                if conn.in_transaction():
                    conn.rollback()


def _has_meta(conn: sa.Connection) -> bool:
    found = conn.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'custservice_meta'"
    ).scalar_one()
    return bool(found)


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    forms = "expected sqlite:///relative.db, sqlite:////absolute/path.db or sqlite:///:memory:"
    head, _, query = url.partition("?")
    scheme, sep, rest = head.partition("://")
    if scheme.lower() != "sqlite" or not sep or not rest.startswith("/") or len(rest) < 2:
        raise StorageError(f"malformed SQLite URL {url!r}: {forms}")
    path = unquote(rest[1:])
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "busy_timeout":
            options[key] = number_option(key, value, float, "a number of seconds")
        elif key == "synchronous":
            options[key] = value
        elif key == "cache_mb":
            options[key] = number_option(key, value, int, "a whole number of MiB")
        else:
            raise StorageError(
                f"unknown SQLite URL option {key!r}; "
                "known options: busy_timeout, synchronous, cache_mb"
            )
    return path, options
