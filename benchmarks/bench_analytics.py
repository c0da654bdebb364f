"""Scorecards in SQLite: pushed down to SQL, against hand-written SQL and against streaming.

One SQLite file holds 1,000,000 interactions of 10,000 customers and 20,000
cases (QUICK: 50,000, 500 and 1,000), stored through the public API: varied
channels, agents, queue waits, handoffs, resolutions, feedback on three
scales with per-factor ratings, root causes.

1. The full scorecard of the store, ``scorecard(store)``, which the SQLite
   backend computes in SQL (counts, FCR, CSAT, NPS, verdicts overall and per
   factor, queue-wait median and nearest-rank 90th percentile, handoffs),
   against one hand-written SQL query computing the same figures over the
   same file, on a connection of its own, in the same run. Both results are
   checked equal before timing. Aim: within 2x.
2. The same scorecard grouped by channel, pushed down, against the same
   hand-written query grouped by channel. Aim: within 2x.
3. The same full scorecard streamed, ``scorecard(store.interactions.all(),
   store.cases.all())``: every record read and decoded in Python, against
   the push-down. No aim: it shows what the push-down saves.

Run: .venv/bin/python benchmarks/run.py analytics
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import _harness
import pendulum
from _harness import best_of, report

from custservice import (
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    Case,
    Channel,
    Customer,
    Factor,
    Feedback,
    FixedClock,
    Interaction,
    ServiceArea,
)
from custservice._ids import new_id
from custservice._records import replace
from custservice.analytics import Scorecard, VerdictCounts, scorecard
from custservice.lifecycle import History, LifecycleState, _state
from custservice.storage.sqlite import SQLiteStore

T0 = pendulum.datetime(2026, 1, 5, 9)
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata")
AGENTS = tuple(f"agent {n}" for n in range(20))
SCALES = (CSAT_5, NPS_SCALE, SATISFACTION_10)
_add = dt.datetime.__add__


# --- the data ------------------------------------------------------------------------


def _template(rng: random.Random, customer: Customer) -> Interaction:
    """One interaction through the public API, opened at T0 in a random zone."""
    clock = FixedClock(T0.in_timezone(rng.choice(ZONES)))
    i = Interaction.open(
        customer.id, rng.choice(list(Channel)), clock=clock, agent=rng.choice(AGENTS)
    )
    if rng.random() < 0.05:
        return i.advance("close", at=clock.advance(pendulum.duration(minutes=rng.randint(1, 9))))
    wait = pendulum.duration(seconds=rng.randint(0, 1800), microseconds=rng.randint(0, 999_999))
    i = i.advance("receive", at=clock.advance(wait))
    i = i.advance("understand", at=clock.advance(pendulum.duration(minutes=1)))
    i = i.advance("help", at=clock.advance(pendulum.duration(minutes=2)))
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        i = i.handoff(rng.choice(AGENTS), at=clock.advance(pendulum.duration(minutes=3)))
    if rng.random() < 0.8:
        i = i.resolve(at=clock.advance(pendulum.duration(minutes=5)))
    if rng.random() < 0.5:
        scale = rng.choice(SCALES)
        ratings = {
            f: rng.randint(scale.low, scale.high)
            for f in rng.sample(list(Factor), rng.randint(0, 3))
        }
        i = i.record_feedback(
            Feedback(
                rng.randint(scale.low, scale.high),
                scale,
                at=clock.advance(pendulum.duration(hours=1)),
                ratings=ratings,
            )
        )
    if rng.random() < 0.2:
        i = i.tag_root_cause(rng.choice(list(ServiceArea)))
    return i


def _shift_state(state: LifecycleState, delta: dt.timedelta) -> LifecycleState:
    history = History.__new__(History)
    history._log = [(e, s, t, _add(at, delta), r) for e, s, t, at, r in state.history._log]
    history._len = len(history._log)
    return _state(state.current, _add(state.since, delta), history)


def _interactions(customers: list[Customer], n: int) -> Iterator[Interaction]:
    """``n`` interactions, each a copy of one of a few thousand templates, moved in time.

    Copies are made without validation (``_records.replace``), as rows read
    back are: building a million through the lifecycle would dominate the run.
    """
    rng = random.Random(7)
    templates = [_template(rng, customers[k % len(customers)]) for k in range(3000)]
    for k in range(n):
        t = templates[k % len(templates)]
        delta = dt.timedelta(seconds=3 * k, microseconds=k % 997)
        at = _add(t.opened_at, delta)
        fb = t.feedback
        yield replace(
            t,
            id=new_id(at, rng),
            customer_id=customers[k % len(customers)].id,
            opened_at=at,
            lifecycle=_shift_state(t.lifecycle, delta),
            handoffs=tuple(replace(h, at=_add(h.at, delta)) for h in t.handoffs),
            resolved_at=None if t.resolved_at is None else _add(t.resolved_at, delta),
            feedback=None if fb is None else replace(fb, at=_add(fb.at, delta)),
        )


def _cases(customers: list[Customer], n: int) -> Iterator[Case]:
    rng = random.Random(8)
    for k in range(n):
        clock = FixedClock(_add(T0, dt.timedelta(seconds=150 * k)))
        case = Case.open(customers[k % len(customers)].id, "order", clock=clock, rng=rng)
        case = case.advance("open", at=clock.now())
        if rng.random() < 0.6:
            case = case.record_update(at=clock.advance(pendulum.duration(hours=2)))
        if rng.random() < 0.3:
            case = case.tag_root_cause(rng.choice(list(ServiceArea)))
        yield case


def _build(path: Path, n: int) -> None:
    clock = FixedClock(T0)
    rng = random.Random(1)
    customers = [Customer.new(f"customer {k}", clock=clock, rng=rng) for k in range(n // 100)]
    with SQLiteStore(path, synchronous="normal") as store:
        store.customers.add_many(customers)
        records = _interactions(customers, n)
        while batch := list(islice(records, 100_000)):
            store.interactions.add_many(batch)
        store.cases.add_many(_cases(customers, n // 50))


# --- the hand-written query ----------------------------------------------------------

# Wall-clock seconds and the UTC offset of an ISO 8601 datetime as the library writes
# it ("2026-01-05T09:12:30.5+01:00[Europe/Paris]"), in microseconds since 1970.
_AT = "json_extract(data, '$.lifecycle.history[0].at')"
_REST = f"substr({_AT}, CASE WHEN substr({_AT}, 20, 1) = '.' THEN 27 ELSE 20 END)"
_RECEIVED = f"""(
    CAST(strftime('%s', substr({_AT}, 1, 19)) AS INTEGER) * 1000000
    + CASE WHEN substr({_AT}, 20, 1) = '.' THEN CAST(substr({_AT}, 21, 6) AS INTEGER) ELSE 0 END
    - CASE WHEN substr({_REST}, 1, 1) = '-' THEN -1 ELSE 1 END
      * (CAST(substr({_REST}, 2, 2) AS INTEGER) * 3600
         + CAST(substr({_REST}, 5, 2) AS INTEGER) * 60) * 1000000)"""

_FACTOR_COLUMNS = ",\n".join(
    f"json_extract(data, '$.feedback.ratings.{f.value}') AS {f.value}" for f in Factor
)
_FACTOR_COUNTS = ",\n".join(
    f"sum({f.value} < ad), sum({f.value} >= ad AND {f.value} < de), sum({f.value} >= de)"
    for f in Factor
)


def _hand_written(by_channel: bool) -> str:
    """One statement: every figure of the scorecard, as someone fluent in SQLite writes it.

    The waits of each group are ranked by a window function, and the median and the
    nearest-rank 90th percentile picked by rank: exact, as the scorecard is.
    """
    key = "json_extract(data, '$.channel')" if by_channel else "''"
    return f"""
    WITH i AS MATERIALIZED (
        SELECT {key} AS k,
            json_extract(data, '$.resolved_at') IS NOT NULL AS resolved,
            json_array_length(data, '$.handoffs') AS handoffs,
            CASE WHEN json_extract(data, '$.lifecycle.history[0].event') = 'receive'
                 THEN {_RECEIVED} - opened_at END AS wait,
            json_extract(data, '$.feedback.score') AS score,
            json_extract(data, '$.feedback.scale.adequate') AS ad,
            json_extract(data, '$.feedback.scale.desired') AS de,
            json_extract(data, '$.feedback.scale.name') = 'nps' AS is_nps,
            {_FACTOR_COLUMNS}
        FROM interactions
    ),
    ranked AS (
        SELECT k, wait, row_number() OVER (PARTITION BY k ORDER BY wait) AS r,
               count(*) OVER (PARTITION BY k) AS n
        FROM i WHERE wait IS NOT NULL
    ),
    waits AS (
        SELECT k, max(n) AS n,
            max(CASE WHEN r = (n + 1) / 2 THEN wait END) AS low,
            max(CASE WHEN r = n / 2 + 1 THEN wait END) AS high,
            max(CASE WHEN r = (9 * n + 9) / 10 THEN wait END) AS p90
        FROM ranked GROUP BY k
    ),
    totals AS (
        SELECT k, count(*) AS n, sum(resolved) AS resolved,
            sum(resolved AND handoffs = 0) AS fcr, sum(handoffs) AS handoffs,
            count(score) AS feedback,
            sum(score IS NOT NULL AND NOT is_nps) AS csat_n,
            sum(NOT is_nps AND score >= ad) AS csat_ok,
            sum(is_nps) AS nps_n, sum(is_nps AND score >= de) AS promoters,
            sum(is_nps AND score < ad) AS detractors,
            sum(score < ad), sum(score >= ad AND score < de), sum(score >= de),
            {_FACTOR_COUNTS}
        FROM i GROUP BY k
    )
    SELECT totals.*, waits.n, waits.low, waits.high, waits.p90,
        (SELECT count(*) FROM cases) AS cases
    FROM totals LEFT JOIN waits USING (k) ORDER BY k
    """


def _figures(card: Scorecard) -> list[Any]:
    """What both computations must agree on, in the hand-written query's order."""

    def us(d: dt.timedelta | None) -> int | None:
        return None if d is None else dt.timedelta.__floordiv__(d, dt.timedelta(microseconds=1))

    def verdicts(v: VerdictCounts) -> list[int]:
        return [v.dissatisfied, v.satisfied, v.delighted]

    factors = []
    for f in Factor:
        factors += verdicts(card.factor_verdicts.get(f, VerdictCounts()))
    return [
        card.interactions,
        card.resolved,
        card.first_contact_resolved,
        card.handoffs,
        card.with_feedback,
        card.csat_responses,
        card.csat,
        card.nps_responses,
        card.nps,
        *verdicts(card.verdicts),
        *factors,
        card.waits,
        us(card.wait_median),
        us(card.wait_p90),
    ]


