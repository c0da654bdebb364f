"""Business calendars: count time the way the business works it.

A :class:`BusinessCalendar` says when a desk works: intervals of wall-clock
time per weekday (split shifts, lunch breaks), days off (holidays), all in
one IANA time zone. It answers two questions a service level asks:
how much working time lies between two instants (:meth:`~BusinessCalendar.elapsed`),
and when a given amount of working time will have passed
(:meth:`~BusinessCalendar.deadline`).

**What counts as working time.** An instant is working time when the
calendar's zone shows, at that instant, a wall-clock date that is not a
holiday and a wall-clock time inside one of that weekday's intervals. Time
is then counted in real (elapsed) time, so daylight-saving changes count the
hours that really pass:

* on a spring-forward day the skipped wall-clock times never show, so they
  are never working time: ``00:00-24:00`` on Europe/London's March change
  day is 23 hours, and ``01:00-03:00`` that day is 1 hour;
* on a fall-back day the repeated wall-clock times show twice, so they count
  twice: ``00:00-24:00`` on Europe/London's October change day is 25 hours,
  and ``00:00-04:00`` is 5 hours.

:meth:`~BusinessCalendar.is_working` follows the same rule, so it agrees
with :meth:`~BusinessCalendar.elapsed` at every instant.

**Cost.** ``elapsed`` and ``deadline`` never step through time: working
time up to any wall-clock instant is a closed formula (whole weeks, the
weekday's prefix, minus the holidays before it, found by bisection), applied
once per stretch of constant UTC offset. A one-year span costs about what a
one-hour span does, and a span of N years a few zone lookups per year,
whatever is cached. The zone's offset changes come from its own TZif data:
the changes it lists, then the POSIX rule zoneinfo applies after them, each
checked against zoneinfo before use. Only a zone whose data cannot be read
or checked is sampled every six hours and bisected to the second (a zone
changing its offset twice within six hours would then be misread; none in
use does).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import itertools
import os
import re
import struct
import zoneinfo
from bisect import bisect_left, bisect_right
from calendar import isleap
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pendulum

from ._time import aware, duration, in_zone, timezone
from ._validation import Problems
from .errors import ValidationError

__all__ = ["ALWAYS", "BusinessCalendar"]

_US = 1_000_000
_DAY = 86_400 * _US
_WEEK = 7 * _DAY
_MIDNIGHT = dt.time(0)
_MAX_ORD = dt.date.max.toordinal()
_SAMPLE = _DAY // 4  # how finely a year is sampled for offset changes
_UTC = dt.UTC
_ONE_US = dt.timedelta(microseconds=1)
_ORIGIN = dt.datetime.min.replace(tzinfo=_UTC)  # ordinal 1, i.e. _DAY on the int scale

Hours = tuple[tuple[tuple[dt.time, dt.time], ...], ...]
"""The normalized form of a calendar's hours: 7 tuples (Monday first) of sorted
``(start, end)`` pairs; an ``end`` of ``time(0)`` means midnight at the day's end."""


