"""The report of any store, read as a stream in one pass.

The store is read once: its customers (and, per customer who may be
current, their recent interactions and their cases, for
:func:`~custservice.analytics.health`), then its interactions and cases,
which the follow-up planner and the scorecard see as they stream by. One read
of each record costs less than a scorecard query over them all and then a
read of each for the planner. Only counters, the ten customers most at risk
and the follow-ups due are kept, never whole tables.
"""

from __future__ import annotations

import pendulum

from ..analytics import GroupBy, health, scorecard
from ..service_levels import ServiceTarget
from ..storage.protocols import Store
from ._desk import DeskCounter
from ._follow_ups import NO_RULES, FollowUps, customer_lookup
from ._funnel import Funnel
from ._model import CURRENT, AtRisk, Report, assemble
from ._policies import DeskRules, PolicyCounter
from ._risk import Riskiest, may_be_current

__all__ = ["streamed"]


def streamed(
    store: Store,
    at: pendulum.DateTime,
    targets: tuple[ServiceTarget, ...],
    rules: DeskRules = NO_RULES,
) -> Report:
    """The report of ``store`` at ``at``, every record read once."""
    follow_ups = FollowUps(at, targets, rules, customer_lookup(store))
    by_policy = PolicyCounter(rules.sla, at) if rules.sla is not None else None
    funnel = Funnel()
    desk = DeskCounter()
    riskiest: Riskiest[AtRisk] = Riskiest()
    customers = funnel.counted(follow_ups.customers(store.customers.all()))
    for customer in may_be_current(customers, at):
        h = health(customer, store, at=at, targets=targets)
        if h.stage in CURRENT:  # the stage the customer was in at ``at``
            riskiest.offer(h.risk, customer.id, AtRisk(customer.name, h))
    cases = desk.counted(store.cases.all())
    card = scorecard(
        follow_ups.interactions(store.interactions.all()),
        follow_ups.cases(cases if by_policy is None else by_policy.counted(cases)),
        by=GroupBy.MONTH,
        targets=targets,
        at=at,
    )
    return assemble(
        store,
        at,
        funnel,
        card,
        desk.result(),
        riskiest.result(),
        follow_ups.result(),
        () if by_policy is None else by_policy.result(),
    )
