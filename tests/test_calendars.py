"""Business calendars: working time between instants, and deadlines, across time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import cattrs
import pendulum
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custservice.calendars import ALWAYS, BusinessCalendar
from custservice.errors import ValidationError
from custservice.testing import strategies as cst

ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Africa/Lagos",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "Asia/Kathmandu",  # UTC+05:45
)
FIRST_DAY = dt.date(2025, 12, 1)
LAST_DAY = dt.date(2027, 1, 31)


def calendars(zones: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[BusinessCalendar]:
    return cst.calendars(
        st.sampled_from(ZONES) if zones is None else zones, holidays_between=(FIRST_DAY, LAST_DAY)
    )


# Instants where the zones above change their clocks in 2026, in UTC.
_CHANGES = (
    pendulum.datetime(2026, 3, 8, 7),  # America/New_York, spring
    pendulum.datetime(2026, 3, 29, 1),  # Europe/London, spring
    pendulum.datetime(2026, 4, 4, 15),  # Australia/Lord_Howe, autumn
    pendulum.datetime(2026, 10, 3, 15, 30),  # Australia/Lord_Howe, spring
    pendulum.datetime(2026, 10, 25, 1),  # Europe/London, autumn
    pendulum.datetime(2026, 11, 1, 6),  # America/New_York, autumn
)
_SPAN_START = pendulum.datetime(2025, 12, 1)
_SPAN_MINUTES = int((pendulum.datetime(2027, 1, 20) - _SPAN_START).total_seconds() // 60)


@st.composite
def instants(draw: st.DrawFn) -> pendulum.DateTime:
    """Minute-aligned instants, often within two days of a daylight-saving change,
    expressed in a random one of the zones."""
    if draw(st.booleans()):
        at = draw(st.sampled_from(_CHANGES)).add(minutes=draw(st.integers(-2880, 2880)))
    else:
        at = _SPAN_START.add(minutes=draw(st.integers(0, _SPAN_MINUTES)))
    return at.in_timezone(draw(st.sampled_from(ZONES)))


minutes = st.integers(0, 3 * 1440).map(lambda m: pendulum.duration(minutes=m))
durations = st.integers(0, 21 * 86_400_000_000).map(lambda us: pendulum.duration(microseconds=us))


def works(calendar: BusinessCalendar) -> bool:
    return any(calendar.hours)


def brute_force(
    calendar: BusinessCalendar, start: pendulum.DateTime, end: pendulum.DateTime
) -> int:
    """Working minutes in [start, end), one minute at a time, from the definition:
    the zone's wall clock shows a working day and a time inside one of its intervals."""
    zone = ZoneInfo(calendar.timezone)
    at = start.in_timezone("UTC")
    count = 0
    while at < end:
        local = dt.datetime(
            at.year, at.month, at.day, at.hour, at.minute, tzinfo=dt.UTC
        ).astimezone(zone)
        if local.date() not in calendar.holidays:
            now = local.time().replace(tzinfo=None)
            for s, e in calendar.hours[local.weekday()]:
                if s <= now and (e == dt.time(0) or now < e):
                    count += 1
                    break
        at = at.add(minutes=1)
    return count


# ------------------------------------------------------------------ properties


@given(calendars(), instants(), durations)
def test_elapsed_inverts_deadline(calendar: BusinessCalendar, start, d) -> None:
    assume(works(calendar))
    due = calendar.deadline(start, d)
    assert calendar.elapsed(start, due) == d
    if d:  # and it is the earliest such instant
        assert calendar.elapsed(start, due - dt.timedelta(microseconds=1)) < d


@given(calendars(), instants(), minutes, minutes)
def test_elapsed_is_additive_and_never_negative(calendar: BusinessCalendar, a, ab, bc) -> None:
    b, c = a + ab, a + ab + bc
    first, second = calendar.elapsed(a, b), calendar.elapsed(b, c)
    assert first >= dt.timedelta(0)
    assert second >= dt.timedelta(0)
    assert calendar.elapsed(a, c) == first + second


@given(calendars(), instants())
def test_the_span_before_the_next_working_instant_counts_zero(
    calendar: BusinessCalendar, at
) -> None:
    assume(works(calendar))
    then = calendar.next_working(at)
    # Compare instants: Python compares zones' repeated hours by wall clock.
    assert then.timestamp() >= at.timestamp()
    assert calendar.elapsed(at, then) == dt.timedelta(0)
    assert calendar.is_working(then)
    assert then.timestamp() == at.timestamp() or not calendar.is_working(at)


