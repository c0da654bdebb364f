"""Single values of the stored form as JSON text, and back, fast.

Each writer gives exactly the JSON text that ``to_json`` writes for the
value (the converter's hooks: :func:`~custservice._time.format_datetime`,
:func:`~custservice._time.format_duration`, ``str`` of a UUID...), and each
reader gives a value equal to the one ``from_dict`` builds, without its
checks: only text this library wrote is read here. A reader's ``seen`` maps
texts already read in the same page of rows to their values, so that
records read together share equal ids and instants.

Instants in UTC, by far the most common, take a shorter path: reading a
zone's offset costs more than the rest of formatting an instant.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import pendulum

from .._time import at_wall_time, format_datetime, format_duration, parse_datetime, parse_duration
from .._time import micros as exact_micros
from ..lifecycle import State
from ._lifecycles import state_from_data, state_to_data

__all__ = [
    "REFERENCES",
    "attribute_text",
    "day_text",
    "id_text",
    "instant_text",
    "micros",
    "number_text",
    "quote",
    "read_attribute",
    "read_day",
    "read_id",
    "read_instant",
    "read_reference",
    "read_span",
    "read_state",
    "reference_text",
    "span_text",
    "state_text",
]

quote: Callable[[str], str] = encode_basestring
"""Text as a JSON string, non-ASCII kept as is (as ``to_json`` writes it)."""

number_text: Callable[[object], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False
).encode
"""Any plain data as compact JSON text: numbers, and the rare nested lists."""

_UTC = pendulum.UTC
_STD_UTC = dt.UTC
_DateTime = pendulum.DateTime
_Date = pendulum.Date
_naive = dt.datetime
_iso = dt.datetime.isoformat
_fromisoformat = dt.datetime.fromisoformat
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


def micros(at: dt.datetime) -> int:
    """The instant ``at`` (aware) as whole microseconds since 1970-01-01 UTC, exactly.

    :func:`custservice._time.micros`, with UTC instants counted from their
    fields (the same figure, a fifth of the cost: no offset to look up).

    Raises:
        TypeError: ``at`` is naive or not a datetime.
    """
    zone = at.tzinfo
    if zone is _UTC or zone is _STD_UTC:
        return (
            (at.toordinal() - _EPOCH_DAY) * 86_400_000_000
            + (at.hour * 3600 + at.minute * 60 + at.second) * 1_000_000
            + at.microsecond
        )
    return exact_micros(at)


def instant_text(at: dt.datetime) -> str:
    """An instant as its JSON string: ``format_datetime`` in quotes."""
    if at.tzinfo is _UTC:
        wall = _naive(at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond)
        return f'"{_iso(wall)}+00:00[UTC]"'
    return f'"{format_datetime(at)}"'


_ZONES: dict[str, Any] = {}


def read_instant(text: str, seen: dict[str, Any]) -> pendulum.DateTime:
    """The instant :func:`instant_text` wrote (without its quotes), remembered in ``seen``."""
    head, _, zone = text.partition("[")
    if zone == "UTC]":  # the common case: one offset, no fold to work out
        v = _fromisoformat(head)
        value = seen[text] = _DateTime(
            v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, _UTC
        )
        return value
    tz = _ZONES.get(zone)
    if tz is None:
        if not zone.endswith("]"):
            # A fixed offset (no zone name): rare; the exact reader keeps its rules.
            value = seen[text] = parse_datetime(text)
            return value
        tz = _ZONES[zone] = pendulum.timezone(zone[:-1])
    try:
        v = _fromisoformat(head).astimezone(tz)
    except OverflowError:  # within a day of year 1 or 9999: the trip through UTC overflows
        value = seen[text] = at_wall_time(_fromisoformat(head), tz, "at")
        return value
    value = seen[text] = _DateTime(
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tz, fold=v.fold
    )
    return value


def id_text(value: uuid.UUID) -> str:
    """A record's own id as its JSON string."""
    return f'"{value}"'


REFERENCES: dict[int, str] = {}
"""The JSON strings of ids :func:`reference_text` wrote, by the ids' numbers (hashing a
``UUID`` runs Python code; hashing its number does not)."""
_REMEMBERED = 65_536


def reference_text(value: uuid.UUID) -> str:
    """Another record's id as its JSON string, remembered in :data:`REFERENCES`: one
    customer owns many records, and ``UUID.__str__`` runs Python code each time."""
    text = REFERENCES.get(value.int)
    if text is None:
        if len(REFERENCES) >= _REMEMBERED:  # bounded: forget all, and start again
            REFERENCES.clear()
        text = REFERENCES[value.int] = f'"{value}"'
    return text


_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_safe = uuid.UUID.__dict__["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown
_new = object.__new__


def read_id(text: str) -> uuid.UUID:
    """The UUID written as ``text``, built without ``UUID.__init__``'s parsing."""
    value = _new(uuid.UUID)
    _set_uuid_int(value, int(text.replace("-", ""), 16))
    _set_uuid_safe(value, _UNKNOWN)
    return value


def read_reference(text: str, seen: dict[str, Any]) -> uuid.UUID:
    """Another record's id, which other records of a page likely hold too: built once."""
    value: uuid.UUID | None = seen.get(text)
    if value is None:
        value = seen[text] = read_id(text)
    return value


def day_text(value: dt.date) -> str:
    """A date as its JSON string."""
    return f'"{value.isoformat()}"'


def read_day(text: str) -> pendulum.Date:
    """The date :func:`day_text` wrote."""
    return _Date.fromisoformat(text)


def span_text(value: dt.timedelta) -> str:
    """A duration as its JSON string (ISO 8601)."""
    return f'"{format_duration(value)}"'


def read_span(text: str) -> pendulum.Duration:
    """The duration :func:`span_text` wrote."""
    return parse_duration(text, "")


def state_text(state: State) -> str:
    """A lifecycle state as JSON: text as a string, a plain enum's member as an object."""
    if isinstance(state, str):
        return quote(state)
    return number_text(state_to_data(state))


def read_state(data: Any) -> State:
    """The state :func:`state_text` wrote."""
    return data if data.__class__ is str else state_from_data(data)


_str, _int, _float, _bool, _datetime = str, int, float, bool, dt.datetime


def attribute_text(value: Any) -> str:
    """A custom attribute's value as its JSON text: a date as ``{"date": "…"}``, an instant
    as ``{"datetime": "…"}``, anything else as itself."""
    kind = value.__class__
    if kind is _str:
        return quote(value)
    if value is None:
        return "null"
    if kind is _bool:
        return "true" if value else "false"
    if kind is _int or kind is _float:
        return number_text(value)
    if isinstance(value, _datetime):
        return '{"datetime":' + instant_text(value) + "}"
    return '{"date":' + day_text(value) + "}"


def read_attribute(data: Any, seen: dict[str, Any]) -> Any:
    """The attribute's value :func:`attribute_text` wrote."""
    if data.__class__ is not dict:
        return data
    day = data.get("date")
    if day is not None:
        return read_day(day)
    return read_instant(data["datetime"], seen)
