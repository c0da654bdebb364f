"""Clocks and the timestamp rules."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custservice import (
    BusinessCalendar,
    Case,
    Channel,
    Clock,
    Customer,
    FixedClock,
    Interaction,
    Metric,
    ServiceTarget,
    SystemClock,
    ValidationError,
)
from custservice._time import (
    aware,
    between,
    format_datetime,
    format_duration,
    parse_datetime,
    parse_duration,
    timezone,
)
from custservice.analytics import health, plan_follow_ups
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


# --------------------------------------------- instants in standard-library zones

_STDLIB_ZONES: st.SearchStrategy[dt.tzinfo] = st.one_of(
    st.just(dt.UTC),
    st.timezones(),
    st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
)


@st.composite
def stdlib_instants(draw: st.DrawFn) -> dt.datetime:
    """Aware instants whose zone is a standard-library ``tzinfo``: plain ``datetime``
    values and ``pendulum.DateTime`` values carrying that ``tzinfo``, wall times in a
    gap or an overlap of the zone included."""
    tz = draw(_STDLIB_ZONES)
    naive = draw(st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2150, 1, 1)))
    fold = draw(st.sampled_from((0, 1)))
    fields = (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second)
    if draw(st.booleans()):
        return pendulum.DateTime(*fields, naive.microsecond, tzinfo=tz, fold=fold)
    return dt.datetime(*fields, naive.microsecond, tzinfo=tz, fold=fold)


def _utc(value: dt.datetime) -> dt.datetime:
    """The instant as a plain UTC datetime, by the standard library's rules alone."""
    plain = dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
        fold=value.fold,
    )
    return plain.astimezone(dt.UTC)


def _stays_aware(value: object) -> None:
    """``value`` carries a pendulum zone, so pendulum and stdlib arithmetic stay aware."""
    assert type(value) is pendulum.DateTime
    assert isinstance(value.tzinfo, pendulum.Timezone | pendulum.FixedTimezone)
    hour = dt.timedelta(hours=1)
    for later in (value + hour, value.add(hours=1), value.add(days=1)):
        assert later.tzinfo is not None
        assert later.utcoffset() is not None
    assert _utc(value + hour) == _utc(value) + hour
    assert _utc(value.add(hours=1)) == _utc(value) + hour


@given(stdlib_instants())
def test_instants_in_stdlib_zones_are_kept_in_a_pendulum_zone(value: dt.datetime) -> None:
    clock = FixedClock(value)
    now = clock.now()
    _stays_aware(now)
    assert _utc(now) == _utc(value)  # the same instant
    assert now.utcoffset() == value.utcoffset()  # read on the same wall clock
    assert (now.year, now.month, now.day, now.hour, now.minute) == (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
    )
    later = clock.advance(dt.timedelta(hours=5))
    _stays_aware(later)
    assert _utc(later) == _utc(value) + dt.timedelta(hours=5)
    assert later.timestamp() == clock.now().timestamp()


class _RawClock:
    """A user's clock that hands back its instant exactly as given."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> pendulum.DateTime:
        return self.at  # type: ignore[return-value]


@settings(max_examples=60, deadline=None)
@given(stdlib_instants())
def test_every_entry_point_keeps_stdlib_zoned_instants_aware(value: dt.datetime) -> None:
    assume(value.utcoffset() is not None)
    later = _plain_after(value, dt.timedelta(days=400))
    clock = _RawClock(value)
    customer = Customer.new(
        "Ada", clock=clock, birthday=pendulum.date(1900, 7, 14), timezone="Pacific/Kiritimati"
    ).advance("acquire", at=value)
    for instant in (
        customer.created_at,
        customer.lifecycle.since,
        customer.lifecycle.history[-1].at,
    ):
        _stays_aware(instant)
    case = Case.open(customer.id, "Broken", clock=clock).advance("open", at=value)
    case = case.record_update(at=value, from_customer=True)
    for instant in (case.opened_at, case.updates[-1].at, case.lifecycle.since):
        _stays_aware(instant)
    contact = Interaction.open(customer.id, Channel.PHONE, clock=clock)
    for event in ("receive", "understand", "help"):
        contact = contact.advance(event, at=value)
    contact = contact.handoff("billing", at=value).resolve(at=value)
    assert contact.resolved_at is not None
    for instant in (contact.opened_at, contact.handoffs[-1].at, contact.resolved_at):
        _stays_aware(instant)
    desk = BusinessCalendar("Europe/London", {d: [(dt.time(9), dt.time(17))] for d in range(5)})
    assert desk.elapsed(value, later) > dt.timedelta(0)
    for instant in (
        desk.deadline(value, pendulum.duration(hours=3)),
        desk.deadline(value, pendulum.duration()),
        desk.next_working(value),
    ):
        _stays_aware(instant)
    status = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=4)).evaluate(
        case, at=value
    )
    assert status.due_at is not None
    for instant in (status.at, status.due_at):
        _stays_aware(instant)
    _stays_aware(health(customer, [contact], cases=[case], at=value).at)
    follow_ups = plan_follow_ups([customer], window_start=value, window_end=later)
    assert follow_ups  # a birthday falls in every 400 days
    for follow_up in follow_ups:
        _stays_aware(follow_up.due_at)
        assert _utc(value) <= _utc(follow_up.due_at) < _utc(later)


def _plain_after(value: dt.datetime, by: dt.timedelta) -> dt.datetime:
    """``value + by`` in ``value``'s zone, by the standard library (whatever ``value`` is)."""
    return (_utc(value) + by).astimezone(value.tzinfo)
