"""SLA policies: the first match applies, a priority change re-selects it, time carries over,
and a breach is neither forgiven nor back-dated."""

from __future__ import annotations

import datetime as dt
import uuid

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import (
    ALWAYS,
    CASE_LIFECYCLE,
    BusinessCalendar,
    Case,
    CaseStatus,
    Condition,
    Customer,
    FixedClock,
    Metric,
    Priority,
    ServiceTarget,
    SlaPolicies,
    SlaPolicy,
    TargetState,
    TargetStatus,
    ValidationError,
)
from custservice.testing import strategies as cst

H = pendulum.duration(hours=1)
_US = pendulum.duration(microseconds=1)
NINE = pendulum.datetime(2026, 3, 2, 9)  # a Monday


def target(metric: Metric, hours: float, **kwargs: object) -> ServiceTarget:
    return ServiceTarget(metric, pendulum.duration(minutes=round(hours * 60)), **kwargs)  # type: ignore[arg-type]


def priority_is(priority: str) -> Condition:
    return Condition.where("priority", "==", priority)


# Zendesk-like: targets by priority, the last policy a catch-all without a resolution target.
DESK = SlaPolicies(
    [
        SlaPolicy(
            "Urgent",
            priority_is("urgent"),
            [target(Metric.FIRST_RESPONSE, 1), target(Metric.RESOLUTION, 4)],
        ),
        SlaPolicy(
            "High",
            priority_is("high"),
            [target(Metric.FIRST_RESPONSE, 2), target(Metric.RESOLUTION, 8)],
        ),
        SlaPolicy("Everything else", Condition.all_of(), [target(Metric.FIRST_RESPONSE, 8)]),
    ]
)


def opened(priority: str = "normal") -> Case:
    return Case.open(uuid.uuid4(), "The app crashes", clock=FixedClock(NINE), priority=priority)


def by_metric(statuses: tuple[TargetStatus, ...]) -> dict[Metric, TargetStatus]:
    found = {s.metric: s for s in statuses}
    assert len(found) == len(statuses)
    return found


# --- examples ------------------------------------------------------------------------


def test_the_first_matching_policy_applies() -> None:
    assert DESK.select(opened("urgent")).name == "Urgent"  # type: ignore[union-attr]
    assert DESK.select(opened("low")).name == "Everything else"  # type: ignore[union-attr]
    assert SlaPolicies([DESK.policies[0]]).select(opened("low")) is None
    assert SlaPolicies([]).evaluate(opened(), at=NINE) == ()


def test_a_priority_change_reselects_the_policy_and_time_carries_over() -> None:
    case = opened().reprioritize("high", at=NINE.add(hours=1))
    assert DESK.select(case, at=NINE.add(minutes=59)).name == "Everything else"  # type: ignore[union-attr]
    assert DESK.select(case, at=NINE.add(hours=1)).name == "High"  # type: ignore[union-attr]
    statuses = by_metric(DESK.evaluate(case, at=NINE.add(minutes=90)))
    first = statuses[Metric.FIRST_RESPONSE]
    assert first.state is TargetState.ACTIVE
    assert first.elapsed == pendulum.duration(minutes=90)  # counted from the opening
    assert first.due_at == NINE.add(hours=2)
    assert statuses[Metric.RESOLUTION].due_at == NINE.add(hours=8)


def test_before_a_change_the_earlier_policy_applies() -> None:
    case = opened().reprioritize("urgent", at=NINE.add(hours=5))
    (before,) = DESK.evaluate(case, at=NINE.add(hours=4))
    assert (before.state, before.remaining) == (TargetState.ACTIVE, 4 * H)


def test_a_target_already_overdue_at_a_change_breaches_at_the_change() -> None:
    case = opened().reprioritize("urgent", at=NINE.add(hours=3))
    statuses = by_metric(DESK.evaluate(case, at=NINE.add(hours=3)))
    first = statuses[Metric.FIRST_RESPONSE]
    assert first.state is TargetState.BREACHED
    assert first.breached_at == NINE.add(hours=3)  # not 10:00, when it would have been due
    assert statuses[Metric.RESOLUTION].state is TargetState.ACTIVE
    assert statuses[Metric.RESOLUTION].due_at == NINE.add(hours=4)


def test_work_done_before_a_change_is_done_however_long_it_took() -> None:
    case = opened().record_update(at=NINE.add(hours=2))
    case = case.reprioritize("urgent", at=NINE.add(hours=3))
    first = by_metric(DESK.evaluate(case, at=NINE.add(hours=5)))[Metric.FIRST_RESPONSE]
    assert first.state is TargetState.ACHIEVED
    assert first.breached_at is None


