"""The follow-ups due in the week a report describes, planned chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import pendulum

from .._time import micros
from ..analytics import FollowUp, plan_follow_ups
from ..analytics.planner import _order as _planner_order
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus
from ..interactions import Interaction
from ..service_levels import ServiceTarget
from ._desk import FINISHED

__all__ = ["FollowUps"]

R = TypeVar("R", Customer, Interaction, Case)

_CHUNK = 500


class FollowUps:
    """The follow-ups due in the week from ``at``, planned chunk by chunk as records pass.

    :func:`~custservice.analytics.plan_follow_ups` judges every record on its
    own, so planning chunks and sorting the union gives what one call over
    everything gives, without holding the records.
    """

    def __init__(self, at: pendulum.DateTime, targets: tuple[ServiceTarget, ...]) -> None:
        self.start = at
        self.end = at.add(days=7)
        self._start = micros(at)
        self._targets = targets
        self._found: list[FollowUp] = []

    def plan(
        self,
        *,
        customers: Iterable[Customer] = (),
        interactions: Iterable[Interaction] = (),
        cases: Iterable[Case] = (),
    ) -> None:
        """Plan the follow-ups of these records."""
        self._found += plan_follow_ups(
            customers,
            interactions,
            cases,
            window_start=self.start,
            window_end=self.end,
            targets=self._targets,
        )

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
        return tuple(sorted(self._found, key=_planner_order))


def _tap(records: Iterable[R], plan: Callable[[list[R]], None]) -> Iterator[R]:
    chunk: list[R] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == _CHUNK:
            plan(chunk)
            chunk = []
        yield record
    plan(chunk)
