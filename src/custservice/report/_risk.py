"""The risk list: the customers with the highest churn risk, ties to the lower id."""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import pendulum

from .._time import between
from ..customers import Customer
from ._model import CURRENT, SHOWN

__all__ = ["Riskiest", "may_be_current"]

T = TypeVar("T")
_ZERO = dt.timedelta(0)


def may_be_current(customers: Iterable[Customer], at: pendulum.DateTime) -> Iterator[Customer]:
    """The customers who may have been neither prospects nor churned at ``at``: they are
    now, or their stage changed after ``at``. Health tells the stage at ``at``."""
    for customer in customers:
        if customer.stage in CURRENT or between(customer.lifecycle.since, at) < _ZERO:
            yield customer


class Riskiest(Generic[T]):
    """The entries of the highest risks offered, at most :data:`SHOWN`, kept in a min-heap.

    An entry is anything kept for a customer (their health, or the customer to
    judge again); of equal risks, the lower customer id ranks higher.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []

    def offer(self, risk: float, customer_id: uuid.UUID, entry: T) -> None:
        """Keep ``entry`` if its risk is among the highest offered so far."""
        item = (risk, -customer_id.int, entry)  # ids are unique: entries are never compared
        if len(self._heap) < SHOWN:
            heapq.heappush(self._heap, item)
        else:
            heapq.heappushpop(self._heap, item)

    def result(self) -> list[T]:
        """The entries kept, highest risk first."""
        return [entry for _, _, entry in sorted(self._heap, key=_rank, reverse=True)]


def _rank(item: tuple[float, int, object]) -> tuple[float, int]:
    return item[0], item[1]
