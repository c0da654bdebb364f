"""The SQLite backend, on real files: behaviour, durability, schema safety, concurrency, erasure.

The same behaviour as the in-memory reference is checked side by side by a
Hypothesis state machine at the end; the stored form's codec has its own
tests (``tests/test_codec.py``).
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
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from custservice import (
    Channel,
    ConcurrencyError,
    Customer,
    FixedClock,
    Interaction,
    StorageError,
    ValidationError,
    open_store,
)
from custservice.storage.sql import VERSION, SqlStore, migrations
from custservice.storage.sql import store as sql_store
from custservice.storage.sql.sqlite import APPLICATION_ID
from custservice.storage.sql.sqlite import sqlite_store as SQLiteStore

T0 = pendulum.datetime(2026, 1, 5, 9)


# --- helpers -------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(path: Path) -> Iterator[SqlStore]:
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
        assert isinstance(store, SqlStore)
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
        assert isinstance(store, SqlStore)
        with store.sql_snapshot() as snapshot:
            read = snapshot.connection.exec_driver_sql
            assert read("PRAGMA busy_timeout").scalar_one() == 500
            assert read("PRAGMA synchronous").scalar_one() == 1  # NORMAL
            assert read("PRAGMA cache_size").scalar_one() == -8 * 1024


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


# --- reading in pages -------------------------------------------------------------------


def test_iteration_reads_in_pages_across_ties(
    store: SqlStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_store, "PAGE", 3)
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


# --- the file: schema, refusal, migration ---------------------------------------------------


def test_a_new_file_is_initialised_and_marked(path: Path) -> None:
    SQLiteStore(path).close()
    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "user_version") == VERSION
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
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
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


def test_a_failed_upgrade_leaves_the_file_at_its_old_version_untouched(
    path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(path) as store:
        ada = store.customers.add(customer(clock))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")  # as the first release left its files
    conn.close()
    before = digest(path)

    # A step that fails half-way leaves the file at the old version, nothing applied.
    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrations, "_fill", boom)
    with pytest.raises(
        StorageError, match=rf"upgrading .* from schema version 1 to {VERSION} failed"
    ):
        SQLiteStore(path)
    assert pragma(path, "user_version") == 1
    assert digest(path) == before
    monkeypatch.undo()
    with SQLiteStore(path) as store:
        assert store.customers.get(ada.id) == ada
    assert pragma(path, "user_version") == VERSION


def test_a_version_0_file_of_ours_gets_the_whole_schema(path: Path, clock: FixedClock) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # marked, but no tables yet
    conn.close()
    with SQLiteStore(path) as store:
        store.customers.add(customer(clock))
        assert store.customers.count() == 1
    assert pragma(path, "user_version") == VERSION


def test_a_failed_first_migration_leaves_an_empty_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = migrations._create

    def boom(*args: Any) -> None:
        create(*args)
        raise RuntimeError("no")

    monkeypatch.setattr(migrations, "_create", boom)
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
    store: SqlStore, clock: FixedClock
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
    from custservice.storage.sql.sqlite import sqlite_store as SQLiteStore

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


# Side by side with the memory reference: the conformance kit's stateful test
# (tests/test_conformance.py, tests/test_postgres_conformance.py).
