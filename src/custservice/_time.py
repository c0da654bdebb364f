"""Clocks, and the rules every timestamp in the library follows.

Domain code never reads a global clock: an operation takes ``at=`` or a
:class:`Clock` from the caller, so the same input always gives the same
output and tests can control time exactly.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import pendulum

from .errors import ValidationError

__all__ = [
    "PENDULUM_ZONES",
    "Clock",
    "FixedClock",
    "SystemClock",
    "aware",
    "between",
    "duration",
    "format_datetime",
    "format_duration",
    "micros",
    "parse_datetime",
    "parse_duration",
    "read_clock",
    "timezone",
]

_UTC = pendulum.UTC

_DateTime, _ZONE, _FIXED = pendulum.DateTime, pendulum.Timezone, pendulum.FixedTimezone

PENDULUM_ZONES: frozenset[type[dt.tzinfo]] = frozenset({_ZONE, _FIXED})
"""The zone types pendulum keeps arithmetic aware in: ``type(at.tzinfo) in PENDULUM_ZONES``
is the fast check that an instant needs no normalising by :func:`aware`."""


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the time: ``now()`` returns an aware ``pendulum.DateTime``."""

    def now(self) -> pendulum.DateTime:
        """The current instant."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    __slots__ = ()

    def now(self) -> pendulum.DateTime:
        """The current instant, in UTC."""
        return pendulum.now(_UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until it is told to move: for tests and simulations.

    Args:
        at: the instant the clock shows; must be timezone-aware.

    Raises:
        ValidationError: ``at`` is naive, or ``advance`` is asked to go back.

    Examples:
        >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
        >>> clock.advance(pendulum.duration(hours=2)).hour
        11
    """

    __slots__ = ("_at",)

    def __init__(self, at: dt.datetime) -> None:
        self._at = aware(at, "at")

    def now(self) -> pendulum.DateTime:
        """The instant the clock shows."""
        return self._at

    def advance(self, by: dt.timedelta) -> pendulum.DateTime:
        """Move the clock forward by ``by`` and return the new instant."""
        if not isinstance(by, dt.timedelta):
            raise ValidationError("expected a duration", field="by")
        if by < dt.timedelta(0):
            raise ValidationError("a clock does not go backwards", field="by")
        self._at = self._at + by
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def aware(value: object, field: str) -> pendulum.DateTime:
    """``value`` as an aware ``pendulum.DateTime`` in a pendulum zone: how every instant comes in.

    A ``pendulum.DateTime`` in a pendulum zone is returned as it is. Any other
    aware datetime (a plain ``datetime``, or a ``pendulum.DateTime`` whose
    zone is a standard-library ``tzinfo``) is rebuilt on the same wall clock
    in a pendulum zone, because pendulum arithmetic on a foreign ``tzinfo``
    gives naive results. The instant and its UTC offset are kept: a
    ``zoneinfo.ZoneInfo`` becomes the pendulum zone of the same name, and any
    other ``tzinfo`` (``datetime.timezone``, third-party zones) the fixed
    offset it shows at that instant (``datetime.timezone.utc`` becomes UTC).

    Args:
        value: the datetime to check.
        field: the name reported when it is refused.

    Raises:
        ValidationError: ``value`` is not a datetime, or is naive.
    """
    if type(value) is _DateTime and ((kind := type(value.tzinfo)) is _ZONE or kind is _FIXED):
        return value  # the fast path: two identity checks
    if not isinstance(value, dt.datetime):
        raise ValidationError(
            f"expected a timezone-aware datetime, got {type(value).__name__}", field=field
        )
    offset = None if value.tzinfo is None else value.utcoffset()
    if offset is None:
        raise ValidationError("naive datetime; give a timezone-aware one", field=field)
    tz = value.tzinfo
    if isinstance(tz, pendulum.Timezone | pendulum.FixedTimezone):
        return _placed(value, tz, value.fold)
    key = tz.key if isinstance(tz, ZoneInfo) else None
    if key:
        try:
            zone = _zone(key)
        except ValidationError:  # a zone pendulum cannot load: its offset still holds
            pass
        else:
            placed = _placed(value, zone, value.fold)
            if placed.utcoffset() == offset:
                return placed
    return _fixed_offset(value, offset, field)


