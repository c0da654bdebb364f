"""Feedback requests and reminders under a survey policy, for one window.

The planner offers every interaction it reads; only those whose request could
matter to the window are kept (see :class:`SurveyPlan`), so the interactions
are never held, and the decision is made once all are read, as the minimum
interval couples the requests of one customer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

from .._time import micros
from ..customers import Customer
from ..interactions import Interaction
from ..policies.surveys import SurveyPolicy

__all__ = ["Asked", "SurveyPlan", "lookback"]

_US = dt.timedelta(microseconds=1)

Asked = tuple[bool, Interaction, dt.timedelta]
"""One action due: whether it is a reminder, the interaction, and its delay after the
resolution."""


def _us(value: dt.timedelta) -> int:
    return dt.timedelta.__floordiv__(value, _US)


def lookback(policy: SurveyPolicy) -> dt.timedelta:
    """How long before a window a request may fall due and still matter to it: a reminder
    due in the window follows its request by ``remind_after``, and whether that request
    was made depends on the requests due in the ``min_interval`` before it."""
    return policy.min_interval + (policy.remind_after or dt.timedelta(0))


class SurveyPlan:
    """The feedback requests and reminders due in ``[t0, t1)`` (microseconds since 1970,
    UTC) under ``policy``, from the interactions offered."""

    def __init__(
        self,
        policy: SurveyPolicy,
        t0: int,
        t1: int,
        customer_of: Callable[[uuid.UUID], Customer | None],
    ) -> None:
        self._policy = policy
        self._t0, self._t1 = t0, t1
        self._delay = _us(policy.delay)
        self._from = t0 - _us(lookback(policy))
        self._customer_of = customer_of
        self._candidates: dict[uuid.UUID, list[tuple[int, str, Interaction]]] = {}

    def offer(self, interaction: Interaction) -> None:
        """Keep ``interaction`` if the policy would ask about it, and its request could
        matter to the window."""
        resolved = interaction.resolved_at
        if resolved is None:
            return
        due = micros(resolved) + self._delay
        if not self._from <= due < self._t1:
            return
        policy = self._policy
        if _answered_by(interaction, due) or not policy.samples(interaction.id):
            return
        skip = policy.skip_if
        if skip is not None:
            customer = self._customer_of(interaction.customer_id) if skip.reads_customer else None
            if skip.matches(interaction, customer):
                return
        found = self._candidates.setdefault(interaction.customer_id, [])
        found.append((due, str(interaction.id), interaction))

    def due(self) -> Iterator[Asked]:
        """The requests and reminders due in the window, per customer."""
        policy = self._policy
        interval = _us(policy.min_interval)
        remind = policy.remind_after
        for candidates in self._candidates.values():
            candidates.sort(key=lambda c: (c[0], c[1]))
            previous: int | None = None
            for due, _, interaction in candidates:
                # A request is made unless another fell due in the interval before it.
                asked = previous is None or due - previous >= interval
                previous = due
                if not asked:
                    continue
                if self._t0 <= due < self._t1:
                    yield False, interaction, policy.delay
                if remind is not None:
                    again = due + _us(remind)
                    if self._t0 <= again < self._t1 and not _answered_by(interaction, again):
                        yield True, interaction, policy.delay + remind


def _answered_by(interaction: Interaction, at: int) -> bool:
    """Whether the customer gave feedback on ``interaction`` by ``at``."""
    feedback = interaction.feedback
    return feedback is not None and micros(feedback.at) <= at
