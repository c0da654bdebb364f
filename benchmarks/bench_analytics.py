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
   factor, handoffs, and the distributions of the queue waits and of the
   cases' times to their first reply and to their resolution: median,
   nearest-rank 90th and 95th percentiles, counts per bucket of
   ``DEFAULT_BOUNDS``), against one hand-written SQL query computing the same
   figures over the same typed columns (the percentiles picked by rank from a
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
from custservice.analytics import DEFAULT_BOUNDS, Distribution, Scorecard, VerdictCounts, scorecard
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
        if rng.random() < 0.5:  # solved after an hour to five days
            case = case.advance(
                "solve", at=clock.advance(pendulum.duration(hours=rng.randint(1, 120)))
            )
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


_BOUNDS = [dt.timedelta.__floordiv__(b, dt.timedelta(microseconds=1)) for b in DEFAULT_BOUNDS]


def _in_buckets(value: str, count_if: Any) -> str:
    """The counts of ``value`` in each bucket of ``DEFAULT_BOUNDS``, as select items."""
    edges = list(zip([None, *_BOUNDS], [*_BOUNDS, None], strict=True))
    return ", ".join(
        count_if(
            " AND ".join(
                ([f"{value} >= {low}"] if low is not None else [])
                + ([f"{value} < {high}"] if high is not None else [])
            )
        )
        + f" AS b{k}"
        for k, (low, high) in enumerate(edges)
    )


def _ranked(name: str, source: str, value: str, key: str, count_if: Any) -> str:
    """A CTE picking the median's two middle values and the nearest-rank 90th and 95th
    percentiles of ``value`` per ``key`` by rank from a window function, and counting the
    values in each bucket."""
    return f"""
    {name}_ranked AS (
        SELECT {key} AS k, {value} AS v,
               row_number() OVER (PARTITION BY {key} ORDER BY {value}) AS r,
               count(*) OVER (PARTITION BY {key}) AS n
        FROM {source} WHERE {value} IS NOT NULL
    ),
    {name} AS (
        SELECT k, max(n) AS n,
            max(CASE WHEN r = (n + 1) / 2 THEN v END) AS low,
            max(CASE WHEN r = n / 2 + 1 THEN v END) AS high,
            max(CASE WHEN r = (9 * n + 9) / 10 THEN v END) AS p90,
            max(CASE WHEN r = (19 * n + 19) / 20 THEN v END) AS p95,
            {_in_buckets("v", count_if)}
        FROM {name}_ranked GROUP BY k
    ),"""


def _percentiles(name: str, source: str, value: str, key: str, count_if: Any) -> str:
    """The same with PostgreSQL's ordered-set aggregate: ``percentile_disc(f)`` is the value
    at rank ceil(f * n), the nearest rank; in descending order, 0.5 gives the upper middle
    one."""
    return f"""
    {name} AS (
        SELECT {key} AS k, count(*) AS n,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY {value}) AS low,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY {value} DESC) AS high,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY {value}) AS p90,
            percentile_disc(0.95) WITHIN GROUP (ORDER BY {value}) AS p95,
            {_in_buckets(value, count_if)}
        FROM {source} WHERE {value} IS NOT NULL GROUP BY {key}
    ),"""


def _hand_written(by_channel: bool, dialect: str) -> str:
    """One statement: every figure of the scorecard from the typed columns, as someone
    fluent in SQLite (or PostgreSQL) writes it.

    The medians and the nearest-rank 90th and 95th percentiles of the waits and of the
    cases' times to their first reply and to their resolution are exact, as the
    scorecard's are: picked by rank in SQLite, by ``percentile_disc`` in PostgreSQL; each
    distribution counts its values per bucket of ``DEFAULT_BOUNDS``. A scale is NPS's when
    its name and levels are. Rows meeting a condition are counted as each engine's users
    count them: ``sum(condition)`` in SQLite, whose truth values are numbers, ``count(*)
    FILTER (WHERE condition)`` in PostgreSQL.
    """
    postgres = dialect == "postgresql"

    def count_if(condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})" if postgres else f"sum({condition})"

    distribution = _percentiles if postgres else _ranked
    key = "channel" if by_channel else "''"
    factor_counts = ",\n".join(
        count_if(f"{f.value} = '{verdict}'")
        for f in Factor
        for verdict in ("dissatisfied", "satisfied", "delighted")
    )
    columns = ["n", "low", "high", "p90", "p95", *(f"b{k}" for k in range(len(_BOUNDS) + 1))]

    def renamed(name: str) -> str:
        return ", ".join(f"{name}.{c} AS {name}_{c}" for c in columns)

    return f"""
    WITH i AS MATERIALIZED (
        SELECT {key} AS k, resolved_at, handoffs, queue_wait AS wait,
            feedback_verdict AS v,
            feedback_scale = 'nps' AND feedback_scale_low = 0 AND feedback_scale_high = 10
                AND feedback_scale_adequate = 7 AND feedback_scale_desired = 9 AS is_nps,
            {_FACTOR_COLUMNS}
        FROM interactions
    ),
    c AS MATERIALIZED (
        SELECT '' AS k, first_reply, resolution FROM cases WHERE merged_into IS NULL
    ),{distribution("waits", "i", "wait", "k", count_if)}{
        distribution("replies", "c", "first_reply", "k", count_if)
    }{distribution("resolutions", "c", "resolution", "k", count_if)}
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
    SELECT totals.*, {renamed("waits")},
        (SELECT count(*) FROM cases) AS cases, {renamed("replies")}, {renamed("resolutions")}
    FROM totals LEFT JOIN waits USING (k)
        LEFT JOIN replies ON 1 = 1 LEFT JOIN resolutions ON 1 = 1
    ORDER BY k
    """


