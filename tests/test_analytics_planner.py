"""The follow-up planner: what is due in a window, once each, in a deterministic order."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custservice._time import FixedClock
from custservice.analytics import FollowUp, FollowUpKind, FollowUpPolicy, plan_follow_ups
from custservice.cases import Case
from custservice.customers import Customer
from custservice.enums import Channel, CustomerStage, Metric
from custservice.errors import ValidationError
from custservice.expectations import CSAT_5
from custservice.feedback import Feedback
from custservice.interactions import Interaction
from custservice.lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE
from custservice.service_levels import ServiceTarget
from custservice.storage.memory import MemoryStore
from custservice.testing import strategies as cst

K = FollowUpKind
T0 = pendulum.datetime(2020, 1, 6, 9)
PERIODIC = ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(hours=4))
GREETED = FollowUpPolicy().birthday_stages


def person(birthday: dt.date | None = None, timezone: str | None = None, *events: str) -> Customer:
    c = Customer.new(
        "Zebulon Quux",
        clock=FixedClock(T0),
        email="zebulon@example.com",
        birthday=birthday,
        timezone=timezone,
    )
    for event in events or ("acquire",):
        c = c.advance(event, at=T0)
    return c


def utc_day(year: int, month: int, day: int) -> dict[str, pendulum.DateTime]:
    start = pendulum.datetime(year, month, day)
    return {"window_start": start, "window_end": start.add(days=1)}


def test_birthday_in_a_far_time_zone_crossing_midnight_utc() -> None:
    kiritimati = person(pendulum.date(1990, 3, 2), "Pacific/Kiritimati")  # UTC+14
    pago = person(pendulum.date(1990, 3, 2), "Pacific/Pago_Pago")  # UTC-11
    both = [kiritimati, pago]
    # 09:00 on 2 March in Kiritimati is 19:00 on 1 March in UTC
    (greeting,) = plan_follow_ups(both, **utc_day(2026, 3, 1))
    assert greeting.kind is K.BIRTHDAY_GREETING
    assert greeting.customer_id == kiritimati.id
    assert greeting.due_at.isoformat() == "2026-03-02T09:00:00+14:00"
    assert greeting.due_at.in_timezone("UTC") == pendulum.datetime(2026, 3, 1, 19)
    # 09:00 on 2 March in Pago Pago is 20:00 on 2 March in UTC
    (greeting,) = plan_follow_ups(both, **utc_day(2026, 3, 2))
    assert greeting.customer_id == pago.id
    assert greeting.due_at.in_timezone("UTC") == pendulum.datetime(2026, 3, 2, 20)
    assert plan_follow_ups(both, **utc_day(2026, 3, 3)) == ()


def test_a_customer_without_a_time_zone_is_greeted_in_utc_or_the_default() -> None:
    plain = person(pendulum.date(1990, 3, 2))
    (greeting,) = plan_follow_ups([plain], **utc_day(2026, 3, 2))
    assert greeting.due_at == pendulum.datetime(2026, 3, 2, 9)
    tokyo = FollowUpPolicy(default_timezone="Asia/Tokyo", greeting_time=dt.time(8, 30))
    (greeting,) = plan_follow_ups([plain], **utc_day(2026, 3, 1), policy=tokyo)
    assert greeting.due_at.isoformat() == "2026-03-02T08:30:00+09:00"


def test_29_february_is_greeted_on_28_february_in_common_years() -> None:
    leapling = person(pendulum.date(2000, 2, 29), "Europe/Paris")
    week = {
        "window_start": pendulum.datetime(2027, 2, 25),
        "window_end": pendulum.datetime(2027, 3, 4),
    }
    (greeting,) = plan_follow_ups([leapling], **week)
    assert greeting.due_at.date() == pendulum.date(2027, 2, 28)
    week = {
        "window_start": pendulum.datetime(2028, 2, 25),
        "window_end": pendulum.datetime(2028, 3, 4),
    }
    (greeting,) = plan_follow_ups([leapling], **week)
    assert greeting.due_at.date() == pendulum.date(2028, 2, 29)
    assert plan_follow_ups([leapling], **utc_day(2028, 2, 28)) == ()
    assert plan_follow_ups([leapling], **utc_day(2100, 2, 28))  # 2100 is not a leap year


def test_prospects_and_churned_customers_get_no_greeting_by_default() -> None:
    born = pendulum.date(1990, 3, 2)
    prospect = Customer.new("P", clock=FixedClock(T0), birthday=born)
    churned = person(born, None, "acquire", "churn")
    kinds = [f.kind for f in plan_follow_ups([prospect, churned], **utc_day(2026, 3, 2))]
    assert K.BIRTHDAY_GREETING not in kinds
    everyone = FollowUpPolicy(birthday_stages=set(CustomerStage))
    kinds = [
        f.kind for f in plan_follow_ups([prospect, churned], **utc_day(2026, 3, 2), policy=everyone)
    ]
    assert kinds == [K.BIRTHDAY_GREETING, K.BIRTHDAY_GREETING]


def resolved(customer: Customer, at: pendulum.DateTime, *, rated: bool = False) -> Interaction:
    clock = FixedClock(at)
    i = Interaction.open(customer.id, Channel.CHAT, clock=clock)
    for event in ("receive", "understand", "help"):
        i = i.advance(event, at=clock.now())
    i = i.resolve(at=clock.now())
    if rated:
        i = i.record_feedback(Feedback(4, CSAT_5, at=clock.now()))
    return i


def test_feedback_is_requested_after_resolution_without_feedback() -> None:
    ada = person()
    quiet = resolved(ada, pendulum.datetime(2026, 3, 1, 15))
    rated = resolved(ada, pendulum.datetime(2026, 3, 1, 16), rated=True)
    still_open = Interaction.open(
        ada.id, "chat", clock=FixedClock(pendulum.datetime(2026, 3, 1, 15))
    )
    (request,) = plan_follow_ups([], [quiet, rated, still_open], [], **utc_day(2026, 3, 2))
    assert request == FollowUp(
        K.FEEDBACK_REQUEST,
        ada.id,
        pendulum.datetime(2026, 3, 2, 15),
        quiet.id,
        request.why,
    )
    assert "feedback" in request.why
    soon = FollowUpPolicy(feedback_delay=pendulum.duration(hours=2))
    (request,) = plan_follow_ups([], [quiet], [], **utc_day(2026, 3, 1), policy=soon)
    assert request.due_at == pendulum.datetime(2026, 3, 1, 17)


def open_case(customer: Customer) -> Case:
    opened = pendulum.datetime(2026, 3, 2, 8)
    case = Case.open(customer.id, "where is it", clock=FixedClock(opened)).advance(
        "open", at=opened
    )
    return case.record_update(at=opened.add(hours=2))  # an agent's update at 10:00


def test_status_update_is_due_before_the_periodic_update_target() -> None:
    ada = person()
    case = open_case(ada)
    window = {
        "window_start": pendulum.datetime(2026, 3, 2, 12),
        "window_end": pendulum.datetime(2026, 3, 2, 18),
    }
    (update,) = plan_follow_ups([], [], [case], targets=[PERIODIC], **window)
    # next update due at 14:00; proposed an hour ahead
    assert (update.kind, update.record_id, update.due_at) == (
        K.STATUS_UPDATE,
        case.id,
        pendulum.datetime(2026, 3, 2, 13),
    )
    assert "2026-03-02T14:00:00+00:00" in update.why
    # no periodic-update target, or a solved or pending case: nothing is owed
    other = ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=4))
    assert plan_follow_ups([], [], [case], targets=[other], **window) == ()
    solved = case.advance("solve", at=pendulum.datetime(2026, 3, 2, 11))
    pending = case.advance("await_customer", at=pendulum.datetime(2026, 3, 2, 11))
    assert plan_follow_ups([], [], [solved, pending], targets=[PERIODIC], **window) == ()
    # already late at the window's start: due at once
    late = {
        "window_start": pendulum.datetime(2026, 3, 2, 15),
        "window_end": pendulum.datetime(2026, 3, 2, 18),
    }
    (update,) = plan_follow_ups([], [], [case], targets=[PERIODIC], **late)
    assert update.due_at == late["window_start"]
    # a case opened inside the window is evaluated from its opening
    (update,) = plan_follow_ups([], [], [case], targets=[PERIODIC], **utc_day(2026, 3, 2))
    assert update.due_at == pendulum.datetime(2026, 3, 2, 11)  # 08:00 + 4 h - 1 h


def test_recovery_contact_and_win_back_offer() -> None:
    flagged_at = pendulum.datetime(2026, 3, 1, 10)
    at_risk = person().advance("retain", at=T0).advance("flag_risk", at=flagged_at)
    churned = person().advance("churn", at=pendulum.datetime(2026, 2, 1, 12))
    plan = plan_follow_ups([at_risk, churned], **utc_day(2026, 3, 2))
    assert [(f.kind, f.customer_id, f.due_at) for f in plan] == [
        (K.RECOVERY_CONTACT, at_risk.id, flagged_at.add(days=1)),
    ]
    (offer,) = plan_follow_ups([at_risk, churned], **utc_day(2026, 3, 3))
    assert offer.kind is K.WIN_BACK_OFFER
    assert "30 days ago" in offer.why
    assert offer.due_at == pendulum.datetime(2026, 3, 3, 12)


def test_order_is_by_due_time_then_kind_then_ids_and_texts_are_impersonal() -> None:
    born = pendulum.date(1990, 3, 2)
    ada = person(born, None, "acquire", "retain", "flag_risk")
    ada = ada.advance("recover", at=T0).advance("flag_risk", at=pendulum.datetime(2026, 3, 1, 9))
    bo = person(born)
    interactions = [
        resolved(ada, pendulum.datetime(2026, 3, 1, 9)),
        resolved(bo, pendulum.datetime(2026, 3, 1, 9)),
    ]
    plan = plan_follow_ups(
        [bo, ada], interactions, [open_case(ada)], targets=[PERIODIC], **utc_day(2026, 3, 2)
    )
    keys = [
        (f.due_at.timestamp(), f.kind.value, str(f.customer_id), str(f.record_id or ""))
        for f in plan
    ]
    assert keys == sorted(keys)
    assert [f.kind for f in plan] == [
        K.BIRTHDAY_GREETING,
        K.BIRTHDAY_GREETING,
        K.FEEDBACK_REQUEST,
        K.FEEDBACK_REQUEST,
        K.RECOVERY_CONTACT,
        K.STATUS_UPDATE,
    ]
    for follow_up in plan:
        assert "Zebulon" not in follow_up.why
        assert "example.com" not in follow_up.why
        assert "1990" not in follow_up.why
        assert "03-02" not in follow_up.why.split("by")[0]


def test_the_same_action_is_proposed_once() -> None:
    ada = person(pendulum.date(1990, 3, 2))
    interaction = resolved(ada, pendulum.datetime(2026, 3, 1, 9))
    case = open_case(ada)
    twice = plan_follow_ups(
        [ada, ada],
        [interaction, interaction],
        [case, case],
        targets=[PERIODIC, PERIODIC],
        **utc_day(2026, 3, 2),
    )
    assert twice == plan_follow_ups(
        [ada], [interaction], [case], targets=[PERIODIC], **utc_day(2026, 3, 2)
    )
    assert len(twice) == 3
    # a window of two years holds two birthdays: the first is proposed
    long = {
        "window_start": pendulum.datetime(2026, 1, 1),
        "window_end": pendulum.datetime(2028, 1, 1),
    }
    (greeting,) = plan_follow_ups([ada], **long)
    assert greeting.due_at == pendulum.datetime(2026, 3, 2, 9)


def test_a_store_is_read_whole() -> None:
    ada = person(pendulum.date(1990, 3, 2))
    store = MemoryStore()
    store.customers.add(ada)
    store.interactions.add(resolved(ada, pendulum.datetime(2026, 3, 1, 9)))
    store.cases.add(open_case(ada))
    plan = plan_follow_ups(store, targets=[PERIODIC], **utc_day(2026, 3, 2))
    assert [f.kind for f in plan] == [K.BIRTHDAY_GREETING, K.FEEDBACK_REQUEST, K.STATUS_UPDATE]


def test_bad_windows_and_policies() -> None:
    with pytest.raises(ValidationError) as exc:
        plan_follow_ups(
            [], window_start=pendulum.datetime(2026, 3, 2), window_end=pendulum.datetime(2026, 3, 2)
        )
    assert exc.value.field == "window_end"
    with pytest.raises(ValidationError) as exc:
        plan_follow_ups(
            [], window_start=dt.datetime(2026, 3, 2), window_end=pendulum.datetime(2026, 3, 3)
        )
    assert exc.value.field == "window_start"
    with pytest.raises(ValidationError) as exc:
        FollowUpPolicy(feedback_delay=-pendulum.duration(hours=1))
    assert exc.value.field == "feedback_delay"
    with pytest.raises(ValidationError):
        FollowUpPolicy(default_timezone="Nowhere/Special")
    with pytest.raises(ValidationError):
        plan_follow_ups([uuid.uuid4()], **utc_day(2026, 3, 2))  # type: ignore[list-item]


# --- properties ----------------------------------------------------------------------

WINDOW_STARTS = cst.aware_datetimes(dt.datetime(1995, 1, 1), dt.datetime(2080, 1, 1))
LENGTHS = st.timedeltas(dt.timedelta(hours=1), dt.timedelta(days=800))


@st.composite
def population(draw: st.DrawFn) -> tuple[list[Customer], list[Interaction], list[Case]]:
    customers = draw(st.lists(cst.customers(), min_size=1, max_size=4))
    interactions: list[Interaction] = []
    cases: list[Case] = []
    for customer in customers:
        interactions += draw(st.lists(cst.interactions(customer_id=customer.id), max_size=3))
        cases += draw(st.lists(cst.cases(customer_id=customer.id), max_size=2))
    return customers, interactions, cases


@settings(max_examples=40)
@given(population(), WINDOW_STARTS, LENGTHS, st.booleans())
def test_never_the_same_action_twice_in_one_window(
    data: tuple[list[Customer], list[Interaction], list[Case]],
    start: pendulum.DateTime,
    length: dt.timedelta,
    duplicate: bool,
) -> None:
    customers, interactions, cases = data
    if duplicate:  # the same records read twice
        customers, interactions, cases = customers * 2, interactions * 2, cases * 2
    end = start + length
    plan = plan_follow_ups(
        customers,
        interactions,
        cases,
        window_start=start,
        window_end=end,
        targets=[PERIODIC, ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=3))],
    )
    keys = [f.key for f in plan]
    assert len(keys) == len(set(keys))
    assert all(start.timestamp() <= f.due_at.timestamp() < end.timestamp() for f in plan)
    order = [
        (f.due_at.timestamp(), f.kind.value, str(f.customer_id), str(f.record_id or ""))
        for f in plan
    ]
    assert order == sorted(order)


@settings(max_examples=30)
@given(population(), WINDOW_STARTS, st.integers(1, 180), st.integers(1, 180))
def test_consecutive_windows_split_the_plan(
    data: tuple[list[Customer], list[Interaction], list[Case]],
    start: pendulum.DateTime,
    first_days: int,
    second_days: int,
) -> None:
    """Without status updates (re-read at each window's start), every action has one due
    instant, so planning two consecutive windows proposes what planning both at once does."""
    customers, interactions, cases = data
    middle = start.add(days=first_days)
    end = middle.add(days=second_days)

    def plan(a: pendulum.DateTime, b: pendulum.DateTime) -> tuple[FollowUp, ...]:
        return plan_follow_ups(customers, interactions, cases, window_start=a, window_end=b)

    assert plan(start, middle) + plan(middle, end) == plan(start, end)


@settings(max_examples=60)
@given(
    cst.customers().filter(lambda c: c.birthday is not None and c.stage in GREETED),
    WINDOW_STARTS,
)
def test_a_greeting_is_due_in_a_window_of_one_microsecond(
    customer: Customer, start: pendulum.DateTime
) -> None:
    """The first greeting after ``start`` is found by the window of the microsecond it is
    due in, and by no window ending there, whatever the zones."""
    assert customer.birthday is not None
    assume(customer.birthday.year < start.year)  # greeted from the year after the birth

    def greetings(a: dt.datetime, b: dt.datetime) -> list[FollowUp]:
        planned = plan_follow_ups([customer], window_start=a, window_end=b)
        return [f for f in planned if f.kind is K.BIRTHDAY_GREETING]

    first = greetings(start, start.add(days=400))
    assert len(first) == 1
    due = first[0].due_at
    tick = dt.timedelta(microseconds=1)
    assert greetings(due, due + tick) == first
    for length in (tick, dt.timedelta(days=1), dt.timedelta(days=3)):
        assert greetings(due - length, due) == []


# --- the zone an instant is written in changes nothing -------------------------------

LONDON = "Europe/London"
ZERO = dt.timedelta(0)


def in_zone(at: dt.datetime, zone: str) -> pendulum.DateTime:
    """The same instant, written in ``zone`` (placed by the standard library, fold and all)."""
    local = at.astimezone(ZoneInfo(zone))
    moved = pendulum.DateTime(
        *local.timetuple()[:6], local.microsecond, tzinfo=pendulum.timezone(zone), fold=local.fold
    )
    assert dt.datetime.__sub__(moved, at) == ZERO  # (== is False for a repeated hour)
    return moved


def test_a_win_back_offer_is_due_the_same_instant_whatever_the_zone_of_the_churn() -> None:
    churned_at = pendulum.datetime(2026, 3, 1, 12)  # 30 days later, London is on summer time
    week = {
        "window_start": pendulum.datetime(2026, 3, 28),
        "window_end": pendulum.datetime(2026, 4, 4),
    }
    plans = [
        plan_follow_ups([person().advance("churn", at=in_zone(churned_at, zone))], **week)
        for zone in ("UTC", LONDON, "Australia/Lord_Howe")
    ]
    for (offer,) in plans:
        assert offer.kind is K.WIN_BACK_OFFER
        assert offer.due_at == churned_at + dt.timedelta(days=30)  # exact elapsed time
        assert "left 30 days ago" in offer.why
    # the zone the churn was written in is kept
    assert plans[1][0].due_at.isoformat() == "2026-03-31T13:00:00+01:00"


def test_feedback_and_recovery_delays_are_exact_elapsed_time() -> None:
    resolved_at = in_zone(pendulum.datetime(2026, 3, 28, 23, 30), LONDON)  # before the change
    ada = person()
    (request,) = plan_follow_ups(
        [], [resolved(ada, resolved_at)], [], **utc_day(2026, 3, 29), policy=FollowUpPolicy()
    )
    assert request.due_at == pendulum.datetime(2026, 3, 29, 23, 30)  # 24 hours, not 23
    flagged = in_zone(pendulum.datetime(2026, 10, 24, 12), LONDON)
    at_risk = person().advance("retain", at=T0).advance("flag_risk", at=flagged)
    (contact,) = plan_follow_ups([at_risk], **utc_day(2026, 10, 25))
    assert contact.due_at == pendulum.datetime(2026, 10, 25, 12)


@st.composite
def scripts(draw: st.DrawFn) -> dict[str, Any]:
    """Customers, interactions and cases as plain data, with every instant in UTC.

    :func:`build` makes the records from it with each instant written in any zone.
    """
    # Weeks before the daylight-saving changes of March, April, September and October,
    # so that delays cross them.
    base = pendulum.datetime(
        draw(st.integers(2010, 2030)),
        draw(st.sampled_from([2, 3, 9, 10])),
        draw(st.integers(1, 28)),
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
    )
    steps = st.timedeltas(dt.timedelta(0), dt.timedelta(days=60))
    people = []
    for n in range(draw(st.integers(1, 3))):
        walk = draw(st.lists(st.tuples(steps, st.integers(0, 5)), max_size=6))
        people.append(
            {
                "id": uuid.UUID(int=n + 1),
                "birthday": draw(st.none() | st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31))),
                "timezone": draw(st.none() | cst.timezones()),
                "created": base + draw(steps),
                "walk": walk,
            }
        )
    calls = []
    tickets = []
    for who in people:
        for _ in range(draw(st.integers(0, 2))):
            calls.append(
                {
                    "customer": who["id"],
                    "opened": base + draw(steps),
                    "resolved_after": draw(st.none() | steps),
                    "rated": draw(st.booleans()),
                }
            )
        for _ in range(draw(st.integers(0, 2))):
            moves = st.sampled_from(["agent", "customer", "open", "await_customer", "resume"])
            tickets.append(
                {
                    "customer": who["id"],
                    "opened": base + draw(steps),
                    "moves": draw(st.lists(st.tuples(steps, moves), max_size=5)),
                }
            )
    return {"base": base, "people": people, "calls": calls, "tickets": tickets}


def build(
    script: dict[str, Any], zone: Callable[[], str]
) -> tuple[list[Customer], list[Interaction], list[Case]]:
    """The records of ``script``, each instant written in the zone ``zone()`` names next."""

    def at(instant: dt.datetime) -> pendulum.DateTime:
        return in_zone(instant, zone())

    people = []
    for who in script["people"]:
        when = who["created"]
        c = Customer.new(
            "Zebulon Quux",
            clock=FixedClock(at(when)),
            id=who["id"],
            birthday=who["birthday"],
            timezone=who["timezone"],
        )
        for step, choice in who["walk"]:
            when += step
            allowed = sorted(CUSTOMER_LIFECYCLE.allowed(c.lifecycle))
            c = c.advance(allowed[choice % len(allowed)], at=at(when))
        people.append(c)
    calls = []
    for n, call in enumerate(script["calls"]):
        opened = call["opened"]
        i = Interaction.open(
            call["customer"], Channel.CHAT, clock=FixedClock(at(opened)), id=uuid.UUID(int=n + 1)
        )
        if call["resolved_after"] is not None:
            for event in ("receive", "understand", "help"):
                i = i.advance(event, at=at(opened))
            i = i.resolve(at=at(opened + call["resolved_after"]))
        if call["rated"]:
            i = i.record_feedback(Feedback(4, CSAT_5, at=at(opened)))
        calls.append(i)
    tickets = []
    for n, ticket in enumerate(script["tickets"]):
        when = ticket["opened"]
        case = Case.open(
            ticket["customer"], "where is it", clock=FixedClock(at(when)), id=uuid.UUID(int=n + 1)
        )
        for step, move in ticket["moves"]:
            when += step
            if move in ("agent", "customer"):
                case = case.record_update(at=at(when), from_customer=move == "customer")
            elif move in CASE_LIFECYCLE.allowed(case.lifecycle):
                case = case.advance(move, at=at(when))
        tickets.append(case)
    return people, calls, tickets


DELAYS = st.sampled_from(
    [dt.timedelta(days=1), dt.timedelta(days=7), dt.timedelta(days=30), dt.timedelta(hours=1)]
) | st.timedeltas(dt.timedelta(0), dt.timedelta(days=90))


@settings(max_examples=60, deadline=None)
@given(
    scripts(),
    st.lists(cst.timezones(), min_size=1, max_size=5),
    st.timedeltas(-dt.timedelta(days=40), dt.timedelta(days=200)),
    st.timedeltas(dt.timedelta(days=400), dt.timedelta(days=600))  # all of it
    | st.timedeltas(dt.timedelta(hours=1), dt.timedelta(days=60)),
    st.builds(
        FollowUpPolicy,
        feedback_delay=DELAYS,
        update_lead=DELAYS,
        recovery_delay=DELAYS,
        win_back_delay=DELAYS,
    ),
)
def test_the_same_instants_in_other_zones_give_the_same_plan(
    script: dict[str, Any],
    zones: list[str],
    offset: dt.timedelta,
    length: dt.timedelta,
    policy: FollowUpPolicy,
) -> None:
    """Every due instant is exact elapsed time from the record's instants (birthdays are in
    the customer's own zone, status updates in the target's calendar): written in UTC or in
    any mix of zones, the same records and window give the same plan."""
    turn = iter(range(10**9))
    start = script["base"] + (offset if length < dt.timedelta(days=400) else min(offset, ZERO))
    targets = [PERIODIC, ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=2))]

    def plan(zone: Callable[[], str]) -> list[tuple[object, ...]]:
        records = build(script, zone)
        follow_ups = plan_follow_ups(
            *records,
            window_start=in_zone(start, zone()),
            window_end=in_zone(start + length, zone()),
            targets=targets,
            policy=policy,
        )
        return [
            (f.kind, f.customer_id, f.record_id, f.due_at.astimezone(dt.UTC), f.why)
            for f in follow_ups
        ]

    assert plan(lambda: zones[next(turn) % len(zones)]) == plan(lambda: "UTC")
