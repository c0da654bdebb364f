"""The SQLite backend: bulk ingest, reading one customer's history, streaming a table.

1. Ingesting 1,000,000 interactions for 10,000 customers (QUICK: 50,000)
   through the public API (``add_many`` in one transaction: encoding, typed
   columns, change-feed entries) against raw ``sqlite3.executemany`` of the
   same rows, every column included, encoded beforehand (same table, indexes
   and pragmas; no change feed) in one transaction. Aim: at least half the
   raw rate.
2. ``interactions.for_customer`` over ~100 interactions (median of many
   calls) against the hand-written indexed query over the same connection
   that reads what a record is stored in (``data``, ``id``,
   ``customer_id``, ``version``) and ``json.loads`` each row's text. Aim:
   within 2x.
3. Streaming every interaction with ``interactions.all()``: the peak of
   memory allocated while iterating (tracemalloc), above what was allocated
   before. Aim: under 50 MB.
4. Bytes on disk per interaction: the same customers and the first 100,000
   interactions (QUICK: all 50,000) written with ``add_many`` by this version
   and by 0.1.0 into SQLite files of their own, each file then checkpointed
   and vacuumed; its size divided by the number of interactions (the change
   feed, the customers and every index included). 0.1.0 is extracted from
   its release commit with ``git archive`` and reads the records from their
   ``to_json`` text in a subprocess with ``PYTHONPATH`` at its ``src``.
   Aim: no more than 0.1.0's.

Run: .venv/bin/python benchmarks/run.py storage
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import _harness
import pendulum
from _harness import median_of, report

from custservice import Channel, Customer, FixedClock, Interaction, to_json
from custservice._ids import new_id
from custservice._records import replace
from custservice.lifecycles import INTERACTION_CYCLE
from custservice.storage.sql.rows import row
from custservice.storage.sql.schema import NO_TENANT, metadata
from custservice.storage.sql.sqlite import sqlite_store as SQLiteStore

AT = pendulum.datetime(2026, 1, 5, 9)
ROOT = Path(__file__).resolve().parent.parent
RELEASE = "1e03bfb56bc4d880a4e527fc6588aff30391ccbf"
"""The commit that released 0.1.0."""
DISK_RECORDS = 100_000
"""Interactions written by both versions to compare bytes on disk (QUICK: all of them)."""
PER_CUSTOMER = 100
"""Interactions per customer: 1,000,000 for 10,000 customers (QUICK: 50,000 for 500)."""


def _customers(count: int) -> list[Customer]:
    clock = FixedClock(AT)
    rng = random.Random(1)
    return [Customer.new(f"customer {n}", clock=clock, rng=rng) for n in range(count)]


def _interactions(customers: list[Customer], n: int) -> list[Interaction]:
    """``n`` interactions spread over the customers, each opened at its own time.

    Built from one template without validation (``_records.replace``), as rows
    read back are: building a million validated ones would dominate the run.
    """
    template = Interaction.open(
        customers[0].id, Channel.PHONE, clock=FixedClock(AT), topic="billing question"
    )
    start = INTERACTION_CYCLE.start
    rng = random.Random(2)
    out = []
    for k in range(n):
        at = AT + dt.timedelta(seconds=k, microseconds=k % 997)
        out.append(
            replace(
                template,
                id=new_id(at, rng),  # time-ordered, as the library makes them
                customer_id=customers[k % len(customers)].id,
                opened_at=at,
                lifecycle=start(at),
            )
        )
    return out


def _timed(fn: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def _fresh(directory: Path, name: str, customers: list[Customer]) -> Path:
    """A new database file with the schema and the customers stored."""
    path = directory / name
    with SQLiteStore(path) as store:
        store.customers.add_many(customers)
    return path


# The pragmas the SQLite store sets, so that only the library's own work differs.
PRAGMAS = ("foreign_keys = ON", "secure_delete = ON", "synchronous = FULL", "cache_size = -65536")
COLUMNS = [c.name for c in metadata().tables["interactions"].columns]
INSERT = f"INSERT INTO interactions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _raw_run(path: Path, rows: list[tuple[object, ...]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")

    def run() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")

    seconds = _timed(run)
    conn.close()
    return seconds


def _our_run(path: Path, records: list[Interaction]) -> float:
    store = SQLiteStore(path)

    def run() -> None:
        with store.transaction():
            for start in range(0, len(records), 100_000):
                store.interactions.add_many(records[start : start + 100_000])

    seconds = _timed(run)
    assert store.interactions.count() == len(records)
    store.close()
    return seconds


def ingest(directory: Path, customers: list[Customer], n: int) -> Path:
    records = _interactions(customers, n)
    # The records of no tenant, as the store writes them.
    rows = [
        tuple(values[c] for c in COLUMNS)
        for values in ({"tenant": NO_TENANT, **row(r, 1)} for r in records)
    ]
    # Alternate the two, best of each: a commit's fsync competes with the
    # write-back of the run before it, so one run of each would be noise.
    raw_seconds = our_seconds = float("inf")
    repeat = 3 if _harness.QUICK else 2
    for k in range(repeat):
        raw_path = _fresh(directory, f"raw{k}.db", customers)
        raw_seconds = min(raw_seconds, _raw_run(raw_path, rows))
        raw_path.unlink()
        path = _fresh(directory, f"ours{k}.db", customers)
        our_seconds = min(our_seconds, _our_run(path, records))
        if k < repeat - 1:
            path.unlink()
    report(
        f"ingest {n:,} interactions, add_many (k rows/s)",
        n / our_seconds / 1000,
        "k/s",
        baseline="raw executemany of the same rows, same table and pragmas",
        baseline_value=n / raw_seconds / 1000,
        aim=">= 0.5x",
    )
    return path


def for_customer(path: Path, customers: list[Customer]) -> None:
    store = SQLiteStore(path)
    conn = store._shared.connection.driver_connection  # the same connection, for the baseline
    ids = [c.id for c in customers[:200]]
    sizes = {len(list(store.interactions.for_customer(i))) for i in ids}
    # The records of no tenant: the tenant leads the index, as in the store's query.
    query = (
        "SELECT data, id, customer_id, version FROM interactions"
        " WHERE tenant = '' AND customer_id = ? ORDER BY opened_at, id"
    )
    loads = json.loads
    turn = iter(range(10**9))

    def hand_written() -> object:
        cid = str(ids[next(turn) % len(ids)])
        return [loads(row[0]) for row in conn.execute(query, (cid,))]

    def api() -> object:
        return list(store.interactions.for_customer(ids[next(turn) % len(ids)]))

    # Interleaved, so that load from elsewhere on the machine hits both alike.
    repeat = 201 if _harness.QUICK else 1001
    base_times: list[float] = []
    our_times: list[float] = []
    for _ in range(repeat):
        base_times.append(median_of(hand_written, repeat=1))
        our_times.append(median_of(api, repeat=1))
    base = statistics.median(base_times)
    ours = statistics.median(our_times)
    n = max(sizes)
    report(
        f"for_customer over {n} interactions (us per call)",
        ours * 1e6,
        "us",
        baseline="indexed SELECT of the row + json.loads, same connection",
        baseline_value=base * 1e6,
        aim="<= 2x",
    )
    store.close()


def stream(path: Path) -> None:
    store = SQLiteStore(path)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    count = 0
    for _ in store.interactions.all():
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    store.close()
    report(
        f"stream all {count:,} interactions: peak extra memory (MB)",
        (peak - before) / 1e6,
        "MB",
        baseline="the aim",
        baseline_value=50.0,
        aim="< 1x (under 50 MB)",
    )


# --- bytes on disk, against 0.1.0 ---------------------------------------------------------


def release_tree(directory: Path) -> Path:
    """0.1.0's source tree, extracted from its release commit into ``directory``."""
    tree = directory / "release"
    archive = subprocess.run(
        ["git", "archive", "--format=tar", RELEASE, "src"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


# Runs with 0.1.0 on its path (its own store classes: the installed entry points are ours):
# stores the records of a file of "kind<TAB>to_json text" lines.
_RELEASE_WRITE = textwrap.dedent(
    """
    import sys
    import custservice
    from custservice import Customer, Interaction, from_json
    tree, engine, where, path = sys.argv[1:]
    assert custservice.__file__.startswith(tree), custservice.__file__
    if engine == "sqlite":
        from custservice.storage.sqlite import SQLiteStore
        store = SQLiteStore(where)
    else:
        from custservice.storage.postgres import open_postgres_store
        store = open_postgres_store(where)
    def read(kind, cls):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                found, _, text = line.partition("\t")
                if found == kind:
                    yield from_json(cls, text)
    store.customers.add_many(read("customer", Customer))
    store.interactions.add_many(read("interaction", Interaction))
    store.close()
    """
)


def records_file(
    directory: Path, customers: Sequence[Customer], records: Sequence[Interaction]
) -> Path:
    """The records as lines of ``kind<TAB>to_json text``, for 0.1.0 to read."""
    path = directory / "records.tsv"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(f"customer\t{to_json(c)}\n" for c in customers)
        out.writelines(f"interaction\t{_as_released(r)}\n" for r in records)
    return path


_NEWER_FIELDS = {"attributes": {}, "tags": [], "team": None}
"""Fields of an interaction that 0.1.0 has not, at the values these records have."""


def _as_released(record: Interaction) -> str:
    """The record's JSON text as 0.1.0 reads it: without the fields it has not."""
    data = json.loads(to_json(record))
    for name, empty in _NEWER_FIELDS.items():
        assert data.pop(name, empty) == empty, f"0.1.0 cannot store {name}"
    return json.dumps(data)


def release_write(tree: Path, engine: str, where: str, records: Path) -> None:
    """Store the records of ``records`` with 0.1.0, in a subprocess.

    Args:
        tree: 0.1.0's tree (:func:`release_tree`).
        engine: ``"sqlite"`` or ``"postgres"``.
        where: the SQLite file, or the PostgreSQL URL (``?schema=`` included).
        records: the records' file (:func:`records_file`).
    """
    environment = {**os.environ, "PYTHONPATH": str(tree / "src")}
    subprocess.run(
        [sys.executable, "-c", _RELEASE_WRITE, str(tree / "src"), engine, where, str(records)],
        env=environment,
        check=True,
    )


def _vacuumed_size(path: Path) -> tuple[int, str]:
    """The file's size once its log is checkpointed and it is vacuumed, and its largest parts."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:
        parts = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6"
        ).fetchall()
        largest = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in parts)
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        largest = "(no dbstat)"
    conn.close()
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), largest


def disk(directory: Path, customers: list[Customer], records: list[Interaction]) -> None:
    n = len(records)
    ours, theirs = directory / "disk-ours.db", directory / "disk-0.1.0.db"
    with SQLiteStore(ours) as store:
        store.customers.add_many(customers)
        store.interactions.add_many(records)
    release_write(
        release_tree(directory), "sqlite", str(theirs), records_file(directory, customers, records)
    )
    our_bytes, our_parts = _vacuumed_size(ours)
    their_bytes, their_parts = _vacuumed_size(theirs)
    print(f"(largest parts: ours {our_parts}; 0.1.0 {their_parts})", flush=True)
    report(
        f"bytes on disk per interaction, {n:,} of them (B)",
        our_bytes / n,
        "B",
        baseline="0.1.0 writing the same records, both files vacuumed",
        baseline_value=their_bytes / n,
        aim="<= 1x",
    )


def main() -> None:
    n = 50_000 if _harness.QUICK else 1_000_000
    directory = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    try:
        customers = _customers(n // PER_CUSTOMER)
        path = ingest(directory, customers, n)
        for_customer(path, customers)
        stream(path)
        kept = customers[: min(n, DISK_RECORDS) // PER_CUSTOMER]
        disk(directory, kept, _interactions(kept, len(kept) * PER_CUSTOMER))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
