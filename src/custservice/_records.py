"""What the three stored records (customers, interactions, cases) share."""

from __future__ import annotations

import functools
import uuid
from typing import Any, TypeVar

import attrs

from ._validation import Problems, integer, unicode
from .errors import ValidationError

R = TypeVar("R")

SENSITIVE = {"sensitive": True}
"""Field metadata for personal data: kept out of ``repr``, logs and messages."""


def replace(record: R, **changes: Any) -> R:
    """A copy of a frozen record with ``changes``, without re-running validation.

    For changes the record's own methods have already checked: it keeps the
    cost of a change independent of how much the record holds.
    """
    cls: type = type(record)
    new: Any = object.__new__(cls)
    for name in _field_names(cls):
        _set(new, name, changes[name] if name in changes else getattr(record, name))
    return new  # type: ignore[no-any-return]


_set = object.__setattr__


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


def check_identity(problems: Problems, record_id: object, version: object) -> None:
    """Record problems with an ``id`` (a UUID) and a ``version`` (a whole number >= 0)."""
    if not isinstance(record_id, uuid.UUID):
        problems.add("id", "expected a UUID")
    checked = problems.run(integer, version, "version")
    if checked is not None and checked < 0:
        problems.add("version", "must not be negative")


def text_set(value: object, field: str) -> frozenset[str]:
    """A set of non-blank strings (a lone string is refused: it is not a set of words)."""
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ValidationError("expected a collection of strings", field=field)
    try:
        items = frozenset(value)
    except TypeError:  # unhashable items, or an object that only claims to iterate
        raise ValidationError("every item must be non-blank text", field=field) from None
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("every item must be non-blank text", field=field)
        unicode(item, field)
    return items
