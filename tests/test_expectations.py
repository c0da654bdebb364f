"""Expectation bands, score scales, the resolution of expectations, NPS and CSAT."""

from __future__ import annotations

import datetime as dt
import numbers
from decimal import Decimal
from fractions import Fraction

import pendulum
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests._wrong_kinds import anything, only_validation_errors

from custservice import (
    BINARY,
    CES_7,
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    ExpectationBand,
    Expectations,
    Factor,
    Metric,
    NotFound,
    ScoreScale,
    ValidationError,
    Verdict,
    csat,
    nps,
)
from custservice.testing import strategies as cst

D, S, G = Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED


def _observations(band: ExpectationBand) -> st.SearchStrategy[object]:
    if isinstance(band.desired, dt.timedelta):
        return cst.durations(max_value=dt.timedelta(days=500))
    return st.integers(-2000, 2000) | st.floats(-2e6, 2e6, allow_nan=False)


def _step(band: ExpectationBand) -> object:
    """The smallest step worse than a level, of the band's kind."""
    return dt.timedelta(microseconds=1) if isinstance(band.desired, dt.timedelta) else 1e-6


@given(st.data())
def test_classification_is_monotonic_in_the_observed_value(data: st.DataObject) -> None:
    band = data.draw(cst.expectation_bands())
    x, y = data.draw(_observations(band)), data.draw(_observations(band))
    better, worse = (min(x, y), max(x, y)) if band.better == "lower" else (max(x, y), min(x, y))
    assert band.classify(better) >= band.classify(worse)


@given(cst.expectation_bands())
def test_boundaries_are_exactly_as_the_contract_says(band: ExpectationBand) -> None:
    assert band.classify(band.desired) is G
    assert band.classify(band.adequate) is (G if band.adequate == band.desired else S)
    step = _step(band)
    worse = band.adequate + step if band.better == "lower" else band.adequate - step
    assume(worse != band.adequate)  # float precision far from zero
    assert band.classify(worse) is D


@given(cst.expectation_bands())
def test_a_band_with_desired_worse_than_adequate_is_refused(band: ExpectationBand) -> None:
    assume(band.adequate != band.desired)
    with pytest.raises(ValidationError) as info:
        ExpectationBand(
            band.factor,
            band.metric,
            adequate=band.desired,
            desired=band.adequate,
            better=band.better,
        )
    assert info.value.field == "desired"


def test_a_band_refuses_values_of_the_wrong_kind() -> None:
    minutes = ExpectationBand(
        Factor.SPEED,
        Metric.FIRST_RESPONSE,
        adequate=pendulum.duration(hours=4),
        desired=pendulum.duration(hours=1),
    )
    handoffs = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)
    with pytest.raises(ValidationError, match="observed: expected a duration"):
        minutes.classify(3)
    for bad in (pendulum.duration(hours=1), "2", None, True, float("nan")):
        with pytest.raises(ValidationError) as info:
            handoffs.classify(bad)  # type: ignore[arg-type]
        assert info.value.field == "observed"
    with pytest.raises(ValidationError, match="both be numbers or both durations"):
        ExpectationBand(Factor.SPEED, "x", adequate=pendulum.duration(hours=1), desired=0)


def test_a_band_lists_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        ExpectationBand("fast", "", adequate="soon", desired=float("inf"), better="less")  # type: ignore[arg-type]
    assert [p.path for p in info.value.problems] == [
        "factor",
        "metric",
        "adequate",
        "desired",
        "better",
    ]


def test_metric_names_that_match_a_metric_become_the_member() -> None:
    band = ExpectationBand(Factor.SPEED, "resolution", adequate=3, desired=1)
    assert band.metric is Metric.RESOLUTION
    assert band == ExpectationBand(Factor.SPEED, Metric.RESOLUTION, adequate=3, desired=1)


@given(cst.score_scales(), st.integers(-1000, 1000))
def test_every_score_outside_a_scale_is_refused(scale: ScoreScale, score: int) -> None:
    if scale.low <= score <= scale.high:
        verdict = scale.classify(score)
        assert verdict is (G if score >= scale.desired else S if score >= scale.adequate else D)
    else:
        with pytest.raises(ValidationError, match=f"between {scale.low} and {scale.high}"):
            scale.classify(score)


