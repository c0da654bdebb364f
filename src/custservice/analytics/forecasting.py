"""Arrivals: how many contacts come in each interval of the week, learnt from history.

:func:`arrivals` counts the interactions opened in each interval of the week
(Monday 00:00 first, on the wall clock of a calendar's time zone) and
divides by the number of times that interval was observed: the mean of each
interval over the days learnt from. A day the calendar has as a holiday is
left out, its contacts and its intervals both, so a quiet bank holiday does
not pull the week down. The calendar's working hours are not used: contacts
that arrive out of hours are counted where they arrive.

The result, a :class:`Forecast`, feeds
:func:`~custservice.analytics.staffing_plan`. Of a store of the shared SQL
core, the interactions are counted in SQL per stretch of time that lies
within one interval of the week, from their ``opened_at`` column.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

import attrs
import pendulum

from .._time import aware, duration, in_zone
from .._time import timezone as _check_timezone
from ..calendars import ALWAYS, BusinessCalendar
from ..errors import ValidationError
from ..interactions import Interaction
from ..storage.protocols import Store
from ._on_async import accepts_async_store

__all__ = ["Forecast", "arrivals"]

_DAY_US = 86_400_000_000
_ONE_US = dt.timedelta(microseconds=1)
_HALF_HOUR = pendulum.duration(minutes=30)


def _interval_us(value: object) -> int:
    d = duration(value, "interval")
    us = dt.timedelta.__floordiv__(d, _ONE_US)
    if d.years or d.months or us <= 0 or _DAY_US % us or us % 1_000_000:
        raise ValidationError(
            "must be a whole number of seconds that divides a day (15 or 30 minutes, an hour)",
            field="interval",
        )
    return us


def _means(value: object, field: str, size: int, kind: type) -> tuple[float, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != size:
        raise ValidationError(f"expected {size} numbers, one per interval of the week", field=field)
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not item >= 0:
            raise ValidationError("every value must be a number, not negative", field=field)
        if not math.isfinite(item):
            raise ValidationError("every value must be finite", field=field)
        out.append(kind(item))
    return tuple(out)


@attrs.frozen
class Forecast:
    """Contacts expected in each interval of the week.

    Attributes:
        interval: the length of an interval; it divides a day.
        timezone: the IANA zone whose wall clock the intervals are read on.
        expected: the mean number of contacts in each interval, Monday 00:00
            first, ``7 × intervals a day`` of them.
        observed: how many times each interval was observed (the days
            learnt from, holidays left out); 0 where nothing was.

    Examples:
        >>> from custservice.analytics import Forecast
        >>> week = Forecast(pendulum.duration(hours=12), "UTC", (4.0,) * 14, (1,) * 14)
        >>> week.per_day, week.per_hour(0), week.start(3)
        (2, 0.3333333333333333, (1, datetime.time(12, 0)))
    """

    interval: pendulum.Duration
    timezone: str
    expected: tuple[float, ...]
    observed: tuple[int, ...]

    def __attrs_post_init__(self) -> None:
        us = _interval_us(self.interval)
        object.__setattr__(self, "interval", duration(self.interval, "interval"))
        object.__setattr__(self, "timezone", _check_timezone(self.timezone, "timezone"))
        size = 7 * (_DAY_US // us)
        object.__setattr__(self, "expected", _means(self.expected, "expected", size, float))
        if any(isinstance(n, float) and not float.is_integer(n) for n in self.observed):
            raise ValidationError("expected whole numbers", field="observed")
        object.__setattr__(self, "observed", _means(self.observed, "observed", size, int))

    @property
    def per_day(self) -> int:
        """How many intervals a day holds."""
        return _DAY_US // dt.timedelta.__floordiv__(self.interval, _ONE_US)

    def slot(self, at: dt.datetime) -> int:
        """The index in :attr:`expected` of the interval holding the instant ``at``.

        Raises:
            ValidationError: ``at`` is naive.
        """
        local = in_zone(aware(at, "at"), self.timezone)
        return _slot(local, self.per_day)

    def start(self, slot: int) -> tuple[int, dt.time]:
        """The weekday (0 = Monday) and wall-clock time the interval ``slot`` starts at."""
        size = len(self.expected)
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < size:
            raise ValidationError(f"expected 0 to {len(self.expected) - 1}", field="slot")
        day, index = divmod(slot, self.per_day)
        seconds = index * (86_400 // self.per_day)
        return day, dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)

    def per_hour(self, slot: int) -> float:
        """The contacts expected an hour in the interval ``slot``: its arrival rate."""
        self.start(slot)
        return self.expected[slot] / (self.interval.total_seconds() / 3600)

    def at(self, at: dt.datetime) -> float:
        """The contacts expected in the interval holding the instant ``at``."""
        return self.expected[self.slot(at)]


def _slot(local: dt.datetime, per_day: int) -> int:
    seconds = (local.hour * 60 + local.minute) * 60 + local.second
    return local.weekday() * per_day + seconds * per_day // 86_400


@accepts_async_store
def arrivals(
    source: Iterable[Interaction] | Store,
    *,
    interval: dt.timedelta = _HALF_HOUR,
    calendar: BusinessCalendar = ALWAYS,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> Forecast:
    """The mean number of contacts in each interval of the week, learnt from history.

    Every interaction counts in the interval its ``opened_at`` falls in, on
    the wall clock of the calendar's zone.

    Args:
        source: interactions (any iterable, read once), or a store (its
            interactions), or an async store (then awaited).
        interval: the length of an interval: a whole number of seconds that
            divides a day; 30 minutes by default.
        calendar: whose zone the week is read in, and whose holidays are
            left out; :data:`~custservice.calendars.ALWAYS` (UTC) by default.
        first_day: the first day learnt from (in the calendar's zone); the
            day of the first contact by default.
        last_day: the last day learnt from, included; the day of the last
            contact by default.

    Returns:
        The :class:`Forecast`: every interval's mean over the days learnt
        from (a day with no contact counts as a day with none).

    Raises:
        ValidationError: an argument is invalid, or ``last_day`` is before
            ``first_day``; the field is named.

    Examples:
        >>> import uuid
        >>> from custservice.analytics import arrivals
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, 10))  # a Monday
        >>> calls = [
        ...     Interaction.open(uuid.uuid4(), "phone", clock=clock) for _ in range(3)
        ... ]
        >>> week = arrivals(calls, interval=pendulum.duration(hours=1))
        >>> week.at(pendulum.datetime(2026, 3, 9, 9, 45)), week.per_hour(9)
        (3.0, 3.0)
    """
    size = _interval_us(interval)
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError("expected a BusinessCalendar", field="calendar")
    first = _day(first_day, "first_day")
    last = _day(last_day, "last_day")
    if first is not None and last is not None and last < first:
        raise ValidationError("before first_day", field="last_day")
    instants: Iterable[tuple[dt.datetime, int]]
    if isinstance(source, Store):
        snapshot = getattr(source, "sql_snapshot", None)
        if callable(snapshot):
            # Imported here: it loads SQLAlchemy, which only SQL stores need.
            from ._forecasting_sql import opened_counts

            instants = opened_counts(snapshot, calendar.timezone, size)
        else:
            instants = _opened(source.interactions.all())
    elif isinstance(source, str) or not isinstance(source, Iterable):
        raise ValidationError("expected interactions or a store", field="source")
    else:
        instants = _opened(source)
    per_day = _DAY_US // size
    zone = ZoneInfo(calendar.timezone)
    holidays = calendar.holidays
    counts = [0] * (7 * per_day)
    seen_first: dt.date | None = None
    seen_last: dt.date | None = None
    for instant, n in instants:
        local = instant.astimezone(zone)
        day = local.date()
        if day in holidays or (first is not None and day < first):
            continue
        if last is not None and day > last:
            continue
        counts[_slot(local, per_day)] += n
        seen_first = day if seen_first is None or day < seen_first else seen_first
        seen_last = day if seen_last is None or day > seen_last else seen_last
    start = first if first is not None else seen_first
    end = last if last is not None else seen_last
    observed = [0] * (7 * per_day)
    if start is not None and end is not None:
        days = _days_by_weekday(start, end, holidays)
        observed = [days[slot // per_day] for slot in range(7 * per_day)]
    expected = tuple(c / n if n else 0.0 for c, n in zip(counts, observed, strict=True))
    return Forecast(duration(interval, "interval"), calendar.timezone, expected, tuple(observed))


def _opened(source: Iterable[object]) -> Iterator[tuple[dt.datetime, int]]:
    """Each interaction's opening, counted once."""
    for item in source:
        if not isinstance(item, Interaction):
            raise ValidationError("expected interactions", field="source")
        yield item.opened_at, 1


def _day(value: object, field: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError("expected a date", field=field)
    return dt.date(value.year, value.month, value.day)


def _days_by_weekday(first: dt.date, last: dt.date, holidays: frozenset[dt.date]) -> list[int]:
    """How many days of each weekday lie from ``first`` to ``last``, holidays left out."""
    weeks, extra = divmod((last - first).days + 1, 7)
    days = [weeks] * 7
    for offset in range(extra):
        days[(first.weekday() + offset) % 7] += 1
    for holiday in holidays:
        if first <= holiday <= last:
            days[holiday.weekday()] -= 1
    return days
