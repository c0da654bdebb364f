"""Policies as data: choosing an SLA policy, and choosing an assignee.

1. ``SlaPolicies.select`` among 50 policies, in microseconds per call, against
   ``Condition.matches`` of one of their conditions. 49 policies name a team and a
   lowest priority (``team == "tN" & priority >= high``); the case matches none of
   them, so the catch-all, last, is chosen: every condition is tested. Aim: at most
   10x one condition.
2. ``choose_assignee`` over 1,000 agents, in milliseconds per call, by each policy:
   half the agents are in the case's team, two thirds have the required skill, a
   quarter are off shift (their own calendar), and loads run from 0 to capacity.
   Against, for scale, a plain ``min`` over the 1,000 loads. Aim: at most 1 ms.

Each figure is the median of interleaved runs, so load from elsewhere on the machine
hits both alike.

Run: .venv/bin/python benchmarks/run.py policies
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections.abc import Callable

import _harness
import pendulum
from _harness import median_of, report

from custservice import (
    ALWAYS,
    Agent,
    AssignmentPolicy,
    BusinessCalendar,
    Case,
    Condition,
    FixedClock,
    LeastLoaded,
    RoundRobin,
    SkillsBased,
    SlaPolicies,
    SlaPolicy,
    choose_assignee,
)

AT = pendulum.datetime(2026, 3, 2, 14)  # a Monday afternoon
NIGHTS = BusinessCalendar("UTC", {d: [(dt.time(22), dt.time(23, 59))] for d in range(7)})


def interleaved(
    ours: Callable[[], object], base: Callable[[], object], rounds: int, number: int
) -> tuple[float, float]:
    """The median time of one call of each, in seconds, over ``rounds`` interleaved rounds
    of ``number`` calls."""
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(median_of(lambda: [ours() for _ in range(number)], repeat=1) / number)
        theirs.append(median_of(lambda: [base() for _ in range(number)], repeat=1) / number)
    return statistics.median(mine), statistics.median(theirs)


def selecting() -> None:
    case = Case.open(
        uuid.uuid4(), "Refund", clock=FixedClock(AT), priority="normal", team="t7", tags={"vip"}
    )
    high = Condition.where("priority", ">=", "high")
    conditions = [Condition.where("team", "==", f"t{i}") & high for i in range(49)]
    policies = SlaPolicies(
        [SlaPolicy(f"Policy {i}", c) for i, c in enumerate(conditions)]
        + [SlaPolicy("Everyone else", Condition.all_of())]
    )
    assert policies.select(case).name == "Everyone else"  # every condition was tested
    one = conditions[7]
    rounds = 51 if _harness.QUICK else 301
    select, match = interleaved(
        lambda: policies.select(case), lambda: one.matches(case), rounds, 20
    )
    report(
        "SlaPolicies.select among 50 (us per call)",
        select * 1e6,
        "us",
        baseline="one Condition.matches",
        baseline_value=match * 1e6,
        aim="<= 10x",
    )


def assigning() -> None:
    case = Case.open(uuid.uuid4(), "Refund", clock=FixedClock(AT), team="billing")
    agents = [
        Agent(
            f"agent{i}",
            teams={"billing"} if i % 2 else {"returns"},
            skills={"refunds"} if i % 3 else {"french"},
            capacity=3,
            calendar=NIGHTS if i % 4 == 1 else ALWAYS,
        )
        for i in range(1_000)
    ]
    loads = {a.id: i % 5 for i, a in enumerate(agents)}  # from none to over capacity
    policies: list[AssignmentPolicy] = [
        LeastLoaded(),
        RoundRobin(last="agent501"),
        SkillsBased(preferred=frozenset(), relax_after=pendulum.duration(minutes=30)),
    ]
    rounds = 11 if _harness.QUICK else 51
    for policy in policies:
        choice = choose_assignee(
            case, agents, policy=policy, loads=loads, at=AT, skills={"refunds"}
        )
        assert choice.agent is not None

        def choose(policy: AssignmentPolicy = policy) -> object:
            return choose_assignee(
                case, agents, policy=policy, loads=loads, at=AT, skills={"refunds"}
            )

        ours, base = interleaved(choose, lambda: min(loads, key=loads.__getitem__), rounds, 5)
        report(
            f"choose_assignee over 1,000 agents, {type(policy).__name__} (ms)",
            ours * 1e3,
            "ms",
            baseline="min over the loads",
            baseline_value=base * 1e3,
            aim="<= 1 ms",
        )


def main() -> None:
    selecting()
    assigning()


if __name__ == "__main__":
    main()
