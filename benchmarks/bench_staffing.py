"""Staffing: agents_needed by Erlang C and Erlang A, against the textbook formula.

1. ``agents_needed`` for 100 erlangs (2,000 contacts an hour of 3 minutes,
   80% answered within 20 seconds) against the same search written the
   textbook way, in floats: Erlang C from ``A**N/N!`` and the sum of the
   terms before it, recomputed for each N tried. Both must give the same
   agents. 100 erlangs is about as far as that formula goes: ``A**N``
   overflows a float past about 10**308.
2. The same at 300 erlangs (6,000 an hour), where the float formula
   overflows (it is tried, and its ``OverflowError`` reported), against the
   textbook formula in exact fractions, which still works, slowly. Both
   must give the same agents.
3. ``agents_needed`` with callers' patience (Erlang A, 2 minutes) at 300
   erlangs, against Erlang C's at the same load: what counting abandonment
   costs.
4. ``staffing_plan`` for a week of half hours (336 intervals, 48 distinct
   loads from 1 to 400 erlangs), Erlang C and then Erlang A.
5. ``agents_needed`` at 500 erlangs (10,000 contacts an hour of 3 minutes,
   80% answered within 20 seconds), the median of many calls, against the
   aim's own budget of 1 ms: a ratio under 1 meets it.

Run: .venv/bin/python benchmarks/run.py staffing
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import pendulum
from _harness import QUICK, best_of, median_of, report

from custservice.analytics import Forecast, agents_needed, staffing_plan

HANDLE = pendulum.duration(minutes=3)
WITHIN = pendulum.duration(seconds=20)
PATIENCE = pendulum.duration(minutes=2)


def _textbook_float(load: float, agents: int) -> float:
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    below = sum(load**k / math.factorial(k) for k in range(agents))
    return top / (below + top)


def _textbook_exact(load: Fraction, agents: int) -> Fraction:
    terms = [Fraction(1)]
    for k in range(1, agents + 1):
        terms.append(terms[-1] * load / k)
    top = terms[agents] * agents / (agents - load)
    return top / (sum(terms[:agents]) + top)


def _textbook_search(load: float, waiting_with: Callable[[int], float]) -> int:
    """The least agents answering 80% within 20 s, trying N = floor(A)+1, +2, ..."""
    agents = math.floor(load) + 1
    within = WITHIN.total_seconds() / HANDLE.total_seconds()
    while True:
        waiting = waiting_with(agents)
        if 1 - waiting * math.exp(-(agents - load) * within) >= 0.8:
            return agents
        agents += 1


def _ours(rate: float, patience: pendulum.Duration | None = None) -> int:
    need = agents_needed(rate, HANDLE, answer_within=WITHIN, service_level=0.8, patience=patience)
    return need.agents


def _in_floats(load: float) -> Callable[[int], float]:
    return lambda agents: _textbook_float(load, agents)


def _in_fractions(load: float) -> Callable[[int], float]:
    return lambda agents: float(_textbook_exact(Fraction(load), agents))


def against_the_float_formula() -> None:
    rate, load = 2_000.0, 100.0
    assert _ours(rate) == _textbook_search(load, _in_floats(load))
    base = best_of(lambda: _textbook_search(load, _in_floats(load)))
    ours = best_of(lambda: _ours(rate))
    report(
        "agents_needed, 100 erlangs (ms)",
        ours * 1e3,
        "ms",
        baseline="A**N/N! in floats",
        baseline_value=base * 1e3,
        aim="faster",
    )


def against_exact_fractions() -> None:
    rate, load = 6_000.0, 300.0
    try:
        _textbook_search(load, _in_floats(load))
        print("A**N/N! in floats at 300 erlangs: no overflow (unexpected)")
    except OverflowError as exc:
        print(f"A**N/N! in floats at 300 erlangs: OverflowError ({exc})", flush=True)
    assert _ours(rate) == _textbook_search(load, _in_fractions(load))
    base = best_of(lambda: _textbook_search(load, _in_fractions(load)), repeat=1 if QUICK else 3)
    ours = best_of(lambda: _ours(rate))
    report(
        "agents_needed, 300 erlangs (ms)",
        ours * 1e3,
        "ms",
        baseline="A**N/N! in exact fractions",
        baseline_value=base * 1e3,
        aim="faster",
    )


def erlang_a_against_erlang_c() -> None:
    rate = 6_000.0
    base = best_of(lambda: _ours(rate))
    ours = best_of(lambda: _ours(rate, patience=PATIENCE))
    report(
        "agents_needed with patience, 300 erlangs (ms)",
        ours * 1e3,
        "ms",
        baseline="Erlang C",
        baseline_value=base * 1e3,
    )


def a_week() -> None:
    loads = [1 + (i % 48) * 399 / 47 for i in range(336)]  # erlangs, 48 distinct
    # per half hour: load erlangs = rate/h × 0.05 h, so rate = 20·load, count = 10·load
    week = Forecast(pendulum.duration(minutes=30), "UTC", tuple(10 * a for a in loads), (4,) * 336)
    plan_c = best_of(
        lambda: staffing_plan(week, HANDLE, answer_within=WITHIN, service_level=0.8),
        repeat=1 if QUICK else 3,
    )
    plan_a = best_of(
        lambda: staffing_plan(
            week, HANDLE, answer_within=WITHIN, service_level=0.8, patience=PATIENCE
        ),
        repeat=1 if QUICK else 3,
    )
    report(
        "staffing_plan, 336 half hours, Erlang A (ms)",
        plan_a * 1e3,
        "ms",
        baseline="Erlang C",
        baseline_value=plan_c * 1e3,
    )


def at_500_erlangs() -> None:
    rate = 10_000.0
    assert _ours(rate) > 500
    ours = median_of(lambda: _ours(rate), repeat=51 if QUICK else 301)
    report(
        "agents_needed, 500 erlangs (ms)",
        ours * 1e3,
        "ms",
        baseline="the aim's budget",
        baseline_value=1.0,
        aim="<= 1 ms",
    )


def main() -> None:
    against_the_float_formula()
    against_exact_fractions()
    erlang_a_against_erlang_c()
    a_week()
    at_500_erlangs()


if __name__ == "__main__":
    main()
