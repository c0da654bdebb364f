"""Service targets: promises about a case, kept in business time.

A :class:`ServiceTarget` is a promise such as "a first answer within four
working hours". :meth:`ServiceTarget.evaluate` reads a :class:`~custservice.cases.Case`
at an instant and says where the promise stands, as a :class:`TargetStatus`.
Everything is derived from the case's history on every call: there are no
counters that could drift.

**What each metric measures.** Each metric is measured in *cycles*: a cycle
starts, its clock counts, and something ends it.

* ``FIRST_RESPONSE``: one cycle, from the opening of the case to its first
  public agent update (a :class:`~custservice.cases.CaseUpdate` with
  ``from_customer=False``).
* ``NEXT_RESPONSE``: a cycle starts at the oldest unanswered customer
  message (a customer update with no agent update after it) and ends at the
  next agent update. While no customer message has ever arrived nothing is
  owed: the target is ``ACHIEVED`` with ``started_at`` ``None``.
* ``PERIODIC_UPDATE``: a cycle starts at the opening, and again at every
  agent update, and ends at the next agent update: the customer is kept
  informed at least every ``within``.
* ``RESOLUTION``: one cycle, from the opening until the case is solved.
  Reopening resumes the same clock, so the time counted is every open
  period, never the time spent solved.

**When the clock counts.** Only in the working time of the target's
calendar, and only while the case's status is not in ``paused_in``
(``PENDING``, waiting on the customer, by default) and the case is not
``SOLVED`` or ``CLOSED``. Statuses come from ``case.lifecycle.history``;
only history up to the instant evaluated is considered.

**Solved means nothing further is due.** While the case is ``SOLVED`` or
``CLOSED``, a cycle that has not ended is ``ACHIEVED`` (at the instant the
case was solved) for every metric; reopening the case starts its clock again.

**Due, breached, on time.** A cycle's due instant (``due_at``) is the first
instant at which its counted time reaches ``within`` (computed with
:meth:`~custservice.calendars.BusinessCalendar.deadline` from the moment the
clock last started, with the budget left). Work done at or before the due
instant is on time: reaching exactly ``within`` is not a breach. The cycle
breaches at the due instant when its clock is still running there (the
case not paused, not solved, the work not done), and the breach shows for
every evaluation after it. So a deadline at 17:00 on a Friday is breached
at 17:00, even though no more working time passes until Monday. If the
clock stops exactly at the due instant (the case goes pending), the cycle
breaches the moment the clock starts again with nothing left.

**A breach is never back-dated and never undone.** ``breached_at`` is the
instant of the first breach of any cycle; later evaluations, later work and
later history leave it as it is, and the target stays ``BREACHED``. (This
holds for history that moves forward in time, as the case's own verbs
record it.)

Examples:
    >>> import uuid
    >>> from custservice.service_levels import ServiceTarget
    >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
    >>> case = Case.open(uuid.uuid4(), "Where is my parcel?", clock=clock)
    >>> target = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=4))
    >>> status = target.evaluate(case, at=clock.advance(pendulum.duration(hours=1)))
    >>> status.state, status.remaining.in_hours(), status.due_at.isoformat()
    (<TargetState.ACTIVE: 'active'>, 3, '2026-03-02T13:00:00+00:00')
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

import attrs
import pendulum

from ._time import aware, duration, in_zone
from ._validation import Problems, member
from .calendars import ALWAYS, BusinessCalendar
from .cases import Case, CaseUpdate
from .enums import CaseStatus, Metric, TargetState, Verdict
from .errors import ValidationError
from .expectations import ExpectationBand
from .lifecycle import StateChange

__all__ = ["ServiceTarget", "TargetStatus"]

_FINISHED = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})
_ONE_US = dt.timedelta(microseconds=1)
_ZERO = pendulum.duration()

_Interval = tuple[dt.datetime, dt.datetime]
_Cycle = tuple[dt.datetime, dt.datetime | None]


def _us(value: dt.timedelta) -> int:
    # timedelta's own division: exact, whatever pendulum.Duration does with its fields
    return dt.timedelta.__floordiv__(value, _ONE_US)


def _utc(value: dt.datetime) -> dt.datetime:
    # Every comparison is made in UTC: two datetimes that share a zone compare by
    # their wall clocks, which is wrong in the repeated hour when clocks go back.
    return dt.datetime.astimezone(value, dt.UTC)


def _change_at(change: StateChange) -> dt.datetime:
    return _utc(change.at)


def _update_at(update: CaseUpdate) -> dt.datetime:
    return _utc(update.at)


@attrs.frozen
class TargetStatus:
    """Where a service target stands on one case at one instant.

    ``state`` and ``breached_at`` describe the target over the life of the
    case: once any cycle has breached, the target stays ``BREACHED``. The
    other fields describe the *current cycle* (for ``FIRST_RESPONSE`` and
    ``RESOLUTION`` there is only one), so a desk can still see when the next
    answer is due after an earlier one was late.

    Every instant is given in the target calendar's time zone.

    Attributes:
        metric: what the target measures.
        at: the instant evaluated.
        state: ``BREACHED`` once any cycle breached; else ``ACHIEVED`` when
            nothing is owed (the current cycle ended, the case is solved or
            closed, or no cycle has started); else ``PAUSED`` while the
            case's status pauses the clock; else ``ACTIVE``.
        started_at: when the current cycle started; ``None`` when no cycle
            has started (``NEXT_RESPONSE`` before any customer message).
        elapsed: business time counted in the current cycle, up to ``at``
            or until the cycle ended.
        remaining: business time left in the current cycle's budget; zero
            once the cycle breached or nothing is owed.
        due_at: the instant the current cycle breaches (when its clock is
            running) or breached; ``None`` when nothing is owed, or while
            paused (it depends on when the clock starts again; ``remaining``
            tells the budget left).
        breached_at: when the target first breached, over every cycle;
            ``None`` if it never did.
        achieved_at: when the current cycle ended (the answering update, or
            the instant the case was solved); ``None`` while it is open.
        verdict: the expectation band's classification of ``elapsed`` once
            the current cycle has ended or breached; ``None`` otherwise, or
            when the target has no band.
    """

    metric: Metric
    at: pendulum.DateTime
    state: TargetState
    started_at: pendulum.DateTime | None
    elapsed: pendulum.Duration
    remaining: pendulum.Duration
    due_at: pendulum.DateTime | None
    breached_at: pendulum.DateTime | None = None
    achieved_at: pendulum.DateTime | None = None
    verdict: Verdict | None = None


def _paused_in(value: object) -> frozenset[CaseStatus]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("expected a set of case statuses", field="paused_in")
    return frozenset(member(CaseStatus, v, "paused_in") for v in value)


def _within(value: object) -> pendulum.Duration:
    d = duration(value, "within")
    if d.years or d.months:
        raise ValidationError("months and years have no fixed length", field="within")
    if _us(d) <= 0:
        raise ValidationError("must be a positive duration", field="within")
    return d


class _Timeline:
    """The case's statuses up to an instant, as the stretches in which the clock may run."""

    __slots__ = ("finished_since", "running", "running_now")

    def __init__(self, case: Case, at: dt.datetime, stopped: frozenset[CaseStatus]) -> None:
        history = case.lifecycle.history
        n = bisect_right(history, at, key=_change_at)
        opened = _utc(case.opened_at)
        status = CaseStatus(str(history[0].source if len(history) else case.lifecycle.current))
        since = opened
        finished_since = opened if status in _FINISHED else None
        running: list[_Interval] = []
        for change in history[:n]:
            t = max(_utc(change.at), opened)
            if status not in stopped:
                _append(running, since, t)
            new = CaseStatus(str(change.target))
            if new in _FINISHED and status not in _FINISHED:
                finished_since = t
            status, since = new, t
        self.running_now = status not in stopped
        if self.running_now:
            _append(running, since, at)
        self.running = running
        self.finished_since = finished_since if status in _FINISHED else None


