"""Escalation rules: when each triggers, that a case on hold is never escalated, and that
the planner proposes each rule's escalation of a case once, never before its trigger."""

from __future__ import annotations

import datetime as dt
import uuid

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custservice import (
    Case,
    Condition,
    EscalationAction,
    EscalationRule,
    FixedClock,
    Metric,
    ServiceTarget,
    SlaPolicies,
    SlaPolicy,
    TargetState,
    ValidationError,
    from_dict,
    to_dict,
)
from custservice.analytics import FollowUpKind, plan_follow_ups
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 3, 2, 9)
HOUR = pendulum.duration(hours=1)
NOTIFY = EscalationAction.NOTIFY
EVERY_CASE = Condition.all_of()
URGENT = Condition.where("priority", "==", "urgent")
ONE_HOUR = SlaPolicies([SlaPolicy("All", EVERY_CASE, [ServiceTarget(Metric.FIRST_RESPONSE, HOUR)])])


def case_at(**fields: object) -> tuple[Case, FixedClock]:
    clock = FixedClock(T0)
    return Case.open(uuid.uuid4(), "Checkout fails", clock=clock, **fields), clock  # type: ignore[arg-type]


def rule(**fields: object) -> EscalationRule:
    fields.setdefault("action", NOTIFY)
    fields.setdefault("level", 1)
    condition = fields.pop("condition", EVERY_CASE)
    return EscalationRule(condition, **fields)  # type: ignore[arg-type]


# --- when a rule triggers --------------------------------------------------------------


def test_after_counts_from_the_opening() -> None:
    case, _ = case_at()
    assert rule(after=2 * HOUR).first_due(case, before=T0.add(days=1)) == T0.add(hours=2)
    assert rule(after=2 * HOUR).first_due(case, before=T0.add(hours=2)) is None
    assert rule().first_due(case, before=T0.add(minutes=1)) == T0  # no trigger: at once


def test_time_on_hold_does_not_count_and_nothing_is_due_on_hold() -> None:
    case, _ = case_at()
    case = case.advance("open", at=T0).advance("hold", at=T0.add(hours=1))
    case = case.advance("resume", at=T0.add(hours=4))
    # One hour counted before the hold, one more after it.
    assert rule(after=2 * HOUR).first_due(case, before=T0.add(days=1)) == T0.add(hours=5)
    # Breached during the hold: escalated when the hold ends.
    statuses = ONE_HOUR.evaluate(case, at=T0.add(days=1))
    assert statuses[0].breached_at == T0.add(hours=1)
    breached = rule(on_breach=Metric.FIRST_RESPONSE)
    assert breached.first_due(case, before=T0.add(days=1), statuses=statuses) == T0.add(hours=4)
    still_held = case_at()[0].advance("open", at=T0).advance("hold", at=T0.add(minutes=30))
    assert rule(after=2 * HOUR).first_due(still_held, before=T0.add(days=30)) is None


def test_after_counts_only_while_the_case_matches() -> None:
    case, _ = case_at(priority="normal")
    case = case.reprioritize("urgent", at=T0.add(hours=3))
    urgent = rule(condition=URGENT, after=HOUR)
    assert urgent.first_due(case, before=T0.add(days=1)) == T0.add(hours=4)
    case = case.reprioritize("high", at=T0.add(hours=3, minutes=30))
    case = case.reprioritize("urgent", at=T0.add(hours=5))
    assert urgent.first_due(case, before=T0.add(days=1)) == T0.add(hours=5, minutes=30)


def test_on_breach_waits_for_the_breach_and_the_condition() -> None:
    case, _ = case_at()
    statuses = ONE_HOUR.evaluate(case, at=T0.add(days=1))
    breached = rule(on_breach=Metric.FIRST_RESPONSE)
    assert breached.first_due(case, before=T0.add(days=1), statuses=statuses) == T0.add(hours=1)
    # Not breached, or breached on another metric: never.
    assert breached.first_due(case, before=T0.add(days=1)) is None
    late = rule(on_breach=Metric.RESOLUTION)
    assert late.first_due(case, before=T0.add(days=1), statuses=statuses) is None
    # Breached, and urgent only later: escalated when it becomes urgent.
    urgent = case.reprioritize("urgent", at=T0.add(hours=6))
    both = rule(condition=URGENT, on_breach=Metric.FIRST_RESPONSE)
    assert both.first_due(urgent, before=T0.add(days=1), statuses=statuses) == T0.add(hours=6)
    # Both a time limit and a breach: the later of the two.
    slow = rule(on_breach=Metric.FIRST_RESPONSE, after=3 * HOUR)
    assert slow.first_due(case, before=T0.add(days=1), statuses=statuses) == T0.add(hours=3)


def test_a_solved_case_is_not_escalated() -> None:
    case, _ = case_at()
    case = case.advance("solve", at=T0.add(minutes=30))
    assert rule(after=HOUR).first_due(case, before=T0.add(days=9)) is None


