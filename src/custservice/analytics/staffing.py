"""Staffing: how many agents a queue of contacts needs, by Erlang C and Erlang A.

**Units.** An arrival rate is a number of contacts **per hour** (a plain
number: ``120`` is two a minute); every time is a duration
(``pendulum.duration(minutes=5)`` or a ``datetime.timedelta``). The load,
``arrival_rate × handle_time`` in hours, is in erlangs: the number of agents
the work would keep busy without a pause.

**Erlang C** is the queue whose contacts wait as long as it takes (M/M/n):
contacts arrive at random (Poisson), handle times are exponential, and the
first in line is answered first. It needs more agents than the load, or the
queue grows without end. **Erlang A** adds the customers' patience
(M/M/n+M, after Palm, and Garnett, Mandelbaum and Reiman 2002): each waits
an exponential time with mean ``patience``, then hangs up. Give
``patience=`` to any function below to use it; any number of agents is then
stable, and :func:`abandonment` says how many hang up.

Every figure is exact to the float's precision at any load: the functions
go through the Erlang B recursion (and, for Erlang A, sums taken around
their largest term and an adaptive quadrature), never through ``A**N/N!``,
which overflows past about 170 agents.

- **Probability of waiting** (:func:`erlang_c`, :func:`erlang_a`): the share
  of contacts that find every agent busy.
- **Service level** (:func:`service_level`): the share of all contacts
  answered within ``answer_within``, those answered at once included. With
  patience, a contact that hangs up is not answered, whenever it hangs up.
- **Average speed of answer** (:func:`average_speed_of_answer`): the mean
  wait of the answered contacts, those answered at once counting zero.
- **Occupancy**: the share of the agents' time spent handling contacts.
- **Shrinkage**: the share of paid time agents are not available to take
  contacts (breaks, training, absence); the agents to schedule are the
  agents needed divided by ``1 - shrinkage``, rounded up.
"""

from __future__ import annotations

import datetime as dt
import math

import attrs
import pendulum

from .._time import duration
from .._validation import integer, number
from ..errors import ValidationError
from ._queueing import ErlangA, stepped_erlang_b
from ._queueing import erlang_c as _erlang_c

__all__ = [
    "StaffingNeed",
    "abandonment",
    "agents_needed",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_c",
    "service_level",
]

_HOUR_US = 3_600_000_000
_ONE_US = dt.timedelta(microseconds=1)


def _positive(value: object, field: str) -> float:
    checked = float(number(value, field))
    if checked <= 0.0:
        raise ValidationError("must be positive", field=field)
    return checked


def _hours(value: object, field: str, *, zero: bool = False) -> float:
    """A duration in hours; positive (or, with ``zero``, not negative)."""
    return _micros(value, field, zero=zero) / _HOUR_US


def _micros(value: object, field: str, *, zero: bool = False) -> int:
    """A duration in whole microseconds; positive (or, with ``zero``, not negative)."""
    d = duration(value, field)
    if d.years or d.months:
        raise ValidationError("months and years have no fixed length", field=field)
    us = dt.timedelta.__floordiv__(d, _ONE_US)
    if us < 0 or (us == 0 and not zero):
        raise ValidationError(
            "must not be negative" if zero else "must be a positive duration", field=field
        )
    return us


def _share(value: object, field: str, *, low: float, high: float, closed: str) -> float:
    """A fraction in the interval from ``low`` to ``high``; ``closed`` says which ends
    belong to it (``"low"``, ``"high"``, ``"both"`` or ``"neither"``)."""
    checked = float(number(value, field))
    above = checked >= low if closed in ("low", "both") else checked > low
    below = checked <= high if closed in ("high", "both") else checked < high
    if not (above and below):
        opening = "[" if closed in ("low", "both") else "("
        closing = "]" if closed in ("high", "both") else ")"
        raise ValidationError(f"must be in {opening}{low:g}, {high:g}{closing}", field=field)
    return checked


def _load(arrival_rate: object, handle_time: object) -> tuple[float, float]:
    """The load in erlangs, and the handle time in hours."""
    rate = _positive(arrival_rate, "arrival_rate")
    us = _micros(handle_time, "handle_time")
    hours = us / _HOUR_US
    # Rounded once: 13,638 contacts an hour of 7 minutes are 1,591.1 erlangs exactly, which
    # 70% occupancy fits in 2,273 agents; rate * hours would round twice, to one more.
    load = rate * us / _HOUR_US
    if not math.isfinite(load) or load > 1e7:
        raise ValidationError("the load is beyond 10,000,000 erlangs", field="arrival_rate")
    return load, hours


