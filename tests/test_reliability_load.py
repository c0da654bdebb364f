"""Load: many threads, or processes, sharing one store, with mixed reads and writes.

Each worker (``load_worker`` in ``tests/_reliability.py``) runs random
operations for a bounded time: adding customers, interactions (one by one and
in bulk) and cases, transactions that commit and transactions that roll back,
read-modify-save cycles on a few counters every worker shares (so saves
conflict), alone and inside transaction blocks that read first, saves of its
own customers, forgets, and reads checked against what it wrote (get,
for_customer, export, count, the change feed).

Every operation either succeeds, and is counted with what it changed, or
raises a library error (only ``ConcurrencyError`` on a shared counter is
expected); nothing else may come out. When the workers stop, the store must
hold exactly the sum of the successful operations, and its change feed one
entry per successful change.

Sixteen threads share one store of each backend (memory, SQLite, PostgreSQL,
MariaDB); four processes share one store of each SQL engine. Duration:
``CUSTSERVICE_LOAD_SECONDS`` (default 3) per test. The figures of a run are
printed (``pytest -rP`` shows them).

Sixteen threads also plan follow-ups and build the service report at once on
one small store, every backend, PostgreSQL and MariaDB with a pool of one
connection and of two: the analytics nest iterations in one thread, which must
never need a second pooled connection.
"""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import with_options
from tests._reliability import (
    COMMAND,
    ENGINES,
    ROOT,
    T0,
    Databases,
    env_float,
    fresh_databases,
    load_worker,
)

from custservice import Customer, FixedClock, Store, open_store
from custservice.analytics import plan_follow_ups
from custservice.report import build_report, latest_change
from custservice.simulation import DEMO_TARGETS, simulate

SECONDS = env_float("CUSTSERVICE_LOAD_SECONDS", 3.0)
THREADS = 16
PROCESSES = 4
COUNTERS = 3
SHARED = 4


def setup(store: Store) -> dict[str, list[uuid.UUID]]:
    """The counters every worker saves, and the customers every worker adds interactions to."""
    clock = FixedClock(T0)
    counters = [store.customers.add(Customer.new(f"Counter {k}", clock=clock)) for k in range(3)]
    shared = [store.customers.add(Customer.new(f"Shared {k}", clock=clock)) for k in range(4)]
    assert (len(counters), len(shared)) == (COUNTERS, SHARED)
    return {"counters": [c.id for c in counters], "shared": [c.id for c in shared]}


def check(store: Store, ids: dict[str, list[uuid.UUID]], tallies: list[dict[str, Any]]) -> str:
    """The store holds exactly what the successful operations wrote; returns the figures."""
    for t in tallies:
        assert t["leaks"] == []
        assert t["problems"] == []
    own: dict[uuid.UUID, list[int]] = {}
    for t in tallies:
        own.update({uuid.UUID(k): v for k, v in t["own"].items()})
    saves: Counter[str] = Counter()
    for t in tallies:
        saves.update(t["counter_saves"])
    shared_interactions = sum(t["shared_interactions"] for t in tallies)
    forgotten = sum(t["forgotten"] for t in tallies)

    assert store.customers.count() == COUNTERS + SHARED + len(own)
    for cid, (version, interactions, cases) in own.items():
        assert store.customers.get(cid).version == version
        assert sum(1 for _ in store.interactions.for_customer(cid)) == interactions
        assert sum(1 for _ in store.cases.for_customer(cid)) == cases
    assert store.interactions.count() == shared_interactions + sum(v[1] for v in own.values())
    assert store.cases.count() == sum(v[2] for v in own.values())
    for cid in ids["counters"]:
        assert store.customers.get(cid).version == 1 + saves[str(cid)]
    # One feed entry per successful change: the setup's adds, then every add and save of
    # what is still stored, the counters' saves, and one entry per forget.
    expected = (
        COUNTERS
        + SHARED
        + shared_interactions
        + sum(saves.values())
        + sum(version + interactions + cases for version, interactions, cases in own.values())
        + forgotten
    )
    entries = list(store.events.since(0))
    assert len(entries) == expected
    assert [e.position for e in entries] == sorted({e.position for e in entries})
    assert sum(1 for e in entries if e.action == "forget") == forgotten

    ok = sum(sum(t["ok"].values()) for t in tallies)
    errors: Counter[str] = Counter()
    for t in tallies:
        errors.update(t["errors"])
    assert set(errors) <= {
        "save_counter: ConcurrencyError",
        "save_counter_in_transaction: ConcurrencyError",
    }
    assert ok > 0
    return (
        f"{ok + sum(errors.values())} operations: {ok} succeeded, "
        f"{sum(errors.values())} refused with ConcurrencyError; "
        f"{len(own)} customers of the workers stored, {forgotten} forgotten, "
        f"{sum(saves.values())} counter saves, {len(entries)} feed entries"
    )


