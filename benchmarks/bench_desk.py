"""The working desk: assigning and reprioritizing a case, against the length of its history.

1. ``case.assign`` on a case with 10,000 past assignments against one with 10, in
   microseconds per call, each call from the same case (so the newest version
   grows in place once, then every later call branches, as retries do) and
   along a chain (each call on the case the last one returned).
2. ``case.reprioritize`` the same way, with 10,000 past priority changes against 10.
3. ``interactions.for_customer`` through a tenant's scope against the unscoped store, on
   one SQLite file holding the records of no tenant and of two tenants alike (200
   customers with 100 interactions each, per owner), in microseconds per call.

Run: .venv/bin/python benchmarks/run.py desk
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import _harness
import pendulum
from _harness import best_of, median_of, report

from custservice import Case, Channel, Customer, FixedClock, Interaction, Priority, open_store

AT = pendulum.datetime(2026, 1, 5, 9)
SECOND = pendulum.duration(seconds=1)
AGENTS = ("ana", "bo")
LEVELS = (Priority.HIGH, Priority.NORMAL)


def with_assignments(n: int) -> tuple[Case, pendulum.DateTime]:
    clock = FixedClock(AT)
    case = Case.open(uuid.uuid4(), "Refund", clock=clock, team="billing")
    for i in range(n):
        case = case.assign(AGENTS[i % 2], at=clock.advance(SECOND))
    assert len(case.assignments) == n
    return case, clock.now()


def with_priority_changes(n: int) -> tuple[Case, pendulum.DateTime]:
    clock = FixedClock(AT)
    case = Case.open(uuid.uuid4(), "Refund", clock=clock)
    for i in range(n):
        case = case.reprioritize(LEVELS[i % 2], at=clock.advance(SECOND))
    assert len(case.priority_changes) == n
    return case, clock.now()


def from_same(case: Case, step: Callable[[Case, int], Case], count: int) -> Callable[[], object]:
    """``count`` calls, each on ``case`` itself."""

    def run() -> None:
        for i in range(count):
            step(case, i)

    return run


def along(case: Case, step: Callable[[Case, int], Case], count: int) -> Callable[[], object]:
    """``count`` calls, each on the case the call before returned."""

    def run() -> None:
        current = case
        for i in range(count):
            current = step(current, i)

    return run


def per_call_us(fn: Callable[[], object], count: int) -> float:
    return best_of(fn, repeat=1) / count * 1e6


def compare(
    what: str,
    build: Callable[[int], tuple[Case, pendulum.DateTime]],
    step: Callable[[pendulum.DateTime], Callable[[Case, int], Case]],
) -> None:
    count = 2_000 if _harness.QUICK else 20_000
    short, short_at = build(10)
    long, long_at = build(10_000)
    later = max(short_at, long_at) + SECOND
    for shape, make in (("from the same case", from_same), ("along a chain", along)):
        # Interleaved, so that the machine's moods hit both alike.
        on_short, on_long = [], []
        for _ in range(7):
            on_short.append(per_call_us(make(short, step(later), count), count))
            on_long.append(per_call_us(make(long, step(later), count), count))
        report(
            f"{what} with 10,000 past changes, {shape}, us per call",
            min(on_long),
            "us",
            baseline="10 past",
            baseline_value=min(on_short),
            aim="~1x",
        )


def assigning(at: pendulum.DateTime) -> Callable[[Case, int], Case]:
    return lambda case, i: case.assign(AGENTS[i % 2] + "x", at=at, reason="shift change")


def reprioritizing(at: pendulum.DateTime) -> Callable[[Case, int], Case]:
    return lambda case, i: case.reprioritize(
        Priority.URGENT if case.priority is not Priority.URGENT else Priority.LOW, at=at
    )


def scoped_reads() -> None:
    people = 50 if _harness.QUICK else 200
    directory = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    try:
        with open_store(f"sqlite:///{directory / 'desk.db'}") as store:
            owners: dict[str | None, list[uuid.UUID]] = {}
            for tenant in (None, "north", "south"):
                where = store if tenant is None else store.scoped(tenant)
                clock = FixedClock(AT)
                customers = [Customer.new(f"C{i}", clock=clock) for i in range(people)]
                where.customers.add_many(customers)
                where.interactions.add_many(
                    Interaction.open(c.id, Channel.CHAT, clock=clock.advance(SECOND))
                    for c in customers
                    for _ in range(100)
                )
                owners[tenant] = [c.id for c in customers]
            north = store.scoped("north")
            turn = iter(range(10**9))

            def unscoped() -> object:
                ids = owners[None]
                return list(store.interactions.for_customer(ids[next(turn) % len(ids)]))

            def scoped() -> object:
                ids = owners["north"]
                return list(north.interactions.for_customer(ids[next(turn) % len(ids)]))

            # Interleaved, so that load from elsewhere on the machine hits both alike.
            base_times: list[float] = []
            our_times: list[float] = []
            for _ in range(201 if _harness.QUICK else 1001):
                base_times.append(median_of(unscoped, repeat=1))
                our_times.append(median_of(scoped, repeat=1))
        report(
            "scoped for_customer over 100 interactions (us per call)",
            statistics.median(our_times) * 1e6,
            "us",
            baseline="the unscoped store's, same file",
            baseline_value=statistics.median(base_times) * 1e6,
            aim="<= 1.2x",
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    compare("case.assign", with_assignments, assigning)
    compare("case.reprioritize", with_priority_changes, reprioritizing)
    scoped_reads()


if __name__ == "__main__":
    main()