def _placed(value: dt.datetime, tz: dt.tzinfo, fold: int) -> pendulum.DateTime:
    return pendulum.DateTime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=tz,
        fold=fold,
    )


def _fixed_offset(value: dt.datetime, offset: dt.timedelta, field: str) -> pendulum.DateTime:
    """``value`` on its own wall clock, in the pendulum zone of its fixed UTC offset."""
    if offset % dt.timedelta(seconds=1):  # pendulum's fixed zones count whole seconds
        try:
            return _placed(value.astimezone(dt.UTC), _UTC, 0)
        except OverflowError:
            raise ValidationError(
                f"{value.isoformat()} has no UTC time within the years 1 to 9999", field=field
            ) from None
    return _placed(value, _fixed_zone(offset // dt.timedelta(seconds=1)), 0)


@functools.lru_cache(maxsize=256)
def _fixed_zone(seconds: int) -> pendulum.Timezone | pendulum.FixedTimezone:
    return _UTC if seconds == 0 else pendulum.FixedTimezone(seconds)


def read_clock(clock: object, field: str = "clock") -> pendulum.DateTime:
    """The instant ``clock.now()`` shows, checked like every other instant.

    Args:
        clock: a :class:`Clock` instance.
        field: the name reported when it is refused.

    Raises:
        ValidationError: ``clock`` is not a clock (no ``now()``, or a class
            rather than an instance), or its ``now()`` is not an aware datetime.
    """
    now = getattr(clock, "now", None)
    if isinstance(clock, type) or not callable(now):
        kind = f"the class {clock.__name__}" if isinstance(clock, type) else type(clock).__name__
        raise ValidationError(f"expected a Clock (with a now() method), got {kind}", field=field)
    return aware(now(), field)


def duration(value: object, field: str) -> pendulum.Duration:
    """``value`` as a ``pendulum.Duration``, or a ``ValidationError`` naming ``field``."""
    if type(value) is pendulum.Duration:
        return value
    if not isinstance(value, dt.timedelta):
        raise ValidationError(f"expected a duration, got {type(value).__name__}", field=field)
    return pendulum.duration(
        days=value.days, seconds=value.seconds, microseconds=value.microseconds
    )


def between(start: dt.datetime, end: dt.datetime) -> pendulum.Duration:
    """The exact time from ``start`` to ``end`` as a ``pendulum.Duration`` (not an Interval).

    Both are taken to UTC first: Python subtracts (and compares) two datetimes
    that share a tzinfo by wall clock, which is wrong across a clock change.
    The library compares instants for the same reason.
    """
    return duration(dt.datetime.__sub__(end.astimezone(dt.UTC), start.astimezone(dt.UTC)), "")


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_sub = dt.datetime.__sub__  # the stdlib's: pendulum's own returns an Interval


def micros(at: dt.datetime) -> int:
    """The instant ``at`` (aware) as whole microseconds since 1970-01-01 UTC, exactly.

    How the library compares and orders instants: ``timestamp()`` is a float,
    which from about the year 2242 on cannot tell microseconds apart. The
    difference to the epoch is taken as a ``timedelta`` (the stdlib applies
    each side's UTC offset, fold included), so no year from 1 to 9999
    overflows or rounds.

    Args:
        at: a timezone-aware datetime.

    Raises:
        TypeError: ``at`` is naive or not a datetime.
    """
    return _sub(at, _EPOCH) // _MICROSECOND


def timezone(name: object, field: str) -> str:
    """``name`` checked to be a known IANA time zone, or a ``ValidationError``."""
    if not isinstance(name, str) or not name:
        raise ValidationError("expected an IANA time zone name", field=field)
    try:
        _zone(name)
    except ValidationError as exc:
        raise ValidationError(exc.problems[0].message, field=field) from None
    return name


_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)(?:\.(?P<fraction>\d{1,6}))?S)?)?$"
)


