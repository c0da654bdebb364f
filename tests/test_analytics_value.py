"""Lifetime value (Gupta and Lehmann 2003) and revenue at risk (rules of thumb)."""

from __future__ import annotations

import math
import uuid

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests._wrong_kinds import anything, only_validation_errors

from custservice._time import FixedClock
from custservice.analytics import (
    RevenueAtRisk,
    VerdictCounts,
    clv,
    latest_verdicts,
    margin_multiple,
    revenue_at_risk,
)
from custservice.enums import Channel, Verdict
from custservice.errors import ValidationError
from custservice.expectations import NPS_SCALE, SATISFACTION_10
from custservice.feedback import Feedback
from custservice.interactions import Interaction
from custservice.serialization import to_dict

D, S, G = Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED


def test_margin_multiple_for_80_percent_retention_and_10_percent_discount() -> None:
    assert round(margin_multiple(0.8, 0.1), 2) == 2.67
    assert margin_multiple(0.8, 0.1) == pytest.approx(8 / 3)


@pytest.mark.parametrize(
    ("retention", "discount", "multiple"),
    [
        (0.6, 0.10, 1.20),
        (0.7, 0.10, 1.75),
        (0.8, 0.10, 2.67),
        (0.9, 0.10, 4.50),
        (0.8, 0.12, 2.50),
        (0.8, 0.14, 2.35),
        (0.8, 0.16, 2.22),
        (0.9, 0.16, 3.46),
    ],
)
def test_margin_multiples_by_the_formula(
    retention: float, discount: float, multiple: float
) -> None:
    # r / (1 + i - r), rounded as a table would print it
    assert round(margin_multiple(retention, discount), 2) == multiple


def test_clv_is_margin_times_multiple_less_acquisition_cost() -> None:
    assert clv(100, 0.8, 0.1) == pytest.approx(266.6667, abs=1e-4)
    assert clv(100, 0.8, 0.1, acquisition_cost=50) == pytest.approx(216.6667, abs=1e-4)
    assert clv(100, 0.0, 0.1, acquisition_cost=50) == -50.0  # never kept


@given(
    st.floats(-1000, 1000),
    st.floats(0.0, 0.95),
    st.floats(0.0, 0.5),
)
def test_the_closed_form_is_the_sum_of_discounted_margins(m: float, r: float, i: float) -> None:
    series = sum(m * (r / (1 + i)) ** t for t in range(1, 2000))
    assert clv(m, r, i) == pytest.approx(series, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((100, -0.1, 0.1), "retention"),
        ((100, 1.1, 0.1), "retention"),
        ((100, 1.0, 0.0), "retention"),  # r = 1 + i: kept forever, undiscounted
        ((100, 0.8, -0.1), "discount"),
        ((100, 0.8, 0.1, -5), "acquisition_cost"),
        ((float("nan"), 0.8, 0.1), "margin"),
        (("100", 0.8, 0.1), "margin"),
        ((100, True, 0.1), "retention"),
    ],
)
def test_clv_arguments_are_validated(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        clv(*args)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_revenue_at_risk_by_the_rules_of_thumb() -> None:
    counts = VerdictCounts(dissatisfied=10, satisfied=60, delighted=30)
    risk = revenue_at_risk(counts, revenue_per_customer=200.0, conversion_rate=0.1)
    assert risk.customers == 100
    # satisfied and dissatisfied bring 200 each, delighted twice that
    assert risk.expected_revenue == 70 * 200 + 30 * 400
    assert risk.customer_revenue_at_risk == 10 * 200
    assert risk.prospects_turned_away == 10 * 20
    assert risk.prospect_revenue_lost == pytest.approx(200 * 0.1 * 200)
    assert risk.revenue_at_risk == pytest.approx(2000 + 4000)
    assert risk.upside == 60 * 200  # if the merely satisfied were delighted
    assert to_dict(risk)["verdicts"] == {"dissatisfied": 10, "satisfied": 60, "delighted": 30}


def test_the_heuristics_are_overridable_and_inputs_flexible() -> None:
    verdicts = [D, S, G, G]
    base = revenue_at_risk(verdicts, revenue_per_customer=100, conversion_rate=0.5)
    assert base == revenue_at_risk(
        {D: 1, S: 1, G: 2}, revenue_per_customer=100, conversion_rate=0.5
    )
    mine = revenue_at_risk(
        verdicts,
        revenue_per_customer=100,
        conversion_rate=0.5,
        delighted_multiple=1.5,
        prospects_turned_away=4,
    )
    assert (base.expected_revenue, mine.expected_revenue) == (600.0, 500.0)
    assert (base.prospect_revenue_lost, mine.prospect_revenue_lost) == (1000.0, 200.0)
    for bad in (
        {"conversion_rate": 1.5},
        {"conversion_rate": 0.1, "delighted_multiple": 0.5},
        {"conversion_rate": 0.1, "prospects_turned_away": -1},
    ):
        with pytest.raises(ValidationError):
            revenue_at_risk(verdicts, revenue_per_customer=100, **bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        revenue_at_risk(["meh"], revenue_per_customer=1, conversion_rate=0)  # type: ignore[list-item]


def test_latest_verdicts_keep_each_customers_last_word() -> None:
    ada, bo = uuid.uuid4(), uuid.uuid4()
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))

    def rated(
        customer: uuid.UUID, score: int, hours: int, scale: object = SATISFACTION_10
    ) -> Interaction:
        i = Interaction.open(customer, Channel.CHAT, clock=clock)
        return i.record_feedback(Feedback(score, scale, at=clock.now().add(hours=hours)))  # type: ignore[arg-type]

    interactions = [
        rated(ada, 9, 5),
        rated(ada, 2, 1),
        rated(bo, 3, 1, NPS_SCALE),
        Interaction.open(bo, "chat", clock=clock),
    ]
    assert latest_verdicts(iter(interactions)) == {ada: G, bo: D}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((1e308, 0.8, 0.1), "margin"),  # 1e308 × 2.67 has no float value
        ((-1e308, 0.9, 0.0), "margin"),
        ((1e308, 0.8, 0.1, 1e308), "margin"),
        ((100, 0.8, 0.1, 1e400), "acquisition_cost"),
    ],
)
def test_clv_refuses_what_has_no_finite_value(args: tuple[float, ...], field: str) -> None:
    with pytest.raises(ValidationError, match="finite") as exc:
        clv(*args)
    assert exc.value.field == field


