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
Record = Customer | Interaction | Case
_PLURAL: dict[Kind, str] = {"customer": "customers", "interaction": "interactions", "case": "cases"}


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
    """The records of one kind, each tenant's in a table of its own (``""``: no tenant)."""

    def __init__(self, store: MemoryStore, cls: type[R], shared: _Repository[R] | None) -> None:
        self._store = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        # A scope shares its store's tables.
        self._rows: dict[str, dict[uuid.UUID, R]] = {} if shared is None else shared._rows
        self._owned: dict[str, dict[uuid.UUID, set[uuid.UUID]]] = (
            {} if shared is None else shared._owned
        )

    def add(self, record: R) -> R:
        with self._store.transaction():
            return self._add(record)

    def add_many(self, records: Iterable[R]) -> int:
        # All or nothing even inside an enclosing transaction, like a savepoint.
        with self._store.transaction():
            mark = len(self._store._root._undo)
            try:
                return sum(1 for record in records if self._add(record) is not None)
            except BaseException:
                self._store._rollback_to(mark)
                raise

    def _add(self, record: R) -> R:
        _common.check_record(record, self._cls)
        tenant = self._store._writes_as
        if record.id in self._rows.get(tenant, ()):
            raise DuplicateError(self._kind, record.id)
        customer_id = _common.owner(record)
        if self._kind != "customer" and customer_id not in self._store._customers._rows.get(
            tenant, ()
        ):
            raise NotFound("customer", customer_id)
        stored = replace(record, version=1)
        self._put(tenant, stored)
        self._store._emit(tenant, self._kind, "add", stored.id, customer_id, 1)
        return stored

    def _find(self, id: uuid.UUID) -> tuple[str, R] | None:
        """The tenant holding ``id`` and its record, as this store sees them."""
        for tenant in self._store._visible(self._rows):
            found = self._rows[tenant].get(id)
            if found is not None:
                return tenant, found
        return None

    def get(self, id: uuid.UUID) -> R:
        _common.check_id(id)
        with self._store._reading():
            found = self._find(id)
        if found is None:
            raise NotFound(self._kind, id)
        return found[1]

    def save(self, record: R) -> R:
        _common.check_record(record, self._cls)
        with self._store.transaction():
            found = self._find(record.id)
            if found is None:
                raise NotFound(self._kind, record.id)
            tenant, current = found
            if current.version != record.version:
                raise ConcurrencyError(self._kind, record.id, record.version, current.version)
            if _common.owner(record) != _common.owner(current):
                raise ValidationError(
                    "a record cannot move to another customer", field="customer_id"
                )
            stored = replace(record, version=record.version + 1)
            self._put(tenant, stored)
            self._store._emit(
                tenant, self._kind, "save", stored.id, _common.owner(stored), stored.version
            )
            return stored

    def count(self) -> int:
        with self._store._reading():
            return sum(len(self._rows[t]) for t in self._store._visible(self._rows))

    def all(self) -> Iterator[R]:
        with self._store._reading():
            rows = [
                r
                for t in self._store._visible(self._rows)
                for r in sorted(self._rows[t].values(), key=_order)
            ]
        return _common.while_open(rows, self._store._check_open)

    def _tagged(self) -> Iterator[tuple[str | None, R]]:
        """``all()``, each record with its tenant."""
        with self._store._reading():
            rows = [
                (_tenant_of(t), r)
                for t in self._store._visible(self._rows)
                for r in sorted(self._rows[t].values(), key=_order)
            ]
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
            rows = [
                self._rows[t][i]
                for t in self._store._visible(self._owned)
                for i in self._owned[t].get(customer_id, ())
            ]
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

    def _put(self, tenant: str, record: R) -> None:
        rows = self._rows.setdefault(tenant, {})
        previous = rows.get(record.id)
        rows[record.id] = record
        owned = self._owned.setdefault(tenant, {}).setdefault(_common.owner(record), set())
        added = record.id not in owned
        owned.add(record.id)

        def undo() -> None:
            if previous is None:
                del rows[record.id]
            else:
                rows[record.id] = previous
            if added:
                owned.discard(record.id)

        self._store._journal(undo)

    def _drop_customer(self, tenant: str, customer_id: uuid.UUID) -> None:
        owned = self._owned.get(tenant, {})
        ids = owned.pop(customer_id, set())
        rows = self._rows.get(tenant, {})
        dropped = {i: rows.pop(i) for i in ids}

        def undo() -> None:
            rows.update(dropped)
            owned[customer_id] = ids

        self._store._journal(undo)


def _order(record: Customer | Interaction | Case) -> tuple[int, int]:
    # Instants, not wall clocks (see _time.between), in exact microseconds as SQL orders them.
    return (micros(_common.opened(record)), record.id.int)


