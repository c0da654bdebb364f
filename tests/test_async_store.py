"""The async store passes the whole conformance kit on memory and every SQL engine.

Each runs :class:`~custservice.testing.AsyncStoreConformance`: every test of
the blocking kit, the stateful one included, with the kit's threads turned
into asyncio tasks sharing the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pendulum
import pytest
from conftest import PROFILE
from tests import _sql_stores

from custservice import (
    AsyncStore,
    Case,
    Customer,
    FixedClock,
    NotFound,
    StorageError,
    open_async_store,
    open_store,
)
from custservice.errors import BackendNotFound
from custservice.testing import AsyncStoreConformance

kit_postgres = _sql_stores.kit_postgres
kit_postgres_url = _sql_stores.kit_postgres_url
kit_mariadb = _sql_stores.kit_mariadb
kit_mariadb_url = _sql_stores.kit_mariadb_url

Opener = Callable[[], Awaitable[AsyncStore]]
T = TypeVar("T")


class _AsyncKit(AsyncStoreConformance):
    # The async store runs the blocking store's code, whose kit runs in full on each
    # engine (a hundred sequences of the reference machine): a third of that here checks
    # what only the async path adds, its drivers and tasks, and the deep profile runs all.
    examples_at_most = None if PROFILE == "deep" else 25


class TestAsyncMemoryStore(_AsyncKit):
    @pytest.fixture
    def async_store_opener(self) -> Opener:
        return lambda: open_async_store("memory://")


class TestAsyncSQLiteStore(_AsyncKit):
    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def async_store_opener(self, tmp_path: Path) -> Opener:
        url = f"sqlite:///{tmp_path / 'kit.db'}"
        return lambda: open_async_store(url)


@pytest.mark.postgres
class TestAsyncPostgreSQLStore(_AsyncKit):
    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def async_store_opener(self, kit_postgres_url: str) -> Opener:
        return lambda: open_async_store(kit_postgres_url)


class TestAsyncMariaDBStore(_AsyncKit):
    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def async_store_opener(self, kit_mariadb_url: str) -> Opener:
        return lambda: open_async_store(kit_mariadb_url)


# -- what only the async store has -------------------------------------------------------


CLOCK = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(params=["memory", "sqlite"])
def async_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'a.db'}"


def test_add_many_takes_an_async_iterable_all_or_nothing(async_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        async with await open_async_store(async_url) as store:
            ada = await store.customers.add(Customer.new("Ada", clock=CLOCK))

            async def cases(n: int, broken: bool) -> AsyncIterator[Case]:
                for i in range(n):
                    yield Case.open(ada.id, f"case {i}", clock=CLOCK)
                if broken:
                    yield Case.open(uuid.uuid4(), "of nobody", clock=CLOCK)

            added = await store.cases.add_many(cases(7, broken=False))
            with pytest.raises(NotFound):
                await store.cases.add_many(cases(6000, broken=True))  # past one batch
            return added, await store.cases.count()

    assert run(scenario()) == (7, 7)


def test_a_tasks_transaction_is_its_own(async_url: str) -> None:
    """Another task neither sees inside an open block nor joins it."""

    async def scenario() -> tuple[int, int, int]:
        async with await open_async_store(async_url) as store:
            inside = asyncio.Event()
            go_on = asyncio.Event()

            async def writer() -> None:
                with contextlib.suppress(RuntimeError):
                    async with store.transaction():
                        await store.customers.add(Customer.new("Ada", clock=CLOCK))
                        inside.set()
                        await go_on.wait()
                        raise RuntimeError("undo")

            async def other() -> int:
                await inside.wait()
                added = asyncio.ensure_future(store.customers.add(Customer.new("Bob", clock=CLOCK)))
                await asyncio.sleep(0.05)
                go_on.set()
                await added
                return await store.customers.count()

            task = asyncio.ensure_future(writer())
            seen = await other()
            await task
            return seen, await store.customers.count(), await store.events.latest()

    seen, count, latest = run(scenario())
    assert (seen, count) == (1, 1)  # Bob landed, Ada's block was undone whole
    assert latest >= 1


def test_iterating_reads_a_page_per_await_and_stops_at_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"

    async def scenario() -> int:
        async with await open_async_store(url) as store:
            ada = await store.customers.add(Customer.new("Ada", clock=CLOCK))
            await store.cases.add_many(
                [Case.open(ada.id, f"c{i}", clock=CLOCK) for i in range(1200)]
            )
            seen = 0
            pages = store.cases.all()
            async for _ in pages:
                seen += 1
                if seen == 600:
                    await store.close()
                    with pytest.raises(StorageError):
                        await pages.__anext__()
                    return seen
        return seen

    assert run(scenario()) == 600


def test_urls_an_async_store_cannot_serve_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(BackendNotFound):
        run(open_async_store("nosuch://x"))
    with pytest.raises(StorageError, match="use a file"):
        run(open_async_store("sqlite:///:memory:"))
    with pytest.raises(StorageError, match="no such SQLite database file"):
        run(open_async_store(f"sqlite:///{tmp_path / 'missing.db'}", create=False))


def test_blocking_code_runs_on_the_async_store_without_blocking_the_loop(tmp_path: Path) -> None:
    """``run_sync`` hands blocking code (analytics) the store it drives."""
    url = f"sqlite:///{tmp_path / 'a.db'}"

    async def scenario() -> list[str]:
        async with await open_async_store(url) as store:
            await store.customers.add(Customer.new("Ada", clock=CLOCK))
            return await store.run_sync(lambda s: [c.name for c in s.customers.all()], store.sync)

    assert run(scenario()) == ["Ada"]


# -- in the application's async transaction ------------------------------------------------


def _async_engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A host's AsyncEngine on a database holding the store's tables and one of its own."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from custservice.storage import migrate

    options: dict[str, Any] = {}
    if kind == "sqlite":
        store_url = f"sqlite:///{tmp_path / 'host.db'}"
        url = sa.make_url(store_url).set(drivername="sqlite+aiosqlite")
    elif kind == "postgresql":
        store_url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        url = sa.make_url(store_url).set(drivername="postgresql+psycopg_async", query={})
        options = {"connect_args": {"options": f"-c search_path={schema}"}}
    else:
        store_url = request.getfixturevalue("mysql_url")
        url = sa.make_url(store_url).set(drivername="mysql+aiomysql", query={})
    migrate(store_url)
    host = create_async_engine(url, **options)
    if kind == "sqlite":
        _enforce_foreign_keys(host)

    async def own_table() -> None:
        async with host.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer VARCHAR(36))"
            )
        await host.dispose()  # its connections belong to this loop

    run(own_table())
    return host


def _enforce_foreign_keys(host: Any) -> None:
    """As SQLAlchemy's documentation says to, for a SQLite engine."""
    import sqlalchemy as sa

    @sa.event.listens_for(host.sync_engine, "connect")
    def enforce_foreign_keys(dbapi: Any, record: Any) -> None:
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_the_applications_async_transaction_decides_for_the_store_too(
    kind: str, outcome: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Records, their feed entries and the application's own row land or vanish together."""
    host = _async_engine(kind, request, tmp_path)

    async def scenario() -> tuple[int, int, int]:
        try:
            return await both_ways()
        finally:
            await host.dispose()  # on the loop its connections belong to

    async def both_ways() -> tuple[int, int, int]:
        async with host.connect() as conn:
            transaction = await conn.begin()
            store = await open_async_store(conn)
            ada = await store.customers.add(Customer.new("Ada", clock=CLOCK))
            async with store.transaction():  # a savepoint in the application's transaction
                await store.cases.add(Case.open(ada.id, "refund", clock=CLOCK))
            await conn.exec_driver_sql(f"INSERT INTO orders VALUES (1, '{ada.id}')")
            await store.close()
            assert transaction.is_active  # the connection left as it was
            assert conn.in_transaction()
            await (transaction.commit() if outcome == "commit" else transaction.rollback())
        async with await open_async_store(host) as store, host.connect() as conn:
            orders = (await conn.exec_driver_sql("SELECT count(*) FROM orders")).scalar_one()
            counts = await store.customers.count(), await store.cases.count()
            events = [e async for e in store.events.since(0)]
            assert len(events) == sum(counts)
            return (*counts, orders)

    landed = run(scenario())
    assert landed == ((1, 1, 1) if outcome == "commit" else (0, 0, 0))


def test_a_blocking_engine_is_refused_and_an_async_one_is_joined_not_created(
    tmp_path: Path,
) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    with pytest.raises(StorageError, match=r"not a blocking Engine.*open_store instead"):
        run(open_async_store(sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}")))
    host = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    _enforce_foreign_keys(host)

    async def join() -> None:
        try:
            await open_async_store(host)
        finally:
            await host.dispose()

    with pytest.raises(StorageError, match="custservice migrate"):
        run(join())
    assert (
        sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")).get_table_names() == []
    )
    with pytest.raises(StorageError, match=r"async one.*open_async_store"):
        open_store(host.sync_engine)


def test_analyses_take_the_async_store_and_are_awaited(tmp_path: Path) -> None:
    """They run on the blocking store it drives, and answer as they do there."""
    from custservice import Channel, Interaction
    from custservice.analytics import plan_follow_ups, scorecard
    from custservice.report import build_report

    url = f"sqlite:///{tmp_path / 'a.db'}"
    at = CLOCK.now().add(days=3)

    async def scenario() -> tuple[Any, Any, Any, Any, Any, Any]:
        async with await open_async_store(url) as store:
            ada = await store.customers.add(Customer.new("Ada", clock=CLOCK))
            await store.interactions.add(Interaction.open(ada.id, Channel.CHAT, clock=CLOCK))
            await store.cases.add(Case.open(ada.id, "refund", clock=CLOCK))
            awaited = (
                await scorecard(store, by="channel"),
                await plan_follow_ups(store, window_start=CLOCK.now(), window_end=at),
                await build_report(store, at=at),
            )
            blocking = await store.run_sync(
                lambda s: (
                    scorecard(s, by="channel"),
                    plan_follow_ups(s, window_start=CLOCK.now(), window_end=at),
                    build_report(s, at=at),
                ),
                store.sync,
            )
            return (*awaited, *blocking)

    card, plan, report, card_then, plan_then, report_then = run(scenario())
    assert card.interactions == card.cases == 1
    assert (card, plan, report) == (card_then, plan_then, report_then)
