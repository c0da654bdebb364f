"""Every public value pickles and deep-copies to an equal value, and stays read-only.

Pickling is how values cross a process boundary (``ProcessPoolExecutor``,
``multiprocessing``, task queues), so a value that cannot be pickled cannot be
returned from a worker.
"""

from __future__ import annotations

import copy
import datetime as dt
import multiprocessing
import pickle
import uuid
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import (
    CUSTOMER_LIFECYCLE,
    SATISFACTION_10,
    Channel,
    ConcurrencyError,
    Customer,
    CustomerStage,
    DuplicateError,
    Factor,
    Feedback,
    FixedClock,
    History,
    Interaction,
    InvalidTransition,
    Metric,
    NotFound,
    ServiceTarget,
    StateChange,
    ValidationError,
)
from custservice.analytics import (
    FollowUpPolicy,
    GroupBy,
    HealthWeights,
    health,
    plan_follow_ups,
    scorecard,
)
from custservice.errors import BackendNotFound
from custservice.testing import strategies as cst

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
TARGETS = (
    ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1)),
    ServiceTarget(Metric.RESOLUTION, pendulum.duration(days=2)),
)


def assert_round_trips(value: object) -> None:
    """``value`` survives every pickle protocol, ``copy.copy`` and ``copy.deepcopy``."""
    for protocol in PROTOCOLS:
        back = pickle.loads(pickle.dumps(value, protocol))
        assert type(back) is type(value)
        assert back == value
    for copied in (copy.copy(value), copy.deepcopy(value)):
        assert type(copied) is type(value)
        assert copied == value


def assert_read_only(mapping: Mapping[Any, Any]) -> None:
    key = next(iter(mapping), "any key")
    before = dict(mapping)
    with pytest.raises(TypeError):
        mapping[key] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        del mapping[key]  # type: ignore[attr-defined]
    assert dict(mapping) == before


HEALTH_WEIGHTS = st.builds(
    HealthWeights,
    quiet=st.floats(0, 50),
    quiet_after=cst.durations(dt.timedelta(days=2000)),
    stage=st.dictionaries(st.sampled_from(CustomerStage), st.floats(-50, 50)),
    champion_after=st.integers(1, 5),
)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        cst.customers(),
        cst.interactions(),
        cst.cases(),
        cst.feedback(),
        cst.calendars(),
        cst.service_targets(),
        cst.target_statuses(),
        cst.expectations(),
        cst.expectation_bands(),
        cst.score_scales(),
        cst.lifecycles(),
        cst.customer_records(),
        cst.durations(),
        cst.aware_datetimes(),
        cst.ids(),
        HEALTH_WEIGHTS,
        st.builds(FollowUpPolicy, win_back_delay=cst.durations()),
    )
)
def test_every_value_the_strategies_draw_round_trips(value: object) -> None:
    assert_round_trips(value)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_lifecycle_states_round_trip(data: st.DataObject) -> None:
    lifecycle = data.draw(st.just(CUSTOMER_LIFECYCLE) | cst.lifecycles())
    state = data.draw(cst.lifecycle_states(lifecycle))
    assert_round_trips(state)
    back = pickle.loads(pickle.dumps((lifecycle, state)))
    assert back == (lifecycle, state)
    # the copy works as the original does
    assert back[0].allowed(back[1]) == lifecycle.allowed(state)


@settings(max_examples=40, deadline=None)
@given(st.data(), cst.feedback())
def test_feedback_and_an_interaction_with_it_round_trip_read_only(
    data: st.DataObject, fb: Feedback
) -> None:
    interaction = data.draw(cst.interactions())
    fb = Feedback(
        fb.score,
        fb.scale,
        at=interaction.opened_at.add(hours=data.draw(st.integers(0, 1000))),
        comment=fb.comment,
        ratings=fb.ratings,
    )
    interaction = interaction.record_feedback(fb)
    for value in (fb, interaction):
        assert_round_trips(value)
    for protocol in PROTOCOLS:
        back = pickle.loads(pickle.dumps(interaction, protocol))
        assert back.feedback is not None
        assert back.feedback.ratings == fb.ratings
        assert_read_only(back.feedback.ratings)
    assert_read_only(fb.ratings)
    assert_read_only(copy.deepcopy(fb).ratings)
    # still a mapping like any other: equal to a dict either way round
    plain = dict(fb.ratings)
    assert fb.ratings == plain
    assert plain == fb.ratings
    assert list(fb.ratings.items()) == list(plain.items())


@settings(max_examples=30, deadline=None)
@given(cst.customer_records(), cst.aware_datetimes(), st.sampled_from([None, *GroupBy]))
def test_scorecards_round_trip_read_only(
    records: tuple[list[Any], list[Any], list[Any]],
    at: pendulum.DateTime,
    by: GroupBy | None,
) -> None:
    people, interactions, cases = records
    card = scorecard(interactions, cases, by=by, targets=TARGETS, at=at, customers=people)
    assert_round_trips(card)
    for value in (card, copy.deepcopy(card), pickle.loads(pickle.dumps(card))):
        for mapping in (value.factor_verdicts, value.targets, value.groups):
            assert_read_only(mapping)
        for group in value.groups.values():
            assert_read_only(group.factor_verdicts)
    assert hash(copy.deepcopy(card)) == hash(card)


