"""Analytics and planning: scorecards, customer health, lifetime value, follow-ups due.

Pure functions over domain objects, or over a store: they read records as
they stream by, keep counters rather than records, read no clock (every
instant is passed in) and change nothing. Those that take a store take an
:class:`~custservice.storage.asynchronous.AsyncStore` too, and are then
awaited: ``await scorecard(async_store)``.

- :func:`scorecard`: CSAT, NPS, verdict distributions overall and per
  factor, first-contact resolution, the :class:`Distribution` (median, 90th
  and 95th percentiles, buckets) of queue waits, first replies and
  resolutions, handoffs per interaction and service-target attainment,
  grouped by channel, agent, root cause, segment, period, priority, team,
  assignee or tag.
- :func:`health`: an explainable churn-risk score with its reasons, and the
  customer-lifecycle events it suggests.
- :func:`clv` and :func:`margin_multiple` (Gupta and Lehmann 2003), and
  :func:`revenue_at_risk` from practitioners' rules of thumb.
- :func:`plan_follow_ups`: birthday greetings, feedback requests, status
  updates, recovery contacts and win-back offers due in a window.
- :func:`case_metrics`: a case's first reply, resolution, waits, time on
  hold, replies, reopenings and stations, in calendar and business time.
- :func:`backlog`: the open cases by age at an instant (in calendar or
  business time), the cases created and solved per day, week or month, and
  the reopen rate.
- Workforce: :func:`arrivals` learns a :class:`Forecast` of contacts per
  interval of the week; :func:`erlang_c`, :func:`erlang_a`,
  :func:`service_level`, :func:`average_speed_of_answer`,
  :func:`abandonment` and :func:`agents_needed` size a queue;
  :func:`staffing_plan` sizes every interval of a forecast.
"""

from .case_flow import DEFAULT_AGES, Backlog, backlog
from .case_measures import CaseMetrics, Elapsed, case_metrics
from .distribution import DEFAULT_BOUNDS, Distribution
from .forecasting import Forecast, arrivals
from .health import DEFAULT_WEIGHTS, Health, HealthWeights, Reason, SuggestedEvent, health
from .planner import DEFAULT_POLICY, FollowUp, FollowUpKind, FollowUpPolicy, plan_follow_ups
from .rostering import StaffingPlan, staffing_plan
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
from .staffing import (
    StaffingNeed,
    abandonment,
    agents_needed,
    average_speed_of_answer,
    erlang_a,
    erlang_c,
    service_level,
)
from .value import RevenueAtRisk, clv, latest_verdicts, margin_multiple, revenue_at_risk
from .verdicts import VerdictCounts

__all__ = [
    "DEFAULT_AGES",
    "DEFAULT_BOUNDS",
    "DEFAULT_POLICY",
    "DEFAULT_WEIGHTS",
    "NO_GROUP",
    "Backlog",
    "CaseMetrics",
    "CustomerLookup",
    "Distribution",
    "Elapsed",
    "FollowUp",
    "FollowUpKind",
    "FollowUpPolicy",
    "Forecast",
    "GroupBy",
    "Health",
    "HealthWeights",
    "Reason",
    "RevenueAtRisk",
    "Scorecard",
    "ScorecardPushdown",
    "ScorecardQuery",
    "StaffingNeed",
    "StaffingPlan",
    "SuggestedEvent",
    "TargetAttainment",
    "VerdictCounts",
    "abandonment",
    "agents_needed",
    "arrivals",
    "average_speed_of_answer",
    "backlog",
    "case_metrics",
    "clv",
    "erlang_a",
    "erlang_c",
    "health",
    "latest_verdicts",
    "margin_multiple",
    "plan_follow_ups",
    "revenue_at_risk",
    "scorecard",
    "service_level",
    "staffing_plan",
]
