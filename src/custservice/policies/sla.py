"""SLA policies: which service targets a case is held to, chosen by conditions.

An :class:`SlaPolicy` is a condition and the targets that apply to the cases
it matches; :class:`SlaPolicies` is an ordered list of them, of which the
first that matches applies (as help desks order theirs: the most specific
first, a catch-all last).

**Which policy applies, and when.** The policy is chosen by the case's
state at the instant evaluated: its priority, assignee, team and status
then, as its histories tell them (a change made at that instant counts),
and its channel, tags and custom attributes as they are (those keep no
history), with the customer as given. Every change of priority, assignment
or status re-selects the policy from that instant on.

**What a target measures.** A target always measures the case's own history
from its opening (:meth:`~custservice.ServiceTarget.evaluate`): time already
spent, and time paused, carry over when the policy changes.

**Breaches.** A breach is never forgiven: a target that breached while one
policy applied stays breached whatever applies later, even a policy with no
target on that metric (its status is still reported, after the current
policy's). Nor is one back-dated: when a change of policy makes a target
already overdue, it breaches at the instant of the change (or, if its clock
is stopped then, when the clock next runs); a cycle of work finished before
the policy applied is done, however long it took.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs

from .._desk import name
from .._history import history_entries
from .._time import aware, in_zone, micros
from .._validation import Problems
from ..cases import Case
from ..customers import Customer
from ..enums import Metric, TargetState
from ..errors import ValidationError
from ..service_levels import (
    CaseFacts,
    Outcome,
    ServiceTarget,
    TargetStatus,
    outcome_since,
    outcomes,
)
from .conditions import CaseView, Condition

__all__ = ["SlaPolicies", "SlaPolicy"]


def _targets(value: object) -> tuple[ServiceTarget, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("expected a sequence of service targets", field="targets")
    targets = tuple(value)
    problems = Problems()
    seen: set[Metric] = set()
    for i, target in enumerate(targets):
        if not isinstance(target, ServiceTarget):
            problems.add(f"targets[{i}]", "expected a ServiceTarget")
        elif target.metric in seen:
            problems.add(f"targets[{i}]", f"a second target on {target.metric.value}")
        else:
            seen.add(target.metric)
    problems.raise_if_any()
    return targets


@attrs.frozen
class SlaPolicy:
    """The service targets that apply to the cases a condition matches.

    Args:
        name: what the policy is called (``"Urgent"``, ``"VIP customers"``).
        condition: the cases it applies to; ``Condition.all_of()`` for every case.
        targets: the promises it makes, at most one per metric, each with its
            own calendar.

    Raises:
        ValidationError: naming every bad field.

    Examples:
        >>> urgent = SlaPolicy(
        ...     "Urgent",
        ...     Condition.where("priority", "==", "urgent"),
        ...     [ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1))],
        ... )
        >>> urgent.targets[0].within.in_hours()
        1
    """

    name: str
    condition: Condition
    targets: Sequence[ServiceTarget] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(name, self.name, "name")
        if not isinstance(self.condition, Condition):
            problems.add("condition", "expected a Condition")
        targets = problems.run(_targets, self.targets)
        problems.raise_if_any()
        object.__setattr__(self, "targets", targets)


@attrs.frozen
class SlaPolicies:
    """An ordered list of SLA policies, of which the first that matches a case applies.

    See the module documentation for when a policy applies and how breaches
    carry over from one policy to the next.

    Args:
        policies: the policies, most specific first; their names are distinct.

    Raises:
        ValidationError: naming every bad policy.
    """

    policies: Sequence[SlaPolicy] = ()

    def __attrs_post_init__(self) -> None:
        value = self.policies
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ValidationError("expected a sequence of SLA policies", field="policies")
        policies = tuple(value)
        problems = Problems()
        names: set[str] = set()
        for i, policy in enumerate(policies):
            if not isinstance(policy, SlaPolicy):
                problems.add(f"policies[{i}]", "expected an SlaPolicy")
            elif policy.name in names:
                problems.add(f"policies[{i}].name", f"a second policy named {policy.name!r}")
            else:
                names.add(policy.name)
        problems.raise_if_any()
        object.__setattr__(self, "policies", policies)

    def select(
        self,
        case: Case,
        customer: Customer | None = None,
        *,
        at: dt.datetime | None = None,
    ) -> SlaPolicy | None:
        """The first policy whose condition ``case`` meets; ``None`` if none does.

        Args:
            case: the case.
            customer: the case's customer, for conditions on ``customer.*`` fields.
            at: read the case as it was at this instant (see the module
                documentation); as it is now by default.

        Raises:
            ValidationError: a bad argument, or ``at`` before the case was opened.
        """
        _check(case, customer)
        if at is None:
            return self._first(CaseView.of(case), customer)
        when = micros(aware(at, "at"))
        if when < micros(case.opened_at):
            raise ValidationError("before the case was opened", field="at")
        found: CaseView | None = None
        for t, view in _views(case, read_by(p.condition for p in self.policies)):
            if t > when:
                break
            found = view
        assert found is not None  # the first view is at the opening
        return self._first(found, customer)

    def _first(self, view: CaseView, customer: Customer | None) -> SlaPolicy | None:
        for policy in self.policies:
            if policy.condition.test(view, customer):
                return policy
        return None

    def evaluate(
        self, case: Case, *, at: dt.datetime, customer: Customer | None = None
    ) -> tuple[TargetStatus, ...]:
        """Where each promise made to ``case`` stands at ``at``.

        The statuses of the targets of the policy that applies at ``at``, in its
        order, then those of targets that breached under an earlier policy and
        have no counterpart now (a breach is never forgiven). Empty when no
        policy ever applied.

        Args:
            case: the case.
            at: the instant; timezone-aware, not before the case was opened.
            customer: the case's customer, for conditions on ``customer.*`` fields.

        Raises:
            ValidationError: a bad argument, or ``at`` before the case was opened.

        Examples:
            >>> import uuid
            >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
            >>> case = Case.open(uuid.uuid4(), "Outage", clock=clock)
            >>> hour = pendulum.duration(hours=1)
            >>> urgent = Condition.where("priority", "==", "urgent")
            >>> policies = SlaPolicies([
            ...     SlaPolicy("Urgent", urgent,
            ...               [ServiceTarget(Metric.FIRST_RESPONSE, hour)]),
            ...     SlaPolicy("Normal", Condition.all_of(),
            ...               [ServiceTarget(Metric.FIRST_RESPONSE, 8 * hour)]),
            ... ])
            >>> case = case.reprioritize("urgent", at=clock.advance(3 * hour))
            >>> (status,) = policies.evaluate(case, at=clock.now())
            >>> status.state.value, status.breached_at.isoformat()
            ('breached', '2026-03-02T12:00:00+00:00')
        """
        _check(case, customer)
        when = aware(at, "at")
        now = micros(when)
        if now < micros(case.opened_at):
            raise ValidationError("before the case was opened", field="at")
        _, found = measured(self, case, now, customer)
        out = []
        for target, outcome, carried in found:
            status = target.status_of(outcome, when)
            out.append(status if carried is None else _breached(status, carried, target))
        return tuple(out)

    def _runs(
        self, case: Case, customer: Customer | None, now: int
    ) -> Iterator[tuple[SlaPolicy | None, int, int]]:
        """Each stretch of time, up to ``now``, in which one policy applied (or none did):
        the policy, and when it started and ended applying (``now`` for the last)."""
        current: tuple[int | None, SlaPolicy | None, int] | None = None
        for t, view in _views(case, read_by(p.condition for p in self.policies)):
            if t > now:
                break
            index = next(
                (i for i, p in enumerate(self.policies) if p.condition.test(view, customer)),
                None,
            )
            if current is not None and current[0] == index:
                continue
            if current is not None:
                yield current[1], current[2], t
            current = (index, None if index is None else self.policies[index], t)
        assert current is not None
        yield current[1], current[2], now


Measured = tuple[ServiceTarget, Outcome, int | None]
"""A target, its outcome, and the instant it breached under an earlier policy (``None``
when it did not), as :func:`measured` gives them."""


def measured(
    policies: SlaPolicies, case: Case, now: int, customer: Customer | None
) -> tuple[SlaPolicy | None, list[Measured]]:
    """The policy that applies to ``case`` at ``now`` (microseconds since 1970, UTC), and
    each target :meth:`SlaPolicies.evaluate` reports, in its order, with its outcome and
    any breach carried over: what ``evaluate`` reads, for a caller that needs no
    :class:`~custservice.TargetStatus` (the report counts them). Arguments are not checked.
    """
    runs = list(policies._runs(case, customer, now))
    breaches: dict[Metric, tuple[int, ServiceTarget, int]] = {}
    facts: dict[int, CaseFacts] = {}
    opened = micros(case.opened_at)

    def since(target: ServiceTarget, facts: CaseFacts, start: int) -> Outcome:
        # From the opening, the target's own outcome: its history read the cheaper way.
        if start == opened:
            return outcomes((target,), facts)[0]
        return outcome_since(target, facts, start)

    def facts_at(t: int) -> CaseFacts:
        found = facts.get(t)
        if found is None:
            found = facts[t] = CaseFacts.of(case, t)
        return found

    for earlier, start, end in runs[:-1]:
        # Evaluated when the policy stopped applying: a breach at that instant
        # belongs to the policy that applies from it.
        for target in earlier.targets if earlier is not None else ():
            b = since(target, facts_at(end), start).breach
            if b is not None and b < end:
                known = breaches.get(target.metric)
                if known is None or b < known[0]:
                    breaches[target.metric] = (b, target, start)
    policy, start, _ = runs[-1]
    out: list[Measured] = []
    final = facts_at(now)
    for target in policy.targets if policy is not None else ():
        known = breaches.pop(target.metric, None)
        out.append((target, since(target, final, start), None if known is None else known[0]))
    for b, target, first in sorted(breaches.values(), key=lambda item: item[0]):
        out.append((target, since(target, final, first), b))
    return policy, out


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _breached(status: TargetStatus, at: int, target: ServiceTarget) -> TargetStatus:
    """``status`` breached at ``at`` (or earlier, if it already says so)."""
    first = in_zone(_EPOCH + dt.timedelta(microseconds=at), target.calendar.timezone)
    if status.breached_at is not None and status.breached_at <= first:
        return status
    return attrs.evolve(status, state=TargetState.BREACHED, breached_at=first, warning=False)


def _check(case: object, customer: object) -> None:
    if not isinstance(case, Case):
        raise ValidationError("expected a Case", field="case")
    if customer is not None and not isinstance(customer, Customer):
        raise ValidationError("expected a Customer or None", field="customer")


def read_by(conditions: Iterable[Condition]) -> frozenset[str]:
    """The fields ``conditions`` compare, as :func:`_views` takes them."""
    return frozenset().union(*(c.fields for c in conditions))


def _views(case: Case, fields: frozenset[str] | None = None) -> Iterator[tuple[int, CaseView]]:
    """The case as conditions read it, from its opening and after each instant at which
    its priority, assignment or status changed, oldest first (instants in microseconds).

    Given the ``fields`` conditions compare, only the changes of those fields are
    followed (a view is then up to date in those fields only)."""
    changes: list[tuple[int, int, Any]] = []
    # The fields that change are kept apart, and a view built once per instant.
    priority, assignee, team, status = case.priority, case.assignee, case.team, case.status
    if fields is None or "priority" in fields:
        for change in case.priority_changes:
            changes.append((micros(change.at), 0, change))
        if case.priority_changes:
            priority = case.priority_changes[0].previous
    if fields is None or "assignee" in fields or "team" in fields:
        for assignment in case.assignments:
            changes.append((micros(assignment.at), 1, assignment))
        if case.assignments:
            first = case.assignments[0]
            assignee, team = first.previous_assignee, first.previous_team
    if fields is None or "status" in fields:
        entries = list(history_entries(case.lifecycle.history))
        category = case.pipeline.category  # the status each state of its pipeline is
        for entry in entries:
            changes.append((micros(entry[3]), 2, category(entry[2])))
        if entries:
            status = category(entries[0][1])
    changes.sort(key=lambda item: item[0])  # stable: each history keeps its own order
    channel, labels, attributes = case.channel, case.tags, case.attributes
    opened = micros(case.opened_at)
    pending: Sequence[tuple[int, int, Any]] = changes
    i = 0
    t = opened
    while True:
        while i < len(pending) and pending[i][0] <= t:
            _, kind, change = pending[i]
            if kind == 0:
                priority = change.priority
            elif kind == 1:
                assignee, team = change.assignee, change.team
            else:
                status = change
            i += 1
        yield t, CaseView(priority, channel, team, assignee, labels, status, attributes)
        if i >= len(pending):
            return
        t = pending[i][0]
