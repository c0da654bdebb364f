"""The PostgreSQL store on a real server: what it does differently from the other engines.

The conformance kit (``tests/test_postgres_conformance.py``) runs every
behaviour stores share on this engine too; the tests here cover only what is
PostgreSQL's own: URLs and their options, the driver missing, schemas (naming,
refusal, upgrades under an advisory lock, transactional DDL), the ``COPY``
bulk path, the connection pool and lost connections, and processes racing
on a schema.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached the
tests that need it are skipped with the reason, or fail if
``CUSTSERVICE_REQUIRE_PG=1`` (as CI sets it). Every test works in a schema of
its own, with a random name, dropped when the test ends.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
from conftest import PG_SERVER, with_options
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import (
    Case,
    Channel,
    ConcurrencyError,
    Customer,
    FixedClock,
    Interaction,
    StorageError,
    ValidationError,
    open_store,
)
from custservice.storage.sql import VERSION, SqlStore, metadata, migrations
from custservice.storage.sql import store as sql_store
from custservice.storage.sql.postgresql import open_postgres_store

pytestmark = pytest.mark.postgres

T0 = pendulum.datetime(2026, 1, 5, 9)
RACE_ROUNDS = int(os.environ.get("CUSTSERVICE_PG_RACE_ROUNDS", "150"))
"""Read-modify-save cycles per process in the eight-process race: 1,200 contended saves
of 50 customers by default, as CI runs it; set more for a longer race."""
TABLES = {t.name for t in metadata().tables.values()}


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    with open_postgres_store(pg_url) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def customer(clock: FixedClock, name: str = "Ada Lovelace", **profile: Any) -> Customer:
    return Customer.new(name, clock=clock, **profile)


def interaction(clock: FixedClock, customer_id: uuid.UUID, at: Any = None) -> Interaction:
    return Interaction.open(customer_id, Channel.PHONE, clock=FixedClock(at) if at else clock)


def tables(admin: Any, schema: str) -> list[str]:
    rows = admin.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (schema,),
    ).fetchall()
    return [r[0] for r in rows]


def columns(admin: Any, schema: str, table: str) -> list[str]:
    rows = admin.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    )
    return [r[0] for r in rows]


def dump(admin: Any, schema: str) -> dict[str, list[str]]:
    """Every row of every table of a schema, as text: what a refusal must leave as it was."""
    return {
        table: sorted(r[0] for r in admin.execute(f'SELECT t::text FROM "{schema}"."{table}" AS t'))
        for table in tables(admin, schema)
    }


def meta(admin: Any, schema: str) -> dict[str, str]:
    return dict(admin.execute(f'SELECT key, value FROM "{schema}".custservice_meta').fetchall())


def backend_pids(admin: Any, application_name: str) -> list[int]:
    """The server processes serving connections opened with this ``application_name``."""
    sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
    return [r[0] for r in admin.execute(sql, (application_name,))]


def terminate(admin: Any, pids: list[int]) -> None:
    """Kill these server processes, as a restart or an administrator would; wait until gone."""
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone():
        assert time.monotonic() < deadline
        time.sleep(0.01)


# --- opening: URLs, options, the driver ----------------------------------------------------


def test_the_aliases_and_options_are_read(pg_admin: Any, pg_schema: str) -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        # Trust authentication ignores the password: it is here to be kept out of sight.
        base = scheme + PG_SERVER[PG_SERVER.index("://") :].replace("@", ":s3cret@", 1)
        name = f"cs-{uuid.uuid4().hex[:8]}"
        url = with_options(
            base, schema=pg_schema, min_size=2, max_size=3, timeout=7, application_name=name
        )
        with open_postgres_store(url) as store:
            assert store.driver.schema == pg_schema  # type: ignore[attr-defined]
            pool: Any = store._engine.pool
            assert (pool.size(), pool.timeout()) == (3, 7.0)
            assert len(backend_pids(pg_admin, name)) == 2  # min_size: opened at once
            with store.sql_snapshot() as snapshot:
                shown = snapshot.connection.exec_driver_sql("SHOW application_name").scalar()
            assert shown == name
            assert "s3cret" not in repr(store)
            assert "s3cret" not in store.driver.describe()
    assert set(tables(pg_admin, pg_schema)) == TABLES


@pytest.mark.parametrize(
    "options",
    [
        {"min_size": "x"},
        {"max_size": "0"},
        {"min_size": "5", "max_size": "2"},
        {"timeout": "soon"},
        {"timeout": "0"},
        {"timeout": "nan"},
        {"schema": "bad-name"},
        {"schema": 'x"; DROP TABLE y; --'},
        {"schema": "x" * 64},
        {"colour": "blue"},  # not ours, not libpq's
    ],
)
def test_malformed_options_are_storage_errors(options: dict[str, str]) -> None:
    with pytest.raises(StorageError):
        open_postgres_store(with_options(PG_SERVER, **options))


def test_other_schemes_are_refused() -> None:
    with pytest.raises(StorageError, match="malformed PostgreSQL URL"):
        open_postgres_store("mysql://root@localhost/db")


def mixed_case(text: str) -> st.SearchStrategy[str]:
    """``text`` with each letter in either case."""
    return st.tuples(*(st.sampled_from(sorted({c.lower(), c.upper()})) for c in text)).map("".join)


def test_any_case_of_the_scheme_opens_the_same_schema(pg_url: str, clock: FixedClock) -> None:
    """Schemes are case-insensitive (RFC 3986): ``POSTGRES://``, ``PostgreSQL+Psycopg://``…"""
    with open_postgres_store(pg_url) as store:
        ada = store.customers.add(customer(clock))
    small = with_options(pg_url, min_size=0, max_size=1)
    rest = small[small.index("://") :]  # urlsplit would lowercase the scheme: keep it out
    schemes = st.sampled_from(["postgresql", "postgres", "postgresql+psycopg"]).flatmap(mixed_case)

    @settings(max_examples=20)
    @given(scheme=schemes, direct=st.booleans())
    def check(scheme: str, direct: bool) -> None:
        opener: Callable[[str], Any] = open_postgres_store if direct else open_store
        with opener(scheme + rest) as again:
            assert again.customers.get(ada.id) == ada

    check()