@given(calendars(), instants(), durations, durations)
def test_deadline_is_monotonic_in_duration(calendar: BusinessCalendar, start, d1, d2) -> None:
    assume(works(calendar))
    d1, d2 = sorted((d1, d2))
    assert calendar.deadline(start, d1) <= calendar.deadline(start, d2)


@given(calendars(), instants(), minutes, st.sampled_from(ZONES), st.sampled_from(ZONES))
def test_elapsed_does_not_depend_on_the_zone_of_the_instants(
    calendar: BusinessCalendar, a, span, z1, z2
) -> None:
    b = a + span
    assert calendar.elapsed(a.in_timezone(z1), b.in_timezone(z2)) == calendar.elapsed(a, b)


@settings(max_examples=60)
@given(calendars(), instants(), st.integers(0, 2 * 1440))
def test_elapsed_matches_minute_by_minute_reference(calendar: BusinessCalendar, a, span) -> None:
    b = a.add(minutes=span)
    assert calendar.elapsed(a, b) == pendulum.duration(minutes=brute_force(calendar, a, b))


@given(calendars(), instants())
def test_is_working_matches_the_reference(calendar: BusinessCalendar, at) -> None:
    assert calendar.is_working(at) == bool(brute_force(calendar, at, at.add(minutes=1)))


aware = st.datetimes(
    dt.datetime(1900, 1, 1),
    dt.datetime(2200, 1, 1),
    timezones=st.sampled_from([ZoneInfo(z) for z in ZONES]),
    allow_imaginary=False,
)


@given(aware, aware)
def test_always_counts_every_microsecond(a: dt.datetime, b: dt.datetime) -> None:
    a, b = sorted((a, b))
    real = b.astimezone(dt.UTC) - a.astimezone(dt.UTC)
    assert ALWAYS.elapsed(a, b) == real
    # (aware instants in a repeated hour never equal ones in another zone: compare in UTC)
    assert ALWAYS.deadline(a, real) == b.astimezone(dt.UTC)


# ------------------------------------------------------------ the hard edges

LONDON = "Europe/London"
NIGHT_AND_DAY = BusinessCalendar(
    LONDON, {d: [(dt.time(0), dt.time(4)), (dt.time(9), dt.time(17))] for d in range(7)}
)
NINE_TO_FIVE = {d: [(dt.time(9), dt.time(17))] for d in range(5)}


def london(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=LONDON)


def hours(h: float) -> pendulum.Duration:
    return pendulum.duration(hours=h)


def test_spring_forward_in_london_loses_the_hour_that_never_shows() -> None:
    day = london(2026, 3, 29)
    assert NIGHT_AND_DAY.elapsed(day, day.add(days=1)) == hours(11)
    assert NIGHT_AND_DAY.elapsed(day, london(2026, 3, 29, 9)) == hours(3)
    assert NIGHT_AND_DAY.deadline(day, hours(2)) == london(2026, 3, 29, 3)
    assert NIGHT_AND_DAY.deadline(day, hours(3)) == london(2026, 3, 29, 4)
    assert NIGHT_AND_DAY.deadline(day, hours(3.5)) == london(2026, 3, 29, 9, 30)
    small_hours = BusinessCalendar(LONDON, {6: [(dt.time(1), dt.time(3))]})
    assert small_hours.elapsed(day, day.add(days=1)) == hours(1)


def test_fall_back_in_london_counts_the_repeated_hour_twice() -> None:
    day = london(2026, 10, 25)
    assert NIGHT_AND_DAY.elapsed(day, day.add(days=1)) == hours(13)
    assert NIGHT_AND_DAY.elapsed(day, london(2026, 10, 25, 9)) == hours(5)
    second_one_oclock = pendulum.datetime(2026, 10, 25, 1)  # 01:00 GMT, after 01:00 BST
    assert NIGHT_AND_DAY.deadline(day, hours(2)).isoformat() == "2026-10-25T01:00:00+00:00"
    assert NIGHT_AND_DAY.deadline(day, hours(1)).isoformat() == "2026-10-25T01:00:00+01:00"
    assert NIGHT_AND_DAY.deadline(day, hours(5)).isoformat() == "2026-10-25T04:00:00+00:00"
    assert NIGHT_AND_DAY.deadline(day, hours(5.5)).isoformat() == "2026-10-25T09:30:00+00:00"
    assert NIGHT_AND_DAY.is_working(second_one_oclock.add(minutes=30))