@attrs.frozen(init=False)
class BusinessCalendar:
    """When a business works: intervals per weekday and holidays, in one time zone.

    Working time is the set of instants whose wall-clock reading in the
    calendar's zone falls in a working interval of a working day; it is
    counted in real time, right across daylight-saving changes (see the
    module documentation for what happens to skipped and repeated hours).

    Args:
        timezone: the IANA name of the zone the hours are read in
            (``"Europe/London"``).
        hours: maps weekday numbers (0 = Monday ... 6 = Sunday, as
            ``date.weekday()``) to sequences of ``(start, end)`` naive
            ``datetime.time`` pairs (``pendulum.Time`` works too); several a
            day for split shifts and lunch breaks. A missing weekday is a day
            off. An ``end`` of ``time(0)`` means midnight at the end of the
            day, so ``(time(0), time(0))`` is the whole day. The normalized
            form (a sequence of 7 such sequences, Monday first, as
            :attr:`hours` shows it) is accepted too.
        holidays: dates (``datetime.date`` or ``pendulum.Date``) that are not
            worked, whatever their weekday.

    Attributes:
        timezone: the IANA zone name.
        hours: 7 tuples, Monday first, of sorted ``(start, end)`` pairs of
            plain ``datetime.time``; ``end == time(0)`` means midnight at the
            day's end.
        holidays: the days off, as plain ``datetime.date``.

    Raises:
        ValidationError: listing every problem at once: an unknown zone, a
            weekday outside 0..6, a time that is not a naive ``time``, an
            interval whose start is not before its end, intervals of one day
            that overlap, a holiday that is not a date.

    Examples:
        >>> from datetime import time
        >>> desk = BusinessCalendar(
        ...     "Africa/Lagos",
        ...     {d: [(time(8), time(12)), (time(13), time(17))] for d in range(5)},
        ... )
        >>> start = pendulum.datetime(2026, 3, 6, 16, tz="Africa/Lagos")  # a Friday
        >>> desk.deadline(start, pendulum.duration(hours=2)).isoformat()
        '2026-03-09T09:00:00+01:00'
    """

    timezone: str
    hours: Hours
    holidays: frozenset[dt.date] = frozenset()
    _plan: _Plan = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __init__(
        self,
        timezone: str,
        hours: Mapping[int, Iterable[tuple[dt.time, dt.time]]]
        | Iterable[Iterable[tuple[dt.time, dt.time]]],
        holidays: Iterable[dt.date] = (),
    ) -> None:
        problems = Problems()
        zone = problems.run(_zone_name, timezone)
        normalized = _normalize_hours(hours, problems)
        days_off = _normalize_holidays(holidays, problems)
        problems.raise_if_any()
        assert zone is not None
        self.__attrs_init__(zone, normalized, days_off)
        object.__setattr__(self, "_plan", _Plan(zone, normalized, days_off))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the definition: the derived plan stays out of pickles and copies.
        return (BusinessCalendar, (self.timezone, self.hours, self.holidays))

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> pendulum.Duration:
        """The working time between two instants.

        Args:
            start: an aware datetime, in any time zone.
            end: an aware datetime, in any time zone, not before ``start``.

        Returns:
            The working time in ``[start, end)``, exact to the microsecond;
            zero when ``end == start``.

        Raises:
            ValidationError: either instant is naive or not a datetime, or
                ``end`` is before ``start``.

        Examples:
            >>> ALWAYS.elapsed(
            ...     pendulum.datetime(2026, 1, 1), pendulum.datetime(2026, 1, 2)
            ... ).in_hours()
            24
        """
        a = _instant(start, "start")
        b = _instant(end, "end")
        if b < a:
            raise ValidationError("must not be before start", field="end")
        return pendulum.duration(microseconds=self._plan.elapsed(a, b))

    def deadline(self, start: dt.datetime, duration: dt.timedelta) -> pendulum.DateTime:
        """The earliest instant by which ``duration`` of working time has passed since ``start``.

        It is the inverse of :meth:`elapsed`:
        ``elapsed(start, deadline(start, d)) == d`` for every ``d >= 0``, and
        ``deadline(start, 0) == start``. When the working time runs out
        exactly at the end of an interval, the deadline is that end, not the
        start of the next interval.

        Args:
            start: an aware datetime, in any time zone.
            duration: the working time to allow; not negative. A
                ``pendulum.Duration`` of months or years is refused (they
                have no fixed length).

        Returns:
            The deadline, in the calendar's time zone.

        Raises:
            ValidationError: ``start`` is naive, ``duration`` is negative or
                not a duration, the calendar has no working time at all, or
                the deadline would fall after the year 9999.

        Examples:
            >>> from datetime import time
            >>> nine_to_five = BusinessCalendar(
            ...     "Europe/London", {d: [(time(9), time(17))] for d in range(5)}
            ... )
            >>> friday = pendulum.datetime(2026, 3, 6, 16, tz="Europe/London")
            >>> nine_to_five.deadline(friday, pendulum.duration(hours=2)).isoformat()
            '2026-03-09T10:00:00+00:00'
        """
        a = _instant(start, "start")
        want = _duration_us(duration)
        if want == 0:
            return in_zone(start, self.timezone)
        return self._at(self._plan.deadline(a, want))

    def is_working(self, at: dt.datetime) -> bool:
        """Whether ``at`` is working time.

        Args:
            at: an aware datetime, in any time zone.

        Returns:
            ``True`` when the calendar's zone shows, at ``at``, a working day
            and a time inside one of its intervals (an interval includes its
            start, not its end).

        Raises:
            ValidationError: ``at`` is naive or not a datetime.

        Examples:
            >>> ALWAYS.is_working(pendulum.datetime(2026, 12, 25))
            True
        """
        return self._plan.is_working(_instant(at, "at"))

    def next_working(self, at: dt.datetime) -> pendulum.DateTime:
        """The first working instant at or after ``at``.

        Args:
            at: an aware datetime, in any time zone.

        Returns:
            ``at`` itself when it is working time, else the start of the next
            working stretch; in the calendar's time zone.

        Raises:
            ValidationError: ``at`` is naive, the calendar has no working time
                at all, or the next working time would fall after the year 9999.

        Examples:
            >>> from datetime import time
            >>> desk = BusinessCalendar("UTC", {0: [(time(9), time(17))]})
            >>> saturday = pendulum.datetime(2026, 3, 7, 12)
            >>> desk.next_working(saturday).isoformat()
            '2026-03-09T09:00:00+00:00'
        """
        a = _instant(at, "at")
        return self._at(self._plan.deadline(a, 1) - 1)

    def _at(self, us: int) -> pendulum.DateTime:
        return in_zone(_datetime(us), self.timezone)


