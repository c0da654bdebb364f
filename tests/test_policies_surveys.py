"""Survey policies: the planner's feedback requests come after a delay, to a deterministic
sample, never closer than the minimum interval per customer, with one reminder before
the request expires."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import defaultdict

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import (
    CSAT_5,
    Channel,
    Condition,
    Feedback,
    FixedClock,
    Interaction,
    SurveyPolicy,
    ValidationError,
    from_dict,
    to_dict,
)
from custservice.analytics import FollowUp, FollowUpKind, plan_follow_ups
from custservice.testing import strategies as cst

K = FollowUpKind
T0 = pendulum.datetime(2026, 3, 2, 9)
DAY = pendulum.duration(days=1)
ADA = uuid.UUID(int=1)


def resolved(
    at: pendulum.DateTime,
    *,
    customer: uuid.UUID = ADA,
    channel: Channel = Channel.CHAT,
    tags: tuple[str, ...] = (),
    feedback_at: pendulum.DateTime | None = None,
) -> Interaction:
    clock = FixedClock(at)
    call = Interaction.open(customer, channel, clock=clock, tags=tags)
    for event in ("receive", "understand", "help"):
        call = call.advance(event, at=at)
    call = call.resolve(at=at)
    if feedback_at is not None:
        call = call.record_feedback(Feedback(4, CSAT_5, at=feedback_at))
    return call


def plan(
    interactions: list[Interaction],
    survey: SurveyPolicy,
    start: pendulum.DateTime = T0,
    days: int = 30,
) -> tuple[FollowUp, ...]:
    return plan_follow_ups(
        [], interactions, [], window_start=start, window_end=start.add(days=days), survey=survey
    )


def test_a_request_falls_due_the_delay_after_the_resolution() -> None:
    quiet = resolved(T0)
    answered_first = resolved(T0.add(hours=1), feedback_at=T0.add(hours=2))
    answered_after = resolved(T0.add(hours=2), feedback_at=T0.add(days=3))
    four_hours = SurveyPolicy(delay=pendulum.duration(hours=4))
    requests = plan([quiet, answered_first, answered_after], four_hours)
    # Feedback given before the request would go out makes it needless; feedback given
    # later came after a request that was made.
    assert [(f.kind, f.record_id, f.due_at) for f in requests] == [
        (K.FEEDBACK_REQUEST, quiet.id, T0.add(hours=4)),
        (K.FEEDBACK_REQUEST, answered_after.id, T0.add(hours=6)),
    ]
    assert requests[0].why == (
        "The interaction was resolved and is in the survey's sample: ask how it went."
    )


def test_suppressed_interactions_are_never_surveyed() -> None:
    automatic = resolved(T0, tags=("auto-resolved",))
    by_phone = resolved(T0.add(hours=1), channel=Channel.PHONE)
    chat = resolved(T0.add(hours=2))
    skip = Condition.where("tags", "contains", "auto-resolved") | Condition.where(
        "channel", "==", "phone"
    )
    assert [f.record_id for f in plan([automatic, by_phone, chat], SurveyPolicy(skip_if=skip))] == [
        chat.id
    ]


def test_a_customer_is_asked_again_only_after_a_quiet_spell_of_the_minimum_interval() -> None:
    week = SurveyPolicy(delay=DAY, min_interval=pendulum.duration(days=7))
    monday, wednesday = T0, T0.add(days=2)
    bob = uuid.UUID(int=2)
    calls = [
        resolved(monday),
        resolved(wednesday),  # within a week of Monday's: not asked
        resolved(monday.add(days=7)),  # within a week of Wednesday's: not asked either
        resolved(monday.add(days=15)),  # eight quiet days: asked
        resolved(wednesday, customer=bob),  # another customer: asked
    ]
    asked = [(f.customer_id, f.due_at) for f in plan(calls, week)]
    assert asked == [
        (ADA, monday.add(days=1)),
        (bob, wednesday.add(days=1)),
        (ADA, monday.add(days=16)),
    ]


def test_one_reminder_if_no_feedback_and_none_once_the_request_expires() -> None:
    policy = SurveyPolicy(
        delay=DAY, remind_after=pendulum.duration(days=2), expire_after=pendulum.duration(days=5)
    )
    quiet = resolved(T0)
    answered = resolved(T0.add(hours=1), feedback_at=T0.add(days=2))
    followed = plan([quiet, answered], policy)
    assert [(f.kind, f.record_id, f.due_at) for f in followed] == [
        (K.FEEDBACK_REQUEST, quiet.id, T0.add(days=1)),
        (K.FEEDBACK_REQUEST, answered.id, T0.add(days=1, hours=1)),
        (K.FEEDBACK_REMINDER, quiet.id, T0.add(days=3)),
    ]
    assert followed[0].why.endswith("The request expires at 2026-03-08T09:00:00+00:00.")
    with pytest.raises(ValidationError) as caught:
        SurveyPolicy(remind_after=pendulum.duration(days=5), expire_after=pendulum.duration(days=5))
    assert caught.value.field == "remind_after"


def test_bad_policies_name_their_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        SurveyPolicy(
            delay=-DAY,
            min_interval="P1D",  # type: ignore[arg-type]
            sample_rate=1.5,
            skip_if="auto",  # type: ignore[arg-type]
            remind_after=pendulum.duration(0),
            expire_after=pendulum.duration(months=1),
            seed=0.5,  # type: ignore[arg-type]
        )
    assert [p.path for p in caught.value.problems] == [
        "delay",
        "min_interval",
        "sample_rate",
        "skip_if",
        "remind_after",
        "expire_after",
        "seed",
    ]
    with pytest.raises(ValidationError) as caught:
        plan_follow_ups([], window_start=T0, window_end=T0.add(days=1), survey="daily")  # type: ignore[arg-type]
    assert caught.value.field == "survey"


def test_a_policy_reads_and_writes_as_data() -> None:
    policy = SurveyPolicy(
        delay=pendulum.duration(hours=4),
        min_interval=pendulum.duration(days=30),
        sample_rate=0.25,
        skip_if=Condition.where("tags", "contains", "auto-resolved"),
        remind_after=pendulum.duration(days=2),
        expire_after=pendulum.duration(days=7),
        seed=42,
    )
    assert to_dict(policy) == {
        "delay": "PT4H",
        "min_interval": "P30D",
        "sample_rate": 0.25,
        "skip_if": {"field": "tags", "op": "contains", "value": "auto-resolved"},
        "remind_after": "P2D",
        "expire_after": "P7D",
        "seed": 42,
    }
    assert from_dict(SurveyPolicy, to_dict(policy)) == policy


# --- properties ------------------------------------------------------------------------

IDS = [uuid.UUID(int=n) for n in range(1_000)]


@settings(max_examples=25)
@given(rate=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_the_sample_is_the_same_for_a_seed_and_near_the_rate(rate: float, seed: int) -> None:
    policy = SurveyPolicy(sample_rate=rate, seed=seed)
    chosen = [policy.samples(i) for i in IDS]
    assert chosen == [SurveyPolicy(sample_rate=rate, seed=seed).samples(i) for i in IDS]
    # Within five standard deviations of the binomial's mean.
    spread = 5 * (len(IDS) * rate * (1 - rate)) ** 0.5
    assert abs(sum(chosen) - rate * len(IDS)) <= spread + 1
    if 0.01 < rate < 0.99:  # another seed, another sample
        assert chosen != [SurveyPolicy(sample_rate=rate, seed=seed + 1).samples(i) for i in IDS]


def test_the_planner_surveys_the_same_sample_whatever_the_order() -> None:
    calls = [resolved(T0.add(minutes=n), customer=uuid.UUID(int=n)) for n in range(200)]
    half = SurveyPolicy(sample_rate=0.5, seed=7)
    asked = {f.record_id for f in plan(calls, half)}
    assert asked == {f.record_id for f in plan(calls[::-1], half)}
    assert asked == {c.id for c in calls if half.samples(c.id)}
    assert 70 < len(asked) < 130


@st.composite
def resolutions(draw: st.DrawFn) -> list[Interaction]:
    """Interactions of three customers resolved within a month, some answered."""
    calls = []
    for _ in range(draw(st.integers(0, 14))):
        at = T0 + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=30)))
        answer = draw(st.none() | st.timedeltas(dt.timedelta(0), dt.timedelta(days=4)))
        calls.append(
            resolved(
                at,
                customer=uuid.UUID(int=draw(st.integers(1, 3))),
                tags=draw(st.sampled_from([(), ("auto-resolved",)])),
                feedback_at=None if answer is None else at + answer,
            )
        )
    return calls


@settings(max_examples=80)
@given(
    calls=resolutions(),
    survey=cst.survey_policies(max_delay=dt.timedelta(days=6)),
    split=st.integers(1, 40),
)
def test_requests_to_a_customer_are_never_closer_than_the_minimum_interval(
    calls: list[Interaction], survey: SurveyPolicy, split: int
) -> None:
    start, end = T0.subtract(days=5), T0.add(days=45)
    whole = plan(calls, survey, start, 50)
    # Planning two consecutive windows proposes what planning both at once does.
    cut = start.add(days=split)
    first = plan_follow_ups([], calls, [], window_start=start, window_end=cut, survey=survey)
    second = plan_follow_ups([], calls, [], window_start=cut, window_end=end, survey=survey)
    assert first + second == whole
    asked: dict[uuid.UUID, list[pendulum.DateTime]] = defaultdict(list)
    by_id = {c.id: c for c in calls}
    for follow_up in whole:
        call = by_id[follow_up.record_id]
        assert survey.samples(call.id)
        assert survey.skip_if is None or not survey.skip_if.matches(call)
        if follow_up.kind is K.FEEDBACK_REQUEST:
            asked[follow_up.customer_id].append(follow_up.due_at)
            assert follow_up.due_at == call.resolved_at + survey.delay
        else:
            assert follow_up.kind is K.FEEDBACK_REMINDER
            assert survey.remind_after is not None
            assert follow_up.due_at == call.resolved_at + survey.delay + survey.remind_after
            assert call.feedback is None or call.feedback.at > follow_up.due_at
    for dues in asked.values():
        assert all(b - a >= survey.min_interval for a, b in itertools.pairwise(dues))
