"""The lifecycle funnel: who ever reached each stage, who is where now, who came back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from ..customers import Customer
from ..enums import CustomerStage

__all__ = ["FUNNEL", "Funnel"]

FUNNEL = (
    CustomerStage.PROSPECT,
    CustomerStage.NEW,
    CustomerStage.ACTIVE,
    CustomerStage.LOYAL,
    CustomerStage.ADVOCATE,
)
"""The customer lifecycle's way forward, in order; at-risk and churned are exits from it."""


class Funnel:
    """Counts of the customers added, from each one's lifecycle history.

    Attributes:
        reached: per stage, the customers who ever reached it (every customer
            was a prospect).
        stages: per stage, the customers in it now.
        won_back: the customers who churned and were won back at least once.
    """

    def __init__(self) -> None:
        self.reached: Counter[CustomerStage] = Counter()
        self.stages: Counter[CustomerStage] = Counter()
        self.won_back = 0

    def add(self, customer: Customer) -> None:
        """Count one customer."""
        stage = customer.stage
        self.stages[stage] += 1
        history = customer.lifecycle.history
        seen = {CustomerStage(str(c.target)) for c in history}
        seen.update((CustomerStage.PROSPECT, stage))
        self.reached.update(s for s in FUNNEL if s in seen)
        self.won_back += any(c.event == "win_back" for c in history)

    def counted(self, customers: Iterable[Customer]) -> Iterator[Customer]:
        """Yield ``customers`` unchanged, counting each."""
        for customer in customers:
            self.add(customer)
            yield customer