def test_a_full_day_counts_exactly_24_hours() -> None:
    whole = BusinessCalendar(LONDON, {0: [(dt.time(0), dt.time(0))]})
    monday = london(2026, 3, 2)
    assert whole.elapsed(monday.subtract(days=1), monday.add(days=2)) == hours(24)
    assert whole.deadline(monday, hours(24)) == london(2026, 3, 3)


def test_a_round_the_clock_desk_still_keeps_its_holidays() -> None:
    desk = BusinessCalendar("UTC", ALWAYS.hours, holidays=[dt.date(2026, 12, 25)])
    eve = pendulum.datetime(2026, 12, 24, 12)
    assert desk.elapsed(eve, eve.add(days=2)) == hours(24)
    assert desk.deadline(eve, hours(13)) == pendulum.datetime(2026, 12, 26, 1)
    assert not desk.is_working(eve.add(days=1))
    assert ALWAYS.is_working(eve.add(days=1))


def test_a_friday_holiday_moves_the_deadline_to_monday() -> None:
    good_friday = dt.date(2026, 4, 3)
    desk = BusinessCalendar(LONDON, NINE_TO_FIVE, holidays=[pendulum.date(2026, 4, 3)])
    assert desk.holidays == {good_friday}
    thursday = london(2026, 4, 2, 16)
    assert desk.deadline(thursday, hours(2)) == london(2026, 4, 6, 10)
    assert desk.elapsed(thursday, london(2026, 4, 6, 10)) == hours(2)
    assert desk.next_working(london(2026, 4, 3, 12)) == london(2026, 4, 6, 9)


def test_a_lagos_lunch_break_is_not_counted() -> None:
    lagos = "Africa/Lagos"
    split = [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))]
    desk = BusinessCalendar(lagos, dict.fromkeys(range(5), split))
    monday = pendulum.datetime(2026, 3, 2, tz=lagos)
    assert desk.elapsed(monday.at(7), monday.at(18)) == hours(8)
    assert desk.elapsed(monday.at(11), monday.at(14)) == hours(2)
    assert desk.deadline(monday.at(11, 30), hours(1)) == monday.at(13, 30)
    assert desk.deadline(monday.at(11), hours(1)) == monday.at(12)  # the earliest instant
    assert not desk.is_working(monday.at(12, 30))
    assert desk.is_working(monday.at(8))  # an interval holds its start, not its end
    assert not desk.is_working(monday.at(12))
    assert desk.next_working(monday.at(12, 30)) == monday.at(13)


def test_year_end_skips_new_years_day() -> None:
    desk = BusinessCalendar(LONDON, NINE_TO_FIVE, holidays=[dt.date(2026, 1, 1)])
    assert desk.deadline(london(2025, 12, 31, 16), hours(2)) == london(2026, 1, 2, 10)
    assert desk.elapsed(london(2025, 12, 31, 12), london(2026, 1, 2, 12)) == hours(8)


def test_instants_in_tokyo_against_a_london_calendar() -> None:
    desk = BusinessCalendar(LONDON, NINE_TO_FIVE)
    tokyo = "Asia/Tokyo"
    start = pendulum.datetime(2026, 3, 10, 18, tz=tokyo)  # 09:00 in London
    assert desk.elapsed(start, pendulum.datetime(2026, 3, 11, 2, tz=tokyo)) == hours(8)
    due = desk.deadline(pendulum.datetime(2026, 3, 10, 17, tz=tokyo), hours(1))
    assert due == london(2026, 3, 10, 10)
    assert due.timezone_name == LONDON
    # after London moves to summer time, 17:00 in Tokyo is 09:00 in London
    assert desk.is_working(pendulum.datetime(2026, 4, 1, 17, tz=tokyo))
    assert not desk.is_working(pendulum.datetime(2026, 3, 10, 17, tz=tokyo))


def test_ten_years_of_holidays_are_crossed_without_stepping_through_them() -> None:
    first = dt.date(2026, 1, 1)
    closed = [first + dt.timedelta(days=n) for n in range(366 * 10)]
    desk = BusinessCalendar("UTC", NINE_TO_FIVE, holidays=closed)
    reopening = closed[-1] + dt.timedelta(days=1)
    assert reopening == dt.date(2036, 1, 9)  # a Wednesday
    start = pendulum.datetime(2025, 12, 31, 17)
    assert desk.deadline(start, hours(1)) == pendulum.datetime(2036, 1, 9, 10)
    assert desk.next_working(start) == pendulum.datetime(2036, 1, 9, 9)


