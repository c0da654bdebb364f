"""Clocks and the timestamp rules."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import given

from custservice import Clock, FixedClock, SystemClock, ValidationError
from custservice._time import (
    aware,
    between,
    format_datetime,
    format_duration,
    parse_datetime,
    parse_duration,
    timezone,
)
from custservice.testing import strategies as cst


def test_fixed_clock_stands_still_until_advanced() -> None:
    clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
    assert clock.now() == clock.now() == pendulum.datetime(2026, 1, 5, 9)
    assert clock.advance(pendulum.duration(minutes=90)) == pendulum.datetime(2026, 1, 5, 10, 30)
    assert clock.now() == pendulum.datetime(2026, 1, 5, 10, 30)
    with pytest.raises(ValidationError, match="backwards"):
        clock.advance(dt.timedelta(seconds=-1))
    assert isinstance(clock, Clock)


def test_system_clock_is_aware_and_moves_forward() -> None:
    clock = SystemClock()
    first, second = clock.now(), clock.now()
    assert first.tzinfo is not None
    assert second >= first
    assert isinstance(clock, Clock)


def test_naive_datetimes_are_refused_everywhere() -> None:
    naive = dt.datetime(2026, 1, 1, 12)
    with pytest.raises(ValidationError, match="naive") as info:
        FixedClock(naive)
    assert info.value.field == "at"
    with pytest.raises(ValidationError, match="naive"):
        aware(naive, "since")
    with pytest.raises(ValidationError, match="naive"):
        parse_datetime("2026-01-01T12:00:00")


def test_stdlib_aware_datetimes_become_pendulum() -> None:
    value = aware(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), "at")
    assert isinstance(value, pendulum.DateTime)
    assert value == pendulum.datetime(2026, 1, 1, 12)


@given(cst.durations(max_value=dt.timedelta(days=100_000)))
def test_durations_round_trip_through_iso_8601(value: pendulum.Duration) -> None:
    assert parse_duration(format_duration(value)) == value
    assert parse_duration(format_duration(-value)) == -value


@given(cst.aware_datetimes())
def test_datetimes_round_trip_with_their_zone(value: pendulum.DateTime) -> None:
    back = parse_datetime(format_datetime(value))
    assert back == value
    assert back.utcoffset() == value.utcoffset()
    assert back.tzinfo is not None
    assert value.tzinfo is not None
    assert back.tzinfo.tzname(back) == value.tzinfo.tzname(value)


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1.5H", "P1Y", "PT-1S", "P1DT", None, 5])
def test_malformed_durations_are_refused(text: object) -> None:
    with pytest.raises(ValidationError, match="ISO 8601 duration"):
        parse_duration(text)


def test_unknown_time_zones_are_refused_by_name() -> None:
    assert timezone("Africa/Lagos", "timezone") == "Africa/Lagos"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'") as info:
        timezone("Mars/Olympus", "timezone")
    assert info.value.field == "timezone"
    with pytest.raises(ValidationError, match="unknown time zone"):
        parse_datetime("2026-01-01T00:00:00+00:00[Mars/Olympus]")


def test_between_counts_real_time_across_a_clock_change() -> None:
    london = "Europe/London"
    before = pendulum.datetime(2026, 3, 29, 0, 30, tz=london)
    after = pendulum.datetime(2026, 3, 29, 3, 30, tz=london)
    assert between(before, after) == pendulum.duration(hours=2)
    first = pendulum.datetime(2026, 10, 25, 0, 30, tz=london)
    second = pendulum.datetime(2026, 10, 25, 1, 30, tz=london, fold=1)
    assert between(first, second) == pendulum.duration(hours=2)
