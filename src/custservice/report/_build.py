"""Building a report: the instant it describes, and which way the store is read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import pendulum

from .._time import aware, micros
from ..analytics import GroupBy
from ..analytics._on_async import accepts_async_store
from ..analytics.scorecard import checked_query
from ..cases import Case
from ..customers import Customer
from ..interactions import Interaction
from ..policies import EscalationRule, SlaPolicies, SurveyPolicy
from ..service_levels import ServiceTarget
from ..simulation import DEMO_TARGETS
from ..storage.protocols import Store
from ._model import Report
from ._policies import DeskRules
from ._pushed import pushed_down
from ._streamed import streamed

__all__ = ["build_report", "latest_change"]


def latest_change(store: Store) -> pendulum.DateTime | None:
    """The latest instant recorded in ``store``.

    That is the latest lifecycle change, feedback, handoff, resolution or
    case update of any record. It reads every record once; ``None`` for an
    empty store.

    Examples:
        >>> from custservice.report import latest_change
        >>> with open_store("memory://") as store:
        ...     latest_change(store) is None
        True
    """
    latest: pendulum.DateTime | None = None
    newest = 0
    for records in (store.customers.all(), store.interactions.all(), store.cases.all()):
        for record in records:
            for when in _moments(record):
                t = micros(when)
                if latest is None or t > newest:
                    latest, newest = when, t
    return latest


def _moments(record: Customer | Interaction | Case) -> Iterator[pendulum.DateTime]:
    """The instants at which ``record`` last changed, one per kind of change."""
    yield record.lifecycle.since
    if isinstance(record, Interaction):
        if record.feedback is not None:
            yield record.feedback.at
        if record.resolved_at is not None:
            yield record.resolved_at
        if record.handoffs:
            yield record.handoffs[-1].at
    elif isinstance(record, Case) and record.updates:
        yield record.updates[-1].at


@accepts_async_store
def build_report(
    store: Store,
    *,
    at: dt.datetime | None = None,
    targets: Iterable[ServiceTarget] = DEMO_TARGETS,
    sla: SlaPolicies | None = None,
    escalations: Iterable[EscalationRule] = (),
    survey: SurveyPolicy | None = None,
) -> Report:
    """Read ``store`` and build its service report.

    A store of the shared SQL core computes what it can in its database, in
    one snapshot: the scorecard over its typed columns, and the choice of the
    few records the risk list and the follow-up planner must read. Any other
    store is read in one pass over its customers, interactions and cases
    (plus, per current customer, their recent interactions and their cases,
    for :func:`~custservice.analytics.health`), keeping counters, the ten
    customers most at risk and the follow-ups due, never whole tables. Both
    give the same report of the same records.

    Args:
        store: any store.
        at: the instant service targets, risks and follow-ups are evaluated
            at; by default the latest change recorded in the store (so the
            report of a store never depends on the wall clock). Counts,
            stages and verdicts always cover every stored record as it is
            now: a store keeps each record's latest state, not its past, so
            an earlier ``at`` asks "what was due then", not "how things
            stood then".
        targets: the service targets evaluated on every case for the
            scorecard; the demo's by default.
        sla: SLA policies: then the follow-ups (status updates, warnings,
            escalations on a breach) follow the policy of each case instead
            of ``targets``, and the report counts attainment per policy
            (:attr:`Report.policies`). ``custservice report`` and the demo
            give the demo's (:data:`~custservice.simulation.DEMO_POLICIES`).
        escalations: the escalation rules the follow-ups propose escalations by.
        survey: the survey policy feedback requests follow; without one,
            every resolved interaction without feedback is asked about a day
            after.

    Returns:
        The :class:`Report`.

    Raises:
        ValidationError: ``at`` is naive, ``targets`` are not service
            targets (at most one per metric), or a rule is of the wrong kind.

    Examples:
        >>> from custservice.report import build_report
        >>> with open_store("memory://") as store:
        ...     report = build_report(store, at=pendulum.datetime(2026, 3, 2, 9))
        >>> report.customers, report.card.csat, report.reached[CustomerStage.PROSPECT]
        (0, None, 0)
    """
    if at is None:
        at = latest_change(store) or pendulum.datetime(1970, 1, 1)
    when = aware(at, "at")
    chosen = checked_query(GroupBy.MONTH, targets, when, "UTC", None).targets
    rules = DeskRules(sla, escalations, survey)
    return pushed_down(store, when, chosen, rules) or streamed(store, when, chosen, rules)
