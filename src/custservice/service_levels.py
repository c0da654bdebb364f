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
from collections.abc import Callable, Iterable, Sequence

import attrs
import pendulum

from ._history import history_entries
from ._time import aware, duration, in_zone, micros
from ._validation import Problems, member
from .calendars import ALWAYS, BusinessCalendar, working_deadline, working_time
from .cases import Case
from .enums import CaseStatus, Metric, TargetState, Verdict
from .errors import ValidationError
from .expectations import ExpectationBand
from .pipelines import CASE_PIPELINE, CasePipeline

__all__ = ["ServiceTarget", "TargetStatus"]

FINISHED = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})
"""The statuses of a case nobody works on any more; a case in any other status is open.
Every count of open cases (the desk, the backlog, health's open breaches) reads this."""
_ONE_US = dt.timedelta(microseconds=1)
_ZERO = pendulum.duration()
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_STATES = {s.value: str.__str__(s) for s in CaseStatus}
_FINISHED_STATES = frozenset(str.__str__(s) for s in FINISHED)

# Instants are whole microseconds since 1970 (UTC) throughout: they compare by the
# instant, never by wall clocks (two datetimes that share a zone compare by their wall
# clocks, which is wrong in the repeated hour when clocks go back).
_Interval = tuple[int, int]
_Cycle = tuple[int, int | None]


def _us(value: dt.timedelta) -> int:
    # timedelta's own division: exact, whatever pendulum.Duration does with its fields
    return dt.timedelta.__floordiv__(value, _ONE_US)


def case_state(state: object) -> str:
    """The value of the :class:`~custservice.enums.CaseStatus` a case lifecycle state
    stands for, as plain text (which hashes and compares at the speed of text).

    Raises:
        ValueError: ``state`` is not a case status.
    """
    if type(state) is str:
        found = _STATES.get(state)
        if found is not None:
            return found
    return str.__str__(CaseStatus(str(state)))


def pipeline_status(pipeline: CasePipeline) -> Callable[[object], str]:
    """The function giving, for a state of ``pipeline``, the value of the
    :class:`~custservice.enums.CaseStatus` it stands for, as :func:`case_state` does for
    the built-in pipeline.

    Raises:
        KeyError: (from the function) a state that is not the pipeline's.
    """
    if pipeline is CASE_PIPELINE:
        return case_state
    found = _PIPELINE_STATUS.get(pipeline)
    if found is None:
        category = pipeline.category

        def found(state: object) -> str:
            return str.__str__(category(state))

        if len(_PIPELINE_STATUS) > 64:
            _PIPELINE_STATUS.clear()
        _PIPELINE_STATUS[pipeline] = found
    return found


_PIPELINE_STATUS: dict[CasePipeline, Callable[[object], str]] = {}
_CLOSED = str.__str__(CaseStatus.CLOSED)


def with_merges(
    first: str, changes: list[tuple[int, str]], merges: Sequence[tuple[int, bool]]
) -> list[tuple[int, str]]:
    """A case's status changes with each stretch it spent merged into another case as a
    change to ``CLOSED`` and back to the status it had.

    Args:
        first: the status before the first change.
        changes: the status changes, oldest first: when, and the status.
        merges: the merges and unmerges, oldest first: when, and whether it was a merge.
            Nothing changes while a case is merged, so the status it goes back to is the
            one it had when merged.
    """
    if not merges:
        return changes
    out: list[tuple[int, str]] = []
    i, status = 0, first
    for t, merging in merges:
        while i < len(changes) and changes[i][0] <= t:
            status = changes[i][1]
            out.append(changes[i])
            i += 1
        out.append((t, _CLOSED if merging else status))
    out.extend(changes[i:])
    return out


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
        warning: ``True`` while the target is ``ACTIVE`` and no more than its
            ``warn_before`` remains; always ``False`` for a target without one.
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
    warning: bool = False


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


def _warn_before(value: object, within: pendulum.Duration | None) -> pendulum.Duration | None:
    if value is None:
        return None
    d = duration(value, "warn_before")
    if d.years or d.months:
        raise ValidationError("months and years have no fixed length", field="warn_before")
    if _us(d) <= 0:
        raise ValidationError("must be a positive duration", field="warn_before")
    if within is not None and _us(d) >= _us(within):
        raise ValidationError("must be shorter than within", field="warn_before")
    return d


