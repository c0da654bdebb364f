"""Scorecards on the SQL core: pushed down over typed columns, against hand-written SQL and 0.1.0.

One SQLite file of the shared SQL core holds 1,000,000 interactions of 10,000
customers and 20,000 cases (QUICK: 50,000, 500 and 1,000; any size with
``CUSTSERVICE_BENCH_INTERACTIONS=N``), stored through the public API: varied
channels, agents, queue waits, handoffs, resolutions, feedback on three scales
with per-factor ratings, root causes.

1. The full scorecard, ``scorecard(store)``, which the analytics compute in SQL
   over the typed columns (counts, FCR, CSAT, NPS, verdicts overall and per
   factor, queue-wait median and nearest-rank 90th percentile, handoffs),
   against one hand-written SQL query computing the same figures over the same
   typed columns, on a connection of its own to the same file. Both are checked
   equal before they are timed. Aim: within 1.5x.
2. The same grouped by channel, against the same query grouped by channel.
   Aim: within 1.5x.
3. The full scorecard of 0.1.0's push-down, over JSON text: the release
   commit is extracted with ``git archive`` into a temporary directory, writes
   the same records (its own benchmark's generator, the one this copies) into
   a file of its own, and is timed in a subprocess with ``PYTHONPATH`` at its
   ``src``, in the same run, interleaved with ours. Its figures are checked
   equal to ours. Aim: ours at least 5x faster.
4. The full scorecard streamed, ``scorecard(store.interactions.all(),
   store.cases.all())``: every record read and decoded in Python, against the
   push-down. No aim: it shows what the push-down saves.

Run: .venv/bin/python benchmarks/run.py analytics
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from collections.abc import Iterator
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
from custservice.lifecycle import LifecycleState, _entries, _restored, _state
from custservice.storage.sql.sqlite import open_sqlite_store

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "1e03bfb56bc4d880a4e527fc6588aff30391ccbf"
"""The commit that released 0.1.0."""
T0 = pendulum.datetime(2026, 1, 5, 9)
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata")
AGENTS = tuple(f"agent {n}" for n in range(20))
SCALES = (CSAT_5, NPS_SCALE, SATISFACTION_10)
_add = dt.datetime.__add__


# --- the data (as 0.1.0's benchmark makes it, so that both stores hold the same) ----------


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
    history = _restored((e, s, t, _add(at, delta), r) for e, s, t, at, r in _entries(state.history))
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
    with open_sqlite_store(f"sqlite:///{path}?synchronous=normal") as store:
        store.customers.add_many(customers)
        records = _interactions(customers, n)
        while batch := list(islice(records, 100_000)):
            store.interactions.add_many(batch)
        store.cases.add_many(_cases(customers, n // 50))


# --- the hand-written query ----------------------------------------------------------

_FACTOR_COLUMNS = ",\n".join(f"{f.value}_verdict AS {f.value}" for f in Factor)
_FACTOR_COUNTS = ",\n".join(
    f"sum({f.value} = 'dissatisfied'), sum({f.value} = 'satisfied'), sum({f.value} = 'delighted')"
    for f in Factor
)


def _hand_written(by_channel: bool) -> str:
    """One statement: every figure of the scorecard from the typed columns, as someone
    fluent in SQLite writes it.

    The waits of each group are ranked by a window function, and the median and the
    nearest-rank 90th percentile picked by rank: exact, as the scorecard is. A scale
    is NPS's when its name and levels are.
    """
    key = "channel" if by_channel else "''"
    return f"""
    WITH i AS MATERIALIZED (
        SELECT {key} AS k, resolved_at, handoffs, queue_wait AS wait,
            feedback_verdict AS v,
            feedback_scale = 'nps' AND feedback_scale_low = 0 AND feedback_scale_high = 10
                AND feedback_scale_adequate = 7 AND feedback_scale_desired = 9 AS is_nps,
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
        SELECT k, count(*) AS n, count(resolved_at) AS resolved,
            sum(resolved_at IS NOT NULL AND handoffs = 0) AS fcr, sum(handoffs) AS handoffs,
            count(v) AS feedback,
            sum(v IS NOT NULL AND NOT is_nps) AS csat_n,
            sum(NOT is_nps AND v <> 'dissatisfied') AS csat_ok,
            sum(is_nps) AS nps_n, sum(is_nps AND v = 'delighted') AS promoters,
            sum(is_nps AND v = 'dissatisfied') AS detractors,
            sum(v = 'dissatisfied'), sum(v = 'satisfied'), sum(v = 'delighted'),
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


# --- 0.1.0, in a subprocess ------------------------------------------------------------

# Runs inside the 0.1.0 tree: builds its file with 0.1.0's own benchmark (whose generator
# the one above copies), or times its full scorecard and prints the figures.
_RELEASE_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, gc, json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    mode, path, n = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    if mode == "build":
        import bench_analytics
        bench_analytics._build(path, n)
        sys.exit()
    from custservice.analytics import scorecard
    from custservice.storage.sqlite import SQLiteStore
    store = SQLiteStore(path)
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    card = scorecard(store)
    seconds = time.perf_counter() - start
    one = dt.timedelta(microseconds=1)
    us = lambda d: None if d is None else dt.timedelta.__floordiv__(d, one)
    v = lambda c: [c.dissatisfied, c.satisfied, c.delighted]
    figures = [card.interactions, card.resolved, card.first_contact_resolved, card.handoffs,
               card.with_feedback, card.csat_responses, card.csat, card.nps_responses, card.nps,
               *v(card.verdicts), card.waits, us(card.wait_median), us(card.wait_p90)]
    by_factor = {f.value: v(c) for f, c in card.factor_verdicts.items()}
    print(json.dumps({"seconds": seconds, "figures": figures, "factors": by_factor}))
    """
)


class _Release:
    """0.1.0, extracted from its commit, run in subprocesses on a file of its own."""

    def __init__(self, directory: Path, n: int) -> None:
        self.tree = directory / "release"
        self.path = directory / "release.db"
        self.n = n
        archive = subprocess.run(
            ["git", "archive", "--format=tar", RELEASE, "src", "benchmarks"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(self.tree, filter="data")

    def _command(self, mode: str) -> list[str]:
        benchmarks = str(self.tree / "benchmarks")
        return [
            sys.executable,
            "-c",
            _RELEASE_SCRIPT,
            benchmarks,
            mode,
            str(self.path),
            str(self.n),
        ]

    def _environment(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.tree / "src")}

    def build(self) -> subprocess.Popen[bytes]:
        """Start writing its file; the caller waits."""
        return subprocess.Popen(self._command("build"), env=self._environment())

    def scorecard(self) -> tuple[float, dict[str, Any]]:
        """Seconds its full scorecard took, and its figures."""
        out = subprocess.run(
            self._command("time"), env=self._environment(), check=True, capture_output=True
        ).stdout
        result: dict[str, Any] = json.loads(out)
        return float(result["seconds"]), result


def _release_figures(card: Scorecard) -> dict[str, Any]:
    """Our figures in the form the 0.1.0 subprocess prints them."""
    figures = _figures(card)
    v = [card.verdicts.dissatisfied, card.verdicts.satisfied, card.verdicts.delighted]
    return {
        "figures": [card.interactions, *figures[1:9], *v, *figures[-3:]],
        "factors": {
            f.value: [c.dissatisfied, c.satisfied, c.delighted]
            for f, c in card.factor_verdicts.items()
        },
    }


# --- the measurements ----------------------------------------------------------------


def _compare(path: Path, n: int, by_channel: bool, repeat: int, release: _Release | None) -> float:
    store = open_sqlite_store(f"sqlite:///{path}")
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
    # Interleaved, best of each: load from elsewhere on the machine hits all alike.
    base = ours = old = float("inf")
    for _ in range(repeat):
        base = min(base, best_of(hand_written, repeat=1))
        ours = min(ours, best_of(pushed_down, repeat=1))
        if release is not None:
            seconds, figures = release.scorecard()
            wanted = _release_figures(pushed[0])
            assert figures["figures"] == wanted["figures"], "0.1.0's figures differ"
            assert figures["factors"] == wanted["factors"], "0.1.0's factor verdicts differ"
            old = min(old, seconds)
    label = "by channel" if by_channel else "full"
    report(
        f"{label} scorecard of {n:,} interactions, pushed down (s)",
        ours,
        "s",
        baseline="one hand-written SQL query, same typed columns",
        baseline_value=base,
        aim="<= 1.5x",
    )
    if release is not None:
        report(
            f"{label} scorecard of {n:,} interactions, 0.1.0's push-down (s)",
            old,
            "s",
            baseline="ours, pushed down",
            baseline_value=ours,
            aim=">= 5x",
        )
    conn.close()
    store.close()
    return ours


def _stream(path: Path, n: int, pushed_seconds: float) -> None:
    store = open_sqlite_store(f"sqlite:///{path}")
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


def main() -> None:
    n = int(
        os.environ.get("CUSTSERVICE_BENCH_INTERACTIONS", 50_000 if _harness.QUICK else 1_000_000)
    )
    repeat = 5
    directory = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    try:
        path = directory / "analytics.db"
        release = _Release(directory, n)
        # Both files are written at once: 0.1.0's in its own process.
        building = release.build()
        seconds = best_of(lambda: _build(path, n), repeat=1)
        if building.wait():
            raise RuntimeError("0.1.0 failed to write its file")
        print(f"(setup: storing {n:,} interactions: {seconds:.1f} s)", flush=True)
        full = _compare(path, n, by_channel=False, repeat=repeat, release=release)
        _compare(path, n, by_channel=True, repeat=repeat, release=None)
        _stream(path, n, full)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
