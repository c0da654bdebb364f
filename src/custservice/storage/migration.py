"""Bringing a database to the current schema, and the schema itself for a host's migrations.

These two reach the SQL backends (they are loaded when called, so
``import custservice`` loads no SQLAlchemy); the facade
:mod:`custservice.storage` re-exports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import StorageError
from .registry import _is_sqlalchemy, _joined, open_store, redact

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["metadata", "migrate"]


def migrate(url: str | sa.Engine | sa.Connection, *, schema: str | None = None) -> int:
    """Bring a database to the current schema, creating the tables if it has none;
    returns the schema version it had (0: none).

    What ``custservice migrate --store URL`` runs. An upgrade happens in one
    transaction, so a failed or interrupted one changes nothing (on engines
    whose schema changes are transactional: SQLite and PostgreSQL). Given a
    ``Connection`` inside a transaction (an Alembic migration's
    ``op.get_bind()``, say), the upgrade is a savepoint in it; MySQL and
    MariaDB, whose schema changes commit on their own, refuse that.

    Args:
        url: a store URL, or a SQLAlchemy ``Engine`` or ``Connection``.
        schema: as for :func:`~custservice.storage.open_store`.

    Raises:
        StorageError: the backend keeps no schema (``memory://``), the
            database is another application's or has a newer schema, or the
            upgrade failed.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> migrate(f"sqlite:///{folder}/new.db")  # a new file: nothing before
        0
        >>> from custservice.storage.sql.schema import VERSION
        >>> migrate(f"sqlite:///{folder}/new.db") == VERSION  # current: nothing to do
        True
    """
    if _is_sqlalchemy(url):
        store = _joined(url, schema=schema, create=True, migrate=True)
    else:
        store = open_store(url, schema=schema)
    with store:
        found = getattr(store, "migrated_from", None)
    if not isinstance(found, int):
        raise StorageError(f"the store {redact(str(url))!r} keeps no schema to migrate")
    return found


def metadata(schema: str | None = None) -> sa.MetaData:
    """The SQLAlchemy ``MetaData`` of the SQL stores' tables, for an application's own
    migrations (Alembic's ``target_metadata``) or its own queries.

    A fresh ``MetaData`` on each call. The guide "Query your data with SQL"
    describes the tables. Tables created from it are initialised (the
    store's marker and the change feed's counter) by :func:`migrate`, which
    an application's migration can call on its own connection.

    Args:
        schema: the database schema to place the tables in (PostgreSQL);
            ``None``: the connection's default.
    """
    from .sql.schema import metadata as tables

    return tables(schema)
