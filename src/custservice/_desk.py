"""The fields a desk files its work by: agent and team names, tags and custom attributes.

Cases and interactions both carry them, and both check them here, so a rule
is written once:

- an agent id or a team name is non-blank text of at most :data:`MAX_NAME`
  characters (the width of the typed SQL columns that hold it);
- a tag is non-blank text of at most :data:`MAX_NAME` characters; tags are a
  ``frozenset``;
- an attribute (a custom field) has a name that is an identifier (letters,
  digits and underscores, not starting with a digit; at most
  :data:`MAX_NAME` characters) and a value that is text, a whole number
  within 64 bits, a finite ``float``, ``True``/``False``, a date, an aware
  datetime or ``None``. Dates become ``pendulum.Date`` and datetimes
  ``pendulum.DateTime`` (as every instant in the library). The attributes are
  a read-only mapping, hashable like the rest of a record.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, Union

import pendulum

from ._mapping import FrozenMap, own
from ._records import replace
from ._time import aware, format_datetime, parse_datetime
from ._validation import MAX_TEXT, collection, text, unicode
from .errors import Problem, ValidationError

__all__ = [
    "ATTRIBUTE_TYPES",
    "MAX_NAME",
    "NO_ATTRIBUTES",
    "AttributeValue",
    "Labelled",
    "attribute_data",
    "attribute_from_data",
    "attribute_value",
    "attributes",
    "name",
    "optional_name",
    "tags",
]

MAX_NAME = 200
"""The longest agent id, team name, tag or attribute name, in characters."""

AttributeValue = Union[str, int, float, bool, pendulum.Date, pendulum.DateTime, None]  # noqa: UP007
"""What a custom attribute holds."""

ATTRIBUTE_TYPES: frozenset[type] = frozenset(
    {str, int, float, bool, pendulum.Date, pendulum.DateTime}
)
"""The types an attribute's value may have, besides ``None``."""

NO_ATTRIBUTES: FrozenMap[str, AttributeValue] = FrozenMap()
"""The attributes of a record that has none."""

_INT64 = range(-(2**63), 2**63)


def name(value: object, field: str) -> str:
    """An agent id or a team name: non-blank text of at most :data:`MAX_NAME` characters."""
    return text(value, field, limit=MAX_NAME)


def optional_name(value: object, field: str) -> str | None:
    """``None``, or a :func:`name`."""
    return None if value is None else name(value, field)


def tags(value: object, field: str = "tags") -> frozenset[str]:
    """A collection of tags as a ``frozenset``; a lone string is refused (it is one tag,
    not a set of them)."""
    items = collection(value, field)
    try:
        found = frozenset(items)
    except TypeError:  # unhashable items
        raise ValidationError("every tag must be non-blank text", field=field) from None
    for tag in found:
        name(tag, field)
    return found


def attribute_value(value: object, field: str) -> AttributeValue:
    """One attribute's value, checked and in the form it is kept in.

    Raises:
        ValidationError: ``value`` is of another kind, a number out of range
            (a whole number beyond 64 bits, a float that is NaN or infinite),
            text that is too long, or a naive datetime.
    """
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValidationError(f"longer than the limit of {MAX_TEXT} characters", field=field)
        return unicode(str(value), field)
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in _INT64:
            raise ValidationError("a whole number beyond 64 bits", field=field)
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("must be a finite number", field=field)
        return float(value)
    if isinstance(value, dt.datetime):
        return aware(value, field)
    if isinstance(value, dt.date):
        return pendulum.Date(value.year, value.month, value.day)
    raise ValidationError(
        "expected text, a whole number, a float, true or false, a date, an aware datetime "
        f"or None, got {type(value).__name__}",
        field=field,
    )