def format_duration(value: dt.timedelta) -> str:
    """An exact ISO 8601 duration in days, hours, minutes and seconds (``"P1DT2H0.5S"``).

    Years and months are never used: their length depends on the calendar.
    """
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    minutes, seconds = divmod(value.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    out = f"{sign}P{value.days}D" if value.days else f"{sign}P"
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or value.microseconds:
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        clock += f"{seconds}{fraction}S"
    if clock:
        out += "T" + clock
    return out if out not in ("P", "-P") else "P0D"


def parse_duration(text: object, field: str = "duration") -> pendulum.Duration:
    """Read a duration written by :func:`format_duration`; a ``ValidationError`` otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or text in ("P", "-P", "PT", "-PT"):
        raise ValidationError("expected an ISO 8601 duration such as 'PT4H'", field=field)
    parts = match.groupdict()
    micro = int((parts["fraction"] or "0").ljust(6, "0"))
    try:
        value = pendulum.duration(
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=int(parts["seconds"] or 0),
            microseconds=micro,
        )
    except OverflowError:
        raise ValidationError("duration out of range", field=field) from None
    return -value if parts["sign"] else value


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 with the offset, followed by ``[Zone/Name]`` when the zone has a name.

    The bracketed zone (RFC 9557) keeps the round trip exact: the instant, the
    offset and the zone all come back.
    """
    text = value.isoformat()
    name = getattr(value.tzinfo, "key", None)
    return f"{text}[{name}]" if name else text


def parse_datetime(text: object, field: str = "at") -> pendulum.DateTime:
    """Read a datetime written by :func:`format_datetime`; naive ones are refused."""
    if not isinstance(text, str):
        raise ValidationError("expected an ISO 8601 datetime string", field=field)
    head, _, zone = text.partition("[")
    try:
        value = dt.datetime.fromisoformat(head)
    except ValueError:
        raise ValidationError("expected an ISO 8601 datetime string", field=field) from None
    if value.tzinfo is None:
        raise ValidationError("naive datetime; give a timezone-aware one", field=field)
    if zone:
        if not zone.endswith("]"):
            raise ValidationError("malformed time zone suffix", field=field)
        tz = _zone_or_error(zone[:-1], field)
        try:
            value = value.astimezone(tz)
        except OverflowError:  # within a day of year 1 or 9999: the trip through UTC overflows
            return at_wall_time(value, tz, field)
    return pendulum.instance(value)


def in_zone(value: dt.datetime, zone: str, field: str = "at") -> pendulum.DateTime:
    """The instant ``value`` (aware) as a ``pendulum.DateTime`` in the IANA ``zone``.

    What ``pendulum.instance(value).in_timezone(zone)`` gives, for a sixth of
    its cost: the stdlib converts, and the fields are wrapped once.
    """
    tz = _zone(zone)
    try:
        v = value.astimezone(tz)
    except OverflowError:  # within a day of year 1 or 9999
        raise ValidationError(
            f"{value.isoformat()} has no time in {zone} before the year 10000", field=field
        ) from None
    return pendulum.DateTime(
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=tz, fold=v.fold
    )


def at_wall_time(value: dt.datetime, tz: pendulum.Timezone, field: str) -> pendulum.DateTime:
    """``value``'s wall time and offset, placed in zone ``tz`` without going through UTC."""
    for fold in (0, 1):
        placed = _placed(value, tz, fold)
        if placed.utcoffset() == value.utcoffset():
            return placed
    raise ValidationError(f"{value.isoformat()} is not a time of {tz.name}", field=field)


def _zone_or_error(name: str, field: str) -> pendulum.Timezone:
    try:
        return _zone(name)
    except ValidationError:
        raise ValidationError(f"unknown time zone {name!r}", field=field) from None


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> pendulum.Timezone:
    try:
        return pendulum.timezone(name)
    except Exception:
        raise ValidationError(f"unknown time zone {name!r}", field="timezone") from None
