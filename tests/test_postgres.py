"""The PostgreSQL backend on a real server: behaviour, schema, concurrency, erasure, failures.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached the
tests that need it are skipped with the reason, or fail if
``CUSTSERVICE_REQUIRE_PG=1`` (as CI sets it). Every test works in a schema of
its own, with a random name, dropped when the test ends.

The same behaviour as the in-memory reference is checked side by side by a
Hypothesis state machine at the end, as for SQLite.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pendulum
import pytest
from conftest import require

from custservice import (
    Case,
    Channel,
    ConcurrencyError,
    Customer,
    DuplicateError,
    FixedClock,
    Interaction,
    NotFound,
    StorageError,
    ValidationError,
    to_dict,
)
from custservice._records import replace
from custservice.storage import postgres as pg_backend
from custservice.storage.postgres import APPLICATION, MIGRATIONS, PostgresStore, open_postgres_store

T0 = pendulum.datetime(2026, 1, 5, 9)
SERVER = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
RACE_ROUNDS = int(os.environ.get("CUSTSERVICE_PG_RACE_ROUNDS", "500"))
"""Read-modify-save cycles per process in the eight-process race (CI uses the default)."""


# --- the server, and a schema of each test's own ------------------------------------


def with_options(url: str, **options: Any) -> str:
    """``url`` with ``options`` added to its query string."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *((k, str(v)) for k, v in options.items())]
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    """An autocommit connection to the server, or a visible skip (a failure in CI)."""
    try:
        import psycopg
    except ImportError:
        require("PostgreSQL", "CUSTSERVICE_REQUIRE_PG", "psycopg is not installed")
    try:
        conn = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = f"no server at {pg_backend._safe(SERVER)} ({str(exc).strip().splitlines()[0]})"
        require("PostgreSQL", "CUSTSERVICE_REQUIRE_PG", reason)
    yield conn
    conn.close()


@pytest.fixture
def schema(admin: Any) -> Iterator[str]:
    """A fresh schema name; the schema is dropped when the test ends."""
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    yield name
    admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def url(schema: str) -> str:
    return with_options(SERVER, schema=schema)


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    with open_postgres_store(url) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def customer(clock: FixedClock, name: str = "Ada Lovelace", **profile: Any) -> Customer:
    return Customer.new(name, clock=clock, **profile)


def interaction(
    clock: FixedClock, customer_id: uuid.UUID, at: dt.datetime | None = None
) -> Interaction:
    return Interaction.open(customer_id, Channel.PHONE, clock=FixedClock(at) if at else clock)


def tables(admin: Any, schema: str) -> list[str]:
    rows = admin.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (schema,),
    ).fetchall()
    return [r[0] for r in rows]


def dump(admin: Any, schema: str) -> dict[str, list[str]]:
    """Every row of every table of a schema, as text: what a refusal must leave as it was."""
    return {
        table: sorted(r[0] for r in admin.execute(f'SELECT t::text FROM "{schema}"."{table}" AS t'))
        for table in tables(admin, schema)
    }


def meta(admin: Any, schema: str) -> dict[str, str]:
    return dict(admin.execute(f'SELECT key, value FROM "{schema}".custservice_meta').fetchall())


# --- opening: URLs, options, the driver ------------------------------------------------------


def test_the_postgres_aliases_and_options_are_read(admin: Any, schema: str) -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        base = scheme + SERVER[SERVER.index("://") :]
        url = with_options(
            base, schema=schema, min_size=2, max_size=3, timeout=7, application_name="cs-test"
        )
        with open_postgres_store(url) as store:
            assert store.schema == schema
            assert (store._pool.min_size, store._pool.max_size, store._timeout) == (2, 3, 7.0)
            with store._connection() as conn:
                name = conn.execute("SHOW application_name").fetchone()
            assert name == ("cs-test",)
            assert "password" not in repr(store)
    assert "custservice_meta" in tables(admin, schema)


@pytest.mark.parametrize(
    "options",
    [
        {"min_size": "x"},
        {"max_size": "0"},
        {"min_size": "5", "max_size": "2"},
        {"timeout": "soon"},
        {"timeout": "0"},
        {"schema": "bad-name"},
        {"schema": 'x"; DROP TABLE y; --'},
        {"colour": "blue"},  # not ours, not libpq's
    ],
)
def test_malformed_options_are_storage_errors(options: dict[str, str]) -> None:
    with pytest.raises(StorageError):
        open_postgres_store(with_options(SERVER, **options))


