"""The SQLite backend, on real files: behaviour, durability, schema safety, concurrency, erasure.

The same behaviour as the in-memory reference is checked side by side by a
Hypothesis state machine at the end; the fast record codec is checked
against ``to_json``/``from_dict`` with the shared strategies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    from_dict,
    open_store,
    to_dict,
    to_json,
)
from custservice._records import replace
from custservice.storage import _codec, _common
from custservice.storage import sqlite as sqlite_backend
from custservice.storage.sqlite import APPLICATION_ID, MIGRATIONS, SQLiteStore
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 1, 5, 9)


# --- helpers -------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(path) as s:
        yield s


def customer(clock: FixedClock, name: str = "Ada Lovelace", **profile: Any) -> Customer:
    return Customer.new(name, clock=clock, **profile)


def interaction(
    clock: FixedClock, customer_id: uuid.UUID, at: dt.datetime | None = None
) -> Interaction:
    return Interaction.open(customer_id, Channel.PHONE, clock=FixedClock(at) if at else clock)


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def file_bytes(file: Path) -> bytes:
    """The database file and, if present, its WAL."""
    wal = file.with_name(file.name + "-wal")
    return file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def pragma(file: Path, name: str) -> Any:
    conn = sqlite3.connect(file)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


# --- opening: URLs, reopening, closing -------------------------------------------


def test_relative_url_opens_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as store:
        assert isinstance(store, SQLiteStore)
        store.customers.add(customer(clock))
    assert (tmp_path / "relative.db").exists()


def test_absolute_url_has_four_slashes(tmp_path: Path, clock: FixedClock) -> None:
    target = tmp_path / "sub dir" / "abs.db"
    target.parent.mkdir()
    url = "sqlite:///" + str(target).replace(" ", "%20")
    assert url.startswith("sqlite:////")
    with open_store(url) as store:
        stored = store.customers.add(customer(clock))
    with open_store(url) as store:
        assert store.customers.get(stored.id) == stored


def test_memory_url_gives_a_private_database(clock: FixedClock) -> None:
    with open_store("sqlite:///:memory:") as a, open_store("sqlite:///:memory:") as b:
        a.customers.add(customer(clock))
        assert (a.customers.count(), b.customers.count()) == (1, 0)


def test_url_options_are_read(path: Path) -> None:
    url = f"sqlite:///{path}?busy_timeout=0.5&synchronous=normal&cache_mb=8"
    with open_store(url) as store:
        assert isinstance(store, SQLiteStore)
        assert store._busy_timeout == 0.5
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store._conn.execute("PRAGMA cache_size").fetchone()[0] == -8 * 1024


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///", "sqlite://host/x.db", "sqlite:///x.db?colour=blue"],
)
def test_malformed_urls_are_storage_errors(url: str) -> None:
    with pytest.raises(StorageError):
        open_store(url)


def test_a_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot open|failed"):
        SQLiteStore(tmp_path / "no such dir" / "x.db")


def test_reopening_a_file_finds_the_data(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
        call = store.interactions.add(interaction(clock, ada.id))
        case = store.cases.add(Case.open(ada.id, "Refund", clock=clock))
        call = store.interactions.save(call.advance("receive", at=clock.now()))
        latest = store.events.latest()
    with SQLiteStore(path) as store:
        assert store.customers.get(ada.id) == ada
        assert store.interactions.get(call.id) == call
        assert store.cases.get(case.id) == case
        assert store.events.latest() == latest == 4


def test_a_closed_store_raises_storage_error(store: SQLiteStore, clock: FixedClock) -> None:
    ada = store.customers.add(customer(clock))
    store.close()
    store.close()  # harmless
    for operation in (
        lambda: store.customers.get(ada.id),
        lambda: store.customers.add(customer(clock)),
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
    store: SQLiteStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "PAGE", 2)
    ada = store.customers.add(customer(clock))
    store.interactions.add_many(interaction(clock, ada.id) for _ in range(5))
    rows = store.interactions.all()
    next(rows)
    store.close()
    next(rows)  # still in the first page
    with pytest.raises(StorageError, match="closed"):
        next(rows)


# --- records ----------------------------------------------------------------------


def test_add_get_count(store: SQLiteStore, clock: FixedClock) -> None:
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


def test_add_refuses_duplicates_and_unknown_customers(
    store: SQLiteStore, clock: FixedClock
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


def test_get_missing_and_wrong_types(store: SQLiteStore, clock: FixedClock) -> None:
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


def test_save_bumps_the_version_and_refuses_stale_copies(
    store: SQLiteStore, clock: FixedClock
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


def test_save_refuses_moving_a_record_to_another_customer(
    store: SQLiteStore, clock: FixedClock
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


def test_save_records_a_change_feed_entry(store: SQLiteStore, clock: FixedClock) -> None:
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


def test_for_customer_orders_by_opening_time_then_id(store: SQLiteStore, clock: FixedClock) -> None:
    ada = store.customers.add(customer(clock))
    bob = store.customers.add(customer(clock, "Bob"))
    # Opening times in assorted zones, added out of order, with ties.
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
    everything = list(store.interactions.all())
    assert [r.id for r in everything] == [
        r.id for r in sorted(everything, key=lambda r: (r.opened_at, r.id.int))
    ]
    assert len(everything) == 6
    assert list(store.interactions.for_customer(uuid.uuid4())) == []


def test_windows_are_since_inclusive_until_exclusive(store: SQLiteStore, clock: FixedClock) -> None:
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
    with pytest.raises(ValidationError):
        store.cases.for_customer(ada.id, since=dt.datetime(2026, 1, 5))


def test_iteration_reads_in_pages_across_ties(
    store: SQLiteStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "PAGE", 3)
    ada = store.customers.add(customer(clock))
    # Eleven interactions at the same instant: pages must continue by id.
    same = [interaction(clock, ada.id) for _ in range(11)]
    later = [interaction(clock, ada.id, T0.add(minutes=m)) for m in (1, 1, 2)]
    store.interactions.add_many(same + later)
    expected = sorted(same + later, key=lambda r: (r.opened_at, r.id.int))
    assert [r.id for r in store.interactions.for_customer(ada.id)] == [r.id for r in expected]
    assert [r.id for r in store.interactions.all()] == [r.id for r in expected]
    window = store.interactions.for_customer(ada.id, since=T0, until=T0.add(minutes=2))
    assert [r.id for r in window] == [r.id for r in expected[:13]]
    positions = [e.position for e in store.events.since(0)]
    assert positions == list(range(1, 16))
    assert [e.position for e in store.events.since(4)] == list(range(5, 16))


def test_an_iterator_left_open_blocks_no_write(
    store: SQLiteStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "PAGE", 2)
    ada = store.customers.add(customer(clock))
    store.interactions.add_many(interaction(clock, ada.id) for _ in range(6))
    rows = store.interactions.for_customer(ada.id)
    first = next(rows)
    # Writes from this thread and another while the iterator is half-read.
    store.interactions.save(first.advance("receive", at=clock.now()))
    worker = threading.Thread(
        target=lambda: store.interactions.add(interaction(clock, ada.id, T0.add(days=1)))
    )
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    with store.transaction():
        store.cases.add(Case.open(ada.id, "Refund", clock=clock))
    assert len([first, *rows]) == 7


# --- forget, export, change feed -----------------------------------------------------------


def populate(store: SQLiteStore, clock: FixedClock, name: str) -> Customer:
    someone = store.customers.add(customer(clock, name))
    calls = store.interactions.add_many(interaction(clock, someone.id) for _ in range(3))
    assert calls == 3
    case = store.cases.add(Case.open(someone.id, "Refund", clock=clock))
    store.cases.save(case.advance("open", at=clock.now()))
    return someone


def test_forget_removes_the_customer_their_records_and_their_feed_entries(
    store: SQLiteStore, clock: FixedClock
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


def test_forget_keeps_other_customers_entries_even_when_ids_collide_across_kinds(
    store: SQLiteStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    bob = store.customers.add(customer(clock, "Bob"))
    # Bob's interaction reuses Ada's id (ids are unique per kind, not across kinds).
    echo = store.interactions.add(replace(interaction(clock, bob.id), id=ada.id))
    store.forget(ada.id)
    assert store.interactions.get(echo.id) == echo
    assert [(e.kind, e.action, e.customer_id) for e in store.events.since(0)] == [
        ("customer", "add", bob.id),
        ("interaction", "add", bob.id),
        ("customer", "forget", ada.id),
    ]


def test_export_returns_everything_in_to_dict_form(store: SQLiteStore, clock: FixedClock) -> None:
    ada = populate(store, clock, "Ada")
    populate(store, clock, "Bob")
    exported = store.export(ada.id)
    assert exported["customer"] == to_dict(store.customers.get(ada.id))
    assert exported["interactions"] == [to_dict(i) for i in store.interactions.for_customer(ada.id)]
    assert [c["version"] for c in exported["cases"]] == [2]
    assert len(exported["interactions"]) == 3
    json.dumps(exported)  # plain data


def test_the_feed_resumes_from_a_position(store: SQLiteStore, clock: FixedClock) -> None:
    assert store.events.latest() == 0
    assert list(store.events.since()) == []
    ada = populate(store, clock, "Ada")
    latest = store.events.latest()
    assert latest == 6
    seen = [e.position for e in store.events.since(0)]
    store.interactions.add(interaction(clock, ada.id))
    assert [e.position for e in store.events.since(seen[-1])] == [latest + 1]


# --- transactions ---------------------------------------------------------------------


class Boom(Exception):
    pass


def rolled_back(store: SQLiteStore, body: Callable[[], object]) -> None:
    """Run ``body`` in a transaction that then fails with ``Boom``."""

    def run() -> None:
        with store.transaction():
            body()
            raise Boom

    with pytest.raises(Boom):
        run()


def test_an_exception_mid_transaction_leaves_nothing(store: SQLiteStore, clock: FixedClock) -> None:
    ada = store.customers.add(customer(clock))
    before = store.events.latest()

    def changes() -> None:
        bob = store.customers.add(customer(clock, "Bob"))
        store.interactions.add(interaction(clock, bob.id))
        store.customers.save(ada.with_profile(segment="vip"))
        store.forget(ada.id)

    rolled_back(store, changes)
    assert store.customers.count() == 1
    assert store.interactions.count() == 0
    assert store.customers.get(ada.id) == ada
    assert store.events.latest() == before
    assert [e.action for e in store.events.since(0)] == ["add"]
    # and the next entries continue from where the feed was
    store.customers.add(customer(clock, "Cy"))
    assert store.events.latest() == before + 1


def test_nested_transactions_join_the_outer_one(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store, SQLiteStore(path) as other:
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


def test_a_failing_operation_inside_a_transaction_can_be_caught(
    store: SQLiteStore, clock: FixedClock
) -> None:
    with store.transaction():
        ada = store.customers.add(customer(clock))
        with pytest.raises(DuplicateError):
            store.customers.add(ada)
        with pytest.raises(NotFound):
            store.interactions.add(interaction(clock, uuid.uuid4()))
        store.interactions.add(interaction(clock, ada.id))
    assert (store.customers.count(), store.interactions.count()) == (1, 1)
    assert store.events.latest() == 2


def test_add_many_is_all_or_nothing_and_names_the_failing_record(
    store: SQLiteStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "_BATCH", 4)  # the failure falls in a later batch
    ada = store.customers.add(customer(clock))
    existing = store.interactions.add(interaction(clock, ada.id))
    fresh = [interaction(clock, ada.id) for _ in range(7)]
    with pytest.raises(DuplicateError) as dup:
        store.interactions.add_many([*fresh[:6], existing, fresh[6]])
    assert dup.value.id == existing.id
    with pytest.raises(DuplicateError) as twice:
        store.interactions.add_many([*fresh[:5], fresh[1], fresh[6]])
    assert twice.value.id == fresh[1].id
    stranger = interaction(clock, uuid.uuid4())
    with pytest.raises(NotFound) as missing:
        store.interactions.add_many([*fresh[:5], stranger])
    assert missing.value.id == stranger.customer_id
    assert store.interactions.count() == 1
    assert store.events.latest() == 2
    assert store.interactions.add_many(iter(fresh)) == 7
    assert store.interactions.count() == 8
    assert store.events.latest() == 9


def test_add_many_inside_a_transaction_undoes_only_itself_when_caught(
    store: SQLiteStore, clock: FixedClock
) -> None:
    ada = store.customers.add(customer(clock))
    existing = store.interactions.add(interaction(clock, ada.id))
    with store.transaction():
        store.cases.add(Case.open(ada.id, "Refund", clock=clock))
        with pytest.raises(DuplicateError):
            store.interactions.add_many([interaction(clock, ada.id), existing])
    assert (store.cases.count(), store.interactions.count()) == (1, 1)


# --- the file: schema, refusal, migration ---------------------------------------------------


def test_a_new_file_is_initialised_and_marked(path: Path) -> None:
    SQLiteStore(path).close()
    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "user_version") == len(MIGRATIONS)
    assert pragma(path, "journal_mode") == "wal"
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"customers", "interactions", "cases", "events"} <= tables


@pytest.mark.parametrize("how", ["zero bytes", "empty sqlite"])
def test_an_empty_file_is_initialised(path: Path, how: str, clock: FixedClock) -> None:
    if how == "zero bytes":
        path.write_bytes(b"")
    else:
        sqlite3.connect(path).close()
    with SQLiteStore(path) as store:
        store.customers.add(customer(clock))
    assert pragma(path, "application_id") == APPLICATION_ID


def refused(path: Path, match: str) -> None:
    before = digest(path)
    listing = sorted(os.listdir(path.parent))
    with pytest.raises(StorageError, match=match):
        SQLiteStore(path)
    assert digest(path) == before
    assert sorted(os.listdir(path.parent)) == listing


def test_a_newer_schema_is_refused_untouched(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store:
        store.customers.add(customer(clock))
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    refused(path, "newer")


def test_another_applications_database_is_refused_untouched(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    refused(path, "another application")
    assert pragma(path, "journal_mode") == "delete"


def test_a_database_with_another_application_id_is_refused(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 42")
    conn.close()
    refused(path, "another application")


def test_a_file_that_is_not_sqlite_is_refused_untouched(path: Path) -> None:
    path.write_bytes(b"name,email\nAda,ada@example.com\n" * 200)
    refused(path, "not a SQLite database")


def test_an_older_schema_is_migrated_in_one_transaction(
    path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
    version = len(MIGRATIONS)
    step = (
        "ALTER TABLE customers ADD COLUMN note TEXT",
        "CREATE INDEX customers_note ON customers (note)",
    )

    # A step that fails half-way leaves the file at the old version, nothing applied.
    def boom(conn: sqlite3.Connection) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", [*MIGRATIONS, step, (boom,)])
    with pytest.raises(StorageError, match=r"migrating .* from schema version 1 to 3"):
        SQLiteStore(path)
    assert pragma(path, "user_version") == version
    conn = sqlite3.connect(path)
    assert "note" not in [r[1] for r in conn.execute("PRAGMA table_info(customers)")]
    conn.close()
    # Without the failing step the migration applies, data intact.
    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", [*MIGRATIONS, step])
    with SQLiteStore(path) as store:
        assert store.customers.get(ada.id) == ada
    assert pragma(path, "user_version") == version + 1
    conn = sqlite3.connect(path)
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(customers)")]
    conn.close()


def test_a_version_0_file_of_ours_gets_the_whole_schema(path: Path, clock: FixedClock) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # marked, but no tables yet
    conn.close()
    with SQLiteStore(path) as store:
        store.customers.add(customer(clock))
        assert store.customers.count() == 1
    assert pragma(path, "user_version") == len(MIGRATIONS)


def test_a_failed_first_migration_leaves_an_empty_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(conn: sqlite3.Connection) -> None:
        raise RuntimeError("no")

    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", [(*MIGRATIONS[0], boom)])
    with pytest.raises(StorageError, match="nothing was changed"):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    conn.close()
    assert pragma(path, "user_version") == 0


# --- driver errors never reach the caller ------------------------------------------------------


def test_a_lock_held_past_the_busy_timeout_is_a_storage_error(
    path: Path, clock: FixedClock
) -> None:
    with SQLiteStore(path, busy_timeout=0.2) as store:
        ada = store.customers.add(customer(clock))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            with pytest.raises(StorageError, match="locked") as locked:
                store.customers.add(customer(clock, "Bob"))
            assert time.monotonic() - started >= 0.15
            assert not isinstance(locked.value, sqlite3.Error)
            assert store.customers.get(ada.id) == ada  # readers do not wait in WAL mode
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        store.customers.add(customer(clock, "Bob"))


def test_a_corrupt_file_is_a_storage_error(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
        store.interactions.add_many(interaction(clock, ada.id) for _ in range(200))
    data = bytearray(path.read_bytes())
    page = pragma(path, "page_size")
    for offset in range(page, len(data), page):  # every page but the first
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    def read_everything() -> None:
        with SQLiteStore(path) as store:
            list(store.interactions.all())
            store.customers.get(ada.id)

    with pytest.raises(StorageError, match=r"corrupt|SQLite"):
        read_everything()


def test_rows_changed_behind_the_librarys_back_are_a_storage_error(
    path: Path, clock: FixedClock
) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE customers SET data = '{\"id\": 1}'")
    conn.commit()
    conn.close()
    with SQLiteStore(path) as store, pytest.raises(StorageError, match="could not be read"):
        store.customers.get(ada.id)


def test_text_that_cannot_be_encoded_is_a_validation_error(
    store: SQLiteStore, clock: FixedClock
) -> None:
    with pytest.raises(ValidationError):
        store.customers.add(customer(clock, "Ada \ud800"))
    assert store.customers.count() == 0


# --- two processes on one file -----------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time, uuid, json
    from pathlib import Path
    from custservice import ConcurrencyError, StorageError
    from custservice.storage.sqlite import SQLiteStore

    path, mode, customer_id = sys.argv[1], sys.argv[2], uuid.UUID(sys.argv[3])
    store = SQLiteStore(path, busy_timeout=20)
    if mode == "hold":
        # Save inside a transaction and hold the write lock a while.
        with store.transaction():
            c = store.customers.get(customer_id)
            store.customers.save(c.with_profile(segment="child"))
            Path(path + ".holding").touch()
            time.sleep(0.6)
        print(json.dumps({"saved": 1}))
    else:
        saved = conflicts = 0
        for n in range(int(sys.argv[4])):
            c = store.customers.get(customer_id)
            try:
                store.customers.save(c.with_profile(segment=f"p{n}"))
                saved += 1
            except ConcurrencyError:
                conflicts += 1
        print(json.dumps({"saved": saved, "conflicts": conflicts}))
    store.close()
    """
)