def test_an_overdue_target_on_a_stopped_clock_breaches_when_the_clock_runs() -> None:
    case = opened().advance("open", at=NINE).advance("await_customer", at=NINE.add(hours=2))
    case = case.reprioritize("urgent", at=NINE.add(hours=3))
    first = by_metric(DESK.evaluate(case, at=NINE.add(hours=4)))[Metric.FIRST_RESPONSE]
    assert (first.state, first.breached_at) == (TargetState.PAUSED, None)
    case = case.advance("resume", at=NINE.add(hours=5))
    first = by_metric(DESK.evaluate(case, at=NINE.add(hours=6)))[Metric.FIRST_RESPONSE]
    assert (first.state, first.breached_at) == (TargetState.BREACHED, NINE.add(hours=5))


def test_a_breach_is_never_forgiven_by_a_later_policy() -> None:
    case = opened("urgent").reprioritize("low", at=NINE.add(hours=5))
    statuses = DESK.evaluate(case, at=NINE.add(hours=6))
    # The catch-all's first response, breached at 10:00 under the urgent policy, then the
    # resolution target it does not have, breached at 13:00 under the urgent policy.
    assert [(s.metric, s.state, s.breached_at) for s in statuses] == [
        (Metric.FIRST_RESPONSE, TargetState.BREACHED, NINE.add(hours=1)),
        (Metric.RESOLUTION, TargetState.BREACHED, NINE.add(hours=4)),
    ]


def test_a_breach_at_the_instant_of_a_change_belongs_to_the_new_policy() -> None:
    case = opened("urgent").reprioritize("low", at=NINE.add(hours=1))
    (first,) = DESK.evaluate(case, at=NINE.add(hours=2))
    assert (first.state, first.due_at) == (TargetState.ACTIVE, NINE.add(hours=8))


def test_conditions_on_the_customer_use_the_customer_given() -> None:
    vip = SlaPolicy(
        "VIP", Condition.where("customer.segment", "==", "vip"), [target(Metric.RESOLUTION, 2)]
    )
    policies = SlaPolicies([vip, *DESK.policies])
    ada = Customer.new("Ada", clock=FixedClock(NINE), segment="vip")
    case = opened()
    assert policies.select(case, ada) is vip
    assert policies.select(case).name == "Everything else"  # type: ignore[union-attr]
    (status,) = policies.evaluate(case, at=NINE.add(hours=1), customer=ada)
    assert status.metric is Metric.RESOLUTION


def test_each_target_keeps_its_own_calendar_and_warns_before_its_deadline() -> None:
    office = BusinessCalendar("Europe/London", {d: [(dt.time(9), dt.time(17))] for d in range(5)})
    policies = SlaPolicies(
        [
            SlaPolicy(
                "Office hours",
                Condition.all_of(),
                [
                    target(Metric.FIRST_RESPONSE, 4, calendar=office, warn_before=H),
                    target(Metric.RESOLUTION, 24, warn_before=H),
                ],
            )
        ]
    )
    case = opened()
    first, resolution = policies.evaluate(case, at=NINE.add(hours=3, minutes=30))
    assert first.warning
    assert not resolution.warning
    later = policies.evaluate(case, at=NINE.add(hours=5))[0]
    assert later.state is TargetState.BREACHED
    assert not later.warning


def test_bad_policies_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        SlaPolicy("", "all", [target(Metric.RESOLUTION, 1), "fast"])  # type: ignore[arg-type, list-item]
    assert [p.path for p in error.value.problems] == ["name", "condition", "targets[1]"]
    with pytest.raises(ValidationError, match="a second target on resolution"):
        SlaPolicy("x", Condition.all_of(), [target(Metric.RESOLUTION, 1)] * 2)
    with pytest.raises(ValidationError) as error:
        SlaPolicies([DESK.policies[0], DESK.policies[0]])
    assert error.value.field == "policies[1].name"
    with pytest.raises(ValidationError) as error:
        DESK.evaluate(opened(), at=NINE.subtract(minutes=1))
    assert error.value.field == "at"


# --- properties ----------------------------------------------------------------------


@given(cst.sla_policy_sets(), cst.cases(), st.none() | cst.customers())
def test_select_is_the_first_policy_whose_condition_matches(
    policies: SlaPolicies, case: Case, customer: Customer | None
) -> None:
    expected = next((p for p in policies.policies if p.condition.matches(case, customer)), None)
    assert policies.select(case, customer) is expected


