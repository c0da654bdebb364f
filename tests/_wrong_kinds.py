"""Values of every kind, for properties that call public functions with the wrong ones.

Such a property asserts that only the library's own errors escape: a caller
can catch ``ValidationError`` and show its message, and never meets a raw
``TypeError``, ``AttributeError``, ``ValueError`` or ``OverflowError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from custservice import CSAT_5, ExpectationBand, Factor, FixedClock, Metric, Verdict
from custservice.errors import CustServiceError, ValidationError


class JunkClock:
    """A clock whose ``now()`` shows whatever it was given."""

    def __init__(self, shows: object) -> None:
        self.shows = shows

    def now(self) -> Any:
        return self.shows


_SOME_AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
_BAND = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)

_plain: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([1e308, -1e308, 1.7e308, 5e-324]),
    st.complex_numbers(allow_nan=True),
    st.decimals(),
    st.fractions(),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.datetimes(),  # naive
    st.datetimes(timezones=st.just(dt.UTC)),
    st.timedeltas(),
    st.dates(),
    st.times(),
    st.sampled_from(
        [object(), int, str, len, dt.datetime, FixedClock, Factor.SPEED, Metric.RESOLUTION]
    ),
    st.sampled_from([Verdict.SATISFIED, CSAT_5, _BAND, FixedClock(_SOME_AT)]),
)

anything: st.SearchStrategy[object] = st.recursive(
    _plain,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.frozensets(st.integers(-2, 12) | st.text(max_size=2), max_size=3),
        st.dictionaries(st.text(max_size=2) | st.integers(-2, 12), inner, max_size=2),
        inner.map(JunkClock),
    ),
    max_leaves=4,
)
"""A value of any kind: scalars, collections of them, clocks showing them."""


def only_validation_errors(
    call: Callable[[], object], *, also: tuple[type[CustServiceError], ...] = ()
) -> object:
    """``call()``'s result, or ``None`` when it raised ``ValidationError`` (or one of
    ``also``); any other exception propagates and fails the test."""
    try:
        return call()
    except (ValidationError, *also):
        return None
