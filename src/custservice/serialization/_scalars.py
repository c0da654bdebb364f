"""Structure hooks for single values: times, durations, ids, text and numbers.

Each reads the whole of its value and raises one ``ValidationError`` (with an
empty path: the hook above names the field) when the value is not what the
stored form writes. cattrs would call ``str()`` or ``int()`` on anything; these
refuse a value of the wrong kind instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, get_origin

import pendulum

from .. import _time
from .._desk import AttributeValue, attribute_data, attribute_from_data, date_from, datetime_from
from ..errors import ValidationError

__all__ = [
    "is_attribute_type",
    "is_set_type",
    "sorted_items",
    "structure_attribute",
    "structure_bool",
    "structure_date",
    "structure_datetime",
    "structure_duration",
    "structure_float",
    "structure_int",
    "structure_level",
    "structure_str",
    "structure_time",
    "structure_uuid",
    "unstructure_attribute",
]


def structure_datetime(value: object, _: object) -> pendulum.DateTime:
    """An aware ``pendulum.DateTime`` from ISO 8601 text (zone in brackets) or a datetime."""
    return datetime_from(value)


def structure_date(value: object, _: object) -> pendulum.Date:
    """A ``pendulum.Date`` from an ISO date or a date."""
    return date_from(value)


def structure_time(value: object, _: object) -> dt.time:
    """A time of day without a zone, from ``'08:30'`` or a time."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            t = dt.time.fromisoformat(value)
        except ValueError:
            pass
        else:
            if t.tzinfo is None:
                return t
    raise ValidationError("expected a time of day such as '08:30'")


def structure_duration(value: object, _: object) -> pendulum.Duration:
    """A ``pendulum.Duration`` from an ISO 8601 duration or a timedelta."""
    if isinstance(value, dt.timedelta):
        return _time.duration(value, "")
    return _time.parse_duration(value, "")


def structure_uuid(value: object, _: object) -> uuid.UUID:
    """A UUID from its text or a UUID."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError("expected a UUID string")


def structure_str(value: object, _: object) -> str:
    """Text as it is; anything else is refused."""
    # cattrs would call str() on anything; a number where text belongs is an error.
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}")
    return value


def structure_int(value: object, _: object) -> int:
    """A whole number as it is (not a bool); anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected a whole number, got {type(value).__name__}")
    return value


def structure_bool(value: object, _: object) -> bool:
    """``true`` or ``false`` as it is; anything else is refused."""
    if not isinstance(value, bool):
        raise ValidationError(f"expected true or false, got {type(value).__name__}")
    return value


def structure_float(value: object, _: object) -> float:
    """A number as a float (not a bool); anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"expected a number, got {type(value).__name__}")
    return float(value)


def structure_level(value: object, _: object) -> Any:
    """An expectation band's level: a number, or a duration written as ISO 8601 text."""
    if isinstance(value, str):
        return _time.parse_duration(value, "")
    if isinstance(value, bool) or not isinstance(value, int | float | dt.timedelta):
        raise ValidationError("expected a number or an ISO 8601 duration")
    return value


def is_set_type(t: Any) -> bool:
    """Whether ``t`` is a set type, which is written as a sorted list."""
    return t in (set, frozenset) or get_origin(t) in (set, frozenset)


def sorted_items(items: list[Any]) -> list[Any]:
    """A set's unstructured items in a fixed order, so equal sets give identical text."""
    # Sets serialize sorted, so equal sets always give identical text.
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


def is_attribute_type(t: Any) -> bool:
    """Whether ``t`` is the type of a custom attribute's value."""
    return bool(t == AttributeValue)


def unstructure_attribute(value: Any) -> Any:
    """A custom attribute's value as plain data (see :func:`~custservice._desk.attribute_data`)."""
    return attribute_data(value)


def structure_attribute(value: object, _: object) -> AttributeValue:
    """A custom attribute's value from what :func:`unstructure_attribute` gave."""
    return attribute_from_data(value, "")
