"""Cases: status lifecycle, public updates, promises."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

import attrs
import pendulum
import pytest
from conftest import allocated
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import (
    Case,
    CaseStatus,
    CaseUpdate,
    FixedClock,
    InvalidTransition,
    ValidationError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.testing import strategies as cst

HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)


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


def with_updates(clock: FixedClock, n: int) -> Case:
    case = Case.open(uuid.uuid4(), "Many messages", clock=clock).advance("open", at=clock.now())
    for i in range(n):
        case = case.record_update(at=clock.advance(SECOND), from_customer=i % 2 == 0)
    return case


def test_recording_an_update_allocates_the_same_at_any_length(clock: FixedClock) -> None:
    costs = []
    for n in (0, 20_000):
        case = with_updates(clock, n)
        costs.append(allocated(partial(case.record_update, at=clock.now())))
        # and again from the same case, as a retry would: the first child moved on
        costs.append(allocated(partial(case.record_update, at=clock.now(), from_customer=True)))
    # Bounded, not proportional: at most 32 items are ever copied (a few hundred bytes);
    # copying 20,000 would be 160,000 bytes.
    assert max(costs[2:]) <= max(costs[:2]) + 512, costs


def test_updates_behave_as_the_tuple_they_are_documented_as(clock: FixedClock) -> None:
    case = with_updates(clock, 5)
    items = tuple(case.updates)
    updates = case.updates
    assert updates == items
    assert items == updates
    assert hash(updates) == hash(items)
    assert updates != list(items)
    assert updates != items[:-1]
    assert len(updates) == 5
    assert bool(updates)
    assert not Case.open(uuid.uuid4(), "x", clock=clock).updates
    assert [updates[i] for i in range(-5, 5)] == list(items) * 2
    assert updates[1:4] == items[1:4]
    assert updates[::-2] == items[::-2]
    assert isinstance(updates[1:4], tuple)
    assert list(reversed(updates)) == list(reversed(items))
    assert updates.index(items[3]) == 3
    assert updates.count(items[0]) == 1
    assert items[2] in updates
    assert repr(updates) == repr(items)
    with pytest.raises(IndexError):
        updates[5]
    newer = case.record_update(at=clock.now())
    other = case.record_update(at=clock.now(), from_customer=True)  # a second child
    assert newer.updates[:5] == other.updates[:5] == items
    assert newer.updates[-1] != other.updates[-1]
    assert case.updates == items  # unchanged
    assert attrs.evolve(case, updates=list(items)) == case
    assert (
        Case(case.id, case.customer_id, case.subject, case.opened_at, case.lifecycle, updates=items)
        == case
    )


def test_updates_round_trip_through_dicts_and_json(clock: FixedClock) -> None:
    case = with_updates(clock, 3)
    other = case.record_update(at=clock.now())  # a branch off case, made after newer
    newer = case.record_update(at=clock.now(), from_customer=True)
    for record in (case, other, newer):
        assert from_dict(Case, to_dict(record)) == record
        assert from_json(Case, to_json(record)) == record
        assert from_json(Case, to_json(record)).updates == tuple(record.updates)
    assert to_dict(newer)["updates"][-1] == {"at": to_dict(clock.now()), "from_customer": True}


def test_an_update_a_microsecond_in_the_past_is_refused_in_any_year() -> None:
    for year in (2026, 2300, 9000):
        at = pendulum.datetime(year, 6, 1, 12, 0, 0, 1, tz="Asia/Kathmandu")
        case = Case.open(uuid.uuid4(), "x", clock=FixedClock(at)).record_update(at=at)
        before = (at - dt.timedelta(microseconds=1)).in_timezone("America/New_York")
        with pytest.raises(ValidationError, match="earlier"):
            case.record_update(at=before)
        restored = case.record_update(at=at.in_timezone("UTC"))
        assert len(restored.updates) == 2
        with pytest.raises(ValidationError, match="time order"):
            Case(
                case.id,
                case.customer_id,
                case.subject,
                case.opened_at,
                case.lifecycle,
                updates=[CaseUpdate(at), CaseUpdate(before)],
            )


@given(data=st.data(), start=st.integers(0, 80))
@settings(max_examples=60, deadline=None)
def test_updates_recorded_from_any_version_read_back_exactly(
    data: st.DataObject, start: int
) -> None:
    """Cases that grow from any earlier case (as retries and what-ifs do) each hold
    exactly their own updates, however they branch."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    first = with_updates(clock, start)
    kept = [(first, tuple(first.updates))]
    for step in range(data.draw(st.integers(1, 60), label="steps")):
        case, expected = data.draw(st.sampled_from(kept), label="from")
        update_count = data.draw(st.integers(1, 40), label="updates")
        for _ in range(update_count):
            at, from_customer = clock.advance(SECOND), step % 2 == 0
            case = case.record_update(at=at, from_customer=from_customer)
            expected = (*expected, CaseUpdate(at, from_customer))
        kept.append((case, expected))
    for case, expected in kept:
        updates = case.updates
        assert updates == expected
        assert len(updates) == len(expected)
        n = len(expected)
        assert [updates[i] for i in range(-n, n)] == [*expected, *expected]
        assert tuple(reversed(updates)) == expected[::-1]
        assert updates[n // 3 : n - 2 : 3] == expected[n // 3 : n - 2 : 3]
