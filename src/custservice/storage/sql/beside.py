"""Reads beside a snapshot: a second connection that reads what the snapshot reads, in a
thread of its own, so the database answers one query while the caller works through
another's rows.

SQLite steps through a statement with the interpreter's lock released, and a server
works on its own: a long aggregate started ahead costs the caller nothing until it
asks for the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import sqlalchemy as sa

__all__ = ["Ahead", "Beside"]

_NONE: Future[sa.Connection | None] = Future()
_NONE.set_result(None)
"""No second connection."""


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


class Beside:
    """A second connection reading a snapshot's data, opened at the first statement read
    ahead and closed with :meth:`close`.

    Args:
        here: the snapshot's connection.
        token: run on ``here`` (in the caller's thread): what :func:`second` needs.
        second: run in the thread beside, given the token: a connection in a
            snapshot reading what ``here`` reads, or ``None`` where there can be
            none (statements are then read on ``here`` when their rows are asked for).
    """

    def __init__(
        self,
        here: sa.Connection,
        token: Callable[[], object],
        second: Callable[[object], sa.Connection | None],
    ) -> None:
        self._here = here
        self._token = token
        self._second = second
        self._pool: ThreadPoolExecutor | None = None
        # The second connection, once opened; ``_conn`` becomes ``None``'s should a
        # statement fail on it, and later ones are then read on ``here``.
        self._opened: Future[sa.Connection | None] = _NONE
        self._conn = self._opened

    def read(self, statement: Any) -> Ahead:
        """Start reading ``statement``'s rows beside the snapshot; statements run in the
        order they are given, each held whole until asked for."""
        if self._pool is None:
            token = self._token()
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="custservice-beside")
            self._conn = self._opened = self._pool.submit(self._second, token)
        return Ahead(self._pool.submit(self._read, statement), self._here, statement)

    def _read(self, statement: Any) -> list[Any] | None:
        """In the thread beside: the rows, or ``None`` when there is no second connection
        (or it failed before: a failed statement may have spoilt its transaction)."""
        conn = self._conn.result()
        if conn is None:
            return None
        try:
            return list(conn.execute(statement))
        except BaseException:
            self._conn = _NONE
            raise

    def close(self) -> None:
        """Wait for the statement being read, drop those not begun, and close the second
        connection (ending its snapshot)."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=True, cancel_futures=True)
        with suppress(Exception):
            conn = self._opened.result()
            if conn is not None:
                conn.close()