def test_revenue_at_risk_refuses_figures_with_no_finite_value() -> None:
    with pytest.raises(ValidationError, match="finite") as exc:
        revenue_at_risk([D, G], revenue_per_customer=1e308, conversion_rate=1.0)
    assert exc.value.field == "revenue_per_customer"


@given(st.data())
def test_wrong_kinds_of_argument_raise_validation_error_and_nothing_else(
    data: st.DataObject,
) -> None:
    def arg(valid: st.SearchStrategy[object]) -> object:
        return data.draw(valid | anything)

    rates = [arg(st.floats(0, 1)) for _ in range(3)]
    margin = arg(st.floats(-1e6, 1e6))
    for value in (
        only_validation_errors(lambda: margin_multiple(*rates[:2])),  # type: ignore[arg-type]
        only_validation_errors(lambda: clv(margin, *rates)),  # type: ignore[arg-type]
    ):
        assert value is None or math.isfinite(value)  # type: ignore[arg-type]
    verdicts = arg(
        st.lists(st.sampled_from(Verdict))
        | st.dictionaries(st.sampled_from(Verdict), st.integers(0, 5))
    )
    revenue, conversion = arg(st.floats(0, 1e6)), arg(st.floats(0, 1))
    risk = only_validation_errors(
        lambda: revenue_at_risk(
            verdicts,  # type: ignore[arg-type]
            revenue_per_customer=revenue,  # type: ignore[arg-type]
            conversion_rate=conversion,  # type: ignore[arg-type]
            delighted_multiple=arg(st.floats(1, 3)),  # type: ignore[arg-type]
            prospects_turned_away=arg(st.floats(0, 30)),  # type: ignore[arg-type]
        )
    )
    if isinstance(risk, RevenueAtRisk):
        assert all(
            math.isfinite(getattr(risk, f))
            for f in ("expected_revenue", "revenue_at_risk", "prospect_revenue_lost", "upside")
        )
    interactions = arg(st.just([]))
    only_validation_errors(lambda: latest_verdicts(interactions))  # type: ignore[arg-type]


def test_revenue_at_risk_refuses_counts_whose_revenue_no_float_holds() -> None:
    with pytest.raises(ValidationError, match="finite") as exc:
        revenue_at_risk({D: 10**400}, revenue_per_customer=1.0, conversion_rate=0.5)
    assert exc.value.field == "revenue_per_customer"
