"""Analytics and planning: scorecards, customer health, lifetime value, follow-ups due.

Pure functions over domain objects, or over a store: they read records as
they stream by, keep counters rather than records, read no clock (every
instant is passed in) and change nothing. Those that take a store take an
:class:`~custservice.storage.asynchronous.AsyncStore` too, and are then
awaited: ``await scorecard(async_store)``.

- :func:`scorecard`: CSAT, NPS, verdict distributions overall and per
  factor, first-contact resolution, queue-wait median and 90th percentile,
  handoffs per interaction and service-target attainment, grouped by
  channel, agent, root cause, segment or period.
- :func:`health`: an explainable churn-risk score with its reasons, and the
  customer-lifecycle events it suggests.
- :func:`clv` and :func:`margin_multiple` (Gupta and Lehmann 2003), and
  :func:`revenue_at_risk` from practitioners' rules of thumb.
- :func:`plan_follow_ups`: birthday greetings, feedback requests, status
  updates, recovery contacts and win-back offers due in a window.
"""

from .health import DEFAULT_WEIGHTS, Health, HealthWeights, Reason, SuggestedEvent, health
from .planner import DEFAULT_POLICY, FollowUp, FollowUpKind, FollowUpPolicy, plan_follow_ups
from .scorecard import (
    NO_GROUP,
    CustomerLookup,
    GroupBy,
    Scorecard,
    ScorecardPushdown,
    ScorecardQuery,
    TargetAttainment,
    scorecard,
)
from .value import RevenueAtRisk, clv, latest_verdicts, margin_multiple, revenue_at_risk
from .verdicts import VerdictCounts

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_WEIGHTS",
    "NO_GROUP",
    "CustomerLookup",
    "FollowUp",
    "FollowUpKind",
    "FollowUpPolicy",
    "GroupBy",
    "Health",
    "HealthWeights",
    "Reason",
    "RevenueAtRisk",
    "Scorecard",
    "ScorecardPushdown",
    "ScorecardQuery",
    "SuggestedEvent",
    "TargetAttainment",
    "VerdictCounts",
    "clv",
    "health",
    "latest_verdicts",
    "margin_multiple",
    "plan_follow_ups",
    "revenue_at_risk",
    "scorecard",
]