def test_deadline_of_zero_is_the_start() -> None:
    start = pendulum.datetime(2026, 3, 7, 3, tz="Asia/Kathmandu")
    assert BusinessCalendar(LONDON, NINE_TO_FIVE).deadline(start, dt.timedelta(0)) == start


# ----------------------------------------------------------------- refusals


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        BusinessCalendar(
            "Mars/Olympus_Mons",
            {
                7: [(dt.time(9), dt.time(17))],
                0: [(dt.time(12), dt.time(9))],
                1: [(dt.time(9), dt.time(12)), (dt.time(11), dt.time(13))],
                2: [(dt.time(9, tzinfo=dt.UTC), dt.time(10)), (dt.time(9),)],
            },
            holidays=[dt.datetime(2026, 1, 1), "2026-01-02"],
        )
    assert [p.path for p in caught.value.problems] == [
        "timezone",
        "hours.7",
        "hours.0[0]",
        "hours.2[0]",
        "hours.2[1]",
        "hours.1",
        "holidays[0]",
        "holidays[1]",
    ]


def test_bad_arguments_are_refused() -> None:
    desk = BusinessCalendar(LONDON, NINE_TO_FIVE)
    now = london(2026, 3, 2, 10)
    with pytest.raises(ValidationError) as naive:
        desk.elapsed(dt.datetime(2026, 3, 2, 9), now)
    assert naive.value.field == "start"
    with pytest.raises(ValidationError) as backwards:
        desk.elapsed(now, now.subtract(minutes=1))
    assert backwards.value.field == "end"
    with pytest.raises(ValidationError) as negative:
        desk.deadline(now, dt.timedelta(seconds=-1))
    assert negative.value.field == "duration"
    with pytest.raises(ValidationError):
        desk.deadline(now, pendulum.duration(months=1))
    with pytest.raises(ValidationError):
        desk.is_working(dt.datetime(2026, 3, 2, 9))


def test_a_calendar_without_hours_has_no_deadline() -> None:
    closed = BusinessCalendar(LONDON, {})
    now = london(2026, 3, 2, 10)
    assert closed.elapsed(now, now.add(years=3)) == dt.timedelta(0)
    with pytest.raises(ValidationError, match="never"):
        closed.deadline(now, hours(1))
    assert closed.deadline(now, hours(0)) == now


def test_a_deadline_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(ValidationError, match="9999"):
        ALWAYS.deadline(pendulum.datetime(9999, 12, 31), hours(48))


# ------------------------------------------------------------ normal form


def test_hours_are_normalized_to_plain_sorted_tuples() -> None:
    a = BusinessCalendar(
        LONDON,
        {2: [(pendulum.time(13), pendulum.time(17)), (pendulum.time(8), pendulum.time(12))]},
    )
    b = BusinessCalendar(LONDON, {2: ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))})
    assert a == b
    assert hash(a) == hash(b)
    assert a.hours[2] == ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))
    assert all(type(t) is dt.time for pair in a.hours[2] for t in pair)
    assert a.hours[0] == ()
    assert len(a.hours) == 7
    assert BusinessCalendar(a.timezone, a.hours, a.holidays) == a


def test_round_trips_through_cattrs_with_time_and_date_hooks() -> None:
    converter = cattrs.Converter()
    for kind in (dt.time, dt.date):
        converter.register_unstructure_hook(kind, lambda v: v.isoformat())
        converter.register_structure_hook(kind, lambda v, t: t.fromisoformat(v))
    desk = BusinessCalendar(LONDON, NINE_TO_FIVE, holidays=[dt.date(2026, 4, 3)])
    data = converter.unstructure(desk)
    assert set(data) == {"timezone", "hours", "holidays"}
    assert converter.structure(data, BusinessCalendar) == desk


def test_an_instant_with_no_local_time_before_the_year_10000_is_a_validation_error() -> None:
    tokyo = BusinessCalendar("Asia/Tokyo", {0: [(dt.time(9), dt.time(17))]})
    late = pendulum.datetime(9999, 12, 31, 20)  # already 1 January 10000 in Tokyo
    with pytest.raises(ValidationError, match="year 10000"):
        tokyo.deadline(late, pendulum.duration())


