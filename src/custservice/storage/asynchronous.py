"""The async store: the same stores, awaited from asyncio code.

``store = await open_async_store(url)`` gives an :class:`AsyncStore` with
the repositories, change feed and transactions of :class:`~.protocols.Store`,
awaited: ``await store.customers.add(c)``, ``async for i in
store.interactions.for_customer(id)``, ``async with store.transaction()``.

It is written once, with the blocking store: an async store drives the
very store ``open_store`` gives, and only its I/O differs.

- A SQL store is opened on SQLAlchemy's asyncio engine (aiosqlite, psycopg
  in async mode, aiomysql) and its code runs in SQLAlchemy's greenlets:
  each call is one ``greenlet_spawn``, in which every wait for the database
  is an ``await`` on the event loop. Many tasks use the store at once, each
  on a pooled connection; a transaction block belongs to the task that
  opened it, as a blocking one belongs to its thread.
- The memory store does no I/O; its calls run on the loop, a transaction
  block of one task keeping the others waiting until it ends.

Iterators read in pages (one await per page of records), so memory stays
bounded however many records stream past.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from itertools import islice
from typing import Any, Generic, Self, TypeVar

from ..cases import Case
from ..customers import Customer
from ..errors import StorageError
from ..interactions import Interaction
from ._common import check_kind
from .protocols import ChangeEvent, Kind, Store

__all__ = ["AsyncEventFeed", "AsyncRepository", "AsyncStore", "open_async_store"]

R = TypeVar("R", Customer, Interaction, Case)
T = TypeVar("T")

_PAGE = 500
"""Items an async iterator takes from its store per await."""
_BATCH = 5000
"""Records of an async iterable given to ``add_many`` per call to the store."""


class _Runner:
    """How calls into the blocking store run: the seam between the async store and it."""

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def transaction(self, store: Store) -> AbstractAsyncContextManager[None]:
        return _entered(self, store)


class _Greenlets(_Runner):
    """SQL stores on an asyncio engine: the store's code in SQLAlchemy's greenlets."""

    def __init__(self) -> None:
        from sqlalchemy.util import greenlet_spawn

        self._spawn = greenlet_spawn

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        result: T = await self._spawn(fn, *args)
        return result


class _OnTheLoop(_Runner):
    """A store without I/O (memory): calls run on the loop, one task's transaction at a
    time; the task inside a block goes on, the others wait for it to end."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._owner is not None and self._owner is asyncio.current_task():
            return fn(*args)
        async with self._lock:
            return fn(*args)

    @asynccontextmanager
    async def transaction(self, store: Store) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            async with _entered(self, store):  # an inner block joins the outer one
                yield
            return
        async with self._lock:
            self._owner = task
            try:
                async with _entered(self, store):
                    yield
            finally:
                self._owner = None