def _agents(value: object, load: float, *, patient: bool) -> int:
    agents = integer(value, "agents")
    if agents < 1:
        raise ValidationError("must be at least 1", field="agents")
    if not patient and agents <= load:
        raise ValidationError(
            f"must exceed the load of {load:.6g} erlangs, or the queue grows without end "
            "(give patience= to count the contacts that hang up)",
            field="agents",
        )
    return agents


def _theta(patience: object, hours: float) -> float:
    """The abandonment rate in handle times: a handle time over the mean patience."""
    theta = hours / _hours(patience, "patience")
    # Beyond these the figures are Erlang C's (or nobody waits at all) to many digits,
    # while the sums behind them would take ever more terms.
    if not 1e-6 <= theta <= 1e6:
        raise ValidationError(
            "must be within a million times the handle time, either way", field="patience"
        )
    return theta


def _in_hours(hours: float) -> pendulum.Duration:
    return pendulum.duration(microseconds=round(hours * _HOUR_US))


def erlang_c(arrival_rate: float, handle_time: dt.timedelta, agents: int) -> float:
    """The probability that a contact waits (Erlang C: nobody hangs up).

    Args:
        arrival_rate: contacts per hour; positive.
        handle_time: the mean time an agent spends on a contact; positive.
        agents: the agents taking contacts; more than the load.

    Returns:
        A probability in ``[0, 1]``.

    Raises:
        ValidationError: an argument is not positive or finite, or ``agents``
            does not exceed the load; the field is named.

    Examples:
        >>> from custservice.analytics import erlang_c
        >>> round(erlang_c(600, pendulum.duration(minutes=1), 11), 4)  # 10 erlangs
        0.6821
    """
    load, _ = _load(arrival_rate, handle_time)
    return _erlang_c(load, _agents(agents, load, patient=False))


def erlang_a(
    arrival_rate: float, handle_time: dt.timedelta, agents: int, *, patience: dt.timedelta
) -> float:
    """The probability that a contact waits when customers hang up (Erlang A).

    Args:
        arrival_rate: contacts per hour; positive.
        handle_time: the mean time an agent spends on a contact; positive.
        agents: the agents taking contacts; at least 1 (any number is stable).
        patience: how long customers wait, on average, before hanging up;
            positive.

    Raises:
        ValidationError: an argument is out of range; the field is named.

    Examples:
        >>> from custservice.analytics import erlang_a
        >>> round(erlang_a(600, pendulum.duration(minutes=1), 11,
        ...                patience=pendulum.duration(minutes=2)), 4)
        0.4747
    """
    return _figures(arrival_rate, handle_time, agents, patience).waiting


def _figures(
    arrival_rate: object, handle_time: object, agents: object, patience: object
) -> ErlangA:
    load, hours = _load(arrival_rate, handle_time)
    theta = _theta(patience, hours)
    return ErlangA(load, _agents(agents, load, patient=True), theta)


def abandonment(
    arrival_rate: float, handle_time: dt.timedelta, agents: int, *, patience: dt.timedelta
) -> float:
    """The share of contacts that hang up before they are answered (Erlang A).

    Arguments as for :func:`erlang_a`.

    Raises:
        ValidationError: an argument is out of range; the field is named.

    Examples:
        >>> from custservice.analytics import abandonment
        >>> round(abandonment(600, pendulum.duration(minutes=1), 9,
        ...                   patience=pendulum.duration(minutes=2)), 3)
        0.158
    """
    return _figures(arrival_rate, handle_time, agents, patience).abandonment


