"""Linked and merged cases: a merged case takes no changes, unmerging restores it, and no
metric counts a merged case (its work is counted once, under the case it went into)."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from tests import _sql_stores
from tests._sql_stores import Fresh

from custservice import (
    Case,
    CaseLink,
    CaseStatus,
    Customer,
    FixedClock,
    Interaction,
    LinkKind,
    MergeChange,
    Metric,
    ServiceTarget,
    TargetState,
    ValidationError,
    from_dict,
    from_json,
    open_store,
    to_dict,
    to_json,
)
from custservice.analytics import GroupBy, health, plan_follow_ups, scorecard
from custservice.report import build_report
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 3, 2, 9)
HOUR = pendulum.duration(hours=1)
TARGETS = (
    ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=4)),
    ServiceTarget(Metric.RESOLUTION, pendulum.duration(days=2)),
    ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=1)),
)

fresh = _sql_stores.fresh
admin = _sql_stores.admin


def opened() -> tuple[Case, FixedClock]:
    clock = FixedClock(T0)
    case = Case.open(uuid.uuid4(), "Refund", clock=clock).advance("open", at=clock.now())
    return case, clock


def latest(case: Case) -> pendulum.DateTime:
    """The latest instant of any of the case's histories."""
    times = [case.opened_at, case.lifecycle.since]
    for history in (case.updates, case.assignments, case.priority_changes, case.merges):
        times.extend(e.at for e in history[-1:])
    return max(times, key=lambda t: t.timestamp())


# --- links ------------------------------------------------------------------------------


def test_links_of_every_kind_are_kept_once_and_round_trip() -> None:
    case, _ = opened()
    other = uuid.uuid4()
    linked = case.link(other).link(other, "parent").link(other, LinkKind.PARENT)
    assert linked.links == (CaseLink(other, LinkKind.RELATED), CaseLink(other, LinkKind.PARENT))
    assert from_json(Case, to_json(linked)) == linked
    assert linked.unlink(other, "parent").links == (CaseLink(other),)
    assert linked.unlink(other).links == ()
    assert linked.unlink(uuid.uuid4()) is linked


def test_a_link_to_itself_or_of_an_unknown_kind_is_refused() -> None:
    case, _ = opened()
    with pytest.raises(ValidationError) as caught:
        case.link(case.id, "duplicate")
    assert caught.value.field == "case_id"
    with pytest.raises(ValidationError) as caught:
        case.link(uuid.uuid4(), "cousin")
    assert caught.value.field == "kind"
    data = to_dict(case)
    data["links"] = [{"case_id": str(case.id), "kind": "related"}]
    with pytest.raises(ValidationError) as caught:
        from_dict(Case, data)
    assert caught.value.field == "$.links"


# --- merging ----------------------------------------------------------------------------


def test_a_merged_case_is_closed_and_takes_no_changes() -> None:
    case, clock = opened()
    target = uuid.uuid4()
    merged = case.merge_into(target, at=clock.advance(HOUR), reason="same order")
    assert merged.merged_into == target
    assert merged.status is CaseStatus.CLOSED
    assert merged.state is CaseStatus.OPEN  # kept, for unmerging
    at = clock.advance(HOUR)
    refused = [
        lambda: merged.record_update(at=at),
        lambda: merged.assign("ana", at=at),
        lambda: merged.reprioritize("high", at=at),
        lambda: merged.advance("solve", at=at),
        lambda: merged.link(uuid.uuid4()),
        lambda: merged.merge_into(uuid.uuid4(), at=at),
    ]
    for change in refused:
        with pytest.raises(ValidationError) as caught:
            change()
        assert caught.value.field == "merged_into"


def test_merging_into_itself_or_back_in_time_is_refused() -> None:
    case, clock = opened()
    with pytest.raises(ValidationError) as caught:
        case.merge_into(case.id, at=clock.now())
    assert caught.value.field == "target_id"
    updated = case.record_update(at=clock.advance(HOUR))
    with pytest.raises(ValidationError) as caught:
        updated.merge_into(uuid.uuid4(), at=T0)
    assert caught.value.field == "at"
    with pytest.raises(ValidationError) as caught:
        case.unmerge(at=clock.now())
    assert caught.value.field == "merged_into"


