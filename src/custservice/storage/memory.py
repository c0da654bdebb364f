"""The in-memory backend (``memory://``): the reference every other backend is checked against.

Nothing is written anywhere; every ``open_store("memory://")`` gives a new,
empty store (so ``open_store("memory://", create=False)``, which asks for an
existing one, is refused). One lock serialises changes, so threads can share
a store; a transaction holds the lock until it ends. Iterators read a copy
taken when they are made; one resumed after :meth:`MemoryStore.close` raises
:class:`StorageError`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from .._records import replace
from .._time import micros
from .._validation import integer
from ..cases import Case
from ..customers import Customer
from ..errors import ConcurrencyError, DuplicateError, NotFound, StorageError, ValidationError
from ..interactions import Interaction
from . import _common
from .protocols import Action, ChangeEvent, Kind

__all__ = ["MemoryStore", "open_memory_store"]

R = TypeVar("R", Customer, Interaction, Case)


def open_memory_store(url: str = "memory://", *, create: bool = True) -> MemoryStore:
    """Open a new, empty in-memory store (the ``memory://`` entry point).

    Args:
        url: ``memory://`` (or ``memory:``); the scheme in any case.
        create: ``False`` asks for an existing store, which ``memory://``
            never names: each opening makes a new one.

    Raises:
        StorageError: the URL is anything but ``memory://`` (it takes no
            options), or ``create`` is ``False``.
    """
    scheme, colon, rest = url.partition(":") if isinstance(url, str) else ("", "", "")
    # Schemes are case-insensitive (RFC 3986).
    if scheme.lower() != "memory" or not colon or rest not in ("//", ""):
        raise StorageError(f"malformed memory URL {url!r}: expected memory://")
    if not create:
        raise StorageError(
            "memory:// makes a new, empty store each time it is opened: "
            "there is no existing store to open"
        )
    return MemoryStore()


class _Repository(Generic[R]):
    def __init__(self, store: MemoryStore, cls: type[R]) -> None:
        self._store = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        self._rows: dict[uuid.UUID, R] = {}
        self._owned: dict[uuid.UUID, set[uuid.UUID]] = {}

    def add(self, record: R) -> R:
        with self._store.transaction():
            return self._add(record)

    def add_many(self, records: Iterable[R]) -> int:
        # All or nothing even inside an enclosing transaction, like a savepoint.
        with self._store.transaction():
            mark = len(self._store._undo)
            try:
                return sum(1 for record in records if self._add(record) is not None)
            except BaseException:
                self._store._rollback_to(mark)
                raise

    def _add(self, record: R) -> R:
        _common.check_record(record, self._cls)
        if record.id in self._rows:
            raise DuplicateError(self._kind, record.id)
        customer_id = _common.owner(record)
        if self._kind != "customer" and customer_id not in self._store._customers._rows:
            raise NotFound("customer", customer_id)
        stored = replace(record, version=1)
        self._put(stored)
        self._store._emit(self._kind, "add", stored.id, customer_id, 1)
        return stored

    def get(self, id: uuid.UUID) -> R:
        _common.check_id(id)
        with self._store._reading():
            try:
                return self._rows[id]
            except KeyError:
                raise NotFound(self._kind, id) from None

    def save(self, record: R) -> R:
        _common.check_record(record, self._cls)
        with self._store.transaction():
            current = self._rows.get(record.id)
            if current is None:
                raise NotFound(self._kind, record.id)
            if current.version != record.version:
                raise ConcurrencyError(self._kind, record.id, record.version, current.version)
            if _common.owner(record) != _common.owner(current):
                raise ValidationError(
                    "a record cannot move to another customer", field="customer_id"
                )
            stored = replace(record, version=record.version + 1)
            self._put(stored)
            self._store._emit(self._kind, "save", stored.id, _common.owner(stored), stored.version)
            return stored

    def count(self) -> int:
        with self._store._reading():
            return len(self._rows)

    def all(self) -> Iterator[R]:
        with self._store._reading():
            rows = sorted(self._rows.values(), key=_order)
        return _common.while_open(rows, self._store._check_open)

    def for_customer(
        self,
        customer_id: uuid.UUID,
        since: Any = None,
        until: Any = None,
    ) -> Iterator[R]:
        _common.check_id(customer_id, "customer_id")
        since, until = _common.window(since, until)
        with self._store._reading():
            rows = [self._rows[i] for i in self._owned.get(customer_id, ())]
        rows.sort(key=_order)
        low = None if since is None else micros(since)
        high = None if until is None else micros(until)
        return _common.while_open(
            (
                r
                for r in rows
                if (low is None or micros(_common.opened(r)) >= low)
                and (high is None or micros(_common.opened(r)) < high)
            ),
            self._store._check_open,
        )

    # -- changes, each with its undo ------------------------------------------

    def _put(self, record: R) -> None:
        previous = self._rows.get(record.id)
        self._rows[record.id] = record
        owned = self._owned.setdefault(_common.owner(record), set())
        added = record.id not in owned
        owned.add(record.id)

        def undo() -> None:
            if previous is None:
                del self._rows[record.id]
            else:
                self._rows[record.id] = previous
            if added:
                owned.discard(record.id)

        self._store._journal(undo)

    def _drop_customer(self, customer_id: uuid.UUID) -> None:
        ids = self._owned.pop(customer_id, set())
        dropped = {i: self._rows.pop(i) for i in ids}

        def undo() -> None:
            self._rows.update(dropped)
            self._owned[customer_id] = ids

        self._store._journal(undo)


def _order(record: Customer | Interaction | Case) -> tuple[int, int]:
    # Instants, not wall clocks (see _time.between), in exact microseconds as SQL orders them.
    return (micros(_common.opened(record)), record.id.int)


class _Events:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._log: list[ChangeEvent] = []

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        integer(position, "position")
        with self._store._reading():
            rows = [e for e in self._log if e.position > position]
        return _common.while_open(rows, self._store._check_open)

    def latest(self) -> int:
        with self._store._reading():
            return self._store._position


class MemoryStore(_common.Repositories):
    """A store kept in this process's memory; see the module documentation."""

    _customers: _Repository[Customer]
    _interactions: _Repository[Interaction]
    _cases: _Repository[Case]
    _events: _Events

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []
        self._position = 0
        self._closed = False
        self._customers: _Repository[Customer] = _Repository(self, Customer)
        self._interactions: _Repository[Interaction] = _Repository(self, Interaction)
        self._cases: _Repository[Case] = _Repository(self, Case)
        self._events = _Events(self)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; an inner block joins the outer one."""
        with self._lock:
            self._check_open()
            self._depth += 1
            try:
                yield
            except BaseException:
                if self._depth == 1:
                    self._rollback_to(0)
                raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._undo.clear()

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them."""
        _common.check_id(customer_id, "customer_id")
        with self.transaction():
            if customer_id not in self._customers._rows:
                raise NotFound("customer", customer_id)
            for repository in (self._interactions, self._cases, self._customers):
                repository._drop_customer(customer_id)
            log = self._events._log
            before = list(log)
            log[:] = [e for e in log if e.customer_id != customer_id]
            self._journal(lambda: log.__setitem__(slice(None), before))
            self._emit("customer", "forget", customer_id, customer_id, None)

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data."""
        with self._reading():
            return _common.export(self, customer_id)

    def close(self) -> None:
        """Mark the store closed; later operations raise ``StorageError``."""
        self._closed = True

    def __repr__(self) -> str:
        return "MemoryStore()"

    # -- internals ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            yield

    def _rollback_to(self, mark: int) -> None:
        """Undo every change journaled after the first ``mark`` entries."""
        while len(self._undo) > mark:
            self._undo.pop()()

    def _journal(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def _emit(
        self,
        kind: Kind,
        action: Action,
        record_id: uuid.UUID,
        customer_id: uuid.UUID,
        version: int | None,
    ) -> None:
        self._position += 1
        self._events._log.append(
            ChangeEvent(self._position, kind, action, record_id, customer_id, version)
        )

        def undo() -> None:
            self._events._log.pop()
            self._position -= 1

        self._journal(undo)
