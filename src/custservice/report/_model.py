"""What a report holds, and the choices of what it shows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import attrs
import pendulum

from ..analytics import FollowUp, FollowUpKind, Health, Scorecard
from ..enums import CustomerStage
from ..storage.protocols import Store
from ._desk import OpenCases
from ._funnel import FUNNEL, Funnel
from ._operations import Operations, operations
from ._policies import PolicyAttainment

__all__ = ["CURRENT", "SHOWN", "UNLISTED", "AtRisk", "Report", "assemble", "listed"]

CURRENT = frozenset(CustomerStage) - {CustomerStage.PROSPECT, CustomerStage.CHURNED}
"""The stages of customers the risk list ranks: neither prospects nor churned."""
SHOWN = 10
"""How many customers at risk, and follow-ups, a report lists."""
UNLISTED = frozenset({FollowUpKind.BIRTHDAY_GREETING})
"""Listed by name and due date, these would tell a customer's birthday: they are only counted."""


@attrs.frozen
class AtRisk:
    """A customer high on the churn-risk list: who, and their explained health."""

    name: str
    health: Health


@attrs.frozen
class Report:
    """A service report at one instant.

    Attributes:
        at: the instant it describes.
        customers: how many customers are stored.
        reached: per funnel stage, how many customers ever reached it.
        stages: per stage, how many customers are in it now.
        won_back: customers who churned and were won back at least once.
        card: the scorecard of every interaction and case, with targets.
        desk: the cases open now, by team and priority.
        months: per month opened (in UTC), its scorecard (for attainment
            over time).
        at_risk: the customers most at risk, highest risk first (at most ten,
            among customers neither prospects nor churned).
        follow_ups: every follow-up due in the week from ``at``, in the
            planner's order.
        names: the names of the customers of the follow-ups a report lists:
            the first ten, birthday greetings left out.
        operations: reply and resolution times per priority, the backlog by
            age, and the agents a typical week needs.
        policies: with SLA policies, how the cases under each fared; empty
            without.
    """

    at: pendulum.DateTime
    customers: int
    reached: Mapping[CustomerStage, int]
    stages: Mapping[CustomerStage, int]
    won_back: int
    card: Scorecard
    desk: OpenCases
    months: Mapping[str, Scorecard]
    at_risk: tuple[AtRisk, ...]
    follow_ups: tuple[FollowUp, ...]
    names: Mapping[uuid.UUID, str]
    operations: Operations
    policies: tuple[PolicyAttainment, ...] = ()


def listed(follow_ups: Iterable[FollowUp]) -> list[FollowUp]:
    """The follow-ups a report lists by name: the first ten, birthday greetings left out."""
    return [f for f in follow_ups if f.kind not in UNLISTED][:SHOWN]


def assemble(
    store: Store,
    at: pendulum.DateTime,
    funnel: Funnel,
    card: Scorecard,
    desk: OpenCases,
    at_risk: Iterable[AtRisk],
    follow_ups: tuple[FollowUp, ...],
    policies: tuple[PolicyAttainment, ...] = (),
    by_priority: Scorecard | None = None,
) -> Report:
    """The report of what was read; the names of the listed follow-ups are read here, and
    the operations figures computed (``by_priority``: their scorecard, if it was)."""
    names = {f.customer_id: store.customers.get(f.customer_id).name for f in listed(follow_ups)}
    return Report(
        at=at,
        customers=sum(funnel.stages.values()),
        reached={s: funnel.reached[s] for s in FUNNEL},
        stages={s: funnel.stages[s] for s in CustomerStage},
        won_back=funnel.won_back,
        card=card,
        desk=desk,
        months=dict(card.groups),
        at_risk=tuple(at_risk),
        follow_ups=follow_ups,
        names=names,
        policies=policies,
        operations=operations(store, at, by_priority),
    )