_US = dt.timedelta(microseconds=1)
_WIDTH = 5 + len(_BOUNDS) + 1
"""The figures of a distribution in a row: n, the two middle ones, p90, p95, buckets."""


def _us(d: dt.timedelta | None) -> int | None:
    return None if d is None else dt.timedelta.__floordiv__(d, _US)


def _distribution(d: Distribution) -> list[Any]:
    return [d.count, _us(d.median), _us(d.p90), _us(d.p95), *d.buckets]


def _figures(card: Scorecard) -> list[Any]:
    """What both computations must agree on for the interactions of one group, in the
    hand-written query's order."""

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
        *_distribution(card.queue_wait),
    ]


def _measured(values: tuple[Any, ...]) -> list[Any]:
    """A distribution's figures from its columns, the median of an even number the mean of
    the two middle ones; none when nothing was measured."""
    n, low, high, p90, p95, *buckets = values
    if not n:
        return [0, None, None, None, *(0 for _ in buckets)]
    median = high if n % 2 else round((low + high) / 2)
    return [n, median, p90, p95, *(b or 0 for b in buckets)]


def _from_row(row: tuple[Any, ...]) -> list[Any]:
    """A row of the hand-written query as :func:`_figures`, percentages done the same way."""
    (_, n, resolved, fcr, handoffs, feedback, csat_n, csat_ok, nps_n, promoters, detractors) = row[
        :11
    ]
    waits_at = len(row) - 3 * _WIDTH - 1
    counts = [c or 0 for c in row[11:waits_at]]
    csat = 100.0 * csat_ok / csat_n if csat_n else None
    nps = 100.0 * promoters / nps_n - 100.0 * detractors / nps_n if nps_n else None
    figures = [n, resolved, fcr, handoffs, feedback, csat_n, csat, nps_n, nps, *counts]
    return [*figures, *_measured(row[waits_at : waits_at + _WIDTH])]


def _case_figures(row: tuple[Any, ...]) -> list[Any]:
    """The cases' count and distributions of a row of the hand-written query."""
    at = len(row) - 2 * _WIDTH
    return [
        row[at - 1],
        *_measured(row[at : at + _WIDTH]),
        *_measured(row[at + _WIDTH :]),
    ]


def _check(card: Scorecard, rows: list[tuple[Any, ...]]) -> None:
    cards = [card] if not card.groups else [g for g in card.groups.values() if g.interactions]
    assert [_figures(c) for c in cards] == [_from_row(r) for r in rows], "figures differ"
    ours = [card.cases, *_distribution(card.first_reply), *_distribution(card.resolution)]
    assert all(_case_figures(r) == ours for r in rows), "case figures differ"


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
    waits = [card.waits, _us(card.wait_median), _us(card.wait_p90)]
    return {
        "figures": [card.interactions, *figures[1:9], *v, *waits],
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
