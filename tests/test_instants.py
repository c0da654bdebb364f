"""Instants are compared and ordered exactly, to the microsecond, in every year.

A float ``timestamp()`` cannot tell two microseconds apart from about the year
2242 on; the library compares whole microseconds instead. These properties
use instants a microsecond apart, in assorted zones, up to the year 9999.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import Case, Channel, Customer, FixedClock, Interaction, open_store

ZONES = ("UTC", "Europe/Paris", "Asia/Kathmandu", "America/New_York", "Pacific/Chatham")
BASES = st.datetimes(min_value=dt.datetime(1971, 1, 2), max_value=dt.datetime(9999, 12, 29))
US = dt.timedelta(microseconds=1)


def epoch_micros(base: dt.datetime, step: int) -> int:
    """``base`` (naive, UTC) plus ``step`` microseconds, counted from 1970 with integers only."""
    return (base - dt.datetime(1970, 1, 1)) // US + step


@st.composite
def close_instants(draw: st.DrawFn) -> list[tuple[int, pendulum.DateTime]]:
    """A few instants at most a few microseconds apart (some equal), each in its own zone,
    with the step from the first."""
    base = draw(BASES)
    steps = draw(st.lists(st.integers(0, 4), min_size=2, max_size=6))
    return [
        (
            step,
            pendulum.instance(base + step * US, tz="UTC").in_timezone(draw(st.sampled_from(ZONES))),
        )
        for step in steps
    ]


@given(instants=close_instants(), seed=st.integers(0, 2**32))
@settings(max_examples=40, deadline=None)
def test_memory_and_sqlite_stores_order_and_window_alike(
    instants: list[tuple[int, pendulum.DateTime]], seed: int
) -> None:
    rng = random.Random(seed)
    owner = Customer.new("Ada", clock=FixedClock(instants[0][1]))
    calls = [
        Interaction.open(
            owner.id, Channel.PHONE, clock=FixedClock(at), id=uuid.UUID(int=rng.getrandbits(128))
        )
        for _, at in instants
    ]
    step_of = {call.id: step for call, (step, _) in zip(calls, instants, strict=True)}
    expected = sorted(calls, key=lambda c: (step_of[c.id], c.id.int))
    low, high = sorted(rng.sample(range(5), 2))
    since = instants[0][1] + (low - instants[0][0]) * US
    until = instants[0][1] + (high - instants[0][0]) * US
    window = [c.id for c in expected if low <= step_of[c.id] < high]
    for url in ("memory://", "sqlite:///:memory:"):
        with open_store(url) as store:
            store.customers.add(owner)
            for call in reversed(calls):
                store.interactions.add(call)
            got = [c.id for c in store.interactions.for_customer(owner.id)]
            assert got == [c.id for c in expected], url
            assert [c.id for c in store.interactions.all()] == got, url
            between = store.interactions.for_customer(owner.id, since=since, until=until)
            assert [c.id for c in between] == window, url


@given(base=BASES, zone=st.sampled_from(ZONES), last=st.booleans())
def test_record_ids_carry_the_exact_millisecond(base: dt.datetime, zone: str, last: bool) -> None:
    # the last or the first microsecond of a millisecond, where rounding shows
    step = (999 - base.microsecond % 1000) % 1000 + (0 if last else 1)
    at = pendulum.instance(base + step * US, tz="UTC").in_timezone(zone)
    case = Case.open(uuid.uuid4(), "x", clock=FixedClock(at))
    millis = epoch_micros(base, step) // 1000
    assert case.id.int >> 80 == millis & ((1 << 48) - 1)


@pytest.mark.parametrize("year", [2242, 5000, 9999])
def test_a_microsecond_apart_is_apart_in_far_years(year: int) -> None:
    at = pendulum.datetime(year, 1, 1, 0, 0, 0, 1, tz="Asia/Kathmandu")
    owner = Customer.new("Ada", clock=FixedClock(at))
    later = Case.open(owner.id, "later", clock=FixedClock(at), id=uuid.UUID(int=1))
    first = Case.open(
        owner.id, "first", clock=FixedClock((at - US).in_timezone("UTC")), id=uuid.UUID(int=2)
    )
    with open_store("memory://") as store:
        store.customers.add(owner)
        store.cases.add(later)
        store.cases.add(first)
        assert [c.subject for c in store.cases.for_customer(owner.id)] == ["first", "later"]
        assert [c.subject for c in store.cases.for_customer(owner.id, since=at)] == ["later"]