class _Events:
    def __init__(self, store: MemoryStore, shared: _Events | None) -> None:
        self._store = store
        self._log: list[ChangeEvent] = [] if shared is None else shared._log

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        integer(position, "position")
        with self._store._reading():
            rows = [e for e in self._log if e.position > position and self._store._sees(e)]
        return _common.while_open(rows, self._store._check_open)

    def latest(self) -> int:
        with self._store._reading():
            if self._store._tenant is None:
                return self._store._root._position
            return max((e.position for e in self._log if self._store._sees(e)), default=0)


class MemoryStore(_common.Repositories):
    """A store kept in this process's memory; see the module documentation.

    ``store.scoped(tenant)`` gives a tenant's view of it (see
    :class:`~custservice.storage.protocols.TenantScoped`).
    """

    _customers: _Repository[Customer]
    _interactions: _Repository[Interaction]
    _cases: _Repository[Case]
    _events: _Events

    def __init__(self, *, _tenant: str | None = None, _root: MemoryStore | None = None) -> None:
        self._tenant = _tenant
        self._writes_as = NO_TENANT if _tenant is None else _tenant
        self._root: MemoryStore = self if _root is None else _root
        self._closed = False
        if _root is None:
            self._lock = threading.RLock()
            self._depth = 0
            self._undo: list[Callable[[], None]] = []
            self._position = 0
        self._customers = _Repository(self, Customer, None if _root is None else _root._customers)
        self._interactions = _Repository(
            self, Interaction, None if _root is None else _root._interactions
        )
        self._cases = _Repository(self, Case, None if _root is None else _root._cases)
        self._events = _Events(self, None if _root is None else _root._events)

    def scoped(self, tenant: str) -> MemoryStore:
        """The store as ``tenant`` sees it (see
        :meth:`~custservice.storage.protocols.TenantScoped.scoped`)."""
        tenant = _common.check_scope(self._tenant, tenant)
        if tenant == self._tenant:
            return self
        self._check_open()
        return MemoryStore(_tenant=tenant, _root=self)

    def tenant_records(self, kind: Kind) -> Iterator[tuple[str | None, Record]]:
        """Every record of ``kind`` with its tenant, as ``all()`` reads them (see
        :meth:`~custservice.storage.protocols.TenantScoped.tenant_records`)."""
        repository: _Repository[Any] = getattr(self, f"_{_PLURAL[_common.check_kind(kind)]}")
        return repository._tagged()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; an inner block joins the outer one (a scope's and its store's
        blocks are one)."""
        root = self._root
        with root._lock:
            self._check_open()
            root._depth += 1
            try:
                yield
            except BaseException:
                if root._depth == 1:
                    root._rollback_to(0)
                raise
            finally:
                root._depth -= 1
                if root._depth == 0:
                    root._undo.clear()

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them."""
        _common.check_id(customer_id, "customer_id")
        with self.transaction():
            found = self._customers._find(customer_id)
            if found is None:
                raise NotFound("customer", customer_id)
            tenant = found[0]
            for repository in (self._interactions, self._cases, self._customers):
                repository._drop_customer(tenant, customer_id)
            log = self._events._log
            before = list(log)
            gone = _tenant_of(tenant)
            log[:] = [e for e in log if e.customer_id != customer_id or e.tenant != gone]
            self._journal(lambda: log.__setitem__(slice(None), before))
            self._emit(tenant, "customer", "forget", customer_id, customer_id, None)

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data."""
        with self._reading():
            return _common.export(self, customer_id)

    def close(self) -> None:
        """Mark the store closed (a scope: only the scope); later operations raise
        ``StorageError``."""
        self._closed = True

    def __repr__(self) -> str:
        return "MemoryStore()" if self._tenant is None else f"MemoryStore(tenant={self._tenant!r})"

    # -- internals ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed or self._root._closed:
            raise StorageError("the store is closed")

    def _visible(self, tables: dict[str, Any]) -> list[str]:
        """The tenants of ``tables`` this store sees, in the order it reads them."""
        if self._tenant is not None:
            return [self._tenant] if self._tenant in tables else []
        return sorted(tables)  # no tenant ("") first, then by name

    def _sees(self, entry: ChangeEvent) -> bool:
        return self._tenant is None or entry.tenant == self._tenant

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._root._lock:
            self._check_open()
            yield

    def _rollback_to(self, mark: int) -> None:
        """Undo every change journaled after the first ``mark`` entries."""
        undo = self._root._undo
        while len(undo) > mark:
            undo.pop()()

    def _journal(self, undo: Callable[[], None]) -> None:
        self._root._undo.append(undo)

    def _emit(
        self,
        tenant: str,
        kind: Kind,
        action: Action,
        record_id: uuid.UUID,
        customer_id: uuid.UUID,
        version: int | None,
    ) -> None:
        root = self._root
        root._position += 1
        log = self._events._log
        log.append(
            ChangeEvent(
                root._position, kind, action, record_id, customer_id, version, _tenant_of(tenant)
            )
        )

        def undo() -> None:
            log.pop()
            root._position -= 1

        self._journal(undo)


NO_TENANT = ""
"""The key of the records of no tenant."""


def _tenant_of(key: str) -> str | None:
    return None if key == NO_TENANT else key
