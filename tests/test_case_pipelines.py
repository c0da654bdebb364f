"""Cases on a desk's own pipeline: each state filed under a CaseStatus, which is all that
service targets and analytics read."""

from __future__ import annotations

import enum
import json
import uuid
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custservice import (
    CASE_LIFECYCLE,
    CASE_PIPELINE,
    Case,
    CasePipeline,
    CaseStatus,
    FixedClock,
    InvalidTransition,
    Lifecycle,
    LifecycleDefinitionError,
    LifecycleState,
    Metric,
    ServiceTarget,
    StateChange,
    TargetState,
    Transition,
    ValidationError,
    from_dict,
    from_json,
    open_store,
    to_dict,
    to_json,
)
from custservice.analytics import health, plan_follow_ups, scorecard
from custservice.testing import strategies as cst


class Returns(enum.StrEnum):
    RECEIVED = "received"
    INSPECTING = "inspecting"
    AWAITING_PARTS = "awaiting_parts"
    REFUNDED = "refunded"
    CLOSED = "closed"


R = Returns
RETURNS = CasePipeline(
    Lifecycle(
        "test-returns",
        initial=R.RECEIVED,
        transitions=[
            Transition("inspect", R.RECEIVED, R.INSPECTING),
            Transition("order_parts", R.INSPECTING, R.AWAITING_PARTS),
            Transition("parts_arrived", R.AWAITING_PARTS, R.INSPECTING),
            Transition("refund", [R.INSPECTING, R.AWAITING_PARTS], R.REFUNDED),
            Transition("close", R.REFUNDED, R.CLOSED),
        ],
        final=[R.CLOSED],
    ),
    {
        R.RECEIVED: CaseStatus.NEW,
        R.INSPECTING: CaseStatus.OPEN,
        R.AWAITING_PARTS: CaseStatus.ON_HOLD,
        R.REFUNDED: CaseStatus.SOLVED,
        R.CLOSED: CaseStatus.CLOSED,
    },
)
T0 = pendulum.datetime(2026, 3, 2, 9)
HOUR = pendulum.duration(hours=1)


def returned() -> tuple[Case, FixedClock]:
    clock = FixedClock(T0)
    return Case.open(uuid.uuid4(), "Broken kettle", clock=clock, pipeline=RETURNS), clock


# --- the definition ---------------------------------------------------------------------


def test_every_state_must_have_a_status() -> None:
    with pytest.raises(LifecycleDefinitionError, match="'closed' has no CaseStatus"):
        CasePipeline(RETURNS.lifecycle, {s: "open" for s in Returns if s is not R.CLOSED})


def test_a_category_must_be_a_case_status_and_a_key_a_state() -> None:
    with pytest.raises(LifecycleDefinitionError) as caught:
        CasePipeline(RETURNS.lifecycle, {**RETURNS.categories, R.REFUNDED: "done", "gone": "open"})
    assert "'done' is not a CaseStatus" in str(caught.value)
    assert "'gone' is not a state" in str(caught.value)


def test_the_built_in_name_is_taken() -> None:
    fake = Lifecycle("case", initial="a", transitions=[Transition("go", "a", "b")])
    with pytest.raises(LifecycleDefinitionError, match="built-in"):
        CasePipeline(fake, {"a": "open", "b": "closed"})
    assert CASE_PIPELINE.lifecycle is CASE_LIFECYCLE
    assert all(CASE_PIPELINE.category(s) is s for s in CaseStatus)


def test_opening_needs_a_pipeline() -> None:
    with pytest.raises(ValidationError) as caught:
        Case.open(uuid.uuid4(), "x", clock=FixedClock(T0), pipeline=RETURNS.lifecycle)  # type: ignore[arg-type]
    assert caught.value.field == "pipeline"


# --- a case on it -----------------------------------------------------------------------


def test_state_is_the_pipelines_and_status_its_category() -> None:
    case, clock = returned()
    assert (case.state, case.status) == (R.RECEIVED, CaseStatus.NEW)
    case = case.advance("inspect", at=clock.advance(HOUR))
    case = case.advance("order_parts", at=clock.advance(HOUR))
    assert (case.state, case.status) == (R.AWAITING_PARTS, CaseStatus.ON_HOLD)
    with pytest.raises(InvalidTransition, match="allowed"):
        case.advance("solve", at=clock.now())  # the built-in lifecycle's event
    closed = case.advance("refund", at=clock.advance(HOUR)).advance("close", at=clock.now())
    assert closed.status is CaseStatus.CLOSED
    with pytest.raises(ValidationError) as caught:
        closed.record_update(at=clock.now())
    assert caught.value.field == "status"


def test_the_clock_pauses_in_the_states_filed_under_a_pausing_status() -> None:
    case, clock = returned()
    case = case.advance("inspect", at=clock.advance(HOUR))
    case = case.advance("order_parts", at=clock.advance(HOUR))
    target = ServiceTarget(
        Metric.RESOLUTION, pendulum.duration(hours=4), paused_in={CaseStatus.ON_HOLD}
    )
    waiting = target.evaluate(case, at=clock.advance(pendulum.duration(hours=10)))
    assert waiting.state is TargetState.PAUSED
    assert waiting.elapsed == pendulum.duration(hours=2)
    case = case.advance("refund", at=clock.now())
    assert target.evaluate(case, at=clock.advance(HOUR)).state is TargetState.ACHIEVED