def test_opening_only_an_existing_store_creates_nothing(
    pg_admin: Any, pg_schema: str, pg_url: str, clock: FixedClock
) -> None:
    """``create=False`` (what ``custservice report`` asks): a schema that does not exist,
    or holds no custservice store, is a ``StorageError`` naming it, and nothing is made."""
    with pytest.raises(StorageError, match=f"schema '{pg_schema}' does not exist"):
        open_store(pg_url, create=False)
    found = "SELECT count(*) FROM pg_namespace WHERE nspname = %s"
    assert pg_admin.execute(found, (pg_schema,)).fetchone() == (0,)
    pg_admin.execute(f'CREATE SCHEMA "{pg_schema}"')
    with pytest.raises(StorageError, match="holds no custservice store"):
        open_postgres_store(pg_url, create=False)
    assert tables(pg_admin, pg_schema) == []
    with open_postgres_store(pg_url) as made:
        ada = made.customers.add(customer(clock))
    with open_store(pg_url, create=False) as existing:
        assert existing.customers.get(ada.id) == ada


def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    # Port 1 on this machine: nothing listens there.
    url = "postgresql://someone:s3cret@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(
        StorageError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:1/db"
    ) as e:
        open_postgres_store(url)
    assert "s3cret" not in str(e.value)


def test_a_password_in_the_options_is_never_shown() -> None:
    from custservice.storage.registry import redact

    url = "postgresql://someone:s3cret@127.0.0.1:1/db?password=s3cret&connect_timeout=2"
    assert "s3cret" not in redact(url)
    assert redact(url).endswith("?password=***&connect_timeout=2")
    with pytest.raises(StorageError) as failed:
        open_store(url)
    assert "s3cret" not in str(failed.value)


def test_opening_without_psycopg_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(StorageError, match=r'pip install "custservice\[postgres\]"'):
        open_postgres_store("postgresql://postgres@127.0.0.1/test")


