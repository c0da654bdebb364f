"""Distributions of durations: exact order statistics and counts per bucket.

A :class:`Distribution` describes many measured durations (queue waits,
times to the first reply or to the resolution, ages of open cases) by
figures a manager reads instead of an average:

* the **median**: the middle duration; of an even number, the mean of the two
  middle ones (to the nearest microsecond);
* the **90th and 95th percentiles**, nearest-rank: the smallest duration that
  at least 90% (95%) of the durations do not exceed, the one at rank
  ``ceil(0.9 n)`` (``ceil(0.95 n)``) in increasing order, so "90% waited at
  most this long";
* **buckets**: how many durations fall between consecutive bounds. With the
  bounds of :data:`DEFAULT_BOUNDS` (5 minutes, 1 hour, 4 hours, 1 day, 3 days)
  the buckets are ``< 5m``, ``< 1h``, ``< 4h``, ``< 1d``, ``< 3d`` and ``≥ 3d``:
  each counts the durations at or above the bound before it and below its
  own, and the last those at or above the last bound. The counts add up to
  ``count``.

All are exact: every figure is one of the durations (the median of an even
number excepted), never an estimate.
"""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

import attrs
import pendulum

from ..errors import ValidationError

__all__ = ["DEFAULT_BOUNDS", "Distribution"]

_US = dt.timedelta(microseconds=1)
_us = dt.timedelta.__floordiv__  # exact, whatever pendulum.Duration does with its fields
MAX_BOUNDS = 20
"""The most bounds a distribution's buckets may have."""

DEFAULT_BOUNDS: tuple[pendulum.Duration, ...] = (
    pendulum.duration(minutes=5),
    pendulum.duration(hours=1),
    pendulum.duration(hours=4),
    pendulum.duration(days=1),
    pendulum.duration(days=3),
)
"""The bounds of the buckets scorecards count by default: 5 minutes, 1 hour, 4 hours,
1 day and 3 days, so six buckets ``< 5m``, ``< 1h``, ``< 4h``, ``< 1d``, ``< 3d``,
``≥ 3d``."""


def _label(d: dt.timedelta) -> str:
    us = _us(d, _US)
    for unit, size in (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000)):
        if us % size == 0:
            return f"{us // size}{unit}"
    return f"{us / 1_000_000:g}s"


@attrs.frozen
class Distribution:
    """How a set of durations is spread: exact median, 90th and 95th percentiles, and
    counts per bucket (see the module documentation for each rule).

    Attributes:
        count: how many durations were measured.
        median: the median; ``None`` when there are none.
        p90: the nearest-rank 90th percentile; ``None`` when there are none.
        p95: the nearest-rank 95th percentile; ``None`` when there are none.
        bounds: the bounds between buckets, increasing.
        buckets: how many durations fall in each bucket, one more than
            ``bounds``: below the first bound, then from each bound to the
            next, then at or above the last. They add up to ``count``.

    Examples:
        >>> from custservice.analytics import Distribution
        >>> minutes = [pendulum.duration(minutes=m) for m in (2, 3, 7, 30, 90)]
        >>> d = Distribution.of(minutes)
        >>> d.median.in_minutes(), d.p90.in_minutes(), d.buckets
        (7, 90, (2, 2, 1, 0, 0, 0))
        >>> dict(zip(d.labels, d.buckets))["< 1h"]
        2
    """

    count: int = 0
    median: pendulum.Duration | None = None
    p90: pendulum.Duration | None = None
    p95: pendulum.Duration | None = None
    bounds: tuple[pendulum.Duration, ...] = DEFAULT_BOUNDS
    buckets: tuple[int, ...] = (0,) * (len(DEFAULT_BOUNDS) + 1)

    @property
    def labels(self) -> tuple[str, ...]:
        """The buckets' names, as ``"< 5m"`` … ``"≥ 3d"``: each bucket's upper bound (the
        last one's lower bound) in days, hours, minutes or seconds."""
        names = [f"< {_label(b)}" for b in self.bounds]
        return (*names, f"≥ {_label(self.bounds[-1])}" if self.bounds else "all")

    @classmethod
    def of(
        cls, durations: Iterable[dt.timedelta], bounds: Iterable[dt.timedelta] = DEFAULT_BOUNDS
    ) -> Distribution:
        """The distribution of ``durations`` (any iterable, read once), counted in the
        buckets of ``bounds``.

        Raises:
            ValidationError: an item is not a duration (``durations``), or the bounds
                are not increasing positive durations (``buckets``).
        """
        limits = checked_bounds(bounds)
        values = array("q")
        for d in durations:
            if not isinstance(d, dt.timedelta):
                raise ValidationError("expected durations", field="durations")
            values.append(_us(d, _US))
        return of_micros(values, limits)


