"""The backlog: open cases by age at an instant, created vs solved per period, reopen rate.

Every figure is checked against a brute-force count read straight from each case's
history (its lifecycle changes and its merges), and the store paths (streamed from
memory, read from SQL rows on every SQL engine) against the cases themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh, fill

from custservice import (
    ALWAYS,
    BusinessCalendar,
    Case,
    CaseStatus,
    Customer,
    FixedClock,
    ValidationError,
    open_store,
)
from custservice.analytics import DEFAULT_AGES, Backlog, Distribution, GroupBy, backlog
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

T0 = pendulum.datetime(2026, 3, 2, 9)
FINISHED = {CaseStatus.SOLVED, CaseStatus.CLOSED}
NINE_TO_FIVE = BusinessCalendar("Europe/Paris", {d: [(dt.time(9), dt.time(17))] for d in range(5)})


def status_at(case: Case, at: dt.datetime) -> CaseStatus:
    """The case's status at ``at``: the state its last change by then led to, closed while
    it was merged into another case."""
    merges = [m for m in case.merges if m.at <= at]
    if merges and merges[-1].into is not None:
        return CaseStatus.CLOSED
    category = case.pipeline.category
    history = case.lifecycle.history
    state = history[0].source if history else case.lifecycle.current
    for change in history:
        if change.at <= at:
            state = change.target
    return category(state)


def statuses_until(case: Case, at: dt.datetime) -> list[tuple[dt.datetime, CaseStatus]]:
    """Every status the case took by ``at``, with when, merged stretches as closed."""
    moments = sorted(
        {case.opened_at, *(c.at for c in case.lifecycle.history), *(m.at for m in case.merges)}
    )
    return [(t, status_at(case, t)) for t in moments if t <= at]


def counted(cases: list[Case], at: dt.datetime) -> list[Case]:
    return [c for c in cases if c.merged_into is None and c.opened_at <= at]


def period(at: dt.datetime, zone: str = "UTC") -> str:
    return pendulum.instance(at).in_timezone(zone).format("YYYY-MM-DD")


AT = cst.aware_datetimes(dt.datetime(1990, 1, 1), dt.datetime(2091, 1, 1))


# Drawing cases with long histories is the cost: bounded, and a few cases each suffice.
@settings(max_examples=min(60, settings.default.max_examples))
@given(st.lists(cst.cases(), max_size=4), AT)
def test_every_count_is_a_brute_force_count(cases: list[Case], at: pendulum.DateTime) -> None:
    b = backlog(cases, at=at)
    mine = counted(cases, at)
    still_open = [c for c in mine if status_at(c, at) not in FINISHED]
    assert b.open == len(still_open)
    ages = sorted(at - c.opened_at for c in still_open)
    assert b.ages == Distribution.of(ages, DEFAULT_AGES)
    for k, n in enumerate(b.ages.buckets):
        low = DEFAULT_AGES[k - 1] if k else dt.timedelta.min
        high = DEFAULT_AGES[k] if k < len(DEFAULT_AGES) else dt.timedelta.max
        assert n == sum(low <= a < high for a in ages)
    # created: by the day each was opened; it adds up to the open and the solved
    created: dict[str, int] = {}
    for c in mine:
        created[period(c.opened_at)] = created.get(period(c.opened_at), 0) + 1
    assert dict(b.created) == dict(sorted(created.items()))
    assert sum(b.created.values()) == len(mine) == b.open + sum(b.solved.values())
    # solved: in the period of the latest resolution, the start of the last finished run
    solved: dict[str, int] = {}
    for c in mine:
        steps = statuses_until(c, at)
        if steps[-1][1] in FINISHED:
            k = len(steps) - 1
            while k > 0 and steps[k - 1][1] in FINISHED:
                k -= 1
            key = period(max(steps[k][0], c.opened_at))
            solved[key] = solved.get(key, 0) + 1
    assert dict(b.solved) == solved
    # reopened: back from solved or closed to an open status, among those ever resolved
    ever = [c for c in mine if any(s in FINISHED for _, s in statuses_until(c, at))]
    again = [
        c
        for c in ever
        if any(
            a in FINISHED and b_ not in FINISHED
            for (_, a), (_, b_) in itertools.pairwise(statuses_until(c, at))
        )
    ]
    assert (b.resolved_once, b.reopened) == (len(ever), len(again))
    assert b.reopen_rate == (100.0 * len(again) / len(ever) if ever else None)


@settings(max_examples=min(40, settings.default.max_examples))
@given(st.lists(cst.cases(), max_size=4), AT, cst.calendars())
def test_business_ages_never_exceed_calendar_ages(
    cases: list[Case], at: pendulum.DateTime, calendar: BusinessCalendar
) -> None:
    wall = backlog(cases, at=at)
    business = backlog(cases, at=at, calendar=calendar)
    assert business.open == wall.open
    for mine, theirs in ((business.ages, wall.ages),):
        for a, b in ((mine.median, theirs.median), (mine.p90, theirs.p90)):
            assert (a is None) == (b is None)
            assert a is None or b is None or a <= b
    # shorter ages fill the lower buckets first: every cumulative count is at least as high
    total_business = total_wall = 0
    for b_n, w_n in zip(business.ages.buckets, wall.ages.buckets, strict=True):
        total_business += b_n
        total_wall += w_n
        assert total_business >= total_wall


def test_ages_in_working_hours() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 6, 16, tz="Europe/Paris"))  # a Friday
    case = Case.open(uuid.uuid4(), "Refund", clock=clock)
    monday = pendulum.datetime(2026, 3, 9, 10, tz="Europe/Paris")
    b = backlog([case], at=monday, calendar=NINE_TO_FIVE, period="week")
    assert b.ages.median == pendulum.duration(hours=2)  # 16-17 on Friday, 9-10 on Monday
    assert backlog([case], at=monday).ages.median == pendulum.duration(hours=66)
    assert b.at == monday
    assert dict(b.created) == {"2026-W10": 1}
    assert b.period is GroupBy.WEEK


def test_created_and_solved_per_month_in_the_calendars_zone() -> None:
    late = pendulum.datetime(2026, 2, 28, 23, 30, tz="UTC")  # already March in Paris
    case = Case.open(uuid.uuid4(), "Refund", clock=FixedClock(late))
    case = case.advance("solve", at=late.add(days=2))
    b = backlog([case], at=late.add(days=3), calendar=NINE_TO_FIVE, period="month")
    assert (dict(b.created), dict(b.solved)) == ({"2026-03": 1}, {"2026-03": 1})
    assert backlog([case], at=late.add(days=3), period="month").created == {"2026-02": 1}


def test_a_reopened_case() -> None:
    case = Case.open(uuid.uuid4(), "Refund", clock=FixedClock(T0))
    case = case.advance("solve", at=T0.add(hours=1)).advance("reopen", at=T0.add(days=1))
    b = backlog([case], at=T0.add(days=2))
    assert (b.open, b.resolved_once, b.reopened, b.reopen_rate) == (1, 1, 1, 100.0)
    assert b.solved == {}
    before = backlog([case], at=T0.add(hours=2))  # solved then, not yet reopened
    assert (before.open, before.reopen_rate, dict(before.solved)) == (0, 0.0, {"2026-03-02": 1})


def test_nothing_to_count() -> None:
    b = backlog([], at=T0)
    assert (b.open, b.ages.median, b.created, b.solved, b.reopen_rate) == (0, None, {}, {}, None)
    assert b.ages.buckets == (0,) * (len(DEFAULT_AGES) + 1)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"at": dt.datetime(2026, 1, 1)}, "at"),
        ({"at": T0, "buckets": [dt.timedelta(days=2), dt.timedelta(days=1)]}, "buckets"),
        ({"at": T0, "buckets": [dt.timedelta(0)]}, "buckets"),
        ({"at": T0, "buckets": dt.timedelta(days=1)}, "buckets"),
        ({"at": T0, "period": "year"}, "period"),
        ({"at": T0, "period": "channel"}, "period"),
        ({"at": T0, "calendar": "UTC"}, "calendar"),
    ],
)
def test_bad_arguments_name_their_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        backlog([], **arguments)
    assert caught.value.field == field


@pytest.mark.parametrize("source", ["cases", 3, [object()]])
def test_what_is_not_cases_is_refused(source: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        backlog(source, at=T0)
    assert caught.value.field == "source"


RECORDS = cst.customer_records(max_interactions=0, max_cases=3)


@settings(
    max_examples=min(10, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(RECORDS, AT)
def test_a_sql_store_gives_the_backlog_of_its_cases(
    fresh: Fresh, records: tuple[list[Customer], list[Any], list[Case]], at: pendulum.DateTime
) -> None:
    """Read from the rows of a snapshot on every SQL engine, the backlog is that of the
    cases themselves, in calendar and in business time."""
    with fresh() as store:
        fill(store, records)
        for calendar in (ALWAYS, NINE_TO_FIVE):
            assert backlog(store, at=at, calendar=calendar) == backlog(
                records[2], at=at, calendar=calendar
            )


def test_a_memory_store_is_streamed() -> None:
    case = Case.open(uuid.uuid4(), "Refund", clock=FixedClock(T0))
    with open_store("memory://") as store:
        ada = store.customers.add(Customer.new("Ada", clock=FixedClock(T0)))
        store.cases.add(Case.open(ada.id, "Refund", clock=FixedClock(T0)))
        found: Backlog = backlog(store, at=T0.add(days=2))
    assert found == backlog([case], at=T0.add(days=2))
