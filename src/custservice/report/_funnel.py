"""The lifecycle funnel: who ever reached each stage, who is where now, who came back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from .._history import history_entries
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


_STAGES = {s.value: s for s in CustomerStage}


def _stage(state: object) -> CustomerStage:
    found = _STAGES.get(state) if type(state) is str else None
    return CustomerStage(str(state)) if found is None else found


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
        # The history's entries as they are kept: no change object is built for each.
        entries = list(history_entries(customer.lifecycle.history))
        seen = {_stage(target) for _, _, target, _, _ in entries}
        seen.update((CustomerStage.PROSPECT, stage))
        self.reached.update(s for s in FUNNEL if s in seen)
        self.won_back += any(event == "win_back" for event, _, _, _, _ in entries)

    def counted(self, customers: Iterable[Customer]) -> Iterator[Customer]:
        """Yield ``customers`` unchanged, counting each."""
        for customer in customers:
            self.add(customer)
            yield customer
