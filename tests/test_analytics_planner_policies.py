"""The planner under SLA policies: status updates and warnings from the policy that applies
to each case, and conditions that read the case's customer."""

from __future__ import annotations

import uuid
from datetime import time

import pendulum
import pytest

from custservice import (
    BusinessCalendar,
    Case,
    Condition,
    Customer,
    EscalationRule,
    FixedClock,
    Metric,
    ServiceTarget,
    SlaPolicies,
    SlaPolicy,
    SurveyPolicy,
    ValidationError,
)
from custservice.analytics import FollowUpKind, plan_follow_ups
from custservice.storage.memory import MemoryStore

K = FollowUpKind
MONDAY = pendulum.datetime(2026, 3, 2, 9, tz="Europe/London")
HOUR = pendulum.duration(hours=1)
OFFICE = BusinessCalendar("Europe/London", {d: [(time(9), time(17))] for d in range(5)})
DESK = SlaPolicies(
    [
        SlaPolicy(
            "Urgent",
            Condition.where("priority", "==", "urgent"),
            [
                ServiceTarget(
                    Metric.FIRST_RESPONSE, HOUR, warn_before=pendulum.duration(minutes=15)
                ),
                ServiceTarget(Metric.PERIODIC_UPDATE, 2 * HOUR),
            ],
        ),
        SlaPolicy(
            "Normal",
            Condition.all_of(),
            [ServiceTarget(Metric.FIRST_RESPONSE, 8 * HOUR, calendar=OFFICE, warn_before=HOUR)],
        ),
    ]
)


def opened(**fields: object) -> Case:
    return Case.open(uuid.uuid4(), "Card declined", clock=FixedClock(MONDAY), **fields)  # type: ignore[arg-type]


def window(hours: float, length: float = 24) -> dict[str, pendulum.DateTime]:
    start = MONDAY.add(minutes=round(hours * 60))
    return {"window_start": start, "window_end": start.add(minutes=round(length * 60))}


def test_a_target_warns_when_no_more_than_warn_before_is_left() -> None:
    urgent, normal = opened(priority="urgent"), opened()
    plan = plan_follow_ups([], [], [urgent, normal], sla=DESK, **window(0))
    warnings = [(f.record_id, f.metric, f.due_at) for f in plan if f.kind is K.TARGET_WARNING]
    assert warnings == [
        (urgent.id, Metric.FIRST_RESPONSE, MONDAY.add(minutes=45)),
        # Seven office hours from 09:00 on Monday: 16:00.
        (normal.id, Metric.FIRST_RESPONSE, MONDAY.add(hours=7)),
    ]
    (warning,) = [f for f in plan if f.kind is K.TARGET_WARNING and f.record_id == urgent.id]
    assert warning.why == (
        "An open case's first response target breaches at 2026-03-02T10:00:00+00:00: "
        "act before it does."
    )
    # Already warning when the window starts: due at once; answered, nothing is owed.
    (late,) = [f for f in plan_follow_ups([], [], [urgent], sla=DESK, **window(0.9)) if f.metric]
    assert late.due_at == MONDAY.add(minutes=54)
    answered = urgent.record_update(at=MONDAY.add(minutes=20))
    plan = plan_follow_ups([], [], [answered], sla=DESK, **window(0.5))
    assert [f.kind for f in plan] == [K.STATUS_UPDATE]


def test_status_updates_follow_the_policy_that_applies() -> None:
    urgent = opened(priority="urgent")
    (update, _) = sorted(
        plan_follow_ups([], [], [urgent], sla=DESK, **window(0)), key=lambda f: f.kind.value
    )
    assert (update.kind, update.due_at) == (K.STATUS_UPDATE, MONDAY.add(hours=1))
    # Downgraded before the window: the normal policy owes no periodic updates.
    calmer = urgent.reprioritize("normal", at=MONDAY.add(minutes=5))
    kinds = [f.kind for f in plan_follow_ups([], [], [calmer], sla=DESK, **window(0.5))]
    assert kinds == [K.TARGET_WARNING]


def test_conditions_read_the_customer_given_with_the_case() -> None:
    vip = Customer.new("Ada", clock=FixedClock(MONDAY), segment="vip")
    case = Case.open(vip.id, "Refund", clock=FixedClock(MONDAY))
    rule = EscalationRule(
        Condition.where("customer.segment", "==", "vip"), after=HOUR, action="notify", level=1
    )
    # Without the customer, a condition on the customer does not match.
    assert plan_follow_ups([], [], [case], escalations=[rule], **window(0)) == ()
    (escalation,) = plan_follow_ups([vip], [], [case], escalations=[rule], **window(0))
    assert escalation.due_at == MONDAY.add(hours=1)
    store = MemoryStore()
    store.customers.add(vip)
    store.cases.add(case)
    assert plan_follow_ups(store, escalations=[rule], **window(0)) == (escalation,)


def test_policies_targets_and_rules_are_checked() -> None:
    target = ServiceTarget(Metric.RESOLUTION, HOUR)
    with pytest.raises(ValidationError) as caught:
        plan_follow_ups([], targets=[target], sla=DESK, **window(0))
    assert caught.value.field == "sla"
    with pytest.raises(ValidationError) as caught:
        plan_follow_ups([], sla=[target], **window(0))  # type: ignore[arg-type]
    assert caught.value.field == "sla"
    with pytest.raises(ValidationError) as caught:
        plan_follow_ups([], escalations=[SurveyPolicy()], **window(0))  # type: ignore[list-item]
    assert caught.value.field == "escalations"
