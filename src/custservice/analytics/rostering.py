"""A staffing plan: the agents each interval of the week needs, from a forecast of arrivals."""

from __future__ import annotations

import datetime as dt

import attrs

from ..errors import ValidationError
from .forecasting import Forecast
from .staffing import StaffingNeed, agents_needed

__all__ = ["StaffingPlan", "staffing_plan"]


@attrs.frozen
class StaffingPlan:
    """The agents each interval of a :class:`~custservice.analytics.Forecast` needs.

    Attributes:
        forecast: the forecast planned for.
        needs: one :class:`~custservice.analytics.StaffingNeed` per interval
            of the week (Monday 00:00 first); ``None`` where no contact is
            expected.
    """

    forecast: Forecast
    needs: tuple[StaffingNeed | None, ...]

    @property
    def agents(self) -> tuple[int, ...]:
        """The agents taking contacts in each interval (0 where none is expected)."""
        return tuple(0 if need is None else need.agents for need in self.needs)

    @property
    def scheduled(self) -> tuple[int, ...]:
        """The agents to schedule in each interval, shrinkage allowed for."""
        return tuple(0 if need is None else need.scheduled for need in self.needs)

    @property
    def agent_hours(self) -> float:
        """The scheduled agents' hours over the week."""
        return sum(self.scheduled) * self.forecast.interval.total_seconds() / 3600


def staffing_plan(
    forecast: Forecast,
    handle_time: dt.timedelta,
    *,
    answer_within: dt.timedelta,
    service_level: float,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
    patience: dt.timedelta | None = None,
    max_abandonment: float | None = None,
) -> StaffingPlan:
    """The agents needed in each interval of the week to meet a service level.

    Each interval's contacts become an arrival rate (per hour) and go through
    :func:`~custservice.analytics.agents_needed` with the other arguments.

    Args:
        forecast: the contacts expected per interval (:func:`~custservice.analytics.arrivals`).
        handle_time: the mean time an agent spends on a contact.
        answer_within: the time to answer in.
        service_level: the share to answer in time, between 0 and 1.
        max_occupancy: the highest share of agents' time spent on contacts.
        shrinkage: the share of paid time not available for contacts.
        patience: customers' mean patience, for Erlang A; ``None`` for Erlang C.
        max_abandonment: with ``patience``, the highest share that may hang up.

    Raises:
        ValidationError: an argument is invalid; the field is named.

    Examples:
        >>> from custservice.analytics import Forecast, staffing_plan
        >>> half_day = pendulum.duration(hours=12)
        >>> week = Forecast(half_day, "UTC", (0.0, 1200.0) * 7, (1,) * 14)
        >>> plan = staffing_plan(
        ...     week,
        ...     pendulum.duration(minutes=3),
        ...     answer_within=pendulum.duration(seconds=20),
        ...     service_level=0.8,
        ... )
        >>> plan.agents[:2], plan.needs[0] is None
        ((0, 8), True)
    """
    if not isinstance(forecast, Forecast):
        raise ValidationError("expected a Forecast", field="forecast")
    found: dict[float, StaffingNeed] = {}
    needs: list[StaffingNeed | None] = []
    hours = forecast.interval.total_seconds() / 3600
    for expected in forecast.expected:
        if expected == 0.0:
            needs.append(None)
            continue
        need = found.get(expected)
        if need is None:
            need = found[expected] = agents_needed(
                expected / hours,
                handle_time,
                answer_within=answer_within,
                service_level=service_level,
                max_occupancy=max_occupancy,
                shrinkage=shrinkage,
                patience=patience,
                max_abandonment=max_abandonment,
            )
        needs.append(need)
    if not needs or all(n is None for n in needs):
        # Nothing expected: the arguments are still checked, as they would be otherwise.
        agents_needed(
            1.0,
            handle_time,
            answer_within=answer_within,
            service_level=service_level,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
            patience=patience,
            max_abandonment=max_abandonment,
        )
    return StaffingPlan(forecast, tuple(needs))