def test_other_schemes_are_refused() -> None:
    with pytest.raises(StorageError, match="malformed PostgreSQL URL"):
        open_postgres_store("mysql://root@localhost/db")


def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    # Port 1 on this machine: nothing listens there.
    with pytest.raises(StorageError, match="cannot connect") as failed:
        open_postgres_store("postgresql://someone:s3cret@127.0.0.1:1/db?connect_timeout=2")
    assert "s3cret" not in str(failed.value)


def test_opening_without_psycopg_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(StorageError, match=r'pip install "custservice\[postgres\]"'):
        open_postgres_store("postgresql://postgres@127.0.0.1/test")


def test_custservice_imports_and_opens_other_stores_without_psycopg() -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = sys.modules['psycopg_pool'] = None\n"
        "import custservice\n"
        "from custservice import StorageError, open_store\n"
        "open_store('memory://').close()\n"
        "from custservice.storage.postgres import open_postgres_store\n"
        "try:\n"
        "    open_postgres_store('postgresql://postgres@127.0.0.1/test')\n"
        "except StorageError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert 'pip install "custservice[postgres]"' in out


# --- from here on, a server is needed ------------------------------------------------------


def test_a_closed_store_raises_storage_error(store: PostgresStore, clock: FixedClock) -> None:
    ada = store.customers.add(customer(clock))
    store.close()
    store.close()  # harmless
    for operation in (
        lambda: store.customers.get(ada.id),
        lambda: store.customers.add(customer(clock)),
        lambda: store.customers.add_many([customer(clock)]),
        lambda: store.customers.save(ada),
        lambda: store.customers.count(),
        lambda: store.interactions.all(),
        lambda: store.interactions.for_customer(ada.id),
        lambda: store.events.since(0),
        lambda: store.events.latest(),
        lambda: store.forget(ada.id),
        lambda: store.export(ada.id),
        lambda: store.transaction().__enter__(),
    ):
        with pytest.raises(StorageError, match="closed"):
            operation()


def test_an_iterator_fails_cleanly_when_the_store_closes_under_it(
    store: PostgresStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_backend, "PAGE", 2)
    ada = store.customers.add(customer(clock))
    store.interactions.add_many(interaction(clock, ada.id) for _ in range(5))
    rows = store.interactions.all()
    next(rows)
    store.close()
    next(rows)  # still in the first page
    with pytest.raises(StorageError, match="closed"):
        next(rows)


# --- records ----------------------------------------------------------------------


def test_add_get_count(store: PostgresStore, clock: FixedClock) -> None:
    ada = customer(clock, email="ada@example.com", hobbies={"chess"})
    stored = store.customers.add(ada)
    assert stored.version == 1
    assert ada.version == 0
    assert stored == replace(ada, version=1)
    assert store.customers.get(ada.id) == stored
    assert store.customers.count() == 1
    call = store.interactions.add(interaction(clock, ada.id))
    case = store.cases.add(Case.open(ada.id, "Refund", clock=clock))
    assert store.interactions.get(call.id) == call
    assert store.cases.get(case.id) == case
    assert (store.interactions.count(), store.cases.count()) == (1, 1)


def test_the_stored_text_is_to_json(store: PostgresStore, admin: Any, clock: FixedClock) -> None:
    from custservice import to_json

    ada = store.customers.add(customer(clock, "Ada \\ \t O'Hara \u00e9", likes={'"quotes"'}))
    (text,) = admin.execute(
        f'SELECT data FROM "{store.schema}".customers WHERE id = %s', (ada.id,)
    ).fetchone()
    assert text == to_json(ada)
    # and through the COPY path, with backslashes and tabs in free text
    bob = customer(clock, "Bob \\n \\\\ \t tab")
    store.customers.add_many([bob])
    (text,) = admin.execute(
        f'SELECT data FROM "{store.schema}".customers WHERE id = %s', (bob.id,)
    ).fetchone()
    assert text == to_json(replace(bob, version=1))
    assert store.customers.get(bob.id).name == bob.name


