"""The report by a desk's rules: its follow-ups are what the planner plans under the same
SLA policies, escalation rules and survey policy; it counts attainment per policy; and a
SQL store reports the same from its database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh, Records, fill
from tests.test_report_sql import OFFSETS, instants

from custservice import (
    EscalationRule,
    Metric,
    SlaPolicies,
    Store,
    SurveyPolicy,
    TargetState,
    open_store,
)
from custservice.analytics import FollowUpKind, plan_follow_ups
from custservice.report import build_report, render_html, render_text
from custservice.simulation import DEMO_ESCALATIONS, DEMO_POLICIES, DEMO_SURVEY, simulate
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

RULES = {"sla": DEMO_POLICIES, "escalations": DEMO_ESCALATIONS, "survey": DEMO_SURVEY}


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Store, pendulum.DateTime]]:
    """The demo's simulation of 120 customers over six months, in memory."""
    with open_store("memory://") as store:
        yield store, simulate(store, customers=120, months=6, seed=7).ended_at


def test_the_follow_ups_are_what_the_planner_plans_by_the_same_rules(
    demo: tuple[Store, pendulum.DateTime],
) -> None:
    store, ended = demo
    kinds: set[FollowUpKind] = set()
    for at in (ended, ended.subtract(days=45), ended.subtract(days=100)):
        report = build_report(store, at=at, **RULES)
        planned = plan_follow_ups(store, window_start=at, window_end=at.add(days=7), **RULES)
        assert report.follow_ups == planned
        kinds |= {f.kind for f in planned}
    assert kinds >= {
        FollowUpKind.FEEDBACK_REQUEST,
        FollowUpKind.FEEDBACK_REMINDER,
        FollowUpKind.STATUS_UPDATE,
        FollowUpKind.TARGET_WARNING,
        FollowUpKind.ESCALATION,
    }


def attainment_by_hand(
    store: Store, at: pendulum.DateTime, sla: SlaPolicies
) -> dict[object, Counter[object]]:
    """Per policy name, the cases opened in the 30 days to ``at`` under it then, and each
    metric's states, by the public API."""
    found: dict[object, Counter[object]] = {}
    for case in store.cases.all():
        if case.merged_into is not None or not at - dt.timedelta(days=30) <= case.opened_at <= at:
            continue
        policy = sla.select(case, at=at)
        counts = found.setdefault(None if policy is None else policy.name, Counter())
        counts["cases"] += 1
        for status in sla.evaluate(case, at=at):
            not_due = status.state is TargetState.ACHIEVED and status.started_at is None
            counts[status.metric, "not due" if not_due else status.state] += 1
    return found


def test_attainment_per_policy_counts_each_case_under_the_policy_that_applies(
    demo: tuple[Store, pendulum.DateTime],
) -> None:
    store, ended = demo
    report = build_report(store, at=ended, **RULES)
    expected = attainment_by_hand(store, ended, DEMO_POLICIES)
    assert [p.name for p in report.policies] == ["Urgent", "Normal"]
    for policy in report.policies:
        counts = expected[policy.name]
        assert policy.cases == counts["cases"] > 0
        for metric, t in policy.targets.items():
            assert (t.achieved, t.breached, t.active, t.paused, t.not_due) == (
                counts[metric, TargetState.ACHIEVED],
                counts[metric, TargetState.BREACHED],
                counts[metric, TargetState.ACTIVE],
                counts[metric, TargetState.PAUSED],
                counts[metric, "not due"],
            )
            assert t.attainment == pytest.approx(100 * t.achieved / (t.achieved + t.breached))
    assert sum(p.cases for p in report.policies) == sum(c["cases"] for c in expected.values())


def test_the_renderers_show_attainment_per_policy(demo: tuple[Store, pendulum.DateTime]) -> None:
    store, ended = demo
    report = build_report(store, at=ended, **RULES)
    text = render_text(report)
    section = text.split("\nAttainment per SLA policy", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[1].split() == [
        "Policy",
        "Cases",
        "First",
        "response",
        "Periodic",
        "update",
        "Resolution",
    ]
    urgent = report.policies[0]
    assert section[2].split() == [
        "Urgent",
        str(urgent.cases),
        *(
            f"{urgent.targets[m].attainment:.1f}%"
            for m in (Metric.FIRST_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)
        ),
    ]
    page = render_html(report)
    assert page.count("<table>") == 5
    assert '<td data-label="Policy">Urgent</td>' in page
    # Without SLA policies there is no such section.
    plain = build_report(store, at=ended)
    assert plain.policies == ()
    assert "Attainment per SLA policy" not in render_text(plain) + render_html(plain)


def test_the_demo_reports_by_its_rules_alike_from_every_engine(
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
        for at in (ended, ended.subtract(days=40)):
            streamed = build_report(memory, at=at, **RULES)
            assert build_report(store, at=at, **RULES) == streamed


# Each example fills a database and builds two reports: few, on SQLite only (the demo's
# test above runs every engine, and the choice of interactions in SQL is checked on each
# in test_analytics_sql_counts).
@settings(
    max_examples=min(4, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=cst.customer_records(max_customers=4, max_interactions=4, max_cases=3),
    data=st.data(),
    sla=cst.sla_policy_sets(policies=cst.sla_policies(max_within=dt.timedelta(days=3))),
    escalations=st.lists(cst.escalation_rules(), max_size=2),
    survey=cst.survey_policies(),
)
def test_a_sql_store_reports_by_any_rules_what_streaming_reports(
    tmp_path: Path,
    records: Records,
    data: st.DataObject,
    sla: SlaPolicies,
    escalations: list[EscalationRule],
    survey: SurveyPolicy,
) -> None:
    at = data.draw(st.sampled_from(instants(records))) + data.draw(OFFSETS)
    path = tmp_path / f"{uuid.uuid4()}.db"
    with open_store("memory://") as memory, open_store(f"sqlite:///{path}") as store:
        rules = {"sla": sla, "escalations": escalations, "survey": survey}
        streamed = build_report(fill(memory, records), at=at, **rules)  # type: ignore[arg-type]
        assert build_report(fill(store, records), at=at, **rules) == streamed  # type: ignore[arg-type]
        window = {"window_start": streamed.at, "window_end": streamed.at.add(days=7)}
        assert streamed.follow_ups == plan_follow_ups(memory, **window, **rules)  # type: ignore[arg-type]
