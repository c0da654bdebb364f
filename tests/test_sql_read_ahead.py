"""Reading ahead beside a snapshot (``Snapshot.read_ahead``), on every SQL engine: the rows
are the snapshot's, whatever is written meanwhile, and a second connection reads them
where one can read that snapshot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
from conftest import with_options

from custservice import Customer, FixedClock
from custservice.storage import open_store
from custservice.storage.sql import SqlStore

CLOCK = FixedClock(pendulum.datetime(2026, 3, 2, 9))

# A value each connection has of its own: PostgreSQL's and MariaDB's connection ids; on
# SQLite, the rows a connection has changed (the store's own wrote, a second has not).
_WHO = {
    "sqlite": "SELECT total_changes()",
    "postgresql": "SELECT pg_backend_pid()",
    "mysql": "SELECT connection_id()",
}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store's URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ahead.db'}"
    name = "pg_url" if request.param == "postgresql" else "mysql_url"
    found: str = request.getfixturevalue(name)
    return found


@pytest.fixture
def stores(url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """A store holding one customer, and a second store on the same database."""
    with open_store(url) as store, open_store(url) as writer:
        assert isinstance(store, SqlStore)
        assert isinstance(writer, SqlStore)
        store.customers.add(Customer.new("Ada", clock=CLOCK))
        yield store, writer


def _count(tables: Any) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(tables["customers"])


def test_rows_read_ahead_are_the_snapshots_on_a_connection_of_their_own(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = stores
    with store.sql_snapshot() as snapshot:
        who = sa.text(_WHO[snapshot.dialect])
        ahead = [snapshot.read_ahead(_count(snapshot.tables)), snapshot.read_ahead(who)]
        assert ahead[0].rows() == [(1,)]
        here = snapshot.connection.execute(who).scalar_one()
        assert ahead[1].rows()[0][0] != here


def test_a_write_landing_meanwhile_is_not_read_ahead(stores: tuple[SqlStore, SqlStore]) -> None:
    store, writer = stores
    with store.sql_snapshot() as snapshot:
        count = _count(snapshot.tables)
        assert snapshot.connection.execute(count).scalar_one() == 1  # the snapshot begins
        writer.customers.add(Customer.new("Grace", clock=CLOCK))
        # PostgreSQL reads the very snapshot beside it; elsewhere the change feed's
        # counter has moved, and the rows are read on the snapshot's own connection.
        assert snapshot.read_ahead(count).rows() == [(1,)]
    with store.sql_snapshot() as snapshot:
        assert snapshot.read_ahead(_count(snapshot.tables)).rows() == [(2,)]


def test_inside_a_transaction_block_the_blocks_own_writes_are_read(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = stores
    with store.transaction():
        store.customers.add(Customer.new("Grace", clock=CLOCK))
        with store.sql_snapshot() as snapshot:
            who = sa.text(_WHO[snapshot.dialect])
            ahead = [snapshot.read_ahead(_count(snapshot.tables)), snapshot.read_ahead(who)]
            assert ahead[0].rows() == [(2,)]
            assert ahead[1].rows()[0][0] == snapshot.connection.execute(who).scalar_one()


def test_a_failing_statement_fails_where_its_rows_are_asked_for_alone(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = stores
    with store.sql_snapshot() as snapshot:
        bad = snapshot.read_ahead(sa.text("SELECT no_such_column FROM customers"))
        good = snapshot.read_ahead(_count(snapshot.tables))
        assert good.rows() == [(1,)]
        with pytest.raises(sa.exc.SQLAlchemyError):
            bad.rows()
    # The snapshot's own connection was not spoilt by the second's error.
    assert store.customers.count() == 1


def test_statements_never_asked_for_end_with_the_snapshot(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, writer = stores
    before = threading.active_count()
    with store.sql_snapshot() as snapshot:
        for _ in range(3):
            snapshot.read_ahead(_count(snapshot.tables))
    assert threading.active_count() == before
    # Nothing is left reading: a write, and the store's own close, go through.
    writer.customers.add(Customer.new("Grace", clock=CLOCK))
    assert store.customers.count() == 2


def test_an_in_memory_database_reads_ahead_on_its_one_connection() -> None:
    with open_store("sqlite:///:memory:") as store:
        assert isinstance(store, SqlStore)
        store.customers.add(Customer.new("Ada", clock=CLOCK))
        with store.sql_snapshot() as snapshot:
            who = sa.text(_WHO["sqlite"])
            ahead = snapshot.read_ahead(who)
            assert ahead.rows() == list(snapshot.connection.execute(who))


@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_reads_beside_never_wait_for_a_pooled_connection(
    server: str, request: pytest.FixtureRequest
) -> None:
    # One pooled connection, waited for up to two minutes, which the snapshot holds:
    # the reads beside are on a connection of their own.
    url = with_options(request.getfixturevalue(server), max_size=1, timeout=120)
    with open_store(url) as store:
        store.customers.add(Customer.new("Ada", clock=CLOCK))
        with store.sql_snapshot() as snapshot:
            who = sa.text(_WHO[snapshot.dialect])
            ahead, read = snapshot.read_ahead(who), []
            reader = threading.Thread(target=lambda: read.extend(ahead.rows()))
            reader.start()
            reader.join(timeout=20)
            assert not reader.is_alive()
            assert read[0][0] != snapshot.connection.execute(who).scalar_one()


def test_with_a_writer_racing_every_read_ahead_is_the_snapshots(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, writer = stores
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            writer.customers.add(Customer.new("Grace", clock=CLOCK))

    racing = threading.Thread(target=write)
    racing.start()
    try:
        for _ in range(30):
            with store.sql_snapshot() as snapshot:
                count = _count(snapshot.tables)
                ahead = snapshot.read_ahead(count)
                assert ahead.rows() == list(snapshot.connection.execute(count))
    finally:
        stop.set()
        racing.join()
    assert store.customers.count() > 1
