"""The working desk: assigning and reprioritizing a case, against the length of its history.

1. ``case.assign`` on a case with 10,000 past assignments against one with 10, in
   microseconds per call, each call from the same case (so the newest version
   grows in place once, then every later call branches, as retries do) and
   along a chain (each call on the case the last one returned).
2. ``case.reprioritize`` the same way, with 10,000 past priority changes against 10.

Run: .venv/bin/python benchmarks/run.py desk
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import _harness
import pendulum
from _harness import best_of, report

from custservice import Case, FixedClock, Priority

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


def main() -> None:
    compare("case.assign", with_assignments, assigning)
    compare("case.reprioritize", with_priority_changes, reprioritizing)


if __name__ == "__main__":
    main()
