"""Customers: construction, validation, privacy, lifecycle moves."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests._wrong_kinds import JunkClock, anything, only_validation_errors

from custservice import (
    Case,
    Channel,
    Customer,
    CustomerStage,
    ExpectationBand,
    Factor,
    FixedClock,
    Interaction,
    InvalidTransition,
    ValidationError,
)
from custservice.testing import strategies as cst

START = pendulum.datetime(2026, 1, 5, 9, tz="Europe/London")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def test_a_new_customer_is_a_prospect_with_version_zero(clock: FixedClock) -> None:
    ada = Customer.new(
        "Ada Lovelace",
        clock=clock,
        email="ada@example.com",
        hobbies={"chess"},
        birthday=pendulum.date(1990, 2, 28),
        timezone="Europe/London",
        preferred_channel="email",
    )
    assert ada.stage is CustomerStage.PROSPECT
    assert ada.version == 0
    assert ada.created_at == START
    assert ada.hobbies == frozenset({"chess"})
    assert ada.preferred_channel is Channel.EMAIL
    assert ada.id.version == 7


def test_ids_are_time_ordered(clock: FixedClock) -> None:
    ids = []
    for _ in range(50):
        ids.append(Customer.new("A", clock=clock).id)
        clock.advance(dt.timedelta(milliseconds=1))
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_every_invalid_field_is_named_at_once(clock: FixedClock) -> None:
    with pytest.raises(ValidationError) as info:
        Customer.new(
            " ",
            clock=clock,
            email="not-an-address",
            phone="call me",
            timezone="Mars/Olympus",
            birthday=pendulum.datetime(1990, 1, 1),
            likes="golf",
            preferred_channel="fax",
        )
    assert [p.path for p in info.value.problems] == [
        "name",
        "email",
        "phone",
        "birthday",
        "timezone",
        "likes",
        "preferred_channel",
    ]


def test_unknown_profile_fields_are_refused(clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="unknown profile fields: mothers_maiden_name"):
        Customer.new("Ada", clock=clock, mothers_maiden_name="x")


def test_a_naive_clock_time_is_refused() -> None:
    class NaiveClock:
        def now(self) -> pendulum.DateTime:
            return pendulum.naive(2026, 1, 1)  # type: ignore[return-value]

    with pytest.raises(ValidationError, match="naive") as info:
        Customer.new("Ada", clock=NaiveClock())
    assert info.value.field == "clock"  # the argument that was wrong


@given(cst.customers())
def test_personal_data_never_shows_in_repr_or_str(customer: Customer) -> None:
    # repr and str do not depend on personal data at all.
    anonymous = attrs.evolve(customer, name="N", email=None, phone=None, birthday=None)
    assert repr(customer) == repr(anonymous)
    assert str(customer) == str(anonymous)
    if customer.email is not None:
        assert customer.email not in repr(customer)


def test_bad_personal_data_is_not_repeated_in_errors(clock: FixedClock) -> None:
    with pytest.raises(ValidationError) as info:
        Customer.new("Ada", clock=clock, email="ada@@secret.example", phone="+44 secret")
    assert "secret" not in str(info.value)


def test_advance_follows_the_customer_lifecycle(clock: FixedClock) -> None:
    ada = Customer.new("Ada", clock=clock)
    ada = ada.advance("acquire", at=clock.advance(dt.timedelta(days=1)))
    ada = ada.advance("retain", at=clock.advance(dt.timedelta(days=30)))
    ada = ada.advance("flag_risk", at=clock.advance(dt.timedelta(days=30)), reason="two bad calls")
    assert ada.stage is CustomerStage.AT_RISK
    assert [c.event for c in ada.lifecycle.history] == ["acquire", "retain", "flag_risk"]
    assert ada.lifecycle.history[-1].reason == "two bad calls"
    with pytest.raises(InvalidTransition) as info:
        ada.advance("reward", at=clock.now())
    assert info.value.allowed == {"recover", "churn"}


def test_advance_returns_a_new_customer_and_leaves_the_old_one(clock: FixedClock) -> None:
    prospect = Customer.new("Ada", clock=clock)
    new = prospect.advance("acquire", at=clock.now())
    assert prospect.stage is CustomerStage.PROSPECT
    assert new.stage is CustomerStage.NEW
    assert new.id == prospect.id


def test_with_profile_validates_changes(clock: FixedClock) -> None:
    ada = Customer.new("Ada", clock=clock)
    band = ExpectationBand(Factor.SPEED, "handoffs", adequate=1, desired=0)
    updated = ada.with_profile(segment="vip", expectations=[band], likes=["tea"])
    assert (updated.segment, updated.expectations, updated.likes) == (
        "vip",
        (band,),
        frozenset({"tea"}),
    )
    with pytest.raises(ValidationError, match="email"):
        ada.with_profile(email="nope")
    with pytest.raises(ValidationError, match="two bands"):
        ada.with_profile(expectations=[band, band])
    with pytest.raises(ValidationError, match="unknown profile fields: id"):
        ada.with_profile(id=uuid.uuid4())


@given(st.data())
def test_customers_from_the_strategy_are_valid(data: st.DataObject) -> None:
    customer = data.draw(cst.customers())
    assert customer.stage in CustomerStage
    times = [c.at for c in customer.lifecycle.history]
    assert times == sorted(times)


def test_text_that_cannot_be_stored_is_refused(clock: FixedClock) -> None:
    with pytest.raises(ValidationError, match="unpaired surrogates") as info:
        Customer.new("Ada \udc80", clock=clock, hobbies={"chess"})
    assert info.value.field == "name"
    with pytest.raises(ValidationError, match="unpaired surrogates"):
        Customer.new("Ada", clock=clock, hobbies={"\ud800"})


@given(cst.customer_records(max_customers=4, max_interactions=3, max_cases=2))
def test_customer_records_are_ready_to_store(
    drawn: tuple[list[Customer], list[Interaction], list[Case]],
) -> None:
    people, calls, tickets = drawn
    owners = {c.id for c in people}
    ids = [r.id for r in (*people, *calls, *tickets)]
    assert len(ids) == len(set(ids))
    assert 1 <= len(people) <= 4
    assert {r.customer_id for r in (*calls, *tickets)} <= owners
    for owner in owners:
        assert sum(c.customer_id == owner for c in calls) <= 3
        assert sum(t.customer_id == owner for t in tickets) <= 2


_VALID_PHONES = st.from_regex(r"\+?[0-9][0-9 ()./-]{3,29}[0-9]", fullmatch=True)
_SPACE_OR_CONTROL = st.one_of(
    st.sampled_from(["\n", "\r\n", "\r", "\t", " ", "\x00", "\x85", "\u2028"]),
    st.characters(categories=("Cc", "Zs", "Zl", "Zp")),
)


@given(email=st.emails(), phone=_VALID_PHONES, junk=_SPACE_OR_CONTROL, at_end=st.booleans())
def test_contact_details_with_a_stray_space_or_control_character_are_refused(
    email: str, phone: str, junk: str, at_end: bool
) -> None:
    clock = FixedClock(START)
    ada = Customer.new("Ada", clock=clock, email=email, phone=phone)
    assert (ada.email, ada.phone) == (email, phone)
    for field, good in (("email", email), ("phone", phone)):
        bad = good + junk if at_end else junk + good
        with pytest.raises(ValidationError) as info:
            Customer.new("Ada", clock=clock, **{field: bad})
        assert info.value.field == field
        assert bad not in str(info.value)  # personal data stays out of the message


@given(st.data())
def test_wrong_kinds_of_clock_or_profile_raise_validation_error_and_nothing_else(
    data: st.DataObject,
) -> None:
    def arg(valid: st.SearchStrategy[object]) -> object:
        return data.draw(valid | anything)

    at = arg(st.just(START))
    clock = arg(st.just(FixedClock(START)) | st.builds(JunkClock, st.just(START)))
    fixed = only_validation_errors(lambda: FixedClock(at))  # type: ignore[arg-type]
    if isinstance(fixed, FixedClock):
        by = arg(st.just(dt.timedelta(hours=1)))
        only_validation_errors(lambda: fixed.advance(by))  # type: ignore[arg-type]
    field = data.draw(st.sampled_from(["email", "phone", "timezone", "segment", "hobbies"]))
    profile = {field: arg(st.none())}
    customer = only_validation_errors(lambda: Customer.new("Ada", clock=clock, **profile))  # type: ignore[arg-type]
    customer_id = uuid.uuid4() if customer is None else customer.id  # type: ignore[attr-defined]
    only_validation_errors(lambda: Case.open(customer_id, "Broken", clock=clock))  # type: ignore[arg-type]
    only_validation_errors(lambda: Interaction.open(customer_id, Channel.CHAT, clock=clock))  # type: ignore[arg-type]


@pytest.mark.parametrize("clock", [None, "now", FixedClock, JunkClock(None), JunkClock("2026")])
def test_something_that_is_not_a_clock_is_refused_by_name(clock: object) -> None:
    with pytest.raises(ValidationError) as info:
        Customer.new("Ada", clock=clock)  # type: ignore[arg-type]
    assert info.value.field == "clock"