def run_threads(store: Store) -> str:
    ids = setup(store)
    stop = threading.Event()
    barrier = threading.Barrier(THREADS + 1)
    tallies: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait(60)
            tallies.append(load_worker(store, k, k, ids["counters"], ids["shared"], stop))
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for w in workers:
        w.start()
    barrier.wait(60)
    stop.wait(SECONDS)
    stop.set()
    for w in workers:
        w.join(120)
        assert not w.is_alive()
    assert failures == []
    assert len(tallies) == THREADS
    return check(store, ids, tallies)


@pytest.fixture
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Stores of the backend the test is parametrized with (``indirect``)."""
    with fresh_databases(request, tmp_path) as databases:
        yield databases


# --- threads -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("databases", ["memory", *ENGINES], indirect=True)
def test_sixteen_threads_share_a_store(databases: Databases) -> None:
    with open_store(databases.fresh()) as store:
        print(f"{databases.engine}, 16 threads:", run_threads(store))


# --- many callers of the analytics on one store -------------------------------------------


CALLERS = 16
"""Threads that plan follow-ups and build the report at once."""

SMALL_BASE = {"customers": 30, "months": 3, "seed": 11}
"""A small simulated customer base: every caller reads all of it several times."""


def plan_and_report(store: Store) -> tuple[Any, ...]:
    """What an application asks of a store: the follow-ups due and the service report."""
    at = latest_change(store)
    assert at is not None
    due = plan_follow_ups(store, window_start=at, window_end=at.add(days=30), targets=DEMO_TARGETS)
    return due, build_report(store, at=at)


@pytest.fixture
def small_store(databases: Databases, pool: int | None) -> Iterator[Store]:
    """A store holding :data:`SMALL_BASE`; on a server, with a pool of ``pool`` connections."""
    url = databases.fresh()
    if pool is not None:
        url = with_options(url, max_size=pool, timeout=60)
    with open_store(url) as store:
        simulate(store, **SMALL_BASE)
        yield store


@pytest.mark.parametrize(
    ("databases", "pool"),
    [
        pytest.param("memory", None, id="memory"),
        pytest.param("sqlite", None, id="sqlite"),
        *(
            pytest.param(engine, size, id=f"{engine}, a pool of {size}")
            for engine in ("postgresql", "mariadb")
            for size in (1, 2)
        ),
    ],
    indirect=["databases"],
)
def test_sixteen_callers_plan_and_report_at_once_on_any_pool(small_store: Store) -> None:
    """Each caller reads in nested iterations (the report asks for a customer's history
    while it walks the customers; the planner walks three kinds at once). On PostgreSQL no
    thread may hold more than one pooled connection: with a pool of one or two, sixteen
    such callers must all finish, with the answers of the in-memory reference."""
    with open_store("memory://") as reference:
        simulate(reference, **SMALL_BASE)
        expected = plan_and_report(reference)
    assert expected[0], "the window holds follow-ups to compare"
    barrier = threading.Barrier(CALLERS)
    results: list[tuple[Any, ...]] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait(60)
            results.append(plan_and_report(small_store))
        except BaseException as exc:
            failures.append(exc)

    callers = [threading.Thread(target=call) for _ in range(CALLERS)]
    for c in callers:
        c.start()
    for c in callers:
        c.join(300)
        assert not c.is_alive(), "a caller never finished: waiting on the pool?"
    assert failures == []
    assert len(results) == CALLERS
    for result in results:
        assert result == expected


# --- processes ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("databases", ENGINES, indirect=True)
def test_four_processes_share_a_store(databases: Databases) -> None:
    url = databases.fresh()
    with open_store(url) as store:
        ids = setup(store)
    text = json.dumps({k: [str(i) for i in v] for k, v in ids.items()})
    processes = [
        subprocess.Popen(
            [*COMMAND, "load", url, str(SECONDS), str(k), text],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    for p in processes:  # all open, then all start together
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready", p.communicate()
    for p in processes:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    tallies = []
    for p in processes:
        out, err = p.communicate(timeout=SECONDS + 120)
        assert p.returncode == 0, err
        tallies.append(json.loads(out))
    with open_store(url) as store:
        print(f"{databases.engine}, 4 processes:", check(store, ids, tallies))