def child(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    result: dict[str, int] = json.loads(out)
    return result


def test_a_stale_save_from_another_process_is_a_concurrency_error(
    path: Path, clock: FixedClock
) -> None:
    with SQLiteStore(path, busy_timeout=20) as store:
        ada = store.customers.add(customer(clock))
        holder = child(path, "hold", str(ada.id))
        deadline = time.monotonic() + 30
        while not Path(f"{path}.holding").exists():
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # The other process holds the write lock with its save uncommitted. Our
        # transaction waits for it before it reads anything (BEGIN IMMEDIATE), so
        # it reads the new version and finds our copy stale: ConcurrencyError,
        # never "database is locked".
        seen: list[int] = []

        def read_then_save() -> None:
            with store.transaction():
                seen.append(store.customers.get(ada.id).version)
                store.customers.save(ada.with_profile(segment="parent"))

        with pytest.raises(ConcurrencyError) as stale:
            read_then_save()
        assert (stale.value.expected, stale.value.actual) == (1, 2)
        assert seen == [2]
        assert finished(holder) == {"saved": 1}
        assert store.customers.get(ada.id).segment == "child"


def test_two_processes_racing_on_one_record_lose_no_update(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
    rounds = 60
    processes = [child(path, "race", str(ada.id), str(rounds)) for _ in range(2)]
    results = [finished(p) for p in processes]
    assert all(r["saved"] + r["conflicts"] == rounds for r in results)
    saved = sum(r["saved"] for r in results)
    with SQLiteStore(path) as store:
        assert store.customers.get(ada.id).version == 1 + saved
        assert [e.version for e in store.events.since(0)][1:] == list(range(2, saved + 2))


# --- threads sharing one store ---------------------------------------------------------------


def test_threads_share_a_store(store: SQLiteStore, clock: FixedClock) -> None:
    counter = store.customers.add(customer(clock, "Counter"))
    threads_n, rounds = 6, 25
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


# --- erasure leaves no bytes behind -------------------------------------------------------


NAME = "Zebedee Quillfeather-Marchbanks"
EMAIL = "zebedee.quillfeather@example.org"


def test_forgotten_personal_data_leaves_the_file(path: Path, clock: FixedClock) -> None:
    with SQLiteStore(path) as store:
        others = [customer(clock, f"Other {n}", email=f"other{n}@example.com") for n in range(50)]
        store.customers.add_many(others[:25])
        zeb = store.customers.add(customer(clock, NAME, email=EMAIL, phone="+441234567890"))
        store.customers.add_many(others[25:])
        store.interactions.add_many(interaction(clock, zeb.id) for _ in range(20))
        store.customers.save(zeb.with_profile(segment="vip"))
    # The check can fail: the data is there until it is forgotten.
    assert NAME.encode() in file_bytes(path)
    assert EMAIL.encode() in file_bytes(path)
    with SQLiteStore(path) as store:
        store.forget(zeb.id)
        # forget checkpoints and truncates the WAL when it commits, before any close
        assert NAME.encode() not in file_bytes(path)
        assert EMAIL.encode() not in file_bytes(path)
        assert store.customers.count() == 50
    data = file_bytes(path)
    assert NAME.encode() not in data
    assert EMAIL.encode() not in data
    assert b"other7@example.com" in data
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


# --- the codec: the stored form is to_json, decoded without validation -------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(cst.customers(), cst.interactions(), cst.cases()))
def test_the_codec_round_trips_exactly_like_serialization(
    record: Customer | Interaction | Case,
) -> None:
    text = _codec.encode(record)
    assert text == to_json(record)
    cls: Any = type(record)
    restored = from_dict(cls, json.loads(text))
    decoded = _codec.decode(cls, text)
    assert decoded == restored == record
    assert repr(decoded) == repr(restored)
    assert to_json(decoded) == text
    rid, owner, opened, same = _codec.columns(record, 3)
    assert (rid, owner) == (str(record.id), str(_common.owner(record)))
    assert opened == _codec.micros(_common.opened(record))
    assert json.loads(same)["version"] == 3


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01T01:30:00-04:00[America/New_York]",  # the first 01:30 of the night
        "2026-11-01T01:30:00-05:00[America/New_York]",  # the second (fold=1)
        "2026-04-05T01:45:00+11:00[Australia/Lord_Howe]",  # half-hour DST, first
        "2026-04-05T01:45:00+10:30[Australia/Lord_Howe]",  # and second
        "2026-01-05T09:00:00+05:45",  # a fixed offset, no zone name
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T09:00:00.000001+00:00[UTC]",
    ],
)
def test_the_codec_reads_ambiguous_and_fixed_offset_times_exactly(
    text: str, clock: FixedClock
) -> None:
    at = from_dict(pendulum.DateTime, text)
    call = interaction(clock, uuid.uuid4(), at)
    stored = _codec.encode(call)
    decoded = _codec.decode(Interaction, stored)
    restored = from_dict(Interaction, json.loads(stored))
    assert decoded == restored
    assert decoded.opened_at.fold == restored.opened_at.fold
    assert decoded.opened_at.isoformat() == restored.opened_at.isoformat()
    assert _codec.encode(decoded) == stored


def test_decode_many_shares_equal_values(clock: FixedClock) -> None:
    owner = uuid.uuid4()
    calls = [interaction(clock, owner) for _ in range(3)]
    decoded = _codec.decode_many(Interaction, [_codec.encode(c) for c in calls])
    assert decoded == calls
    assert decoded[0].customer_id is decoded[2].customer_id


# Side by side with the memory reference: the conformance kit's stateful test
# (tests/test_conformance.py, tests/test_postgres_conformance.py).
