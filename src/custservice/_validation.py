"""Small checks shared by the domain classes.

A class validates in ``__attrs_post_init__`` with a :class:`Problems`
collector, so one ``ValidationError`` names every bad field at once instead
of stopping at the first.
"""

from __future__ import annotations

import enum
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from .errors import Problem, ValidationError

T = TypeVar("T")

# Deliberately simple: one @, no spaces or control characters, a dot in the
# domain. Deliverability is the mail system's job; this only catches what is
# clearly not an address. Both patterns are used with fullmatch: ``$`` would
# also match before a final newline.
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f-\x9f"  # @, whitespace, control characters
_EMAIL = re.compile(rf"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}.]+")
# Digits, spaces and the punctuation people write in phone numbers, from a
# digit (or +) to a digit, so no stray space or bracket hangs off either end.
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{3,29}[0-9]")

MAX_TEXT = 100_000
"""Longest free text (names, comments, reasons) accepted, in characters."""


class Problems:
    """Collects the problems of several checks, then raises them together."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def run(self, check: Callable[..., T], *args: object) -> T | None:
        """Run ``check(*args)``; record its ``ValidationError`` instead of raising it."""
        try:
            return check(*args)
        except ValidationError as exc:
            self._items.extend(exc.problems)
            return None

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self._items.append(Problem(path, message))

    def raise_if_any(self) -> None:
        """Raise one ``ValidationError`` listing everything recorded."""
        if self._items:
            raise ValidationError(self._items)


def text(value: object, field: str, *, limit: int = MAX_TEXT) -> str:
    """A non-blank string of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise ValidationError(f"expected text, got {type(value).__name__}", field=field)
    if not value.strip():
        raise ValidationError("must not be empty", field=field)
    if len(value) > limit:
        raise ValidationError(f"longer than the limit of {limit} characters", field=field)
    unicode(value, field)
    return value


def unicode(value: str, field: str) -> str:
    """Text that can be stored anywhere: no unpaired surrogates (they have no UTF-8 form)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "contains characters that are not valid Unicode (unpaired surrogates)", field=field
        ) from None
    return value


def optional_text(value: object, field: str, *, limit: int = MAX_TEXT) -> str | None:
    """``None`` or a non-blank string."""
    return None if value is None else text(value, field, limit=limit)


def email(value: object, field: str = "email") -> str:
    """An email address. The message never repeats the value (it is personal data)."""
    if not isinstance(value, str) or len(value) > 320 or not _EMAIL.fullmatch(value):
        raise ValidationError("not a valid email address", field=field)
    return value


def phone(value: object, field: str = "phone") -> str:
    """A phone number. The message never repeats the value (it is personal data)."""
    if not isinstance(value, str) or not _PHONE.fullmatch(value):
        raise ValidationError("not a valid phone number", field=field)
    return value


def number(value: object, field: str) -> int | float:
    """A finite real number, as an ``int`` (whole numbers, exactly) or a ``float``.

    Any ``numbers.Real`` is accepted (``fractions.Fraction``, ``numpy.float64``,
    a user's own type) and so is ``decimal.Decimal``; what is not an integer
    becomes its nearest ``float``, the form levels are stored and compared in.
    A ``bool`` is refused although Python counts it as a number: ``True`` is an
    answer, not a measurement, and scores refuse it too.

    Args:
        value: the number to check.
        field: the name reported when it is refused.

    Raises:
        ValidationError: ``value`` is a bool or not a number; it is NaN or
            infinite; or it is a non-integer beyond the range of a float.
    """
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise ValidationError("must be a finite number", field=field)
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise ValidationError(f"expected a number, got {type(value).__name__}", field=field)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError("must be a finite number", field=field)
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        converted = float(value)
    except (ArithmeticError, ValueError):  # a Fraction too large for a float
        converted = math.inf
    if math.isfinite(converted):
        return converted
    if isinstance(value, numbers.Rational | Decimal):  # finite, but no float holds it
        raise ValidationError("beyond the range of a float (about 1.8e308)", field=field)
    raise ValidationError("must be a finite number", field=field)


def collection(value: object, field: str) -> Iterable[Any]:
    """``value`` if it is a collection of items to read one by one.

    A string, bytes or a mapping is refused: iterating them gives characters,
    byte values or keys, never what the caller meant.

    Args:
        value: the collection (any iterable, read by the caller).
        field: the name reported when it is refused.

    Returns:
        ``value`` itself; its items are of any kind until the caller checks each.

    Raises:
        ValidationError: ``value`` is not iterable, or is a string, bytes or a mapping.
    """
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(
            f"expected a collection of items, got {type(value).__name__}", field=field
        )
    return value


def integer(value: object, field: str) -> int:
    """An int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected a whole number, got {type(value).__name__}", field=field)
    return value


E = TypeVar("E", bound=enum.Enum)


def member(kind: type[E], value: object, field: str) -> E:
    """``value`` as a member of the enum ``kind`` (a member or its value)."""
    try:
        return kind(value)
    except (ValueError, TypeError):
        options = ", ".join(repr(m.value) for m in kind)
        raise ValidationError(
            f"not a {kind.__name__}; expected one of {options}", field=field
        ) from None
