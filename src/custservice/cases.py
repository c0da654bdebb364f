"""Cases: a customer's request followed from opening to closing, with its public updates."""

from __future__ import annotations

import bisect
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
from .enums import CaseStatus, Channel, LinkKind, Priority, ServiceArea
from .errors import ValidationError
from .lifecycle import LifecycleState, State
from .lifecycle import earlier as _earlier
from .pipelines import CASE_PIPELINE, CasePipeline

__all__ = ["AssignmentChange", "Case", "CaseLink", "CaseUpdate", "MergeChange", "PriorityChange"]


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


@attrs.frozen
class CaseLink:
    """A link from a case to another case.

    Args:
        case_id: the other case's id.
        kind: how they are linked (a :class:`~custservice.enums.LinkKind`, or its value).
    """

    case_id: uuid.UUID
    kind: LinkKind = LinkKind.RELATED

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.case_id, uuid.UUID):
            raise ValidationError("expected a UUID", field="case_id")
        object.__setattr__(self, "kind", member(LinkKind, self.kind, "kind"))


@attrs.frozen
class MergeChange:
    """A case was merged into another, or taken out again.

    Args:
        at: when; timezone-aware.
        into: the case it was merged into; ``None`` when it was unmerged.
        reason: why, if said.
    """

    at: pendulum.DateTime
    into: uuid.UUID | None
    reason: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        at = problems.run(aware, self.at, "at")
        if self.into is not None and not isinstance(self.into, uuid.UUID):
            problems.add("into", "expected a UUID or None")
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)


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
    """A customer's request, followed through its pipeline until it is closed.

    Keep the customer informed: every public update is recorded, so service
    targets can tell whether they were told the status without asking.

    A case follows ``CASE_LIFECYCLE`` unless it was opened with a
    :class:`~custservice.pipelines.CasePipeline` of the desk's own: then
    :attr:`state` is where it stands in that pipeline, and :attr:`status`
    the :class:`~custservice.enums.CaseStatus` that state stands for, which
    is what service targets and analytics read.

    A case merged into another (:meth:`merge_into`) is closed for as long as
    it stays merged: it takes no changes, and the analytics leave it out (its
    work is counted once, under the case it was merged into).

    Attributes:
        id: a time-ordered UUID.
        customer_id: the customer's id.
        subject: what it is about.
        opened_at: when the case was opened.
        lifecycle: the position in the pipeline's lifecycle.
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
        pipeline: the :class:`~custservice.pipelines.CasePipeline` it follows
            (``CASE_PIPELINE`` by default); stored by its name.
        links: its links to other cases (:class:`CaseLink`), oldest first,
            each once.
        merges: every merge into another case and every unmerge, oldest first
            (:class:`MergeChange`, alternating, a merge first).
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
    pipeline: CasePipeline = attrs.field(default=CASE_PIPELINE, kw_only=True)
    links: Sequence[CaseLink] = attrs.field(default=(), kw_only=True)
    merges: Sequence[MergeChange] = attrs.field(default=(), kw_only=True)
    version: int = attrs.field(default=0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_identity(problems, self.id, self.version)
        if not isinstance(self.customer_id, uuid.UUID):
            problems.add("customer_id", "expected a UUID")
        problems.run(text, self.subject, "subject")
        opened_at = problems.run(aware, self.opened_at, "opened_at")
        pipeline = self.pipeline
        if not isinstance(pipeline, CasePipeline):
            problems.add("pipeline", "expected a CasePipeline")
        if not isinstance(self.lifecycle, LifecycleState):
            problems.add("lifecycle", "expected a LifecycleState")
        elif isinstance(pipeline, CasePipeline) and (
            self.lifecycle.current not in pipeline.lifecycle.states
        ):
            problems.add("lifecycle", f"not a state of the case's pipeline {pipeline.name!r}")
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
        links = problems.run(_links, self.links, self.id)
        merges = problems.run(_entries, self.merges, MergeChange, "merges")
        problems.raise_if_any()
        assert opened_at is not None
        assert assignments is not None
        assert changes is not None
        assert merges is not None
        opened = micros(opened_at)
        _in_order(problems, self.updates, opened, "updates")
        _in_order(problems, assignments, opened, "assignments")
        _in_order(problems, changes, opened, "priority_changes")
        _in_order(problems, merges, opened, "merges")
        if merges:
            _check_merges(problems, self, merges)
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
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "merges", merges)

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
        pipeline: CasePipeline = CASE_PIPELINE,
        id: uuid.UUID | None = None,
        rng: random.Random | None = None,
    ) -> Case:
        """A new case, in its pipeline's initial state (``NEW`` by default) from
        ``clock.now()``, not yet assigned to an agent.

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
            pipeline: the :class:`~custservice.pipelines.CasePipeline` it follows;
                ``CASE_PIPELINE`` by default.
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
        if not isinstance(pipeline, CasePipeline):
            raise ValidationError("expected a CasePipeline", field="pipeline")
        at = read_clock(clock)
        return cls(
            id if id is not None else new_id(at, rng),
            customer_id,
            subject,
            at,
            pipeline.lifecycle.start(at),
            pipeline=pipeline,
            promised_by=promised_by,
            channel=channel,  # type: ignore[arg-type]
            priority=priority,  # type: ignore[arg-type]
            team=team,
            tags=tags,  # type: ignore[arg-type]
            attributes=attributes,
        )

    @property
    def status(self) -> CaseStatus:
        """The :class:`~custservice.enums.CaseStatus` the case's state stands for
        (``CLOSED`` while it is merged into another case)."""
        if self.merges and self.merges[-1].into is not None:
            return CaseStatus.CLOSED
        return self.pipeline.category(self.lifecycle.current)

    @property
    def state(self) -> State:
        """Where the case stands in its pipeline's own lifecycle (for ``CASE_PIPELINE``,
        the :class:`~custservice.enums.CaseStatus` member). Kept while it is merged,
        so unmerging restores it."""
        return self.lifecycle.current

    @property
    def merged_into(self) -> uuid.UUID | None:
        """The id of the case this one is merged into; ``None`` unless it is merged."""
        return self.merges[-1].into if self.merges else None

    def advance(self, event: str, *, at: pendulum.DateTime, reason: str | None = None) -> Case:
        """The case after an event of its pipeline (``"open"``, ``"solve"``, ``"reopen"``,
        ... for ``CASE_PIPELINE``).

        Raises:
            InvalidTransition: the event is not allowed from the current state.
            ValidationError: the case is merged (``merged_into``), or ``at`` is
                naive or goes back in time.
        """
        self._not_merged(at)
        state = self.pipeline.lifecycle.fire(self.lifecycle, event, at=at, reason=reason)
        return replace(self, lifecycle=state)

    def link(self, other_id: uuid.UUID, kind: LinkKind | str = LinkKind.RELATED) -> Case:
        """The case linked to case ``other_id`` (a link already there is kept once).

        Args:
            other_id: the other case's id.
            kind: ``"related"`` (the default), ``"parent"``, ``"child"`` or
                ``"duplicate"`` (a :class:`~custservice.enums.LinkKind`).

        Raises:
            ValidationError: ``other_id`` is this case's own id or not a UUID
                (``case_id``), ``kind`` is unknown, or the case is merged.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock)
            >>> other = uuid.uuid4()
            >>> case.link(other, "duplicate").links[0].kind
            <LinkKind.DUPLICATE: 'duplicate'>
        """
        found = CaseLink(other_id, kind)  # type: ignore[arg-type]
        if found.case_id == self.id:
            raise ValidationError("a case cannot be linked to itself", field="case_id")
        self._not_merged(None)
        if found in self.links:
            return self
        return replace(self, links=(*self.links, found))

    def unlink(self, other_id: uuid.UUID, kind: LinkKind | str | None = None) -> Case:
        """The case without its links to ``other_id`` (of ``kind`` only, when given); a
        link it does not have is no error.

        Raises:
            ValidationError: ``kind`` is unknown, or the case is merged.
        """
        wanted = None if kind is None else member(LinkKind, kind, "kind")
        self._not_merged(None)
        kept = tuple(k for k in self.links if k.case_id != other_id or wanted not in (None, k.kind))
        return self if len(kept) == len(self.links) else replace(self, links=kept)

    def merge_into(
        self, target_id: uuid.UUID, *, at: pendulum.DateTime, reason: str | None = None
    ) -> Case:
        """The case merged into case ``target_id`` from ``at``: closed as a duplicate.

        Its state in the pipeline is kept, so :meth:`unmerge` restores it. While
        merged, :attr:`status` is ``CLOSED``, :attr:`merged_into` is
        ``target_id``, the case takes no changes (events, updates, assignments,
        priority changes, links) and the analytics leave it out: its work is
        counted once, under the target.

        Args:
            target_id: the case it is merged into; not its own id.
            at: when; timezone-aware, not earlier than any change the case has.
            reason: why, if said.

        Raises:
            ValidationError: ``target_id`` is the case's own id or not a UUID
                (``target_id``), the case is merged already (``merged_into``),
                or ``at`` is naive or goes back in time (``at``).
        """
        if not isinstance(target_id, uuid.UUID):
            raise ValidationError("expected a UUID", field="target_id")
        if target_id == self.id:
            raise ValidationError("a case cannot be merged into itself", field="target_id")
        change = MergeChange(at, target_id, reason=reason)
        self._not_merged(change.at)
        if _earlier(change.at, self._latest()):
            raise ValidationError("earlier than the case's last change", field="at")
        return replace(self, merges=chain_of(self.merges).appended(change))

    def unmerge(self, *, at: pendulum.DateTime, reason: str | None = None) -> Case:
        """The case taken out of the case it was merged into, from ``at``: it stands where
        it stood when merged, and takes changes again. Both the merge and the unmerge
        stay in :attr:`merges`.

        Raises:
            ValidationError: the case is not merged (``merged_into``), or
                ``at`` is naive or earlier than the merge (``at``).
        """
        change = MergeChange(at, None, reason=reason)
        if self.merged_into is None:
            raise ValidationError("the case is not merged", field="merged_into")
        if _earlier(change.at, self.merges[-1].at):
            raise ValidationError("earlier than the merge", field="at")
        return replace(self, merges=chain_of(self.merges).appended(change))

    def _latest(self) -> pendulum.DateTime:
        """The latest instant of the case's histories (its opening when it has none)."""
        latest = self.lifecycle.since
        for history in (self.updates, self.assignments, self.priority_changes, self.merges):
            if history and _earlier(latest, history[-1].at):
                latest = history[-1].at
        if _earlier(latest, self.opened_at):
            latest = self.opened_at
        return latest

    def _not_merged(self, at: object) -> None:
        """Refuse a change to a merged case, or one earlier than the last (un)merge."""
        into = self.merged_into
        if into is not None:
            raise ValidationError(
                f"the case is merged into case {into}: it takes no changes until unmerged",
                field="merged_into",
            )
        if at is not None and self.merges and _earlier(aware(at, "at"), self.merges[-1].at):
            raise ValidationError("earlier than the case's last unmerge", field="at")

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
        self._not_merged(update.at)
        if self.status is CaseStatus.CLOSED:
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
        self._not_merged(when)
        if self.status is CaseStatus.CLOSED:
            raise ValidationError("a closed case takes no more changes", field="status")
        # A history is in time order, so its newest entry alone bounds the next.
        latest = history[-1].at if history else self.opened_at
        if _earlier(when, latest):
            raise ValidationError("earlier than the case's last change of this kind", field="at")