# ------------------------------------------------------------ spans of millennia

_FAR_ZONES = (
    *ZONES,
    "America/Santiago",  # southern hemisphere, rules that moved often
    "Africa/Casablanca",  # changes listed one by one until 2087
    "Pacific/Apia",  # skipped a whole day in 2011
    "Europe/Dublin",  # negative daylight saving in the data
)
_ANY_TIME = st.datetimes(
    dt.datetime(1, 1, 3), dt.datetime(9999, 4, 1), timezones=st.just(dt.UTC)
).map(pendulum.instance)
_DESK = {d: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17, 30))] for d in range(5)}


class _CountingLookups:
    """Counts the calendar's reads of a zone's UTC offset; fails once past ``budget``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
        from custservice import calendars as module

        self.count, self.budget = 0, budget
        self._read = module._offset_at
        for cache in ("_year_offsets", "_zone_offsets"):
            if hasattr(module, cache):
                getattr(module, cache).cache_clear()
        monkeypatch.setattr(module, "_offset_at", self)

    def __call__(self, zone: ZoneInfo, us: int) -> int:
        self.count += 1
        if self.count > self.budget:
            raise AssertionError(f"more than {self.budget} zone lookups")
        return self._read(zone, us)  # type: ignore[no-any-return]


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "America/Santiago"])
def test_a_span_of_millennia_costs_lookups_in_proportion_to_its_years(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    desk = BusinessCalendar(zone, _DESK)
    start, end = pendulum.datetime(2000, 1, 1), pendulum.datetime(7000, 1, 1)
    lookups = _CountingLookups(monkeypatch, budget=10 * 5_000)  # cold: nothing known yet
    first = desk.elapsed(start, end)
    lookups.count = 0  # again: as cheap, however few years a cache holds
    assert desk.elapsed(start, end) == first
    lookups.count = 0
    due = desk.deadline(start, first)
    lookups.count = 0
    assert _us(desk.elapsed(start, due)) == _us(first)
    assert due.timestamp() <= end.timestamp()


def _us(d: dt.timedelta) -> int:
    # timedelta's own arithmetic: pendulum's Duration adds through floats, so long sums drift
    return dt.timedelta.__floordiv__(d, dt.timedelta(microseconds=1))


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(_FAR_ZONES).flatmap(
        lambda z: cst.calendars(
            st.just(z), holidays_between=(dt.date(1, 1, 1), dt.date(9999, 1, 1))
        )
    ),
    st.lists(_ANY_TIME, min_size=3, max_size=3, unique=True).map(sorted),
)
def test_elapsed_over_any_span_is_the_sum_of_its_pieces(
    calendar: BusinessCalendar, instants: list[pendulum.DateTime]
) -> None:
    a, b, c = instants
    whole = _us(calendar.elapsed(a, c))
    assert whole == _us(calendar.elapsed(a, b)) + _us(calendar.elapsed(b, c))


@settings(max_examples=300)
@given(st.sampled_from(_FAR_ZONES), _ANY_TIME)
def test_the_offset_used_in_any_year_is_the_zones_own(zone: str, at: pendulum.DateTime) -> None:
    # is_working reads the zone directly; elapsed reads the offsets it found for the year
    desk = BusinessCalendar(zone, {d: [(dt.time(9), dt.time(9, 1))] for d in range(7)})
    tick = dt.timedelta(seconds=1)
    for moment in (at, at.add(hours=6), at.add(days=120), at.add(days=240)):
        assert desk.is_working(moment) == (desk.elapsed(moment, moment + tick) == tick)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(_FAR_ZONES), st.integers(2, 9998))
def test_clock_changes_in_any_year_count_as_the_reference_does(zone: str, year: int) -> None:
    # Hours around the small hours and noon see a change of offset wherever it falls.
    desk = BusinessCalendar(
        zone, {d: [(dt.time(0), dt.time(4)), (dt.time(12, 30), dt.time(13))] for d in range(7)}
    )
    tz = ZoneInfo(zone)
    days = [dt.datetime(year, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=n) for n in range(366)]
    offsets = [d.astimezone(tz).utcoffset() for d in days]
    changes = [days[n] for n in range(365) if offsets[n] != offsets[n + 1]][:3]
    for day in changes:
        a = pendulum.instance(day - dt.timedelta(days=1))
        b = a.add(days=3)
        assert desk.elapsed(a, b) == pendulum.duration(minutes=brute_force(desk, a, b))