def _when(item: tuple[int, object]) -> int:
    return item[0]


class CaseFacts:
    """What service targets read of a case, up to an instant, as whole microseconds since
    1970 (UTC).

    Built once per case and instant, and shared by every target evaluated there: the
    stretches in which the clock may run are worked out once per set of pausing
    statuses, and the cycles once per metric.

    Args:
        opened: when the case was opened.
        first: the case's status before its first lifecycle change (its current status
            when it has none), as :func:`case_state` gives it.
        changes: every lifecycle change, oldest first: when, and the status it led to
            (as :func:`case_state` gives it).
        updates: every public update, oldest first: when, and whether the customer
            wrote it.
        at: the instant evaluated, not before ``opened``; later changes and updates
            are left out.
    """

    __slots__ = ("_cycles", "_timelines", "at", "changes", "first", "opened", "updates")

    def __init__(
        self,
        opened: int,
        first: str,
        changes: Sequence[tuple[int, str]],
        updates: Sequence[tuple[int, bool]],
        at: int,
    ) -> None:
        self.opened = opened
        self.first = first
        if changes and changes[-1][0] > at:
            changes = changes[: bisect_right(changes, at, key=_when)]
        if updates and updates[-1][0] > at:
            updates = updates[: bisect_right(updates, at, key=_when)]
        self.changes = changes
        self.updates = updates
        self.at = at
        self._timelines: dict[frozenset[CaseStatus], _Timeline] = {}
        self._cycles: dict[Metric, list[_Cycle]] = {}

    @classmethod
    def of(cls, case: Case, at: int) -> CaseFacts:
        """The facts of ``case`` at ``at`` (microseconds since 1970, UTC): its states
        read as the statuses its pipeline files them under, and each stretch it spent
        merged into another case as ``CLOSED``."""
        lifecycle = case.lifecycle
        entries = list(history_entries(lifecycle.history))
        status = pipeline_status(case.pipeline)
        first = status(entries[0][1] if entries else lifecycle.current)
        return cls(
            micros(case.opened_at),
            first,
            with_merges(
                first,
                [(micros(e[3]), status(e[2])) for e in entries],
                [(micros(m.at), m.into is not None) for m in case.merges],
            ),
            [(micros(u.at), u.from_customer) for u in case.updates],
            at,
        )

    def until(self, at: int) -> CaseFacts:
        """The same facts at an instant no later than :attr:`at`: what came after it left
        out, nothing read again from the case."""
        return CaseFacts(self.opened, self.first, self.changes, self.updates, at)

    @property
    def first_reply(self) -> int | None:
        """When the first public agent update came (a ``FIRST_RESPONSE`` cycle's end), or
        ``None`` while there is none."""
        return self.cycles(Metric.FIRST_RESPONSE)[0][1]

    @property
    def finished_since(self) -> int | None:
        """Since when the case has been solved or closed without a break (its latest
        resolution), or ``None`` while it is open."""
        return self.timeline(_NEVER_PAUSED).finished_since

    @property
    def changed_at(self) -> int:
        """The latest change of status up to :attr:`at` (a merge or unmerge counting as
        one), or the opening when there is none: at any instant from it on, the facts
        read the same statuses."""
        changes = self.changes
        return max(self.opened, changes[-1][0]) if changes else self.opened

    @property
    def reopens(self) -> int:
        """How many times the case went from solved or closed back to an open status."""
        count = 0
        finished = self.first in _FINISHED_STATES
        for _, new in self.changes:
            now = new in _FINISHED_STATES
            count += finished and not now
            finished = now
        return count

    def timeline(self, paused_in: frozenset[CaseStatus]) -> _Timeline:
        """When the clock of a target pausing in ``paused_in`` may run."""
        found = self._timelines.get(paused_in)
        if found is None:
            found = self._timelines[paused_in] = _Timeline(self, _stopped(paused_in))
        return found

    def cycles(self, metric: Metric) -> list[_Cycle]:
        """Every cycle of ``metric`` started by the instant, oldest first, with its end
        (``None`` while open)."""
        found = self._cycles.get(metric)
        if found is None:
            found = self._cycles[metric] = _cycles(metric, self.opened, self.updates)
        return found


