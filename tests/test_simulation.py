"""The demo's simulation: deterministic, complete, bounded by its period, and a story
in which what customers experience moves them along their lifecycle."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import (
    NPS_SCALE,
    SATISFACTION_10,
    Case,
    CaseStatus,
    Channel,
    CustomerStage,
    Priority,
    ValidationError,
    Verdict,
    open_store,
    to_dict,
)
from custservice.simulation import CHUNK, DEMO_START, DEMO_TEAMS, Simulation, simulate
from custservice.storage.protocols import Store

SEED = 7


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Store, Simulation]]:
    """300 customers over a year, in memory."""
    with open_store("memory://") as store:
        result = simulate(store, customers=300, months=12, seed=SEED)
        yield store, result


def everything(store: Store) -> list[dict[str, object]]:
    return [
        to_dict(record)
        for records in (store.customers.all(), store.interactions.all(), store.cases.all())
        for record in records
    ]


def test_the_same_seed_gives_the_same_records_ids_included() -> None:
    with open_store("memory://") as a, open_store("memory://") as b:
        simulate(a, customers=40, months=4, seed=3)
        simulate(b, customers=40, months=4, seed=3)
        assert everything(a) == everything(b)


def test_another_seed_gives_other_records() -> None:
    with open_store("memory://") as a, open_store("memory://") as b:
        simulate(a, customers=40, months=4, seed=3)
        simulate(b, customers=40, months=4, seed=4)
        ids_a = {r["id"] for r in everything(a)}
        ids_b = {r["id"] for r in everything(b)}
        assert ids_a.isdisjoint(ids_b)


def test_sqlite_receives_exactly_what_memory_does(tmp_path: Path) -> None:
    with open_store("memory://") as memory, open_store(f"sqlite:///{tmp_path / 's.db'}") as sql:
        simulate(memory, customers=30, months=3, seed=5)
        simulate(sql, customers=30, months=3, seed=5)
        assert everything(sql) == everything(memory)


def test_counts_match_the_store(world: tuple[Store, Simulation]) -> None:
    store, result = world
    assert result.customers == store.customers.count() == 300
    assert result.interactions == store.interactions.count() > 300 * 5
    assert result.cases == store.cases.count() > 300
    assert result.ended_at == DEMO_START.add(months=12)


def test_nothing_happens_at_or_after_the_end(world: tuple[Store, Simulation]) -> None:
    store, result = world
    end = result.ended_at.timestamp()
    moments: list[float] = []
    for records in (store.customers.all(), store.interactions.all(), store.cases.all()):
        for record in records:
            moments += [change.at.timestamp() for change in record.lifecycle.history]
            moments.append(record.lifecycle.since.timestamp())
            feedback = getattr(record, "feedback", None)
            if feedback is not None:
                moments.append(feedback.at.timestamp())
            moments += [u.at.timestamp() for u in getattr(record, "updates", ())]
            for history in ("assignments", "priority_changes"):
                moments += [change.at.timestamp() for change in getattr(record, history, ())]
    assert max(moments) < end
    assert min(moments) >= DEMO_START.timestamp()


def test_work_under_way_at_the_end_stays_open(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    statuses = Counter(case.status for case in store.cases.all())
    assert statuses[CaseStatus.CLOSED] > statuses[CaseStatus.SOLVED] > 0
    assert statuses[CaseStatus.OPEN] + statuses[CaseStatus.PENDING] > 0


def test_the_story_has_every_ingredient(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    interactions = list(store.interactions.all())
    assert {i.channel for i in interactions} == set(Channel)
    assert any(i.handoffs for i in interactions)
    assert any(i.wait is not None and i.wait.total_seconds() > 0 for i in interactions)
    scales = Counter(i.feedback.scale for i in interactions if i.feedback is not None)
    assert scales[SATISFACTION_10] > scales[NPS_SCALE] > 0
    verdicts = Counter(i.feedback.verdict for i in interactions if i.feedback is not None)
    assert all(verdicts[v] > 0 for v in Verdict)
    assert any(i.root_cause is not None for i in interactions)
    cases = list(store.cases.all())
    assert any(u.from_customer for c in cases for u in c.updates)
    assert any(change.event == "reopen" for c in cases for change in c.lifecycle.history)
    stages = Counter(c.stage for c in store.customers.all())
    assert all(stages[s] > 0 for s in CustomerStage), stages


def test_the_desk_has_teams_priorities_owners_and_labels(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    cases = list(store.cases.all())
    assert {c.team for c in cases} == set(DEMO_TEAMS)
    opened_at = Counter(
        c.priority_changes[0].previous if c.priority_changes else c.priority for c in cases
    )
    assert all(opened_at[p] > 0 for p in Priority), opened_at
    assert all(Counter(c.priority for c in cases)[p] > 0 for p in Priority)
    # Reassignments within a team and across teams, each kept with who held it and why.
    moved = [c for c in cases if len(c.assignments) > 1]
    assert len(moved) > len(cases) // 10
    assert any(a.team != a.previous_team for c in moved for a in c.assignments[1:])
    assert all(a.reason for c in cases for a in c.assignments)
    reasons = {p.reason for c in cases for p in c.priority_changes}
    assert {
        "the resolution target is due within half a working day",
        "the resolution target was breached",
        "the customer chased it",
    } <= reasons
    assert {"vip", "at-risk", "high-value", "escalated", "reopened"} <= {
        t for c in cases for t in c.tags
    }
    assert all({"product", "order_value"} <= set(c.attributes) for c in cases)
    interactions = list(store.interactions.all())
    assert {i.team for i in interactions if i.topic != "recommendation survey"} == set(DEMO_TEAMS)
    assert any("handed-off" in i.tags for i in interactions)
    # At the end of the period some cases are still open, at more than one priority.
    still_open = [c for c in cases if c.status not in (CaseStatus.SOLVED, CaseStatus.CLOSED)]
    assert len({c.priority for c in still_open}) > 1


def check_desk(case: Case) -> None:
    """How the simulated desk works a case: one of its team's agents holds it, a priority
    only rises, and every change says why."""
    team, assignee = case.team, case.assignee
    if case.assignments:  # it opened in a team, held by nobody
        team, assignee = case.assignments[0].previous_team, None
    assert team in DEMO_TEAMS
    for change in case.assignments:
        assert (change.previous_team, change.previous_assignee) == (team, assignee)
        team, assignee = change.team, change.assignee
        assert team in DEMO_TEAMS
        assert assignee in DEMO_TEAMS[team], change
        assert change.reason
    if case.status is not CaseStatus.NEW:
        assert case.assignments, "a case being worked is held by an agent"
    for change in case.priority_changes:
        assert change.priority > change.previous
        assert change.reason
    assert case.tags  # at least its topic
    value = case.attributes["order_value"]
    assert isinstance(value, float)
    assert value > 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), customers=st.integers(1, 12), months=st.integers(1, 4))
def test_every_simulated_case_is_worked_as_a_desk_works_it(
    seed: int, customers: int, months: int
) -> None:
    with open_store("memory://") as store:
        simulate(store, customers=customers, months=months, seed=seed)
        for case in store.cases.all():
            check_desk(case)


def test_every_record_belongs_to_a_stored_customer(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    ids = {c.id for c in store.customers.all()}
    assert {i.customer_id for i in store.interactions.all()} <= ids
    assert {c.customer_id for c in store.cases.all()} <= ids
    case_ids = {c.id for c in store.cases.all()}
    assert {i.case_id for i in store.interactions.all() if i.case_id} <= case_ids


def dissatisfied_share(store: Store, customer_id: uuid.UUID) -> float | None:
    verdicts = [
        i.feedback.verdict
        for i in store.interactions.for_customer(customer_id)
        if i.feedback is not None and i.feedback.scale == SATISFACTION_10
    ]
    return verdicts.count(Verdict.DISSATISFIED) / len(verdicts) if verdicts else None


def test_dissatisfied_customers_drift_to_risk_and_delighted_ones_to_advocacy(
    world: tuple[Store, Simulation],
) -> None:
    store, _ = world
    flagged, advocates, others = [], [], []
    for customer in store.customers.all():
        share = dissatisfied_share(store, customer.id)
        if share is None:
            continue
        events = {change.event for change in customer.lifecycle.history}
        if "flag_risk" in events:
            flagged.append(share)
        elif "champion" in events:
            advocates.append(share)
        else:
            others.append(share)
    assert len(flagged) > 20
    assert len(advocates) > 20
    assert statistics.mean(flagged) > 2 * statistics.mean(others)
    assert statistics.mean(advocates) < statistics.mean(others)


def test_lifecycle_moves_give_their_reasons(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    reasons: dict[str, set[str | None]] = {}
    for customer in store.customers.all():
        for change in customer.lifecycle.history:
            reasons.setdefault(change.event, set()).add(change.reason)
    assert reasons["flag_risk"] == {"dissatisfied in recent contacts"}
    assert reasons["churn"] == {"left after repeated bad experiences"}
    assert reasons["champion"] == {"delighted, recommends us"}
    assert reasons["win_back"] == {"win-back offer"}
    assert reasons["acquire"] == {None}


def test_only_customers_at_risk_churn(world: tuple[Store, Simulation]) -> None:
    store, _ = world
    churns = [
        change
        for customer in store.customers.all()
        for change in customer.lifecycle.history
        if change.event == "churn"
    ]
    assert churns
    assert {change.source for change in churns} == {CustomerStage.AT_RISK.value}


def test_progress_is_reported_after_each_transaction() -> None:
    calls: list[tuple[int, int]] = []
    with open_store("memory://") as store:
        simulate(store, customers=2 * CHUNK + 7, months=1, progress=lambda *a: calls.append(a))
    total = 2 * CHUNK + 7
    assert calls == [(CHUNK, total), (2 * CHUNK, total), (total, total)]


def test_an_interrupted_run_leaves_whole_customers_behind() -> None:
    class Stop(Exception):
        pass

    def stop_after_first(done: int, total: int) -> None:
        raise Stop

    with open_store("memory://") as store:
        with pytest.raises(Stop):
            simulate(store, customers=3 * CHUNK, months=2, progress=stop_after_first)
        assert store.customers.count() == CHUNK
        ids = {c.id for c in store.customers.all()}
        assert {i.customer_id for i in store.interactions.all()} <= ids


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("customers", {"customers": 0}),
        ("customers", {"customers": True}),
        ("customers", {"customers": 2.5}),
        ("months", {"months": 0}),
        ("months", {"months": "12"}),
    ],
)
def test_bad_sizes_are_refused(field: str, kwargs: dict[str, object]) -> None:
    with open_store("memory://") as store:
        with pytest.raises(ValidationError) as caught:
            simulate(store, **kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
        assert store.customers.count() == 0


def test_each_tenant_is_an_organisation_of_its_own() -> None:
    """With tenants, each gets its share of the customers and its own desk: adding a
    tenant changes nothing of another's records."""
    with open_store("memory://") as both, open_store("memory://") as one:
        result = simulate(both, customers=21, months=2, seed=3, tenants=("a", "b"))
        simulate(one, customers=11, months=2, seed=3, tenants=("a",))
        assert result.customers == both.customers.count() == 21
        assert [both.scoped(t).customers.count() for t in ("a", "b")] == [11, 10]
        assert both.customers.count() == both.scoped("a").customers.count() + 10
        for kind in ("customers", "interactions", "cases"):
            mine = [to_dict(r) for r in getattr(both.scoped("a"), kind).all()]
            assert mine == [to_dict(r) for r in getattr(one.scoped("a"), kind).all()], kind
        with pytest.raises(ValidationError):
            simulate(one, customers=1, months=1, tenants=("x", "y"))
