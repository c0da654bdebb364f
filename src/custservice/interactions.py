"""Interactions: one contact between a customer and the service, through the interaction cycle."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence

import attrs
import pendulum

from ._desk import NO_ATTRIBUTES, AttributeValue, Labelled, attributes, optional_name, tags
from ._ids import new_id
from ._persistent import Chain, chain_of
from ._records import check_identity, replace
from ._time import Clock, aware, between, micros, read_clock
from ._validation import Problems, member, optional_text, text
from .enums import Channel, InteractionStage, ServiceArea
from .errors import InvalidTransition, ValidationError
from .feedback import Feedback
from .lifecycle import LifecycleState
from .lifecycle import earlier as _earlier
from .lifecycles import INTERACTION_CYCLE

__all__ = ["Handoff", "Interaction"]

_RESOLVABLE = frozenset(
    {InteractionStage.HELPING, InteractionStage.KEEPING, InteractionStage.FOLLOW_UP}
)


@attrs.frozen
class Handoff:
    """The interaction passed to someone else.

    Args:
        to: who took it over (an agent, a team, a desk).
        at: when; timezone-aware.
        reason: why, if said.
    """

    to: str
    at: pendulum.DateTime
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(text, self.to, "to")
        at = problems.run(aware, self.at, "at")
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)


def _handoffs(value: object) -> Chain[Handoff]:
    if not isinstance(value, tuple | list | Chain) or not all(
        isinstance(v, Handoff) for v in value
    ):
        raise ValidationError("expected a sequence of Handoff", field="handoffs")
    return chain_of(value)


@attrs.frozen
class Interaction(Labelled):
    """One contact with a customer, on one channel, through the interaction cycle.

    Open one with :meth:`Interaction.open`; it starts ``READY`` (queued).
    Then ``advance`` it through the cycle — ``receive`` (welcome, set
    expectations), ``understand`` (listen, ask, confirm facts and feelings),
    ``help``, ``keep``, ``follow_up``, ``close`` — hand it off, resolve it,
    and record the customer's feedback. Every change returns a new object.

    Attributes:
        id: a time-ordered UUID.
        customer_id: the customer's id.
        channel: how the customer reached us.
        opened_at: when the customer made contact (the queue starts here).
        lifecycle: the position in ``INTERACTION_CYCLE``.
        topic: what it is about.
        case_id: the case it belongs to, if any.
        agent: who is handling it now.
        handoffs: every handoff, oldest first: an immutable sequence that
            reads and compares as a tuple of :class:`Handoff` and grows
            without copying, so a handoff costs the same however many came
            before. Give a tuple or a list when building an interaction.
        resolved_at: when the customer's need was met, if it was.
        feedback: what the customer said about it, if they did.
        root_cause: where a failure's cause lies, when one is tagged.
        team: the team that handles it, if any.
        tags: labels to file and find it by.
        attributes: custom fields, as on a :class:`~custservice.Case`.
        version: 0 until stored.
    """

    id: uuid.UUID
    customer_id: uuid.UUID
    channel: Channel
    opened_at: pendulum.DateTime
    lifecycle: LifecycleState
    topic: str | None = attrs.field(default=None, kw_only=True)
    case_id: uuid.UUID | None = attrs.field(default=None, kw_only=True)
    agent: str | None = attrs.field(default=None, kw_only=True)
    handoffs: Sequence[Handoff] = attrs.field(default=(), kw_only=True)
    resolved_at: pendulum.DateTime | None = attrs.field(default=None, kw_only=True)
    feedback: Feedback | None = attrs.field(default=None, kw_only=True)
    root_cause: ServiceArea | None = attrs.field(default=None, kw_only=True)
    team: str | None = attrs.field(default=None, kw_only=True)
    tags: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    attributes: Mapping[str, AttributeValue] = attrs.field(default=NO_ATTRIBUTES, kw_only=True)
    version: int = attrs.field(default=0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_identity(problems, self.id, self.version)
        if not isinstance(self.customer_id, uuid.UUID):
            problems.add("customer_id", "expected a UUID")
        if self.case_id is not None and not isinstance(self.case_id, uuid.UUID):
            problems.add("case_id", "expected a UUID")
        channel = problems.run(member, Channel, self.channel, "channel")
        opened_at = problems.run(aware, self.opened_at, "opened_at")
        if not isinstance(self.lifecycle, LifecycleState):
            problems.add("lifecycle", "expected a LifecycleState")
        elif self.lifecycle.current not in INTERACTION_CYCLE.states:
            problems.add("lifecycle", "not a stage of the interaction cycle")
        problems.run(optional_text, self.topic, "topic")
        problems.run(optional_text, self.agent, "agent")
        handoffs = problems.run(_handoffs, self.handoffs)
        resolved_at = None
        if self.resolved_at is not None:
            resolved_at = problems.run(aware, self.resolved_at, "resolved_at")
        if self.feedback is not None and not isinstance(self.feedback, Feedback):
            problems.add("feedback", "expected a Feedback")
        root_cause = None
        if self.root_cause is not None:
            root_cause = problems.run(member, ServiceArea, self.root_cause, "root_cause")
        problems.run(optional_name, self.team, "team")
        labels = problems.run(tags, self.tags, "tags")
        custom = problems.run(attributes, self.attributes, "attributes")
        problems.raise_if_any()
        assert opened_at is not None
        if resolved_at is not None and micros(resolved_at) < micros(opened_at):
            problems.add("resolved_at", "earlier than opened_at")
        times = [micros(h.at) for h in handoffs or ()]
        if times and (times[0] < micros(opened_at) or times != sorted(times)):
            problems.add("handoffs", "must be in time order, after opened_at")
        problems.raise_if_any()
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "opened_at", opened_at)
        object.__setattr__(self, "handoffs", handoffs)
        object.__setattr__(self, "resolved_at", resolved_at)
        object.__setattr__(self, "root_cause", root_cause)
        object.__setattr__(self, "tags", labels)
        object.__setattr__(self, "attributes", custom)

    @classmethod
    def open(
        cls,
        customer_id: uuid.UUID,
        channel: Channel | str,
        *,
        clock: Clock,
        topic: str | None = None,
        case_id: uuid.UUID | None = None,
        agent: str | None = None,
        team: str | None = None,
        tags: Iterable[str] = frozenset(),
        attributes: Mapping[str, AttributeValue] = NO_ATTRIBUTES,
        id: uuid.UUID | None = None,
        rng: random.Random | None = None,
    ) -> Interaction:
        """A new interaction, ``READY`` (queued) from ``clock.now()``.

        Args:
            customer_id: the customer's id.
            channel: how the customer reached us.
            clock: where the time comes from.
            topic: what it is about.
            case_id: the case it belongs to, if any.
            agent: who handles it, if already known.
            team: the team that handles it, if any.
            tags: labels to file it by.
            attributes: custom fields (see :class:`~custservice.Case`).
            id: an id to use; a new time-ordered one by default.
            rng: a seeded generator, for reproducible ids.

        Raises:
            ValidationError: an argument is invalid; every problem is listed.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> call = Interaction.open(
            ...     uuid.uuid4(), Channel.PHONE, clock=clock, topic="billing"
            ... )
            >>> call.stage
            <InteractionStage.READY: 'ready'>
        """
        at = read_clock(clock)
        return cls(
            id if id is not None else new_id(at, rng),
            customer_id,
            channel,  # type: ignore[arg-type]
            at,
            INTERACTION_CYCLE.start(at),
            topic=topic,
            case_id=case_id,
            agent=agent,
            team=team,
            tags=tags,  # type: ignore[arg-type]
            attributes=attributes,
        )

    @property
    def stage(self) -> InteractionStage:
        """Where the interaction stands in the interaction cycle."""
        return InteractionStage(str(self.lifecycle.current))

    @property
    def wait(self) -> pendulum.Duration | None:
        """Time in the queue: from opening to ``receive``; ``None`` until received."""
        received = self.received_at
        return None if received is None else between(self.opened_at, received)

    @property
    def received_at(self) -> pendulum.DateTime | None:
        """When the desk took it from the queue (``receive``); ``None`` until then."""
        for change in self.lifecycle.history:
            if change.event == "receive":
                return change.at
        return None

    @property
    def first_contact_resolution(self) -> bool:
        """Resolved within the first contact: resolved, and never handed off."""
        return self.resolved_at is not None and not self.handoffs

    @property
    def resolved(self) -> bool:
        """Whether the customer's need was met."""
        return self.resolved_at is not None

    def advance(
        self, event: str, *, at: pendulum.DateTime, reason: str | None = None
    ) -> Interaction:
        """The interaction after an event of the interaction cycle.

        Raises:
            InvalidTransition: the event is not allowed from the current stage.
            ValidationError: ``at`` is naive or earlier than the current stage began.
        """
        state = INTERACTION_CYCLE.fire(self.lifecycle, event, at=at, reason=reason)
        return replace(self, lifecycle=state)

    def handoff(self, to: str, *, at: pendulum.DateTime, reason: str | None = None) -> Interaction:
        """Pass the interaction to ``to``; it becomes the handling agent.

        Each handoff counts against first-contact resolution: files passed
        from desk to desk lose customers. Costs the same however many
        handoffs came before, and from any version of the interaction.

        Args:
            to: who takes it over.
            at: when; timezone-aware.
            reason: why, if said.

        Raises:
            ValidationError: the interaction is closed, ``at`` is earlier than
                the last change, or an argument is invalid.
        """
        record = Handoff(to, at, reason)
        self._check_open("handoff")
        handoffs = chain_of(self.handoffs)
        # The handoffs are in time order, so the newest alone bounds the next.
        latest = handoffs[-1].at if handoffs else self.opened_at
        if _earlier(record.at, latest) or _earlier(record.at, self.lifecycle.since):
            raise ValidationError("earlier than the interaction's last change", field="at")
        return replace(self, handoffs=handoffs.appended(record), agent=record.to)

    def resolve(self, *, at: pendulum.DateTime) -> Interaction:
        """Record that the customer's need was met at ``at``.

        From ``HELPING`` this also moves the interaction on to ``KEEPING``
        (the ``keep`` event); from ``KEEPING`` or ``FOLLOW_UP`` it only
        records the time.

        Raises:
            InvalidTransition: the interaction is not yet helping, or is closed.
            ValidationError: it is already resolved, or ``at`` goes back in time.
        """
        at = aware(at, "at")
        if self.resolved_at is not None:
            raise ValidationError("the interaction is already resolved", field="resolved_at")
        if self.stage not in _RESOLVABLE:
            raise InvalidTransition(
                lifecycle=INTERACTION_CYCLE.name,
                state=self.stage,
                event="resolve",
                allowed=INTERACTION_CYCLE.allowed(self.lifecycle),
                reason="an interaction is resolved once helping has begun",
            )
        lifecycle = self.lifecycle
        if self.stage is InteractionStage.HELPING:
            lifecycle = INTERACTION_CYCLE.fire(lifecycle, "keep", at=at)
        elif _earlier(at, lifecycle.since):
            raise ValidationError("earlier than the interaction's last change", field="at")
        return replace(self, lifecycle=lifecycle, resolved_at=at)

    def record_feedback(self, feedback: Feedback) -> Interaction:
        """Attach what the customer said about this interaction (replacing earlier feedback).

        Raises:
            ValidationError: ``feedback`` is not a ``Feedback`` or predates the interaction.
        """
        if not isinstance(feedback, Feedback):
            raise ValidationError("expected a Feedback", field="feedback")
        if _earlier(feedback.at, self.opened_at):
            raise ValidationError("given before the interaction opened", field="feedback.at")
        return replace(self, feedback=feedback)

    def tag_root_cause(self, area: ServiceArea | str) -> Interaction:
        """Tag where the cause of a service failure lies."""
        return replace(self, root_cause=member(ServiceArea, area, "root_cause"))

    def _check_open(self, action: str) -> None:
        if self.lifecycle.current == InteractionStage.CLOSED:
            raise ValidationError(f"a closed interaction cannot take a {action}", field="stage")
