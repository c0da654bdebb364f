"""A snapshot read of a SQL store (:class:`Snapshot`), and the reads it runs beside itself:
a second connection that reads what the snapshot reads, in a thread of its own, so the
database answers one query while the caller works through another's rows.

SQLite steps through a statement with the interpreter's lock released, and a server
works on its own: a long aggregate started ahead costs the caller nothing until it
asks for the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from .. import _common

if TYPE_CHECKING:
    from .driver import Driver

__all__ = ["Ahead", "Beside", "Snapshot"]

_log = _common.logger(__name__)


class Ahead:
    """The rows of a statement read ahead: :meth:`rows` waits for them."""

    __slots__ = ("_future", "_here", "_statement")

    def __init__(
        self, future: Future[list[Any] | None] | None, here: sa.Connection, statement: Any
    ) -> None:
        self._future = future
        self._here = here
        self._statement = statement

    def rows(self) -> list[Any]:
        """Every row of the statement, as the snapshot reads them.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database failed (the store's snapshot
                turns it into a ``StorageError``).
        """
        found = None if self._future is None else self._future.result()
        if found is None:  # no second connection reads this snapshot: read it here
            found = list(self._here.execute(self._statement))
        return found


@attrs.frozen
class Snapshot:
    """A read of a SQL store: its connection, inside a snapshot, and its tables.

    Attributes:
        connection: the SQLAlchemy connection to run queries on.
        tables: the store's tables by name (``schema.metadata`` describes them);
            of a tenant's store, its record tables and change feed are each a
            subquery of that tenant's rows, under the table's name, so queries
            written for the tables read only the tenant's.
        tenant: the tenant of a tenant's store (``None``: the store sees every tenant).
    """

    connection: sa.Connection
    tables: Mapping[str, Any]
    tenant: str | None = None
    _beside: Beside | None = attrs.field(default=None, alias="beside", repr=False, eq=False)

    @property
    def dialect(self) -> str:
        """The engine's name, as SQLAlchemy calls it (``"sqlite"``, ``"postgresql"``)."""
        return self.connection.dialect.name

    def read_ahead(self, statement: sa.Executable) -> Ahead:
        """Start reading the rows of ``statement`` (a query over :attr:`tables`) on a
        second connection that reads this very snapshot, in a thread of its own, so the
        database works on it while the caller goes on; ``rows()`` of the result waits
        for them.

        For queries of few rows (aggregates): each is held whole until asked for.
        Statements read ahead run one after another, in the order given, on one
        connection opened for the snapshot's length outside the store's pool (so it
        never waits for a connection the application needs). Where no second
        connection can read this snapshot (inside a transaction block, on a host's
        engine or connection, of an async store or an in-memory database, or when a
        write landed between the two beginnings), the statement is read on
        :attr:`connection` when its rows are asked for: the rows are the same.
        """
        if self._beside is None:
            return Ahead(None, self.connection, statement)
        return self._beside.read(statement)


class Beside:
    """A second connection reading a snapshot's data, opened at the first statement read
    ahead and closed with :meth:`close`.

    Args:
        here: the snapshot's connection.
        driver: the store's driver, which opens the second connection and makes its
            snapshot the same as ``here``'s.
        engine: the store's engine.
        head: the statement reading the change feed's counter.
        begin: begins a snapshot transaction on a connection, as the store does.
    """

    def __init__(
        self,
        here: sa.Connection,
        driver: Driver,
        engine: sa.Engine,
        head: sa.Select[Any],
        begin: Callable[[sa.Connection], object],
    ) -> None:
        self._here = here
        self._driver = driver
        self._engine = engine
        self._head = head
        self._begin = begin
        self._pool: ThreadPoolExecutor | None = None
        self._opened: Future[sa.Connection | None] | None = None
        self._failed = False  # a failed statement may have spoilt the second's transaction

    def read(self, statement: Any) -> Ahead:
        """Start reading ``statement``'s rows beside the snapshot; statements run in the
        order they are given, each held whole until asked for."""
        if self._pool is None:
            token = self._driver.snapshot_token(self._here, self._head)
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="custservice-beside")
            self._opened = self._pool.submit(self._second, token)
        return Ahead(self._pool.submit(self._read, statement), self._here, statement)

    def _second(self, token: object) -> sa.Connection | None:
        """In the thread beside: a connection in a snapshot that reads what the one of
        ``token`` reads, or ``None``."""
        try:
            conn = self._driver.second_connection(self._engine)
        except Exception:
            _log.debug("no second connection to read beside a snapshot", exc_info=True)
            return None
        if conn is None:
            return None
        try:
            self._begin(conn)
            if self._driver.join_snapshot(conn, self._head, token):
                return conn
        except Exception:
            _log.debug("a second connection could not read the snapshot", exc_info=True)
        with suppress(Exception):
            conn.close()
        return None

    def _read(self, statement: Any) -> list[Any] | None:
        """In the thread beside: the rows, or ``None`` when no second connection reads the
        snapshot (then later statements are read on ``here``)."""
        assert self._opened is not None
        conn = self._opened.result()
        if conn is None or self._failed:
            return None
        try:
            return list(conn.execute(statement))
        except BaseException:
            self._failed = True
            raise

    def close(self) -> None:
        """Wait for the statement being read, drop those not begun, and close the second
        connection (ending its snapshot)."""
        if self._pool is None or self._opened is None:
            return
        self._pool.shutdown(wait=True, cancel_futures=True)
        with suppress(Exception):
            conn = self._opened.result()
            if conn is not None:
                conn.close()