@asynccontextmanager
async def _entered(runner: _Runner, store: Store) -> AsyncIterator[None]:
    """The blocking store's transaction block, entered and left through the runner."""
    block = store.transaction()
    await runner.call(block.__enter__)
    try:
        yield
    except BaseException as exc:
        if not await runner.call(block.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await runner.call(block.__exit__, None, None, None)


class _Pages(Generic[T]):
    """An async iterator over a blocking one, a page per await; the blocking iterator
    is made on the first await, so a closed store fails there."""

    def __init__(self, store: AsyncStore, make: Callable[[], Iterator[T]]) -> None:
        self._store = store
        self._runner = store._runner
        self._make: Callable[[], Iterator[T]] | None = make
        self._items: Iterator[T] | None = None
        self._page: list[T] = []
        self._at = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        if self._store._closed:  # no serving of rows read ahead, as the blocking store
            raise StorageError("the store is closed")
        if self._at == len(self._page):
            self._page = await self._runner.call(self._next_page)
            self._at = 0
            if not self._page:
                raise StopAsyncIteration
        item = self._page[self._at]
        self._at += 1
        return item

    def _next_page(self) -> list[T]:
        if self._items is None:
            if self._make is None:
                return []
            self._items, self._make = self._make(), None
        return list(islice(self._items, _PAGE))


class AsyncRepository(Generic[R]):
    """The records of one kind, awaited: the blocking repository's methods, as coroutines.

    ``for_customer`` exists on the interactions and cases (as in the
    blocking store); ``all`` and ``for_customer`` give async iterators.
    """

    def __init__(self, store: AsyncStore, repository: Any) -> None:
        self._async_store: AsyncStore = store
        self._runner = store._runner
        self._repository = repository

    async def add(self, record: R) -> R:
        """Store a new record; see the blocking ``add``."""
        return await self._runner.call(self._repository.add, record)

    async def add_many(self, records: Iterable[R] | AsyncIterable[R]) -> int:
        """Store many records in one transaction, all or nothing; ``records`` may be an
        async iterable, read in batches."""
        if not isinstance(records, AsyncIterable):
            return await self._runner.call(self._repository.add_many, records)
        total = 0
        async with self._async_store.transaction():
            batch: list[R] = []
            async for record in records:
                batch.append(record)
                if len(batch) == _BATCH:
                    total += await self._runner.call(self._repository.add_many, batch)
                    batch = []
            if batch:
                total += await self._runner.call(self._repository.add_many, batch)
        return total

    async def get(self, id: uuid.UUID) -> R:
        """The stored record with this id; see the blocking ``get``."""
        return await self._runner.call(self._repository.get, id)

    async def save(self, record: R) -> R:
        """Store a changed record if nobody saved it since it was read; see ``save``."""
        return await self._runner.call(self._repository.save, record)

    async def count(self) -> int:
        """How many records are stored."""
        return await self._runner.call(self._repository.count)

    def all(self) -> AsyncIterator[R]:
        """Every record, oldest first, read in pages."""
        return _Pages(self._async_store, self._repository.all)

    def for_customer(
        self,
        customer_id: uuid.UUID,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> AsyncIterator[R]:
        """A customer's records, oldest first, ``since <= opened < until``, read in pages."""
        repository = self._repository
        return _Pages(self._async_store, lambda: repository.for_customer(customer_id, since, until))


class AsyncEventFeed:
    """The change feed, awaited."""

    def __init__(self, store: AsyncStore, feed: Any) -> None:
        self._store = store
        self._runner = store._runner
        self._feed = feed

    def since(self, position: int = 0) -> AsyncIterator[ChangeEvent]:
        """Entries after ``position``, in commit order, read in pages."""
        return _Pages(self._store, lambda: self._feed.since(position))

    async def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        return int(await self._runner.call(self._feed.latest))


class AsyncStore:
    """A store for asyncio code; see the module documentation.

    Open one with :func:`open_async_store`. ``async with store:`` closes it
    at the end of the block.

    Attributes:
        customers: the customers (:class:`AsyncRepository`).
        interactions: the interactions, with ``for_customer``.
        cases: the cases, with ``for_customer``.
        events: the change feed (:class:`AsyncEventFeed`).
        sync: the blocking store this one drives. Only code that runs in
            :meth:`run_sync` may use it.
    """

    def __init__(self, store: Store, runner: _Runner) -> None:
        self.sync = store
        self._runner = runner
        self._closed = False
        self.customers: AsyncRepository[Customer] = AsyncRepository(self, store.customers)
        self.interactions: AsyncRepository[Interaction] = AsyncRepository(self, store.interactions)
        self.cases: AsyncRepository[Case] = AsyncRepository(self, store.cases)
        self.events = AsyncEventFeed(self, store.events)

    def scoped(self, tenant: str) -> AsyncStore:
        """The store as ``tenant`` sees it: that tenant's records only, written as its own;
        see :meth:`~custservice.storage.protocols.TenantScoped.scoped`. The scope shares
        this store's connections and transactions; closing it closes only the scope.

        Raises:
            ValidationError: ``tenant`` is not a non-empty string of at most 100
                characters, or is another tenant than a scoped store's own.
            StorageError: the blocking store keeps no tenants apart.
        """
        scope = getattr(self.sync, "scoped", None)
        if scope is None:
            raise StorageError(f"{self.sync!r} keeps no tenants apart: it has no scoped()")
        view: Store = scope(tenant)
        return self if view is self.sync else AsyncStore(view, self._runner)

    def tenant_records(
        self, kind: Kind
    ) -> AsyncIterator[tuple[str | None, Customer | Interaction | Case]]:
        """Every record of ``kind`` with its tenant, as ``all()`` reads them, in pages; see
        :meth:`~custservice.storage.protocols.TenantScoped.tenant_records`.

        Raises:
            ValidationError: ``kind`` is not ``"customer"``, ``"interaction"`` or ``"case"``.
            StorageError: the blocking store keeps no tenants apart.
        """
        check_kind(kind)
        tagged = getattr(self.sync, "tenant_records", None)
        if tagged is None:
            raise StorageError(f"{self.sync!r} keeps no tenants apart: it has no tenant_records()")
        return _Pages(self, lambda: tagged(kind))

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All or nothing, as the blocking ``transaction``: ``async with store.transaction():``.

        The block belongs to the task that opened it; an inner block joins
        the outer one, and an exception undoes every change of the block.
        """
        return self._runner.transaction(self.sync)

    async def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them; see the blocking ``forget``."""
        await self._runner.call(self.sync.forget, customer_id)

    async def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data; see ``export``."""
        return await self._runner.call(self.sync.export, customer_id)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking code that uses :attr:`sync` (analytics, say) without blocking the
        loop: on a SQL store its every database wait is awaited."""
        return await self._runner.call(fn, *args)

    async def close(self) -> None:
        """Close the store; closing twice is harmless."""
        self._closed = True
        await self._runner.call(self.sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncStore({self.sync!r})"


async def open_async_store(
    url: Any, *, create: bool = True, schema: str | None = None
) -> AsyncStore:
    """Open an :class:`AsyncStore`: ``memory://``, any SQL store's URL, or the
    application's own SQLAlchemy ``AsyncEngine`` or ``AsyncConnection``.

    Given an ``AsyncConnection`` inside the application's transaction, the
    store writes in that transaction, as :func:`~custservice.storage.open_store`
    does with a ``Connection``: its records and their change-feed entries
    commit or roll back with the application's own rows, ``async with
    store.transaction()`` is a savepoint, and closing the store leaves the
    connection as it was. Joining never creates or alters tables.

    Args:
        url: ``memory://``, ``sqlite:///file.db``, ``postgresql://…``,
            ``mariadb://…`` or ``mysql://…`` (the same URLs and options as
            :func:`~custservice.storage.open_store`), or an ``AsyncEngine``
            or a started ``AsyncConnection`` (``async with engine.connect()``).
        create: as for :func:`~custservice.storage.open_store`.
        schema: for an engine or a connection: the PostgreSQL schema of the
            store's tables (default: the connection's search path).

    Raises:
        BackendNotFound: no backend serves the URL's scheme.
        StorageError: the backend has no async store (a plugin's), its
            async driver is not installed, the store cannot be opened, or
            the engine is a blocking one (for :func:`~custservice.storage.open_store`).

    Examples:
        >>> import asyncio
        >>> async def count() -> int:
        ...     async with await open_async_store("memory://") as store:
        ...         return await store.customers.count()
        >>> asyncio.run(count())
        0
    """
    from .registry import _is_sqlalchemy, _scheme_and_opener, open_store, opening

    if _is_sqlalchemy(url):
        target = _blocking_face(url)
        runner = _greenlets()
        joined = await runner.call(lambda: open_store(target, schema=schema))
        return AsyncStore(joined, runner)
    scheme, normalised, opener = _scheme_and_opener(url)
    if scheme == "memory":
        return AsyncStore(
            opening(scheme, normalised, lambda: opener(normalised, create=create)), _OnTheLoop()
        )
    if not _takes(opener, "asynchronous"):
        raise StorageError(f"the backend for {scheme!r} has no async store")
    runner = _greenlets()
    try:
        store = await runner.call(
            opening,
            scheme,
            normalised,
            lambda: opener(normalised, create=create, asynchronous=True),
        )
    except ImportError as exc:
        raise StorageError(
            f"the async store for {scheme!r} needs its async driver: {exc}; "
            'pip install "custservice[async]" (and the engine\'s extra)'
        ) from exc
    return AsyncStore(store, runner)


def _greenlets() -> _Runner:
    try:
        return _Greenlets()
    except ImportError as exc:  # greenlet, through SQLAlchemy's asyncio extra
        raise StorageError(
            'the async store needs SQLAlchemy\'s asyncio support: pip install "custservice[async]"'
        ) from exc


def _blocking_face(target: Any) -> Any:
    """The ``Engine`` or ``Connection`` an async one drives, whose every wait is awaited
    in SQLAlchemy's greenlets; a blocking one would hold up the event loop: refused."""
    name = type(target).__name__
    if name == "AsyncEngine":
        return target.sync_engine
    if name == "AsyncConnection":
        if target.sync_connection is None:
            raise StorageError(
                "the AsyncConnection has not started: open it with "
                "`async with engine.connect() as conn` first"
            )
        return target.sync_connection
    if getattr(getattr(target, "dialect", None), "is_async", False):
        return target  # already the blocking face of an async engine or connection
    raise StorageError(
        f"open_async_store needs an AsyncEngine or AsyncConnection, not a blocking {name}, "
        "whose waits would hold up the event loop: give it to open_store instead"
    )


def _takes(fn: Callable[..., Any], keyword: str) -> bool:
    import inspect

    try:
        return keyword in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