def _from_row(row: tuple[Any, ...]) -> list[Any]:
    """A row of the hand-written query as :func:`_figures`, percentages done the same way."""
    (_, n, resolved, fcr, handoffs, feedback, csat_n, csat_ok, nps_n, promoters, detractors) = row[
        :11
    ]
    counts = [c or 0 for c in row[11:-5]]
    waits, low, high, p90, _ = row[-5:]
    median = high if waits % 2 else round((low + high) / 2)
    csat = 100.0 * csat_ok / csat_n if csat_n else None
    nps = 100.0 * promoters / nps_n - 100.0 * detractors / nps_n if nps_n else None
    figures = [n, resolved, fcr, handoffs, feedback, csat_n, csat, nps_n, nps, *counts]
    return [*figures, waits, median, p90]


def _check(card: Scorecard, rows: list[tuple[Any, ...]]) -> None:
    cards = [card] if not card.groups else [g for g in card.groups.values() if g.interactions]
    assert [_figures(c) for c in cards] == [_from_row(r) for r in rows], "figures differ"
    assert all(r[-1] == card.cases for r in rows), "case counts differ"


# --- the measurements ----------------------------------------------------------------


def _compare(path: Path, n: int, by_channel: bool, repeat: int) -> float:
    store = SQLiteStore(path)
    conn = sqlite3.connect(path)
    sql = _hand_written(by_channel)
    by = "channel" if by_channel else None
    rows: list[tuple[Any, ...]] = []

    def hand_written() -> None:
        rows[:] = conn.execute(sql).fetchall()

    pushed: list[Scorecard] = []

    def pushed_down() -> None:
        pushed[:] = [scorecard(store, by=by)]

    hand_written()
    pushed_down()
    _check(pushed[0], rows)
    # Interleaved, best of each: load from elsewhere on the machine hits both alike.
    base = ours = float("inf")
    for _ in range(repeat):
        base = min(base, best_of(hand_written, repeat=1))
        ours = min(ours, best_of(pushed_down, repeat=1))
    label = "by channel" if by_channel else "full"
    report(
        f"{label} scorecard of {n:,} interactions, pushed down (s)",
        ours,
        "s",
        baseline="one hand-written SQL query, same file",
        baseline_value=base,
        aim="<= 2x",
    )
    conn.close()
    store.close()
    return ours


def _stream(path: Path, n: int, pushed_seconds: float) -> None:
    store = SQLiteStore(path)
    streamed: list[Scorecard] = []

    def stream() -> None:
        streamed[:] = [scorecard(store.interactions.all(), store.cases.all())]

    seconds = best_of(stream, repeat=1)
    assert streamed[0] == scorecard(store), "streaming and push-down differ"
    report(
        f"full scorecard of {n:,} interactions, streamed (s)",
        seconds,
        "s",
        baseline="the same, pushed down",
        baseline_value=pushed_seconds,
    )
    store.close()


def _timed(label: str, fn: Callable[[], object]) -> None:
    seconds = best_of(fn, repeat=1)
    print(f"{label}: {seconds:.1f} s", flush=True)


def main() -> None:
    n = 50_000 if _harness.QUICK else 1_000_000
    repeat = 5 if _harness.QUICK else 3
    directory = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    try:
        path = directory / "analytics.db"
        _timed(f"(setup: storing {n:,} interactions)", lambda: _build(path, n))
        full = _compare(path, n, by_channel=False, repeat=repeat)
        _compare(path, n, by_channel=True, repeat=repeat)
        _stream(path, n, full)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