@pytest.mark.parametrize("bad", [5.0, "5", None, True])
def test_a_score_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(ValidationError, match="score"):
        SATISFACTION_10.classify(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (SATISFACTION_10, [D] * 5 + [S] * 3 + [G] * 2),
        (NPS_SCALE, [D] * 7 + [S] * 2 + [G] * 2),
        (CSAT_5, [D] * 3 + [S] + [G]),
        (CES_7, [D] * 4 + [S] * 2 + [G]),
        (BINARY, [D, G]),
    ],
)
def test_built_in_scales_classify_as_documented(scale: ScoreScale, expected: list[Verdict]) -> None:
    assert [scale.classify(s) for s in scale.scores] == expected


@pytest.mark.parametrize(
    "levels",
    [(5, 1, 3, 4), (1, 5, 4, 3), (1, 5, 0, 3), (1, 5, 3, 6), (1.0, 5, 3, 4)],
)
def test_inconsistent_scales_are_refused(levels: tuple[int, int, int, int]) -> None:
    low, high, adequate, desired = levels
    with pytest.raises(ValidationError):
        ScoreScale(low, high, adequate=adequate, desired=desired)


@given(st.lists(st.integers(0, 10), min_size=1))
def test_nps_is_promoters_minus_detractors_and_stays_in_range(scores: list[int]) -> None:
    value = nps(scores)
    assert -100 <= value <= 100
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert value == pytest.approx(100 * (promoters - detractors) / len(scores))


@given(
    cst.score_scales().flatmap(
        lambda sc: st.tuples(st.just(sc), st.lists(st.integers(sc.low, sc.high), min_size=1))
    )
)
def test_csat_is_the_percentage_at_or_above_adequate(case: tuple[ScoreScale, list[int]]) -> None:
    scale, scores = case
    value = csat(scores, scale)
    assert 0 <= value <= 100
    assert value == pytest.approx(100 * sum(s >= scale.adequate for s in scores) / len(scores))


def test_nps_and_csat_refuse_bad_scores_and_empty_input() -> None:
    with pytest.raises(ValidationError, match=r"scores\[2\]"):
        nps([10, 9, 11])
    with pytest.raises(ValidationError, match=r"scores\[0\]"):
        csat([0, 5])
    with pytest.raises(ValidationError, match="at least one"):
        nps([])
    with pytest.raises(ValidationError, match="at least one"):
        csat(iter(()))
    assert nps(iter([10, 0])) == 0.0


def test_expectations_resolve_customer_then_segment_then_defaults() -> None:
    def band(adequate: int) -> ExpectationBand:
        return ExpectationBand(Factor.SPEED, "handoffs", adequate=adequate, desired=0)

    expectations = Expectations(defaults=[band(3)], segments={"vip": [band(1)]})
    assert expectations.band(Factor.SPEED, "handoffs") == band(3)
    assert expectations.band(Factor.SPEED, "handoffs", segment="vip") == band(1)
    assert expectations.band(Factor.SPEED, "handoffs", segment="other") == band(3)
    own = [band(2)]
    assert expectations.band(Factor.SPEED, "handoffs", segment="vip", own=own) == band(2)
    assert expectations.classify(Factor.SPEED, "handoffs", 2) is S
    assert expectations.classify(Factor.SPEED, "handoffs", 2, segment="vip") is D
    assert expectations.band(Factor.ATTITUDE, "handoffs") is None
    with pytest.raises(NotFound, match="expectation band"):
        expectations.classify(Factor.ATTITUDE, "rating", 3)


@given(cst.expectations(), st.sampled_from(Factor), cst.metrics())
def test_resolution_prefers_the_most_specific_source(
    expectations: Expectations, factor: Factor, metric: Metric | str
) -> None:
    for segment in [None, *expectations.segments]:
        found = expectations.band(factor, metric, segment=segment)
        specific = expectations.segments.get(segment or "", {}).get((factor, metric))
        assert found == (specific or expectations.defaults.get((factor, metric)))


def test_two_bands_for_one_key_are_refused() -> None:
    band = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)
    with pytest.raises(ValidationError, match="two bands"):
        Expectations(defaults=[band, band])
    with pytest.raises(ValidationError) as info:
        Expectations(segments={"vip": [band, band]})
    assert info.value.field == "segments.vip"


def test_factors_belong_to_the_two_dimensions() -> None:
    from custservice import Dimension

    personal = {f for f in Factor if f.dimension is Dimension.PERSONAL}
    assert personal == {Factor.PERSONALIZATION, Factor.COMPETENCE, Factor.ATTITUDE}
    assert len(Factor) == 7


def test_verdicts_are_ordered_and_do_not_compare_with_strings() -> None:
    assert D < S < G
    assert max([S, G, D]) is G
    assert sorted([G, D, S]) == [D, S, G]
    with pytest.raises(TypeError):
        _ = S < "delighted"  # type: ignore[operator]
    assert S != "satisfied"


