"""Customer health: the score, its reasons, and lifecycle events suggested only when allowed."""

from __future__ import annotations

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    allowed = CUSTOMER_LIFECYCLE.allowed(c.lifecycle)
    assert {s.event for s in h.suggestions} <= allowed
    assert ("flag_risk" in {s.event for s in h.suggestions}) == (
        h.level == "high" and "flag_risk" in allowed
    )
    assert h.stage is c.stage
    assert h.stage in CustomerStage
    assert health(c, interactions, cases, at=at, targets=[FIRST_RESPONSE]) == h  # pure
    assert attrs.asdict(h)  # a plain attrs value
