"""A store on a host application's own SQLAlchemy ``Engine`` or ``Connection``.

:func:`custservice.storage.open_store` comes here when it is given one.
The store then lives inside the host's database work:

- on a ``Connection``, every operation runs on that connection. Inside the
  host's transaction a change is a savepoint in it (change-feed entries
  too, so they commit or roll back with the host's own rows), and
  :meth:`~.store.SqlStore.transaction` is a savepoint; outside one, each
  operation is a transaction of its own on the connection. The store never
  commits, rolls back or closes the host's transaction or connection, and
  one connection serves one thread at a time (others wait their turn).
- on an ``Engine``, the store takes a pooled connection per operation, as
  it does with its own engines, and leaves the engine open when it closes.

Joining never creates or alters tables: the schema is checked when the
store is opened, and a missing or outdated one is a :class:`StorageError`
naming ``custservice migrate``. :func:`custservice.storage.migrate` (or
that command) brings it up to date, or the host's own migrations create the tables from
:func:`custservice.storage.metadata`.

The engines are those the URL backends use, through the same drivers:
SQLite (``sqlite+pysqlite``), PostgreSQL through psycopg 3
(``postgresql+psycopg``) and MySQL or MariaDB through PyMySQL
(``mysql+pymysql``, ``mariadb+pymysql``); and, for the async store
(:func:`~custservice.storage.asynchronous.open_async_store`), their async
twins: ``sqlite+aiosqlite``, ``postgresql+psycopg_async``, ``mysql+aiomysql``.
"""

from __future__ import annotations

import sqlalchemy as sa

from ...errors import StorageError
from .driver import Driver
from .store import SqlStore

__all__ = ["joined_store"]

_DRIVERS = {
    "sqlite": ("pysqlite",),
    "postgresql": ("psycopg",),
    "mysql": ("pymysql",),
    "mariadb": ("pymysql",),
}
_ASYNC_DRIVERS = {
    "sqlite": ("aiosqlite",),
    "postgresql": ("psycopg",),  # psycopg in its async mode (is_async)
    "mysql": ("aiomysql",),
    "mariadb": ("aiomysql",),
}
_ASYNC_NAMES = "sqlite+aiosqlite, postgresql+psycopg_async, mysql+aiomysql, mariadb+aiomysql"


def joined_store(
    target: sa.Engine | sa.Connection,
    *,
    schema: str | None = None,
    create: bool = False,
    migrate: bool = False,
) -> SqlStore:
    """A store working on the host's engine or connection; see the module documentation.

    Args:
        target: the host's SQLAlchemy ``Engine`` or ``Connection``.
        schema: (PostgreSQL) the schema holding the tables; ``None``: the
            connection's search path (``public`` by default).
        create: create the tables in a database that has none (what
            :func:`custservice.storage.migrate` asks for; joining does not).
        migrate: bring an older schema up to date (likewise).

    Raises:
        StorageError: the engine is not one the library speaks to, or the
            database holds no store (and ``create`` is false), an outdated
            one (and ``migrate`` is false), or another application's.
    """
    if isinstance(target, sa.Connection):
        engine, connection = target.engine, target
        if target.closed:
            raise StorageError("the connection given to the store is closed")
    elif isinstance(target, sa.Engine):
        engine, connection = target, None
    else:
        raise StorageError(
            f"expected a SQLAlchemy Engine or Connection, got {type(target).__name__}"
        )
    return SqlStore(
        engine,
        _driver(engine, schema),
        schema=schema,
        migrate=migrate,
        create=create,
        connection=connection,
        owns_engine=False,
    )


def _driver(engine: sa.Engine, schema: str | None) -> Driver:
    """The engine module's driver for a host's engine."""
    from sqlalchemy.util.concurrency import in_greenlet

    dialect = engine.dialect
    where = engine.url.render_as_string(hide_password=True)
    if dialect.is_async and dialect.driver in _ASYNC_DRIVERS.get(dialect.name, ()):
        if not in_greenlet():  # its waits must be awaited: only the async store can
            raise StorageError(
                f"a {engine.url.drivername} engine is an async one: "
                "give it (or its AsyncEngine or AsyncConnection) to open_async_store"
            )
    elif dialect.is_async or dialect.driver not in _DRIVERS.get(dialect.name, ()):
        known = ", ".join(f"{name}+{d}" for name, ds in _DRIVERS.items() for d in ds)
        raise StorageError(
            f"a store cannot work on a {engine.url.drivername} engine; "
            f"the engines it speaks to: {known} (and, for open_async_store, {_ASYNC_NAMES})"
        )
    if dialect.name == "sqlite":
        from .sqlite import _SQLite

        if schema is not None:
            raise StorageError("SQLite has no schemas: leave schema out")
        return _SQLite(engine.url.database or ":memory:", busy_timeout=None)
    if dialect.name == "postgresql":
        from .postgresql import _PostgreSQL

        return _PostgreSQL(where, schema or "public")
    from .mysql import _MySQL

    if schema is not None:
        raise StorageError(
            "on MySQL and MariaDB the URL's database holds the tables: leave schema out"
        )
    return _MySQL(where)