def attribute_data(value: AttributeValue) -> Any:
    """An attribute's value as plain data.

    Text, numbers, ``True``/``False`` and ``None`` are themselves; a date is
    ``{"date": "2026-02-28"}`` and an instant ``{"datetime": "…"}`` (ISO 8601
    with its zone in brackets, as every instant is written), so neither is
    mistaken for text that looks like one.
    """
    if isinstance(value, dt.datetime):
        return {"datetime": format_datetime(value)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


_ATTRIBUTE_FORMS = 'expected text, a number, true, false, null, {"date": …} or {"datetime": …}'


def date_from(value: object, field: str = "") -> pendulum.Date:
    """A ``pendulum.Date`` from a date or ISO 8601 date text; a ``ValidationError`` at
    ``field`` otherwise."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pendulum.Date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return pendulum.Date(d.year, d.month, d.day)
    raise ValidationError("expected an ISO 8601 date such as '2026-02-28'", field=field)


def datetime_from(value: object, field: str = "") -> pendulum.DateTime:
    """An aware ``pendulum.DateTime`` from a datetime or ISO 8601 text (zone in brackets)."""
    if isinstance(value, dt.datetime):
        return aware(value, field)
    return parse_datetime(value, field)


def attribute_from_data(value: object, field: str) -> AttributeValue:
    """An attribute's value read from what :func:`attribute_data` gives (a value as
    :func:`attribute_value` takes it is read as it is).

    Raises:
        ValidationError: ``value`` is no attribute's value; a problem inside a date or
            an instant is named at ``FIELD.date`` or ``FIELD.datetime``.
    """
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "date":
                return date_from(inner, f"{field}.date" if field else "date")
            if key == "datetime":
                return datetime_from(inner, f"{field}.datetime" if field else "datetime")
        raise ValidationError(_ATTRIBUTE_FORMS, field=field)
    if isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(_ATTRIBUTE_FORMS, field=field)
    return attribute_value(value, field)


def _attribute_name(key: object, field: str) -> str:
    if not isinstance(key, str) or not key.isidentifier() or len(key) > MAX_NAME:
        raise ValidationError(
            f"{key!r} is not an attribute name: letters, digits and underscores, not "
            f"starting with a digit, at most {MAX_NAME} characters"
            if isinstance(key, str) and len(key) <= MAX_NAME
            else f"an attribute name must be an identifier of at most {MAX_NAME} characters",
            field=field,
        )
    return key


def attributes(value: object, field: str = "attributes") -> FrozenMap[str, AttributeValue]:
    """Custom attributes as a read-only mapping, every name and value checked.

    Raises:
        ValidationError: ``value`` is not a mapping, or names or values are
            invalid; each problem names ``attributes.NAME``.
    """
    if isinstance(value, FrozenMap) and not value:
        return NO_ATTRIBUTES
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a mapping, got {type(value).__name__}", field=field)
    return own(_checked(value.items(), field))


def _checked(items: Iterable[tuple[object, object]], field: str) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    problems: list[Problem] = []
    for key, item in items:
        try:
            checked = _attribute_name(key, field)
            out[checked] = attribute_value(item, f"{field}.{checked}")
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return out


L = TypeVar("L", bound="Labelled")


class Labelled:
    """Tags and custom attributes, for a record with ``tags`` and ``attributes`` fields.

    Each method returns a new record; the record it is called on is unchanged.
    """

    __slots__ = ()

    tags: frozenset[str]
    attributes: Mapping[str, AttributeValue]

    def tag(self: L, *tags_: str) -> L:
        """The record with ``tags_`` added to its tags (one already there stays once).

        Raises:
            ValidationError: a tag is not non-blank text of at most 200 characters.
        """
        added = tags(tags_)
        return replace(self, tags=self.tags | added) if not added <= self.tags else self

    def untag(self: L, *tags_: str) -> L:
        """The record without ``tags_``; a tag it does not have is no error.

        Raises:
            ValidationError: a tag is not text.
        """
        removed = tags(tags_)
        return replace(self, tags=self.tags - removed) if removed & self.tags else self

    def with_attributes(self: L, **values: Any) -> L:
        """The record with these attributes set, the others kept (``None`` is a value too:
        see :meth:`without_attributes` to remove one).

        Raises:
            ValidationError: a value is of a kind attributes cannot hold, or out of range;
                the problem names ``attributes.NAME``.
        """
        merged = dict(self.attributes.items())
        merged.update(_checked(values.items(), "attributes"))
        return replace(self, attributes=own(merged))

    def without_attributes(self: L, *names: str) -> L:
        """The record without the attributes ``names``; a name it does not have is no error.

        Raises:
            ValidationError: a name is not text.
        """
        for key in names:
            if not isinstance(key, str):
                raise ValidationError("an attribute name must be text", field="attributes")
        if not any(key in self.attributes for key in names):
            return self
        kept = {k: v for k, v in self.attributes.items() if k not in names}
        return replace(self, attributes=own(kept) if kept else NO_ATTRIBUTES)
