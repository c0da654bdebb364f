"""The vocabulary of customer service, as enums.

String-valued enums serialize as their values (``Channel.PHONE`` is
``"phone"``) and compare equal to them. The two ordered enums, :class:`Verdict`
and :class:`Priority`, serialize as their values too, but compare only with
their own members (by rank), never with text.
"""

from __future__ import annotations

import enum
import functools
from typing import Any

__all__ = [
    "CaseStatus",
    "Channel",
    "CustomerStage",
    "Dimension",
    "EscalationAction",
    "Factor",
    "InteractionStage",
    "LinkKind",
    "Metric",
    "Priority",
    "ServiceArea",
    "TargetState",
    "Verdict",
]


class Channel(enum.StrEnum):
    """How a customer reaches the service."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    IN_PERSON = "in_person"
    SOCIAL = "social"
    SELF_SERVICE = "self_service"


class _Ranked(enum.Enum):
    """An enum whose members are ordered by their place in its definition (the first is
    the lowest), with string values, that neither equals nor orders against plain text.

    ``max()``, ``sorted()`` and ``<`` work on members of one enum; comparing
    with a member of another enum or with a string raises ``TypeError``, as
    comparing unrelated types does.
    """

    @property
    def rank(self) -> int:
        """The member's place in its enum, from 0 for the lowest."""
        return _ranks(type(self))[self.name]

    def __str__(self) -> str:
        return str(self.value)

    def _compare(self, other: Any) -> int | None:
        if type(other) is not type(self):
            return None
        return self.rank - other.rank

    def __lt__(self, other: Any) -> bool:
        c = self._compare(other)
        return NotImplemented if c is None else c < 0

    def __le__(self, other: Any) -> bool:
        c = self._compare(other)
        return NotImplemented if c is None else c <= 0

    def __gt__(self, other: Any) -> bool:
        c = self._compare(other)
        return NotImplemented if c is None else c > 0

    def __ge__(self, other: Any) -> bool:
        c = self._compare(other)
        return NotImplemented if c is None else c >= 0

    __hash__ = enum.Enum.__hash__


@functools.cache
def _ranks(kind: type[_Ranked]) -> dict[str, int]:
    """Each member's name with its place in the definition of ``kind``."""
    return {member.name: i for i, member in enumerate(kind)}


class Verdict(_Ranked):
    """How an outcome compares with what the customer expected.

    Ordered: ``DISSATISFIED < SATISFIED < DELIGHTED``, so ``max(verdicts)``
    is the best and ``verdict >= Verdict.SATISFIED`` asks "was it good enough?";
    ``verdict.rank`` is 0, 1 or 2. Its values are strings (``"satisfied"``),
    but a verdict does not compare equal to, or order against, a plain string.
    """

    DISSATISFIED = "dissatisfied"
    """Below what the customer will accept: at risk of leaving."""
    SATISFIED = "satisfied"
    """Expectation met or slightly exceeded: likely to come back."""
    DELIGHTED = "delighted"
    """Exceptional: a brand ambassador."""


class Priority(_Ranked):
    """How urgent a case is.

    Ordered: ``LOW < NORMAL < HIGH < URGENT`` (``priority >= Priority.HIGH``
    asks "does it jump the queue?"; ``priority.rank`` is 0 to 3). Its values
    are strings (``"high"``), but, like a :class:`Verdict`, a priority does
    not compare equal to, or order against, a plain string: ``Priority("high")``
    turns text into a member.
    """

    LOW = "low"
    """Whenever there is time."""
    NORMAL = "normal"
    """The default."""
    HIGH = "high"
    """Ahead of the normal queue."""
    URGENT = "urgent"
    """Drop everything."""


class Dimension(enum.StrEnum):
    """The two dimensions on which customers judge service."""

    PROCEDURAL = "procedural"
    """Systems, processes, product quality, supply, equipment."""
    PERSONAL = "personal"
    """Attitude, behaviour and verbal skill of the people serving."""


