"""Case metrics: first reply, resolution, waits, on-hold time, replies, reopens and
stations, in calendar and business time."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import ALWAYS, BusinessCalendar, Case, CaseStatus, FixedClock, ValidationError
from custservice.analytics import CaseMetrics, Elapsed, case_metrics
from custservice.serialization import from_dict, to_dict
from custservice.testing import strategies as cst

HOURS = pendulum.duration
NINE_TO_FIVE = BusinessCalendar("Europe/London", {d: [(dt.time(9), dt.time(17))] for d in range(5)})
ZERO = dt.timedelta(0)


def status_stretches(
    case: Case, at: dt.datetime
) -> list[tuple[CaseStatus, dt.datetime, dt.datetime]]:
    """The case's statuses up to ``at``, each with when it began and ended, read from its
    lifecycle history."""
    stretches = []
    category = case.pipeline.category  # the status each state of the case's pipeline is
    history = case.lifecycle.history
    status = category(history[0].source if history else case.lifecycle.current)
    since = case.opened_at
    for change in history:
        if change.at > at:
            break
        stretches.append((status, since, change.at))
        status, since = category(change.target), change.at
    stretches.append((status, since, at))
    return stretches


def time_in(case: Case, at: dt.datetime, statuses: set[CaseStatus]) -> dt.timedelta:
    return sum(
        (end - start for status, start, end in status_stretches(case, at) if status in statuses),
        ZERO,
    )


# Cases never merged: what a merge does to the clocks is tests/test_case_merge.py's.
@given(cst.cases().filter(lambda c: not c.merges), cst.calendars() | st.just(ALWAYS))
def test_invariants_of_every_case(case: Case, calendar: BusinessCalendar) -> None:
    metrics = case_metrics(case, calendar=calendar)
    at = metrics.at
    spans = [metrics.requester_wait, metrics.agent_wait, metrics.on_hold]
    for span in (metrics.first_reply, metrics.full_resolution):
        if span is not None:
            spans.append(span)
    for span in spans:
        assert ZERO <= span.business <= span.calendar
        if calendar is ALWAYS:
            assert span.business == span.calendar
    unsolved = {CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.ON_HOLD, CaseStatus.PENDING}
    assert metrics.requester_wait.calendar + metrics.agent_wait.calendar == time_in(
        case, at, unsolved
    )
    assert metrics.agent_wait.calendar == time_in(case, at, {CaseStatus.PENDING})
    assert metrics.on_hold.calendar == time_in(case, at, {CaseStatus.ON_HOLD})
    assert metrics.on_hold.calendar <= metrics.requester_wait.calendar
    assert metrics.on_hold.business <= metrics.requester_wait.business
    assert metrics.replies == sum(not u.from_customer for u in case.updates)
    category, finished = case.pipeline.category, {CaseStatus.SOLVED, CaseStatus.CLOSED}
    assert metrics.reopens == sum(
        category(c.source) in finished and category(c.target) not in finished
        for c in case.lifecycle.history
    )
    replies = [u.at for u in case.updates if not u.from_customer]
    if replies:
        assert metrics.first_reply == Elapsed(
            replies[0] - case.opened_at, calendar.elapsed(case.opened_at, replies[0])
        )
    else:
        assert metrics.first_reply is None
    if case.status in (CaseStatus.SOLVED, CaseStatus.CLOSED):
        assert metrics.full_resolution is not None
        assert metrics.full_resolution.calendar <= at - case.opened_at
    else:
        assert metrics.full_resolution is None


@given(cst.cases())
def test_stations_follow_the_assignments_in_order(case: Case) -> None:
    metrics = case_metrics(case)
    holders = [case.assignments[0].previous_assignee] if case.assignments else [case.assignee]
    holders += [a.assignee for a in case.assignments]
    expected: list[str] = []
    for holder in holders:
        if holder is not None and (not expected or expected[-1] != holder):
            expected.append(holder)
    assert list(metrics.assignees) == expected
    assert metrics.assignee_stations == len(expected)
    assert all(a != b for a, b in itertools.pairwise(metrics.teams))
    if case.team is not None:
        assert metrics.teams[-1] == case.team
    if case.assignee is not None:
        assert metrics.assignees[-1] == case.assignee


@given(cst.cases().filter(lambda c: not c.merges), st.data())
def test_measured_at_an_earlier_instant_it_reads_the_history_up_to_then(
    case: Case, data: st.DataObject
) -> None:
    whole = case_metrics(case)
    span = (whole.at - case.opened_at).total_seconds()
    moment = case.opened_at + dt.timedelta(seconds=data.draw(st.floats(0, max(span, 0.0))))
    earlier = case_metrics(case, at=moment)
    # The same instant, whatever the zone: PEP 495 makes a wall time that occurs twice
    # (a clock going back) compare unequal to any instant in another zone.
    assert earlier.at - moment == dt.timedelta(0)
    assert earlier.replies <= whole.replies
    assert earlier.reopens <= whole.reopens
    assert earlier.requester_wait.calendar + earlier.agent_wait.calendar == time_in(
        case, moment, {CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.ON_HOLD, CaseStatus.PENDING}
    )


def test_a_case_over_a_weekend_in_business_hours(desk_clock: Any) -> None:
    friday = pendulum.datetime(2026, 3, 6, 16, tz="Europe/London")
    clock = FixedClock(friday)
    case = Case.open(uuid.uuid4(), "Refund", clock=clock, team="billing")
    case = case.advance("open", at=friday).assign("ana", at=friday)
    monday = pendulum.datetime(2026, 3, 9, 10, tz="Europe/London")
    case = case.record_update(at=monday).advance("hold", at=monday)
    case = case.advance("resume", at=monday.add(hours=2)).assign("bo", at=monday.add(hours=2))
    case = case.advance("solve", at=monday.add(hours=3))
    case = case.advance("reopen", at=monday.add(hours=4)).assign(
        "ana", at=monday.add(hours=4), team="refunds"
    )
    case = case.advance("solve", at=monday.add(hours=5))
    m = case_metrics(case, calendar=NINE_TO_FIVE)
    assert m.first_reply == Elapsed(HOURS(hours=66), HOURS(hours=2))
    assert m.full_resolution == Elapsed(HOURS(hours=71), HOURS(hours=7))
    assert m.on_hold == Elapsed(HOURS(hours=2), HOURS(hours=2))
    assert m.requester_wait == Elapsed(HOURS(hours=70), HOURS(hours=6))
    assert m.agent_wait == Elapsed(ZERO, ZERO)
    assert (m.replies, m.reopens) == (1, 1)
    assert m.assignees == ("ana", "bo", "ana")
    assert m.teams == ("billing", "refunds")
    assert (m.assignee_stations, m.team_stations) == (3, 2)
    assert m.at == monday.add(hours=5)


def test_an_open_case_has_no_resolution_and_waits_until_the_instant_asked(
    desk_case: Case,
) -> None:
    later = desk_case.opened_at.add(hours=3)
    m = case_metrics(desk_case, at=later)
    assert m.full_resolution is None
    assert m.first_reply is None
    assert m.requester_wait.calendar == HOURS(hours=3)


def test_bad_input_names_the_argument(desk_case: Case) -> None:
    with pytest.raises(ValidationError) as caught:
        case_metrics(desk_case, at=desk_case.opened_at.subtract(seconds=1))
    assert caught.value.field == "at"
    with pytest.raises(ValidationError) as caught:
        case_metrics("a case")  # type: ignore[arg-type]
    assert caught.value.field == "case"
    with pytest.raises(ValidationError) as caught:
        case_metrics(desk_case, calendar="UTC")  # type: ignore[arg-type]
    assert caught.value.field == "calendar"
    with pytest.raises(ValidationError) as caught:
        case_metrics(desk_case, at=dt.datetime(2026, 3, 2, 12))
    assert caught.value.field == "at"


@given(cst.cases())
def test_metrics_round_trip_through_to_dict(case: Case) -> None:
    metrics = case_metrics(case)
    assert from_dict(CaseMetrics, to_dict(metrics)) == metrics