def test_bad_rules_name_their_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        EscalationRule(
            "urgent",  # type: ignore[arg-type]
            after=-HOUR,
            on_breach="speed",  # type: ignore[arg-type]
            action="shout",  # type: ignore[arg-type]
            level=0,
        )
    fields = [p.path for p in caught.value.problems]
    assert fields == ["condition", "after", "on_breach", "action", "level"]
    with pytest.raises(ValidationError, match="fixed length"):
        rule(after=pendulum.duration(months=1))
    case, _ = case_at()
    with pytest.raises(ValidationError) as caught:
        rule().first_due(case, before=dt.datetime(2026, 3, 3))
    assert caught.value.field == "before"
    with pytest.raises(ValidationError) as caught:
        rule().first_due(case, before=T0.add(days=1), statuses=["breached"])  # type: ignore[list-item]
    assert caught.value.field == "statuses"


def test_a_rule_reads_and_writes_as_data() -> None:
    urgent = rule(condition=URGENT, after=HOUR, on_breach="resolution", action="reassign", level=2)
    assert to_dict(urgent) == {
        "condition": {"field": "priority", "op": "==", "value": "urgent"},
        "after": "PT1H",
        "on_breach": "resolution",
        "action": "reassign",
        "level": 2,
    }
    assert from_dict(EscalationRule, to_dict(urgent)) == urgent


# --- what the planner proposes ---------------------------------------------------------


def test_the_planner_proposes_each_rules_escalation_once_with_its_reason() -> None:
    case, _ = case_at(priority="urgent")
    notify = rule(on_breach=Metric.FIRST_RESPONSE, action="notify", level=1)
    reassign = rule(condition=URGENT, after=4 * HOUR, action="reassign", level=2)
    window = {"window_start": T0, "window_end": T0.add(days=1)}
    plan = plan_follow_ups([], [], [case], sla=ONE_HOUR, escalations=[notify, reassign], **window)
    assert [(f.kind, f.due_at, f.rule, f.metric) for f in plan] == [
        (FollowUpKind.ESCALATION, T0.add(hours=1), notify, Metric.FIRST_RESPONSE),
        (FollowUpKind.ESCALATION, T0.add(hours=4), reassign, None),
    ]
    assert plan[0].why == (
        "Level 1 escalation: its first response target has breached. "
        "Proposed: notify those who watch this level."
    )
    assert plan[1].why == (
        "Level 2 escalation: it has matched the rule for 4 hours, not counting time on "
        "hold. Proposed: reassign the case."
    )
    # The next day's window proposes neither again.
    later = {"window_start": T0.add(days=1), "window_end": T0.add(days=2)}
    assert plan_follow_ups([], [], [case], sla=ONE_HOUR, escalations=[notify], **later) == ()


def test_a_higher_level_is_proposed_by_its_own_trigger_only() -> None:
    case, _ = case_at(priority="normal")
    first = rule(after=HOUR, level=1)
    second = rule(condition=URGENT, after=HOUR, level=2)
    window = {"window_start": T0, "window_end": T0.add(days=2)}
    (only,) = plan_follow_ups([], [], [case], escalations=[first, second], **window)
    assert only.rule == first


# --- properties ------------------------------------------------------------------------

STOPPED = SlaPolicies(
    [SlaPolicy("Stopped", Condition.where("status", "in", ["on_hold", "solved", "closed"]))]
)
"""Selects a case only while it is on hold, solved or closed."""


SHORT_PROMISES = cst.sla_policy_sets(policies=cst.sla_policies(max_within=dt.timedelta(days=2)))


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(cst.cases(), min_size=1, max_size=3, unique_by=lambda c: c.id),
    rules=st.lists(cst.escalation_rules(max_after=dt.timedelta(days=3)), min_size=1, max_size=3),
    sla=SHORT_PROMISES,
    offset=st.timedeltas(dt.timedelta(days=-1), dt.timedelta(days=3)),
    days=st.integers(1, 30),
)
def test_every_escalation_is_due_when_its_trigger_holds_never_on_hold(
    cases: list[Case],
    rules: list[EscalationRule],
    sla: SlaPolicies,
    offset: dt.timedelta,
    days: int,
) -> None:
    start = cases[0].opened_at + offset
    end = start.add(days=days)
    plan = plan_follow_ups(
        [], [], cases, window_start=start, window_end=end, sla=sla, escalations=rules
    )
    by_id = {c.id: c for c in cases}
    for follow_up in plan:
        if follow_up.kind is not FollowUpKind.ESCALATION:
            continue  # the policies' status updates and warnings
        case, due, escalation = by_id[follow_up.record_id], follow_up.due_at, follow_up.rule
        assert escalation is not None
        assert start <= due < end
        # Open, not on hold, and matching the rule at that instant.
        assert STOPPED.select(case, at=due) is None
        assert SlaPolicies([SlaPolicy("Rule", escalation.condition)]).select(case, at=due)
        # What was known at the due instant already gives the same instant (a target
        # breached at an instant is reported breached just after it).
        just_after = due + dt.timedelta(microseconds=1)
        known = sla.evaluate(case, at=just_after)
        assert escalation.first_due(case, before=just_after, statuses=known) == due
        if escalation.on_breach is not None:
            (breached,) = [s for s in known if s.metric is escalation.on_breach]
            assert breached.state is TargetState.BREACHED
            assert breached.breached_at is not None
            assert breached.breached_at <= due
