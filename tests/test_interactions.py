"""Interactions: the cycle, queue wait, handoffs, resolution and feedback."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

import attrs
import pendulum
import pytest
from conftest import allocated
from hypothesis import given

from custservice import (
    NPS_SCALE,
    SATISFACTION_10,
    Channel,
    Factor,
    Feedback,
    FixedClock,
    Handoff,
    Interaction,
    InteractionStage,
    InvalidTransition,
    ServiceArea,
    ValidationError,
    Verdict,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.testing import strategies as cst

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Africa/Lagos"))


def _helping(clock: FixedClock) -> Interaction:
    call = Interaction.open(uuid.uuid4(), Channel.PHONE, clock=clock, agent="ana")
    call = call.advance("receive", at=clock.advance(4 * MINUTE))
    call = call.advance("understand", at=clock.advance(MINUTE))
    return call.advance("help", at=clock.advance(MINUTE))


def test_an_interaction_opens_ready_and_measures_its_queue_wait(clock: FixedClock) -> None:
    call = Interaction.open(uuid.uuid4(), "chat", clock=clock, topic="billing")
    assert call.stage is InteractionStage.READY
    assert call.channel is Channel.CHAT
    assert call.wait is None
    received = call.advance("receive", at=clock.advance(7 * MINUTE))
    assert received.wait == pendulum.duration(minutes=7)
    assert isinstance(received.wait, pendulum.Duration)


def test_first_contact_resolution_needs_no_handoff(clock: FixedClock) -> None:
    call = _helping(clock)
    solved = call.resolve(at=clock.advance(MINUTE))
    assert solved.first_contact_resolution
    assert solved.stage is InteractionStage.KEEPING
    passed = call.handoff("billing desk", at=clock.now(), reason="refund needs billing")
    solved_later = passed.resolve(at=clock.advance(MINUTE))
    assert solved_later.resolved
    assert not solved_later.first_contact_resolution
    assert passed.handoffs == (
        Handoff("billing desk", clock.now() - MINUTE, "refund needs billing"),
    )
    assert passed.agent == "billing desk"


def test_resolution_is_refused_before_helping_and_twice(clock: FixedClock) -> None:
    call = Interaction.open(uuid.uuid4(), Channel.EMAIL, clock=clock)
    with pytest.raises(InvalidTransition, match="resolve") as info:
        call.resolve(at=clock.now())
    assert info.value.state == InteractionStage.READY
    solved = _helping(clock).resolve(at=clock.now())
    with pytest.raises(ValidationError, match="already resolved"):
        solved.resolve(at=clock.now())


def test_handoffs_keep_time_order_and_stop_at_close(clock: FixedClock) -> None:
    call = _helping(clock).handoff("b", at=clock.now())
    with pytest.raises(ValidationError, match="earlier"):
        call.handoff("c", at=clock.now() - MINUTE)
    closed = call.advance("close", at=clock.now())
    with pytest.raises(ValidationError, match="closed"):
        closed.handoff("d", at=clock.now())


def test_feedback_on_any_scale_with_factor_ratings(clock: FixedClock) -> None:
    call = _helping(clock).resolve(at=clock.now())
    fb = Feedback(10, NPS_SCALE, at=clock.advance(MINUTE), ratings={Factor.SPEED: 6})
    rated = call.record_feedback(fb)
    assert rated.feedback is fb
    assert rated.feedback.verdict is Verdict.DELIGHTED
    assert rated.feedback.factor_verdicts == {Factor.SPEED: Verdict.DISSATISFIED}
    early = Feedback(5, SATISFACTION_10, at=call.opened_at - MINUTE)
    with pytest.raises(ValidationError, match="before the interaction opened"):
        call.record_feedback(early)


def test_root_cause_tags_are_service_areas(clock: FixedClock) -> None:
    call = Interaction.open(uuid.uuid4(), Channel.SOCIAL, clock=clock)
    assert call.tag_root_cause("tools").root_cause is ServiceArea.TOOLS
    with pytest.raises(ValidationError, match="root_cause"):
        call.tag_root_cause("weather")


def test_invalid_arguments_are_all_named(clock: FixedClock) -> None:
    with pytest.raises(ValidationError) as info:
        Interaction.open("cust-1", "fax", clock=clock, topic="", case_id=5)  # type: ignore[arg-type]
    assert {p.path for p in info.value.problems} == {"customer_id", "case_id", "channel", "topic"}


@given(cst.interactions())
def test_generated_interactions_are_consistent(interaction: Interaction) -> None:
    if interaction.wait is not None:
        assert interaction.wait >= dt.timedelta(0)
    assert interaction.first_contact_resolution == (
        interaction.resolved_at is not None and not interaction.handoffs
    )
    if interaction.handoffs:
        assert interaction.agent == interaction.handoffs[-1].to


def handed_off(clock: FixedClock, n: int) -> Interaction:
    call = _helping(clock)
    for i in range(n):
        call = call.handoff(f"desk {i % 7}", at=clock.advance(SECOND), reason=f"turn {i}")
    return call


def test_a_handoff_allocates_the_same_at_any_length(clock: FixedClock) -> None:
    costs = []
    for n in (0, 20_000):
        call = handed_off(clock, n)
        costs.append(allocated(partial(call.handoff, "billing", at=clock.now())))
        # and again from the same interaction, as a retry would
        costs.append(allocated(partial(call.handoff, "refunds", at=clock.now())))
    # Bounded, not proportional: at most 32 items are ever copied (a few hundred bytes);
    # copying 20,000 would be 160,000 bytes.
    assert max(costs[2:]) <= max(costs[:2]) + 512, costs


def test_handoffs_behave_as_the_tuple_they_are_documented_as(clock: FixedClock) -> None:
    call = handed_off(clock, 4)
    items = tuple(call.handoffs)
    handoffs = call.handoffs
    assert handoffs == items
    assert items == handoffs
    assert hash(handoffs) == hash(items)
    assert handoffs != list(items)
    assert len(handoffs) == 4
    assert [handoffs[i] for i in range(-4, 4)] == list(items) * 2
    assert handoffs[1:3] == items[1:3]
    assert list(reversed(handoffs)) == list(reversed(items))
    assert items[2] in handoffs
    assert repr(handoffs) == repr(items)
    assert not _helping(clock).handoffs
    one = call.handoff("x", at=clock.now())
    two = call.handoff("y", at=clock.now())  # a second child of call
    assert one.handoffs[:4] == two.handoffs[:4] == items
    assert (one.agent, two.agent) == ("x", "y")
    assert attrs.evolve(call, handoffs=list(items)) == call
    for record in (call, one, two):
        assert from_dict(Interaction, to_dict(record)) == record
        assert from_json(Interaction, to_json(record)) == record


def test_a_handoff_a_microsecond_in_the_past_is_refused_in_any_year() -> None:
    for year in (2026, 2300, 9000):
        at = pendulum.datetime(year, 6, 1, 12, 0, 0, 1, tz="Asia/Kathmandu")
        clock = FixedClock(at)
        call = Interaction.open(uuid.uuid4(), Channel.CHAT, clock=clock).handoff("a", at=at)
        before = (at - dt.timedelta(microseconds=1)).in_timezone("America/New_York")
        with pytest.raises(ValidationError, match="earlier"):
            call.handoff("b", at=before)
        assert call.handoff("b", at=at.in_timezone("UTC")).agent == "b"
        with pytest.raises(ValidationError, match="earlier"):
            call.advance("receive", at=at).handoff("c", at=before)