def _append(running: list[_Interval], start: dt.datetime, end: dt.datetime) -> None:
    if running and running[-1][1] == start:
        running[-1] = (running[-1][0], end)
    else:
        running.append((start, end))


@attrs.frozen
class ServiceTarget:
    """A promise about a case, kept in business time.

    The promise (``within``) is what the desk commits to; the ``band`` is the
    customer's zone of tolerance for the same measure. They are separate
    things and both are reported: a late answer breaches the target, and the
    band says whether the customer still found it acceptable.

    See the module documentation for what each metric measures and how
    due instants and breaches are decided.

    Args:
        metric: what is measured.
        within: the business time allowed per cycle; positive, and not in
            months or years.
        calendar: when the clock counts; :data:`~custservice.calendars.ALWAYS`
            (24/7) by default. It must have some working time.
        paused_in: the case statuses that stop the clock (``PENDING``,
            waiting on the customer, by default). ``SOLVED`` and ``CLOSED``
            always stop it.
        band: the customer's zone of tolerance for the same metric, with
            duration levels; ``None`` for no verdict.

    Raises:
        ValidationError: naming every bad field at once.

    Examples:
        >>> from datetime import time
        >>> desk = BusinessCalendar("Europe/London", {d: [(time(9), time(17))] for d in range(5)})
        >>> ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=16), calendar=desk).metric
        <Metric.RESOLUTION: 'resolution'>
    """

    metric: Metric
    within: pendulum.Duration
    calendar: BusinessCalendar = attrs.field(default=ALWAYS, kw_only=True)
    paused_in: frozenset[CaseStatus] = attrs.field(
        default=frozenset({CaseStatus.PENDING}), kw_only=True
    )
    band: ExpectationBand | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        metric = problems.run(member, Metric, self.metric, "metric")
        within = problems.run(_within, self.within)
        if not isinstance(self.calendar, BusinessCalendar):
            problems.add("calendar", f"expected a BusinessCalendar, got {type(self.calendar)}")
        elif not any(self.calendar.hours):
            problems.add("calendar", "has no working time at all")
        paused_in = problems.run(_paused_in, self.paused_in)
        if self.band is not None:
            if not isinstance(self.band, ExpectationBand):
                problems.add("band", "expected an ExpectationBand or None")
            else:
                if metric is not None and self.band.metric != metric:
                    problems.add(
                        "band",
                        f"measures {str(self.band.metric)!r}, not the target's {str(metric)!r}",
                    )
                if not isinstance(self.band.desired, dt.timedelta):
                    problems.add("band", "its levels must be durations")
        problems.raise_if_any()
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "within", within)
        object.__setattr__(self, "paused_in", paused_in)

    def evaluate(self, case: Case, *, at: dt.datetime) -> TargetStatus:
        """Where this target stands on ``case`` at ``at``.

        Only the case's history up to ``at`` (inclusive) is considered, so
        evaluating at a past instant tells what was known then.

        Args:
            case: the case.
            at: the instant to evaluate at; timezone-aware, not before the
                case was opened.

        Returns:
            The target's status; see :class:`TargetStatus`.

        Raises:
            ValidationError: ``at`` is naive or before the case was opened,
                or ``case`` is not a :class:`~custservice.cases.Case`.

        Examples:
            >>> import uuid
            >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
            >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock)
            >>> case = case.record_update(at=clock.advance(pendulum.duration(minutes=30)))
            >>> target = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1))
            >>> status = target.evaluate(case, at=clock.advance(pendulum.duration(hours=2)))
            >>> status.state, status.elapsed.in_minutes()
            (<TargetState.ACHIEVED: 'achieved'>, 30)
        """
        when = aware(at, "at")
        if not isinstance(case, Case):
            raise ValidationError("expected a Case", field="case")
        now = _utc(when)
        if now < _utc(case.opened_at):
            raise ValidationError("before the case was opened", field="at")
        timeline = _Timeline(case, now, self.paused_in | _FINISHED)
        cycles = self._cycles(case, now)
        if not cycles:  # NEXT_RESPONSE before any customer message: nothing is owed
            local_now = in_zone(now, self.calendar.timezone)
            return TargetStatus(
                self.metric, local_now, TargetState.ACHIEVED, None, _ZERO, _ZERO, None
            )
        first_breach = None
        for start, end in cycles[:-1]:
            assert end is not None
            if dt.datetime.__sub__(end, start) <= self.within:
                continue  # working time never exceeds wall time: this cycle cannot breach
            first_breach = self._measure(timeline, start, end, now)[1]
            if first_breach is not None:
                break
        start, end = cycles[-1]
        used, breach, restart, before = self._measure(timeline, start, end, now)
        first_breach = first_breach or breach
        achieved_at: dt.datetime | None = None
        if end is not None:
            achieved_at = end
        elif timeline.finished_since is not None:
            achieved_at = max(timeline.finished_since, start)
        within = _us(self.within)
        due_at = breach
        if breach is None and achieved_at is None and restart is not None:
            due_at = self._deadline(restart, within - before)
        remaining = 0 if breach is not None or achieved_at is not None else within - used
        if first_breach is not None:
            state = TargetState.BREACHED
        elif achieved_at is not None:
            state = TargetState.ACHIEVED
        else:
            state = TargetState.ACTIVE if timeline.running_now else TargetState.PAUSED
        elapsed = pendulum.duration(microseconds=used)
        verdict = None
        if self.band is not None and (breach is not None or achieved_at is not None):
            verdict = self.band.classify(elapsed)
        return TargetStatus(
            self.metric,
            in_zone(now, self.calendar.timezone),
            state,
            self._local(start),
            elapsed,
            pendulum.duration(microseconds=max(remaining, 0)),
            self._local(due_at),
            self._local(first_breach),
            self._local(achieved_at),
            verdict,
        )

    def _local(self, value: dt.datetime | None) -> pendulum.DateTime | None:
        return None if value is None else in_zone(value, self.calendar.timezone)

    def _deadline(self, start: dt.datetime, budget: int) -> dt.datetime:
        return _utc(self.calendar.deadline(start, dt.timedelta(microseconds=budget)))

    def _cycles(self, case: Case, at: dt.datetime) -> list[_Cycle]:
        """Every cycle started by ``at``, oldest first, with its end (``None`` while open)."""
        updates: Sequence[CaseUpdate] = case.updates
        updates = updates[: bisect_right(updates, at, key=_update_at)]
        opened = _utc(case.opened_at)
        metric = self.metric
        if metric is Metric.RESOLUTION:
            return [(opened, None)]
        if metric is Metric.FIRST_RESPONSE:
            return [(opened, next((_utc(u.at) for u in updates if not u.from_customer), None))]
        cycles: list[_Cycle] = []
        start: dt.datetime | None = opened if metric is Metric.PERIODIC_UPDATE else None
        for update in updates:
            if update.from_customer:
                if start is None:
                    start = _utc(update.at)
            elif start is not None:
                cycles.append((start, _utc(update.at)))
                start = _utc(update.at) if metric is Metric.PERIODIC_UPDATE else None
        if start is not None:
            cycles.append((start, None))
        return cycles

    def _measure(
        self,
        timeline: _Timeline,
        start: dt.datetime,
        end: dt.datetime | None,
        at: dt.datetime,
    ) -> tuple[int, dt.datetime | None, dt.datetime | None, int]:
        """Count one cycle's clock.

        Returns:
            The business time counted (microseconds), the breach instant or
            ``None``, and, when the clock is running at ``at``, the instant it
            last started and the time counted before that (else ``None``, 0).
        """
        calendar = self.calendar
        within = _us(self.within)
        stop = at if end is None else end
        running = timeline.running
        used = 0
        breach = None
        last: tuple[dt.datetime, int] | None = None
        for p, q in running[bisect_left(running, start, key=lambda iv: iv[1]) :]:
            p, q = max(p, start), min(q, stop)
            if p > stop:
                break
            if p > q:
                continue
            counted = _us(calendar.elapsed(p, q))
            if breach is None and used + counted >= within:
                due = self._deadline(p, within - used)
                if due < q:
                    breach = due
            last = (p, used)
            used += counted
        if end is None and timeline.running_now and last is not None:
            return used, breach, last[0], last[1]
        return used, breach, None, 0
