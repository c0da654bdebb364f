"""Arrivals per interval of the week, learnt from history, and the staffing plan built on them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh

from custservice import (
    BusinessCalendar,
    Customer,
    FixedClock,
    Interaction,
    ValidationError,
    open_async_store,
    open_store,
)
from custservice.analytics import (
    Forecast,
    StaffingPlan,
    agents_needed,
    arrivals,
    staffing_plan,
)
from custservice.serialization import from_dict, to_dict
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

HOUR = pendulum.duration(hours=1)
MINUTE = pendulum.duration(minutes=1)
LONDON = BusinessCalendar("Europe/London", {d: [(dt.time(9), dt.time(17))] for d in range(5)})


def call_at(at: pendulum.DateTime) -> Interaction:
    return Interaction.open(uuid.uuid4(), "phone", clock=FixedClock(at))


def test_counts_are_averaged_over_the_days_learnt_from() -> None:
    # Two Mondays (2 and 9 March 2026) and the week between: 2 calls at 09:10 on the
    # first Monday, 4 at 09:50 on the second; one at 14:00 on Wednesday.
    calls = [call_at(pendulum.datetime(2026, 3, 2, 9, 10, tz="Europe/London"))] * 2
    calls += [call_at(pendulum.datetime(2026, 3, 9, 9, 50, tz="Europe/London"))] * 4
    calls.append(call_at(pendulum.datetime(2026, 3, 4, 14, tz="Europe/London")))
    week = arrivals(calls, interval=HOUR, calendar=LONDON)
    assert week.per_day == 24
    assert week.observed[9] == 2  # Mondays seen: 2 and 9 March
    assert week.observed[2 * 24 + 14] == 1  # one Wednesday
    assert week.expected[9] == 3.0
    assert week.expected[2 * 24 + 14] == 1.0
    assert week.at(pendulum.datetime(2026, 3, 16, 9, 30, tz="Europe/London")) == 3.0
    assert week.start(2 * 24 + 14) == (2, dt.time(14))
    assert sum(week.expected) == 4.0


def test_intervals_are_read_on_the_calendars_wall_clock_across_a_clock_change() -> None:
    # London moves to summer time on 29 March 2026: 09:15 local is 09:15 UTC before it
    # and 08:15 UTC after it; both are the 09:00 interval.
    before = call_at(pendulum.datetime(2026, 3, 23, 9, 15, tz="UTC"))
    after = call_at(pendulum.datetime(2026, 3, 30, 8, 15, tz="UTC"))
    week = arrivals([before, after], interval=HOUR, calendar=LONDON)
    assert week.expected[9] == 1.0  # two Mondays, a call on each
    assert week.timezone == "Europe/London"


def test_holidays_are_left_out() -> None:
    holiday = dt.date(2026, 4, 6)  # Easter Monday
    calendar = BusinessCalendar("Europe/London", LONDON.hours, holidays=[holiday])
    calls = [
        call_at(pendulum.datetime(2026, 3, 30, 10, tz="Europe/London")),
        call_at(pendulum.datetime(2026, 4, 6, 10, tz="Europe/London")),
        call_at(pendulum.datetime(2026, 4, 13, 10, tz="Europe/London")),
    ]
    week = arrivals(calls, interval=HOUR, calendar=calendar)
    assert week.observed[10] == 2
    assert week.expected[10] == 1.0


def test_a_window_of_days_bounds_what_is_learnt() -> None:
    calls = [call_at(pendulum.datetime(2026, 3, d, 12)) for d in range(2, 16)]
    week = arrivals(
        calls,
        interval=pendulum.duration(minutes=30),
        first_day=dt.date(2026, 3, 9),
        last_day=dt.date(2026, 3, 22),
    )
    assert sum(week.observed) == 14 * 48
    assert week.expected[24] == 0.5  # Monday 12:00: one call in two Mondays


@settings(max_examples=40)
@given(
    st.lists(cst.aware_datetimes(), max_size=30),
    st.sampled_from([MINUTE * 15, MINUTE * 30, HOUR, HOUR * 4]),
    cst.calendars(),
)
def test_every_contact_is_counted_once_outside_holidays(
    moments: list[pendulum.DateTime], interval: pendulum.Duration, calendar: BusinessCalendar
) -> None:
    week = arrivals([call_at(m) for m in moments], interval=interval, calendar=calendar)
    counted = sum(
        m.astimezone(pendulum.timezone(calendar.timezone)).date() not in calendar.holidays
        for m in moments
    )
    total = sum(e * n for e, n in zip(week.expected, week.observed, strict=True))
    assert total == pytest.approx(counted)
    assert len(week.expected) == 7 * week.per_day
    assert all(e == 0.0 for e, n in zip(week.expected, week.observed, strict=True) if n == 0)
    for m in moments:
        local = m.astimezone(pendulum.timezone(calendar.timezone))
        if local.date() not in calendar.holidays:
            assert week.expected[week.slot(m)] > 0
    assert from_dict(Forecast, to_dict(week)) == week


def test_a_store_and_an_async_store_give_the_same_forecast() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
    with open_store("memory://") as store:
        customer = store.customers.add(Customer.new("Ada", clock=clock))
        for minutes in (0, 20, 70, 1500):
            at = pendulum.datetime(2026, 3, 2, 9).add(minutes=minutes)
            store.interactions.add(Interaction.open(customer.id, "chat", clock=FixedClock(at)))
        week = arrivals(store, interval=HOUR)
        assert week.expected[9] == 2.0
        assert week.expected[10] == 1.0
        assert week.expected[24 + 10] == 1.0

    async def on_async() -> Forecast:
        async with await open_async_store("memory://") as astore:
            ada = await astore.customers.add(Customer.new("Ada", clock=clock))
            await astore.interactions.add(Interaction.open(ada.id, "chat", clock=clock))
            return await arrivals(astore, interval=HOUR)

    assert asyncio.run(on_async()).expected[9] == 1.0


def test_a_sql_store_counts_the_openings_in_sql(fresh: Fresh) -> None:
    """On every SQL engine, the forecast of the store is that of its interactions: across
    a daylight-saving change and a holiday, in a zone 5:45 ahead of UTC, and in local mean
    time (an offset with seconds, where each opening is read)."""
    calendars = [
        BusinessCalendar("Europe/London", {}, holidays=[dt.date(2026, 3, 30)]),
        BusinessCalendar("Asia/Kathmandu", {}),
        BusinessCalendar("Europe/Paris", {}),
    ]
    with fresh() as store:
        ada = store.customers.add(Customer.new("Ada", clock=FixedClock(T_ARRIVALS)))
        calls = [
            Interaction.open(ada.id, "chat", clock=FixedClock(start.add(minutes=m)))
            for start in (T_ARRIVALS, pendulum.datetime(1890, 6, 1, tz="Europe/Paris"))
            for m in range(0, 7 * 24 * 60, 97)
        ]
        store.interactions.add_many(calls)
        for calendar in calendars:
            for interval in (HOUR, 30 * MINUTE, 15 * MINUTE):
                found = arrivals(store, interval=interval, calendar=calendar)
                assert found == arrivals(calls, interval=interval, calendar=calendar)
        recent = [c for c in calls if c.opened_at.year > 2000]
        after = dt.date(2000, 1, 1)
        assert arrivals(store, calendar=calendars[1], first_day=after) == arrivals(
            recent, calendar=calendars[1], first_day=after
        )


T_ARRIVALS = pendulum.datetime(2026, 3, 27, 9, 7)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": pendulum.duration(minutes=7)}, "interval"),
        ({"interval": pendulum.duration(seconds=0)}, "interval"),
        ({"interval": pendulum.duration(days=2)}, "interval"),
        ({"interval": 30}, "interval"),
        ({"calendar": "UTC"}, "calendar"),
        ({"first_day": dt.date(2026, 3, 9), "last_day": dt.date(2026, 3, 1)}, "last_day"),
        ({"first_day": dt.datetime(2026, 3, 9, tzinfo=dt.UTC)}, "first_day"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        arrivals([], **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_forecast_checks_its_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        Forecast(HOUR, "UTC", (1.0,) * 10, (1,) * 168)
    assert caught.value.field == "expected"
    with pytest.raises(ValidationError) as caught:
        Forecast(HOUR, "UTC", (-1.0,) * 168, (1,) * 168)
    assert caught.value.field == "expected"
    with pytest.raises(ValidationError) as caught:
        Forecast(HOUR, "Mars/Olympus", (1.0,) * 168, (1,) * 168)
    assert caught.value.field == "timezone"
    with pytest.raises(ValidationError) as caught:
        Forecast(HOUR, "UTC", (1.0,) * 168, (1,) * 168).start(168)
    assert caught.value.field == "slot"


# --- the staffing plan ---------------------------------------------------------------------------


@settings(max_examples=20)
@given(st.lists(st.sampled_from([0.0, 1.0, 12.5, 40.0, 600.0]), min_size=14, max_size=14))
def test_a_plan_staffs_each_interval_as_agents_needed_does(expected: list[float]) -> None:
    week = Forecast(pendulum.duration(hours=12), "Europe/Paris", tuple(expected), (3,) * 14)
    plan = staffing_plan(
        week,
        4 * MINUTE,
        answer_within=pendulum.duration(seconds=30),
        service_level=0.8,
        shrinkage=0.25,
    )
    assert isinstance(plan, StaffingPlan)
    for count, need, agents in zip(expected, plan.needs, plan.agents, strict=True):
        if count == 0.0:
            assert need is None
            assert agents == 0
            continue
        assert need is not None
        alone = agents_needed(
            count / 12,
            4 * MINUTE,
            answer_within=pendulum.duration(seconds=30),
            service_level=0.8,
            shrinkage=0.25,
        )
        assert need == alone
        assert agents == alone.agents
    assert plan.agent_hours == sum(plan.scheduled) * 12


def test_a_plan_with_patience_and_its_arguments_checked() -> None:
    week = Forecast(HOUR, "UTC", (30.0,) * 168, (1,) * 168)
    plan = staffing_plan(
        week,
        3 * MINUTE,
        answer_within=pendulum.duration(seconds=20),
        service_level=0.8,
        patience=pendulum.duration(minutes=1),
        max_abandonment=0.05,
    )
    assert set(plan.agents) == {plan.agents[0]}
    assert plan.needs[0] is not None
    assert plan.needs[0].abandonment <= 0.05
    empty = Forecast(HOUR, "UTC", (0.0,) * 168, (0,) * 168)
    with pytest.raises(ValidationError) as caught:
        staffing_plan(empty, 3 * MINUTE, answer_within=MINUTE, service_level=2)
    assert caught.value.field == "service_level"
    with pytest.raises(ValidationError) as caught:
        staffing_plan("week", 3 * MINUTE, answer_within=MINUTE, service_level=0.8)  # type: ignore[arg-type]
    assert caught.value.field == "forecast"


@settings(max_examples=15, deadline=None)
@given(cst.forecasts(max_per_interval=300.0))
def test_every_forecast_round_trips_and_plans(week: Forecast) -> None:
    assert from_dict(Forecast, to_dict(week)) == week
    plan = staffing_plan(
        week, 5 * MINUTE, answer_within=pendulum.duration(seconds=60), service_level=0.7
    )
    for expected, need in zip(week.expected, plan.needs, strict=True):
        assert (need is None) == (expected == 0.0)
        if need is not None:
            assert need.service_level >= 0.7
            assert need.arrival_rate == pytest.approx(
                expected / week.interval.total_seconds() * 3600
            )