# ----------------------------------------------------------------- validation


def _zone_name(name: object) -> str:
    return timezone(name, "timezone")


def _normalize_hours(value: object, problems: Problems) -> Hours:
    days: list[list[tuple[dt.time, dt.time]]] = [[] for _ in range(7)]
    items: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        listed = list(value)
        if len(listed) != 7:
            problems.add("hours", "expected a mapping of weekday to intervals, or 7 sequences")
            return ((),) * 7
        items = enumerate(listed)
    else:
        problems.add("hours", "expected a mapping of weekday (0 = Monday ... 6) to intervals")
        return ((),) * 7
    for key, intervals in items:
        path = f"hours.{key}"
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 6:
            problems.add(path, "a weekday is a whole number from 0 (Monday) to 6 (Sunday)")
            continue
        if not isinstance(intervals, Iterable) or isinstance(intervals, str | bytes):
            problems.add(path, "expected a sequence of (start, end) pairs")
            continue
        for i, pair in enumerate(intervals):
            checked = _interval(pair, f"{path}[{i}]", problems)
            if checked is not None:
                days[key].append(checked)
    for key, day in enumerate(days):
        day.sort(key=lambda p: p[0])
        for previous, current in itertools.pairwise(day):
            if _us(current[0]) < _end_us(previous[1]):
                problems.add(
                    f"hours.{key}",
                    f"intervals overlap: {_show(previous)} and {_show(current)}",
                )
    return tuple(tuple(day) for day in days)


def _interval(pair: object, path: str, problems: Problems) -> tuple[dt.time, dt.time] | None:
    items = tuple(pair) if isinstance(pair, Iterable) and not isinstance(pair, str) else ()
    if len(items) != 2:
        problems.add(path, "expected a (start, end) pair of times")
        return None
    start, end = items
    ok = True
    for name, t in (("start", start), ("end", end)):
        if not isinstance(t, dt.time):
            problems.add(path, f"{name}: expected a time of day, got {type(t).__name__}")
            ok = False
        elif t.tzinfo is not None:
            problems.add(path, f"{name}: expected a naive time; the calendar's zone applies")
            ok = False
    if not ok:
        return None
    s, e = _plain(start), _plain(end)
    if _us(s) >= _end_us(e):
        problems.add(path, f"start must be before end (an end of 00:00 means midnight): {s}-{e}")
        return None
    return s, e


def _normalize_holidays(value: object, problems: Problems) -> frozenset[dt.date]:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        problems.add("holidays", "expected a collection of dates")
        return frozenset()
    days = set()
    for i, day in enumerate(value):
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            problems.add(f"holidays[{i}]", f"expected a date, got {type(day).__name__}")
        else:
            days.add(dt.date(day.year, day.month, day.day))
    return frozenset(days)