def test_a_record_stored_before_pipelines_reads_with_the_defaults() -> None:
    clock = FixedClock(T0)
    case = Case.open(uuid.uuid4(), "Refund", clock=clock).advance("open", at=clock.now())
    data = to_dict(case)
    old = {k: v for k, v in data.items() if k not in ("pipeline", "links", "merges")}
    assert from_dict(Case, old) == case
    assert from_json(Case, json.dumps(old)).pipeline is CASE_PIPELINE


def test_an_unknown_pipeline_or_a_state_of_another_is_refused() -> None:
    case, clock = returned()
    case = case.advance("inspect", at=clock.advance(HOUR))
    data = to_dict(case)
    assert data["pipeline"] == "test-returns"
    with pytest.raises(ValidationError) as caught:
        from_dict(Case, {**data, "pipeline": "no-such-desk"})
    assert caught.value.field == "$.pipeline"
    with pytest.raises(ValidationError) as caught:
        from_dict(Case, {**data, "pipeline": "case"})  # "inspect" is not a case event
    assert caught.value.field.startswith("$.lifecycle")


@given(cst.cases())
def test_every_generated_case_round_trips_exactly(case: Case) -> None:
    assert from_dict(Case, to_dict(case)) == case
    assert from_json(Case, to_json(case)) == case
    assert case.status is case.pipeline.category(case.state) or case.merged_into is not None


def test_every_store_keeps_a_pipelines_case() -> None:
    case, clock = returned()
    case = case.advance("inspect", at=clock.advance(HOUR))
    for url in ("memory://", "sqlite:///:memory:"):
        with open_store(url) as store:
            from custservice import Customer

            ada = store.customers.add(Customer.new("Ada", clock=clock))
            stored = store.cases.add(attrs.evolve(case, customer_id=ada.id))
            assert store.cases.get(case.id) == stored
            assert stored.pipeline is RETURNS


# --- nothing reads the raw state --------------------------------------------------------


def relabelled(pipeline: CasePipeline) -> CasePipeline:
    """The same pipeline with every state renamed: only the categories stay."""

    def f(state: Any) -> str:
        return f"x-{state.value if isinstance(state, enum.Enum) else state}"

    lc = pipeline.lifecycle
    return CasePipeline(
        Lifecycle(
            f"{lc.name}-relabelled",
            initial=f(lc.initial),
            transitions=[
                Transition(t.event, [f(s) for s in t.sources], f(t.target)) for t in lc.transitions
            ],
            final=[f(s) for s in lc.final],
        ),
        {f(s): c for s, c in pipeline.categories.items()},
    )


def moved(case: Case, pipeline: CasePipeline) -> Case:
    """``case`` on the relabelled ``pipeline``, with the same history."""

    def f(state: Any) -> str:
        return f"x-{state.value if isinstance(state, enum.Enum) else state}"

    lc = case.lifecycle
    history = [StateChange(c.event, f(c.source), f(c.target), c.at, c.reason) for c in lc.history]
    return attrs.evolve(
        case, pipeline=pipeline, lifecycle=LifecycleState(f(lc.current), lc.since, history)
    )


TARGETS = (
    ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=4)),
    ServiceTarget(Metric.RESOLUTION, pendulum.duration(days=2), paused_in={CaseStatus.ON_HOLD}),
    ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=1)),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(cst.cases(), min_size=1, max_size=4, unique_by=lambda c: c.id),
    cst.durations(),
)
def test_targets_and_analytics_read_only_the_status(
    cases: list[Case], offset: pendulum.Duration
) -> None:
    others = [moved(c, relabelled(c.pipeline)) for c in cases]
    for case, other in zip(cases, others, strict=True):
        at = case.opened_at + offset
        assert ServiceTarget.evaluate_many(TARGETS, case, at=at) == (
            ServiceTarget.evaluate_many(TARGETS, other, at=at)
        )
        assert other.status is case.status
    at = max(c.opened_at for c in cases) + offset
    assert scorecard([], cases, targets=TARGETS, at=at) == scorecard(
        [], others, targets=TARGETS, at=at
    )
    window = {"window_start": at, "window_end": at + pendulum.duration(days=3)}
    assert plan_follow_ups([], [], cases, targets=TARGETS, **window) == plan_follow_ups(
        [], [], others, targets=TARGETS, **window
    )
    from custservice import Customer

    ada = Customer.new("Ada", clock=FixedClock(min(c.opened_at for c in cases)))
    mine = [attrs.evolve(c, customer_id=ada.id) for c in cases]
    theirs = [attrs.evolve(c, customer_id=ada.id) for c in others]
    assert health(ada, [], mine, at=at, targets=TARGETS) == health(
        ada, [], theirs, at=at, targets=TARGETS
    )


def test_the_json_schema_accepts_the_pipelines_it_is_given() -> None:
    from jsonschema import Draft202012Validator

    from custservice import json_schema

    case, clock = returned()
    payload = json.loads(to_json(case.advance("inspect", at=clock.advance(HOUR))))
    built_in = Draft202012Validator(json_schema(Case))
    assert not built_in.is_valid(payload)
    schema = json_schema(Case, pipelines=[RETURNS, *cst.PIPELINES])
    Draft202012Validator.check_schema(schema)
    with_returns = Draft202012Validator(schema)
    assert with_returns.is_valid(payload)
    assert not with_returns.is_valid({**payload, "pipeline": "repairs"})  # not its states
    plain = json.loads(to_json(Case.open(uuid.uuid4(), "x", clock=clock)))
    assert with_returns.is_valid(plain)
    assert with_returns.is_valid({k: v for k, v in plain.items() if k != "pipeline"})