def test_custservice_imports_and_opens_other_stores_without_psycopg() -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "import custservice\n"
        "from custservice import StorageError, open_store\n"
        "open_store('memory://').close()\n"
        "open_store('sqlite:///:memory:').close()\n"
        "for url in ('postgresql://postgres@127.0.0.1/test', 'postgres://x@127.0.0.1/test'):\n"
        "    try:\n"
        "        open_store(url)\n"
        "    except StorageError as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.count('pip install "custservice[postgres]"') == 2


# --- the schema: naming, marking, refusal, upgrades ----------------------------------------


def test_a_new_schema_is_created_with_its_name_as_written_and_marked(
    pg_admin: Any, pg_schema: str, clock: FixedClock
) -> None:
    """The name is used exactly as written: PostgreSQL folds unquoted names to lower case,
    so a mixed-case one must be quoted everywhere."""
    name = pg_schema.replace("cs_test", "Cs_Test")
    url = with_options(PG_SERVER, schema=name)
    try:
        with open_postgres_store(url) as store:
            ada = store.customers.add(customer(clock))
        assert set(tables(pg_admin, name)) == TABLES
        assert tables(pg_admin, pg_schema) == []
        assert meta(pg_admin, name) == {
            "application": "custservice",
            "schema_version": str(VERSION),
        }
        with open_postgres_store(url) as store:  # reopening changes nothing
            assert store.customers.get(ada.id) == ada
        assert meta(pg_admin, name)["schema_version"] == str(VERSION)
    finally:
        pg_admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_a_schema_shared_with_unrelated_tables_is_used(
    pg_admin: Any, pg_schema: str, pg_url: str, clock: FixedClock
) -> None:
    pg_admin.execute(f'CREATE SCHEMA "{pg_schema}"')
    pg_admin.execute(f'CREATE TABLE "{pg_schema}".notes (body TEXT)')
    with open_postgres_store(pg_url) as store:
        store.customers.add(customer(clock))
    assert set(tables(pg_admin, pg_schema)) == TABLES | {"notes"}


def refused(admin: Any, schema: str, url: str, match: str) -> None:
    before = dump(admin, schema)
    with pytest.raises(StorageError, match=match):
        open_postgres_store(url)
    assert dump(admin, schema) == before


def test_a_newer_schema_is_refused_untouched(
    pg_admin: Any, pg_schema: str, pg_url: str, clock: FixedClock
) -> None:
    with open_postgres_store(pg_url) as store:
        store.customers.add(customer(clock))
    pg_admin.execute(
        f"UPDATE \"{pg_schema}\".custservice_meta SET value = %s WHERE key = 'schema_version'",
        (str(VERSION + 1),),
    )
    refused(pg_admin, pg_schema, pg_url, "newer")


@pytest.mark.parametrize("table", ["customers", "events", "custservice_meta"])
def test_another_applications_tables_are_refused_untouched(
    pg_admin: Any, pg_schema: str, pg_url: str, table: str
) -> None:
    pg_admin.execute(f'CREATE SCHEMA "{pg_schema}"')
    pg_admin.execute(f'CREATE TABLE "{pg_schema}"."{table}" (key TEXT, value TEXT)')
    pg_admin.execute(f"INSERT INTO \"{pg_schema}\".\"{table}\" VALUES ('keep', 'me')")
    refused(pg_admin, pg_schema, pg_url, "another application")
    assert tables(pg_admin, pg_schema) == [table]


def test_a_marker_of_another_application_is_refused(
    pg_admin: Any, pg_schema: str, pg_url: str
) -> None:
    pg_admin.execute(f'CREATE SCHEMA "{pg_schema}"')
    pg_admin.execute(f'CREATE TABLE "{pg_schema}".custservice_meta (key TEXT, value TEXT)')
    pg_admin.execute(
        f"INSERT INTO \"{pg_schema}\".custservice_meta VALUES ('application', 'other')"
    )
    refused(pg_admin, pg_schema, pg_url, "another application")