def _plain(t: dt.time) -> dt.time:
    return dt.time(t.hour, t.minute, t.second, t.microsecond)


def _us(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US + t.microsecond


def _end_us(t: dt.time) -> int:
    return _DAY if t == _MIDNIGHT else _us(t)


def _show(pair: tuple[dt.time, dt.time]) -> str:
    return f"{pair[0]}-{'24:00:00' if pair[1] == _MIDNIGHT else pair[1]}"


# ------------------------------------------------------------ instants as ints
#
# Internally an instant is an int: microseconds since 0001-01-01T00:00 on the
# proleptic Gregorian calendar (``date.toordinal() == 1``). A UTC instant plus
# the zone's offset gives a "local" int on the same scale, so whole days are
# ``x // _DAY`` (a date ordinal) and ``x % _DAY`` is the time of day.


def _instant(value: object, field: str) -> int:
    if isinstance(value, dt.datetime):
        offset = value.utcoffset()
        if offset is not None:
            return (
                value.toordinal() * _DAY
                + ((value.hour * 60 + value.minute) * 60 + value.second) * _US
                + value.microsecond
                - _td_us(offset)
            )
    aware(value, field)  # raises the library's error for a naive or foreign value
    raise ValidationError("expected a timezone-aware datetime", field=field)  # pragma: no cover


def _td_us(td: dt.timedelta) -> int:
    # timedelta's own division: pendulum.Duration's ``microseconds`` can be off by one
    return dt.timedelta.__floordiv__(td, _ONE_US)


def _duration_us(value: object) -> int:
    d = duration(value, "duration")
    if d.years or d.months:
        raise ValidationError("months and years have no fixed length", field="duration")
    us = _td_us(d)
    if us < 0:
        raise ValidationError("must not be negative", field="duration")
    return us


def _datetime(us: int) -> pendulum.DateTime:
    ordinal, rest = divmod(_in_range(us), _DAY)
    day = dt.date.fromordinal(ordinal)
    seconds, micro = divmod(rest, _US)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return pendulum.DateTime(
        day.year, day.month, day.day, hour, minute, second, micro, tzinfo=pendulum.UTC
    )


def _in_range(us: int) -> int:
    """``us`` itself, if it is an instant ``datetime`` holds (years 1 to 9999)."""
    if not _DAY <= us < (_MAX_ORD + 1) * _DAY:
        raise ValidationError("the result would fall after the year 9999", field="duration")
    return us


# The service-level engine counts in integers too, in microseconds since 1970 (UTC).
_UNIX = dt.date(1970, 1, 1).toordinal() * _DAY


def working_time(calendar: BusinessCalendar, start: int, end: int) -> int:
    """:meth:`BusinessCalendar.elapsed` between instants given as microseconds since 1970
    (UTC), ``start <= end``, in microseconds."""
    return calendar._plan.elapsed(start + _UNIX, end + _UNIX)


def working_deadline(calendar: BusinessCalendar, start: int, want: int) -> int:
    """:meth:`BusinessCalendar.deadline` from an instant given as microseconds since 1970
    (UTC), for ``want >= 0`` microseconds, in microseconds since 1970.

    Raises:
        ValidationError: as :meth:`BusinessCalendar.deadline` does.
    """
    if want == 0:
        return start
    return _in_range(calendar._plan.deadline(start + _UNIX, want)) - _UNIX


@functools.cache
def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset_at(zone: ZoneInfo, us: int) -> int:
    try:
        offset = (_ORIGIN + dt.timedelta(microseconds=us - _DAY)).astimezone(zone).utcoffset()
    except OverflowError:  # the first or last hours of the calendar: use the next day in
        return _offset_at(zone, us - _DAY if us > _DAY * 366 else us + _DAY)
    assert offset is not None
    return _td_us(offset)


@functools.lru_cache(maxsize=4096)
def _year_offsets(name: str, year: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """The offset at the start of ``year`` (UTC), then when it changes in that year and to what.

    A few zone lookups, whatever the year: the changes come from the zone's
    own list (:func:`_zone_offsets`) or, past its end, from its rule; the
    year is sampled only when neither can be read or checked.
    """
    zone = _zoneinfo(name)
    lo, end = _year_bounds(year)
    known = _zone_offsets(name)
    first = _offset_at(zone, lo)
    if known is None:
        return _scan_year(zone, lo, end, first)
    i, j = bisect_right(known.when, lo), bisect_left(known.when, end)
    changes = list(zip(known.when[i:j], known.to[i:j], strict=True))
    if end > known.listed_until and not known.constant_after:
        if known.rule is None:
            return _scan_year(zone, lo, end, first)
        floor = max(lo, known.listed_until)
        changes += (c for c in known.rule.changes(year) if floor < c[0] < end)
    merged: list[tuple[int, int]] = []
    for at, offset in sorted(changes, key=lambda c: c[0]):  # stable: the rule's order at a tie
        if merged and merged[-1][0] == at:  # two changes at one instant: the later one holds
            merged[-1] = (at, offset)
        else:
            merged.append((at, offset))
    when: list[int] = []
    to: list[int] = []
    current = first
    for at, offset in merged:
        if offset != current:
            when.append(at)
            to.append(offset)
            current = offset
    # Each change is checked against the zone: it holds from its instant, not a microsecond before.
    before = first
    for at, offset in zip(when, to, strict=True):
        if _offset_at(zone, at) != offset or _offset_at(zone, at - 1) != before:
            return _scan_year(zone, lo, end, first)
        before = offset
    return first, tuple(when), tuple(to)


def _year_bounds(year: int) -> tuple[int, int]:
    lo = dt.date(year, 1, 1).toordinal() * _DAY
    end = (dt.date(year + 1, 1, 1).toordinal() if year < 9999 else _MAX_ORD) * _DAY
    return lo, end


def _scan_year(
    zone: ZoneInfo, lo: int, end: int, first: int
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """The changes in ``[lo, end)`` found by sampling every six hours, then bisecting to the
    second: the way of last resort, for a zone whose data cannot be read or checked."""
    current = first
    when: list[int] = []
    to: list[int] = []
    while lo < end:
        hi = min(lo + _SAMPLE, end)
        target = _offset_at(zone, hi)
        while current != target:  # find every change in (lo, hi], to the second
            a, b = lo // _US, hi // _US  # offset(a) == current, offset(b) differs
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(zone, mid * _US) == current:
                    a = mid
                else:
                    b = mid
            lo = b * _US
            current = _offset_at(zone, lo)
            when.append(lo)
            to.append(current)
        lo = hi
    return first, tuple(when), tuple(to)


# ------------------------------------------------------------- a zone's changes
#
# A zone's TZif data lists its offset changes up to some instant, then gives a
# POSIX rule (``GMT0BST,M3.5.0/1,M10.5.0``) that zoneinfo applies to every
# later instant. Both are read here once per zone, so a year costs a few
# lookups however far it lies; every change is checked against zoneinfo
# itself before it is used, so the data read can only make a year slower
# (sampled), never wrong.

_EPOCH = dt.date(1970, 1, 1).toordinal() * _DAY
_HMS = r"[+-]?\d{1,3}(?::\d{2}(?::\d{2})?)?"
_NAME = r"(?:<[^>]*>|[A-Za-z]{3,})"
_DATE = r"(?:J\d{1,3}|\d{1,3}|M\d{1,2}\.\d\.\d)"
_FOOTER = re.compile(
    rf"{_NAME}(?P<std>{_HMS})"
    rf"(?:(?P<dst_name>{_NAME})(?P<dst>{_HMS})?"
    rf"(?:,(?P<start>{_DATE})(?:/(?P<start_time>{_HMS}))?"
    rf",(?P<end>{_DATE})(?:/(?P<end_time>{_HMS}))?)?)?"
)


class _ZoneData:
    """A zone's listed offset changes and the rule that follows them."""

    __slots__ = ("constant_after", "listed_until", "rule", "to", "when")

    def __init__(
        self,
        when: tuple[int, ...],
        to: tuple[int, ...],
        listed_until: int,
        rule: _Rule | None,
        constant_after: bool,
    ) -> None:
        self.when, self.to = when, to
        self.listed_until = listed_until  # the rule applies after this instant
        self.rule = rule
        self.constant_after = constant_after  # no rule, or one without daylight saving


_RuleDate = tuple[str, int, int, int]
"""A POSIX rule date, parsed: ``("M", month, week, weekday)``, ``("J", n, 0, 0)`` (1..365,
never counting 29 February) or ``("", n, 0, 0)`` (0..365, counting it)."""


class _Rule:
    """A POSIX TZ rule with daylight saving: where its changes fall in a given year."""

    __slots__ = ("dst", "end", "end_time", "start", "start_time", "std")

    def __init__(
        self, std: int, dst: int, start: str, start_time: int, end: str, end_time: int
    ) -> None:
        self.std, self.dst = std, dst
        self.start, self.start_time = _rule_date(start), start_time
        self.end, self.end_time = _rule_date(end), end_time

    def changes(self, year: int) -> list[tuple[int, int]]:
        """``(instant, offset)`` of the changes the rule makes in local years around ``year``."""
        out = []
        for y in range(max(year - 1, 1), min(year + 1, 9999) + 1):
            start = _rule_day(self.start, y) * _DAY + self.start_time - self.std
            end = _rule_day(self.end, y) * _DAY + self.end_time - self.dst
            out += [(start, self.dst), (end, self.std)]
        return out


def _rule_date(text: str) -> _RuleDate:
    if text[0] == "M":
        month, week, weekday = (int(x) for x in text[1:].split("."))
        return ("M", month, week, weekday)
    if text[0] == "J":
        return ("J", int(text[1:]), 0, 0)
    return ("", int(text), 0, 0)


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _rule_day(rule: _RuleDate, year: int) -> int:
    """The date ordinal a POSIX rule date names in ``year``."""
    kind, n, week, weekday = rule
    if kind == "M":  # weekday (0 = Sunday) of week 1..5 (5 = the last) of month n
        first = dt.date(year, n, 1)
        day = 1 + (weekday - first.weekday() - 1) % 7 + 7 * (week - 1)
        length = _MONTH_DAYS[n] + (n == 2 and isleap(year))
        while day > length:
            day -= 7
        return first.toordinal() + day - 1
    jan1 = dt.date(year, 1, 1).toordinal()
    if kind == "J":  # 1..365, never counting 29 February
        return jan1 + n - 1 + (n >= 60 and isleap(year))
    return jan1 + n  # 0..365, counting 29 February


def _seconds(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * ((parts[0] * 60 + parts[1]) * 60 + parts[2])


@functools.cache
def _zone_offsets(name: str) -> _ZoneData | None:
    """The zone's offset changes and rule, read from its TZif data; ``None`` if unreadable."""
    data = _tzif(name)
    if data is None:
        return None
    parsed = _parse_tzif(data)
    if parsed is None:
        return None
    times, footer = parsed
    zone = _zoneinfo(name)
    listed = [_EPOCH + t * _US for t in times]
    listed = [t for t in listed if _DAY < t < _MAX_ORD * _DAY]
    when: list[int] = []
    to: list[int] = []
    if listed:
        current = _offset_at(zone, listed[0] - 1)
        for at in listed:
            if _offset_at(zone, at - 1) != current:  # not the data zoneinfo reads
                return None
            offset = _offset_at(zone, at)
            if offset != current:
                when.append(at)
                to.append(offset)
                current = offset
    listed_until = _EPOCH + times[-1] * _US if times else 0
    match = _FOOTER.fullmatch(footer)
    rule = None
    if match and match["start"]:
        std = -_seconds(match["std"]) * _US
        dst = -_seconds(match["dst"]) * _US if match["dst"] else std + 3600 * _US
        rule = _Rule(
            std,
            dst,
            match["start"],
            _seconds(match["start_time"] or "2") * _US,
            match["end"],
            _seconds(match["end_time"] or "2") * _US,
        )
    constant_after = rule is None and (not footer or bool(match and not match["dst_name"]))
    return _ZoneData(tuple(when), tuple(to), listed_until, rule, constant_after)


def _tzif(name: str) -> bytes | None:
    """The TZif data zoneinfo reads for ``name``: the first file on its path, else the
    ``tzdata`` package's."""
    if name.startswith("/") or ".." in name.split("/"):
        return None
    for root in zoneinfo.TZPATH:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError:
                return None
    try:
        return importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).read_bytes()
    except (ImportError, OSError):
        return None


def _parse_tzif(data: bytes) -> tuple[tuple[int, ...], str] | None:
    """The transition times (seconds since 1970, UTC) and the footer rule of TZif data."""
    if data[:4] != b"TZif" or len(data) < 44:
        return None
    try:
        counts = struct.unpack(">6l", data[20:44])
        if data[4] < ord("2"):  # version 1: 32-bit times and no rule
            return struct.unpack(f">{counts[3]}l", data[44 : 44 + 4 * counts[3]]), ""
        isut, isstd, leap, n, types, chars = counts
        data = data[44 + 5 * n + 6 * types + chars + 8 * leap + isstd + isut :]
        if data[:4] != b"TZif":
            return None
        isut, isstd, leap, n, types, chars = struct.unpack(">6l", data[20:44])
        times = struct.unpack(f">{n}q", data[44 : 44 + 8 * n])
        footer = data[44 + 9 * n + 6 * types + chars + 12 * leap + isstd + isut :]
    except struct.error:
        return None
    return times, footer.decode("ascii", "replace").strip()


def _year_of(us: int) -> int:
    return dt.date.fromordinal(min(max(us // _DAY, 1), _MAX_ORD)).year


# ---------------------------------------------------------------- arithmetic


class _Plan:
    """The calendar precomputed as integers, for the arithmetic."""

    __slots__ = (
        "days",
        "full",
        "holiday_ords",
        "holidays",
        "lost",
        "memo",
        "prefix",
        "stretch",
        "totals",
        "week",
        "zone",
    )

    def __init__(self, zone: str, hours: Hours, holidays: frozenset[dt.date]) -> None:
        self.zone = zone
        self.days = tuple(tuple((_us(s), _end_us(e)) for s, e in day) for day in hours)
        self.totals = tuple(sum(e - s for s, e in day) for day in self.days)
        self.prefix = tuple(sum(self.totals[:w]) for w in range(7))
        self.week = sum(self.totals)
        self.holiday_ords = tuple(sorted(d.toordinal() for d in holidays))
        self.holidays = frozenset(self.holiday_ords)
        lost = [0]
        for ordinal in self.holiday_ords:
            lost.append(lost[-1] + self.totals[(ordinal - 1) % 7])
        self.lost = tuple(lost)
        self.full = self.week == _WEEK and not holidays
        # The stretch of one UTC offset last counted in: ``(start, end, offset)``.
        self.stretch = (0, 0, 0)
        self.memo: dict[int, int] = {}

    # Working time from the local origin to local instant ``x``, in microseconds.
    def cumulative(self, x: int) -> int:
        ordinal, t = divmod(x, _DAY)
        weeks, weekday = divmod(ordinal - 1, 7)
        total = weeks * self.week + self.prefix[weekday]
        i = bisect_left(self.holiday_ords, ordinal)
        total -= self.lost[i]
        if t and not (i < len(self.holiday_ords) and self.holiday_ords[i] == ordinal):
            for s, e in self.days[weekday]:
                if t <= s:
                    break
                total += (t if t < e else e) - s
        return total

    def segments(self, a: int, b: int | None) -> Iterator[tuple[int, int | None, int]]:
        """Stretches ``[start, end)`` of one UTC offset that cover ``[a, b)``, with that offset."""
        year = _year_of(a)
        first, when, to = _year_offsets(self.zone, year)
        i = bisect_right(when, a)
        offset = to[i - 1] if i else first
        cursor = a
        while True:
            if i < len(when):
                boundary, following = when[i], to[i]
                i += 1
            elif year >= 9999:
                yield cursor, b, offset
                return
            else:
                year += 1
                following, when, to = _year_offsets(self.zone, year)
                boundary, i = dt.date(year, 1, 1).toordinal() * _DAY, 0
            if b is not None and boundary >= b:
                yield cursor, b, offset
                return
            if boundary > cursor:
                yield cursor, boundary, offset
                cursor = boundary
            offset = following

    def stretch_at(self, a: int) -> tuple[int, int, int]:
        """The stretch ``[start, end)`` of one UTC offset that :meth:`segments` starts ``a``
        in, with that offset."""
        year = _year_of(a)
        first, when, to = _year_offsets(self.zone, year)
        i = bisect_right(when, a)
        start = when[i - 1] if i else dt.date(year, 1, 1).toordinal() * _DAY
        if i < len(when):
            end = when[i]
        elif year >= 9999:
            end = 1 << 80  # no later boundary
        else:
            end = dt.date(year + 1, 1, 1).toordinal() * _DAY
        return start, end, to[i - 1] if i else first

    def elapsed(self, a: int, b: int) -> int:
        if self.full:
            return b - a
        # Most spans lie in the stretch the last one did: one offset, no segments to walk.
        first, last, shift = self.stretch
        if not first <= a < last:
            first, last, shift = self.stretch = self.stretch_at(a)
        if b <= last:
            # Spans read one after another share ends (a case's stretches and cycles):
            # the working time up to the last few local instants is remembered.
            memo = self.memo
            x, y = a + shift, b + shift
            cx = memo.get(x)
            if cx is None:
                cx = memo[x] = self.cumulative(x)
            cy = memo.get(y)
            if cy is None:
                if len(memo) > 256:
                    memo.clear()
                cy = memo[y] = self.cumulative(y)
            return cy - cx
        total = 0
        for start, end, offset in self.segments(a, b):
            assert end is not None
            total += self.cumulative(end + offset) - self.cumulative(start + offset)
        return total

    def deadline(self, a: int, want: int) -> int:
        """The earliest UTC instant at which ``want`` (> 0) working time has passed since ``a``."""
        if self.week == 0:
            raise ValidationError(
                "the calendar has no working hours: the deadline would never arrive",
                field="hours",
            )
        if self.full:
            return a + want
        for start, end, offset in self.segments(a, None):
            base = self.cumulative(start + offset)
            if end is not None:
                available = self.cumulative(end + offset) - base
                if want > available:
                    want -= available
                    continue
            return self.invert(base + want, start + offset) - offset
        raise AssertionError("unreachable")  # pragma: no cover

    def invert(self, value: int, x0: int) -> int:
        """The least local instant ``x > x0`` with ``cumulative(x) == value > cumulative(x0)``."""
        lo = x0 // _DAY  # cumulative at the start of day lo is below value
        step = max(1, 7 * (value - self.cumulative(lo * _DAY)) // self.week)
        while True:  # gallop, then bisect, to the last day that starts below value
            hi = lo + step
            if hi > _MAX_ORD + 1:
                if self.cumulative((_MAX_ORD + 1) * _DAY) < value:
                    raise ValidationError(
                        "the result would fall after the year 9999", field="duration"
                    )
                hi = _MAX_ORD + 1
            if self.cumulative(hi * _DAY) >= value:
                break
            lo, step = hi, step * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.cumulative(mid * _DAY) < value:
                lo = mid
            else:
                hi = mid
        rest = value - self.cumulative(lo * _DAY)
        for s, e in self.days[(lo - 1) % 7]:
            if rest <= e - s:
                return lo * _DAY + s + rest
            rest -= e - s
        raise AssertionError("unreachable")  # pragma: no cover

    def is_working(self, u: int) -> bool:
        if self.full:
            return True
        x = u + _offset_at(_zoneinfo(self.zone), u)
        ordinal, t = divmod(x, _DAY)
        if ordinal in self.holidays:
            return False
        return any(s <= t < e for s, e in self.days[(ordinal - 1) % 7])


ALWAYS = BusinessCalendar("UTC", {day: [(_MIDNIGHT, _MIDNIGHT)] for day in range(7)})
"""The 24/7 calendar, in UTC, with no holidays: ``elapsed(a, b) == b - a`` exactly."""
