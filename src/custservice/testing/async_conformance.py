"""The conformance kit on an async store: :class:`AsyncStoreConformance`.

The whole kit, the stateful test against the memory reference included,
runs on an :class:`~custservice.AsyncStore` through a blocking view of it.
The store lives on an event loop of its own, in a thread; each thread of
the kit drives it from one asyncio task of its own, so a transaction block
the kit opens in a thread belongs to that thread's task, and the kit's
threads become tasks that use the store at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from ..storage.asynchronous import AsyncStore
from ..storage.protocols import Store
from .conformance import StoreConformance

__all__ = ["AsyncStoreConformance"]

T = TypeVar("T")


class _Tasks:
    """An event loop in a thread, and one task on it per calling thread, each running
    what its thread submits in order."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._queues: dict[int, asyncio.Queue[Any]] = {}
        self._lock = threading.Lock()

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work()`` in the calling thread's task; its result, or its exception."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._queue().put_nowait, (work, done))
        return done.result()

    def _queue(self) -> asyncio.Queue[Any]:
        me = threading.get_ident()
        with self._lock:
            queue = self._queues.get(me)
            if queue is None:
                queue = self._queues[me] = asyncio.run_coroutine_threadsafe(
                    self._start(), self.loop
                ).result()
        return queue

    async def _start(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        task = asyncio.ensure_future(self._serve(queue))
        task.add_done_callback(lambda _: None)
        return queue

    @staticmethod
    async def _serve(queue: asyncio.Queue[Any]) -> None:
        while True:
            work, done = await queue.get()
            if work is None:
                return
            try:
                done.set_result(await work())
            except BaseException as exc:  # handed to the thread that asked
                done.set_exception(exc)

    def close(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                self.loop.call_soon_threadsafe(queue.put_nowait, (None, None))
            self._queues.clear()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


class _Blocking:
    """A blocking view of an async store, for the kit."""

    def __init__(self, store: AsyncStore, tasks: _Tasks) -> None:
        self._store = store
        self._tasks = tasks
        self.customers = _Repository(store.customers, tasks)
        self.interactions = _Repository(store.interactions, tasks)
        self.cases = _Repository(store.cases, tasks)
        self.events = _Feed(store.events, tasks)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        block = self._store.transaction()
        self._tasks.run(block.__aenter__)
        try:
            yield
        except BaseException as exc:
            error = exc
            if not self._tasks.run(
                lambda: block.__aexit__(type(error), error, error.__traceback__)
            ):
                raise
        else:
            self._tasks.run(lambda: block.__aexit__(None, None, None))

    def scoped(self, tenant: str) -> _Blocking:
        return _Blocking(self._store.scoped(tenant), self._tasks)

    def tenant_records(self, kind: Any) -> Iterator[tuple[str | None, Any]]:
        return _stepped(self._store.tenant_records(kind), self._tasks)

    def forget(self, customer_id: uuid.UUID) -> None:
        self._tasks.run(lambda: self._store.forget(customer_id))

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        return self._tasks.run(lambda: self._store.export(customer_id))

    def close(self) -> None:
        self._tasks.run(self._store.close)

    def __enter__(self) -> _Blocking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stepped(items: AsyncIterator[T], tasks: _Tasks) -> Iterator[T]:
    while True:
        try:
            yield tasks.run(items.__anext__)  # type: ignore[arg-type]
        except StopAsyncIteration:
            return


class _Repository:
    def __init__(self, repository: Any, tasks: _Tasks) -> None:
        self._repository = repository
        self._tasks = tasks

    def add(self, record: Any) -> Any:
        return self._tasks.run(lambda: self._repository.add(record))

    def add_many(self, records: Any) -> int:
        return int(self._tasks.run(lambda: self._repository.add_many(records)))

    def get(self, id: uuid.UUID) -> Any:
        return self._tasks.run(lambda: self._repository.get(id))

    def save(self, record: Any) -> Any:
        return self._tasks.run(lambda: self._repository.save(record))

    def count(self) -> int:
        return int(self._tasks.run(self._repository.count))

    def all(self) -> Iterator[Any]:
        return _stepped(self._repository.all(), self._tasks)

    def for_customer(self, customer_id: uuid.UUID, since: Any = None, until: Any = None) -> Any:
        return _stepped(self._repository.for_customer(customer_id, since, until), self._tasks)


class _Feed:
    def __init__(self, feed: Any, tasks: _Tasks) -> None:
        self._feed = feed
        self._tasks = tasks

    def since(self, position: int = 0) -> Iterator[Any]:
        return _stepped(self._feed.since(position), self._tasks)

    def latest(self) -> int:
        return int(self._tasks.run(self._feed.latest))


class AsyncStoreConformance(StoreConformance):
    """The conformance kit, run on an async store; a pytest base class.

    Subclass it (name the subclass ``Test...``) and override
    ``async_store_opener`` to return a coroutine function that opens a
    fresh, empty :class:`~custservice.AsyncStore`; for backends that keep
    their data elsewhere (``survives_reopen``, ``shared_between_stores``)
    each call must open another store on the same data::

        class TestMyAsyncStore(AsyncStoreConformance):
            survives_reopen = True

            @pytest.fixture
            def async_store_opener(self, tmp_path):
                url = f"sqlite:///{tmp_path / 'kit.db'}"
                return lambda: custservice.open_async_store(url)

    Every test of :class:`StoreConformance` then runs on it: each thread of
    a test drives the store from an asyncio task of its own, on a loop in a
    thread of its own.
    """

    @pytest.fixture
    def async_store_opener(self) -> Callable[[], Awaitable[AsyncStore]]:
        """A coroutine function opening the async store under test; override it."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the `async_store_opener` fixture"
        )

    @pytest.fixture
    def _tasks(self) -> Iterator[_Tasks]:
        tasks = _Tasks()
        yield tasks
        tasks.close()

    @pytest.fixture
    def store(
        self, async_store_opener: Callable[[], Awaitable[AsyncStore]], _tasks: _Tasks
    ) -> Iterator[Store]:
        view = _opened(async_store_opener, _tasks)
        yield view
        view.close()

    @pytest.fixture
    def reopen(
        self, async_store_opener: Callable[[], Awaitable[AsyncStore]], _tasks: _Tasks
    ) -> Callable[[], Store]:
        return lambda: _opened(async_store_opener, _tasks)


def _opened(opener: Callable[[], Awaitable[AsyncStore]], tasks: _Tasks) -> Any:
    async def opening() -> AsyncStore:
        return await opener()

    return _Blocking(tasks.run(opening), tasks)