def service_level(
    arrival_rate: float,
    handle_time: dt.timedelta,
    agents: int,
    *,
    answer_within: dt.timedelta,
    patience: dt.timedelta | None = None,
) -> float:
    """The share of contacts answered within ``answer_within``.

    Erlang C: ``1 - C·exp(-(N - A)·t/h)``. With ``patience`` (Erlang A), the
    share of all contacts answered in time, before hanging up.

    Args:
        arrival_rate: contacts per hour; positive.
        handle_time: the mean time an agent spends on a contact; positive.
        agents: the agents taking contacts (more than the load, without
            ``patience``).
        answer_within: the time to answer in; not negative.
        patience: customers' mean patience, for Erlang A; ``None`` for Erlang C.

    Raises:
        ValidationError: an argument is out of range; the field is named.

    Examples:
        >>> from custservice.analytics import service_level
        >>> round(service_level(600, pendulum.duration(minutes=1), 12,
        ...                     answer_within=pendulum.duration(seconds=20)), 4)
        0.7693
    """
    load, hours = _load(arrival_rate, handle_time)
    within = _hours(answer_within, "answer_within", zero=True) / hours
    if patience is not None:
        return _figures(arrival_rate, handle_time, agents, patience).answered_within(within)
    n = _agents(agents, load, patient=False)
    return _erlang_c_level(load, n, _erlang_c(load, n), within)


def _erlang_c_level(load: float, agents: int, waiting: float, within: float) -> float:
    return 1.0 - waiting * math.exp(-(agents - load) * within)


def average_speed_of_answer(
    arrival_rate: float,
    handle_time: dt.timedelta,
    agents: int,
    *,
    patience: dt.timedelta | None = None,
) -> pendulum.Duration:
    """The mean wait of the answered contacts (those answered at once count zero).

    Erlang C: ``C·h/(N - A)``. With ``patience`` (Erlang A), the contacts that
    hang up are left out.

    Args:
        arrival_rate: contacts per hour; positive.
        handle_time: the mean time an agent spends on a contact; positive.
        agents: the agents taking contacts (more than the load, without
            ``patience``).
        patience: customers' mean patience, for Erlang A; ``None`` for Erlang C.

    Returns:
        The mean wait, to the microsecond.

    Raises:
        ValidationError: an argument is out of range; the field is named.

    Examples:
        >>> from custservice.analytics import average_speed_of_answer
        >>> asa = average_speed_of_answer(600, pendulum.duration(minutes=1), 12)
        >>> round(asa.total_seconds(), 1)
        13.5
    """
    load, hours = _load(arrival_rate, handle_time)
    if patience is not None:
        figures = _figures(arrival_rate, handle_time, agents, patience)
        return _in_hours(figures.answer_time() * hours)
    n = _agents(agents, load, patient=False)
    return _in_hours(_erlang_c(load, n) * hours / (n - load))


@attrs.frozen
class StaffingNeed:
    """The agents a queue needs to meet a service level, with the figures it then reaches.

    Attributes:
        arrival_rate: contacts per hour.
        handle_time: the mean handle time.
        load: ``arrival_rate × handle_time`` in erlangs.
        agents: the fewest agents taking contacts that meet every target.
        scheduled: the agents to schedule so that ``agents`` are available
            after shrinkage: ``agents / (1 - shrinkage)``, rounded up.
        shrinkage: the share of paid time not available for contacts.
        answer_within: the time the service level counts answers within.
        service_level: the share of contacts answered within ``answer_within``
            with ``agents``.
        probability_of_waiting: the share of contacts that wait.
        average_speed_of_answer: the mean wait of the answered contacts.
        occupancy: the share of the agents' time spent on contacts.
        patience: customers' mean patience (Erlang A); ``None`` for Erlang C.
        abandonment: the share of contacts that hang up (0 for Erlang C).
    """

    arrival_rate: float
    handle_time: pendulum.Duration
    load: float
    agents: int
    scheduled: int
    shrinkage: float
    answer_within: pendulum.Duration
    service_level: float
    probability_of_waiting: float
    average_speed_of_answer: pendulum.Duration
    occupancy: float
    patience: pendulum.Duration | None = None
    abandonment: float = 0.0