_NEVER_PAUSED = frozenset[CaseStatus]()
_WHOLE_HISTORY = 2**62
"""An instant (µs since 1970) after any a case records: facts at it read the whole history."""


def whole_history(case: Case) -> CaseFacts:
    """The facts of ``case`` over its whole history (:meth:`CaseFacts.until` gives them at
    an earlier instant)."""
    return CaseFacts.of(case, _WHOLE_HISTORY)


def reply_and_resolution(facts: CaseFacts) -> tuple[int | None, int | None]:
    """The calendar time from a case's opening to its first reply and to its resolution,
    in microseconds (:attr:`CaseFacts.first_reply` and :attr:`CaseFacts.finished_since`),
    each ``None`` while there is none.

    The one reading of both: of :func:`whole_history`, it is what the scorecard counts
    and what a SQL store keeps in its typed columns ``first_reply`` and ``resolution``;
    :func:`~custservice.analytics.case_metrics` reads the same properties at its instant.
    """
    opened = facts.opened
    replied, solved = facts.first_reply, facts.finished_since
    return (
        None if replied is None else replied - opened,
        None if solved is None else solved - opened,
    )


def _cycles(metric: Metric, opened: int, updates: Sequence[tuple[int, bool]]) -> list[_Cycle]:
    if metric is Metric.RESOLUTION:
        return [(opened, None)]
    if metric is Metric.FIRST_RESPONSE:
        for t, from_customer in updates:
            if not from_customer:
                return [(opened, t)]
        return [(opened, None)]
    periodic = metric is Metric.PERIODIC_UPDATE
    cycles: list[_Cycle] = []
    start: int | None = opened if periodic else None
    for t, from_customer in updates:
        if from_customer:
            if start is None:
                start = t
        elif start is not None:
            cycles.append((start, t))
            start = t if periodic else None
    if start is not None:
        cycles.append((start, None))
    return cycles


_STOPPED: dict[frozenset[CaseStatus], frozenset[str]] = {}


def _stopped(paused_in: frozenset[CaseStatus]) -> frozenset[str]:
    """The states that stop the clock of a target pausing in ``paused_in``."""
    found = _STOPPED.get(paused_in)
    if found is None:
        if len(_STOPPED) > 64:
            _STOPPED.clear()
        found = _STOPPED[paused_in] = _FINISHED_STATES | {str.__str__(s) for s in paused_in}
    return found


class _Timeline:
    """The case's statuses up to the instant, as the stretches in which the clock may run."""

    __slots__ = ("finished_since", "running", "running_now")

    def __init__(self, facts: CaseFacts, stopped: frozenset[str]) -> None:
        opened = facts.opened
        state = facts.first
        since = opened
        finished = state in _FINISHED_STATES
        finished_since = opened if finished else None
        runs = state not in stopped
        running: list[_Interval] = []
        for t, new in facts.changes:
            if t < opened:
                t = opened
            if runs:  # the stretch from ``since`` to ``t``, joined to one ending there
                if running and running[-1][1] == since:
                    running[-1] = (running[-1][0], t)
                else:
                    running.append((since, t))
            if new in _FINISHED_STATES:
                if not finished:
                    finished_since = t
                finished = True
            else:
                finished = False
            runs = new not in stopped
            since = t
        self.running_now = runs
        if runs:
            if running and running[-1][1] == since:
                running[-1] = (running[-1][0], facts.at)
            else:
                running.append((since, facts.at))
        self.running = running
        self.finished_since = finished_since if finished else None


def _end(interval: _Interval) -> int:
    return interval[1]


_Deadline = tuple[int, int]
"""A deadline not yet worked out: the instant business time starts counting from, and
how much of it must pass (see :func:`~custservice.calendars.working_deadline`)."""


_Measured = tuple[int, _Deadline | None, int | None, int]
"""What :func:`_measure` finds of one cycle."""


_Counting = tuple[BusinessCalendar, int, "_Timeline", int, int | None, int]
"""What :func:`_measure` is given to count one cycle: the calendar, the budget, the
stretches the clock may run in, the cycle's start and end, the instant evaluated."""


