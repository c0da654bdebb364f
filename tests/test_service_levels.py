"""Service targets: promises kept in business time, derived from a case's history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice._time import FixedClock
from custservice.calendars import ALWAYS, BusinessCalendar
from custservice.cases import Case
from custservice.enums import CaseStatus, Factor, Metric, TargetState, Verdict
from custservice.errors import ValidationError
from custservice.expectations import ExpectationBand
from custservice.lifecycles import CASE_LIFECYCLE
from custservice.serialization import from_dict, from_json, to_dict, to_json
from custservice.service_levels import ServiceTarget, TargetStatus
from custservice.testing import strategies as cst

H = pendulum.duration(hours=1)
MIN = pendulum.duration(minutes=1)
LONDON = "Europe/London"
LAGOS = "Africa/Lagos"
FINISHED = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})


def utc(value: dt.datetime) -> pendulum.DateTime:
    """The same instant in UTC: datetimes sharing a zone compare and subtract by their
    wall clocks, which is wrong in the hour repeated when clocks go back."""
    return pendulum.instance(value).in_timezone("UTC")


def instant(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def hours(n: float) -> pendulum.Duration:
    return pendulum.duration(minutes=round(n * 60))


def weekdays(*intervals: tuple[int, int]) -> dict[int, list[tuple[dt.time, dt.time]]]:
    return {d: [(dt.time(a), dt.time(b % 24)) for a, b in intervals] for d in range(5)}


NINE_TO_FIVE_LONDON = BusinessCalendar(LONDON, weekdays((9, 17)))
LAGOS_DESK = BusinessCalendar(
    LAGOS,
    weekdays((8, 12), (13, 17)),
    holidays=[dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 5, 1)],
)


class Story:
    """A case told step by step, with a clock that only moves forward."""

    def __init__(self, start: pendulum.DateTime) -> None:
        self.clock = FixedClock(start)
        self.case = Case.open(uuid.uuid4(), "A broken kettle", clock=self.clock)

    def at(self, when: pendulum.DateTime) -> pendulum.DateTime:
        return self.clock.advance(utc(when) - utc(self.clock.now()))

    def event(self, name: str, when: pendulum.DateTime) -> Story:
        self.case = self.case.advance(name, at=self.at(when))
        return self

    def agent(self, when: pendulum.DateTime) -> Story:
        self.case = self.case.record_update(at=self.at(when))
        return self

    def customer(self, when: pendulum.DateTime) -> Story:
        self.case = self.case.record_update(at=self.at(when), from_customer=True)
        return self


# ----------------------------------------------------------- strategies
# Ready to move to custservice.testing.strategies (as ``service_targets`` and
# ``target_statuses``).


service_targets = cst.service_targets
target_statuses = cst.target_statuses


# Minute-aligned stories, so a minute-stepping model can check the arithmetic.
_START = pendulum.datetime(2026, 1, 1)
_TURNS = (
    pendulum.datetime(2026, 3, 29, 1),  # Europe/London, spring
    pendulum.datetime(2026, 10, 25, 1),  # Europe/London, autumn
    pendulum.datetime(2026, 3, 8, 7),  # America/New_York, spring
)


@st.composite
def stories(
    draw: st.DrawFn, *, max_step: int = 600, lifecycle: bool = True
) -> tuple[Case, pendulum.DateTime]:
    """A case with random status changes and updates, every instant on a whole minute.

    Returns the case and the instant of its last change.
    """
    if draw(st.booleans()):
        start = draw(st.sampled_from(_TURNS)).add(minutes=draw(st.integers(-2880, 600)))
    else:
        start = _START.add(minutes=draw(st.integers(0, 360 * 1440)))
    story = Story(start.in_timezone(draw(cst.timezones())))
    for _ in range(draw(st.integers(0, 10))):
        when = story.clock.now().add(minutes=draw(st.integers(0, max_step)))
        allowed: list[str] = []
        if lifecycle:
            allowed = sorted(CASE_LIFECYCLE.allowed(story.case.lifecycle))
        move: bool = draw(st.booleans())
        if allowed and move:
            story.event(draw(st.sampled_from(allowed)), when)
        elif story.case.status is not CaseStatus.CLOSED:
            if draw(st.booleans()):
                story.customer(when)
            else:
                story.agent(when)
    return story.case, story.clock.now()


def evaluations(case: Case, last: pendulum.DateTime, data: st.DataObject) -> pendulum.DateTime:
    """An instant from the opening to a while after the last change, on a whole minute."""
    span = int((utc(last) - utc(case.opened_at)).total_seconds() // 60)
    return case.opened_at.add(minutes=data.draw(st.integers(0, span + 3000)))


# --------------------------------------------------------------- helpers


def restarted_between(
    case: Case, metric: Metric, t1: pendulum.DateTime, t2: pendulum.DateTime
) -> bool:
    """Whether something in ``(t1, t2]`` may start the clock again: a reopening, or a
    customer writing in (which starts a new NEXT_RESPONSE cycle)."""
    t1, t2 = utc(t1), utc(t2)
    if any(c.event == "reopen" and t1 < utc(c.at) <= t2 for c in case.lifecycle.history):
        return True
    return metric is Metric.NEXT_RESPONSE and any(
        u.from_customer and t1 < utc(u.at) <= t2 for u in case.updates
    )


def status_at(case: Case, t: pendulum.DateTime) -> CaseStatus:
    status = CaseStatus.NEW
    for change in case.lifecycle.history:
        if utc(change.at) <= t:
            status = CaseStatus(change.target)
    return status


def model(
    target: ServiceTarget, case: Case, at: pendulum.DateTime
) -> tuple[dt.timedelta, pendulum.DateTime | None]:
    """Elapsed and breach instant of a FIRST_RESPONSE or RESOLUTION target, minute by minute.

    Everything must lie on whole minutes. The breach is the first instant,
    once the counted time has reached ``within``, at which the case's status
    lets the clock run, if that is before the cycle ended and before ``at``.
    """
    stopped = target.paused_in | FINISHED
    at = utc(at)
    end = None
    if target.metric is Metric.FIRST_RESPONSE:
        answers = (utc(u.at) for u in case.updates if not u.from_customer)
        end = next((a for a in answers if a <= at), None)
    stop = at if end is None else min(end, at)
    budget = int(target.within.total_seconds() // 60)
    used, reached = 0, None
    t = utc(case.opened_at)
    while t < stop:
        if status_at(case, t) not in stopped and target.calendar.is_working(t):
            used += 1
            if used == budget:
                reached = t + MIN
        t += MIN
    breach = None
    if reached is not None:
        changes = (utc(c.at) for c in case.lifecycle.history)
        candidates = [reached, *(c for c in changes if c > reached)]
        for r in sorted(candidates):
            if r >= stop:
                break
            if status_at(case, r) not in stopped:
                breach = r
                break
    return dt.timedelta(minutes=used), breach


# ------------------------------------------------------------ properties


@given(data=st.data())
def test_a_breach_is_never_moved_and_state_and_elapsed_only_go_forward(data: st.DataObject) -> None:
    case, last = data.draw(stories() | cst.cases().map(lambda c: (c, c.opened_at)))
    target = data.draw(service_targets(max_within=dt.timedelta(days=1)))
    t1, t2 = sorted((evaluations(case, last, data), evaluations(case, last, data)), key=utc)
    s1, s2 = target.evaluate(case, at=t1), target.evaluate(case, at=t2)
    for s, t in ((s1, t1), (s2, t2)):
        assert (s.state is TargetState.BREACHED) == (s.breached_at is not None)
        assert s.breached_at is None or utc(s.breached_at) < utc(t)  # never at or after `at`
        if s.state is TargetState.PAUSED:
            assert s.due_at is None
    if s1.state is TargetState.BREACHED:
        assert s2.state is TargetState.BREACHED
        assert instant(s2.breached_at) == instant(s1.breached_at)
    if s1.state is TargetState.ACHIEVED and not restarted_between(case, target.metric, t1, t2):
        assert s2.state in (TargetState.ACHIEVED, TargetState.BREACHED)
    if s1.started_at is not None and s2.started_at is not None:
        assert utc(s2.started_at) >= utc(s1.started_at)
        if instant(s1.started_at) == instant(s2.started_at):
            assert s2.elapsed >= s1.elapsed


@given(data=st.data())
def test_first_response_on_a_24_7_desk_is_the_wall_time_to_the_first_agent_update(
    data: st.DataObject,
) -> None:
    case, last = data.draw(stories(lifecycle=False))
    at = evaluations(case, last, data)
    status = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(days=30)).evaluate(case, at=at)
    answers = [utc(u.at) for u in case.updates if not u.from_customer and utc(u.at) <= utc(at)]
    until = answers[0] if answers else utc(at)
    assert status.elapsed == until - utc(case.opened_at)
    assert status.state is (TargetState.ACHIEVED if answers else TargetState.ACTIVE)
    assert instant(status.achieved_at) == instant(answers[0] if answers else None)


@given(data=st.data())
def test_without_pauses_due_at_is_within_business_time_after_the_clock_started(
    data: st.DataObject,
) -> None:
    case, last = data.draw(stories(lifecycle=False))
    target = data.draw(service_targets(max_within=dt.timedelta(days=3)))
    at = evaluations(case, last, data)
    status = target.evaluate(case, at=at)
    calendar = target.calendar
    if status.due_at is not None:
        assert status.started_at is not None
        assert calendar.elapsed(status.started_at, status.due_at) == target.within
    if status.state is TargetState.ACTIVE:
        assert status.due_at is not None
        assert utc(status.due_at) >= utc(at)
        assert status.remaining == calendar.elapsed(at, status.due_at)
        assert status.elapsed + status.remaining == target.within


@given(data=st.data())
def test_single_cycle_targets_agree_with_a_minute_by_minute_model(data: st.DataObject) -> None:
    case, last = data.draw(stories(max_step=300))
    drawn = data.draw(
        service_targets(
            metric=data.draw(st.sampled_from([Metric.FIRST_RESPONSE, Metric.RESOLUTION])),
            calendar_strategy=st.just(ALWAYS)
            | st.just(LAGOS_DESK)
            | cst.calendars(st.sampled_from([LONDON, "Asia/Kathmandu", "UTC"])).filter(
                lambda c: any(c.hours)
            ),
        )
    )
    within = pendulum.duration(minutes=data.draw(st.integers(1, 30 * 60)))
    target = attrs.evolve(drawn, within=within, warn_before=None)  # a warning is no part of it
    at = evaluations(case, last, data)
    status = target.evaluate(case, at=at)
    elapsed, breach = model(target, case, at)
    assert status.elapsed == elapsed
    assert instant(status.breached_at) == instant(breach)


def conversation_model(
    case: Case, metric: Metric, within: dt.timedelta, at: pendulum.DateTime
) -> tuple[pendulum.DateTime | None, pendulum.DateTime | None, dt.timedelta]:
    """First breach, current cycle's start and its elapsed time, on a 24/7 desk whose case
    never changes status: a cycle starts at the oldest unanswered customer message
    (NEXT_RESPONSE) or at the opening and every agent update (PERIODIC_UPDATE), and
    ends at the next agent update."""
    at = utc(at)
    cycles: list[list[pendulum.DateTime | None]] = []
    open_since = utc(case.opened_at) if metric is Metric.PERIODIC_UPDATE else None
    for update in case.updates:
        when = utc(update.at)
        if when > at:
            break
        if update.from_customer:
            open_since = open_since or when
        elif open_since is not None:
            cycles.append([open_since, when])
            open_since = when if metric is Metric.PERIODIC_UPDATE else None
    if open_since is not None:
        cycles.append([open_since, None])
    breach = None
    for start, end in cycles:
        assert start is not None
        due = start + within
        if (end is None or end > due) and due < at:
            breach = due
            break
    if not cycles:
        return breach, None, dt.timedelta(0)
    start, end = cycles[-1]
    assert start is not None
    return breach, start, (end or at) - start


@given(data=st.data())
def test_conversation_cycles_agree_with_a_model_and_a_breach_stays_on_record(
    data: st.DataObject,
) -> None:
    case, last = data.draw(stories(lifecycle=False))
    metric = data.draw(st.sampled_from([Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE]))
    target = ServiceTarget(metric, pendulum.duration(minutes=data.draw(st.integers(1, 600))))
    t1, t2 = sorted((evaluations(case, last, data), evaluations(case, last, data)), key=utc)
    s1, s2 = target.evaluate(case, at=t1), target.evaluate(case, at=t2)
    for s, t in ((s1, t1), (s2, t2)):
        breach, started, elapsed = conversation_model(case, metric, target.within, t)
        assert instant(s.breached_at) == instant(breach)
        assert instant(s.started_at) == instant(started)
        assert s.elapsed == elapsed
    if s1.state is TargetState.BREACHED:
        assert s2.state is TargetState.BREACHED
        assert instant(s2.breached_at) == instant(s1.breached_at)


@given(target=service_targets(), case=cst.cases(), after=cst.durations())
def test_every_evaluation_of_a_random_case_is_consistent(
    target: ServiceTarget, case: Case, after: pendulum.Duration
) -> None:
    status = target.evaluate(case, at=case.opened_at + after)
    assert status.remaining <= target.within
    if status.state in (TargetState.ACHIEVED, TargetState.BREACHED):
        assert status.remaining == dt.timedelta(0) or status.state is TargetState.BREACHED
    if status.state is TargetState.PAUSED:
        assert status.due_at is None
    if target.band is None or status.started_at is None:
        assert status.verdict is None


@given(target_statuses())
def test_a_status_round_trips_through_plain_data_and_json(status: TargetStatus) -> None:
    assert from_dict(TargetStatus, to_dict(status)) == status
    assert from_json(TargetStatus, to_json(status)) == status


@given(service_targets())
def test_a_target_round_trips_through_plain_data_and_json(target: ServiceTarget) -> None:
    assert from_dict(ServiceTarget, to_dict(target)) == target
    assert from_json(ServiceTarget, to_json(target)) == target


# --------------------------------------------------------------- examples


def test_at_exactly_within_is_on_time_and_a_microsecond_later_is_a_breach() -> None:
    opened = pendulum.datetime(2026, 3, 2, 9)
    target = ServiceTarget(Metric.FIRST_RESPONSE, hours(2))
    case = Story(opened).case
    due = opened + hours(2)
    on_the_dot = target.evaluate(case, at=due)
    assert on_the_dot.state is TargetState.ACTIVE
    assert on_the_dot.remaining == dt.timedelta(0)
    assert on_the_dot.due_at == due
    late = target.evaluate(case, at=due + dt.timedelta(microseconds=1))
    assert late.state is TargetState.BREACHED
    assert late.breached_at == due == late.due_at
    answered = Story(opened).agent(due).case
    status = target.evaluate(answered, at=due + H)
    assert status.state is TargetState.ACHIEVED
    assert status.breached_at is None
    assert status.achieved_at == due


def test_a_friday_deadline_at_closing_time_is_breached_at_closing_time() -> None:
    friday = pendulum.datetime(2026, 3, 6, 15, tz=LONDON)
    case = Story(friday).case
    target = ServiceTarget(Metric.FIRST_RESPONSE, hours(2), calendar=NINE_TO_FIVE_LONDON)
    saturday = target.evaluate(case, at=friday.add(days=1))
    assert saturday.state is TargetState.BREACHED
    assert saturday.breached_at == friday.replace(hour=17)
    assert saturday.elapsed == hours(2)  # no working time passes over the weekend


def test_london_spring_forward_counts_the_hours_that_really_pass() -> None:
    saturday_noon = pendulum.datetime(2026, 3, 28, 12, tz=LONDON)  # GMT
    case = Story(saturday_noon).event("open", saturday_noon).case
    target = ServiceTarget(Metric.RESOLUTION, hours(24), calendar=ALWAYS)
    status = target.evaluate(case, at=saturday_noon.add(hours=3))
    assert status.due_at == pendulum.datetime(2026, 3, 29, 13, tz=LONDON)  # BST: 13:00 on the wall
    # A nine-to-five desk: Friday 16:00 GMT plus two working hours is Monday 10:00 BST.
    friday = pendulum.datetime(2026, 3, 27, 16, tz=LONDON)
    desk = ServiceTarget(Metric.FIRST_RESPONSE, hours(2), calendar=NINE_TO_FIVE_LONDON)
    monday = pendulum.datetime(2026, 3, 30, 9, 30, tz=LONDON)
    status = desk.evaluate(Story(friday).case, at=monday)
    assert status.elapsed == hours(1.5)
    assert status.due_at == pendulum.datetime(2026, 3, 30, 10, tz=LONDON)
    assert status.due_at.utcoffset() == dt.timedelta(hours=1)


def test_london_fall_back_counts_the_repeated_hour() -> None:
    saturday_noon = pendulum.datetime(2026, 10, 24, 12, tz=LONDON)  # BST
    case = Story(saturday_noon).case
    target = ServiceTarget(Metric.RESOLUTION, hours(24))
    status = target.evaluate(case, at=saturday_noon.add(hours=20))
    assert status.due_at == pendulum.datetime(2026, 10, 25, 11, tz=LONDON)  # GMT: 11:00 on the wall
    assert status.remaining == hours(4)
    # The same promise in London working hours (all day, every day) agrees.
    london_always = BusinessCalendar(LONDON, {d: [(dt.time(0), dt.time(0))] for d in range(7)})
    local = ServiceTarget(Metric.RESOLUTION, hours(24), calendar=london_always)
    assert local.evaluate(case, at=saturday_noon.add(hours=20)).due_at == status.due_at


def test_a_friday_holiday_before_a_weekend_moves_the_deadline_to_monday() -> None:
    thursday = pendulum.datetime(2026, 4, 30, 16, 30, tz=LAGOS)  # 1 May 2026, a Friday, is off
    case = Story(thursday).case
    target = ServiceTarget(Metric.FIRST_RESPONSE, H, calendar=LAGOS_DESK)
    status = target.evaluate(case, at=pendulum.datetime(2026, 5, 2, 12, tz=LAGOS))
    assert status.state is TargetState.ACTIVE
    assert status.elapsed == hours(0.5)
    assert status.due_at == pendulum.datetime(2026, 5, 4, 8, 30, tz=LAGOS)


def test_resolution_counts_both_open_periods_not_the_solved_gap() -> None:
    start = pendulum.datetime(2026, 3, 2, 9)
    story = Story(start).event("open", start).event("solve", start + hours(2))
    reopened = start.add(days=1, hours=1)
    story.event("reopen", reopened).event("solve", reopened + hours(3))
    target = ServiceTarget(Metric.RESOLUTION, hours(8))
    in_the_gap = target.evaluate(story.case, at=start.add(hours=20))
    assert in_the_gap.state is TargetState.ACHIEVED
    assert in_the_gap.elapsed == hours(2)
    assert in_the_gap.achieved_at == start + hours(2)
    assert in_the_gap.due_at is None
    after_reopening = target.evaluate(story.case, at=reopened + H)
    assert after_reopening.state is TargetState.ACTIVE
    assert after_reopening.elapsed == hours(3)
    assert after_reopening.due_at == reopened + hours(6)
    done = target.evaluate(story.case, at=reopened.add(days=2))
    assert done.state is TargetState.ACHIEVED
    assert done.elapsed == hours(5)
    assert done.achieved_at == reopened + hours(3)
    # A tighter promise breaches during the second period and stays breached.
    tight = ServiceTarget(Metric.RESOLUTION, hours(4)).evaluate(story.case, at=reopened.add(days=2))
    assert tight.state is TargetState.BREACHED
    assert tight.breached_at == reopened + hours(2)
    assert tight.achieved_at == reopened + hours(3)


def test_a_week_pending_pauses_the_clock_and_moves_due_at_out_by_the_pause() -> None:
    monday = pendulum.datetime(2026, 3, 2, 9, tz=LAGOS)
    target = ServiceTarget(Metric.RESOLUTION, hours(8), calendar=LAGOS_DESK)
    story = Story(monday).event("open", monday)
    before = target.evaluate(story.case, at=monday + H)
    assert before.due_at == pendulum.datetime(2026, 3, 3, 9, tz=LAGOS)  # lunch is not counted
    story.event("await_customer", monday + hours(2))
    paused = target.evaluate(story.case, at=monday.add(days=3))
    assert paused.state is TargetState.PAUSED
    assert paused.due_at is None
    assert paused.remaining == hours(6)
    story.event("resume", monday.add(days=7, hours=2))
    resumed = target.evaluate(story.case, at=monday.add(days=7, hours=2))
    assert resumed.state is TargetState.ACTIVE
    assert resumed.due_at == before.due_at.add(days=7)
    assert resumed.elapsed == hours(2)


def test_the_clock_stopped_exactly_at_the_deadline_breaches_when_it_starts_again() -> None:
    start = pendulum.datetime(2026, 3, 2, 9)
    story = Story(start).event("open", start).event("await_customer", start + hours(2))
    target = ServiceTarget(Metric.RESOLUTION, hours(2))
    assert target.evaluate(story.case, at=start.add(days=1)).state is TargetState.PAUSED
    story.event("resume", start.add(days=2))
    status = target.evaluate(story.case, at=start.add(days=2, minutes=1))
    assert status.state is TargetState.BREACHED
    assert status.breached_at == start.add(days=2)


def test_a_24_7_chat_desk_answers_every_message_and_a_late_answer_stays_on_record() -> None:
    start = pendulum.datetime(2026, 7, 4, 23, 50, tz="America/New_York")
    band = ExpectationBand(Factor.SPEED, Metric.NEXT_RESPONSE, adequate=MIN * 5, desired=MIN)
    target = ServiceTarget(Metric.NEXT_RESPONSE, MIN * 2, band=band)
    story = Story(start)
    nothing_yet = target.evaluate(story.case, at=start + MIN)
    assert nothing_yet.state is TargetState.ACHIEVED
    assert nothing_yet.started_at is None
    story.customer(start + MIN).customer(start + MIN * 2).agent(start + MIN * 2)
    answered = target.evaluate(story.case, at=start + MIN * 3)
    assert answered.state is TargetState.ACHIEVED
    assert answered.started_at == start + MIN  # the oldest unanswered message
    assert answered.elapsed == MIN
    assert answered.verdict is Verdict.DELIGHTED
    story.customer(start + MIN * 10)
    waiting = target.evaluate(story.case, at=start + MIN * 11)
    assert waiting.state is TargetState.ACTIVE
    assert waiting.due_at == start + MIN * 12
    story.agent(start + MIN * 14)  # two minutes late
    late = target.evaluate(story.case, at=start + MIN * 15)
    assert late.state is TargetState.BREACHED
    assert late.breached_at == start + MIN * 12
    assert late.elapsed == MIN * 4
    assert late.verdict is Verdict.SATISFIED  # the promise was broken; the customer coped
    story.customer(start + MIN * 20)
    next_one = target.evaluate(story.case, at=start + MIN * 21)
    assert next_one.state is TargetState.BREACHED  # once breached, always breached
    assert next_one.breached_at == start + MIN * 12
    assert next_one.due_at == start + MIN * 22  # but the next answer's due time still shows
    assert next_one.verdict is None


def test_periodic_updates_restart_at_every_agent_update_and_stop_when_solved() -> None:
    start = pendulum.datetime(2026, 3, 2, 9)
    target = ServiceTarget(Metric.PERIODIC_UPDATE, hours(24))
    story = Story(start).event("open", start).agent(start + hours(20))
    status = target.evaluate(story.case, at=start + hours(30))
    assert status.started_at == start + hours(20)
    assert status.due_at == start + hours(44)
    story.event("solve", start + hours(40))
    solved = target.evaluate(story.case, at=start.add(days=5))
    assert solved.state is TargetState.ACHIEVED
    assert solved.achieved_at == start + hours(40)
    assert solved.elapsed == hours(20)


def test_first_response_on_a_case_solved_without_a_reply_is_achieved_at_the_solve() -> None:
    start = pendulum.datetime(2026, 3, 2, 9)
    story = Story(start).event("solve", start + H)
    status = ServiceTarget(Metric.FIRST_RESPONSE, hours(4)).evaluate(
        story.case, at=start + hours(9)
    )
    assert status.state is TargetState.ACHIEVED
    assert status.achieved_at == start + H


def test_evaluating_in_the_past_ignores_later_history() -> None:
    start = pendulum.datetime(2026, 3, 2, 9)
    story = Story(start).event("open", start).event("await_customer", start + H)
    story.agent(start + hours(2))
    target = ServiceTarget(Metric.FIRST_RESPONSE, hours(4))
    then = target.evaluate(story.case, at=start + hours(0.5))
    assert then.state is TargetState.ACTIVE
    assert then.due_at == start + hours(4)
    assert then.achieved_at is None


def test_instants_are_reported_in_the_calendars_zone() -> None:
    opened = pendulum.datetime(2026, 3, 2, 9)  # UTC
    status = ServiceTarget(Metric.FIRST_RESPONSE, H, calendar=LAGOS_DESK).evaluate(
        Story(opened).case, at=opened
    )
    assert status.started_at is not None
    assert status.started_at.timezone_name == LAGOS
    assert status.due_at is not None
    assert status.due_at.timezone_name == LAGOS


# ------------------------------------------------------------ validation


def test_a_naive_instant_is_refused() -> None:
    case = Story(pendulum.datetime(2026, 3, 2, 9)).case
    target = ServiceTarget(Metric.FIRST_RESPONSE, H)
    with pytest.raises(ValidationError) as error:
        target.evaluate(case, at=dt.datetime(2026, 3, 2, 10))
    assert error.value.field == "at"
    with pytest.raises(ValidationError, match="before the case was opened"):
        target.evaluate(case, at=case.opened_at - H)


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        ServiceTarget(
            "speedy",  # type: ignore[arg-type]
            pendulum.duration(),
            calendar="24/7",  # type: ignore[arg-type]
            paused_in="pending",  # type: ignore[arg-type]
            band=42,  # type: ignore[arg-type]
        )
    assert [p.path for p in error.value.problems] == [
        "metric",
        "within",
        "calendar",
        "paused_in",
        "band",
    ]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"within": -H}, "within", "positive"),
        ({"within": pendulum.duration(months=1)}, "within", "fixed length"),
        ({"within": 3600}, "within", "duration"),
        ({"calendar": BusinessCalendar("UTC", {})}, "calendar", "no working time"),
        ({"paused_in": ["pending", "asleep"]}, "paused_in", "CaseStatus"),
        (
            {"band": ExpectationBand(Factor.SPEED, Metric.RESOLUTION, adequate=H, desired=H)},
            "band",
            "not the target's",
        ),
        ({"band": ExpectationBand(Factor.SPEED, Metric.FIRST_RESPONSE, 2, 1)}, "band", "durations"),
        ({"warn_before": H}, "warn_before", "shorter than within"),
        ({"warn_before": -MIN}, "warn_before", "positive"),
        ({"warn_before": pendulum.duration(months=1)}, "warn_before", "fixed length"),
        ({"warn_before": "soon"}, "warn_before", "duration"),
    ],
)
def test_bad_construction_names_the_field(
    kwargs: dict[str, object], field: str, message: str
) -> None:
    arguments: dict[str, object] = {"within": H, **kwargs}
    make: Callable[..., ServiceTarget] = ServiceTarget
    with pytest.raises(ValidationError, match=message) as error:
        make(Metric.FIRST_RESPONSE, **arguments)
    assert error.value.field == field


def test_construction_normalizes_its_inputs() -> None:
    target = ServiceTarget(
        "resolution",  # type: ignore[arg-type]
        dt.timedelta(hours=2),  # type: ignore[arg-type]
        paused_in=["pending", CaseStatus.ON_HOLD],  # type: ignore[arg-type]
    )
    assert target.metric is Metric.RESOLUTION
    assert type(target.within) is pendulum.Duration
    assert target.paused_in == frozenset({CaseStatus.PENDING, CaseStatus.ON_HOLD})
    assert ServiceTarget(Metric.RESOLUTION, H).paused_in == frozenset({CaseStatus.PENDING})


@given(target=service_targets(), case=cst.cases(), after=cst.durations())
def test_a_target_warns_while_active_with_no_more_than_warn_before_left(
    target: ServiceTarget, case: Case, after: dt.timedelta
) -> None:
    status = target.evaluate(case, at=case.opened_at + after)
    expected = (
        target.warn_before is not None
        and status.state is TargetState.ACTIVE
        and status.remaining <= target.warn_before
    )
    assert status.warning is expected


def test_the_warning_starts_warn_before_the_deadline_and_ends_with_the_breach() -> None:
    story = Story(pendulum.datetime(2026, 3, 2, 9))
    opened = story.case.opened_at
    target = ServiceTarget(Metric.FIRST_RESPONSE, 4 * H, warn_before=H)
    assert target.warn_before == H
    warned = [target.evaluate(story.case, at=opened + h * MIN * 60).warning for h in range(6)]
    assert warned == [False, False, False, True, True, False]
    assert (
        not ServiceTarget(Metric.FIRST_RESPONSE, 4 * H)
        .evaluate(story.case, at=opened + 3.5 * H)
        .warning
    )