class _Meters:
    """A user's own real number type: registered as ``numbers.Real``, convertible to float."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return float(self.value)


numbers.Real.register(_Meters)


@given(
    cst.expectation_bands(kind="number"),
    st.integers(-2000, 2000) | st.floats(-2e6, 2e6, allow_nan=False),
)
def test_any_finite_real_number_is_classified_like_its_value(
    band: ExpectationBand, observed: float
) -> None:
    expected = band.classify(observed)
    for same in (Fraction(observed), Decimal(observed), _Meters(observed)):
        assert band.classify(same) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Decimal("NaN"), "finite"),
        (Decimal("sNaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("-Infinity"), "finite"),
        (float("inf"), "finite"),
        (float("-inf"), "finite"),
        (_Meters(float("nan")), "finite"),
        (Decimal("1e400"), "range"),
        (Fraction(10**400, 3), "range"),
        (True, "got bool"),
        ("2", "got str"),
        (None, "got NoneType"),
        (1 + 0j, "got complex"),
        (pendulum.duration(hours=1), "got Duration"),
    ],
)
def test_a_numeric_band_refuses_what_is_not_a_finite_number_and_says_why(
    bad: object, message: str
) -> None:
    handoffs = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)
    with pytest.raises(ValidationError, match=message) as info:
        handoffs.classify(bad)  # type: ignore[arg-type]
    assert info.value.field == "observed"


def test_levels_may_be_any_finite_real_number_and_are_kept_as_int_or_float() -> None:
    band = ExpectationBand(
        Factor.SPEED, "wait_minutes", adequate=Decimal("7.5"), desired=Fraction(1, 2)
    )
    assert (band.adequate, band.desired) == (7.5, 0.5)
    assert type(band.adequate) is float
    assert type(band.desired) is float
    assert band.classify(Decimal("7.5")) is S
    assert band.classify(10**400) is D  # a whole number is compared exactly, however large


@settings(max_examples=100)
@given(st.data())
def test_wrong_kinds_of_argument_raise_validation_error_and_nothing_else(
    data: st.DataObject,
) -> None:
    def arg(valid: st.SearchStrategy[object]) -> object:
        return data.draw(valid | anything)

    scores = arg(st.lists(st.integers(0, 10), min_size=1))
    value = only_validation_errors(lambda: nps(scores))  # type: ignore[arg-type]
    assert value is None or -100 <= value <= 100  # type: ignore[operator]
    scale = arg(cst.score_scales())
    value = only_validation_errors(lambda: csat(scores, scale))  # type: ignore[arg-type]
    assert value is None or 0 <= value <= 100  # type: ignore[operator]
    score = arg(st.integers(0, 10))
    if isinstance(scale, ScoreScale):
        only_validation_errors(lambda: scale.classify(score))  # type: ignore[arg-type]
        only_validation_errors(lambda: scale.check(score))
    levels = [arg(st.integers(-5, 5)) for _ in range(4)]
    only_validation_errors(
        lambda: ScoreScale(*levels[:2], adequate=levels[2], desired=levels[3])  # type: ignore[arg-type]
    )
    factor, metric = arg(st.sampled_from(Factor)), arg(cst.metrics())
    adequate, desired = arg(st.integers(3, 5)), arg(st.integers(0, 2))
    better = arg(st.sampled_from(["lower", "higher"]))
    band = only_validation_errors(
        lambda: ExpectationBand(factor, metric, adequate=adequate, desired=desired, better=better)  # type: ignore[arg-type]
    )
    observed = arg(st.integers(-10, 10))
    if isinstance(band, ExpectationBand):
        only_validation_errors(lambda: band.classify(observed))  # type: ignore[arg-type]
    defaults, segments = arg(st.lists(cst.expectation_bands(), max_size=2)), arg(st.just({}))
    expectations = only_validation_errors(
        lambda: Expectations(defaults=defaults, segments=segments)  # type: ignore[arg-type]
    )
    if not isinstance(expectations, Expectations):
        expectations = Expectations(
            defaults=[ExpectationBand(Factor.SPEED, "x", adequate=1, desired=0)]
        )
    segment, own = (
        arg(st.none() | st.just("vip")),
        arg(st.lists(cst.expectation_bands(), max_size=2)),
    )
    only_validation_errors(
        lambda: expectations.band(factor, metric, segment=segment, own=own)  # type: ignore[arg-type]
    )
    only_validation_errors(
        lambda: expectations.classify(factor, metric, observed, segment=segment, own=own),  # type: ignore[arg-type]
        also=(NotFound,),
    )