class Factor(enum.StrEnum):
    """The seven factors that make a customer feel special.

    Each belongs to one :class:`Dimension` (``Factor.SPEED.dimension``).
    """

    SPEED = "speed"
    """Speed and time: deliver quickly, never keep the customer waiting."""
    PERSONALIZATION = "personalization"
    """Personal interaction: knowing likes, dislikes and hobbies."""
    EXPECTATIONS = "expectations"
    """Expectations: promise only what can be delivered, then deliver it."""
    COMPETENCE = "competence"
    """Courtesy and competence of the people serving."""
    INFORMATION = "information"
    """Information: keep the customer informed of status without being asked."""
    ATTITUDE = "attitude"
    """Attitude and liaison: warmth, willingness, follow-through."""
    RELATIONSHIP = "relationship"
    """Long-term relationship: recognise and reward loyalty."""

    @property
    def dimension(self) -> Dimension:
        """The dimension of service this factor belongs to."""
        return _FACTOR_DIMENSION[self]


_FACTOR_DIMENSION: dict[Factor, Dimension] = {
    Factor.SPEED: Dimension.PROCEDURAL,
    Factor.PERSONALIZATION: Dimension.PERSONAL,
    Factor.EXPECTATIONS: Dimension.PROCEDURAL,
    Factor.COMPETENCE: Dimension.PERSONAL,
    Factor.INFORMATION: Dimension.PROCEDURAL,
    Factor.ATTITUDE: Dimension.PERSONAL,
    Factor.RELATIONSHIP: Dimension.PROCEDURAL,
}


class ServiceArea(enum.StrEnum):
    """The six dimensions of a service programme; where a failure's cause lies."""

    CUSTOMER = "customer"
    """Who the customers are, what they need and what they expect."""
    SERVICE_CONCEPT = "service_concept"
    """What the service promises: its offer and the standards it keeps."""
    SERVICE_PROCESS = "service_process"
    """How the service is delivered, step by step, as the customer meets it."""
    TOOLS = "tools"
    """The systems, equipment and information the people serving rely on."""
    BUSINESS_PLAN = "business_plan"
    """The goals, budget and measures that fund and steer the service."""
    TEAM = "team"
    """The people who serve: hiring, training, empowerment and morale."""


class CustomerStage(enum.StrEnum):
    """Where a customer stands in the customer lifecycle."""

    PROSPECT = "prospect"
    NEW = "new"
    ACTIVE = "active"
    LOYAL = "loyal"
    ADVOCATE = "advocate"
    AT_RISK = "at_risk"
    CHURNED = "churned"


class InteractionStage(enum.StrEnum):
    """Where an interaction stands in the customer interaction cycle."""

    READY = "ready"
    RECEIVING = "receiving"
    UNDERSTANDING = "understanding"
    HELPING = "helping"
    KEEPING = "keeping"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


class CaseStatus(enum.StrEnum):
    """The status of a case, as the customer is told it."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    """Waiting on the customer; service-level clocks pause by default."""
    ON_HOLD = "on_hold"
    """Waiting on a third party."""
    SOLVED = "solved"
    CLOSED = "closed"


class LinkKind(enum.StrEnum):
    """How one case is linked to another (:meth:`~custservice.cases.Case.link`)."""

    RELATED = "related"
    """About the same thing, each handled on its own."""
    PARENT = "parent"
    """The other case is this one's parent: the problem this one is part of."""
    CHILD = "child"
    """The other case is part of this one."""
    DUPLICATE = "duplicate"
    """The other case is the same request; merge one into the other to count it once."""


class EscalationAction(enum.StrEnum):
    """What an escalation proposes to do with a case; the library never does it."""

    NOTIFY = "notify"
    """Tell someone (the team lead, a manager) about the case."""
    REASSIGN = "reassign"
    """Give the case to someone else."""
    RAISE_PRIORITY = "raise_priority"
    """Raise the case's priority."""


class Metric(enum.StrEnum):
    """What a service target measures."""

    FIRST_RESPONSE = "first_response"
    """Case opened to the first public agent update."""
    NEXT_RESPONSE = "next_response"
    """Oldest unanswered customer message to the next agent update."""
    PERIODIC_UPDATE = "periodic_update"
    """Time between agent updates while the case is open."""
    RESOLUTION = "resolution"
    """Case opened to solved, reopenings counted."""


class TargetState(enum.StrEnum):
    """Where a service target stands."""

    ACTIVE = "active"
    PAUSED = "paused"
    ACHIEVED = "achieved"
    BREACHED = "breached"
