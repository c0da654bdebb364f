"""A store embedded in a host application: its engine, its connection, its transaction.

The whole conformance kit runs on stores joined to a host's connection
inside a host transaction (every change a savepoint the host rolls back at
the end) and on stores given a host's engine, on SQLite, PostgreSQL and
MariaDB. The host's transaction decides for the store's records and their
change-feed entries as for its own rows, and the store never ends it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
from conftest import MYSQL_SERVER, PG_SERVER, PROFILE

from custservice import Case, Customer, FixedClock, StorageError, Store, open_store
from custservice.errors import DuplicateError
from custservice.storage import metadata, migrate
from custservice.storage.sql import VERSION
from custservice.testing import StoreConformance

CLOCK = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))

ENGINES = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture
def host_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A host application's engine, on an empty database, for the engine the test names."""
    yield from _engine(request.param, request, tmp_path)


def _engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if kind == "sqlite":
        engine = sqlite_engine(tmp_path / "host.db")
    elif kind == "postgresql":
        schema = request.getfixturevalue("pg_schema")
        request.getfixturevalue("pg_admin").execute(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(PG_SERVER).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    else:
        url = sa.make_url(request.getfixturevalue("mysql_url"))
        engine = sa.create_engine(url.set(drivername="mysql+pymysql", query={}))
    yield engine
    engine.dispose()


def sqlite_engine(path: Path) -> sa.Engine:
    """A host's SQLite engine, set up as SQLAlchemy's documentation says for foreign keys."""
    engine = sa.create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def enforce_foreign_keys(dbapi: Any, record: Any) -> None:
        dbapi.execute("PRAGMA foreign_keys = ON")

    return engine


def _orders(engine: sa.Engine) -> sa.Table:
    """The store's tables and the host's own table beside them."""
    migrate(engine)
    table = sa.Table(
        "orders",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer", sa.String(36)),
    )
    with engine.begin() as conn:
        table.create(conn)
    return table


# -- the kit ----------------------------------------------------------------------------


@pytest.fixture(scope="class")
def migrated_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """A host's engine on a database of the test class's own, holding the store's tables
    and nothing else: each test's host transaction is rolled back, so it stays so."""
    kind = request.cls.kind
    if kind == "sqlite":
        engine = sqlite_engine(tmp_path_factory.mktemp("host") / "host.db")
        dropped: Callable[[], object] = lambda: None  # noqa: E731
    elif kind == "postgresql":
        admin = request.getfixturevalue("pg_admin")
        schema = f"cs_host_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(PG_SERVER).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url, connect_args={"options": f"-c search_path={schema}"})
        dropped = lambda: admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # noqa: E731
    else:
        cursor = request.getfixturevalue("mysql_admin").cursor()
        database = f"cs_host_{uuid.uuid4().hex[:12]}"
        cursor.execute(f"CREATE DATABASE `{database}`")
        url = sa.make_url(MYSQL_SERVER).set(drivername="mysql+pymysql", database=database)
        engine = sa.create_engine(url)
        dropped = lambda: cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")  # noqa: E731
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        dropped()


class _InAHostTransaction(StoreConformance):
    """The kit on a store joined to a connection inside the host's transaction."""

    kind = ""
    # One host transaction holds every example's rows, live and deleted, until the
    # test ends: each example scans more than the last. The engines' own kits run in
    # full, and so does this one under the deep profile.
    examples_at_most = None if PROFILE == "deep" else 50

    @pytest.fixture
    def store(self, migrated_host: sa.Engine) -> Iterator[Store]:
        # Every test's host transaction is rolled back: the next one finds the tables
        # as new, and none of them pays for a database and its tables of its own.
        with migrated_host.connect() as conn:
            host = conn.begin()
            with open_store(conn) as store:
                yield store
            assert host.is_active  # nothing the store did ended it
            host.rollback()


class TestSQLiteInAHostTransaction(_InAHostTransaction):
    kind = "sqlite"


@pytest.mark.postgres
class TestPostgreSQLInAHostTransaction(_InAHostTransaction):
    kind = "postgresql"


class TestMariaDBInAHostTransaction(_InAHostTransaction):
    kind = "mariadb"


class _OnAHostEngine(StoreConformance):
    """The kit on stores given the host's engine: they share its database."""

    kind = ""
    survives_reopen = True
    shared_between_stores = True
    # The engine's own kit runs in full on stores opened by URL: given the engine, the
    # store runs that code again, and a quarter of the examples checks what differs.
    examples_at_most = None if PROFILE == "deep" else 25

    @pytest.fixture
    def engine(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
        for engine in _engine(self.kind, request, tmp_path):
            migrate(engine)
            yield engine

    @pytest.fixture
    def store(self, engine: sa.Engine) -> Iterator[Store]:
        with open_store(engine) as store:
            yield store

    @pytest.fixture
    def reopen(self, engine: sa.Engine) -> Callable[[], Store]:
        return lambda: open_store(engine)


class TestSQLiteOnAHostEngine(_OnAHostEngine):
    kind = "sqlite"


# -- the host's transaction decides -----------------------------------------------------


def _write_both(store: Store, conn: sa.Connection, orders: sa.Table) -> tuple[Customer, Case]:
    ada = store.customers.add(Customer.new("Ada", clock=CLOCK))
    case = store.cases.add(Case.open(ada.id, "refund", clock=CLOCK))
    conn.execute(sa.insert(orders).values(id=1, customer=str(ada.id)))
    return ada, case


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_a_host_rollback_takes_the_records_and_their_feed_entries_with_it(
    host_engine: sa.Engine,
) -> None:
    orders = _orders(host_engine)
    with host_engine.connect() as conn:
        host = conn.begin()
        with open_store(conn) as store:
            _write_both(store, conn, orders)
            assert store.events.latest() == 2  # the host's transaction sees its own work
        host.rollback()
    with open_store(host_engine) as store, host_engine.connect() as conn:
        assert store.customers.count() == store.cases.count() == 0
        assert list(store.events.since(0)) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar() == 0


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_a_host_commit_lands_the_records_their_feed_entries_and_the_hosts_rows(
    host_engine: sa.Engine,
) -> None:
    orders = _orders(host_engine)
    with host_engine.connect() as conn:
        host = conn.begin()
        with open_store(conn) as store:
            ada, case = _write_both(store, conn, orders)
        # Until the host commits, nothing is visible from elsewhere: the store committed nothing.
        with open_store(host_engine) as other:
            assert other.customers.count() == 0
        host.commit()
    with open_store(host_engine) as store, host_engine.connect() as conn:
        assert store.cases.get(case.id) == case
        assert [(e.kind, e.record_id) for e in store.events.since(0)] == [
            ("customer", ada.id),
            ("case", case.id),
        ]
        assert conn.execute(sa.select(orders.c.customer)).scalar() == str(ada.id)


def _add_then_fail(store: Store, case: Case) -> None:
    store.cases.add(case)
    raise RuntimeError


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_the_store_never_ends_the_hosts_transaction(host_engine: sa.Engine) -> None:
    """A store transaction is a savepoint; a failed change undoes only itself; close is a no-op."""
    orders = _orders(host_engine)
    with host_engine.connect() as conn:
        host = conn.begin()
        conn.execute(sa.insert(orders).values(id=1, customer="before"))
        store = open_store(conn)
        ada = store.customers.add(Customer.new("Ada", clock=CLOCK))
        with pytest.raises(DuplicateError):
            store.customers.add(ada)
        undone = Case.open(ada.id, "undone", clock=CLOCK)
        with pytest.raises(RuntimeError), store.transaction():
            _add_then_fail(store, undone)
        with store.transaction():
            store.cases.add(Case.open(ada.id, "kept", clock=CLOCK))
        assert list(store.interactions.all()) == []
        store.close()
        assert host.is_active
        assert conn.in_transaction()
        assert not conn.closed
        conn.execute(sa.insert(orders).values(id=2, customer="after"))
        host.commit()
    with open_store(host_engine) as store, host_engine.connect() as conn:
        assert [c.subject for c in store.cases.all()] == ["kept"]
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar() == 2


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_a_connection_outside_a_transaction_is_left_outside_one(host_engine: sa.Engine) -> None:
    """Each operation is then its own transaction: it lands, and the host can begin its own."""
    migrate(host_engine)
    with host_engine.connect() as conn:
        store = open_store(conn)
        ada = store.customers.add(Customer.new("Ada", clock=CLOCK))
        assert list(store.customers.all()) == [ada]
        assert not conn.in_transaction()
        with conn.begin():
            pass
        store.close()
    with open_store(host_engine) as store:
        assert store.customers.get(ada.id) == ada


# -- the schema: never created by joining ----------------------------------------------


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_joining_a_database_without_the_tables_names_the_migration_and_creates_nothing(
    host_engine: sa.Engine,
) -> None:
    for target in (host_engine, host_engine.connect()):
        with pytest.raises(StorageError, match="custservice migrate"):
            open_store(target)
        if isinstance(target, sa.Connection):
            assert not target.in_transaction()
            target.close()
    assert _tables(host_engine) == set()


def test_joining_an_outdated_schema_names_the_migration(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "old.db")
    migrate(engine)
    with engine.begin() as conn:  # as an older version of the library would have marked it
        conn.exec_driver_sql("PRAGMA user_version = 1")
    with pytest.raises(
        StorageError, match=rf"schema version 1, not {VERSION}.*custservice migrate"
    ):
        open_store(engine)


@pytest.mark.parametrize("host_engine", ENGINES, indirect=True)
def test_tables_a_host_migration_makes_from_metadata_are_initialised_by_migrate(
    host_engine: sa.Engine,
) -> None:
    """The Alembic route: the host's migration creates the tables, then calls migrate()."""
    with host_engine.begin() as conn:
        metadata().create_all(conn)
    assert {"customers", "interactions", "cases", "events"} <= _tables(host_engine)
    with pytest.raises(StorageError, match="custservice migrate"):
        open_store(host_engine)
    if host_engine.dialect.name == "mysql":  # schema changes commit there: the engine, then
        assert migrate(host_engine) == 0
    else:
        with host_engine.begin() as conn:
            assert migrate(conn) == 0
    with open_store(host_engine) as store:
        ada = store.customers.add(Customer.new("Ada", clock=CLOCK))
        assert [e.record_id for e in store.events.since(0)] == [ada.id]
    assert migrate(host_engine) == VERSION


@pytest.mark.parametrize("host_engine", ["sqlite", "postgresql"], indirect=True)
def test_a_migration_rolled_back_by_the_host_leaves_no_table(host_engine: sa.Engine) -> None:
    with host_engine.connect() as conn:
        host = conn.begin()
        migrate(conn)
        assert host.is_active
        host.rollback()
    assert _tables(host_engine) == set()


@pytest.mark.parametrize("host_engine", ["mariadb"], indirect=True)
def test_mariadb_will_not_migrate_inside_a_hosts_transaction(host_engine: sa.Engine) -> None:
    """Its schema changes would commit the host's transaction; it says so and changes nothing."""
    with host_engine.connect() as conn:
        host = conn.begin()
        with pytest.raises(StorageError, match="commits every schema change"):
            migrate(conn)
        assert host.is_active
        host.rollback()
    assert _tables(host_engine) == set()


def test_another_applications_tables_are_refused_and_left_alone(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "theirs.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id TEXT)")
    for attempt in (open_store, migrate):
        with pytest.raises(StorageError, match="another application"):
            attempt(engine)
    assert _tables(engine) == {"customers"}


def test_only_engines_the_library_speaks_to_are_joined(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="SQLite has no schemas"):
        open_store(sa.create_engine("sqlite:///:memory:"), schema="x")
    async_driver = sa.create_engine("postgresql+psycopg_async://u@localhost/db")
    with pytest.raises(StorageError, match=r"psycopg_async engine is an async one.*open_async"):
        open_store(async_driver)
    with pytest.raises(StorageError, match="a URL says its own schema"):
        open_store("memory://", schema="x")


def test_a_closed_host_connection_is_refused(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "x.db")
    conn = engine.connect()
    conn.close()
    with pytest.raises(StorageError, match="closed"):
        open_store(conn)


def test_metadata_describes_the_tables_the_store_creates(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'x.db'}"):
        pass
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    inspector = sa.inspect(engine)
    md = metadata()
    assert set(md.tables) == set(inspector.get_table_names())
    for table in md.tables.values():
        assert [c.name for c in table.columns] == [
            c["name"] for c in inspector.get_columns(table.name)
        ]
    assert metadata("helpdesk").tables["helpdesk.cases"].schema == "helpdesk"
    assert metadata() is not md  # a fresh one each time: a host may add to it


def test_a_sqlite_engine_without_foreign_keys_is_refused_with_the_setting_to_add(
    tmp_path: Path,
) -> None:
    """The store relies on them to refuse records of customers not stored; it never sets them."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(sqlite_engine(tmp_path / "x.db"))
    with pytest.raises(StorageError, match="PRAGMA foreign_keys = ON"):
        open_store(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
