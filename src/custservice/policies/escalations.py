"""Escalation rules: when a case should be escalated, and how, as data.

An :class:`EscalationRule` names the cases it watches (a condition), what
triggers it (time, a breached service target, or both) and what to do then,
at which level. The library never escalates anything itself: the follow-up
planner (:func:`~custservice.analytics.plan_follow_ups`) proposes each
escalation, with its reason, for the desk or the host application to carry
out or to ignore.

**When a rule's trigger holds.** At an instant when all of these hold:

- the case is open and not on hold: its status then is neither ``ON_HOLD``
  nor ``SOLVED`` or ``CLOSED`` (a case on hold suspends escalation);
- the case matches the rule's condition then, read as SLA policies read it
  (its priority, assignee, team and status at that instant; its channel,
  tags and custom attributes as they are);
- with ``after``: the case has matched the condition, open and not on
  hold, for ``after`` in all since it was opened. The clock is wall time,
  and it stops while the case is on hold or does not match: a rule on
  urgent cases counts from when the case became urgent, and a case on hold
  for a day is escalated a day later;
- with ``on_breach``: the case's target on that metric has breached (a
  breach is never forgiven, so once breached it stays so).

A rule with neither ``after`` nor ``on_breach`` triggers as soon as the
case matches.

**Once per case.** A rule escalates a case once, at the first instant its
trigger holds (:meth:`EscalationRule.first_due`). Levels do not chain: a
rule of level 2 is proposed when its own trigger holds, whether or not a
rule of level 1 was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs
import pendulum

from .._time import aware, duration, micros
from .._validation import Problems, integer, member
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus, EscalationAction, Metric
from ..errors import ValidationError
from ..service_levels import TargetStatus
from .conditions import Condition
from .sla import _views

__all__ = ["EscalationRule"]

_SUSPENDED = frozenset({CaseStatus.ON_HOLD, CaseStatus.SOLVED, CaseStatus.CLOSED})
"""The statuses in which no case is escalated, nor does a rule's clock count."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


def _after(value: object) -> pendulum.Duration | None:
    if value is None:
        return None
    d = duration(value, "after")
    if d.years or d.months or d <= dt.timedelta(0):
        raise ValidationError("must be a positive duration of fixed length", field="after")
    return d


def _level(value: object) -> int:
    level = integer(value, "level")
    if level < 1:
        raise ValidationError("must be at least 1", field="level")
    return level


@attrs.frozen
class EscalationRule:
    """When to escalate a case, and what to propose then.

    See the module documentation for when a rule's trigger holds.

    Args:
        condition: the cases the rule watches; ``Condition.all_of()`` for every case.
        after: how long the case must have matched the condition, open and not
            on hold (wall time, of fixed length); ``None`` for no time limit.
        on_breach: the metric whose target must have breached; ``None`` for none.
        action: what to propose: notify, reassign or raise the priority.
        level: how far up the escalation goes (1 and up), as the desk numbers
            its levels; shown in the reason.

    Raises:
        ValidationError: naming every bad field.

    Examples:
        >>> rule = EscalationRule(
        ...     Condition.where("priority", "==", "urgent"),
        ...     on_breach=Metric.FIRST_RESPONSE,
        ...     action=EscalationAction.NOTIFY,
        ...     level=1,
        ... )
        >>> rule.action.value, rule.on_breach.value
        ('notify', 'first_response')
    """

    condition: Condition
    after: pendulum.Duration | None = attrs.field(default=None, kw_only=True)
    on_breach: Metric | None = attrs.field(default=None, kw_only=True)
    action: EscalationAction = attrs.field(kw_only=True)
    level: int = attrs.field(kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        if not isinstance(self.condition, Condition):
            problems.add("condition", "expected a Condition")
        after = problems.run(_after, self.after)
        on_breach = None
        if self.on_breach is not None:
            on_breach = problems.run(member, Metric, self.on_breach, "on_breach")
        action = problems.run(member, EscalationAction, self.action, "action")
        level = problems.run(_level, self.level)
        problems.raise_if_any()
        object.__setattr__(self, "after", after)
        object.__setattr__(self, "on_breach", on_breach)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "level", level)

    def first_due(
        self,
        case: Case,
        *,
        before: dt.datetime,
        statuses: Iterable[TargetStatus] = (),
        customer: Customer | None = None,
    ) -> pendulum.DateTime | None:
        """The first instant, before ``before``, at which the rule's trigger holds on ``case``.

        Only the case's history before ``before`` is read.

        Args:
            case: the case.
            before: the end of the time considered (excluded); timezone-aware.
            statuses: where the case's service targets stand, evaluated at
                ``before`` or later (by :meth:`~custservice.SlaPolicies.evaluate`
                or :meth:`~custservice.ServiceTarget.evaluate_many`): when the
                rule's ``on_breach`` target breached. Without a status on that
                metric it has not breached.
            customer: the case's customer, for conditions on ``customer.*`` fields.

        Returns:
            The instant, in the zone of the case's opening; ``None`` when the
            trigger never holds before ``before``.

        Raises:
            ValidationError: a bad argument.

        Examples:
            >>> import uuid
            >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
            >>> case = Case.open(uuid.uuid4(), "Outage", clock=clock, priority="urgent")
            >>> rule = EscalationRule(Condition.all_of(), after=pendulum.duration(hours=2),
            ...                       action="raise_priority", level=1)
            >>> rule.first_due(case, before=clock.now().add(days=1)).isoformat()
            '2026-03-02T11:00:00+00:00'
        """
        if not isinstance(case, Case):
            raise ValidationError("expected a Case", field="case")
        if customer is not None and not isinstance(customer, Customer):
            raise ValidationError("expected a Customer or None", field="customer")
        end = micros(aware(before, "before"))
        breach = self._breach(statuses)
        if self.on_breach is not None and breach is None:
            return None
        need = 0 if self.after is None else dt.timedelta.__floordiv__(self.after, _US)
        counted = 0
        stretches = iter(_views(case, self.condition.fields | {"status"}))
        current = next(stretches, None)
        while current is not None and current[0] < end:
            start, view = current
            current = next(stretches, None)
            stop = end if current is None else min(current[0], end)
            if view.status in _SUSPENDED or not self.condition.test(view, customer):
                continue
            # The first instant of this stretch at which the clock has counted ``after``
            # and the target has breached.
            due = max(start + max(need - counted, 0), start if breach is None else breach)
            if due < stop:
                return _instant(due, case.opened_at)
            counted += stop - start
        return None

    def _breach(self, statuses: Iterable[TargetStatus]) -> int | None:
        if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
            raise ValidationError("expected target statuses", field="statuses")
        found = None
        for status in statuses:
            if not isinstance(status, TargetStatus):
                raise ValidationError("expected target statuses", field="statuses")
            if status.metric is self.on_breach and status.breached_at is not None:
                b = micros(status.breached_at)
                found = b if found is None else min(found, b)
        return found


def _instant(us: int, like: pendulum.DateTime) -> pendulum.DateTime:
    """The instant ``us`` (microseconds since 1970, UTC) in the zone of ``like``."""
    return aware((_EPOCH + dt.timedelta(microseconds=us)).astimezone(like.tzinfo), "at")