def test_unmerging_restores_the_case_and_the_history_shows_both() -> None:
    case, clock = opened()
    case = case.advance("await_customer", at=clock.advance(HOUR))
    target = uuid.uuid4()
    merged = case.merge_into(target, at=clock.advance(HOUR))
    back = merged.unmerge(at=clock.advance(HOUR), reason="not the same order")
    assert back.merged_into is None
    assert (back.state, back.status) == (CaseStatus.PENDING, CaseStatus.PENDING)
    assert back.merges == (
        MergeChange(T0 + 2 * HOUR, target),
        MergeChange(T0 + 3 * HOUR, None, reason="not the same order"),
    )
    assert from_json(Case, to_json(back)) == back
    with pytest.raises(ValidationError) as caught:
        back.record_update(at=T0 + 2 * HOUR)  # inside the merged stretch
    assert caught.value.field == "at"
    assert back.advance("resume", at=clock.now()).status is CaseStatus.OPEN


def test_a_stored_history_of_merges_must_be_consistent() -> None:
    case, clock = opened()
    merged = case.merge_into(uuid.uuid4(), at=clock.advance(HOUR))
    data = to_dict(merged)
    twice = {**data, "merges": data["merges"] * 2}
    with pytest.raises(ValidationError, match="alternate"):
        from_dict(Case, twice)
    changed = to_dict(case.record_update(at=T0 + 2 * HOUR))
    changed["merges"] = data["merges"]  # merged at T0 + 1h, updated at T0 + 2h
    with pytest.raises(ValidationError, match="changed while it was merged"):
        from_dict(Case, changed)


def test_the_clock_of_a_merged_case_stops_at_the_merge() -> None:
    case, clock = opened()
    merged = case.merge_into(uuid.uuid4(), at=clock.advance(HOUR))
    target = ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=4))
    status = target.evaluate(merged, at=clock.advance(pendulum.duration(days=3)))
    assert status.state is TargetState.ACHIEVED
    assert status.elapsed == HOUR
    back = merged.unmerge(at=clock.now())  # the time it spent merged is not counted
    assert target.evaluate(back, at=clock.now()).remaining == pendulum.duration(hours=3)
    later = clock.advance(pendulum.duration(hours=3, minutes=1))
    assert target.evaluate(back, at=later).state is TargetState.BREACHED


# --- metrics never count a merged case ------------------------------------------------


@st.composite
def some_merged(draw: st.DrawFn) -> tuple[list[Customer], list[Interaction], list[Case]]:
    """Customers' records, some of whose cases are merged into another of the cases."""
    customers, interactions, cases = draw(cst.customer_records(max_cases=4))
    out = []
    for case in cases:
        if case.merged_into is None and len(cases) > 1 and draw(st.booleans()):
            into = draw(st.sampled_from([c.id for c in cases if c.id != case.id]))
            case = case.merge_into(into, at=latest(case) + draw(cst.durations()))
        out.append(case)
    return customers, interactions, out


def analyses(
    customers: list[Customer], interactions: list[Interaction], cases: list[Case], at: Any
) -> Any:
    with open_store("memory://") as store:
        store.customers.add_many(customers)
        store.interactions.add_many(interactions)
        store.cases.add_many(cases)
        window = {"window_start": at, "window_end": at + pendulum.duration(days=7)}
        return (
            scorecard(interactions, cases, targets=TARGETS, at=at),
            scorecard(store, by=GroupBy.MONTH, targets=TARGETS, at=at),
            [health(c, store, at=at, targets=TARGETS) for c in customers],
            plan_follow_ups(store, targets=TARGETS, **window),
            build_report(store, at=at, targets=TARGETS),
        )


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(some_merged(), cst.durations())
def test_analytics_equal_those_without_the_merged_cases(
    records: tuple[list[Customer], list[Interaction], list[Case]], offset: pendulum.Duration
) -> None:
    customers, interactions, cases = records
    at = min((c.created_at for c in customers), default=T0) + offset
    kept = [c for c in cases if c.merged_into is None]
    assert analyses(customers, interactions, cases, at) == analyses(
        customers, interactions, kept, at
    )