@given(
    st.lists(st.sampled_from(Metric), unique=True, min_size=1).flatmap(
        lambda ms: st.tuples(*(cst.service_targets(metric=m) for m in ms))
    ),
    cst.cases(),
    cst.durations(dt.timedelta(days=60)),
)
def test_one_policy_throughout_is_its_targets_evaluated_alone(
    targets: tuple[ServiceTarget, ...], case: Case, after: dt.timedelta
) -> None:
    policies = SlaPolicies([SlaPolicy("Everything", Condition.all_of(), targets)])
    at = case.opened_at + after
    assert policies.evaluate(case, at=at) == ServiceTarget.evaluate_many(targets, case, at=at)


_OFFICE = BusinessCalendar("UTC", {d: [(dt.time(9), dt.time(17))] for d in range(5)})


@st.composite
def desks(draw: st.DrawFn) -> SlaPolicies:
    """One policy per priority, most urgent first, with random promises and calendars."""
    policies = []
    for priority in reversed(Priority):
        metrics = draw(st.lists(st.sampled_from(Metric), unique=True, max_size=4))
        targets = [
            ServiceTarget(
                m,
                pendulum.duration(minutes=draw(st.integers(1, 600))),
                calendar=draw(st.sampled_from([ALWAYS, _OFFICE])),
            )
            for m in metrics
        ]
        policies.append(SlaPolicy(priority.value, priority_is(priority.value), targets))
    return SlaPolicies(policies)


@st.composite
def histories(draw: st.DrawFn) -> Case:
    """A case with priority changes among its updates and status changes, on whole minutes
    (several changes may share an instant)."""
    clock = FixedClock(NINE.add(minutes=draw(st.integers(0, 7 * 1440))))
    case = Case.open(uuid.uuid4(), "Printer on fire", clock=clock, priority=draw(cst.priorities()))
    for _ in range(draw(st.integers(0, 12))):
        clock.advance(pendulum.duration(minutes=draw(st.integers(0, 240))))
        if case.status is CaseStatus.CLOSED:
            break
        move = draw(st.sampled_from(["priority", "priority", "agent", "customer", "status"]))
        allowed = sorted(CASE_LIFECYCLE.allowed(case.lifecycle))
        if move == "priority":
            case = case.reprioritize(draw(cst.priorities()), at=clock.now())
        elif move == "status" and allowed:
            case = case.advance(draw(st.sampled_from(allowed)), at=clock.now())
        else:
            case = case.record_update(at=clock.now(), from_customer=move == "customer")
    return case


def _changes(case: Case) -> list[pendulum.DateTime]:
    found = [case.opened_at, *(c.at for c in case.priority_changes)]
    found += [c.at for c in case.lifecycle.history]
    return sorted(set(found), key=lambda t: t.timestamp())


@given(desks(), histories(), st.lists(st.integers(0, 3000), max_size=6))
def test_breaches_are_never_forgiven_nor_back_dated(
    policies: SlaPolicies, case: Case, extra: list[int]
) -> None:
    changes = _changes(case)
    instants = {*changes, *(t.add(minutes=1) for t in changes)}
    instants |= {case.opened_at.add(minutes=m) for m in extra}
    seen: dict[Metric, pendulum.DateTime] = {}
    for at in sorted(instants, key=lambda t: t.timestamp()):
        statuses = by_metric(policies.evaluate(case, at=at))
        for metric, breached in seen.items():  # never forgiven, never moved
            assert statuses[metric].state is TargetState.BREACHED
            assert statuses[metric].breached_at == breached
        for status in statuses.values():
            b = status.breached_at
            assert (b is None) is (status.state is not TargetState.BREACHED)
            if b is None or status.metric in seen:
                continue
            assert case.opened_at <= b <= at
            # Breached under the policy that applied at that instant, which has the metric...
            policy = policies.select(case, at=b)
            assert policy is not None
            assert status.metric in {t.metric for t in policy.targets}
            # ... and at that instant, not earlier: evaluated a moment before, it had not.
            if b > case.opened_at:
                before = by_metric(policies.evaluate(case, at=b - _US)).get(status.metric)
                assert before is None or before.state is not TargetState.BREACHED
            after = by_metric(policies.evaluate(case, at=b + _US))[status.metric]
            assert after.breached_at == b
            seen[status.metric] = b
