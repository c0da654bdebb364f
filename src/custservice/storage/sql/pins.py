"""Which connection each transaction block of a SQL store has pinned, per thread or task.

A :meth:`~custservice.storage.sql.SqlStore.transaction` block pins its connection to
its caller until it ends; the async store runs the same code for many asyncio tasks
on one thread, so the caller is the running task when there is one.
"""

from __future__ import annotations

import asyncio
import threading

import sqlalchemy as sa

__all__ = ["Pin", "Pins"]


class Pin:
    """A transaction block's connection, how deep its blocks nest, whether it erased."""

    __slots__ = ("conn", "depth", "erased")

    def __init__(self, conn: sa.Connection | None) -> None:
        self.conn = conn
        self.depth = 0 if conn is None else 1
        self.erased = False


UNPINNED = Pin(None)


class Pins:
    """The transaction block each thread has pinned, or each asyncio task."""

    def __init__(self) -> None:
        self._pins: dict[object, Pin] = {}

    def get(self) -> Pin:
        return self._pins.get(_caller(), UNPINNED)

    def pin(self, conn: sa.Connection) -> Pin:
        pin = self._pins[_caller()] = Pin(conn)
        return pin

    def unpin(self) -> None:
        self._pins.pop(_caller(), None)


def _caller() -> object:
    """The running asyncio task, if any; else the thread."""
    loop = _running_loop()
    task = None if loop is None else asyncio.current_task(loop)
    return threading.get_ident() if task is None else task


_running_loop = asyncio.events._get_running_loop