def _links(value: object, own_id: object) -> tuple[CaseLink, ...]:
    """A case's links as a tuple: each a :class:`CaseLink` to another case, each once."""
    if not isinstance(value, tuple | list) or not all(isinstance(v, CaseLink) for v in value):
        raise ValidationError("expected a sequence of CaseLink", field="links")
    if any(link.case_id == own_id for link in value):
        raise ValidationError("a case cannot be linked to itself", field="links")
    if len(set(value)) != len(value):
        raise ValidationError("a link is listed twice", field="links")
    return tuple(value)


def _check_merges(problems: Problems, case: Case, merges: Sequence[MergeChange]) -> None:
    """Merges alternate with unmerges, a merge first, never into the case itself; and
    nothing happened to the case while it was merged."""
    for i, change in enumerate(merges):
        if (change.into is None) != (i % 2 == 1):
            problems.add("merges", "merges and unmerges must alternate, a merge first")
            return
        if change.into == case.id:
            problems.add("merges", "a case cannot be merged into itself")
            return
    bounds = [micros(m.at) for m in merges]
    times = [micros(c.at) for c in case.lifecycle.history]
    for history in (case.updates, case.assignments, case.priority_changes):
        times.extend(micros(e.at) for e in history)
    for t in times:
        k = bisect.bisect_right(bounds, t)
        if k % 2 == 1 and t > bounds[k - 1]:  # after a merge, before its unmerge
            problems.add("merges", "the case changed while it was merged")
            return