def test_add_refuses_duplicates_and_unknown_customers(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    with pytest.raises(DuplicateError) as dup:
        store.customers.add(ada)
    assert (dup.value.kind, dup.value.id) == ("customer", ada.id)
    stranger = uuid.uuid4()
    with pytest.raises(NotFound) as missing:
        store.interactions.add(interaction(clock, stranger))
    assert (missing.value.kind, missing.value.id) == ("customer", stranger)
    with pytest.raises(NotFound):
        store.cases.add(Case.open(stranger, "Refund", clock=clock))
    assert store.events.latest() == 1  # nothing of the failures was recorded


def test_get_missing_and_wrong_types(store: PostgresStore, clock: FixedClock) -> None:
    with pytest.raises(NotFound) as missing:
        store.cases.get(uuid.UUID(int=7))
    assert missing.value.kind == "case"
    with pytest.raises(ValidationError):
        store.customers.get("not a uuid")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        store.interactions.add(customer(clock))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        store.customers.add_many([customer(clock), "no"])  # type: ignore[list-item]
    assert store.customers.count() == 0
    assert store.events.latest() == 0


def test_save_bumps_the_version_and_refuses_stale_copies(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    saved = store.customers.save(ada.with_profile(segment="vip"))
    assert saved.version == 2
    assert store.customers.get(ada.id) == saved
    with pytest.raises(ConcurrencyError) as stale:
        store.customers.save(ada.with_profile(segment="smb"))
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    assert store.customers.get(ada.id).segment == "vip"
    with pytest.raises(NotFound):
        store.customers.save(customer(clock, "Nobody"))
    assert store.events.latest() == 2  # the failed saves left no entry, and no gap


def test_save_refuses_moving_a_record_to_another_customer(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    bob = store.customers.add(customer(clock, "Bob"))
    call = store.interactions.add(interaction(clock, ada.id))
    with pytest.raises(ValidationError, match="another customer"):
        store.interactions.save(replace(call, customer_id=bob.id))
    # a stale version is reported first, as the reference does
    with pytest.raises(ConcurrencyError):
        store.interactions.save(replace(call, customer_id=bob.id, version=7))
    assert store.interactions.get(call.id) == call


def test_save_records_a_change_feed_entry(store: PostgresStore, clock: FixedClock) -> None:
    ada = store.customers.add(customer(clock))
    case = store.cases.add(Case.open(ada.id, "Refund", clock=clock))
    store.cases.save(case.advance("open", at=clock.now()))
    entries = list(store.events.since(0))
    assert [(e.kind, e.action, e.version) for e in entries] == [
        ("customer", "add", 1),
        ("case", "add", 1),
        ("case", "save", 2),
    ]
    assert entries[-1].record_id == case.id
    assert entries[-1].customer_id == ada.id
    assert [e.position for e in entries] == [1, 2, 3]
    assert [e.position for e in store.events.since(2)] == [3]


# --- order and windows --------------------------------------------------------------


def test_for_customer_orders_by_opening_time_then_id(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    bob = store.customers.add(customer(clock, "Bob"))
    times = [
        T0.add(hours=3).in_timezone("Asia/Kathmandu"),
        T0.in_timezone("America/New_York"),
        T0,
        T0.add(hours=1).in_timezone("Pacific/Chatham"),
        T0.in_timezone("Europe/Paris"),
    ]
    ours = [interaction(clock, ada.id, at) for at in times]
    store.interactions.add_many(ours)
    store.interactions.add(interaction(clock, bob.id))
    expected = sorted(ours, key=lambda r: (r.opened_at, r.id.int))
    got = list(store.interactions.for_customer(ada.id))
    assert [r.id for r in got] == [r.id for r in expected]
    assert got == [replace(r, version=1) for r in expected]
    everything = list(store.interactions.all())
    assert [r.id for r in everything] == [
        r.id for r in sorted(everything, key=lambda r: (r.opened_at, r.id.int))
    ]
    assert len(everything) == 6
    assert list(store.interactions.for_customer(uuid.uuid4())) == []


def test_windows_are_since_inclusive_until_exclusive(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    cases = [Case.open(ada.id, f"case {h}", clock=FixedClock(T0.add(hours=h))) for h in range(6)]
    store.cases.add_many(cases)

    def hours(**window: Any) -> list[int]:
        return [int(c.subject.split()[1]) for c in store.cases.for_customer(ada.id, **window)]

    paris = "Europe/Paris"
    assert hours(since=T0.add(hours=2)) == [2, 3, 4, 5]
    assert hours(until=T0.add(hours=2).in_timezone(paris)) == [0, 1]
    assert hours(since=T0.add(hours=1), until=T0.add(hours=4)) == [1, 2, 3]
    assert hours(since=T0.add(hours=1, microseconds=1)) == [2, 3, 4, 5]
    assert hours(since=T0.add(hours=4), until=T0.add(hours=4)) == []
    with store.transaction():  # the keyset path reads the same window
        assert hours(since=T0.add(hours=1), until=T0.add(hours=4)) == [1, 2, 3]
    with pytest.raises(ValidationError):
        store.cases.for_customer(ada.id, since=dt.datetime(2026, 1, 5))


@pytest.mark.parametrize("inside", [False, True], ids=["cursor", "in-transaction"])
def test_iteration_reads_in_pages_across_ties(
    store: PostgresStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    monkeypatch.setattr(pg_backend, "PAGE", 3)
    ada = store.customers.add(customer(clock))
    same = [interaction(clock, ada.id) for _ in range(11)]
    later = [interaction(clock, ada.id, T0.add(minutes=m)) for m in (1, 1, 2)]
    store.interactions.add_many(same + later)
    expected = [r.id for r in sorted(same + later, key=lambda r: (r.opened_at, r.id.int))]

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


def test_an_iteration_inside_a_transaction_sees_its_changes(
    store: PostgresStore, url: str, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    with open_postgres_store(url) as other, store.transaction():
        call = store.interactions.add(interaction(clock, ada.id))
        assert list(store.interactions.for_customer(ada.id)) == [call]
        assert list(other.interactions.for_customer(ada.id)) == []
        assert [e.record_id for e in store.events.since(1)] == [call.id]


def test_an_iterator_left_open_blocks_no_write(
    store: PostgresStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_backend, "PAGE", 2)
    ada = store.customers.add(customer(clock))
    store.interactions.add_many(interaction(clock, ada.id) for _ in range(6))
    rows = store.interactions.for_customer(ada.id)
    first = next(rows)
    store.interactions.save(first.advance("receive", at=clock.now()))
    worker = threading.Thread(
        target=lambda: store.interactions.add(interaction(clock, ada.id, T0.add(days=1)))
    )
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    with store.transaction():
        store.cases.add(Case.open(ada.id, "Refund", clock=clock))
    # The iteration is one snapshot: taken before the changes above.
    rest = list(rows)
    assert len([first, *rest]) == 6
    assert all(r.version == 1 for r in rest)


def test_an_abandoned_iterator_gives_its_connection_back(url: str, clock: FixedClock) -> None:
    with open_postgres_store(with_options(url, max_size=1, timeout=1)) as store:
        ada = store.customers.add(customer(clock))
        store.interactions.add_many(interaction(clock, ada.id) for _ in range(3))
        # Half-read, the iterator holds the pool's only connection...
        rows = store.interactions.all()
        next(rows)
        with pytest.raises(StorageError, match="became free"):
            store.customers.count()
        # ... until it is dropped: the garbage collector closes it.
        del rows
        gc.collect()
        assert store.customers.count() == 1
        rows = store.interactions.all()
        rows.close()
        assert store.customers.count() == 1
        never_started = store.interactions.for_customer(ada.id)
        del never_started
        gc.collect()
        assert store.customers.count() == 1
        assert len(list(store.interactions.all())) == 3  # exhausted: given back
        assert store.customers.count() == 1


# --- forget, export, change feed -----------------------------------------------------------


def populate(store: PostgresStore, clock: FixedClock, name: str, **profile: Any) -> Customer:
    someone = store.customers.add(customer(clock, name, **profile))
    calls = store.interactions.add_many(interaction(clock, someone.id) for _ in range(3))
    assert calls == 3
    case = store.cases.add(Case.open(someone.id, "Refund", clock=clock))
    store.cases.save(case.advance("open", at=clock.now()))
    return someone


def test_forget_removes_the_customer_their_records_and_their_feed_entries(
    store: PostgresStore, clock: FixedClock
) -> None:
    bob = populate(store, clock, "Bob")
    ada = populate(store, clock, "Ada")
    latest = store.events.latest()
    store.forget(ada.id)
    with pytest.raises(NotFound):
        store.customers.get(ada.id)
    assert list(store.interactions.for_customer(ada.id)) == []
    assert list(store.cases.for_customer(ada.id)) == []
    assert (store.customers.count(), store.interactions.count(), store.cases.count()) == (1, 3, 1)
    entries = list(store.events.since(0))
    assert {e.customer_id for e in entries} == {bob.id, ada.id}
    theirs = [e for e in entries if e.customer_id == ada.id]
    # Ada's entries were the newest; the forget entry still comes after them.
    assert [(e.action, e.record_id, e.version, e.position) for e in theirs] == [
        ("forget", ada.id, None, latest + 1)
    ]
    assert store.events.latest() == latest + 1
    assert list(store.interactions.for_customer(bob.id)) != []
    with pytest.raises(NotFound):
        store.forget(ada.id)
    with pytest.raises(NotFound):
        store.export(ada.id)


NAME = "Zebedee Quillfeather-Marchbanks"
EMAIL = "zebedee.quillfeather@example.org"


def test_after_forget_no_table_holds_the_name_or_email(
    store: PostgresStore, admin: Any, clock: FixedClock
) -> None:
    populate(store, clock, "Other", email="other@example.com")
    zeb = populate(store, clock, NAME, email=EMAIL, phone="+441234567890")
    store.customers.save(store.customers.get(zeb.id).with_profile(segment="vip"))

    def everything() -> str:
        return json.dumps(dump(admin, store.schema))

    # The check can fail: the data is there until it is forgotten.
    assert NAME in everything()
    assert EMAIL in everything()
    store.forget(zeb.id)
    text = everything()
    assert NAME not in text
    assert EMAIL not in text
    assert str(zeb.id) in text  # only in the forget entry, which holds no personal data
    assert "other@example.com" in text
    assert set(dump(admin, store.schema)) == {
        "custservice_meta",
        "customers",
        "interactions",
        "cases",
        "events",
        "events_head",
    }


def test_export_returns_everything_in_to_dict_form(store: PostgresStore, clock: FixedClock) -> None:
    ada = populate(store, clock, "Ada")
    populate(store, clock, "Bob")
    exported = store.export(ada.id)
    assert exported["customer"] == to_dict(store.customers.get(ada.id))
    assert exported["interactions"] == [to_dict(i) for i in store.interactions.for_customer(ada.id)]
    assert [c["version"] for c in exported["cases"]] == [2]
    assert len(exported["interactions"]) == 3
    json.dumps(exported)  # plain data
    with store.transaction():
        assert store.export(ada.id) == exported


def test_the_feed_resumes_from_a_position(store: PostgresStore, clock: FixedClock) -> None:
    assert store.events.latest() == 0
    assert list(store.events.since()) == []
    ada = populate(store, clock, "Ada")
    latest = store.events.latest()
    assert latest == 6
    seen = [e.position for e in store.events.since(0)]
    store.interactions.add(interaction(clock, ada.id))
    assert [e.position for e in store.events.since(seen[-1])] == [latest + 1]


def test_a_feed_reader_resuming_from_its_position_misses_nothing(
    store: PostgresStore, clock: FixedClock
) -> None:
    """Positions follow commit order: a reader never sees a later position before an earlier one.

    With positions handed out at insert time (an identity column), a
    transaction that took position 5 and commits after the one that took 6
    makes a reader that resumed from 6 skip 5 for ever.
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


# --- transactions ---------------------------------------------------------------------


class Boom(Exception):
    pass


def rolled_back(store: PostgresStore, body: Callable[[], object]) -> None:
    """Run ``body`` in a transaction that then fails with ``Boom``."""

    def run() -> None:
        with store.transaction():
            body()
            raise Boom

    with pytest.raises(Boom):
        run()


def test_an_exception_mid_transaction_leaves_nothing(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    before = store.events.latest()

    def changes() -> None:
        bob = store.customers.add(customer(clock, "Bob"))
        store.interactions.add(interaction(clock, bob.id))
        store.interactions.add_many([interaction(clock, bob.id)])
        store.customers.save(ada.with_profile(segment="vip"))
        store.forget(ada.id)

    rolled_back(store, changes)
    assert store.customers.count() == 1
    assert store.interactions.count() == 0
    assert store.customers.get(ada.id) == ada
    assert store.events.latest() == before
    assert [e.action for e in store.events.since(0)] == ["add"]
    # and the next entries continue from where the feed was: no gap
    store.customers.add(customer(clock, "Cy"))
    assert store.events.latest() == before + 1


def test_nested_transactions_join_the_outer_one(url: str, clock: FixedClock) -> None:
    with open_postgres_store(url) as store, open_postgres_store(url) as other:
        with store.transaction():
            with store.transaction():
                ada = store.customers.add(customer(clock))
            # the inner block's change is not committed until the outer one ends
            assert other.customers.count() == 0
            assert store.customers.get(ada.id) == ada
        assert other.customers.count() == 1

        def changes() -> None:
            store.customers.add(customer(clock, "Bob"))
            with store.transaction():
                store.customers.add(customer(clock, "Cy"))

        rolled_back(store, changes)
        assert other.customers.count() == store.customers.count() == 1


def test_a_transaction_belongs_to_its_thread(store: PostgresStore, clock: FixedClock) -> None:
    inside = threading.Event()
    done = threading.Event()
    counts: list[int] = []

    def other_thread() -> None:
        inside.wait(10)
        counts.append(store.customers.count())  # another connection: sees nothing uncommitted
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with store.transaction():
        store.customers.add(customer(clock))
        inside.set()
        assert done.wait(10)
        assert store.customers.count() == 1
    worker.join(10)
    assert counts == [0]


def test_a_failing_operation_inside_a_transaction_can_be_caught(
    store: PostgresStore, clock: FixedClock
) -> None:
    with store.transaction():
        ada = store.customers.add(customer(clock))
        with pytest.raises(DuplicateError):
            store.customers.add(ada)
        with pytest.raises(NotFound):
            store.interactions.add(interaction(clock, uuid.uuid4()))
        with pytest.raises(ConcurrencyError):
            store.customers.save(replace(ada, version=5))
        store.interactions.add(interaction(clock, ada.id))
    assert (store.customers.count(), store.interactions.count()) == (1, 1)
    assert store.events.latest() == 2


def test_add_many_is_all_or_nothing_and_names_the_failing_record(
    store: PostgresStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_backend, "_BATCH", 4)  # the failure falls in a later batch
    ada = store.customers.add(customer(clock))
    existing = store.interactions.add(interaction(clock, ada.id))
    fresh = [interaction(clock, ada.id) for _ in range(7)]
    with pytest.raises(DuplicateError) as dup:
        store.interactions.add_many([*fresh[:6], existing, fresh[6]])
    assert (dup.value.kind, dup.value.id) == ("interaction", existing.id)
    with pytest.raises(DuplicateError) as twice:
        store.interactions.add_many([*fresh[:5], fresh[1], fresh[6]])
    assert twice.value.id == fresh[1].id
    stranger = interaction(clock, uuid.uuid4())
    with pytest.raises(NotFound) as missing:
        store.interactions.add_many([*fresh[:5], stranger])
    assert missing.value.id == stranger.customer_id
    with pytest.raises(ValidationError):
        store.interactions.add_many([*fresh[:5], "no"])  # type: ignore[list-item]
    assert store.interactions.count() == 1
    assert store.events.latest() == 2
    assert store.interactions.add_many(iter(fresh)) == 7
    assert store.interactions.count() == 8
    assert store.events.latest() == 9
    assert [e.record_id for e in store.events.since(2)] == [r.id for r in fresh]


def test_add_many_inside_a_transaction_undoes_only_itself_when_caught(
    store: PostgresStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    existing = store.interactions.add(interaction(clock, ada.id))
    with store.transaction():
        store.cases.add(Case.open(ada.id, "Refund", clock=clock))
        with pytest.raises(DuplicateError):
            store.interactions.add_many([interaction(clock, ada.id), existing])
    assert (store.cases.count(), store.interactions.count()) == (1, 1)
    assert store.events.latest() == 3


# --- the schema: marking, refusal, migration ---------------------------------------------


def test_a_new_schema_is_created_initialised_and_marked(admin: Any, schema: str, url: str) -> None:
    assert tables(admin, schema) == []
    open_postgres_store(url).close()
    assert meta(admin, schema) == {"application": APPLICATION, "schema_version": "1"}
    assert len(MIGRATIONS) == 1
    assert set(tables(admin, schema)) == {
        "custservice_meta",
        "customers",
        "interactions",
        "cases",
        "events",
        "events_head",
    }
    open_postgres_store(url).close()  # reopening changes nothing
    assert meta(admin, schema)["schema_version"] == "1"


def test_a_schema_shared_with_unrelated_tables_is_used(
    admin: Any, schema: str, url: str, clock: FixedClock
) -> None:
    admin.execute(f'CREATE SCHEMA "{schema}"')
    admin.execute(f'CREATE TABLE "{schema}".notes (body TEXT)')
    with open_postgres_store(url) as store:
        store.customers.add(customer(clock))
    assert "notes" in tables(admin, schema)


def refused(admin: Any, schema: str, url: str, match: str) -> None:
    before = dump(admin, schema)
    with pytest.raises(StorageError, match=match) as failed:
        open_postgres_store(url)
    assert not isinstance(failed.value.__cause__, AssertionError)
    assert dump(admin, schema) == before


def test_a_newer_schema_is_refused_untouched(
    admin: Any, schema: str, url: str, clock: FixedClock
) -> None:
    with open_postgres_store(url) as store:
        store.customers.add(customer(clock))
    admin.execute(
        f"UPDATE \"{schema}\".custservice_meta SET value = %s WHERE key = 'schema_version'",
        (str(len(MIGRATIONS) + 1),),
    )
    refused(admin, schema, url, "newer")


@pytest.mark.parametrize("table", ["customers", "events", "custservice_meta"])
def test_another_applications_tables_are_refused_untouched(
    admin: Any, schema: str, url: str, table: str
) -> None:
    admin.execute(f'CREATE SCHEMA "{schema}"')
    admin.execute(f'CREATE TABLE "{schema}"."{table}" (key TEXT, value TEXT)')
    admin.execute(f"INSERT INTO \"{schema}\".\"{table}\" VALUES ('keep', 'me')")
    refused(admin, schema, url, "another application")
    assert tables(admin, schema) == [table]


def test_a_marker_of_another_application_is_refused(admin: Any, schema: str, url: str) -> None:
    admin.execute(f'CREATE SCHEMA "{schema}"')
    admin.execute(f'CREATE TABLE "{schema}".custservice_meta (key TEXT, value TEXT)')
    admin.execute(f"INSERT INTO \"{schema}\".custservice_meta VALUES ('application', 'other')")
    refused(admin, schema, url, "another application")


def test_an_older_schema_is_migrated_in_one_transaction(
    admin: Any, schema: str, url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_postgres_store(url) as store:
        ada = store.customers.add(customer(clock))
    version = len(MIGRATIONS)
    step = (
        "ALTER TABLE customers ADD COLUMN note TEXT",
        "CREATE INDEX customers_note ON customers (note)",
    )

    def columns() -> list[str]:
        rows = admin.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'customers'",
            (schema,),
        )
        return [r[0] for r in rows]

    # A step that fails half-way leaves the schema at the old version, nothing applied.
    def boom(conn: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pg_backend, "MIGRATIONS", [*MIGRATIONS, step, (boom,)])
    with pytest.raises(StorageError, match=r"from schema version 1 to 3 failed .*disk on fire"):
        open_postgres_store(url)
    assert meta(admin, schema)["schema_version"] == str(version)
    assert "note" not in columns()
    # A failing SQL step likewise.
    monkeypatch.setattr(pg_backend, "MIGRATIONS", [*MIGRATIONS, (*step, "SELECT nonsense")])
    with pytest.raises(StorageError, match="nothing was changed"):
        open_postgres_store(url)
    assert "note" not in columns()
    # Without the failing step the migration applies, data intact.
    monkeypatch.setattr(pg_backend, "MIGRATIONS", [*MIGRATIONS, step])
    with open_postgres_store(url) as store:
        assert store.customers.get(ada.id) == ada
    assert meta(admin, schema)["schema_version"] == str(version + 1)
    assert "note" in columns()


def test_a_failed_first_migration_leaves_no_schema(
    admin: Any, schema: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(conn: Any) -> None:
        raise RuntimeError("no")

    monkeypatch.setattr(pg_backend, "MIGRATIONS", [(*MIGRATIONS[0], boom)])
    with pytest.raises(StorageError, match="nothing was changed"):
        open_postgres_store(url)
    found = admin.execute(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,)
    ).fetchone()
    assert found == (0,)


def test_processes_opening_a_new_schema_at_once_do_not_race(
    admin: Any, schema: str, url: str
) -> None:
    # Threads stand in for processes: each opens its own connections.
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_it() -> None:
        try:
            barrier.wait(10)
            open_postgres_store(url).close()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_it) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert meta(admin, schema)["schema_version"] == str(len(MIGRATIONS))


# --- driver errors never reach the caller ------------------------------------------------


def wait_gone(admin: Any, pid: int) -> None:
    deadline = time.monotonic() + 10
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_connection_lost_mid_transaction_is_a_storage_error_and_stores_nothing(
    store: PostgresStore, admin: Any, clock: FixedClock
) -> None:
    import psycopg

    ada = store.customers.add(customer(clock))
    before = store.events.latest()
    with (  # noqa: PT012
        pytest.raises(StorageError, match="lost the connection") as lost,
        store.transaction(),
    ):
        store.customers.add(customer(clock, "Bob"))
        conn = store._local.conn
        assert conn is not None
        pid = conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_gone(admin, pid)
        store.customers.save(ada.with_profile(segment="vip"))
    assert not isinstance(lost.value, psycopg.Error)
    assert "nothing was changed" in str(lost.value)
    # Nothing partial is stored, and the next operations work.
    assert store.customers.count() == 1
    assert store.customers.get(ada.id) == ada
    assert store.events.latest() == before
    store.customers.add(customer(clock, "Cy"))
    assert store.customers.count() == 2


def test_every_connection_killed_costs_at_most_one_failed_operation(
    url: str, admin: Any, clock: FixedClock
) -> None:
    with open_postgres_store(with_options(url, min_size=3, max_size=3)) as store:
        store.customers.add(customer(clock))
        # A server restart, as the pool sees it: every connection of ours dies while idle.
        pids = [
            r[0]
            for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name = ''"
            )
        ]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            wait_gone(admin, pid)
        failures = 0
        for _ in range(3):
            try:
                assert store.customers.count() == 1
            except StorageError:
                failures += 1
        assert failures <= 1
        store.customers.add(customer(clock, "Bob"))
        assert store.customers.count() == 2


def test_rows_changed_behind_the_librarys_back_are_a_storage_error(
    store: PostgresStore, admin: Any, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    admin.execute(f'UPDATE "{store.schema}".customers SET data = \'{{"id": 1}}\'')
    with pytest.raises(StorageError, match="could not be read"):
        store.customers.get(ada.id)
    with pytest.raises(StorageError, match="could not be read"):
        list(store.customers.all())


def test_text_that_cannot_be_encoded_is_a_validation_error(
    store: PostgresStore, clock: FixedClock
) -> None:
    with pytest.raises(ValidationError):
        store.customers.add(customer(clock, "Ada \ud800"))
    with pytest.raises(ValidationError):
        store.customers.add_many([customer(clock, "Bob"), customer(clock, "Ada \ud800")])
    assert store.customers.count() == 0
    assert store.events.latest() == 0


def test_a_table_dropped_behind_the_librarys_back_is_a_storage_error(
    store: PostgresStore, admin: Any, clock: FixedClock
) -> None:
    import psycopg

    admin.execute(f'DROP TABLE "{store.schema}".cases')
    with pytest.raises(StorageError, match="PostgreSQL") as failed:
        store.cases.count()
    assert not isinstance(failed.value, psycopg.Error)
    store.customers.add(customer(clock))  # the store carries on
    assert store.customers.count() == 1


# --- threads, and processes, sharing a schema -----------------------------------------------


def test_threads_share_a_store(store: PostgresStore, clock: FixedClock) -> None:
    counter = store.customers.add(customer(clock, "Counter"))
    threads_n, rounds = 6, 20
    errors: list[BaseException] = []
    saves = [0] * threads_n
    added = [0] * threads_n

    def work(k: int) -> None:
        try:
            mine = store.customers.add(customer(clock, f"Thread {k}"))
            for n in range(rounds):
                latest = store.customers.get(counter.id)
                try:
                    store.customers.save(latest.with_profile(segment=f"{k}-{n}"))
                    saves[k] += 1
                except ConcurrencyError:
                    pass
                if n % 3 == 0:
                    with store.transaction():
                        store.interactions.add(interaction(clock, mine.id))
                        store.cases.add(Case.open(mine.id, f"case {n}", clock=clock))
                    added[k] += 1
                if n % 5 == 0:
                    rolled_back(store, lambda: store.interactions.add(interaction(clock, mine.id)))
                assert len(list(store.interactions.for_customer(mine.id))) == added[k]
                list(store.events.since(max(0, store.events.latest() - 5)))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert errors == []
    assert store.customers.count() == threads_n + 1
    assert store.interactions.count() == store.cases.count() == sum(added)
    assert store.customers.get(counter.id).version == 1 + sum(saves)
    assert store.events.latest() == 1 + threads_n + sum(saves) + 2 * sum(added)


RACER = """
import random, uuid
from custservice import ConcurrencyError
from custservice.storage.postgres import open_postgres_store

saved, conflicts, errors = {}, 0, []
rng = random.Random(seed)
with open_postgres_store(url) as store:
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
    store: PostgresStore, url: str, clock: FixedClock
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
                    "url": url,
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
    entries = [e for e in store.events.since(0) if e.action == "save"]
    assert len(entries) == sum(saved.values())
    versions: dict[uuid.UUID, list[int | None]] = {}
    for e in entries:
        versions.setdefault(e.record_id, []).append(e.version)
    for cid, seen in versions.items():
        assert seen == list(range(2, 2 + saved[str(cid)]))


# Side by side with the memory reference: the conformance kit's stateful test
# (tests/test_conformance.py, tests/test_postgres_conformance.py).


def test_a_password_in_the_options_is_never_shown() -> None:
    from custservice.storage.registry import open_store, redact

    url = "postgresql://someone:s3cret@127.0.0.1:1/db?password=s3cret&connect_timeout=2"
    assert "s3cret" not in redact(url)
    assert redact(url).endswith("?password=***&connect_timeout=2")
    with pytest.raises(StorageError) as failed:
        open_store(url)
    assert "s3cret" not in str(failed.value)
