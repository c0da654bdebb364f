"""Scorecards on the SQL core: pushed down over typed columns, against hand-written SQL and 0.1.0.

The same records on SQLite and on PostgreSQL: 1,000,000 interactions of
10,000 customers and 20,000 cases (QUICK: 50,000, 500 and 1,000; any size
with ``CUSTSERVICE_BENCH_INTERACTIONS=N``), stored through the public API:
varied channels, agents, queue waits, handoffs, resolutions, feedback on three
scales with per-factor ratings, root causes. SQLite: a file of the shared SQL
core. PostgreSQL: a schema of its own on ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), vacuumed and analysed once
written, dropped at the end; without psycopg or a server that side prints why
and is skipped.

On each engine:

1. The full scorecard, ``scorecard(store)``, which the analytics compute in SQL
   over the typed columns (counts, FCR, CSAT, NPS, verdicts overall and per
   factor, queue-wait median and nearest-rank 90th percentile, handoffs),
   against one hand-written SQL query computing the same figures over the same
   typed columns (the waits' median and 90th percentile picked by rank from a
   window function in SQLite, by ``percentile_disc`` in PostgreSQL), on a
   connection of its own to the same database. Both are checked equal before
   they are timed. Aim: within 1.5x.
2. The same grouped by channel, against the same query grouped by channel.
   Aim: within 1.5x.
3. The full scorecard of 0.1.0's push-down, over JSON text: the release
   commit is extracted with ``git archive`` into a temporary directory, writes
   the same records (its own benchmark's generator, the one this copies) into
   a file (a schema) of its own, and is timed in a subprocess with
   ``PYTHONPATH`` at its ``src``, in the same run, interleaved with ours. Its
   figures are checked equal to ours before it is timed. Aim: ours at least
   5x faster.
4. (SQLite only) The full scorecard streamed, ``scorecard(store.interactions.all(),
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
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import _harness
import pendulum
from _harness import best_of, report
from bench_postgres import SERVER, _server, _url

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
    open_store,
)
from custservice._history import history_entries as _entries
from custservice._history import restore_history as _restored
from custservice._ids import new_id
from custservice._records import replace
from custservice.analytics import Scorecard, VerdictCounts, scorecard
from custservice.lifecycle import LifecycleState
from custservice.lifecycle import unchecked_state as _state

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


def _build(url: str, n: int) -> None:
    clock = FixedClock(T0)
    rng = random.Random(1)
    customers = [Customer.new(f"customer {k}", clock=clock, rng=rng) for k in range(n // 100)]
    with open_store(url) as store:
        store.customers.add_many(customers)
        records = _interactions(customers, n)
        while batch := list(islice(records, 100_000)):
            store.interactions.add_many(batch)
        store.cases.add_many(_cases(customers, n // 50))


# --- the hand-written query ----------------------------------------------------------

_FACTOR_COLUMNS = ",\n".join(f"{f.value}_verdict AS {f.value}" for f in Factor)


_RANKED_WAITS = """
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
    ),"""
"""The waits of each group ranked by a window function; the median's two middle ones and
the nearest-rank 90th percentile picked by rank."""

_PERCENTILE_WAITS = """
    waits AS (
        SELECT k, count(*) AS n,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY wait) AS low,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY wait DESC) AS high,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY wait) AS p90
        FROM i WHERE wait IS NOT NULL GROUP BY k
    ),"""
"""The same with PostgreSQL's ordered-set aggregate: ``percentile_disc(f)`` is the wait at
rank ceil(f * n), the nearest rank; in descending order, 0.5 gives the upper middle one."""


def _hand_written(by_channel: bool, dialect: str) -> str:
    """One statement: every figure of the scorecard from the typed columns, as someone
    fluent in SQLite (or PostgreSQL) writes it.

    The median and the nearest-rank 90th percentile of the waits are exact, as the
    scorecard's are: picked by rank in SQLite, by ``percentile_disc`` in PostgreSQL.
    A scale is NPS's when its name and levels are. Rows meeting a condition are
    counted as each engine's users count them: ``sum(condition)`` in SQLite, whose
    truth values are numbers, ``count(*) FILTER (WHERE condition)`` in PostgreSQL.
    """
    postgres = dialect == "postgresql"

    def count_if(condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})" if postgres else f"sum({condition})"

    key = "channel" if by_channel else "''"
    factor_counts = ",\n".join(
        count_if(f"{f.value} = '{verdict}'")
        for f in Factor
        for verdict in ("dissatisfied", "satisfied", "delighted")
    )
    return f"""
    WITH i AS MATERIALIZED (
        SELECT {key} AS k, resolved_at, handoffs, queue_wait AS wait,
            feedback_verdict AS v,
            feedback_scale = 'nps' AND feedback_scale_low = 0 AND feedback_scale_high = 10
                AND feedback_scale_adequate = 7 AND feedback_scale_desired = 9 AS is_nps,
            {_FACTOR_COLUMNS}
        FROM interactions
    ),{_PERCENTILE_WAITS if postgres else _RANKED_WAITS}
    totals AS (
        SELECT k, count(*) AS n, count(resolved_at) AS resolved,
            {count_if("resolved_at IS NOT NULL AND handoffs = 0")} AS fcr,
            sum(handoffs) AS handoffs,
            count(v) AS feedback,
            {count_if("v IS NOT NULL AND NOT is_nps")} AS csat_n,
            {count_if("NOT is_nps AND v <> 'dissatisfied'")} AS csat_ok,
            {count_if("is_nps")} AS nps_n, {count_if("is_nps AND v = 'delighted'")} AS promoters,
            {count_if("is_nps AND v = 'dissatisfied'")} AS detractors,
            {count_if("v = 'dissatisfied'")}, {count_if("v = 'satisfied'")},
            {count_if("v = 'delighted'")},
            {factor_counts}
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

# Runs inside the 0.1.0 tree: builds its store with 0.1.0's own benchmark (whose generator
# the one above copies; its SQLite store swapped for its PostgreSQL one when the target is a
# URL), or times its full scorecard and prints the figures.
_RELEASE_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, gc, json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    mode, target, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    if "://" in target:
        from custservice.storage.postgres import open_postgres_store
        open_release_store = lambda *args, **kwargs: open_postgres_store(target)
    else:
        from custservice.storage.sqlite import SQLiteStore as open_release_store
    if mode == "build":
        import bench_analytics
        bench_analytics.SQLiteStore = open_release_store
        bench_analytics._build(Path(target), n)
        sys.exit()
    from custservice.analytics import scorecard
    store = open_release_store(Path(target))
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
    store.close()
    print(json.dumps({"seconds": seconds, "figures": figures, "factors": by_factor}))
    """
)


class _Release:
    """0.1.0, extracted from its commit, run in subprocesses on stores of its own."""

    def __init__(self, directory: Path, n: int) -> None:
        self.tree = directory / "release"
        self.n = n
        archive = subprocess.run(
            ["git", "archive", "--format=tar", RELEASE, "src", "benchmarks"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(self.tree, filter="data")

    def _command(self, mode: str, target: str) -> list[str]:
        benchmarks = str(self.tree / "benchmarks")
        return [sys.executable, "-c", _RELEASE_SCRIPT, benchmarks, mode, target, str(self.n)]

    def _environment(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.tree / "src")}

    def build(self, target: str) -> subprocess.Popen[bytes]:
        """Start writing its store (a SQLite file's path, or a PostgreSQL URL); the caller
        waits."""
        return subprocess.Popen(self._command("build", target), env=self._environment())

    def scorecard(self, target: str, ours: Scorecard) -> float:
        """Seconds its full scorecard of ``target`` took, once its figures are found to be
        those of ``ours``."""
        out = subprocess.run(
            self._command("time", target),
            env=self._environment(),
            check=True,
            capture_output=True,
        ).stdout
        result: dict[str, Any] = json.loads(out)
        wanted = _release_figures(ours)
        assert result["figures"] == wanted["figures"], "0.1.0's figures differ"
        assert result["factors"] == wanted["factors"], "0.1.0's factor verdicts differ"
        return float(result["seconds"])


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


# --- the engines ---------------------------------------------------------------------


class _SQLite:
    """Our file and 0.1.0's, side by side in the run's directory."""

    name = "SQLite"
    dialect = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "analytics.db"
        self.url = f"sqlite:///{self.path}"
        self.release = str(directory / "release.db")

    def connect(self) -> Any:
        """A connection of its own for the hand-written query."""
        return sqlite3.connect(self.path)

    def settle(self) -> None:
        """Nothing to do once written: a SQLite file is ready to read."""

    def drop(self) -> None:
        """Nothing: the files go with the run's directory."""


class _PostgreSQL:
    """Our schema and 0.1.0's, on the server; both dropped by :meth:`drop`."""

    name = "PostgreSQL"
    dialect = "postgresql"

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        tag = uuid.uuid4().hex[:10]
        self.schemas = [f"bench_analytics_{tag}", f"bench_analytics_{tag}_release"]
        self.url = _url(self.schemas[0])
        self.release = _url(self.schemas[1])

    def connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(SERVER, autocommit=True)
        conn.execute(f'SET search_path TO "{self.schemas[0]}"')
        return conn

    def settle(self) -> None:
        """Vacuum and analyse both schemas' tables: the first reader after a bulk load would
        otherwise pay for setting every row's hint bits, and the planner would guess."""
        for schema in self.schemas:
            for table in ("customers", "interactions", "cases"):
                self.admin.execute(f'VACUUM (ANALYZE) "{schema}".{table}')

    def drop(self) -> None:
        for schema in self.schemas:
            self.admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


Engine = _SQLite | _PostgreSQL


# --- the measurements ----------------------------------------------------------------


def _compare(
    engine: Engine, n: int, by_channel: bool, repeat: int, release: _Release | None
) -> float:
    store = open_store(engine.url)
    conn = engine.connect()
    sql = _hand_written(by_channel, engine.dialect)
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
    # Interleaved, best of each: load from elsewhere on the machine hits all alike. Each
    # of 0.1.0's runs is used only once its figures are found equal to ours.
    base = ours = old = float("inf")
    for _ in range(repeat):
        base = min(base, best_of(hand_written, repeat=1))
        ours = min(ours, best_of(pushed_down, repeat=1))
        if release is not None:
            old = min(old, release.scorecard(engine.release, pushed[0]))
    label = f"{engine.name}: {'by channel' if by_channel else 'full'}"
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


def _stream(url: str, n: int, pushed_seconds: float) -> None:
    store = open_store(url)
    streamed: list[Scorecard] = []

    def stream() -> None:
        streamed[:] = [scorecard(store.interactions.all(), store.cases.all())]

    seconds = best_of(stream, repeat=1)
    assert streamed[0] == scorecard(store), "streaming and push-down differ"
    report(
        f"SQLite: full scorecard of {n:,} interactions, streamed (s)",
        seconds,
        "s",
        baseline="the same, pushed down",
        baseline_value=pushed_seconds,
    )
    store.close()


def _measure(engine: Engine, release: _Release, n: int, repeat: int) -> float:
    """Write the records for us and for 0.1.0 (at once: 0.1.0 in its own process), then
    compare; returns our full scorecard's seconds."""
    building = release.build(engine.release)
    # Ours written as 0.1.0 writes its own: SQLite commits without waiting for the disk.
    url = f"{engine.url}?synchronous=normal" if engine.dialect == "sqlite" else engine.url
    seconds = best_of(lambda: _build(url, n), repeat=1)
    if building.wait():
        raise RuntimeError(f"0.1.0 failed to write its {engine.name} store")
    engine.settle()
    print(f"({engine.name} setup: storing {n:,} interactions: {seconds:.1f} s)", flush=True)
    full = _compare(engine, n, by_channel=False, repeat=repeat, release=release)
    _compare(engine, n, by_channel=True, repeat=repeat, release=None)
    return full


def main() -> None:
    n = int(
        os.environ.get("CUSTSERVICE_BENCH_INTERACTIONS", 50_000 if _harness.QUICK else 1_000_000)
    )
    repeat = 5
    directory = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    try:
        release = _Release(directory, n)
        sqlite = _SQLite(directory)
        full = _measure(sqlite, release, n, repeat)
        _stream(sqlite.url, n, full)
        admin = _server()
        if admin is None:
            return
        postgres = _PostgreSQL(admin)
        try:
            _measure(postgres, release, n, repeat)
        finally:
            postgres.drop()
            admin.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
