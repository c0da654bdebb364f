"""The operations figures of a report: percentiles per priority, the backlog, staffing."""

from __future__ import annotations

import attrs
import pendulum

from ..analytics import (
    Backlog,
    Forecast,
    GroupBy,
    Scorecard,
    StaffingPlan,
    arrivals,
    backlog,
    scorecard,
    staffing_plan,
)
from ..analytics.scorecard import checked_query
from ..storage.protocols import Store

__all__ = [
    "ANSWER_WITHIN",
    "HANDLE_TIME",
    "PER_PRIORITY",
    "SERVICE_LEVEL",
    "Operations",
    "operations",
]

HANDLE_TIME = pendulum.duration(minutes=6)
"""The mean time an agent spends on a contact, as the report's staffing plan assumes."""
ANSWER_WITHIN = pendulum.duration(seconds=20)
"""The time the staffing plan answers :data:`SERVICE_LEVEL` of contacts within."""
SERVICE_LEVEL = 0.8
"""The share of contacts the staffing plan answers within :data:`ANSWER_WITHIN`."""
_HALF_HOUR = pendulum.duration(minutes=30)


@attrs.frozen
class Operations:
    """How the desk runs: reply and resolution times per priority, the backlog's age,
    and the agents a typical week needs.

    Attributes:
        by_priority: the scorecard of every interaction and case grouped by
            priority; its distributions (``first_reply``, ``resolution``,
            ``queue_wait``) give the percentiles, the totals those of all.
        backlog: the open cases by age at the report's instant (calendar
            time), and the cases created and solved per ISO week.
        forecast: the contacts arriving in each half hour of a typical week,
            learnt from every interaction opened up to the report's day (UTC).
        plan: the agents each half hour of that week needs to answer 80% of
            contacts within 20 seconds, at a mean handle time of 6 minutes
            (Erlang C; :data:`HANDLE_TIME`, :data:`ANSWER_WITHIN`,
            :data:`SERVICE_LEVEL`).
    """

    by_priority: Scorecard
    backlog: Backlog
    forecast: Forecast
    plan: StaffingPlan


PER_PRIORITY = checked_query(GroupBy.PRIORITY, (), None, "UTC", None)
"""The query of :attr:`Operations.by_priority`: ``scorecard(store, by=GroupBy.PRIORITY)``."""


def operations(
    store: Store, at: pendulum.DateTime, by_priority: Scorecard | None = None
) -> Operations:
    """The operations figures of ``store`` at ``at``, each from its analysis: pushed down to
    SQL, or read from a SQL store's rows, where the analysis can; streamed otherwise.
    ``by_priority``, when given, is the scorecard of :data:`PER_PRIORITY` already
    computed."""
    forecast = arrivals(store, interval=_HALF_HOUR, last_day=at.in_timezone("UTC").date())
    return Operations(
        by_priority=scorecard(store, by=GroupBy.PRIORITY) if by_priority is None else by_priority,
        backlog=backlog(store, at=at, period=GroupBy.WEEK),
        forecast=forecast,
        plan=staffing_plan(
            forecast, HANDLE_TIME, answer_within=ANSWER_WITHIN, service_level=SERVICE_LEVEL
        ),
    )
