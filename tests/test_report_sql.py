"""The report of a SQL store, computed in its database, is the report streamed from the
same records, on every SQL engine.

``build_report`` on a store of the shared SQL core pushes the scorecard down
to SQL, counts health's verdicts in SQL and reads only the interactions that
may owe a feedback request (``report/_pushed``); on the memory store it streams
every record (``report/_streamed``). The same records must give the same
report, to the byte: a Hypothesis property on generated records, at instants
drawn near them (so that the windows of health and of the planner cut through
them), and the demo's simulation, whose desk has open cases in several teams at
several priorities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pendulum
import pytest
from conftest import costly_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh, Records, fill

from custservice import (
    Metric,
    ServiceTarget,
    Store,
    open_store,
)
from custservice.report import Report, build_report, render_html, render_text
from custservice.report._pushed import pushed_down
from custservice.simulation import DEMO_TARGETS, simulate
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

TARGET_SETS: tuple[tuple[ServiceTarget, ...], ...] = (
    DEMO_TARGETS,
    (),
    (
        ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(days=2)),
        ServiceTarget(Metric.RESOLUTION, pendulum.duration(days=5)),
    ),
)
# Where health's windows (90 days, twice) and the planner's week and delays cut.
OFFSETS = st.sampled_from(
    [
        dt.timedelta(0),
        dt.timedelta(microseconds=1),
        dt.timedelta(microseconds=-1),
        dt.timedelta(days=1),
        dt.timedelta(days=-1),
        dt.timedelta(days=-7),
        dt.timedelta(days=30),
        dt.timedelta(days=90),
        dt.timedelta(days=180),
    ]
) | st.timedeltas(min_value=dt.timedelta(days=-200), max_value=dt.timedelta(days=200))


def instants(records: Records) -> list[pendulum.DateTime]:
    """Every instant the records hold that a report's windows could cut at."""
    people, calls, tickets = records
    out = [c.lifecycle.since for c in people]
    for i in calls:
        out += [i.opened_at, i.lifecycle.since]
        out += [t for t in (i.resolved_at, i.feedback and i.feedback.at) if t is not None]
    for k in tickets:
        out += [k.opened_at, k.lifecycle.since, *(u.at for u in k.updates)]
    return out


@st.composite
def reports_to_build(
    draw: st.DrawFn,
) -> tuple[Records, pendulum.DateTime | None, tuple[ServiceTarget, ...]]:
    """Records, an instant near one of theirs (or none: the latest change), and targets."""
    records = draw(cst.customer_records(max_customers=5, max_interactions=4, max_cases=3))
    at = None
    if draw(st.integers(0, 5)):
        at = draw(st.sampled_from(instants(records))) + draw(OFFSETS)
    return records, at, draw(st.sampled_from(TARGET_SETS))


def same_report(store: Store, streamed: Report, *, targets: tuple[ServiceTarget, ...]) -> None:
    """``store`` reports as ``streamed`` (built on the memory store), from its database."""
    pushed = pushed_down(store, streamed.at, targets)
    assert pushed is not None, "the report was not computed in the database"
    assert pushed == streamed
    assert build_report(store, at=streamed.at, targets=targets) == streamed
    assert render_text(pushed) == render_text(streamed)
    assert render_html(pushed) == render_html(streamed)


# Each example fills a database and builds the report three times, twice in the
# database (four scorecards in SQL, whose statements grow with the span of the records'
# dates): seconds each, so 20 on each of three engines in CI; the deep profile runs all.
@settings(
    max_examples=costly_examples(20),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(reports_to_build())
def test_a_sql_store_reports_what_streaming_reports(
    fresh: Fresh,
    case: tuple[Records, pendulum.DateTime | None, tuple[ServiceTarget, ...]],
) -> None:
    records, at, targets = case
    with open_store("memory://") as memory, fresh() as store:
        streamed = build_report(fill(memory, records), at=at, targets=targets)
        same_report(fill(store, records), streamed, targets=targets)


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Store, pendulum.DateTime]]:
    """The demo's simulation of 80 customers over five months, in memory."""
    with open_store("memory://") as store:
        yield store, simulate(store, customers=80, months=5, seed=7).ended_at


def test_the_demo_reports_alike_from_every_engine(
    fresh: Fresh, demo: tuple[Store, pendulum.DateTime]
) -> None:
    memory, ended = demo
    records = (
        list(memory.customers.all()),
        list(memory.interactions.all()),
        list(memory.cases.all()),
    )
    with fresh() as store:
        fill(store, records)
        for at in (ended, ended.subtract(days=40), None):
            streamed = build_report(memory, at=at)
            assert streamed.at_risk
            assert len(streamed.desk.by_team) > 1
            assert sum(n > 0 for n in streamed.desk.by_priority.values()) > 1
            assert {f.kind for f in streamed.follow_ups} >= {"feedback_request", "status_update"}
            same_report(store, streamed, targets=DEMO_TARGETS)