class Outcome:
    """Where one target stands on one case at one instant: the figures of a
    :class:`TargetStatus`, instants and durations in whole microseconds (instants since
    1970, UTC).

    ``state``, ``start`` and ``achieved`` are known at once; the business time of the
    current cycle, and what follows from it, is counted when first read (a breach it
    could hold is ruled out or found first: ``state`` never waits for it).

    Attributes:
        state: as :attr:`TargetStatus.state`.
        start: when the current cycle started; ``None`` when none has.
        achieved: as :attr:`TargetStatus.achieved_at`.
    """

    __slots__ = ("_band", "_breach", "_counting", "_measured", "achieved", "start", "state")

    def __init__(
        self,
        state: TargetState,
        start: int | None,
        achieved: int | None,
        band: ExpectationBand | None,
        counting: _Counting | None,
        breach: _Deadline | None,
        measured: _Measured | None,
    ) -> None:
        self.state = state
        self.start = start
        self.achieved = achieved
        self._band = band
        self._counting = counting
        self._breach = breach
        self._measured = measured

    def _cycle(self) -> _Measured:
        measured = self._measured
        if measured is None:
            assert self._counting is not None
            measured = self._measured = _measure(*self._counting)
        return measured

    @property
    def used(self) -> int:
        """The business time counted in the current cycle."""
        return self._cycle()[0]

    @property
    def remaining(self) -> int:
        """The budget left in the current cycle (never negative)."""
        used, breach, _, _ = self._cycle()
        if self._counting is None or breach is not None or self.achieved is not None:
            return 0
        return max(self._counting[1] - used, 0)

    @property
    def due(self) -> int | None:
        """As :attr:`TargetStatus.due_at`."""
        _, breach, restart, before = self._cycle()
        if breach is None and self.achieved is None and restart is not None:
            assert self._counting is not None
            breach = (restart, self._counting[1] - before)
        return None if breach is None else self._deadline(breach)

    @property
    def breach(self) -> int | None:
        """As :attr:`TargetStatus.breached_at`."""
        return None if self._breach is None else self._deadline(self._breach)

    @property
    def verdict(self) -> Verdict | None:
        """As :attr:`TargetStatus.verdict`."""
        band = self._band
        if band is None:
            return None
        used, breach, _, _ = self._cycle()
        if breach is None and self.achieved is None:
            return None
        return band.classify(dt.timedelta(microseconds=used))

    def _deadline(self, deadline: _Deadline) -> int:
        assert self._counting is not None
        return working_deadline(self._counting[0], *deadline)


_NOTHING_OWED = Outcome(TargetState.ACHIEVED, None, None, None, None, None, (0, None, None, 0))


def outcomes(targets: Iterable[ServiceTarget], facts: CaseFacts) -> list[Outcome]:
    """Where each of ``targets`` stands on the case of ``facts``, in one reading of its
    history: what :meth:`ServiceTarget.evaluate` reports, in microseconds."""
    return [_outcome(target, facts) for target in targets]


def _outcome(target: ServiceTarget, facts: CaseFacts) -> Outcome:
    cycles = facts.cycles(target.metric)
    if not cycles:  # NEXT_RESPONSE before any customer message: nothing is owed
        return _NOTHING_OWED
    timeline = facts.timeline(target.paused_in)
    calendar = target.calendar
    within = _us(target.within)
    now = facts.at
    first_breach = None
    for start, end in cycles[:-1]:
        assert end is not None
        if _running(timeline, start, end) <= within:
            continue  # business time never exceeds the time the clock may run: no breach
        first_breach = _measure(calendar, within, timeline, start, end, now)[1]
        if first_breach is not None:
            break
    start, end = cycles[-1]
    counting = (calendar, within, timeline, start, end, now)
    measured = None
    band = target.band
    if first_breach is None and (
        band is not None or _running(timeline, start, now if end is None else end) > within
    ):
        # It may have breached: counted now, as the state depends on it (and with a band,
        # the verdict is read from the count).
        measured = _measure(*counting)
        first_breach = measured[1]
    achieved: int | None = None
    if end is not None:
        achieved = end
    elif timeline.finished_since is not None:
        achieved = max(timeline.finished_since, start)
    if first_breach is not None:
        state = TargetState.BREACHED
    elif achieved is not None:
        state = TargetState.ACHIEVED
    else:
        state = TargetState.ACTIVE if timeline.running_now else TargetState.PAUSED
    return Outcome(state, start, achieved, band, counting, first_breach, measured)