def agents_needed(
    arrival_rate: float,
    handle_time: dt.timedelta,
    *,
    answer_within: dt.timedelta,
    service_level: float,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
    patience: dt.timedelta | None = None,
    max_abandonment: float | None = None,
) -> StaffingNeed:
    """The fewest agents that answer ``service_level`` of the contacts within ``answer_within``.

    The least ``N`` that meets every target: the service level, occupancy
    at most ``max_occupancy`` and, with ``patience``, abandonment at most
    ``max_abandonment``; ``N - 1`` misses one of them.

    Args:
        arrival_rate: contacts per hour; positive.
        handle_time: the mean time an agent spends on a contact; positive.
        answer_within: the time to answer in; not negative.
        service_level: the share to answer in time, between 0 and 1 (both
            excluded: every contact answered in time takes infinitely many
            agents).
        max_occupancy: the highest share of agents' time spent on contacts,
            in ``(0, 1]``; 1 sets no limit (Erlang C keeps it below 1).
        shrinkage: the share of paid time not available for contacts, in
            ``[0, 1)``.
        patience: customers' mean patience, for Erlang A; ``None`` for Erlang C.
        max_abandonment: with ``patience``, the highest share of contacts
            that may hang up, in ``(0, 1)``.

    Returns:
        The :class:`StaffingNeed`.

    Raises:
        ValidationError: an argument is out of range; the field is named.

    Examples:
        >>> from custservice.analytics import agents_needed
        >>> need = agents_needed(
        ...     600, pendulum.duration(minutes=3),
        ...     answer_within=pendulum.duration(seconds=20), service_level=0.8,
        ...     shrinkage=0.3,
        ... )
        >>> need.load, need.agents, need.scheduled, round(need.service_level, 3)
        (30.0, 35, 50, 0.837)
    """
    load, hours = _load(arrival_rate, handle_time)
    within = _hours(answer_within, "answer_within", zero=True) / hours
    target = _share(service_level, "service_level", low=0.0, high=1.0, closed="neither")
    occupancy = _share(max_occupancy, "max_occupancy", low=0.0, high=1.0, closed="high")
    shrink = _share(shrinkage, "shrinkage", low=0.0, high=1.0, closed="low")
    limit = None
    if max_abandonment is not None:
        if patience is None:
            raise ValidationError("needs patience= (Erlang A)", field="max_abandonment")
        limit = _share(max_abandonment, "max_abandonment", low=0.0, high=1.0, closed="neither")
    if patience is None:
        agents, waiting = _erlang_c_search(load, within, target, occupancy)
        level = _erlang_c_level(load, agents, waiting, within)
        asa = waiting * hours / (agents - load)
        busy, dropped = load / agents, 0.0
    else:
        theta = _theta(patience, hours)
        figures = _erlang_a_search(load, theta, within, target, occupancy, limit)
        agents, waiting = figures.agents, figures.waiting
        level = figures.answered_within(within)
        asa = figures.answer_time() * hours
        dropped = figures.abandonment
        busy = load * (1.0 - dropped) / agents
    return StaffingNeed(
        arrival_rate=float(arrival_rate),
        handle_time=duration(handle_time, "handle_time"),
        load=load,
        agents=agents,
        scheduled=_scheduled(agents, shrink),
        shrinkage=shrink,
        answer_within=duration(answer_within, "answer_within"),
        service_level=level,
        probability_of_waiting=waiting,
        average_speed_of_answer=_in_hours(asa),
        occupancy=busy,
        patience=None if patience is None else duration(patience, "patience"),
        abandonment=dropped,
    )


def _scheduled(agents: int, shrinkage: float) -> int:
    # Rounded up, but not for a float's last-digit noise (10 / 0.8 must give 13, 8 / 0.8 10).
    exact = agents / (1.0 - shrinkage)
    return max(agents, math.ceil(exact - 1e-9 * exact))


def _erlang_c_search(
    load: float, within: float, target: float, occupancy: float
) -> tuple[int, float]:
    """The least agents meeting the targets, and their probability of waiting: one step
    of the Erlang B recursion per agent added, from the least the occupancy allows."""
    start = max(math.floor(load) + 1, math.ceil(load / occupancy - 1e-12))
    while load / start > occupancy:
        start += 1
    step = stepped_erlang_b(load, start)
    while True:
        agents, inverse = step()
        waiting = _erlang_c(load, agents, inverse)
        if _erlang_c_level(load, agents, waiting, within) >= target:
            return agents, waiting


def _erlang_a_search(
    load: float,
    theta: float,
    within: float,
    target: float,
    occupancy: float,
    max_abandonment: float | None,
) -> ErlangA:
    """The least agents meeting the targets, found by doubling and then halving (every
    target is met by more agents once met by fewer)."""
    cache: dict[int, ErlangA] = {}

    def meets(agents: int) -> bool:
        figures = cache.get(agents)
        if figures is None:
            figures = cache[agents] = ErlangA(load, agents, theta)
        return (
            load * (1.0 - figures.abandonment) / agents <= occupancy
            and (max_abandonment is None or figures.abandonment <= max_abandonment)
            and figures.answered_within(within) >= target
        )

    low, high = 0, max(1, math.ceil(load))  # low misses (none is no staff), high is tried
    while not meets(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return cache[high]
