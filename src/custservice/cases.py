"""Cases: a customer's request followed from opening to closing, with its public updates."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pendulum

from ._desk import NO_ATTRIBUTES, AttributeValue, Labelled, attributes, optional_name, tags
from ._ids import new_id
from ._persistent import Chain, chain_of
from ._records import check_identity, replace
from ._time import Clock, aware, micros, read_clock
from ._validation import Problems, member, optional_text, text
from .enums import CaseStatus, Channel, Priority, ServiceArea
from .errors import ValidationError
from .lifecycle import LifecycleState
from .lifecycle import earlier as _earlier
from .lifecycles import CASE_LIFECYCLE

__all__ = ["AssignmentChange", "Case", "CaseUpdate", "PriorityChange"]


@attrs.frozen
class CaseUpdate:
    """A public message on a case.

    Args:
        at: when it was sent; timezone-aware.
        from_customer: ``True`` when the customer wrote in; ``False`` for an
            agent's reply or status update.
    """

    at: pendulum.DateTime
    from_customer: bool = False

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "at", aware(self.at, "at"))
        if not isinstance(self.from_customer, bool):
            raise ValidationError("expected True or False", field="from_customer")


@attrs.frozen
class AssignmentChange:
    """A case changed hands: who held it, and which team, before and after.

    Read in order, a case's assignments say who held it when (an "assignee
    station"): the holder before the first change held it from the opening.

    Args:
        at: when; timezone-aware.
        assignee: the agent who holds it from ``at``; ``None`` when unassigned.
        team: the team that holds it from ``at``, if any.
        previous_assignee: the agent who held it until ``at``, if any.
        previous_team: the team that held it until ``at``, if any.
        reason: why, if said.
    """

    at: pendulum.DateTime
    assignee: str | None
    team: str | None
    previous_assignee: str | None = attrs.field(default=None, kw_only=True)
    previous_team: str | None = attrs.field(default=None, kw_only=True)
    reason: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        at = problems.run(aware, self.at, "at")
        for field in ("assignee", "team", "previous_assignee", "previous_team"):
            problems.run(optional_name, getattr(self, field), field)
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        if (self.assignee, self.team) == (self.previous_assignee, self.previous_team):
            problems.add("assignee", "an assignment must change the assignee or the team")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)


@attrs.frozen
class PriorityChange:
    """A case's priority changed.

    Args:
        at: when; timezone-aware.
        previous: the priority until ``at``.
        priority: the priority from ``at``.
        reason: why, if said.
    """

    at: pendulum.DateTime
    previous: Priority
    priority: Priority
    reason: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        at = problems.run(aware, self.at, "at")
        previous = problems.run(member, Priority, self.previous, "previous")
        priority = problems.run(member, Priority, self.priority, "priority")
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        if previous is priority:
            problems.add("priority", "a priority change must change the priority")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "previous", previous)
        object.__setattr__(self, "priority", priority)


def _entries(value: object, kind: type, field: str) -> Chain[Any]:
    """A history as a chain, when it is a tuple, list or chain of ``kind`` (its order is
    checked by the case)."""
    if not isinstance(value, tuple | list | Chain) or not all(isinstance(v, kind) for v in value):
        raise ValidationError(f"expected a sequence of {kind.__name__}", field=field)
    return chain_of(value)


def _in_order(problems: Problems, entries: Sequence[Any], opened: int, field: str) -> None:
    times = [micros(e.at) for e in entries]
    if times and (times[0] < opened or times != sorted(times)):
        problems.add(field, "must be in time order, after opened_at")


@attrs.frozen
class Case(Labelled):
    """A customer's request, followed through ``CASE_LIFECYCLE`` until it is closed.

    Keep the customer informed: every public update is recorded, so service
    targets can tell whether they were told the status without asking.

    Attributes:
        id: a time-ordered UUID.
        customer_id: the customer's id.
        subject: what it is about.
        opened_at: when the case was opened.
        lifecycle: the position in ``CASE_LIFECYCLE``.
        promised_by: the date and time promised to the customer, if any.
        updates: every public message, oldest first: an immutable sequence
            that reads and compares as a tuple of :class:`CaseUpdate`
            (``case.updates == (update, ...)``), and grows without copying,
            so recording an update costs the same however many came before.
            Give a tuple or a list when building a case.
        root_cause: where a failure's cause lies, when one is tagged.
        priority: how urgent it is (:class:`Priority`; ``NORMAL`` by default).
        channel: the channel it came in by, if known.
        assignee: the id of the agent who holds it; ``None`` while unassigned.
        team: the team that holds it, if any.
        tags: labels to file and find it by.
        attributes: custom fields: names (identifiers) mapped to text, whole
            numbers (64-bit), finite floats, ``True``/``False``, dates, aware
            datetimes or ``None``; a read-only mapping.
        assignments: every change of assignee or team, oldest first
            (:class:`AssignmentChange`): who held the case when. Like
            ``updates``, it reads as a tuple and grows without copying.
        priority_changes: every change of priority, oldest first
            (:class:`PriorityChange`), read and grown the same way.
        version: 0 until stored.
    """

    id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    opened_at: pendulum.DateTime
    lifecycle: LifecycleState
    promised_by: pendulum.DateTime | None = attrs.field(default=None, kw_only=True)
    updates: Sequence[CaseUpdate] = attrs.field(default=(), kw_only=True)
    root_cause: ServiceArea | None = attrs.field(default=None, kw_only=True)
    priority: Priority = attrs.field(default=Priority.NORMAL, kw_only=True)
    channel: Channel | None = attrs.field(default=None, kw_only=True)
    assignee: str | None = attrs.field(default=None, kw_only=True)
    team: str | None = attrs.field(default=None, kw_only=True)
    tags: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    attributes: Mapping[str, AttributeValue] = attrs.field(default=NO_ATTRIBUTES, kw_only=True)
    assignments: Sequence[AssignmentChange] = attrs.field(default=(), kw_only=True)
    priority_changes: Sequence[PriorityChange] = attrs.field(default=(), kw_only=True)
    version: int = attrs.field(default=0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_identity(problems, self.id, self.version)
        if not isinstance(self.customer_id, uuid.UUID):
            problems.add("customer_id", "expected a UUID")
        problems.run(text, self.subject, "subject")
        opened_at = problems.run(aware, self.opened_at, "opened_at")
        if not isinstance(self.lifecycle, LifecycleState):
            problems.add("lifecycle", "expected a LifecycleState")
        elif self.lifecycle.current not in CASE_LIFECYCLE.states:
            problems.add("lifecycle", "not a status of the case lifecycle")
        promised_by = None
        if self.promised_by is not None:
            promised_by = problems.run(aware, self.promised_by, "promised_by")
        if not isinstance(self.updates, tuple | list | Chain) or not all(
            isinstance(u, CaseUpdate) for u in self.updates
        ):
            problems.add("updates", "expected a sequence of CaseUpdate")
        root_cause = None
        if self.root_cause is not None:
            root_cause = problems.run(member, ServiceArea, self.root_cause, "root_cause")
        priority = problems.run(member, Priority, self.priority, "priority")
        channel = None
        if self.channel is not None:
            channel = problems.run(member, Channel, self.channel, "channel")
        problems.run(optional_name, self.assignee, "assignee")
        problems.run(optional_name, self.team, "team")
        labels = problems.run(tags, self.tags, "tags")
        custom = problems.run(attributes, self.attributes, "attributes")
        assignments = problems.run(_entries, self.assignments, AssignmentChange, "assignments")
        changes = problems.run(_entries, self.priority_changes, PriorityChange, "priority_changes")
        problems.raise_if_any()
        assert opened_at is not None
        assert assignments is not None
        assert changes is not None
        opened = micros(opened_at)
        _in_order(problems, self.updates, opened, "updates")
        _in_order(problems, assignments, opened, "assignments")
        _in_order(problems, changes, opened, "priority_changes")
        held = [(a.previous_assignee, a.previous_team, a.assignee, a.team) for a in assignments]
        if any(a[2:] != b[:2] for a, b in itertools.pairwise(held)) or (
            held and held[-1][2:] != (self.assignee, self.team)
        ):
            problems.add(
                "assignments",
                "each must follow from the one before, the last "
                "giving the case's assignee and team",
            )
        ranks = [(c.previous, c.priority) for c in changes]
        if any(a[1] is not b[0] for a, b in itertools.pairwise(ranks)) or (
            ranks and ranks[-1][1] is not priority
        ):
            problems.add(
                "priority_changes",
                "each must follow from the one before, the last giving the case's priority",
            )
        problems.raise_if_any()
        object.__setattr__(self, "opened_at", opened_at)
        object.__setattr__(self, "promised_by", promised_by)
        object.__setattr__(self, "updates", chain_of(self.updates))
        object.__setattr__(self, "root_cause", root_cause)
        object.__setattr__(self, "priority", priority)
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "tags", labels)
        object.__setattr__(self, "attributes", custom)
        object.__setattr__(self, "assignments", assignments)
        object.__setattr__(self, "priority_changes", changes)

    @classmethod
    def open(
        cls,
        customer_id: uuid.UUID,
        subject: str,
        *,
        clock: Clock,
        promised_by: pendulum.DateTime | None = None,
        channel: Channel | str | None = None,
        priority: Priority | str = Priority.NORMAL,
        team: str | None = None,
        tags: Iterable[str] = frozenset(),
        attributes: Mapping[str, AttributeValue] = NO_ATTRIBUTES,
        id: uuid.UUID | None = None,
        rng: random.Random | None = None,
    ) -> Case:
        """A new case, ``NEW`` from ``clock.now()``, not yet assigned to an agent.

        Args:
            customer_id: the customer's id.
            subject: what it is about.
            clock: where the time comes from.
            promised_by: the date and time promised to the customer, if any.
            channel: the channel it came in by, if known.
            priority: how urgent it is; ``NORMAL`` by default.
            team: the team it starts with, if any.
            tags: labels to file it by.
            attributes: custom fields (see :attr:`attributes`).
            id: an id to use; a new time-ordered one by default.
            rng: a seeded generator, for reproducible ids.

        Raises:
            ValidationError: an argument is invalid; every problem is listed.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> case = Case.open(uuid.uuid4(), "Refund for order 1234", clock=clock)
            >>> case.status
            <CaseStatus.NEW: 'new'>
        """
        at = read_clock(clock)
        return cls(
            id if id is not None else new_id(at, rng),
            customer_id,
            subject,
            at,
            CASE_LIFECYCLE.start(at),
            promised_by=promised_by,
            channel=channel,  # type: ignore[arg-type]
            priority=priority,  # type: ignore[arg-type]
            team=team,
            tags=tags,  # type: ignore[arg-type]
            attributes=attributes,
        )

    @property
    def status(self) -> CaseStatus:
        """The case's status."""
        return CaseStatus(str(self.lifecycle.current))

    def advance(self, event: str, *, at: pendulum.DateTime, reason: str | None = None) -> Case:
        """The case after a lifecycle event (``"open"``, ``"solve"``, ``"reopen"``, ...).

        Raises:
            InvalidTransition: the event is not allowed from the current status.
            ValidationError: ``at`` is naive or goes back in time.
        """
        state = CASE_LIFECYCLE.fire(self.lifecycle, event, at=at, reason=reason)
        return replace(self, lifecycle=state)

    def record_update(self, *, at: pendulum.DateTime, from_customer: bool = False) -> Case:
        """Record a public message: an agent's reply or status update, or the customer writing in.

        Costs the same however many updates the case has, and from any
        version of the case (recording twice from one case gives two cases,
        each with its own newest update).

        Args:
            at: when the message was sent; timezone-aware.
            from_customer: ``True`` when the customer wrote in.

        Raises:
            ValidationError: the case is closed, an argument is invalid, or
                ``at`` is earlier than the last update or the opening.
        """
        update = CaseUpdate(at, from_customer)
        if self.lifecycle.current == CaseStatus.CLOSED:
            raise ValidationError("a closed case takes no more updates", field="status")
        updates = chain_of(self.updates)
        # The updates are in time order, so the newest alone bounds the next.
        latest = updates[-1].at if updates else self.opened_at
        if _earlier(update.at, latest):
            raise ValidationError("earlier than the case's last update", field="at")
        return replace(self, updates=updates.appended(update))

    def tag_root_cause(self, area: ServiceArea | str) -> Case:
        """Tag where the cause of a service failure lies."""
        return replace(self, root_cause=member(ServiceArea, area, "root_cause"))

    def assign(
        self,
        assignee: str | None,
        *,
        at: pendulum.DateTime,
        team: str | None = None,
        reason: str | None = None,
    ) -> Case:
        """The case held by ``assignee`` (an agent's id) from ``at``; ``None`` unassigns it.

        The change is kept in :attr:`assignments`, with who held the case
        before. ``team`` moves it to another team too; without it, the team
        stays. An assignment that changes neither assignee nor team is not
        recorded: the case is returned as it is. Costs the same however many
        assignments came before, and from any version of the case.

        Args:
            assignee: the agent who takes it, or ``None``.
            at: when; timezone-aware, not earlier than the opening or the last
                assignment.
            team: the team that takes it; ``None`` keeps the current one.
            reason: why, if said.

        Raises:
            ValidationError: the case is closed (``status``), ``at`` goes back
                in time, or an argument is invalid; the field is named.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock, team="billing")
            >>> case = case.assign("ana", at=clock.advance(pendulum.duration(minutes=5)))
            >>> case.assignee, case.team, case.assignments[-1].previous_assignee
            ('ana', 'billing', None)
        """
        current = self.team
        wanted = current if team is None else team
        if (assignee, wanted) == (self.assignee, current):
            self._check_change(at, reason, self.assignments)
            return self  # nothing changes hands: nothing to record
        change = AssignmentChange(
            at,
            assignee,
            wanted,
            previous_assignee=self.assignee,
            previous_team=current,
            reason=reason,
        )
        self._check_change(change.at, reason, self.assignments)
        return replace(
            self,
            assignee=change.assignee,
            team=change.team,
            assignments=chain_of(self.assignments).appended(change),
        )

    def reprioritize(
        self, priority: Priority | str, *, at: pendulum.DateTime, reason: str | None = None
    ) -> Case:
        """The case at ``priority`` from ``at``, the change kept in :attr:`priority_changes`.

        A change to the priority the case already has is not recorded: the
        case is returned as it is. Costs the same however many changes came
        before, and from any version of the case.

        Args:
            priority: a :class:`Priority`, or its value (``"high"``).
            at: when; timezone-aware, not earlier than the opening or the last
                priority change.
            reason: why, if said.

        Raises:
            ValidationError: the case is closed (``status``), ``at`` goes back
                in time, or an argument is invalid; the field is named.
        """
        wanted = member(Priority, priority, "priority")
        if wanted is self.priority:
            self._check_change(at, reason, self.priority_changes)
            return self  # the priority it has: nothing to record
        change = PriorityChange(at, self.priority, wanted, reason=reason)
        self._check_change(change.at, reason, self.priority_changes)
        return replace(
            self,
            priority=wanted,
            priority_changes=chain_of(self.priority_changes).appended(change),
        )

    def _check_change(self, at: object, reason: object, history: Sequence[Any]) -> None:
        """Refuse a change to a closed case, a bad ``reason``, or an ``at`` earlier than the
        opening or the newest entry of ``history``."""
        when = aware(at, "at")
        optional_text(reason, "reason")
        if self.lifecycle.current == CaseStatus.CLOSED:
            raise ValidationError("a closed case takes no more changes", field="status")
        # A history is in time order, so its newest entry alone bounds the next.
        latest = history[-1].at if history else self.opened_at
        if _earlier(when, latest):
            raise ValidationError("earlier than the case's last change of this kind", field="at")