@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(some_merged(), st.sampled_from([None, GroupBy.MONTH, GroupBy.SEGMENT]))
def test_push_down_equals_streaming_with_merged_cases(
    fresh: Fresh,
    records: tuple[list[Customer], list[Interaction], list[Case]],
    by: GroupBy | None,
) -> None:
    at = pendulum.datetime(2040, 1, 1)
    with fresh() as store:
        _sql_stores.fill(store, records)
        pushed = scorecard(store, by=by, targets=TARGETS, at=at)
        streamed = scorecard(
            store.interactions.all(), store.cases.all(), customers=store, by=by,
            targets=TARGETS, at=at,
        )  # fmt: skip
        assert pushed == streamed
        assert pushed.cases == sum(1 for c in records[2] if c.merged_into is None)


# --- a case's life of links and merges -------------------------------------------------


class MergeLife(RuleBasedStateMachine):
    """Links, merges and unmerges among everyday changes: a merged case refuses every
    change; unmerging gives back the case as it was merged; each version round-trips."""

    @initialize(case=cst.cases())
    def start(self, case: Case) -> None:
        self.case = case.unmerge(at=latest(case)) if case.merged_into else case
        self.clock = FixedClock(latest(self.case))
        self.before_merge: Case | None = None

    @rule(other=cst.ids(), kind=st.sampled_from(LinkKind))
    def link(self, other: uuid.UUID, kind: LinkKind) -> None:
        if self.case.merged_into is not None or other == self.case.id:
            with pytest.raises(ValidationError):
                self.case.link(other, kind)
            return
        self.case = self.case.link(other, kind)
        assert CaseLink(other, kind) in self.case.links

    @rule(step=cst.durations(pendulum.duration(days=3)))
    def update(self, step: pendulum.Duration) -> None:
        at = self.clock.advance(step)
        if self.case.merged_into is not None:
            with pytest.raises(ValidationError) as caught:
                self.case.record_update(at=at)
            assert caught.value.field == "merged_into"
        elif self.case.status is not CaseStatus.CLOSED:
            self.case = self.case.record_update(at=at)

    @rule(event=st.sampled_from(["open", "solve", "reopen", "diagnose", "fix", "accept", "done"]))
    def advance(self, event: str) -> None:
        allowed = self.case.pipeline.lifecycle.allowed(self.case.lifecycle)
        if self.case.merged_into is not None:
            with pytest.raises(ValidationError):
                self.case.advance(event, at=self.clock.now())
        elif event in allowed:
            self.case = self.case.advance(event, at=self.clock.now())

    @rule(assignee=st.sampled_from(["ana", "bo"]))
    def assign(self, assignee: str) -> None:
        if self.case.merged_into is not None:
            with pytest.raises(ValidationError):
                self.case.assign(assignee, at=self.clock.now())
        elif self.case.status is not CaseStatus.CLOSED:
            self.case = self.case.assign(assignee, at=self.clock.now())

    @precondition(lambda self: self.case.merged_into is None)
    @rule(into=cst.ids(), step=cst.durations(pendulum.duration(days=3)))
    def merge(self, into: uuid.UUID, step: pendulum.Duration) -> None:
        if into == self.case.id:
            return
        self.before_merge = self.case
        self.case = self.case.merge_into(into, at=self.clock.advance(step))
        assert self.case.merged_into == into
        assert self.case.status is CaseStatus.CLOSED

    @precondition(lambda self: self.case.merged_into is not None)
    @rule(step=cst.durations(pendulum.duration(days=3)))
    def unmerge(self, step: pendulum.Duration) -> None:
        before = self.before_merge
        assert before is not None
        self.case = self.case.unmerge(at=self.clock.advance(step))
        assert self.case.merges[-2].into is not None
        assert self.case.merges[-1].into is None
        same = attrs.evolve(self.case, merges=before.merges)
        assert same == before  # everything but the history of merges is as it was
        assert self.case.status is before.status

    @invariant()
    def round_trips(self) -> None:
        assert from_json(Case, to_json(self.case)) == self.case


MergeLife.TestCase.settings = settings(
    max_examples=30, stateful_step_count=20, suppress_health_check=[HealthCheck.too_slow]
)
test_merge_life = MergeLife.TestCase
