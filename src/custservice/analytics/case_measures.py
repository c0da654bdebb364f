"""Case metrics: what a desk measures of each case, in calendar and in business time.

:func:`case_metrics` reads a case's history as a help desk's ticket metrics
do: the time to the first reply and to the resolution, how long the
customer waited on the desk and the desk on the customer, how long the case
was on hold, how many replies and reopenings it took, and who held it
(its assignee and team *stations*).

Each time is given twice, in calendar time and in the business time of a
:class:`~custservice.calendars.BusinessCalendar`, and is read from the case's
statuses and updates the same way its service targets read them
(:mod:`custservice.service_levels`), so the figures agree with theirs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

import attrs
import pendulum

from .._time import aware, in_zone, micros
from ..calendars import ALWAYS, BusinessCalendar, working_time
from ..cases import AssignmentChange, Case
from ..enums import CaseStatus
from ..errors import ValidationError
from ..service_levels import CaseFacts

__all__ = ["CaseMetrics", "Elapsed", "case_metrics"]

_AWAITING_CUSTOMER = frozenset({CaseStatus.PENDING})
_AWAITING_ANYONE = frozenset({CaseStatus.PENDING, CaseStatus.ON_HOLD})
_NEVER = frozenset[CaseStatus]()


@attrs.frozen
class Elapsed:
    """A time measured twice: as the clock runs, and in a calendar's working time.

    Attributes:
        calendar: the time as the clock runs (every hour of every day).
        business: the part of it that is working time in the calendar
            (never more than ``calendar``).
    """

    calendar: pendulum.Duration
    business: pendulum.Duration


@attrs.frozen
class CaseMetrics:
    """What a desk measures of one case, up to an instant.

    Attributes:
        case_id: the case's id.
        at: the instant measured up to, in the calendar's zone.
        first_reply: from the opening to the first public agent update;
            ``None`` while there is none.
        full_resolution: from the opening to the latest solving, while the
            case is solved or closed; ``None`` while it is not.
        requester_wait: the time the customer waited on the desk: while the
            case was new, open or on hold.
        agent_wait: the time the desk waited on the customer: while the case
            was pending. ``requester_wait + agent_wait`` is the whole time the
            case was not solved.
        on_hold: the part of ``requester_wait`` the case was on hold (waiting
            on someone else than the customer).
        replies: the public agent updates.
        reopens: how many times the case was reopened after being solved.
        assignees: the agents who held the case, in order (an agent who held
            it twice, with someone between, is there twice); no one while
            unassigned.
        teams: the teams that held the case, in order, read the same way.
    """

    case_id: uuid.UUID
    at: pendulum.DateTime
    first_reply: Elapsed | None
    full_resolution: Elapsed | None
    requester_wait: Elapsed
    agent_wait: Elapsed
    on_hold: Elapsed
    replies: int
    reopens: int
    assignees: tuple[str, ...]
    teams: tuple[str, ...]

    @property
    def assignee_stations(self) -> int:
        """How many agents held the case in turn: ``len(assignees)``."""
        return len(self.assignees)

    @property
    def team_stations(self) -> int:
        """How many teams held the case in turn: ``len(teams)``."""
        return len(self.teams)


def _elapsed(calendar: BusinessCalendar, stretches: Iterable[tuple[int, int]]) -> tuple[int, int]:
    wall = business = 0
    for start, end in stretches:
        wall += end - start
        business += working_time(calendar, start, end)
    return wall, business


def _as_elapsed(wall: int, business: int) -> Elapsed:
    return Elapsed(pendulum.duration(microseconds=wall), pendulum.duration(microseconds=business))


def _stations(first: str | None, changes: Sequence[str | None]) -> tuple[str, ...]:
    held: list[str] = []
    for holder in (first, *changes):
        if holder is not None and (not held or held[-1] != holder):
            held.append(holder)
    return tuple(held)


def _latest(case: Case) -> pendulum.DateTime:
    """The newest instant the case records: its opening or its latest change of any kind."""
    candidates = [case.opened_at]
    history = case.lifecycle.history
    for entries in (history, case.updates, case.assignments, case.priority_changes):
        if entries:
            candidates.append(entries[-1].at)
    return max(candidates, key=micros)


def case_metrics(
    case: Case, *, calendar: BusinessCalendar = ALWAYS, at: dt.datetime | None = None
) -> CaseMetrics:
    """A case's ticket metrics, in calendar and in business time.

    Args:
        case: the case.
        calendar: the working time business time counts;
            :data:`~custservice.calendars.ALWAYS` by default (then business
            time is calendar time).
        at: the instant to measure up to (history after it is left out); the
            newest instant the case records by default, so the result
            depends on the case alone.

    Returns:
        The :class:`CaseMetrics`.

    Raises:
        ValidationError: ``case`` is not a case, ``calendar`` not a calendar,
            or ``at`` is naive or before the case was opened.

    Examples:
        >>> import uuid
        >>> from custservice.analytics import case_metrics
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock)
        >>> case = case.advance("open", at=clock.now())
        >>> case = case.record_update(at=clock.advance(pendulum.duration(minutes=30)))
        >>> case = case.advance("await_customer", at=clock.now())
        >>> case = case.advance("solve", at=clock.advance(pendulum.duration(hours=2)))
        >>> m = case_metrics(case)
        >>> m.first_reply.calendar.in_minutes(), m.requester_wait.calendar.in_minutes()
        (30, 30)
        >>> m.agent_wait.calendar.in_minutes(), m.replies
        (120, 1)
        >>> m.full_resolution.calendar.in_minutes()
        150
    """
    if not isinstance(case, Case):
        raise ValidationError("expected a Case", field="case")
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError("expected a BusinessCalendar", field="calendar")
    when = _latest(case) if at is None else aware(at, "at")
    now = micros(when)
    opened = micros(case.opened_at)
    if now < opened:
        raise ValidationError("before the case was opened", field="at")
    facts = CaseFacts.of(case, now)

    first_reply = None
    answered = facts.first_reply
    if answered is not None:
        first_reply = _as_elapsed(*_elapsed(calendar, [(opened, answered)]))
    solved = facts.finished_since
    full_resolution = None
    if solved is not None:
        full_resolution = _as_elapsed(*_elapsed(calendar, [(opened, solved)]))

    # The stretches the clock of a target runs in, pausing in each set of statuses: the
    # customer's wait, then the time the desk worked it (not on hold), then every unsolved.
    requester = _elapsed(calendar, facts.timeline(_AWAITING_CUSTOMER).running)
    working = _elapsed(calendar, facts.timeline(_AWAITING_ANYONE).running)
    unsolved = _elapsed(calendar, facts.timeline(_NEVER).running)

    moves: list[AssignmentChange] = [a for a in case.assignments if micros(a.at) <= now]
    first_holder = case.assignments[0] if case.assignments else None
    return CaseMetrics(
        case_id=case.id,
        at=in_zone(when, calendar.timezone),
        first_reply=first_reply,
        full_resolution=full_resolution,
        requester_wait=_as_elapsed(*requester),
        agent_wait=_as_elapsed(unsolved[0] - requester[0], unsolved[1] - requester[1]),
        on_hold=_as_elapsed(requester[0] - working[0], requester[1] - working[1]),
        replies=sum(1 for _, from_customer in facts.updates if not from_customer),
        reopens=facts.reopens,
        assignees=_stations(
            case.assignee if first_holder is None else first_holder.previous_assignee,
            [a.assignee for a in moves],
        ),
        teams=_stations(
            case.team if first_holder is None else first_holder.previous_team,
            [a.team for a in moves],
        ),
    )
