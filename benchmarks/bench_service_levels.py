"""Service targets: microseconds per ``evaluate`` on a short and a long case history,
against one ``BusinessCalendar.elapsed`` call over a day measured in the same run.

The desk is a London calendar, Monday to Friday 08:00-12:00 and 13:00-17:30. The short
case has a handful of updates and status changes; the long one a thousand of each kind
of update and a few hundred status changes. ``evaluate`` derives everything from the
history on every call, so its cost grows with the history it must read; the figures
show by how much.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pendulum
from _harness import QUICK, best_of, report

from custservice._time import FixedClock
from custservice.calendars import BusinessCalendar
from custservice.cases import Case
from custservice.enums import Metric
from custservice.service_levels import ServiceTarget

ZONE = "Europe/London"
DESK = BusinessCalendar(
    ZONE, {d: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17, 30))] for d in range(5)}
)


def story(rounds: int) -> tuple[Case, pendulum.DateTime]:
    """A case where each round is a customer message, an answer, a wait on the customer
    and a resumption, an hour apart."""
    clock = FixedClock(pendulum.datetime(2026, 1, 5, 9, tz=ZONE))
    hour = pendulum.duration(hours=1)
    case = Case.open(uuid.uuid4(), "benchmark", clock=clock).advance("open", at=clock.now())
    for _ in range(rounds):
        case = case.record_update(at=clock.advance(hour), from_customer=True)
        case = case.record_update(at=clock.advance(hour))
        case = case.advance("await_customer", at=clock.advance(hour))
        case = case.advance("resume", at=clock.advance(hour))
    return case, clock.advance(hour)


def evaluations(
    target: ServiceTarget, case: Case, at: pendulum.DateTime, n: int
) -> Callable[[], object]:
    return lambda: [target.evaluate(case, at=at) for _ in range(n)]


def main() -> None:
    calls = 100 if QUICK else 1_000
    firsts = [
        pendulum.datetime(2026, 1, 1, 7, 13, tz=ZONE).add(minutes=n * 3_907) for n in range(calls)
    ]
    day = pendulum.duration(days=1)
    per_elapsed = best_of(lambda: [DESK.elapsed(a, a + day) for a in firsts]) / calls * 1e6
    for rounds in (3, 100 if QUICK else 1_000):
        case, at = story(rounds)
        for metric in Metric:
            target = ServiceTarget(metric, pendulum.duration(hours=8), calendar=DESK)
            n = max(calls // max(rounds // 10, 1), 5)
            per = best_of(evaluations(target, case, at, n)) / n * 1e6
            report(
                f"evaluate {metric.value}, {rounds} rounds",
                per,
                "us",
                baseline="elapsed, one day",
                baseline_value=per_elapsed,
            )


if __name__ == "__main__":
    main()