def test_a_failed_upgrade_leaves_the_schema_at_its_old_version_untouched(
    pg_admin: Any, pg_schema: str, pg_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema changes are transactional on PostgreSQL: a column the upgrade added before
    it failed is gone again."""
    with open_postgres_store(pg_url) as store:
        ada = store.customers.add(customer(clock, segment="vip"))
    # A version-1 schema lacks the typed columns: take one away and record version 1.
    pg_admin.execute(f'ALTER TABLE "{pg_schema}".customers DROP COLUMN segment')
    pg_admin.execute(
        f"UPDATE \"{pg_schema}\".custservice_meta SET value = '1' WHERE key = 'schema_version'"
    )
    before = dump(pg_admin, pg_schema)

    added: list[bool] = []

    def boom(conn: sa.Connection, table: sa.Table) -> None:
        present = sa.inspect(conn).get_columns("customers", schema=pg_schema)
        added.append("segment" in {c["name"] for c in present})
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrations, "_fill", boom)
    with pytest.raises(
        StorageError, match=rf"from schema version 1 to {VERSION} failed .*disk on fire"
    ):
        open_postgres_store(pg_url)
    assert added == [True]  # the column was there, in the upgrade's transaction
    assert "segment" not in columns(pg_admin, pg_schema, "customers")
    assert dump(pg_admin, pg_schema) == before
    monkeypatch.undo()
    with open_postgres_store(pg_url) as store:
        assert store.customers.get(ada.id) == ada
        assert store.events.latest() == 1
    assert meta(pg_admin, pg_schema)["schema_version"] == str(VERSION)
    filled = pg_admin.execute(f'SELECT segment FROM "{pg_schema}".customers').fetchall()
    assert filled == [("vip",)]


def test_a_failed_first_migration_leaves_no_schema(
    pg_admin: Any, pg_schema: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = migrations._create

    def boom(*args: Any) -> None:
        create(*args)
        raise RuntimeError("no")

    monkeypatch.setattr(migrations, "_create", boom)
    with pytest.raises(StorageError, match="nothing was changed"):
        open_postgres_store(pg_url)
    found = "SELECT count(*) FROM pg_namespace WHERE nspname = %s"
    assert pg_admin.execute(found, (pg_schema,)).fetchone() == (0,)


@pytest.mark.parametrize("start", ["new", "version 1"])
def test_processes_opening_a_schema_at_once_migrate_it_once(
    pg_admin: Any, pg_schema: str, pg_url: str, clock: FixedClock, start: str
) -> None:
    """Openers take turns under an advisory lock: the first migrates, the others find it
    done. Threads stand in for processes: each store opens connections of its own."""
    if start == "version 1":
        with open_postgres_store(pg_url) as store:
            store.customers.add(customer(clock))
        pg_admin.execute(f'ALTER TABLE "{pg_schema}".interactions DROP COLUMN channel')
        pg_admin.execute(
            f"UPDATE \"{pg_schema}\".custservice_meta SET value = '1' WHERE key = 'schema_version'"
        )
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_it() -> None:
        try:
            barrier.wait(10)
            with open_postgres_store(with_options(pg_url, max_size=1)) as store:
                store.customers.add(customer(clock, "Bob"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_it) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert meta(pg_admin, pg_schema) == {
        "application": "custservice",
        "schema_version": str(VERSION),
    }
    assert "channel" in columns(pg_admin, pg_schema, "interactions")
    head = pg_admin.execute(f'SELECT position FROM "{pg_schema}".events_head').fetchall()
    existing = 1 if start == "version 1" else 0
    assert head == [(existing + 6,)]


# --- what goes through COPY ---------------------------------------------------------------


def test_copy_stores_exactly_the_rows_insert_stores(pg_admin: Any, pg_schema: str) -> None:
    """``add_many`` sends rows with ``COPY``, ``add`` with ``INSERT``: every column, the
    stored text and each typed one, must come out the same, free text with backslashes,
    tabs and line breaks included."""
    from custservice.simulation import simulate

    with open_store("memory://") as source:
        simulate(source, customers=12, months=2, seed=5)
        hostile = customer(FixedClock(T0), "O'Hara \\N \\\\ \t tab \n line \u00e9 \U0001f600")
        source.customers.add(hostile)
        records = {
            kind: list(getattr(source, kind).all())
            for kind in ("customers", "interactions", "cases")
        }
    assert any(i.feedback is not None for i in records["interactions"])
    one, many = f"{pg_schema}_insert", f"{pg_schema}_copy"
    try:
        with open_postgres_store(with_options(PG_SERVER, schema=one)) as store:
            for kind, rows in records.items():
                for record in rows:
                    getattr(store, kind).add(record)
        with open_postgres_store(with_options(PG_SERVER, schema=many)) as store:
            for kind, rows in records.items():
                assert getattr(store, kind).add_many(rows) == len(rows)
            assert store.customers.get(hostile.id).name == hostile.name
        for table in ("customers", "interactions", "cases"):
            inserted, copied = (
                pg_admin.execute(f'SELECT * FROM "{schema}".{table} ORDER BY id').fetchall()
                for schema in (one, many)
            )
            assert len(inserted) == len(records[table])
            assert copied == inserted
    finally:
        for schema in (one, many):
            pg_admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_text_that_cannot_be_encoded_is_a_validation_error(
    store: SqlStore, clock: FixedClock
) -> None:
    with pytest.raises(ValidationError):
        store.customers.add(customer(clock, "Ada \ud800"))
    with pytest.raises(ValidationError):
        store.customers.add_many([customer(clock, "Bob"), customer(clock, "Ada \ud800")])
    assert store.customers.count() == 0
    assert store.events.latest() == 0


# --- reading: keyset pages over native UUIDs -----------------------------------------------


@pytest.mark.parametrize("inside", [False, True], ids=["outside", "in-transaction"])
def test_iteration_reads_in_pages_across_ties(
    pg_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    """Pages continue after the last ``(opened_at, id)`` read: ids are native ``UUID``s
    here, which must order as the text the page resumes from."""
    monkeypatch.setattr(sql_store, "PAGE", 3)
    with open_postgres_store(pg_url) as store:
        ada = store.customers.add(customer(clock))
        same = [interaction(clock, ada.id) for _ in range(11)]
        later = [interaction(clock, ada.id, T0.add(minutes=m)) for m in (1, 1, 2)]
        store.interactions.add_many(same + later)
        expected = [r.id for r in sorted(same + later, key=lambda r: (r.opened_at, str(r.id)))]

        def check() -> None:
            assert [r.id for r in store.interactions.for_customer(ada.id)] == expected
            assert [r.id for r in store.interactions.all()] == expected
            window = store.interactions.for_customer(ada.id, since=T0, until=T0.add(minutes=2))
            assert [r.id for r in window] == expected[:13]
            assert [e.position for e in store.events.since(0)] == list(range(1, 16))
            assert [e.position for e in store.events.since(4)] == list(range(5, 16))

        if inside:
            with store.transaction():
                check()
        else:
            check()


# --- the pool: connections held, and lost ----------------------------------------------------


def test_a_half_read_iterator_holds_no_connection(pg_url: str, clock: FixedClock) -> None:
    with open_postgres_store(with_options(pg_url, max_size=1, timeout=1)) as store:
        ada = store.customers.add(customer(clock))
        store.interactions.add_many(interaction(clock, ada.id) for _ in range(3))
        # Between pages an iterator holds nothing: the pool's only connection is free.
        rows = store.interactions.all()
        next(rows)
        calls = store.interactions.for_customer(ada.id)
        next(calls)
        feed = store.events.since(0)
        next(feed)
        assert store.customers.count() == 1
        store.customers.add(customer(clock, "Bob"))
        assert len([*rows, *calls]) == 4
        assert len(list(feed)) == 3  # the rest of its first page: it ended short
        with store.transaction():
            inside = store.interactions.all()
            next(inside)
        assert store.customers.count() == 2
        assert len(list(inside)) == 2  # resumed after the block, on a connection of its own
        # What does tie up a connection is a transaction block: another thread then waits
        # for it, up to the timeout.
        entered, leave = threading.Event(), threading.Event()

        def block() -> None:
            with store.transaction():
                store.customers.count()
                entered.set()
                leave.wait(30)

        holder = threading.Thread(target=block)
        holder.start()
        assert entered.wait(30)
        try:
            with pytest.raises(StorageError, match="became free in time"):
                store.customers.count()
        finally:
            leave.set()
            holder.join(30)
        assert store.customers.count() == 2


class Lending:
    """Counts, through the pool's events, the connections each thread holds at once."""

    def __init__(self, engine: sa.Engine) -> None:
        self.lock = threading.Lock()
        self.owner: dict[int, int] = {}  # connection record -> the thread holding it
        self.held: dict[int, int] = {}  # thread -> connections it holds now
        self.most = 0
        self.lent = 0
        sa.event.listen(engine, "checkout", self.checkout)
        sa.event.listen(engine, "checkin", self.checkin)

    def checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        me = threading.get_ident()
        with self.lock:
            self.owner[id(record)] = me
            self.held[me] = self.held.get(me, 0) + 1
            self.most = max(self.most, self.held[me])
            self.lent += 1

    def checkin(self, dbapi_connection: Any, record: Any) -> None:
        with self.lock:
            thread = self.owner.pop(id(record), None)
            if thread is not None:
                self.held[thread] -= 1


@pytest.mark.parametrize("size", [1, 2])
def test_no_thread_ever_holds_two_pooled_connections(pg_url: str, size: int) -> None:
    """Whatever a thread nests (the planner's three iterations at once, the report's
    per-customer reads while it walks the customers, reads and writes inside a
    transaction block), it holds at most one pooled connection: sixteen such callers
    share a pool of one or two connections, and none waits on a connection it holds."""
    from custservice.analytics import plan_follow_ups
    from custservice.report import build_report, latest_change
    from custservice.simulation import DEMO_TARGETS, simulate

    callers = 16
    with open_postgres_store(with_options(pg_url, max_size=size, timeout=120)) as store:
        simulate(store, customers=6, months=1, seed=3)
        at = latest_change(store)
        assert at is not None
        lending = Lending(store._engine)
        barrier = threading.Barrier(callers)
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                barrier.wait(60)
                plan_follow_ups(store, window_start=at, window_end=at.add(days=30))
                build_report(store, at=at, targets=DEMO_TARGETS)
                with store.sql_snapshot() as snapshot:  # iterations inside a snapshot
                    for c in store.customers.all():
                        snapshot.connection.exec_driver_sql("SELECT 1")
                        list(store.cases.for_customer(c.id))
                for c in store.customers.all():
                    events = store.events.since(0)
                    for _ in store.interactions.for_customer(c.id):
                        next(events, None)  # two iterations under way at once
                    store.export(c.id)
                if k % 4 == 0:
                    someone = next(store.customers.all())
                    with store.transaction():
                        for _ in store.cases.for_customer(someone.id):
                            next(store.interactions.all(), None)
                        store.interactions.add(interaction(FixedClock(at), someone.id))
                        store.export(someone.id)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(callers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(600)
            assert not w.is_alive(), "a caller never finished: waiting on the pool?"
        assert lending.most == 1  # first: a thread that held two may then have timed out
        assert errors == []
        assert lending.lent > callers
        assert set(lending.held.values()) == {0}


def test_a_connection_killed_mid_transaction_is_a_storage_error_and_stores_nothing(
    store: SqlStore, pg_admin: Any, clock: FixedClock
) -> None:
    import psycopg

    ada = store.customers.add(customer(clock))
    before = store.events.latest()
    with (  # noqa: PT012
        pytest.raises(StorageError, match="lost the connection") as lost,
        store.transaction(),
    ):
        store.customers.add(customer(clock, "Bob"))
        with store.sql_snapshot() as snapshot:  # inside the block: the block's connection
            pid = snapshot.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        terminate(pg_admin, [pid])
        store.customers.save(ada.with_profile(segment="vip"))
    assert not isinstance(lost.value, psycopg.Error)
    assert "nothing was changed" in str(lost.value)
    # Nothing partial is stored, and the next operations work.
    assert store.customers.count() == 1
    assert store.customers.get(ada.id) == ada
    assert store.events.latest() == before
    store.customers.add(customer(clock, "Cy"))
    assert store.customers.count() == 2
    assert store.events.latest() == before + 1


def test_a_table_dropped_behind_the_librarys_back_is_a_storage_error(
    store: SqlStore, pg_admin: Any, pg_schema: str, clock: FixedClock
) -> None:
    import psycopg

    pg_admin.execute(f'DROP TABLE "{pg_schema}".cases')
    with pytest.raises(StorageError, match="PostgreSQL") as failed:
        store.cases.count()
    assert not isinstance(failed.value, psycopg.Error)
    store.customers.add(customer(clock))  # the store carries on
    assert store.customers.count() == 1


LOST_CONNECTIONS = """
import logging, time
import psycopg
from custservice import StorageError, open_store

if configured:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("sqlalchemy.pool").setLevel(logging.INFO)  # as SQLAlchemy documents
with open_store(url) as store:
    assert store.customers.count() == 0
    with psycopg.connect(server, autocommit=True) as admin:
        ours = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        pids = [pid for (pid,) in admin.execute(ours, (name,)).fetchall()]
        assert len(pids) == 2, pids
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute(ours, (name,)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    failures = 0
    for _ in range(3):
        try:
            store.customers.count()
        except StorageError:
            failures += 1
    assert failures == 1, failures  # every connection of the pool was dead: one failure
    assert store.customers.count() == 0
    # What the pool and the driver would say at their worst, had nobody configured logging.
    logging.getLogger("sqlalchemy.pool.impl.QueuePool").error("pool: an error")
    logging.getLogger("psycopg").warning("driver: a warning")
print("done")
"""


@pytest.mark.parametrize("configured", [False, True], ids=["no-logging", "logging-configured"])
def test_lost_connections_are_logged_never_printed_by_the_library(
    pg_url: str, configured: bool
) -> None:
    """An application that configured no logging sees nothing on stderr when connections
    are lost (the library's, SQLAlchemy's and psycopg's loggers end in a
    ``NullHandler``); one that configured logging gets those records, as it asked."""
    name = f"cs-log-{uuid.uuid4().hex[:8]}"
    given = {
        "configured": configured,
        "url": with_options(pg_url, min_size=2, max_size=2, application_name=name),
        "server": PG_SERVER,
        "name": name,
    }
    script = "".join(f"{k} = {v!r}\n" for k, v in given.items()) + LOST_CONNECTIONS
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    if configured:
        assert "custservice.storage.sql.postgresql: lost a connection" in result.stderr
        assert "sqlalchemy.pool.impl.QueuePool: Invalidate connection" in result.stderr
        assert "pool: an error" in result.stderr
        assert "driver: a warning" in result.stderr
    else:
        assert result.stderr == ""


# --- threads and processes sharing a schema -------------------------------------------------


def test_a_feed_reader_resuming_from_its_position_misses_nothing(
    store: SqlStore, clock: FixedClock
) -> None:
    """Positions follow commit order, with writers committing at once on several
    connections: a reader never sees a later position before an earlier one.

    With positions handed out at insert time (an identity column), a transaction
    that took position 5 and commits after the one that took 6 makes a reader that
    resumed from 6 skip 5 for ever.
    """
    owners = [store.customers.add(customer(clock, f"Owner {k}")) for k in range(4)]
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for n in range(15):
                with store.transaction():
                    store.interactions.add(interaction(clock, owners[k].id))
                    time.sleep(0.002 * (n % 3))  # commits come late, in varying order
                    store.cases.add(Case.open(owners[k].id, f"case {n}", clock=clock))
        except BaseException as exc:
            errors.append(exc)

    def follow() -> None:
        position = 0
        try:
            while not stop.is_set():
                for entry in store.events.since(position):
                    seen.append(entry.position)
                    position = entry.position
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=follow)
    reader.start()
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    time.sleep(0.2)
    stop.set()
    reader.join(timeout=30)
    assert errors == []
    latest = store.events.latest()
    assert latest == 4 + 4 * 15 * 2
    assert seen == list(range(1, latest + 1))


def test_blocks_and_single_saves_racing_on_the_same_records_never_deadlock(
    store: SqlStore, clock: FixedClock
) -> None:
    """Every writer takes the feed's counter before it locks a record, a single save
    (one statement on PostgreSQL) as much as a block: blocks saving two customers in
    one order and single saves of them in the other lose races (ConcurrencyError) but
    never deadlock (which PostgreSQL would end with a StorageError after a second)."""
    pair = [store.customers.add(customer(clock, f"Shared {k}")) for k in range(2)]
    errors: list[BaseException] = []
    won = [0, 0]

    def racer(k: int) -> None:
        # Forty rounds each, and on (to 400) until each side has won a race: who wins is
        # the scheduler's to say, and forty lost in a row is rare, not impossible.
        for n in range(400):
            if n >= 40 and min(won) > 0:
                break
            try:
                if k % 2:
                    with store.transaction():
                        for c in pair:
                            current = store.customers.get(c.id)
                            time.sleep(0.001)  # the other side locks the next one meanwhile
                            store.customers.save(current.with_profile(segment=f"b{k}-{n}"))
                else:
                    for c in reversed(pair):
                        current = store.customers.get(c.id)
                        store.customers.save(current.with_profile(segment=f"s{k}-{n}"))
                won[k % 2] += 1
            except ConcurrencyError:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=racer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert won[0] > 0
    assert won[1] > 0
    entries = list(store.events.since(0))
    assert [e.position for e in entries] == list(range(1, len(entries) + 1))
    for c in pair:  # every save that won is an entry, and the version counts them
        saves = [e for e in entries if e.record_id == c.id and e.action == "save"]
        assert store.customers.get(c.id).version == 1 + len(saves)


RACER = """
import random, uuid
from custservice import ConcurrencyError, open_store

saved, conflicts, errors = {}, 0, []
rng = random.Random(seed)
with open_store(url) as store:
    barrier.wait(120)
    for n in range(rounds):
        cid = uuid.UUID(rng.choice(ids))
        try:
            current = store.customers.get(cid)
            store.customers.save(current.with_profile(segment=f"s{seed}-{n}"))
            saved[str(cid)] = saved.get(str(cid), 0) + 1
        except ConcurrencyError:
            conflicts += 1
        except BaseException as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
results.put({"saved": saved, "conflicts": conflicts, "errors": errors})
"""


@pytest.mark.slow
def test_eight_processes_racing_on_shared_customers_lose_no_update(
    store: SqlStore, pg_url: str, pg_admin: Any, pg_schema: str, clock: FixedClock
) -> None:
    customers = [customer(clock, f"Shared {k}") for k in range(50)]
    store.customers.add_many(customers)
    ids = [str(c.id) for c in customers]
    processes_n = 8
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    barrier = context.Barrier(processes_n)
    processes = [
        context.Process(
            target=exec,  # the racer's code travels as text: a test module cannot be imported
            args=(
                RACER,
                {
                    "url": with_options(pg_url, max_size=1),
                    "ids": ids,
                    "rounds": RACE_ROUNDS,
                    "seed": k,
                    "barrier": barrier,
                    "results": results,
                },
            ),
        )
        for k in range(processes_n)
    ]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    assert [o["errors"] for o in outcomes] == [[]] * processes_n
    for o in outcomes:
        assert sum(o["saved"].values()) + o["conflicts"] == RACE_ROUNDS
    saved: dict[str, int] = {}
    for o in outcomes:
        for cid, n in o["saved"].items():
            saved[cid] = saved.get(cid, 0) + n
    assert sum(saved.values()) > 0
    for c in store.customers.all():
        assert c.version == 1 + saved.get(str(c.id), 0)
    # The typed column follows the last save, as the stored text does.
    rows = pg_admin.execute(f'SELECT id, segment FROM "{pg_schema}".customers').fetchall()
    assert dict(rows) == {c.id: c.segment for c in store.customers.all()}
    entries = [e for e in store.events.since(0) if e.action == "save"]
    assert len(entries) == sum(saved.values())
    versions: dict[uuid.UUID, list[int | None]] = {}
    for e in entries:
        versions.setdefault(e.record_id, []).append(e.version)
    for cid, seen in versions.items():
        assert seen == list(range(2, 2 + saved[str(cid)]))
    with pytest.raises(ConcurrencyError):  # and a stale copy from before the race is refused
        store.customers.save(customers[0])
