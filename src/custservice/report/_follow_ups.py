"""The follow-ups due in the week a report describes, planned chunk by chunk."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import pendulum

from .._time import micros
from ..analytics import FollowUp
from ..analytics.planner import Planner
from ..analytics.planner import _order as _planner_order
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus
from ..errors import NotFound
from ..interactions import Interaction
from ..service_levels import ServiceTarget
from ..storage.protocols import Store
from ._desk import FINISHED
from ._policies import DeskRules

__all__ = ["NO_RULES", "FollowUps", "customer_lookup"]

R = TypeVar("R", Customer, Interaction, Case)

_CHUNK = 500
NO_RULES = DeskRules()


class FollowUps:
    """The follow-ups due in the week from ``at``, planned chunk by chunk as records pass.

    :func:`~custservice.analytics.plan_follow_ups` judges every record on its
    own, so planning chunks and sorting the union gives what one call over
    everything gives, without holding the records. Under a survey policy the
    interactions resolved when their requests may matter to the week (a few
    days' worth) are held, and planned together at the end: the policy's
    minimum interval couples one customer's requests.

    With SLA policies, they choose each case's targets instead of ``targets``.
    ``customer_of`` finds a case's customer for conditions on its fields.
    """

    def __init__(
        self,
        at: pendulum.DateTime,
        targets: tuple[ServiceTarget, ...],
        rules: DeskRules = NO_RULES,
        customer_of: Callable[[uuid.UUID], Customer | None] | None = None,
    ) -> None:
        self.start = at
        self.end = at.add(days=7)
        self._start = micros(at)
        self._planner = Planner(
            window_start=self.start,
            window_end=self.end,
            targets=() if rules.sla is not None else targets,
            sla=rules.sla,
            escalations=rules.escalations,
            survey=rules.survey,
            customer_of=customer_of,
        )
        self.survey_resolved = self._planner.survey_resolved
        self._held: list[Interaction] = []
        self._found: list[FollowUp] = []

    def plan(
        self,
        *,
        customers: Iterable[Customer] = (),
        interactions: Iterable[Interaction] = (),
        cases: Iterable[Case] = (),
    ) -> None:
        """Plan the follow-ups of these records."""
        if self.survey_resolved is not None:
            interactions = self._hold(interactions)
        self._found += self._planner.plan(customers, interactions, cases)

    def _hold(self, interactions: Iterable[Interaction]) -> tuple[()]:
        assert self.survey_resolved is not None
        low, high = (micros(t) for t in self.survey_resolved)
        for interaction in interactions:
            resolved = interaction.resolved_at
            if resolved is not None and low <= micros(resolved) < high:
                self._held.append(interaction)
        return ()

    def customers(self, records: Iterable[Customer]) -> Iterator[Customer]:
        """Yield ``records`` unchanged, planning their follow-ups a chunk at a time."""
        return _tap(records, lambda chunk: self.plan(customers=chunk))

    def interactions(self, records: Iterable[Interaction]) -> Iterator[Interaction]:
        """Yield ``records`` unchanged, planning their follow-ups a chunk at a time."""
        return _tap(records, lambda chunk: self.plan(interactions=chunk))

    def cases(self, records: Iterable[Case]) -> Iterator[Case]:
        """Yield ``records`` unchanged, planning their follow-ups a chunk at a time."""
        return _tap(records, lambda chunk: self.plan(cases=self.open_cases(chunk)))

    def open_cases(self, cases: Iterable[Case]) -> Iterator[Case]:
        """The cases that may be open when the window starts.

        The planner proposes status updates for open cases only, and health
        counts breaches on open cases only; a case solved or closed before the
        window, and not changed since (its ``since`` is its last change), is
        not open then and need not be evaluated.
        """
        for case in cases:
            if self.may_be_open(case.status, micros(case.lifecycle.since)):
                yield case

    def may_be_open(self, status: CaseStatus, since: int) -> bool:
        """Whether a case in ``status`` since ``since`` (microseconds since 1970, UTC)
        may be open when the window starts: see :meth:`open_cases`."""
        return status not in FINISHED or since > self._start

    def result(self) -> tuple[FollowUp, ...]:
        """Everything found, in the planner's order: due instant, kind, customer, record."""
        if self._held:
            self._found += self._planner.plan((), self._held, ())
            self._held = []
        return tuple(sorted(self._found, key=_planner_order))


def customer_lookup(store: Store) -> Callable[[uuid.UUID], Customer | None]:
    """The customer of an id in ``store``; ``None`` for one it does not hold."""

    def find(customer_id: uuid.UUID) -> Customer | None:
        try:
            return store.customers.get(customer_id)
        except NotFound:
            return None

    return find


def _tap(records: Iterable[R], plan: Callable[[list[R]], None]) -> Iterator[R]:
    chunk: list[R] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == _CHUNK:
            plan(chunk)
            chunk = []
        yield record
    plan(chunk)
