"""Customer health: the score, its reasons, and lifecycle events suggested only when allowed."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import LifecycleState, open_store
from custservice._time import FixedClock
from custservice.analytics import HealthWeights, SuggestedEvent, health
from custservice.cases import Case
from custservice.customers import Customer
from custservice.enums import Channel, CustomerStage, Metric
from custservice.errors import ValidationError
from custservice.expectations import SATISFACTION_10
from custservice.feedback import Feedback
from custservice.interactions import Interaction
from custservice.lifecycles import CUSTOMER_LIFECYCLE
from custservice.service_levels import ServiceTarget
from custservice.storage.memory import MemoryStore
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2025, 1, 6, 9)
AT = pendulum.datetime(2026, 3, 2, 9)
DAY = pendulum.duration(days=1)
W = HealthWeights()


def customer(*events: str, at: pendulum.DateTime = T0) -> Customer:
    c = Customer.new(
        "Zebulon Quux", clock=FixedClock(at), email="zebulon@example.com", segment="vip"
    )
    for event in events:
        c = c.advance(event, at=at)
    return c


def rated(c: Customer, score: int, days_before: float) -> Interaction:
    opened = AT - pendulum.duration(hours=round(days_before * 24))
    i = Interaction.open(c.id, Channel.PHONE, clock=FixedClock(opened))
    return i.record_feedback(Feedback(score, SATISFACTION_10, at=opened.add(hours=1)))


def late_case(c: Customer) -> Case:
    """An open case never answered: a 1-hour first response breached long ago."""
    opened = AT - 3 * DAY
    return Case.open(c.id, "late", clock=FixedClock(opened)).advance("open", at=opened)


FIRST_RESPONSE = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1))


def test_a_consistently_delighted_active_customer_is_a_champion() -> None:
    ada = customer("acquire", "retain")
    h = health(ada, [rated(ada, 10, d) for d in (5, 20, 40)], at=AT)
    # baseline 25, all delighted: -15
    assert h.risk == 10.0
    assert h.level == "low"
    assert [r.code for r in h.reasons] == ["recent_delight"]
    assert h.reasons[0].weight == -15.0
    assert [s.event for s in h.suggestions] == ["champion", "reward"]  # active > 365 days
    assert h.recent.delighted == 3
    assert h.earlier.total == 0


def test_a_declining_customer_with_a_late_case_is_flagged() -> None:
    ada = customer("acquire", "retain")
    interactions = [rated(ada, 10, 120), rated(ada, 9, 100), rated(ada, 3, 10), rated(ada, 7, 5)]
    h = health(ada, interactions, [late_case(ada)], at=AT, targets=[FIRST_RESPONSE])
    # recent: one dissatisfied, one satisfied (mean 0.5); earlier: two delighted (mean 2)
    weights = {r.code: r.weight for r in h.reasons}
    assert weights == {
        "recent_dissatisfaction": 20.0,  # 40 x 1/2
        "declining": 15.0,  # 20 x (2 - 0.5) / 2
        "open_breaches": 10.0,
    }
    assert h.risk == 25 + 20 + 15 + 10 == 70.0
    assert h.level == "high"
    assert h.open_breaches == 1
    assert h.suggestions == (
        SuggestedEvent("flag_risk", "Churn risk is high (70 of 100); act to keep the customer."),
    )
    assert [r.code for r in h.reasons] == ["recent_dissatisfaction", "declining", "open_breaches"]


def test_an_at_risk_customer_doing_well_again_is_recovered() -> None:
    ada = customer("acquire", "retain", "flag_risk")
    h = health(ada, [rated(ada, 3, 150), rated(ada, 7, 30), rated(ada, 8, 3)], at=AT)
    assert [s.event for s in h.suggestions] == ["recover"]
    assert {r.code for r in h.reasons} == {"improving", "stage"}
    # one satisfied verdict is not yet "doing well again"
    assert health(ada, [rated(ada, 8, 3)], at=AT).suggestions == ()


def test_suggestions_respect_the_lifecycle() -> None:
    # churned and prospect customers cannot be flagged at risk, however bad it looks
    for c in (customer("acquire", "churn"), customer()):
        h = health(c, [rated(c, 1, d) for d in (1, 2, 3)], at=AT)
        assert h.level == "high"
        assert "flag_risk" not in {s.event for s in h.suggestions}
        assert h.suggestions == ()
    # an advocate cannot be championed again
    fan = customer("acquire", "retain", "champion")
    assert health(fan, [rated(fan, 10, d) for d in (1, 2, 3)], at=AT).suggestions == ()


def test_a_quiet_customer_and_the_stage_weights() -> None:
    new = customer("acquire")
    h = health(new, [], at=AT)
    assert {r.code: r.weight for r in h.reasons} == {"quiet": 10.0, "stage": 5.0}
    assert h.last_contact is None
    loyal = customer("acquire", "retain", "reward")
    h = health(loyal, [rated(loyal, 7, 100)], at=AT)
    assert {r.code: r.weight for r in h.reasons} == {"quiet": 10.0, "stage": -5.0}
    assert h.last_contact == AT - 100 * DAY


def test_a_new_customer_who_stayed_is_retained() -> None:
    new = customer("acquire")
    assert [s.event for s in health(new, [rated(new, 7, 3)], at=AT).suggestions] == ["retain"]


def test_weights_are_parameters() -> None:
    ada = customer("acquire", "retain")
    interactions = [rated(ada, 2, 3)]
    assert health(ada, interactions, at=AT).risk == 65.0
    gentle = HealthWeights(dissatisfied=10, high_risk=90)
    h = health(ada, interactions, at=AT, weights=gentle)
    assert h.risk == 35.0
    assert h.level == "medium"
    assert h.suggestions == ()
    with pytest.raises(ValidationError) as exc:
        HealthWeights(low_risk=80, high_risk=60)
    assert exc.value.field == "low_risk"
    with pytest.raises(ValidationError):
        HealthWeights(stage={"bored": 3})
    with pytest.raises(ValidationError):
        HealthWeights(champion_after=0)


def test_only_what_was_known_at_the_instant_counts() -> None:
    ada = customer("acquire", "retain")
    before = [rated(ada, 10, d) for d in (5, 20, 40)]
    after = rated(ada, 1, -2)  # opened two days after AT
    assert health(ada, [*before, after], at=AT) == health(ada, before, at=AT)
    # a case solved before AT has no open breach; one solved after AT had one at AT
    case = late_case(ada)
    solved_after = case.advance("solve", at=AT + DAY)
    solved_before = case.advance("solve", at=AT - DAY)
    args = {"at": AT, "targets": [FIRST_RESPONSE]}
    assert health(ada, before, [solved_after], **args).open_breaches == 1  # type: ignore[arg-type]
    assert health(ada, before, [solved_before], **args).open_breaches == 0  # type: ignore[arg-type]


def test_texts_hold_no_personal_data() -> None:
    ada = customer("acquire", "retain")
    interactions = [rated(ada, 10, 120), rated(ada, 2, 10)]
    h = health(ada, interactions, [late_case(ada)], at=AT, targets=[FIRST_RESPONSE])
    texts = [r.text for r in h.reasons] + [s.reason for s in h.suggestions]
    assert texts
    for text in texts:
        assert "Zebulon" not in text
        assert "example.com" not in text
        assert "vip" not in text
        assert text.endswith(".")


def test_a_store_gives_the_same_health_as_the_records() -> None:
    ada = customer("acquire", "retain")
    interactions = [rated(ada, 10, 120), rated(ada, 3, 10), rated(ada, 8, 200)]
    cases = [late_case(ada)]
    store = MemoryStore()
    ada = store.customers.add(ada)
    store.interactions.add_many(interactions)
    store.cases.add_many(cases)
    args = {"at": AT, "targets": [FIRST_RESPONSE]}
    assert health(ada, store, **args) == health(ada, interactions, cases, **args)  # type: ignore[arg-type]


def test_records_of_another_customer_are_refused() -> None:
    ada, bo = customer("acquire"), customer("acquire")
    with pytest.raises(ValidationError) as exc:
        health(ada, [rated(bo, 5, 1)], at=AT)
    assert exc.value.field == "interactions"
    with pytest.raises(ValidationError):
        health(ada, [], at=AT.naive())
    with pytest.raises(ValidationError):
        health(ada, [], at=AT, window=pendulum.duration())


@settings(max_examples=40)
@given(st.data(), cst.customers())
def test_score_is_bounded_explained_and_suggestions_allowed(
    data: st.DataObject, c: Customer
) -> None:
    interactions = data.draw(st.lists(cst.interactions(customer_id=c.id), max_size=5))
    cases = data.draw(st.lists(cst.cases(customer_id=c.id), max_size=2))
    at = data.draw(cst.aware_datetimes())
    weights = HealthWeights()
    h = health(c, interactions, cases, at=at, targets=[FIRST_RESPONSE], weights=weights)
    assert 0.0 <= h.risk <= 100.0
    unclamped = weights.baseline + sum(r.weight for r in h.reasons)
    assert h.risk == min(max(unclamped, 0.0), 100.0)
    then = position_at(c, at)
    allowed = CUSTOMER_LIFECYCLE.allowed(then)
    assert {s.event for s in h.suggestions} <= allowed
    assert ("flag_risk" in {s.event for s in h.suggestions}) == (
        h.level == "high" and "flag_risk" in allowed
    )
    assert h.stage is CustomerStage(then.current)
    assert h.stage in CustomerStage
    assert health(c, interactions, cases, at=at, targets=[FIRST_RESPONSE]) == h  # pure
    assert attrs.asdict(h)  # a plain attrs value


# --- what health reads, whatever the source ---------------------------------------------


def utc(at: dt.datetime) -> dt.datetime:
    """``at`` in UTC: instants in one fixed zone compare exactly, whatever their own zones."""
    return at.astimezone(dt.UTC)


def position_at(c: Customer, at: dt.datetime) -> LifecycleState:
    """Where ``c`` stood at ``at``: its history replayed from its creation up to ``at``."""
    state = CUSTOMER_LIFECYCLE.start(c.created_at)
    for change in c.lifecycle.history:
        if utc(change.at) <= utc(at):
            state = CUSTOMER_LIFECYCLE.fire(state, change.event, at=change.at)
    return state


def test_a_long_quiet_after_sees_the_last_contact_in_a_store() -> None:
    ada = customer("acquire", "retain")
    contact = rated(ada, 8, 200)  # before the two 90-day windows, within a year
    patient = HealthWeights(quiet_after=pendulum.duration(days=365))
    from_list = health(ada, [contact], at=AT, weights=patient)
    assert from_list.last_contact == contact.opened_at
    assert "quiet" not in {r.code for r in from_list.reasons}
    with open_store("memory://") as store:
        store_customer = store.customers.add(ada)
        store.interactions.add(contact)
        assert health(store_customer, store, at=AT, weights=patient) == from_list


def test_a_contact_beyond_every_setting_is_not_read_from_a_list_either() -> None:
    """Health reads the last two windows or ``quiet_after``, whichever reaches further."""
    ada = customer("acquire", "retain")
    old = rated(ada, 8, 200)
    h = health(ada, [old], at=AT)  # reaches back 180 days
    assert h.last_contact is None
    assert "quiet" in {r.code for r in h.reasons}
    reaching = HealthWeights(quiet_after=pendulum.duration(days=200))
    assert health(ada, [old], at=AT, weights=reaching).last_contact == old.opened_at


WEIGHTS = st.builds(
    HealthWeights,
    baseline=st.floats(0, 100),
    dissatisfied=st.floats(0, 60),
    delighted=st.floats(0, 60),
    trend=st.floats(-30, 30),
    quiet=st.floats(0, 50),
    quiet_after=st.timedeltas(dt.timedelta(0), dt.timedelta(days=4000)),
    breach=st.floats(0, 20),
    stage=st.dictionaries(st.sampled_from(CustomerStage), st.floats(-50, 50)),
    champion_after=st.integers(1, 4),
    reward_after=st.timedeltas(dt.timedelta(0), dt.timedelta(days=800)),
    retain_after=st.timedeltas(dt.timedelta(0), dt.timedelta(days=800)),
    recover_after=st.integers(1, 4),
)
WINDOWS = st.timedeltas(dt.timedelta(seconds=1), dt.timedelta(days=400))
TARGET_SETS = st.sampled_from([(), (FIRST_RESPONSE,)]) | st.lists(
    cst.service_targets(), max_size=2, unique_by=lambda t: t.metric
).map(tuple)


@st.composite
def records(draw: st.DrawFn) -> tuple[Customer, list[Interaction], list[Case]]:
    """A customer with interactions (some with feedback) and cases, every id unique."""
    c = draw(cst.customers())
    seen = {c.id}
    interactions = []
    for i in draw(st.lists(cst.interactions(customer_id=c.id), max_size=6)):
        if i.id not in seen:
            seen.add(i.id)
            interactions.append(i)
    cases = []
    for case in draw(st.lists(cst.cases(customer_id=c.id), max_size=3)):
        if case.id not in seen:
            seen.add(case.id)
            cases.append(case)
    return c, interactions, cases


@st.composite
def instants_near(draw: st.DrawFn, interactions: list[Interaction]) -> pendulum.DateTime:
    """Instants anywhere, or up to about ten years after one of the interactions opened."""
    if not interactions or draw(st.booleans()):
        return draw(cst.aware_datetimes())
    opened = draw(st.sampled_from(interactions)).opened_at
    after = draw(st.timedeltas(-dt.timedelta(days=30), dt.timedelta(days=4000)))
    return pendulum.instance(opened + after).in_timezone(draw(cst.timezones()))


@settings(max_examples=40, deadline=None)
@given(st.data(), records(), WEIGHTS, WINDOWS, TARGET_SETS)
def test_a_store_gives_the_same_health_as_the_records_for_every_setting(
    data: st.DataObject,
    given_records: tuple[Customer, list[Interaction], list[Case]],
    weights: HealthWeights,
    window: dt.timedelta,
    targets: tuple[ServiceTarget, ...],
) -> None:
    c, interactions, cases = given_records
    at = data.draw(instants_near(interactions))
    args: dict[str, Any] = {"at": at, "window": window, "weights": weights, "targets": targets}
    expected = health(c, interactions, cases, **args)
    with tempfile.TemporaryDirectory() as tmp:
        urls = ("memory://", "sqlite:///" + os.path.join(tmp, "health.db"))
        for url in urls:
            with open_store(url) as store:
                store.customers.add(c)
                store.interactions.add_many(interactions)
                store.cases.add_many(cases)
                assert health(c, store, **args) == expected, url
                # cases given beside a store are used instead of the stored ones
                assert health(c, store, cases, **args) == expected, url


@settings(max_examples=60, deadline=None)
@given(st.data(), records())
def test_health_at_an_instant_uses_the_stage_at_that_instant(
    data: st.DataObject, given_records: tuple[Customer, list[Interaction], list[Case]]
) -> None:
    c, interactions, cases = given_records
    moments = [c.created_at, *(change.at for change in c.lifecycle.history)]
    base = data.draw(st.sampled_from(moments))
    shift = data.draw(
        st.just(dt.timedelta(0)) | st.timedeltas(-dt.timedelta(days=40), dt.timedelta(days=40))
    )
    at = pendulum.instance(base + shift).in_timezone(data.draw(cst.timezones()))
    then = position_at(c, at)
    truncated = attrs.evolve(c, lifecycle=then)
    args: dict[str, Any] = {"at": at, "targets": [FIRST_RESPONSE]}
    h = health(c, interactions, cases, **args)
    assert h.stage is CustomerStage(then.current)
    assert h == health(truncated, interactions, cases, **args)
    assert {s.event for s in h.suggestions} <= CUSTOMER_LIFECYCLE.allowed(then)


def test_health_before_a_stage_was_reached_uses_the_stage_then() -> None:
    ada = customer("acquire", at=T0).advance("churn", at=AT)
    before = health(ada, [], at=AT - DAY)
    assert before.stage is CustomerStage.NEW
    assert {r.code: r.weight for r in before.reasons}["stage"] == W.stage[CustomerStage.NEW]
    assert health(ada, [], at=AT).stage is CustomerStage.CHURNED  # a change at ``at`` counts
    assert health(ada, [], at=T0 - DAY).stage is CustomerStage.PROSPECT


class _Recording:
    """A repository that records the windows it is asked for, and answers from another."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked: list[tuple[Any, Any]] = []

    def for_customer(self, customer_id: Any, since: Any = None, until: Any = None) -> Any:
        self.asked.append((since, until))
        return self.inner.for_customer(customer_id, since, until)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _RecordingStore:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.interactions = _Recording(inner.interactions)
        self.cases = _Recording(inner.cases)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_from_a_store_only_what_health_reads_is_fetched() -> None:
    ada = customer("acquire", "retain")
    with open_store("memory://") as inner:
        inner.customers.add(ada)
        inner.interactions.add_many(rated(ada, 8, d) for d in (1, 100, 300, 1000))
        inner.cases.add(late_case(ada))
        store = _RecordingStore(inner)
        year = HealthWeights(quiet_after=pendulum.duration(days=365))
        health(ada, store, at=AT, weights=year)  # type: ignore[arg-type]
        assert store.interactions.asked == [
            (AT - 365 * DAY, AT + pendulum.duration(microseconds=1))
        ]
        assert store.cases.asked == []  # no targets: no case can change the score
        health(ada, store, at=AT, targets=[FIRST_RESPONSE])  # type: ignore[arg-type]
        assert store.interactions.asked[-1] == (
            AT - 180 * DAY,
            AT + pendulum.duration(microseconds=1),
        )
        assert store.cases.asked == [(None, AT + pendulum.duration(microseconds=1))]
