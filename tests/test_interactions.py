"""Interactions: the cycle, queue wait, handoffs, resolution and feedback."""

from __future__ import annotations

import datetime as dt
import uuid

import pendulum
import pytest
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
)
from custservice.testing import strategies as cst

MINUTE = dt.timedelta(minutes=1)


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
