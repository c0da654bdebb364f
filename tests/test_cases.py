"""Cases: status lifecycle, public updates, promises."""

from __future__ import annotations

import datetime as dt
import uuid

import pendulum
import pytest
from hypothesis import given

from custservice import Case, CaseStatus, CaseUpdate, FixedClock, InvalidTransition, ValidationError
from custservice.testing import strategies as cst

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))


def test_a_case_opens_new_with_an_optional_promise(clock: FixedClock) -> None:
    promise = clock.now() + dt.timedelta(days=2)
    case = Case.open(uuid.uuid4(), "Refund for order 1234", clock=clock, promised_by=promise)
    assert case.status is CaseStatus.NEW
    assert case.promised_by == promise
    assert case.updates == ()


def test_status_follows_the_case_lifecycle_with_reopening(clock: FixedClock) -> None:
    case = Case.open(uuid.uuid4(), "Broken kettle", clock=clock)
    for event in ("open", "await_customer", "resume", "solve", "reopen", "solve", "close"):
        case = case.advance(event, at=clock.advance(HOUR))
    assert case.status is CaseStatus.CLOSED
    assert [c.event for c in case.lifecycle.history].count("reopen") == 1
    with pytest.raises(InvalidTransition, match="final state"):
        case.advance("reopen", at=clock.now())


def test_updates_from_agents_and_customers_in_time_order(clock: FixedClock) -> None:
    case = Case.open(uuid.uuid4(), "Login fails", clock=clock).advance("open", at=clock.now())
    case = case.record_update(at=clock.advance(HOUR))
    case = case.record_update(at=clock.advance(HOUR), from_customer=True)
    assert case.updates == (
        CaseUpdate(clock.now() - HOUR, from_customer=False),
        CaseUpdate(clock.now(), from_customer=True),
    )
    with pytest.raises(ValidationError, match="earlier"):
        case.record_update(at=clock.now() - 2 * HOUR)


def test_a_closed_case_takes_no_updates(clock: FixedClock) -> None:
    case = Case.open(uuid.uuid4(), "x", clock=clock)
    case = case.advance("solve", at=clock.now()).advance("close", at=clock.now())
    with pytest.raises(ValidationError, match="closed"):
        case.record_update(at=clock.now())


def test_bad_arguments_are_named(clock: FixedClock) -> None:
    with pytest.raises(ValidationError) as info:
        Case.open(uuid.uuid4(), "  ", clock=clock, promised_by=pendulum.naive(2026, 3, 5))
    assert [p.path for p in info.value.problems] == ["subject", "promised_by"]


@given(cst.cases())
def test_generated_cases_keep_updates_in_order(case: Case) -> None:
    times = [u.at for u in case.updates]
    assert times == sorted(times)
    assert all(t >= case.opened_at for t in times)