@settings(max_examples=30, deadline=None)
@given(st.data(), cst.customers(), HEALTH_WEIGHTS, cst.aware_datetimes())
def test_health_results_and_weights_round_trip_read_only(
    data: st.DataObject, customer: Any, weights: HealthWeights, at: pendulum.DateTime
) -> None:
    interactions = data.draw(st.lists(cst.interactions(customer_id=customer.id), max_size=4))
    cases = data.draw(st.lists(cst.cases(customer_id=customer.id), max_size=2))
    result = health(customer, interactions, cases, at=at, targets=TARGETS, weights=weights)
    for value in (result, weights):
        assert_round_trips(value)
    for value in (weights, copy.deepcopy(weights), pickle.loads(pickle.dumps(weights))):
        assert_read_only(value.stage)
    assert hash(copy.deepcopy(weights)) == hash(weights)
    plan = plan_follow_ups(
        [customer], interactions, cases, window_start=at, window_end=at.add(days=40)
    )
    assert_round_trips(plan)


def test_errors_round_trip_with_their_details() -> None:
    some_id = uuid.UUID(int=7)
    try:
        CUSTOMER_LIFECYCLE.fire(
            CUSTOMER_LIFECYCLE.start(pendulum.datetime(2026, 1, 5)),
            "churn",
            at=pendulum.datetime(2026, 1, 6),
        )
    except InvalidTransition as exc:
        refused = exc
    errors: list[Exception] = [
        ValidationError("must be at least 1", field="champion_after"),
        NotFound("customer", some_id),
        DuplicateError("case", some_id),
        ConcurrencyError("case", some_id, 2, 3),
        BackendNotFound("ftp", ["memory", "sqlite"]),
        refused,
    ]
    for error in errors:
        for protocol in PROTOCOLS:
            for back in (pickle.loads(pickle.dumps(error, protocol)), copy.deepcopy(error)):
                assert type(back) is type(error)
                assert str(back) == str(error)
                assert back.args == error.args
                assert vars(back) == vars(error)


# --- across a process boundary -------------------------------------------------------

AT = pendulum.datetime(2026, 3, 2, 9, tz="Europe/London")


def test_values_cross_a_process_pool() -> None:
    """Library functions run in a worker: their arguments, results and errors are pickled."""
    fb = Feedback(
        9, SATISFACTION_10, at=AT, comment="quick", ratings={Factor.SPEED: 6, Factor.ATTITUDE: 10}
    )
    clock = FixedClock(AT.subtract(days=3))
    ada = Customer.new("Ada", clock=clock).advance("acquire", at=clock.now())
    call = Interaction.open(ada.id, Channel.PHONE, clock=clock)
    call = call.advance("receive", at=clock.now()).record_feedback(fb)
    weights = HealthWeights(quiet_after=pendulum.duration(days=400))
    values = {"feedback": fb, "interaction": call, "weights": weights}
    context = multiprocessing.get_context("spawn")  # everything crosses as a pickle
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        echoed = pool.submit(copy.copy, values).result(timeout=120)
        card = pool.submit(scorecard, [call], by=GroupBy.CHANNEL).result(timeout=120)
        result = pool.submit(health, ada, [call], at=AT, weights=weights).result(timeout=120)
        refused = pool.submit(CUSTOMER_LIFECYCLE.fire, ada.lifecycle, "acquire", at=AT).exception(
            timeout=120
        )
    assert echoed == values
    assert card == scorecard([call], by=GroupBy.CHANNEL)
    assert result == health(ada, [call], at=AT, weights=weights)
    assert isinstance(refused, InvalidTransition)
    assert (refused.state, refused.event) == (CustomerStage.NEW, "acquire")
    back = echoed["feedback"]
    assert isinstance(back, Feedback)
    assert_read_only(back.ratings)
    assert_read_only(card.factor_verdicts)


def test_histories_pickled_under_their_former_name_still_load() -> None:
    """Histories were pickled as ``custservice.lifecycle._restored(entries)``; those load."""
    entries = [("acquire", "prospect", "new", AT, None), ("retain", "new", "active", AT, "kept")]
    args = pickle.dumps((entries,), 0)[:-1]  # without its STOP: the arguments of a call
    old = b"ccustservice.lifecycle\n_restored\n" + args + b"R."
    history = pickle.loads(old)
    assert history == History(
        [
            StateChange("acquire", "prospect", "new", AT),
            StateChange("retain", "new", "active", AT, "kept"),
        ]
    )
    assert pickle.loads(pickle.dumps(history)) == history