def outcome_since(target: ServiceTarget, facts: CaseFacts, since: int) -> Outcome:
    """Where ``target`` stands on the case of ``facts`` when it has applied only from
    ``since`` (an instant, as ``facts`` counts them, not after ``facts.at``).

    Time counted before ``since`` carries over, but nothing is back-dated: a cycle that
    ended by ``since`` is done, whatever it took, and a cycle already overdue at
    ``since`` breaches at the first instant from ``since`` at which its clock runs.
    With ``since`` at the opening, this is what :meth:`ServiceTarget.evaluate` reports.
    """
    cycles = facts.cycles(target.metric)
    if not cycles:
        return _NOTHING_OWED
    timeline = facts.timeline(target.paused_in)
    calendar = target.calendar
    within = _us(target.within)
    now = facts.at
    first_breach: int | None = None
    measured: _Measured | None = None
    last = len(cycles) - 1
    for i, (start, end) in enumerate(cycles):
        done = end is not None and end <= since
        if i != last and (done or first_breach is not None):
            continue  # nothing owed under this target, or its first breach is known
        found = _measure(calendar, within, timeline, start, end, now)
        breach = None
        if found[1] is not None and not done:
            breach = working_deadline(calendar, *found[1])
            if breach < since:  # overdue when the target began to apply: never back-dated
                breach = _resumed(timeline, since, end)
        if first_breach is None:
            first_breach = breach
        if i == last:
            measured = (found[0], None if breach is None else (breach, 0), found[2], found[3])
    start, end = cycles[-1]
    achieved: int | None = None
    if end is not None:
        achieved = end
    elif timeline.finished_since is not None:
        achieved = max(timeline.finished_since, start)
    if first_breach is not None:
        state = TargetState.BREACHED
    elif achieved is not None:
        state = TargetState.ACHIEVED
    else:
        state = TargetState.ACTIVE if timeline.running_now else TargetState.PAUSED
    counting = (calendar, within, timeline, start, end, now)
    breached = None if first_breach is None else (first_breach, 0)
    return Outcome(state, start, achieved, target.band, counting, breached, measured)


def _resumed(timeline: _Timeline, since: int, end: int | None) -> int | None:
    """The first instant from ``since`` (and before ``end``, when the cycle ended) at
    which the clock runs; ``None`` if it has not run since."""
    for p, q in timeline.running:
        s = max(p, since)
        if end is not None and s >= end:
            return None
        # The last stretch may be the single instant evaluated (the clock just started).
        if s < q or (s == q and timeline.running_now and q == timeline.running[-1][1]):
            return s
    return None


def _running(timeline: _Timeline, start: int, stop: int) -> int:
    """The wall time in ``[start, stop]`` in which the clock may run: no less than the
    business time it counts there."""
    total = 0
    running = timeline.running
    # From the first stretch ending at or after ``start``: a case's cycles each look at
    # their own part of a long history, so none walks it from the opening.
    for i in range(bisect_left(running, start, key=_end), len(running)):
        p, q = running[i]
        if p >= stop:
            break
        if q > stop:
            q = stop
        if p < start:
            p = start
        if q > p:
            total += q - p
    return total


def _measure(
    calendar: BusinessCalendar,
    within: int,
    timeline: _Timeline,
    start: int,
    end: int | None,
    at: int,
) -> tuple[int, _Deadline | None, int | None, int]:
    """Count one cycle's clock.

    Returns:
        The business time counted, the breach instant (as a deadline) or ``None``,
        and, when the clock is running at ``at``, the instant it last started and the
        time counted before that (else ``None``, 0).
    """
    stop = at if end is None else end
    running = timeline.running
    used = 0
    breach = None
    last: tuple[int, int] | None = None
    for i in range(bisect_left(running, start, key=_end), len(running)):
        p, q = running[i]
        if p < start:
            p = start
        if q > stop:
            q = stop
        if p > stop:
            break
        if p > q:
            continue
        counted = working_time(calendar, p, q)
        if breach is None and used + counted >= within:
            if used + counted > within:
                # More than the budget counted by q: the deadline falls before it.
                breach = (p, within - used)
            else:
                due = working_deadline(calendar, p, within - used)
                if due < q:
                    breach = (due, 0)
        last = (p, used)
        used += counted
    if end is None and timeline.running_now and last is not None:
        return used, breach, last[0], last[1]
    return used, breach, None, 0


