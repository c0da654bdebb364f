"""Several service targets evaluated together give exactly what ``evaluate`` gives on each.

``ServiceTarget.evaluate_many`` reads a case's history once for every target;
the scorecard (streamed from records, or pushed down to a SQL store, which
reads from each stored case only what the targets need) and health count
their figures from the same engine. Each is checked here against
``ServiceTarget.evaluate`` called on every case and target, one at a time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh

from custservice import (
    BusinessCalendar,
    Case,
    CaseStatus,
    Customer,
    FixedClock,
    Metric,
    ServiceTarget,
    TargetState,
    ValidationError,
    open_store,
)
from custservice.analytics import TargetAttainment, health, scorecard
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

UTC = "UTC"


def after(case: Case, offset: dt.timedelta) -> pendulum.DateTime:
    """An instant ``offset`` after the case was opened."""
    return case.opened_at + offset


def targets_one_per_metric(max_size: int = 4) -> st.SearchStrategy[list[ServiceTarget]]:
    """Service targets on random calendars, at most one per metric (as a scorecard takes)."""
    return st.lists(cst.service_targets(), max_size=max_size, unique_by=lambda t: t.metric)


def later(a: dt.datetime, b: dt.datetime) -> bool:
    """Whether ``a`` is a later instant than ``b``, whatever their zones."""
    return pendulum.instance(a).in_timezone(UTC) > pendulum.instance(b).in_timezone(UTC)


def attainment_one_by_one(
    cases: Iterable[Case], targets: Iterable[ServiceTarget], at: pendulum.DateTime
) -> dict[Metric, tuple[int, int, int, int, int, tuple[int, int, int]]]:
    """Per target: achieved, breached, active, paused and not due cases, and the band's
    verdicts, counted from ``evaluate`` on each case, as ``TargetAttainment`` defines them
    (a merged case is counted under its target alone: not here)."""
    out = {}
    for target in targets:
        states: Counter[str] = Counter()
        verdicts: Counter[str] = Counter()
        for case in cases:
            if case.merged_into is not None:
                continue
            if later(case.opened_at, at):
                states["not_due"] += 1
                continue
            status = target.evaluate(case, at=at)
            if status.state is TargetState.ACHIEVED and status.started_at is None:
                states["not_due"] += 1
            else:
                states[status.state.value] += 1
            if status.verdict is not None:
                verdicts[status.verdict.value] += 1
        out[target.metric] = (
            states["achieved"],
            states["breached"],
            states["active"],
            states["paused"],
            states["not_due"],
            (verdicts["dissatisfied"], verdicts["satisfied"], verdicts["delighted"]),
        )
    return out


def figures(
    attained: dict[Metric, TargetAttainment],
) -> dict[Metric, tuple[int, int, int, int, int, tuple[int, int, int]]]:
    return {
        metric: (
            a.achieved,
            a.breached,
            a.active,
            a.paused,
            a.not_due,
            (a.verdicts.dissatisfied, a.verdicts.satisfied, a.verdicts.delighted),
        )
        for metric, a in attained.items()
    }


# --- evaluate_many -------------------------------------------------------------------


@given(
    case=cst.cases(),
    targets=st.lists(cst.service_targets(), max_size=5),
    offset=cst.durations(dt.timedelta(days=200)),
)
def test_evaluate_many_gives_what_evaluate_gives_on_each_target(
    case: Case, targets: list[ServiceTarget], offset: dt.timedelta
) -> None:
    at = after(case, offset)
    assert ServiceTarget.evaluate_many(targets, case, at=at) == tuple(
        t.evaluate(case, at=at) for t in targets
    )


@given(
    case=cst.cases(),
    metric=st.sampled_from(Metric),
    calendar=cst.calendars(),
    paused=st.lists(st.frozensets(st.sampled_from(CaseStatus)), min_size=2, max_size=3),
    offset=cst.durations(dt.timedelta(days=60)),
)
def test_targets_sharing_a_calendar_and_a_case_agree_with_each_alone(
    case: Case,
    metric: Metric,
    calendar: BusinessCalendar,
    paused: list[frozenset[CaseStatus]],
    offset: dt.timedelta,
) -> None:
    # What is worked out once per case and shared: the stretches of each set of pausing
    # statuses, the cycles of each metric, the calendar's counting.
    if not any(calendar.hours):
        return
    targets = [
        ServiceTarget(m, pendulum.duration(hours=h), calendar=calendar, paused_in=p)
        for m in (metric, *Metric)
        for h, p in zip((1, 8, 40), paused, strict=False)
    ]
    at = after(case, offset)
    statuses = ServiceTarget.evaluate_many(targets, case, at=at)
    for target, status in zip(targets, statuses, strict=True):
        assert status == target.evaluate(case, at=at)


def test_evaluate_many_of_no_targets_is_empty() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
    case = Case.open(uuid.uuid4(), "Refund", clock=clock)
    assert ServiceTarget.evaluate_many([], case, at=clock.now()) == ()


@pytest.mark.parametrize("targets", [[object()], "first_response", [None]])
def test_evaluate_many_refuses_what_is_not_a_target(targets: object) -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
    case = Case.open(uuid.uuid4(), "Refund", clock=clock)
    with pytest.raises(ValidationError) as caught:
        ServiceTarget.evaluate_many(targets, case, at=clock.now())  # type: ignore[arg-type]
    assert caught.value.problems[0].path == "targets"


def test_evaluate_many_refuses_an_instant_before_the_opening() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
    case = Case.open(uuid.uuid4(), "Refund", clock=clock)
    target = ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=8))
    with pytest.raises(ValidationError) as caught:
        ServiceTarget.evaluate_many([target], case, at=clock.now().subtract(microseconds=1))
    assert caught.value.problems[0].path == "at"


# --- the scorecard and health ----------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(cst.cases(), max_size=6),
    targets=targets_one_per_metric(),
    at=cst.aware_datetimes(),
)
def test_streamed_attainment_counts_what_evaluate_gives_on_each_case(
    cases: list[Case], targets: list[ServiceTarget], at: pendulum.DateTime
) -> None:
    card = scorecard([], cases, targets=targets, at=at)
    assert figures(dict(card.targets)) == attainment_one_by_one(cases, targets, at)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    records=cst.customer_records(max_customers=2, max_interactions=1, max_cases=4),
    targets=targets_one_per_metric(),
    offset=cst.durations(dt.timedelta(days=120)),
)
def test_open_breaches_in_health_count_what_evaluate_gives(
    records: tuple[list[Customer], list[object], list[Case]],
    targets: list[ServiceTarget],
    offset: dt.timedelta,
) -> None:
    customers, _, cases = records
    with open_store("memory://") as store:
        store.customers.add_many(customers)
        store.cases.add_many(cases)
        for customer in customers:
            at = customer.created_at + offset
            theirs = [c for c in cases if c.customer_id == customer.id]
            expected = sum(
                1
                for case in theirs
                if case.merged_into is None
                and not later(case.opened_at, at)
                and status_at(case, at) not in (CaseStatus.SOLVED, CaseStatus.CLOSED)
                and any(t.evaluate(case, at=at).state is TargetState.BREACHED for t in targets)
            )
            assert health(customer, store, at=at, targets=targets).open_breaches == expected


def status_at(case: Case, at: dt.datetime) -> CaseStatus:
    """The case's status at ``at``, from its history (its states read by its pipeline)."""
    category = case.pipeline.category
    history = case.lifecycle.history
    status = category(history[0].source) if history else category(case.state)
    for change in history:
        if later(change.at, at):
            break
        status = category(change.target)
    return status


# --- pushed down to SQL: only what the targets read of each stored case --------------


@settings(
    max_examples=min(30, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cases=st.lists(cst.cases(), min_size=1, max_size=6, unique_by=lambda c: c.id),
    targets=targets_one_per_metric().filter(bool),
    offset=cst.durations(dt.timedelta(days=120)),
)
def test_attainment_pushed_down_counts_what_evaluate_gives_on_each_stored_case(
    fresh: Fresh,
    cases: list[Case],
    targets: list[ServiceTarget],
    offset: dt.timedelta,
) -> None:
    at = after(cases[0], offset)
    with fresh() as store:
        owners = {c.customer_id for c in cases}
        store.customers.add_many(
            Customer.new("Ada", clock=FixedClock(pendulum.datetime(2026, 1, 1)), id=owner)
            for owner in owners
        )
        store.cases.add_many(cases)
        stored = list(store.cases.all())
        card = scorecard(store, targets=targets, at=at)
    assert figures(dict(card.targets)) == attainment_one_by_one(stored, targets, at)