def checked_bounds(value: object, field: str = "buckets") -> tuple[pendulum.Duration, ...]:
    """Bucket bounds: increasing positive durations, at most :data:`MAX_BOUNDS`, whole
    microseconds each.

    Raises:
        ValidationError: they are not, naming ``field``.
    """
    if value is DEFAULT_BOUNDS:
        return DEFAULT_BOUNDS
    if isinstance(value, dt.timedelta | str) or not isinstance(value, Iterable):
        raise ValidationError("expected a collection of durations", field=field)
    out: list[pendulum.Duration] = []
    for item in value:
        if not isinstance(item, dt.timedelta):
            raise ValidationError("expected a collection of durations", field=field)
        us = _us(item, _US)
        if us <= 0:
            raise ValidationError("every bound must be longer than zero", field=field)
        if out and us <= _us(out[-1], _US):
            raise ValidationError("the bounds must increase", field=field)
        out.append(pendulum.duration(microseconds=us))
    if len(out) > MAX_BOUNDS:
        raise ValidationError(f"at most {MAX_BOUNDS} bounds", field=field)
    return tuple(out)


def ranks(n: int) -> tuple[int, int, int, int]:
    """Where the figures of ``n`` sorted durations are, counted from 1: the lower and the
    upper middle one (the same when ``n`` is odd), then the nearest-rank 90th and 95th
    percentiles, ``ceil(0.9 n)`` and ``ceil(0.95 n)``. A push-down selects the durations
    at these ranks."""
    half = n // 2
    return (half if n % 2 == 0 else half + 1), half + 1, (9 * n + 9) // 10, (19 * n + 19) // 20


def from_ranks(
    n: int,
    at_rank: Callable[[int], int],
    bounds: tuple[pendulum.Duration, ...],
    buckets: Sequence[int],
) -> Distribution:
    """The distribution of ``n`` durations given the one (in microseconds) at each rank
    :func:`ranks` names, and the counts per bucket."""
    if n == 0:
        return Distribution(0, None, None, None, bounds, tuple(buckets))
    lower, upper, p90, p95 = ranks(n)
    low, high = at_rank(lower), at_rank(upper)
    median = high if lower == upper else round((low + high) / 2)
    return Distribution(
        n,
        pendulum.duration(microseconds=median),
        pendulum.duration(microseconds=at_rank(p90)),
        pendulum.duration(microseconds=at_rank(p95)),
        bounds,
        tuple(buckets),
    )


def of_micros(values: Sequence[int], bounds: tuple[pendulum.Duration, ...]) -> Distribution:
    """The distribution of durations given in whole microseconds (checked bounds)."""
    ordered = sorted(values)
    cuts = [0, *(bisect_left(ordered, _us(b, _US)) for b in bounds), len(ordered)]
    counts = [b - a for a, b in pairwise(cuts)]
    return from_ranks(len(ordered), lambda rank: ordered[rank - 1], bounds, counts)


def micros_of(bounds: tuple[pendulum.Duration, ...]) -> tuple[int, ...]:
    """The bounds in whole microseconds."""
    return tuple(_us(b, _US) for b in bounds)
