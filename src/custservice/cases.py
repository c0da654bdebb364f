"""Cases: a customer's request followed from opening to closing, with its public updates."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

import attrs
import pendulum

from ._ids import new_id
from ._persistent import Chain, chain_of
from ._records import check_identity, replace
from ._time import Clock, aware, micros, read_clock
from ._validation import Problems, member, text
from .enums import CaseStatus, ServiceArea
from .errors import ValidationError
from .lifecycle import LifecycleState
from .lifecycle import earlier as _earlier
from .lifecycles import CASE_LIFECYCLE

__all__ = ["Case", "CaseUpdate"]


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
class Case:
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
        problems.raise_if_any()
        assert opened_at is not None
        times = [micros(u.at) for u in self.updates]
        if times and (times[0] < micros(opened_at) or times != sorted(times)):
            problems.add("updates", "must be in time order, after opened_at")
        problems.raise_if_any()
        object.__setattr__(self, "opened_at", opened_at)
        object.__setattr__(self, "promised_by", promised_by)
        object.__setattr__(self, "updates", chain_of(self.updates))
        object.__setattr__(self, "root_cause", root_cause)

    @classmethod
    def open(
        cls,
        customer_id: uuid.UUID,
        subject: str,
        *,
        clock: Clock,
        promised_by: pendulum.DateTime | None = None,
        id: uuid.UUID | None = None,
        rng: random.Random | None = None,
    ) -> Case:
        """A new case, ``NEW`` from ``clock.now()``.

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