def _instant(us: int | None, zone: str) -> pendulum.DateTime | None:
    return None if us is None else in_zone(_EPOCH + dt.timedelta(microseconds=us), zone)


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
        warn_before: how long before the due instant the target warns
            (:attr:`TargetStatus.warning`): a positive business time shorter
            than ``within``, or ``None`` for no warning.

    Raises:
        ValidationError: naming every bad field at once.

    Examples:
        >>> from datetime import time
        >>> nine_to_five = {d: [(time(9), time(17))] for d in range(5)}
        >>> desk = BusinessCalendar("Europe/London", nine_to_five)
        >>> two_days = pendulum.duration(hours=16)
        >>> ServiceTarget(Metric.RESOLUTION, two_days, calendar=desk).metric
        <Metric.RESOLUTION: 'resolution'>
    """

    metric: Metric
    within: pendulum.Duration
    calendar: BusinessCalendar = attrs.field(default=ALWAYS, kw_only=True)
    paused_in: frozenset[CaseStatus] = attrs.field(
        default=frozenset({CaseStatus.PENDING}), kw_only=True
    )
    band: ExpectationBand | None = attrs.field(default=None, kw_only=True)
    warn_before: pendulum.Duration | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        metric = problems.run(member, Metric, self.metric, "metric")
        within = problems.run(_within, self.within)
        warn_before = problems.run(_warn_before, self.warn_before, within)
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
        object.__setattr__(self, "warn_before", warn_before)

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
        return self.evaluate_many((self,), case, at=at)[0]

    @staticmethod
    def evaluate_many(
        targets: Iterable[ServiceTarget], case: Case, *, at: dt.datetime
    ) -> tuple[TargetStatus, ...]:
        """Where each of ``targets`` stands on ``case`` at ``at``, reading its history once.

        Gives exactly what :meth:`evaluate` gives for each target, in the order given;
        the case's statuses and updates are worked out once for all of them.

        Args:
            targets: the service targets.
            case: the case.
            at: the instant to evaluate at; timezone-aware, not before the
                case was opened.

        Returns:
            One :class:`TargetStatus` per target.

        Raises:
            ValidationError: ``at`` is naive or before the case was opened,
                ``case`` is not a :class:`~custservice.cases.Case`, or a target
                is not a :class:`ServiceTarget`.

        Examples:
            >>> import uuid
            >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
            >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock)
            >>> targets = [
            ...     ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1)),
            ...     ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=8)),
            ... ]
            >>> at = clock.advance(pendulum.duration(hours=2))
            >>> [s.state.value for s in ServiceTarget.evaluate_many(targets, case, at=at)]
            ['breached', 'active']
        """
        chosen = tuple(targets) if not isinstance(targets, str) else ()
        if isinstance(targets, str) or not all(isinstance(t, ServiceTarget) for t in chosen):
            raise ValidationError("expected service targets", field="targets")
        when = aware(at, "at")
        if not isinstance(case, Case):
            raise ValidationError("expected a Case", field="case")
        now = micros(when)
        if now < micros(case.opened_at):
            raise ValidationError("before the case was opened", field="at")
        facts = CaseFacts.of(case, now)
        return tuple(t._status(_outcome(t, facts), when) for t in chosen)

    def status_of(self, outcome: Outcome, at: dt.datetime) -> TargetStatus:
        """The :class:`TargetStatus` of an outcome of this target worked out at ``at``
        (by :func:`outcomes` or :func:`outcome_since`)."""
        return self._status(outcome, at)

    def _status(self, outcome: Outcome, at: dt.datetime) -> TargetStatus:
        zone = self.calendar.timezone
        local_at = in_zone(at, zone)
        if outcome is _NOTHING_OWED:
            return TargetStatus(
                self.metric, local_at, TargetState.ACHIEVED, None, _ZERO, _ZERO, None
            )
        remaining = outcome.remaining
        warn = self.warn_before
        return TargetStatus(
            self.metric,
            local_at,
            outcome.state,
            _instant(outcome.start, zone),
            pendulum.duration(microseconds=outcome.used),
            pendulum.duration(microseconds=remaining),
            _instant(outcome.due, zone),
            _instant(outcome.breach, zone),
            _instant(outcome.achieved, zone),
            outcome.verdict,
            warn is not None and outcome.state is TargetState.ACTIVE and remaining <= _us(warn),
        )
