"""The report of a SQL store: computed in its database wherever it can be, from one snapshot.

Of a store of the shared SQL core (it offers ``sql_snapshot()``), the report
reads, inside one snapshot:

- the scorecard, pushed down to SQL over the typed columns
  (``analytics/_scorecard_sql``); with service targets every case is read
  there to evaluate them (only what the targets read of it), and the cases
  that may be open when the week starts are built whole from the same rows,
  for the status updates due and the open breaches health counts, so each
  case is read once;
- the scorecard by priority the operations figures show, from the same
  snapshot: its interactions, all in one group, are those the first scorecard
  counted, not counted again;
- the open cases, counted by team and priority in one grouped query
  (``report/_desk_sql``);
- per customer, the verdicts and last contact health counts, in one grouped
  query over the typed columns (``analytics/_health_sql``);

  these aggregates are all read ahead, on a second connection reading the
  same snapshot where the engine gives one, while the service targets are
  evaluated here;
- the interactions that may owe a feedback request in the week, chosen in SQL
  and read by the same query (``analytics/_planner_sql``), each then judged by
  the planner;
- with SLA policies, the cases opened in the last 30 days whole, to count
  attainment per policy (a policy's condition may read any field of a case):
  built from the rows the scorecard reads, or, without targets, read again;
- every customer once, for the funnel, the planner and the risk of each;
- the records of the ten customers most at risk, whose health is judged
  again from them as :func:`~custservice.analytics.health` does.

No interaction is read whole but those. Every rule is the analytics' own: SQL
only counts and selects, and ``tests/test_report_sql.py`` checks that the
report equals the one streamed from the same records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence

import pendulum

from ..analytics import DEFAULT_POLICY, DEFAULT_WEIGHTS, GroupBy, VerdictCounts, health
from ..analytics.health import Span, open_breach, risk_of
from ..analytics.scorecard import checked_query
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus
from ..service_levels import ServiceTarget
from ..storage.protocols import Store
from ._follow_ups import NO_RULES, FollowUps, customer_lookup
from ._funnel import Funnel
from ._model import CURRENT, AtRisk, Report, assemble
from ._operations import PER_PRIORITY
from ._policies import DeskRules, PolicyAttainment, PolicyCounter
from ._risk import Riskiest, may_be_current

__all__ = ["pushed_down"]

_NONE = (VerdictCounts(), VerdictCounts(), None)
_NO_DELAY = dt.timedelta(0)


def pushed_down(
    store: Store,
    at: pendulum.DateTime,
    targets: tuple[ServiceTarget, ...],
    rules: DeskRules = NO_RULES,
) -> Report | None:
    """The report of ``store`` at ``at`` from its database, or ``None`` when the store
    has no SQL snapshot or its scorecard must be streamed."""
    open_snapshot = getattr(store, "sql_snapshot", None)
    if not callable(open_snapshot):
        return None
    # Imported here: they load SQLAlchemy, which only SQL stores need.
    from ..analytics._health_sql import read_recent_verdicts
    from ..analytics._planner_sql import feedback_candidates
    from ..analytics._scorecard_sql import Kept, start_scorecard
    from ._desk_sql import read_open_case_counts

    query = checked_query(GroupBy.MONTH, targets, at, "UTC", None)
    with open_snapshot() as snapshot:
        follow_ups = FollowUps(at, targets, rules, customer_lookup(store))
        breaches: Counter[uuid.UUID] = Counter()
        by_policy = None if rules.sla is None else PolicyCounter(rules.sla, at)
        # With targets the scorecard reads every case; those counted per policy (opened
        # lately, so changed since) are built whole from the rows it reads, not read again.
        from_scorecard = by_policy is not None and bool(targets)

        def seen(cases: Sequence[Case]) -> None:
            if from_scorecard and by_policy is not None:
                for case in cases:
                    by_policy.add(case)
            still_open = list(follow_ups.open_cases(cases))
            follow_ups.plan(cases=still_open)
            breaches.update(c.customer_id for c in still_open if open_breach(c, at, targets))

        def wanted(status: CaseStatus, since: int) -> bool:
            lately = from_scorecard and by_policy is not None and since >= by_policy.since
            return lately or follow_ups.may_be_open(status, since)

        # Every aggregate is read ahead, beside the snapshot, while the first scorecard
        # evaluates the service targets here, case by case. The operations' scorecard by
        # priority has every interaction in one group: it takes what the first counts.
        kept: Kept = {}
        card_of = start_scorecard(snapshot, query, kept)
        by_priority_of = start_scorecard(snapshot, PER_PRIORITY, kept)
        desk_of = read_open_case_counts(snapshot)
        counted_of = read_recent_verdicts(snapshot, Span(at))
        card = None if card_of is None else card_of(seen, wanted)
        if card is None:
            return None
        by_priority = None if by_priority_of is None else by_priority_of(None, None)
        desk = desk_of()
        counted = counted_of()
        resolved = follow_ups.survey_resolved
        if resolved is None:
            due = feedback_candidates(snapshot, at, follow_ups.end, DEFAULT_POLICY.feedback_delay)
        else:  # under a survey policy, feedback given after the request counts too
            due = feedback_candidates(snapshot, *resolved, _NO_DELAY, answered=True)
        for page in due:
            follow_ups.plan(interactions=page)
        funnel = Funnel()
        riskiest: Riskiest[Customer] = Riskiest()
        customers = funnel.counted(follow_ups.customers(store.customers.all()))
        for customer in may_be_current(customers, at):
            recent, earlier, last = counted.get(customer.id, _NONE)
            stage, risk = risk_of(
                customer, at, recent, earlier, breaches[customer.id], last, DEFAULT_WEIGHTS
            )
            if stage in CURRENT:  # the stage the customer was in at ``at``
                riskiest.offer(risk, customer.id, customer)
        # The ten are judged again from their records, as health does from any store.
        at_risk = [
            AtRisk(c.name, health(c, store, at=at, targets=targets)) for c in riskiest.result()
        ]
        policies: tuple[PolicyAttainment, ...] = ()
        if by_policy is not None:
            if not from_scorecard:  # each case whole: a policy may read any of its fields
                for case in store.cases.all():
                    by_policy.add(case)
            policies = by_policy.result()
        return assemble(
            store, at, funnel, card, desk, at_risk, follow_ups.result(), policies, by_priority
        )
